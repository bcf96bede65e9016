package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

func TestLoginStoresSessionPrivately(t *testing.T) {
	tests := []struct {
		name       string
		username   string
		password   string
		args       []string
		wantCode   int
		wantOut    string
		mustChange bool
	}{
		{name: "password from a piped line", username: "admin", password: "correct horse battery", wantOut: "signed in to"},
		{name: "--password-stdin", username: "admin", password: "correct horse battery", args: []string{"--password-stdin"}, wantOut: "signed in to"},
		{name: "must change password", username: "newbie", password: "temporary passphrase 1", wantOut: "libaccounts password", mustChange: true},
		{name: "wrong password", username: "admin", password: "nope", wantCode: 2, wantOut: "sign-in refused: invalid username or password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			args := append([]string{"login", "--api", h.api.URL() + "/", "--tenant", "demo", "--username", tt.username}, tt.args...)
			r := h.run(tt.password+"\n", args...)
			if r.code != tt.wantCode || !strings.Contains(r.all(), tt.wantOut) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, tt.wantCode, tt.wantOut, r.all())
			}
			noSecrets(t, r)
			if strings.Contains(r.all(), tt.password) {
				t.Errorf("output holds the password:\n%s", r.all())
			}
			fi, err := os.Stat(h.sessionFile())
			if tt.wantCode != 0 {
				if err == nil {
					t.Errorf("a refused login left a session file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("session file mode %v, want 0600", fi.Mode().Perm())
			}
			di, err := os.Stat(filepath.Dir(h.sessionFile()))
			if err != nil || di.Mode().Perm() != 0o700 {
				t.Errorf("session dir mode %v (%v), want 0700", di.Mode().Perm(), err)
			}
			data, _ := os.ReadFile(h.sessionFile())
			var s session
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatal(err)
			}
			if s.API != h.api.URL() || s.Tenant != "demo" || s.Username != tt.username || !strings.HasPrefix(s.Token, tokenPrefix) ||
				s.ExpiresAt.IsZero() || s.MustChangePassword != tt.mustChange {
				t.Errorf("session = %+v", s)
			}
		})
	}
}

func TestAPIDiscoveryOrder(t *testing.T) {
	writeStack := func(t testing.TB, dir, apiURL string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(map[string]string{"api_url": apiURL, "tenant": "demo"})
		if err := os.WriteFile(filepath.Join(dir, "stack.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		stacks  map[string]string // dir (under the repo) → api_url
		wd      string            // under the repo
		want    string
		wantErr string
	}{
		{name: "flag beats all", flag: "https://flag.example/", env: map[string]string{"LIBACCOUNTS_API_URL": "https://env.example"},
			stacks: map[string]string{".local": "http://127.0.0.1:3000"}, want: "https://flag.example"},
		{name: "env beats stack.json", env: map[string]string{"LIBACCOUNTS_API_URL": "https://env.example"},
			stacks: map[string]string{".local": "http://127.0.0.1:3000"}, want: "https://env.example"},
		{name: "stack.json found from a subdirectory", stacks: map[string]string{".local": "http://127.0.0.1:3000"},
			wd: "internal/apigw", want: "http://127.0.0.1:3000"},
		{name: "relative LIBACCOUNTS_DATA_DIR", env: map[string]string{"LIBACCOUNTS_DATA_DIR": ".local2"},
			stacks: map[string]string{".local": "http://127.0.0.1:3000", ".local2": "http://127.0.0.1:3100"}, wd: "cmd", want: "http://127.0.0.1:3100"},
		{name: "absolute LIBACCOUNTS_DATA_DIR", env: map[string]string{"LIBACCOUNTS_DATA_DIR": "ABS:elsewhere"},
			stacks: map[string]string{".local": "http://127.0.0.1:3000", "elsewhere": "http://127.0.0.1:3200"}, want: "http://127.0.0.1:3200"},
		{name: "nothing", wantErr: "no API URL: pass --api URL, set LIBACCOUNTS_API_URL, or start the local stack"},
		{name: "not a URL", flag: "ftp://x", wantErr: "is not an http(s) URL"},
		{name: "stack.json without api_url", stacks: map[string]string{".local": ""}, wantErr: "has no api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			repo := filepath.Join(h.wd, "repo")
			h.wd = filepath.Join(repo, tt.wd)
			if err := os.MkdirAll(h.wd, 0o755); err != nil {
				t.Fatal(err)
			}
			for dir, u := range tt.stacks {
				writeStack(t, filepath.Join(repo, dir), u)
			}
			for k, v := range tt.env {
				if rest, ok := strings.CutPrefix(v, "ABS:"); ok {
					v = filepath.Join(repo, rest)
				}
				h.env[k] = v
			}
			a, _, _ := h.newApp("")
			got, err := a.discoverAPI(tt.flag)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.URL != tt.want {
				t.Fatalf("discoverAPI = %q, %v; want %q", got.URL, err, tt.want)
			}
		})
	}
}

// TestLoginUsesStackJSON signs in with nothing but the local stack's
// stack.json, which also names the tenant.
func TestLoginUsesStackJSON(t *testing.T) {
	h := newHarness(t)
	dir := filepath.Join(h.wd, ".local")
	os.MkdirAll(dir, 0o755)
	data, _ := json.Marshal(map[string]string{"api_url": h.api.URL(), "tenant": "demo"})
	os.WriteFile(filepath.Join(dir, "stack.json"), data, 0o600)
	h.wd = filepath.Join(h.wd, "sub")
	os.MkdirAll(h.wd, 0o755)
	r := h.run("correct horse battery\n", "login", "--username", "admin")
	if r.code != 0 || !strings.Contains(r.stdout, "signed in to "+h.api.URL()+" as demo/admin") {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
	// Later commands use the session's API, and refuse to send its token
	// to another one.
	h.wd = t.TempDir()
	if r := h.run("", "jobs", "list"); r.code != 0 || !strings.Contains(r.stdout, "no jobs") {
		t.Fatalf("jobs list: exit %d:\n%s", r.code, r.all())
	}
	h.env["LIBACCOUNTS_API_URL"] = "https://elsewhere.example"
	if r := h.run("", "jobs", "list"); r.code != 2 || !strings.Contains(r.stderr, "login --api https://elsewhere.example") {
		t.Fatalf("jobs list against another API: exit %d:\n%s", r.code, r.all())
	}
}

func TestImportHappyPath(t *testing.T) {
	h := newHarness(t)
	h.login()
	csv := "username,password,email\nsadie.p,temporary passphrase 1,sadie@example.org\n" + strings.Repeat("x,y,z\n", 5000)
	file := h.writeFile("users.csv", csv)
	r := h.run("", "import", file)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
	noSecrets(t, r)
	imp := h.api.imports["imp0001"]
	if imp == nil || !bytes.Equal(imp.file, []byte(csv)) {
		t.Fatalf("the upload did not carry the file")
	}
	if imp.contentType != "text/csv" || imp.contentLength != int64(len(csv)) || imp.chunked {
		t.Errorf("upload Content-Type %q, Content-Length %d, chunked %v", imp.contentType, imp.contentLength, imp.chunked)
	}
	if got := h.api.lastStartBody; got["kind"] != "users" || got["mode"] != "create" || got["dryRun"] != false {
		t.Errorf("start body = %v", got)
	}
	// Non-terminal progress: a line per status change or 10% step, no \r.
	wantLines := []string{
		"import imp0001: uploading users.csv",
		"import imp0001: uploaded; watching it",
		"0%  validating  reading the file",
		"40%  running  1,100/2,750 rows  created 1,100 failed 0",
		"80%  running  2,200/2,750 rows  created 2,200 failed 0",
		"100%  completed  2,750/2,750 rows  created 2,700 skipped 50 failed 0",
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != len(wantLines) || strings.Contains(r.stderr, "\r") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	for i, want := range wantLines {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("stderr line %d = %q, want %q", i, lines[i], want)
		}
	}
	for _, want := range []string{"import imp0001: completed\n", "2,750 rows: 2,700 created, 0 updated, 50 skipped, 0 failed", "next: libaccounts jobs report imp0001"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestImportOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		final     apiwire.Import
		wantCode  int
		wantOut   []string
		wantNot   []string
		wantStart map[string]any
	}{
		// A refused file's report would only repeat the error: none is offered.
		{name: "failed file", final: apiwire.Import{Status: apiwire.ImportFailed, Error: "row 1: the header has no username column"},
			wantCode: 1, wantOut: []string{"import imp0001: failed", "error: row 1: the header has no username column", "nothing was imported"}, wantNot: []string{"jobs report"}},
		{name: "one row", final: apiwire.Import{Status: apiwire.ImportCompleted, Percent: 100, Counts: apiwire.ImportCounts{Rows: 1, Created: 1}},
			wantOut: []string{"  1 row: 1 created, 0 updated", "next: libaccounts jobs report imp0001"}, wantNot: []string{"1 rows"}},
		{name: "cancelled before its first row", final: apiwire.Import{Status: apiwire.ImportCancelled},
			wantCode: 1, wantOut: []string{"cancelled"}, wantNot: []string{"jobs report", "rows:"}},
		{name: "completed with errors", final: apiwire.Import{Status: apiwire.ImportCompletedWithErrors, Percent: 100, Counts: apiwire.ImportCounts{Rows: 10, Created: 7, Failed: 3}},
			wantCode: 1, wantOut: []string{"completed_with_errors", "10 rows: 7 created, 0 updated, 0 skipped, 3 failed"}},
		{name: "cancelled", final: apiwire.Import{Status: apiwire.ImportCancelled, Counts: apiwire.ImportCounts{Rows: 10, Created: 4}},
			wantCode: 1, wantOut: []string{"cancelled", "rows imported before the cancel stay"}},
		{name: "upsert dry run", args: []string{"--mode", "upsert", "--dry-run"}, final: apiwire.Import{Status: apiwire.ImportCompleted, Percent: 100, Counts: apiwire.ImportCounts{Rows: 10, Updated: 10}},
			wantOut: []string{"completed (dry run: nothing was changed)"}, wantStart: map[string]any{"kind": "users", "mode": "upsert", "dryRun": true}},
		{name: "set", args: []string{"--set", "Spring resets"}, final: apiwire.Import{Status: apiwire.ImportCompleted, Percent: 100, SetID: "imp0001", Counts: apiwire.ImportCounts{Rows: 10, Added: 9, Duplicates: 1}},
			wantOut:   []string{"10 rows: 9 added, 1 duplicate, 0 not found", `set: "Spring resets" (id imp0001)`, "jobs report imp0001"},
			wantStart: map[string]any{"kind": "set", "setName": "Spring resets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			h.api.final = tt.final
			file := h.writeFile("in.csv", "username\nsadie.p\n")
			r := h.run("", append([]string{"import", file}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tt.wantCode, r.all())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			for _, not := range tt.wantNot {
				if strings.Contains(r.all(), not) {
					t.Errorf("output holds %q:\n%s", not, r.all())
				}
			}
			for k, v := range tt.wantStart {
				if h.api.lastStartBody[k] != v {
					t.Errorf("start body %s = %v, want %v", k, h.api.lastStartBody[k], v)
				}
			}
			noSecrets(t, r)
		})
	}
}

func TestImportRefusesBadInputLocally(t *testing.T) {
	h := newHarness(t)
	h.login()
	big := filepath.Join(h.wd, "big.csv")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100<<20 + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	empty := h.writeFile("empty.csv", "")
	ok := h.writeFile("ok.csv", "username\na\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "missing file", args: []string{"import", "nope.csv"}, want: "nope.csv: no such file"},
		{name: "directory", args: []string{"import", h.wd}, want: "is a directory"},
		{name: "empty", args: []string{"import", empty}, want: "is empty"},
		{name: "over 100 MB", args: []string{"import", big}, want: "is 100.0 MB (104,857,601 bytes), over the 100 MB limit of one import; split it"},
		{name: "no file", args: []string{"import"}, want: "import needs a FILE"},
		{name: "two files", args: []string{"import", ok, ok}, want: "import takes one FILE"},
		{name: "bad mode", args: []string{"import", ok, "--mode", "merge"}, want: "--mode must be create or upsert"},
		{name: "empty set name", args: []string{"import", ok, "--set", ""}, want: "--set needs the name"},
		{name: "unknown flag", args: []string{"import", ok, "--force"}, want: "flag provided but not defined: -force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.api.callCount()
			r := h.run("", tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, want 2 with %q:\n%s", r.code, tt.want, r.all())
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 {
				t.Errorf("error is not one line:\n%s", r.stderr)
			}
			if h.api.callCount() != before {
				t.Errorf("the API was called for a command refused locally")
			}
		})
	}
}

func TestReport(t *testing.T) {
	tests := []struct {
		name string
		big  bool
		want string
	}{
		{name: "inline", want: reportCSV},
		{name: "303 to a download URL", big: true, want: "row,username,outcome,reason\n2,big.report,created,\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			if r := h.run("", "import", h.writeFile("u.csv", "username\na\n"), "--no-wait"); r.code != 0 || r.stdout != "imp0001\n" {
				t.Fatalf("import --no-wait: exit %d:\n%s", r.code, r.all())
			}
			h.api.bigReport = tt.big
			r := h.run("", "jobs", "report", "imp0001")
			if r.code != 0 || r.stdout != tt.want {
				t.Fatalf("exit %d, stdout %q, want %q:\n%s", r.code, r.stdout, tt.want, r.stderr)
			}
			noSecrets(t, r)
			out := filepath.Join(h.wd, "report.csv")
			r = h.run("", "jobs", "report", "imp0001", "-o", out)
			data, _ := os.ReadFile(out)
			if r.code != 0 || string(data) != tt.want || !strings.Contains(r.stderr, "written to "+out) {
				t.Fatalf("-o: exit %d, file %q:\n%s", r.code, data, r.all())
			}
			for _, auth := range h.api.downloadAuth {
				if auth != "" {
					t.Errorf("the download URL got the session token")
				}
			}
			if tt.big && len(h.api.downloadAuth) != 2 {
				t.Errorf("download URL fetched %d times, want 2", len(h.api.downloadAuth))
			}
		})
	}
}

func TestRefusedSessionSaysLogin(t *testing.T) {
	tests := []struct {
		name   string
		refuse string
		args   []string
	}{
		{name: "gateway 401", refuse: "gw401", args: []string{"jobs", "list"}},
		{name: "authorizer 403", refuse: "gw403", args: []string{"jobs", "watch", "imp0001"}},
		{name: "service 401", refuse: "svc401", args: []string{"jobs", "report", "imp0001"}},
		{name: "service 401 on import", refuse: "svc401", args: []string{"import", "FILE"}},
		{name: "expired locally", refuse: "expired", args: []string{"jobs", "list"}},
		{name: "not signed in", refuse: "logout", args: []string{"jobs", "cancel", "imp0001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.login()
			switch tt.refuse {
			case "expired":
				a, _, _ := h.newApp("")
				s, _ := a.loadSession()
				s.ExpiresAt = time.Now().Add(-time.Minute)
				if err := a.saveSession(*s); err != nil {
					t.Fatal(err)
				}
			case "logout":
				if r := h.run("", "logout"); r.code != 0 || !strings.Contains(r.stdout, "signed out") {
					t.Fatalf("logout: exit %d:\n%s", r.code, r.all())
				}
				if _, err := os.Stat(h.sessionFile()); !os.IsNotExist(err) {
					t.Fatalf("logout kept the session file")
				}
			default:
				h.api.refuse = tt.refuse
			}
			args := tt.args
			if args[0] == "import" {
				args = []string{"import", h.writeFile("u.csv", "username\na\n")}
			}
			r := h.run("", args...)
			if r.code != 2 || !strings.Contains(r.stderr, "run `libaccounts login") {
				t.Fatalf("exit %d, want 2 and a login hint:\n%s", r.code, r.all())
			}
			noSecrets(t, r)
		})
	}
}

func TestConnectionError(t *testing.T) {
	h := newHarness(t)
	h.login()
	h.api.srv.Close()
	r := h.run("", "jobs", "list")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot reach the API at "+h.api.URL()) || !strings.Contains(r.stderr, "make run") {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
}

func TestWatchInterruptedSaysHowToResume(t *testing.T) {
	h := newHarness(t)
	h.login()
	if r := h.run("", "import", h.writeFile("u.csv", "username\na\n"), "--no-wait"); r.code != 0 {
		t.Fatalf("import: %s", r.all())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if Ctrl-C came at once
	r := h.runCtx(ctx, "", "jobs", "watch", "imp0001")
	if r.code != 130 || !strings.Contains(r.stderr, "Resume with: libaccounts jobs watch imp0001") {
		t.Fatalf("exit %d:\n%s", r.code, r.all())
	}
	if h.api.imports["imp0001"].view.Status == apiwire.ImportCancelled {
		t.Errorf("stopping the watch cancelled the import")
	}
}

func TestJobsListAndCancel(t *testing.T) {
	h := newHarness(t)
	h.login()
	for _, args := range [][]string{{"--no-wait"}, {"--no-wait", "--set", "Spring resets", "--dry-run"}} {
		if r := h.run("", append([]string{"import", h.writeFile("u.csv", "username\na\n")}, args...)...); r.code != 0 {
			t.Fatalf("import: %s", r.all())
		}
	}
	if r := h.run("", "jobs", "watch", "imp0001"); r.code != 0 {
		t.Fatalf("watch: exit %d: %s", r.code, r.all())
	}
	r := h.run("", "jobs", "cancel", "imp0002")
	if r.code != 0 || !strings.Contains(r.stdout, "import imp0002 cancelled") {
		t.Fatalf("cancel: exit %d:\n%s", r.code, r.all())
	}
	if r := h.run("", "jobs", "cancel", "imp0001"); r.code != 2 || !strings.Contains(r.stderr, "the import has already ended (completed) (HTTP 409, request req-1)") {
		t.Fatalf("cancel of an ended import: exit %d:\n%s", r.code, r.all())
	}
	h.api.listNext = "abc=="
	r = h.run("", "jobs", "list", "--limit", "5")
	lines := strings.Split(r.stdout, "\n")
	if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") {
		t.Fatalf("list: exit %d:\n%s", r.code, r.all())
	}
	// Aligned: every column starts at the same offset on every line.
	for _, col := range []string{"STATUS", "ROWS", "FAILED"} {
		at := strings.Index(lines[0], col)
		for _, l := range lines[1:3] {
			if at >= len(l) || l[at-2:at] != "  " || l[at] == ' ' {
				t.Errorf("column %s not aligned at %d in %q", col, at, l)
			}
		}
	}
	for _, want := range []string{"imp0002", `set "Spring resets", dry run`, "cancelled", "imp0001", "completed", "2,750", "2,700"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "more: libaccounts jobs list --limit 5 --cursor abc==") {
		t.Errorf("no hint for the next page:\n%s", r.stderr)
	}
	if r := h.run("", "jobs", "list", "--limit", "0"); r.code != 2 || !strings.Contains(r.stderr, "--limit must be between 1 and 200") {
		t.Errorf("--limit 0: exit %d:\n%s", r.code, r.all())
	}
}

func TestPasswordChange(t *testing.T) {
	tests := []struct {
		name     string
		stdin    string
		wantCode int
		want     string
	}{
		{name: "changed", stdin: "temporary passphrase 1\nblue river lantern morning\nblue river lantern morning\n", want: "password changed for demo/newbie"},
		{name: "mismatch", stdin: "temporary passphrase 1\nblue river lantern morning\nblue river lantern evening\n", wantCode: 2, want: "the two new passwords differ"},
		{name: "too short", stdin: "temporary passphrase 1\nshort\nshort\n", wantCode: 2, want: "password not changed: new password must be at least 15 characters (field newPassword, HTTP 400, request req-3)"},
		{name: "missing lines", stdin: "temporary passphrase 1\n", wantCode: 2, want: "no new password on standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.run("temporary passphrase 1\n", "login", "--api", h.api.URL(), "--tenant", "demo", "--username", "newbie")
			if r.code != 0 || !strings.Contains(r.stdout, mustChangeNote) {
				t.Fatalf("login: exit %d:\n%s", r.code, r.all())
			}
			r = h.run(tt.stdin, "password")
			if r.code != tt.wantCode || !strings.Contains(r.all(), tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, tt.wantCode, tt.want, r.all())
			}
			if strings.Contains(r.all(), "blue river") || strings.Contains(r.all(), "passphrase") {
				t.Errorf("output holds a password:\n%s", r.all())
			}
			a, _, _ := h.newApp("")
			s, _ := a.loadSession()
			if s.MustChangePassword != (tt.wantCode != 0) {
				t.Errorf("session mustChangePassword = %v", s.MustChangePassword)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{args: nil, code: 2, want: "usage: libaccounts COMMAND"},
		{args: []string{"frobnicate"}, code: 2, want: `unknown command "frobnicate"`},
		{args: []string{"help"}, code: 0, want: "jobs report ID [-o FILE]"},
		{args: []string{"import", "--help"}, code: 0, want: "--mode upsert"},
		{args: []string{"jobs"}, code: 2, want: "jobs needs a subcommand"},
		{args: []string{"jobs", "watch"}, code: 2, want: "jobs watch needs one job ID"},
		{args: []string{"jobs", "report", "../../etc"}, code: 2, want: "is not a job ID"},
		{args: []string{"jobs", "list"}, code: 2, want: "not signed in: run `libaccounts login` first"},
		{args: []string{"tenant"}, code: 2, want: "libaccounts tenant create --tenant ID"},
		{args: []string{"tenant", "create"}, code: 2, want: "--tenant is required"},
		{args: []string{"tenant", "create", "--tenant", "kpu"}, code: 2, want: "no table: pass --table NAME"},
		{args: []string{"login", "--api", "http://127.0.0.1:1"}, code: 2, want: "--tenant is required"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := h.run("", tt.args...)
			if r.code != tt.code || !strings.Contains(r.all(), tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, tt.code, tt.want, r.all())
			}
		})
	}
}

func TestRenderProgress(t *testing.T) {
	tests := []struct {
		name string
		v    apiwire.Import
		j    apiwire.Job // a reset, instead of v
		want string
	}{
		{name: "reset running", j: apiwire.Job{Kind: apiwire.JobKindPasswordReset, Status: "running", Percent: 30, Counts: apiwire.JobCounts{Matched: 1000, Changed: 250, NoEmail: 3}},
			want: "[######--------------] 30%  running  1,000 users read  changed 250 without e-mail 3 failed 0"},
		{name: "pending", v: apiwire.Import{Kind: "users", Status: "pending"},
			want: "[--------------------] 0%  pending  waiting for the file"},
		{name: "validating", v: apiwire.Import{Kind: "users", Status: "validating"},
			want: "[--------------------] 0%  validating  reading the file"},
		{name: "running", v: apiwire.Import{Kind: "users", Status: "running", Percent: 45, Counts: apiwire.ImportCounts{Rows: 2750, Created: 1200, Failed: 34}},
			want: "[#########-----------] 45%  running  1,234/2,750 rows  created 1,200 failed 34"},
		{name: "upsert with updates and skips", v: apiwire.Import{Kind: "users", Status: "running", Percent: 50, Counts: apiwire.ImportCounts{Rows: 100, Created: 10, Updated: 30, Skipped: 10}},
			want: "[##########----------] 50%  running  50/100 rows  created 10 updated 30 skipped 10 failed 0"},
		{name: "set dry run", v: apiwire.Import{Kind: "set", Status: "completed", Percent: 100, DryRun: true, Counts: apiwire.ImportCounts{Rows: 1000, Added: 990, NotFound: 10}},
			want: "[####################] 100%  completed  1,000/1,000 rows  added 990 not found 10  (dry run)"},
		{name: "one row", v: apiwire.Import{Kind: "users", Status: "running", Percent: 0, Counts: apiwire.ImportCounts{Rows: 1}},
			want: "[--------------------] 0%  running  0/1 row  created 0 failed 0"},
		{name: "percent out of range", v: apiwire.Import{Kind: "users", Status: "running", Percent: 140},
			want: "[####################] 100%  running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := jobOf(tt.v)
			if tt.j.Kind != "" {
				v = tt.j
			}
			if got := renderProgress(v, true); got != tt.want {
				t.Errorf("renderProgress =\n %q\nwant\n %q", got, tt.want)
			}
			wantPlain := tt.want[strings.Index(tt.want, "] ")+2:]
			if got := renderProgress(v, false); got != wantPlain {
				t.Errorf("renderProgress without bar = %q, want %q", got, wantPlain)
			}
		})
	}
}

// TestProgressOnTerminal draws one line redrawn with \r and ends it.
func TestProgressOnTerminal(t *testing.T) {
	h := newHarness(t)
	h.login()
	a, stdout, stderr := h.newApp("")
	a.stderrTTY = true
	code := a.run(context.Background(), []string{"import", h.writeFile("u.csv", "username\na\n")})
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	out := stderr.String()
	if !strings.Contains(out, "\r[####################] 100%  completed  2,750/2,750 rows") || !strings.Contains(out, "\r[########------------] 40%  running") {
		t.Errorf("no bar redrawn in place:\n%q", out)
	}
	if strings.Count(out, "\n") != 4 { // uploading, upload bar end, uploaded, watch bar end
		t.Errorf("want 4 lines on stderr:\n%q", out)
	}
	if !strings.Contains(stdout.String(), "import imp0001: completed") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestNum(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -2750: "-2,750"} {
		if got := num(n); got != want {
			t.Errorf("num(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPlural: no "1 rows" anywhere a count is written out.
func TestPlural(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{plural(0, "row", "rows"), "0 rows"},
		{plural(1, "row", "rows"), "1 row"},
		{plural(2750, "row", "rows"), "2,750 rows"},
		{humanBytes(1), "1 byte"},
		{humanBytes(2), "2 bytes"},
		{countsText(jobOf(apiwire.Import{Kind: apiwire.ImportKindSet, Counts: apiwire.ImportCounts{Rows: 2, Added: 1, Duplicates: 1}}), true), "1 added, 1 duplicate, 0 not found"},
		{countsText(jobOf(apiwire.Import{Kind: apiwire.ImportKindSet, Counts: apiwire.ImportCounts{Rows: 3, Added: 1, Duplicates: 2}}), true), "1 added, 2 duplicates, 0 not found"},
		{countsText(apiwire.Job{Kind: apiwire.JobKindPasswordReset, Counts: apiwire.JobCounts{Matched: 3, Changed: 1, NoEmail: 1}}, true), "1 changed, 0 skipped, 1 without e-mail, 0 failed"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestPipedLogin: with the local stack up, `login` needs no flags when
// standard input is piped either: it answers the questions a terminal
// would be asked, the username and then the password.
func TestPipedLogin(t *testing.T) {
	const pw = "correct horse battery"
	tests := []struct {
		name     string
		previous bool // signed in as demo/admin before
		stdin    string
		args     []string
		wantCode int
		want     string
	}{
		{name: "username then password", stdin: "admin\n" + pw + "\n", want: "as demo/admin"},
		{name: "an empty line keeps the previous username", previous: true, stdin: "\n" + pw + "\n", want: "as demo/admin"},
		{name: "another username than the previous", previous: true, stdin: "newbie\ntemporary passphrase 1\n", want: "as demo/newbie"},
		{name: "--username: the password only", stdin: pw + "\n", args: []string{"--username", "admin"}, want: "as demo/admin"},
		{name: "--password-stdin: the password only, previous username", previous: true, stdin: pw + "\n", args: []string{"--password-stdin"}, want: "as demo/admin"},
		{name: "--password-stdin and no username known", stdin: pw + "\n", args: []string{"--password-stdin"}, wantCode: 2, want: "--username is required with --password-stdin"},
		{name: "nothing piped", stdin: "", wantCode: 2, want: "no username on standard input"},
		{name: "no password line", stdin: "admin\n", wantCode: 2, want: "no password on standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			dir := filepath.Join(h.wd, ".local")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(map[string]string{"api_url": h.api.URL(), "tenant": "demo"})
			if err := os.WriteFile(filepath.Join(dir, "stack.json"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.previous {
				h.login()
			}
			r := h.run(tt.stdin, append([]string{"login"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.all(), tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, tt.wantCode, tt.want, r.all())
			}
			if strings.Contains(r.all(), pw) {
				t.Errorf("output holds the password:\n%s", r.all())
			}
		})
	}
}
