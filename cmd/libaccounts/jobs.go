package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const jobsUsage = `usage:
  libaccounts jobs list [--kind K] [--status S] [--limit N] [--cursor C]
                                                   the task centre: jobs of every kind, newest first
  libaccounts jobs watch ID                        follow a job until it ends
  libaccounts jobs report ID [-o FILE]             its report as CSV (default: standard output)
  libaccounts jobs cancel ID                       stop it; what it did so far stays

  --kind K     users (imports of users), set (set builds) or password_reset
  --status S   pending, validating, running, completed, completed_with_errors,
               failed or cancelled

Each takes --api URL, which must be the session's API (the default).
jobs watch exits like import: 0 completed; 1 completed_with_errors, failed or
cancelled; 2 errors; 130 stopped watching.
`

func (a *app) cmdJobs(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, jobsUsage)
		return fail("jobs needs a subcommand: list, watch, report or cancel")
	}
	switch args[0] {
	case "list":
		return a.cmdJobsList(ctx, args[1:])
	case "watch":
		return a.cmdJobsWatch(ctx, args[1:])
	case "report":
		return a.cmdJobsReport(ctx, args[1:])
	case "cancel":
		return a.cmdJobsCancel(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, jobsUsage)
		return nil
	}
	return fail("unknown jobs subcommand %q: use list, watch, report or cancel", args[0])
}

var importIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// jobArgs parses a subcommand that takes one job ID.
func (a *app) jobArgs(name string, args []string, setup func(fs *flag.FlagSet)) (string, *client, error) {
	fs := newFlagSet("jobs " + name)
	apiFlag := fs.String("api", "", "API base URL (must be the session's)")
	if setup != nil {
		setup(fs)
	}
	pos, err := a.parseFlags(fs, args, jobsUsage)
	if err != nil {
		return "", nil, err
	}
	if len(pos) != 1 {
		return "", nil, fail("jobs %s needs one job ID (see `libaccounts jobs list`)", name)
	}
	id := pos[0]
	if !importIDPattern.MatchString(id) {
		return "", nil, fail("%q is not a job ID (see `libaccounts jobs list`)", id)
	}
	c, err := a.signedIn(*apiFlag)
	return id, c, err
}

// importPath is the route of an import, or of one of its actions.
func importPath(id, action string) string {
	p := "/v1/admin/imports/" + url.PathEscape(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// jobPath is the task centre's route of a job of any kind, or of one of its
// actions.
func jobPath(id, action string) string {
	p := "/v1/admin/jobs/" + url.PathEscape(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// jobNoun names a job in messages by its kind.
func jobNoun(kind string) string {
	switch kind {
	case apiwire.ImportKindUsers, apiwire.ImportKindSet:
		return "import"
	case apiwire.JobKindPasswordReset:
		return "reset"
	}
	return "job"
}

func (a *app) cmdJobsWatch(ctx context.Context, args []string) error {
	id, c, err := a.jobArgs("watch", args, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "job %s: watching it (Ctrl-C stops watching, not the job)\n", id)
	return a.watch(ctx, c, "job", id)
}

func (a *app) cmdJobsCancel(ctx context.Context, args []string) error {
	id, c, err := a.jobArgs("cancel", args, nil)
	if err != nil {
		return err
	}
	var v apiwire.Job
	if err := c.do(ctx, http.MethodPost, jobPath(id, "cancel"), nil, &v); err != nil {
		return err
	}
	if v.Kind == apiwire.JobKindPasswordReset {
		fmt.Fprintf(a.stdout, "reset %s: %s; users reset before stay reset\n", id, v.Status)
		if v.Counts.Matched > 0 {
			fmt.Fprintf(a.stdout, "  %s read: %s\n", plural(v.Counts.Matched, "user", "users"), countsText(v, true))
			fmt.Fprintf(a.stdout, "next: libaccounts jobs report %s -o report.csv\n", id)
		}
		return nil
	}
	switch {
	case v.Status != "" && v.Status != apiwire.ImportCancelled:
		fmt.Fprintf(a.stdout, "import %s: cancel asked; it is %s until the rows in flight are done (`libaccounts jobs watch %s`)\n", id, v.Status, id)
	case v.Status == apiwire.ImportCancelled && v.FinishedAt == nil && v.Counts.Rows > 0:
		fmt.Fprintf(a.stdout, "import %s cancelled; rows imported before stay, and rows in flight are being finished\n", id)
	default:
		fmt.Fprintf(a.stdout, "import %s cancelled; rows imported before stay\n", id)
	}
	if v.Counts.Rows > 0 {
		fmt.Fprintf(a.stdout, "  %s/%s done: %s\n", num(processed(v)), plural(v.Counts.Rows, "row", "rows"), countsText(v, true))
	}
	if hasReport(v) {
		fmt.Fprintf(a.stdout, "next: libaccounts jobs report %s -o report.csv\n", id)
	}
	return nil
}

func (a *app) cmdJobsReport(ctx context.Context, args []string) error {
	var out string
	id, c, err := a.jobArgs("report", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "o", "", "write the report to this file instead of standard output")
	})
	if err != nil {
		return err
	}
	body, err := a.openReport(ctx, c, id)
	if err != nil {
		return err
	}
	defer body.Close()
	if out == "" || out == "-" {
		if _, err := io.Copy(a.stdout, body); err != nil {
			return a.readReportError(ctx, err)
		}
		return nil
	}
	// Reports name users: readable by their owner only.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fileError(out, err)
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil && cerr != nil {
		return fail("write %s: %v", out, cerr)
	}
	if err != nil {
		os.Remove(out)
		return a.readReportError(ctx, err)
	}
	fmt.Fprintf(a.stderr, "report of job %s written to %s (%s)\n", id, out, humanBytes(n))
	return nil
}

func (a *app) readReportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return fail("the report stopped arriving: %v", err)
}

// openReport returns the report's CSV: the API sends a small one itself and
// answers 303 See Other with a pre-signed download URL for a big one, which
// is fetched without the session's token (it goes to the API only).
func (a *app) openReport(ctx context.Context, c *client, id string) (io.ReadCloser, error) {
	resp, err := c.sendAccept(ctx, http.MethodGet, jobPath(id, "report"), nil, "text/csv")
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, nil
	case http.StatusSeeOther, http.StatusFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		defer resp.Body.Close()
		return nil, c.refusal(resp)
	}
	loc, err := resp.Location()
	resp.Body.Close()
	if err != nil {
		return nil, fail("the API redirected the report without a usable Location")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, fail("the API redirected the report to something that is not a URL")
	}
	req.Header.Set("User-Agent", "libaccounts-cli")
	dl, err := a.raw.Do(req)
	if err != nil {
		return nil, a.transportError(ctx, "download the report", "the report's storage", err)
	}
	if dl.StatusCode != http.StatusOK {
		defer dl.Body.Close()
		return nil, fail("downloading the report failed: %s (its link lasts a short while; run the command again)", storageError(dl))
	}
	return dl.Body, nil
}

func (a *app) cmdJobsList(ctx context.Context, args []string) error {
	fs := newFlagSet("jobs list")
	apiFlag := fs.String("api", "", "API base URL (must be the session's)")
	limit := fs.Int("limit", 20, "how many jobs to show (1-200)")
	cursor := fs.String("cursor", "", "continue where an earlier list stopped")
	kind := fs.String("kind", "", "only jobs of this kind: users, set or password_reset")
	status := fs.String("status", "", "only jobs in this status, e.g. running")
	pos, err := a.parseFlags(fs, args, jobsUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fail("jobs list takes no arguments (got %q)", pos[0])
	}
	if *limit < 1 || *limit > 200 {
		return fail("--limit must be between 1 and 200 (got %d)", *limit)
	}
	c, err := a.signedIn(*apiFlag)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	for k, v := range map[string]string{"cursor": *cursor, "kind": *kind, "status": *status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out apiwire.JobList
	if err := c.do(ctx, http.MethodGet, "/v1/admin/jobs?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if len(out.Jobs) == 0 {
		fmt.Fprintln(a.stdout, "no jobs")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tKIND\tSTATUS\tROWS/USERS\tDONE\tFAILED\tBY")
	for _, v := range out.Jobs {
		status := v.Status
		if v.Status == "running" {
			status += " " + strconv.Itoa(clampPercent(v.Percent)) + "%"
		}
		rows, done, failed := "-", "-", "-"
		switch {
		case v.Kind == apiwire.JobKindPasswordReset && (v.Counts.Matched > 0 || processed(v) > 0):
			rows, done, failed = num(v.Counts.Matched), num(v.Counts.Changed), num(v.Counts.Failed)
			if v.Counts.NoEmail > 0 {
				failed += fmt.Sprintf(" (+%s no e-mail)", num(v.Counts.NoEmail))
			}
		case v.Counts.Rows > 0 || processed(v) > 0:
			rows = num(v.Counts.Rows)
			if v.Kind == apiwire.ImportKindSet {
				done, failed = num(v.Counts.Added), num(v.Counts.NotFound)
			} else {
				done, failed = num(v.Counts.Created), num(v.Counts.Failed)
			}
		}
		by := "-"
		if v.StartedBy != nil {
			by = cmp.Or(v.StartedBy.Username, v.StartedBy.ID)
		}
		created := "-"
		if !v.CreatedAt.IsZero() {
			created = v.CreatedAt.In(a.loc).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, created, kindText(v), status, rows, done, failed, by)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.NextCursor != "" {
		more := fmt.Sprintf("more: libaccounts jobs list --limit %d", *limit)
		if *kind != "" {
			more += " --kind " + shellQuote(*kind)
		}
		if *status != "" {
			more += " --status " + shellQuote(*status)
		}
		fmt.Fprintf(a.stderr, "%s --cursor %s\n", more, shellQuote(out.NextCursor))
	}
	return nil
}

// kindText is the KIND column: users (with the mode when it is upsert),
// set "name", or reset scope/mode, and whether it was a dry run.
func kindText(v apiwire.Job) string {
	s := v.Kind
	switch {
	case v.Kind == apiwire.JobKindPasswordReset:
		s = "reset " + v.Scope + "/" + v.Mode
	case v.Kind == apiwire.ImportKindSet && v.SetName != "":
		name := v.SetName
		if utf8.RuneCountInString(name) > 24 {
			name = string([]rune(name)[:23]) + "…"
		}
		s += " " + strconv.Quote(name)
	case v.Mode == "upsert":
		s += " (upsert)"
	}
	if v.DryRun {
		s += ", dry run"
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.=+/:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
