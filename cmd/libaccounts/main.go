// Command libaccounts is the staff's and the operator's command line.
//
// Staff sign in once and then import files and follow their jobs:
//
//	libaccounts login [--api URL] [--tenant T] [--username U] [--password-stdin]
//	libaccounts logout
//	libaccounts password
//	libaccounts import FILE [--set NAME] [--mode create|upsert] [--dry-run] [--no-wait]
//	libaccounts reset --scope all|all_except|no_role|selected|set --mode temporary|default|link [--users ID,...|--users-file F] [--set NAME|ID] [--default-password-stdin] [--invalidate-current] [--dry-run] [--no-wait]
//	libaccounts jobs list [--kind K] [--status S] [--limit N] [--cursor C]
//	libaccounts jobs watch ID
//	libaccounts jobs report ID [-o FILE]
//	libaccounts jobs cancel ID
//	libaccounts users list|get|create|deactivate|reactivate|unlock|delete ...
//	libaccounts sets list|get ...
//	libaccounts audit [--actor U] [--target U] [--action A] [--from T] [--to T] [--format table|csv|json] ...
//	libaccounts settings get|set ...
//
// Those commands speak the HTTP API (docs/openapi.yaml). The operator's
// command talks to DynamoDB directly with the standard AWS configuration:
//
//	libaccounts tenant create --tenant ID [--table NAME] [--name NAME] [--admin-username admin] [--admin-email E] [--admin-password-stdin]
//
// Without --table (or $TABLE_NAME) it writes to the running local stack's
// DynamoDB Local, as its stack.json names it, with local credentials.
//
// Exit codes: 0 success; 1 an import or reset ended other than completed
// (completed_with_errors, failed, cancelled); 2 usage, session, connection
// or API errors; 130 watching was interrupted (the import goes on).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

const usage = `usage: libaccounts COMMAND [flags]

Staff commands (they use the HTTP API):
  login [--api URL] [--tenant T] [--username U] [--password-stdin]
                          sign in; the session is kept in ~/.config/libaccounts/session.json
  logout                  end the session
  password                change your password (current, then the new one twice)
  import FILE [--set NAME] [--mode create|upsert] [--dry-run] [--no-wait]
                          upload a CSV of users (or, with --set, of IDs for a set) and watch it
  reset --scope all|all_except|no_role|selected|set --mode temporary|default|link ...
                          reset many users' passwords as one job and watch it; see: libaccounts reset --help
  jobs list [--kind K] [--status S] [--limit N] [--cursor C]
                          the task centre: jobs of every kind, newest first
  jobs watch ID           follow a job until it ends
  jobs report ID [-o FILE]
                          a job's report as CSV (default: standard output)
  jobs cancel ID          stop a job; what it did so far stays
  users list [--prefix P | --email E | --barcode B | --primary-id ID] [--role R | --no-role] ...
                          the library's users, by username
  users get USER          one user (USER: a username or a user id)
  users create USERNAME [--email E] [--roles LIST] [--generate-password] ...
  users deactivate USER   they can no longer sign in (reactivate undoes it)
  users reactivate USER
  users unlock USER       end a sign-in lock after failed attempts
  users delete USER --confirm USERNAME
                          for good; see: libaccounts users --help
  sets list               the sets built by set imports
  sets get ID [--limit N] [--cursor C]
                          a set and its members
  audit [--actor U] [--target U] [--action A] [--from T] [--to T] [--format table|csv|json] [-o FILE]
                          the audit trail, newest first; see: libaccounts audit --help
  settings get            the library's settings
  settings set [--password-min-length N] ...  see: libaccounts settings --help

Operator command (it writes to DynamoDB, not through the API):
  tenant create --tenant ID [--table NAME] ...   see: libaccounts tenant create --help
                          without --table: the running local stack, no AWS setup needed

The API is --api URL, else $LIBACCOUNTS_API_URL, else the local stack's
.local/stack.json (found from this directory upwards, or in
$LIBACCOUNTS_DATA_DIR). Commands after login use the API of the session.

Exit codes: 0 done; 1 the import or reset ended with errors, failed or was cancelled;
2 usage, session, connection or API errors; 130 stopped watching (Ctrl-C).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp()
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// app is one run of the command line with everything it touches from
// outside, so that tests can stand in for the terminal, the environment and
// the clock.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	getwd  func() (string, error)
	now    func() time.Time
	loc    *time.Location // times are shown in this zone

	// stdinTTY says whether prompts and passwords come from a terminal;
	// stderrTTY whether progress is drawn as a bar redrawn in place.
	stdinTTY  bool
	stderrTTY bool

	// api calls JSON routes (with a per-call timeout); raw carries uploads
	// and downloads, whose bodies may take long, and never follows a
	// redirect by itself.
	api *http.Client
	raw *http.Client

	apiTimeout time.Duration
	pollMin    time.Duration
	pollMax    time.Duration
	// watchRetries is how many polls in a row may fail (connection, 5xx)
	// before watching gives up.
	watchRetries int
	// maxFileSize is the largest file import accepts (the server's limit).
	maxFileSize int64

	in *bufio.Reader // stdin, buffered once so that prompts share it
}

func newApp() *app {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &app{
		stdin:        os.Stdin,
		stdout:       os.Stdout,
		stderr:       os.Stderr,
		getenv:       os.Getenv,
		getwd:        os.Getwd,
		now:          time.Now,
		loc:          time.Local,
		stdinTTY:     stdinIsTerminal(),
		stderrTTY:    isCharDevice(os.Stderr) && os.Getenv("TERM") != "dumb",
		api:          &http.Client{Transport: tr, CheckRedirect: noRedirect},
		raw:          &http.Client{Transport: tr, CheckRedirect: noRedirect},
		apiTimeout:   30 * time.Second,
		pollMin:      500 * time.Millisecond,
		pollMax:      3 * time.Second,
		watchRetries: 10,
		maxFileSize:  importcsv.DefaultLimits().MaxBytes,
	}
}

// exitError ends the run with a code; an empty message prints nothing (the
// command has said what happened already).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// fail is an error that ends the run with code 2 and one line.
func fail(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// errHelp means the command printed its help on request.
var errHelp = errors.New("help shown")

func (a *app) run(ctx context.Context, args []string) int {
	err := a.dispatch(ctx, args)
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	code, msg := 2, err.Error()
	var ee *exitError
	if errors.As(err, &ee) {
		code, msg = ee.code, ee.msg
	}
	if msg != "" {
		fmt.Fprintln(a.stderr, "libaccounts: "+oneLine(msg))
	}
	return code
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return &exitError{code: 2}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	case "login":
		return a.cmdLogin(ctx, rest)
	case "logout":
		return a.cmdLogout(ctx, rest)
	case "password":
		return a.cmdPassword(ctx, rest)
	case "import":
		return a.cmdImport(ctx, rest)
	case "jobs":
		return a.cmdJobs(ctx, rest)
	case "reset":
		return a.cmdReset(ctx, rest)
	case "users":
		return a.cmdUsers(ctx, rest)
	case "sets":
		return a.cmdSets(ctx, rest)
	case "audit":
		return a.cmdAudit(ctx, rest)
	case "settings":
		return a.cmdSettings(ctx, rest)
	case "tenant":
		return a.cmdTenant(ctx, rest)
	}
	return fail("unknown command %q; run `libaccounts help` for the list", cmd)
}

// oneLine keeps a message on one line whatever a server put in it.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", " ")), " ")
}
