package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// Secrets the CLI must never print.
const (
	uploadSignature = "UPLOAD-SIG-must-not-leak"
	downloadSig     = "DOWNLOAD-SIG-must-not-leak"
	tokenPrefix     = "TOKEN-must-not-leak-"
)

// fakeAPI implements, in memory, the routes of signing in and of imports,
// as the real API answers them at the HTTP boundary (including API
// Gateway's own 401/403 bodies), plus a stand-in for S3's pre-signed upload
// and download URLs on the same server, and imports that move on by one
// step per poll. The commands on users, sets, the audit trail and settings
// are tested against the real handlers instead (realapi_test.go), which
// need no bucket or worker.
type fakeAPI struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	passwords  map[string]string // tenant/username → password
	mustChange map[string]bool
	tokens     map[string]string // token → tenant/username
	nextID     int
	imports    map[string]*fakeImport
	order      []string
	calls      []string
	// final is how the next import ends (status, counts, error).
	final apiwire.Import
	// refuse makes every authenticated route answer like this: "gw401"
	// (no token), "gw403" (the authorizer refused the token), "svc401"
	// (the service found the session over).
	refuse string
	// bigReport sends reports through a 303 to a pre-signed download URL.
	bigReport     bool
	downloadAuth  []string // Authorization headers the download URL saw
	passwordSets  []map[string]string
	listNext      string
	lastStartBody map[string]any
	lastListQuery map[string][]string
	// finalReset is how the next reset ends; resetRefusal, when set, is the
	// body of a 400 the next reset gets.
	finalReset   apiwire.Job
	resetRefusal any
}

type fakeImport struct {
	view          apiwire.Import
	final         apiwire.Import
	uploaded      bool
	file          []byte
	contentType   string
	contentLength int64
	chunked       bool
	polls         int
	reset         apiwire.Job // a reset's final view
}

const reportCSV = "row,username,outcome,reason\n2,sadie.p,created,\n3,bad,failed,username is taken\n"

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		t:          t,
		passwords:  map[string]string{"demo/admin": "correct horse battery", "demo/newbie": "temporary passphrase 1"},
		mustChange: map[string]bool{"demo/newbie": true},
		tokens:     map[string]string{},
		imports:    map[string]*fakeImport{},
		final: apiwire.Import{Status: apiwire.ImportCompleted, Percent: 100,
			Counts: apiwire.ImportCounts{Rows: 2750, Created: 2700, Skipped: 50}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/login", f.login)
	mux.HandleFunc("POST /v1/auth/logout", f.authed(f.logout))
	mux.HandleFunc("POST /v1/me/password", f.authed(f.changePassword))
	mux.HandleFunc("POST /v1/admin/imports", f.authed(f.startImport))
	mux.HandleFunc("GET /v1/admin/imports", f.authed(f.listImports))
	mux.HandleFunc("GET /v1/admin/imports/{id}", f.authed(f.getImport))
	mux.HandleFunc("GET /v1/admin/imports/{id}/report", f.authed(f.report))
	mux.HandleFunc("POST /v1/admin/imports/{id}/cancel", f.authed(f.cancel))
	// The task centre serves every job; an import's view there has the
	// same fields as on the import routes.
	mux.HandleFunc("GET /v1/admin/jobs", f.authed(f.listJobs))
	mux.HandleFunc("GET /v1/admin/jobs/{id}", f.authed(f.getImport))
	mux.HandleFunc("GET /v1/admin/jobs/{id}/report", f.authed(f.report))
	mux.HandleFunc("POST /v1/admin/jobs/{id}/cancel", f.authed(f.cancel))
	mux.HandleFunc("POST /v1/admin/password-resets", f.authed(f.startReset))
	mux.HandleFunc("PUT /upload/{id}", f.upload)
	mux.HandleFunc("GET /download/{id}", f.download)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) URL() string { return f.srv.URL }

func (f *fakeAPI) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg, "requestId": "req-1"}})
}

func (f *fakeAPI) login(w http.ResponseWriter, r *http.Request) {
	var in apiwire.LoginRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Header.Get("Content-Type") != "application/json" {
		writeError(w, 400, "invalid", "request body is not valid JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	who := in.Tenant + "/" + in.Username
	if pw, ok := f.passwords[who]; !ok || pw != in.Password {
		writeError(w, 401, "unauthorized", "invalid username or password")
		return
	}
	tok := fmt.Sprintf("%s%d", tokenPrefix, len(f.tokens)+1)
	f.tokens[tok] = who
	writeJSON(w, 200, apiwire.LoginResponse{Token: tok, ExpiresAt: time.Now().Add(12 * time.Hour).UTC(), MustChangePassword: f.mustChange[who]})
}

// authed stands in for API Gateway's authorizer in front of a route.
func (f *fakeAPI) authed(h func(w http.ResponseWriter, r *http.Request, who string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		refuse := f.refuse
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		who, valid := f.tokens[tok]
		f.mu.Unlock()
		switch {
		case !ok || refuse == "gw401":
			writeJSON(w, 401, map[string]string{"message": "Unauthorized"})
		case !valid || refuse == "gw403":
			writeJSON(w, 403, map[string]string{"message": "Forbidden"})
		case refuse == "svc401":
			writeError(w, 401, "unauthorized", "invalid or expired token")
		default:
			h(w, r, who)
		}
	}
}

func (f *fakeAPI) logout(w http.ResponseWriter, r *http.Request, who string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeAPI) changePassword(w http.ResponseWriter, r *http.Request, who string) {
	var in map[string]string
	_ = json.NewDecoder(r.Body).Decode(&in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passwordSets = append(f.passwordSets, in)
	switch {
	case in["currentPassword"] != f.passwords[who]:
		writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "invalid", "field": "currentPassword", "message": "current password is incorrect", "requestId": "req-2"}})
		return
	case len(in["newPassword"]) < 15:
		writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "invalid", "field": "newPassword", "message": "new password must be at least 15 characters", "requestId": "req-3"}})
		return
	}
	f.passwords[who] = in["newPassword"]
	f.mustChange[who] = false
	writeJSON(w, 200, map[string]string{"message": "Successfully updated password; your other sessions were signed out"})
}

func (f *fakeAPI) startImport(w http.ResponseWriter, r *http.Request, who string) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "invalid", "request body is not valid JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastStartBody = in
	f.nextID++
	id := fmt.Sprintf("imp%04d", f.nextID)
	v := apiwire.Import{ID: id, Kind: in["kind"].(string), Mode: in["mode"].(string), Status: "pending", CreatedAt: time.Date(2026, 5, 1, 14, 2, 0, 0, time.UTC)}
	v.DryRun, _ = in["dryRun"].(bool)
	v.SetName, _ = in["setName"].(string)
	final := f.final
	final.ID, final.Kind, final.Mode, final.DryRun, final.SetName, final.CreatedAt = v.ID, v.Kind, v.Mode, v.DryRun, v.SetName, v.CreatedAt
	f.imports[id] = &fakeImport{view: v, final: final}
	f.order = append(f.order, id)
	writeJSON(w, 201, apiwire.StartImportResponse{ImportID: id, UploadURL: f.srv.URL + "/upload/" + id + "?X-Amz-Signature=" + uploadSignature,
		ExpiresAt: time.Now().Add(15 * time.Minute), Import: v})
}

// upload is the pre-signed PUT: it holds the signature and the content type
// it was signed for, as S3 does.
func (f *fakeAPI) upload(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	imp := f.imports[r.PathValue("id")]
	f.mu.Unlock()
	if imp == nil || r.URL.Query().Get("X-Amz-Signature") != uploadSignature || r.Header.Get("Authorization") != "" {
		w.WriteHeader(403)
		io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>bad signature</Message></Error>`)
		return
	}
	if r.Header.Get("Content-Type") != "text/csv" {
		w.WriteHeader(403)
		io.WriteString(w, `<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>`)
		return
	}
	if r.ContentLength < 0 {
		w.WriteHeader(411)
		io.WriteString(w, `<?xml version="1.0"?><Error><Code>MissingContentLength</Code><Message>You must provide the Content-Length HTTP header.</Message></Error>`)
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	imp.uploaded, imp.file, imp.contentType, imp.contentLength = true, data, r.Header.Get("Content-Type"), r.ContentLength
	imp.chunked = len(r.TransferEncoding) > 0
	w.WriteHeader(200)
}

// getImport moves an uploaded import on by one step per poll: validating,
// running 40%, running 80%, then its final state.
func (f *fakeAPI) getImport(w http.ResponseWriter, r *http.Request, who string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	imp := f.imports[r.PathValue("id")]
	if imp == nil {
		writeError(w, 404, "not_found", "import not found")
		return
	}
	if imp.uploaded && !finalStatus(imp.view.Status) {
		imp.polls++
		v := imp.view
		rows := imp.final.Counts.Rows
		switch imp.polls {
		case 1:
			v.Status, v.Percent = "validating", 0
		case 2:
			v.Status, v.Percent = "running", 40
			v.Counts = apiwire.ImportCounts{Rows: rows, Created: rows * 4 / 10}
		case 3:
			v.Status, v.Percent = "running", 80
			v.Counts = apiwire.ImportCounts{Rows: rows, Created: rows * 8 / 10}
		default:
			v = imp.final
		}
		imp.view = v
	}
	if imp.view.Kind == apiwire.JobKindPasswordReset {
		writeJSON(w, 200, resetView(imp))
		return
	}
	writeJSON(w, 200, imp.view)
}

// resetView is a reset job at its poll: running halfway, then its final
// view.
func resetView(imp *fakeImport) apiwire.Job {
	v := jobOf(imp.view)
	if finalStatus(v.Status) && v.Status != apiwire.ImportCancelled {
		final := imp.reset
		final.ID, final.Kind, final.DryRun, final.CreatedAt = v.ID, v.Kind, v.DryRun, v.CreatedAt
		return final
	}
	if v.Status == "running" {
		v.Counts = apiwire.JobCounts{Matched: imp.reset.Counts.Matched / 2, Changed: imp.reset.Counts.Changed / 2}
	}
	v.Scope, v.Mode = imp.reset.Scope, imp.reset.Mode
	return v
}

func (f *fakeAPI) listImports(w http.ResponseWriter, r *http.Request, who string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := struct {
		Imports    []apiwire.Import `json:"imports"`
		NextCursor string           `json:"nextCursor,omitempty"`
	}{Imports: []apiwire.Import{}, NextCursor: f.listNext}
	for i := len(f.order) - 1; i >= 0; i-- {
		out.Imports = append(out.Imports, f.imports[f.order[i]].view)
	}
	writeJSON(w, 200, out)
}

func (f *fakeAPI) listJobs(w http.ResponseWriter, r *http.Request, who string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastListQuery = r.URL.Query()
	out := apiwire.JobList{Jobs: []apiwire.Job{}, NextCursor: f.listNext}
	for i := len(f.order) - 1; i >= 0; i-- {
		imp := f.imports[f.order[i]]
		if imp.view.Kind == apiwire.JobKindPasswordReset {
			out.Jobs = append(out.Jobs, resetView(imp))
			continue
		}
		out.Jobs = append(out.Jobs, jobOf(imp.view))
	}
	writeJSON(w, 200, out)
}

// jobOf is an import as the task centre shows it.
func jobOf(v apiwire.Import) apiwire.Job {
	var j apiwire.Job
	data, _ := json.Marshal(v)
	_ = json.Unmarshal(data, &j)
	return j
}

// startReset records a reset job, which moves on by one step per poll like
// an uploaded import and ends as f.final says (Counts.Matched etc.).
func (f *fakeAPI) startReset(w http.ResponseWriter, r *http.Request, who string) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "invalid", "request body is not valid JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastStartBody = in
	if f.resetRefusal != nil {
		writeJSON(w, 400, f.resetRefusal)
		return
	}
	f.nextID++
	id := fmt.Sprintf("job%04d", f.nextID)
	v := apiwire.Import{ID: id, Kind: apiwire.JobKindPasswordReset, Status: "pending", CreatedAt: time.Date(2026, 5, 1, 14, 2, 0, 0, time.UTC)}
	v.DryRun, _ = in["dryRun"].(bool)
	final := f.final
	final.ID, final.Kind, final.DryRun, final.CreatedAt = v.ID, v.Kind, v.DryRun, v.CreatedAt
	reset := f.finalReset
	if reset.Status == "" {
		reset.Status = apiwire.ImportCompleted
	}
	if reset.Scope == "" {
		reset.Scope, _ = in["scope"].(string)
		reset.Mode, _ = in["mode"].(string)
	}
	f.imports[id] = &fakeImport{view: v, final: final, uploaded: true, reset: reset}
	f.order = append(f.order, id)
	writeJSON(w, 202, map[string]any{"jobId": id, "job": jobOf(v)})
}

func (f *fakeAPI) report(w http.ResponseWriter, r *http.Request, who string) {
	f.mu.Lock()
	imp, big := f.imports[r.PathValue("id")], f.bigReport
	f.mu.Unlock()
	if imp == nil {
		writeError(w, 404, "not_found", "import not found")
		return
	}
	if big {
		w.Header().Set("Location", "/download/"+imp.view.ID+"?X-Amz-Signature="+downloadSig)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/csv")
	io.WriteString(w, reportCSV)
}

func (f *fakeAPI) download(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.downloadAuth = append(f.downloadAuth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if r.URL.Query().Get("X-Amz-Signature") != downloadSig || r.Header.Get("Authorization") != "" {
		// S3 refuses a pre-signed URL that also carries an Authorization header.
		w.WriteHeader(400)
		io.WriteString(w, `<?xml version="1.0"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>`)
		return
	}
	w.Header().Set("Content-Type", "text/csv")
	io.WriteString(w, "row,username,outcome,reason\n2,big.report,created,\n")
}

func (f *fakeAPI) cancel(w http.ResponseWriter, r *http.Request, who string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	imp := f.imports[r.PathValue("id")]
	switch {
	case imp == nil:
		writeError(w, 404, "not_found", "import not found")
		return
	case finalStatus(imp.view.Status):
		writeError(w, 409, "conflict", "the import has already ended ("+imp.view.Status+")")
		return
	}
	imp.view.Status = apiwire.ImportCancelled
	writeJSON(w, 200, imp.view)
}

// harness runs the CLI in-process against a fake API with its own config
// directory, environment and working directory.
type harness struct {
	t   testing.TB
	api *fakeAPI
	env map[string]string
	wd  string
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) all() string { return r.stdout + r.stderr }

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	wd := filepath.Join(dir, "work")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	return &harness{
		t:   t,
		api: newFakeAPI(t),
		env: map[string]string{"HOME": filepath.Join(dir, "home"), "XDG_CONFIG_HOME": filepath.Join(dir, "config")},
		wd:  wd,
	}
}

func (h *harness) newApp(stdin string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	a := newApp()
	a.stdin = strings.NewReader(stdin)
	a.stdout, a.stderr = &stdout, &stderr
	a.getenv = func(k string) string { return h.env[k] }
	a.getwd = func() (string, error) { return h.wd, nil }
	a.loc = time.UTC
	a.stdinTTY, a.stderrTTY = false, false
	a.apiTimeout = 5 * time.Second
	a.pollMin, a.pollMax = time.Millisecond, 4*time.Millisecond
	a.watchRetries = 2
	return a, &stdout, &stderr
}

func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	return h.runCtx(context.Background(), stdin, args...)
}

func (h *harness) runCtx(ctx context.Context, stdin string, args ...string) result {
	h.t.Helper()
	a, stdout, stderr := h.newApp(stdin)
	code := a.run(ctx, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// login signs in as demo/admin through the CLI.
func (h *harness) login() {
	h.t.Helper()
	r := h.run("correct horse battery\n", "login", "--api", h.api.URL(), "--tenant", "demo", "--username", "admin")
	if r.code != 0 {
		h.t.Fatalf("login: exit %d: %s", r.code, r.all())
	}
}

func (h *harness) sessionFile() string {
	return filepath.Join(h.env["XDG_CONFIG_HOME"], "libaccounts", "session.json")
}

// writeFile creates a file in the working directory and returns its path.
func (h *harness) writeFile(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.wd, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// noSecrets fails when output holds a token or a pre-signed URL.
func noSecrets(t testing.TB, r result) {
	t.Helper()
	for _, s := range []string{tokenPrefix, uploadSignature, downloadSig, "/upload/", "/download/"} {
		if strings.Contains(r.all(), s) {
			t.Errorf("output holds the secret %q:\n%s", s, r.all())
		}
	}
}
