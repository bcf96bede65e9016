package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const resetUsage = `usage: libaccounts reset --scope SCOPE --mode MODE [flags]

Resets the passwords of many users as one job and follows it until it ends.

  --scope all          every user
  --scope all_except   every user but those of --users / --users-file
  --scope no_role      every user without a role
  --scope selected     only the users of --users / --users-file
  --scope set          the members of the set --set NAME|ID (see ` + "`libaccounts sets list`" + `)

  --mode temporary     a new password per user, e-mailed to them
  --mode default       one password for everyone, read with --default-password-stdin
                       (the first line of standard input); no e-mail is sent
  --mode link          a reset link e-mailed; the password works until the link
                       is used, unless --invalidate-current

  --users ID,...           user IDs (at most 10,000)
  --users-file FILE        user IDs, one a line (or comma-separated); # starts a comment
  --invalidate-current     (link) the current passwords stop working at once
  --dry-run                count and list what would happen; nothing changes
  --no-wait                print the job's ID and return
  --api URL                the session's API (the default)

Every user reset must change the password at the next sign-in and is signed
out; you are never reset by your own job. In temporary and link modes a user
without a deliverable e-mail address is not changed: the report lists them
(outcome no_email) so that you can tell them by hand.

Progress goes to standard error, the result to standard output. Ctrl-C stops
watching, not the job: follow it again with ` + "`libaccounts jobs watch ID`" + `.
Exit codes: 0 completed; 1 completed_with_errors, failed or cancelled;
2 usage, session, connection or API errors; 130 stopped watching.
`

func (a *app) cmdReset(ctx context.Context, args []string) error {
	fs := newFlagSet("reset")
	scope := fs.String("scope", "", "all, all_except, no_role, selected or set")
	mode := fs.String("mode", "", "temporary, default or link")
	users := fs.String("users", "", "user IDs, comma-separated")
	usersFile := fs.String("users-file", "", "a file of user IDs")
	set := fs.String("set", "", "the set's name or ID (scope set)")
	pwStdin := fs.Bool("default-password-stdin", false, "read the default password from the first line of standard input")
	invalidate := fs.Bool("invalidate-current", false, "link mode: the current passwords stop working at once")
	dryRun := fs.Bool("dry-run", false, "count and list what would happen; change nothing")
	noWait := fs.Bool("no-wait", false, "return once the job is started")
	apiFlag := fs.String("api", "", "API base URL (must be the session's)")
	pos, err := a.parseFlags(fs, args, resetUsage)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return fail("reset takes no arguments (got %q); name users with --users or --users-file", pos[0])
	case *scope == "":
		return fail("reset needs --scope all|all_except|no_role|selected|set (see `libaccounts reset --help`)")
	case *mode == "":
		return fail("reset needs --mode temporary|default|link (see `libaccounts reset --help`)")
	case *users != "" && *usersFile != "":
		return fail("give the users with --users or --users-file, not both")
	case *mode == "default" && !*pwStdin:
		// A password given as a flag would sit in the shell's history and
		// in the process list.
		return fail("--mode default needs --default-password-stdin: pipe the password in, e.g. from a password manager")
	case *mode != "default" && *pwStdin:
		return fail("--default-password-stdin goes with --mode default only")
	}
	req := apiwire.PasswordResetRequest{Scope: *scope, Mode: *mode, InvalidateCurrent: *invalidate, DryRun: *dryRun}
	if *users != "" {
		req.UserIDs = splitList(*users)
	}
	if *usersFile != "" {
		if req.UserIDs, err = readIDFile(*usersFile); err != nil {
			return err
		}
	}
	if *pwStdin {
		pw, err := a.readLine(ctx)
		if errors.Is(err, io.EOF) || (err == nil && pw == "") {
			return fail("no default password on standard input")
		}
		if err != nil {
			return err
		}
		req.DefaultPassword = pw
	}
	c, err := a.signedIn(*apiFlag)
	if err != nil {
		return err
	}
	if *set != "" {
		if req.SetID, err = a.findSet(ctx, c, *set); err != nil {
			return err
		}
	}
	var started apiwire.StartPasswordResetResponse
	if err := c.do(ctx, http.MethodPost, "/v1/admin/password-resets", req, &started); err != nil {
		return err
	}
	id := started.JobID
	if id == "" {
		return fail("the API started a reset without a job ID")
	}
	if *noWait {
		fmt.Fprintf(a.stderr, "reset %s: started; follow it with `libaccounts jobs watch %s`\n", id, id)
		fmt.Fprintln(a.stdout, id)
		return nil
	}
	fmt.Fprintf(a.stderr, "reset %s: started; watching it (Ctrl-C stops watching, not the reset)\n", id)
	return a.watch(ctx, c, "reset", id)
}

// readIDFile reads user IDs one a line or comma-separated; blank lines and
// # comments are skipped.
func readIDFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		ids = append(ids, splitList(line)...)
	}
	if err := sc.Err(); err != nil {
		return nil, fail("cannot read %s: %v", path, err)
	}
	if len(ids) == 0 {
		return nil, fail("%s lists no user IDs", path)
	}
	return ids, nil
}

// findSet resolves --set: a set's ID, else its name (which must name one
// set only).
func (a *app) findSet(ctx context.Context, c *client, ref string) (string, error) {
	var out apiwire.SetList
	if err := c.do(ctx, http.MethodGet, "/v1/admin/sets", nil, &out); err != nil {
		return "", err
	}
	var byName []apiwire.Set
	for _, s := range out.Sets {
		if s.ID == ref {
			return s.ID, nil
		}
		if s.Name == ref {
			byName = append(byName, s)
		}
	}
	switch len(byName) {
	case 0:
		return "", fail("no set is named or has the ID %s (see `libaccounts sets list`)", strconv.Quote(ref))
	case 1:
		return byName[0].ID, nil
	}
	return "", fail("%d sets are named %s; give the ID of one (see `libaccounts sets list`)", len(byName), strconv.Quote(ref))
}

// printResetSummary is the end of a reset: status, counts, its e-mails, and
// the users staff must tell by hand.
func (a *app) printResetSummary(v apiwire.Job) {
	w := a.stdout
	dry := ""
	if v.DryRun {
		dry = " (dry run: nothing was changed)"
	}
	fmt.Fprintf(w, "reset %s: %s%s\n", v.ID, v.Status, dry)
	fmt.Fprintf(w, "  scope %s, mode %s\n", v.Scope, v.Mode)
	if v.Status == apiwire.ImportCancelled {
		fmt.Fprintln(w, "  users reset before the cancel stay reset")
	}
	if v.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", oneLine(v.Error))
	}
	if v.Counts.Matched > 0 || processed(v) > 0 {
		fmt.Fprintf(w, "  %s read: %s\n", plural(v.Counts.Matched, "user", "users"), countsText(v, true))
	}
	if n := v.Notices; n != nil && n.Sent+n.Failed+n.Pending > 0 {
		fmt.Fprintf(w, "  e-mails: %s sent, %s failed, %s pending\n", num(n.Sent), num(n.Failed), num(n.Pending))
	}
	if v.Counts.NoEmail > 0 {
		fmt.Fprintf(w, "  %s no e-mail address and %s not changed: tell them by hand (outcome no_email in the report)\n",
			plural(v.Counts.NoEmail, "user has", "users have"), map[bool]string{true: "was", false: "were"}[v.Counts.NoEmail == 1])
	}
	if hasReport(v) {
		fmt.Fprintf(w, "next: libaccounts jobs report %s -o report.csv   (the outcome of every user)\n", v.ID)
	}
}
