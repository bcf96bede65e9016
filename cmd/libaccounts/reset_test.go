package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const testDefault = "Orchard-lantern-Quiver-7781"

func TestResetWatchesTheJobToItsEnd(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		final    apiwire.Job
		wantCode int
		wantOut  []string
		wantNot  []string
	}{
		{name: "completed", args: []string{"--scope", "all", "--mode", "temporary"},
			final:    apiwire.Job{Status: "completed", Percent: 100, Scope: "all", Mode: "temporary", Counts: apiwire.JobCounts{Matched: 120, Changed: 100, NoEmail: 19, ImportCounts: apiwire.ImportCounts{Skipped: 1}}, Notices: &apiwire.JobNotices{Sent: 98, Failed: 2}},
			wantCode: 0,
			wantOut:  []string{"reset job0001: completed\n", "scope all, mode temporary", "120 users read: 100 changed, 1 skipped, 19 without e-mail, 0 failed", "e-mails: 98 sent, 2 failed, 0 pending", "19 users have no e-mail address and were not changed: tell them by hand", "next: libaccounts jobs report job0001"}},
		{name: "with errors", args: []string{"--scope", "no_role", "--mode", "link"},
			final:    apiwire.Job{Status: "completed_with_errors", Percent: 100, Scope: "no_role", Mode: "link", Counts: apiwire.JobCounts{Matched: 3, Changed: 2, ImportCounts: apiwire.ImportCounts{Failed: 1}}},
			wantCode: 1, wantOut: []string{"completed_with_errors", "3 users read: 2 changed, 0 skipped, 0 without e-mail, 1 failed"}, wantNot: []string{"no e-mail address"}},
		{name: "one without e-mail", args: []string{"--scope", "selected", "--users", "u1, u2", "--mode", "temporary", "--dry-run"},
			final:    apiwire.Job{Status: "completed", Percent: 100, DryRun: true, Scope: "selected", Mode: "temporary", Counts: apiwire.JobCounts{Matched: 2, Changed: 1, NoEmail: 1}},
			wantCode: 0, wantOut: []string{"(dry run: nothing was changed)", "1 user has no e-mail address and was not changed"}},
		{name: "cancelled", args: []string{"--scope", "all", "--mode", "link"},
			final:    apiwire.Job{Status: "cancelled", Scope: "all", Mode: "link"},
			wantCode: 1, wantOut: []string{"reset job0001: cancelled", "users reset before the cancel stay reset"}, wantNot: []string{"jobs report"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			h.api.finalReset = tt.final
			r := h.run("", append([]string{"reset"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tt.wantCode, r.all())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, "running") || !strings.Contains(r.stderr, "watching it (Ctrl-C stops watching, not the reset)") {
				t.Errorf("no progress on stderr:\n%s", r.stderr)
			}
			noSecrets(t, r)
		})
	}
}

func TestResetSendsWhatTheFlagsSay(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.api.finalReset = apiwire.Job{Status: "completed"}
	ids := h.writeFile("ids.txt", "# the spring list\nu1\nu2, u3\n\nu4 # last\n")
	r := h.run(testDefault+"\nsecond line\n", "reset", "--scope", "all_except", "--users-file", ids, "--mode", "default", "--default-password-stdin", "--no-wait")
	if r.code != 0 || r.stdout != "job0001\n" {
		t.Fatalf("--no-wait: exit %d:\n%s", r.code, r.all())
	}
	got := h.api.lastStartBody
	if got["scope"] != "all_except" || got["mode"] != "default" || got["defaultPassword"] != testDefault || got["dryRun"] != nil || got["invalidateCurrent"] != nil {
		t.Errorf("sent %v", got)
	}
	if users, _ := got["userIds"].([]any); len(users) != 4 || users[0] != "u1" || users[3] != "u4" {
		t.Errorf("userIds sent: %v", got["userIds"])
	}
	if strings.Contains(r.all(), testDefault) {
		t.Errorf("the default password was printed:\n%s", r.all())
	}
	r = h.run("", "reset", "--scope", "all", "--mode", "link", "--invalidate-current", "--no-wait")
	if r.code != 0 || h.api.lastStartBody["invalidateCurrent"] != true {
		t.Errorf("--invalidate-current: exit %d, sent %v:\n%s", r.code, h.api.lastStartBody, r.all())
	}

	// A refusal is said in one line, exit 2, and never with the password.
	h.api.resetRefusal = map[string]any{"error": map[string]string{"code": "invalid", "field": "defaultPassword", "message": "password must be at least 15 characters", "requestId": "req-9"}}
	r = h.run("Secret-42\n", "reset", "--scope", "all", "--mode", "default", "--default-password-stdin")
	if r.code != 2 || !strings.Contains(r.stderr, "password must be at least 15 characters") || strings.Contains(r.all(), "Secret-42") {
		t.Errorf("refused: exit %d:\n%s", r.code, r.all())
	}
}

func TestResetUsage(t *testing.T) {
	h := newHarness(t)
	h.login()
	both := h.writeFile("both.txt", "u1\n")
	empty := h.writeFile("empty.txt", "# nobody\n")
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{args: nil, want: "reset needs --scope"},
		{args: []string{"--scope", "all"}, want: "reset needs --mode"},
		{args: []string{"--scope", "all", "--mode", "default"}, want: "--mode default needs --default-password-stdin"},
		{args: []string{"--scope", "all", "--mode", "default", "--default-password", testDefault}, want: "provided but not defined"},
		{args: []string{"--scope", "all", "--mode", "link", "--default-password-stdin"}, want: "goes with --mode default only"},
		{args: []string{"--scope", "selected", "--mode", "link", "--users", "u1", "--users-file", both}, want: "not both"},
		{args: []string{"--scope", "selected", "--mode", "link", "--users-file", empty}, want: "lists no user IDs"},
		{args: []string{"--scope", "selected", "--mode", "link", "--users-file", filepath.Join(h.wd, "nope.txt")}, want: "no such file"},
		{stdin: "", args: []string{"--scope", "all", "--mode", "default", "--default-password-stdin"}, want: "no default password on standard input"},
		{args: []string{"--scope", "all", "--mode", "link", "extra"}, want: "reset takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := h.api.callCount()
			r := h.run(tt.stdin, append([]string{"reset"}, tt.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, want 2 and %q:\n%s", r.code, tt.want, r.all())
			}
			if h.api.callCount() != before {
				t.Errorf("a refused command called the API")
			}
			if strings.Contains(r.all(), testDefault) {
				t.Errorf("output holds the password:\n%s", r.all())
			}
		})
	}
}

func TestResetInterruptedSaysHowToResume(t *testing.T) {
	h := newHarness(t)
	h.login()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := h.runCtx(ctx, "", "reset", "--scope", "all", "--mode", "link")
	// Ctrl-C before the job is recorded stops the command; after, it stops
	// only the watching.
	if r.code != 130 && r.code != 2 {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
	h.api.finalReset = apiwire.Job{Status: "completed"}
	if r := h.run("", "reset", "--scope", "all", "--mode", "link", "--no-wait"); r.code != 0 {
		t.Fatalf("start: %s", r.all())
	}
	r = h.runCtx(ctx, "", "jobs", "watch", "job0001")
	if r.code != 130 || !strings.Contains(r.stderr, "Resume with: libaccounts jobs watch job0001") {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
}

func TestJobsListCoversEveryKind(t *testing.T) {
	h := newHarness(t)
	h.login()
	if r := h.run("", "import", h.writeFile("u.csv", "username\na\n"), "--no-wait"); r.code != 0 {
		t.Fatalf("import: %s", r.all())
	}
	h.api.finalReset = apiwire.Job{Status: "completed"}
	if r := h.run("", "reset", "--scope", "no_role", "--mode", "temporary", "--no-wait"); r.code != 0 {
		t.Fatalf("reset: %s", r.all())
	}
	h.api.listNext = "n1"
	r := h.run("", "jobs", "list", "--kind", "password_reset", "--status", "running")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
	if q := h.api.lastListQuery; strings.Join(q["kind"], "") != "password_reset" || strings.Join(q["status"], "") != "running" {
		t.Errorf("query sent: %v", q)
	}
	for _, w := range []string{"imp0001", "job0002", "reset no_role/temporary"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("list lacks %q:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "more: libaccounts jobs list --limit 20 --kind password_reset --status running --cursor n1") {
		t.Errorf("next-page hint:\n%s", r.stderr)
	}
}

// jobTasks is a recording accounts.JobQueue: the real API's tests play the
// job worker.
type jobTasks struct {
	mu    sync.Mutex
	tasks []accounts.JobTask
}

func (q *jobTasks) SendJobTasks(_ context.Context, tasks []accounts.JobTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, tasks...)
	return nil
}

func (q *jobTasks) pump(tb testing.TB, svc *accounts.Service) {
	tb.Helper()
	for range 1000 {
		q.mu.Lock()
		tasks := q.tasks
		q.tasks = nil
		q.mu.Unlock()
		if len(tasks) == 0 {
			return
		}
		for _, t := range tasks {
			if err := svc.RunJobTask(context.Background(), t); err != nil {
				tb.Fatal(err)
			}
		}
	}
	tb.Fatal("the job's tasks never ran out")
}

// TestResetThroughTheRealAPI drives the real handlers behind the template's
// routes: a default-password reset of the library's patrons, followed in
// the task centre.
func TestResetThroughTheRealAPI(t *testing.T) {
	h, api := newStaffHarness(t)
	for _, u := range []string{"ada.l", "grace.h"} {
		h.must("quiet harbour lamps 2718\n", "users", "create", u)
	}
	// The policy is checked before the job starts, with the reason.
	r := h.run("short\n", "reset", "--scope", "no_role", "--mode", "default", "--default-password-stdin")
	if r.code != 2 || !strings.Contains(r.stderr, "defaultPassword") && !strings.Contains(r.stderr, "at least") || strings.Contains(r.all(), "short\n") {
		t.Fatalf("weak default: exit %d:\n%s", r.code, r.all())
	}
	if r := h.run("", "reset", "--scope", "set", "--set", "Nobody's set", "--mode", "temporary"); r.code != 2 || !strings.Contains(r.stderr, `no set is named or has the ID "Nobody's set"`) {
		t.Fatalf("unknown set: exit %d:\n%s", r.code, r.all())
	}
	id := strings.TrimSpace(h.must(testDefault+"\n", "reset", "--scope", "no_role", "--mode", "default", "--default-password-stdin", "--no-wait"))
	api.jobs.pump(t, api.svc)
	r = h.run("", "jobs", "watch", id)
	if r.code != 0 || !strings.Contains(r.stdout, "reset "+id+": completed") || !strings.Contains(r.stdout, "2 users read: 2 changed") {
		t.Fatalf("watch: exit %d:\n%s", r.code, r.all())
	}
	list := h.must("", "jobs", "list", "--kind", "password_reset")
	if !strings.Contains(list, id) || !strings.Contains(list, "reset no_role/default") || !strings.Contains(list, "admin") {
		t.Errorf("jobs list:\n%s", list)
	}
	out := filepath.Join(h.wd, "report.csv")
	h.must("", "jobs", "report", id, "-o", out)
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), "ada.l") || strings.Contains(string(data), testDefault) {
		t.Errorf("report: %v\n%s", err, data)
	}
	if r := h.run("", "jobs", "cancel", id); r.code != 2 || !strings.Contains(r.stderr, "409") {
		t.Errorf("cancel of an ended reset: exit %d:\n%s", r.code, r.all())
	}
	if strings.Contains(r.all()+list, testDefault) {
		t.Error("the default password was printed")
	}
}
