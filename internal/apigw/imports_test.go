package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/s3blobs"
)

const importBucket = "libaccounts-test-imports"

// chunkRecorder is a recording accounts.ChunkQueue: the port's fake,
// standing in for SQS. The test plays the worker.
type chunkRecorder struct {
	mu    sync.Mutex
	tasks []accounts.ChunkTask
}

func (q *chunkRecorder) SendChunks(_ context.Context, tasks []accounts.ChunkTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, tasks...)
	return nil
}

func (q *chunkRecorder) take() []accounts.ChunkTask {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks
	q.tasks = nil
	return t
}

// objectEvents records the local S3's ObjectCreated events; the test plays
// the ingest function.
type objectEvents struct {
	mu   sync.Mutex
	recs []events.S3EventRecord
}

func (o *objectEvents) on(_ context.Context, rec events.S3EventRecord) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recs = append(o.recs, rec)
	return nil
}

func (o *objectEvents) take() []events.S3EventRecord {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.recs
	o.recs = nil
	return r
}

// importEnv is the service over DynamoDB Local and the local S3 (through
// the real s3blobs adapter), with chunks recorded instead of queued.
type importEnv struct {
	*env
	svc     *accounts.Service
	s3      *s3.Client
	blobs   *s3blobs.Blobs
	queue   *chunkRecorder
	objects *objectEvents
}

func newImportEnv(tb testing.TB, tenants ...string) *importEnv {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	objects := &objectEvents{}
	srv, err := s3emu.New(s3emu.Options{Dir: tb.TempDir(), Buckets: []string{importBucket}, OnObjectCreated: objects.on})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	// The SDK's own HTTP client (no custom one, so the machine's
	// AWS_CA_BUNDLE does not get in the way), no shared AWS files.
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		tb.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(ts.URL)
		o.UsePathStyle = true
	})
	blobs := s3blobs.New(s3c)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	queue, mail := &chunkRecorder{}, &outbox{}
	svc := accounts.NewService(accounts.Deps{
		Store:  dynamostore.New(client, table),
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Mailer: mail, Blobs: blobs, Queue: queue, Logger: log,
	}, accounts.Config{ResetPageURL: resetPage, ImportBucket: importBucket, RowsPerChunk: 2, ImportWorkers: 2})
	for _, t := range tenants {
		if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: t, AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
			tb.Fatal(err)
		}
	}
	return &importEnv{
		env: &env{api: apigw.New(svc, log).WithReports(blobs, importBucket), logs: logs, mail: mail},
		svc: svc, s3: s3c, blobs: blobs, queue: queue, objects: objects,
	}
}

// lockedWriter serialises writes to the log buffer: the worker logs from
// several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *importEnv) logText() string {
	return e.logs.String()
}

type importOut struct {
	ID, Kind, Mode, SetName, SetID, Status, Format, Error string
	DryRun                                                bool
	Percent                                               int
	Counts                                                map[string]int
	CreatedAt                                             time.Time
	StartedAt, FinishedAt                                 *time.Time
	StartedBy                                             *struct{ ID, Username string }
}

type startOut struct {
	ImportID  string
	UploadURL string
	ExpiresAt time.Time
	Import    importOut
}

// start starts an import through the API.
func (e *importEnv) start(tb testing.TB, as authedReq, body string) startOut {
	tb.Helper()
	resp := do(tb, e.api.StartImport, as("POST /v1/admin/imports", body))
	want(tb, "start import", resp, 201, "")
	return decode[startOut](tb, resp)
}

// uploadKey is the object key an upload URL writes (path-style).
func uploadKey(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	_, key, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return key
}

// upload PUTs a file to an upload URL as a browser or curl would: a plain
// HTTP request, no SDK.
func upload(tb testing.TB, url, data string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	// The headers the URL is signed for.
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("If-None-Match", "*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("PUT to the upload URL: %d %s", resp.StatusCode, msg)
	}
}

// pump plays S3's trigger and the workers until nothing is left to do.
func (e *importEnv) pump(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	for {
		recs, tasks := e.objects.take(), e.queue.take()
		if len(recs) == 0 && len(tasks) == 0 {
			return
		}
		for _, r := range recs {
			if err := e.svc.IngestObject(ctx, accounts.CreatedObject{Bucket: r.S3.Bucket.Name, Key: r.S3.Object.URLDecodedKey, VersionID: r.S3.Object.VersionID, ETag: r.S3.Object.ETag, Size: r.S3.Object.Size}); err != nil {
				tb.Fatalf("ingest %s: %v", r.S3.Object.URLDecodedKey, err)
			}
		}
		for _, t := range tasks {
			if err := e.svc.ImportChunk(ctx, t); err != nil {
				tb.Fatalf("chunk %d: %v", t.Index, err)
			}
		}
	}
}

// runImport starts a job, uploads data and runs the pipeline to the end.
func (e *importEnv) runImport(tb testing.TB, as authedReq, body, data string) startOut {
	tb.Helper()
	st := e.start(tb, as, body)
	upload(tb, st.UploadURL, data)
	e.pump(tb)
	return st
}

func (e *importEnv) getImport(tb testing.TB, as authedReq, id string) importOut {
	tb.Helper()
	resp := do(tb, e.api.GetImport, withID(as("GET /v1/admin/imports/{id}", ""), id))
	want(tb, "get import", resp, 200, "")
	return decode[importOut](tb, resp)
}

func (e *importEnv) objectExists(tb testing.TB, key string) bool {
	tb.Helper()
	_, err := e.blobs.Head(context.Background(), importBucket, key, "")
	if accounts.IsCode(err, accounts.CodeNotFound) {
		return false
	}
	if err != nil {
		tb.Fatalf("head %s: %v", key, err)
	}
	return true
}

// Passwords of the test files: none may show up in a log, a report or a
// notice.
const (
	alicePassword = "plum orchard at midnight"
	bobPassword   = "seven quiet lighthouses"
	evilPassword  = "formula injection attempt"
	shortPassword = "tiny"
)

// usersFile is a LibraryPass file: two plain rows, a (valid) username a
// spreadsheet would run as a formula, and a password the policy refuses.
const usersFile = "alice," + alicePassword + "\r\n" +
	"bob," + bobPassword + "\r\n" +
	"=1+2," + evilPassword + "\r\n" +
	"carol," + shortPassword + "\r\n"

func TestImportLifecycle(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, "kpu")
	token, kpu := e.login(t, "kpu", "admin", adminPassword)

	st := e.start(t, kpu, `{"kind":"users","mode":"create"}`)
	if st.ImportID == "" || st.Import.ID != st.ImportID || st.Import.Status != "pending" || st.Import.Kind != "users" || st.Import.Mode != "create" {
		t.Fatalf("started = %+v", st)
	}
	if until := time.Until(st.ExpiresAt); until < 10*time.Minute || until > 16*time.Minute {
		t.Errorf("expiresAt in %v, want about 15 minutes", until)
	}
	if st.Import.StartedBy == nil || st.Import.StartedBy.Username != "admin" {
		t.Errorf("startedBy = %+v", st.Import.StartedBy)
	}
	if want := map[string]int{"rows": 0, "created": 0, "updated": 0, "skipped": 0, "failed": 0}; !sameCounts(st.Import.Counts, want) {
		t.Errorf("counts = %v, want %v", st.Import.Counts, want)
	}
	upload(t, st.UploadURL, usersFile)
	key := uploadKey(t, st.UploadURL)
	if !e.objectExists(t, key) {
		t.Fatalf("upload did not land at %s", key)
	}
	e.pump(t)

	j := e.getImport(t, kpu, st.ImportID)
	if j.Status != "completed_with_errors" || j.Percent != 100 || j.Format != "librarypass" || j.FinishedAt == nil || j.StartedAt == nil {
		t.Errorf("finished job = %+v", j)
	}
	if want := map[string]int{"rows": 4, "created": 3, "updated": 0, "skipped": 0, "failed": 1}; !sameCounts(j.Counts, want) {
		t.Errorf("counts = %v, want %v", j.Counts, want)
	}
	// The file held passwords: it goes when the job ends.
	if e.objectExists(t, key) {
		t.Errorf("the uploaded file is still in the bucket")
	}
	// The imported accounts work.
	e.login(t, "kpu", "alice", alicePassword)

	// The report: every row, spreadsheet-safe, no password.
	resp := do(t, e.api.ImportReport, withID(kpu("GET /v1/admin/imports/{id}/report", ""), st.ImportID))
	want(t, "report", resp, 200, "")
	if ct := resp.Headers["Content-Type"]; ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := resp.Headers["Content-Disposition"]; cd != `attachment; filename="import-`+st.ImportID+`.csv"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	report := resp.Body
	if !strings.HasPrefix(report, "\uFEFFrow,username,outcome,reason\r\n") {
		t.Errorf("report does not start with the BOM and header: %q", report)
	}
	for _, line := range []string{"1,alice,created,\r\n", "2,bob,created,\r\n", "3,'=1+2,created,\r\n", "4,carol,failed,"} {
		if !strings.Contains(report, line) {
			t.Errorf("report lacks %q:\n%s", line, report)
		}
	}
	if strings.Contains(report, ",=1+2") {
		t.Errorf("formula cell not neutralised:\n%s", report)
	}
	noSecrets(t, "report", report, alicePassword, bobPassword, evilPassword, shortPassword)

	// Listing, newest first, page by page.
	second := e.start(t, kpu, "")
	var seen []string
	cursor := ""
	for range 5 {
		q := map[string]string{"limit": "1"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		resp := do(t, e.api.ListImports, withQuery(kpu("GET /v1/admin/imports", ""), q))
		want(t, "list imports", resp, 200, "")
		page := decode[struct {
			Imports    []importOut
			NextCursor string
		}](t, resp)
		for _, j := range page.Imports {
			seen = append(seen, j.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 2 || seen[0] != second.ImportID || seen[1] != st.ImportID {
		t.Errorf("listed %v, want [%s %s]", seen, second.ImportID, st.ImportID)
	}

	// Nothing secret reached a log line: not the upload URL (nor its
	// signature), not the session token, not a password.
	logs := e.logText()
	noSecrets(t, "logs", logs, st.UploadURL, second.UploadURL, signatureOf(st.UploadURL), token,
		alicePassword, bobPassword, evilPassword, shortPassword, adminPassword)
	for _, m := range e.mail.msgs {
		noSecrets(t, "notice", m.Subject+m.Text, alicePassword, bobPassword, evilPassword, shortPassword, st.UploadURL)
	}
}

// signatureOf returns the X-Amz-Signature of a pre-signed URL: a log line
// holding it alone would leak the capability too.
func signatureOf(u string) string {
	_, sig, ok := strings.Cut(u, "X-Amz-Signature=")
	if !ok {
		return ""
	}
	sig, _, _ = strings.Cut(sig, "&")
	return sig
}

func sameCounts(got, want map[string]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

func TestLargeReportIsStoredAndLinked(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	st := e.runImport(t, kpu, "", usersFile)
	req := withID(kpu("GET /v1/admin/imports/{id}/report", ""), st.ImportID)

	inline := do(t, e.api.ImportReport, req)
	want(t, "inline report", inline, 200, "")

	e.api.SetReportInlineLimit(64) // far below this report's size
	resp := do(t, e.api.ImportReport, req)
	want(t, "large report", resp, 303, "")
	moved := decode[struct{ Message, URL string }](t, resp)
	loc := resp.Headers["Location"]
	if loc == "" || loc != moved.URL || moved.Message == "" {
		t.Fatalf("Location %q, body %+v", loc, moved)
	}
	if !e.objectExists(t, "reports/kpu/"+st.ImportID+".csv") {
		t.Errorf("no stored report at reports/kpu/%s.csv", st.ImportID)
	}
	// The link works as it is, without credentials.
	got, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 {
		t.Fatalf("GET the report link: %d %s", got.StatusCode, body)
	}
	if string(body) != inline.Body {
		t.Errorf("stored report differs from the inline one:\n%q\n%q", body, inline.Body)
	}
	noSecrets(t, "logs", e.logText(), loc, signatureOf(loc), st.UploadURL)

	// Another tenant's admin gets no report, stored or not.
	e2 := e.svcTenant(t, "ubc")
	resp = do(t, e.api.ImportReport, withID(e2("GET /v1/admin/imports/{id}/report", ""), st.ImportID))
	want(t, "other tenant's report", resp, 404, "")
}

// svcTenant bootstraps another tenant with an admin and signs in.
func (e *importEnv) svcTenant(tb testing.TB, tenant string) authedReq {
	tb.Helper()
	if _, err := e.svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: tenant, AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
		tb.Fatal(err)
	}
	_, as := e.login(tb, tenant, "admin", adminPassword)
	return as
}

// failingStore is report storage that refuses every upload without reading
// a byte of it.
type failingStore struct{ accounts.Blobs }

func (failingStore) Put(context.Context, string, string, io.Reader, string) error {
	return &accounts.Error{Code: accounts.CodeUnavailable, Message: "storage is busy; retry shortly", Err: errors.New("slow down")}
}

func TestLargeReportStoreFailure(t *testing.T) {
	// A store that gives up must fail the request, not leave the report
	// writing into a pipe nobody reads.
	t.Parallel()
	e := newImportEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	st := e.runImport(t, kpu, "", usersFile)
	e.api.WithReports(failingStore{e.blobs}, importBucket).SetReportInlineLimit(64)
	done := make(chan apigw.Response, 1)
	go func() {
		resp, _ := e.api.ImportReport(context.Background(), withID(kpu("GET /v1/admin/imports/{id}/report", ""), st.ImportID))
		done <- resp
	}()
	select {
	case resp := <-done:
		want(t, "report with failing storage", resp, 503, "")
	case <-time.After(20 * time.Second):
		t.Fatal("report hangs when its storage fails")
	}
}

func TestCancelImport(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	cancel := func(id, body string) apigw.Response {
		return do(t, e.api.CancelImport, withID(kpu("POST /v1/admin/imports/{id}/cancel", body), id))
	}

	// A job whose file arrived but was not read yet: cancelling it ends it
	// and deletes the file (it holds passwords) at once.
	st := e.start(t, kpu, `{"dryRun":true}`)
	upload(t, st.UploadURL, usersFile)
	e.objects.take() // the trigger has not run yet
	resp := cancel(st.ImportID, "")
	want(t, "cancel", resp, 200, "")
	j := decode[importOut](t, resp)
	if j.Status != "cancelled" || j.FinishedAt == nil || !j.DryRun {
		t.Errorf("cancelled job = %+v", j)
	}
	if e.objectExists(t, uploadKey(t, st.UploadURL)) {
		t.Errorf("the cancelled job's file is still in the bucket")
	}
	want(t, "cancel again", cancel(st.ImportID, "{}"), 409, "")

	// A running job stops taking rows; the chunks in flight end it.
	st = e.start(t, kpu, "")
	upload(t, st.UploadURL, usersFile)
	ctx := context.Background()
	for _, r := range e.objects.take() {
		if err := e.svc.IngestObject(ctx, accounts.CreatedObject{Bucket: r.S3.Bucket.Name, Key: r.S3.Object.URLDecodedKey, VersionID: r.S3.Object.VersionID, ETag: r.S3.Object.ETag, Size: r.S3.Object.Size}); err != nil {
			t.Fatal(err)
		}
	}
	if j := e.getImport(t, kpu, st.ImportID); j.Status != "running" {
		t.Fatalf("status %s, want running", j.Status)
	}
	want(t, "cancel running", cancel(st.ImportID, `{}`), 200, "")
	e.pump(t)
	if j := e.getImport(t, kpu, st.ImportID); j.Status != "cancelled" || j.Counts["created"] != 0 {
		t.Errorf("after the chunks: %+v", j)
	}
}

func TestSets(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	dora := e.createUser(t, kpu, `{"username":"dora","password":"a fine long passphrase","primaryId":"P-0042"}`)
	bob := e.createUser(t, kpu, `{"username":"bob","password":"another long passphrase"}`)

	// An ID list: a primary ID, a username, nobody, and bob again.
	st := e.runImport(t, kpu, `{"kind":"set","setName":"Spring reset"}`, "User name\nP-0042\nbob\nnobody\nbob\n")
	j := e.getImport(t, kpu, st.ImportID)
	if j.Status != "completed_with_errors" || j.Kind != "set" || j.SetName != "Spring reset" || j.SetID == "" || j.Format != "idlist" {
		t.Errorf("set job = %+v", j)
	}
	if want := map[string]int{"rows": 4, "added": 2, "duplicates": 1, "notFound": 1}; !sameCounts(j.Counts, want) {
		t.Errorf("counts = %v, want %v", j.Counts, want)
	}

	resp := do(t, e.api.ListSets, kpu("GET /v1/admin/sets", ""))
	want(t, "list sets", resp, 200, "")
	type setOut struct {
		ID, Name, Status, ImportID string
		Members                    int
		CreatedAt                  time.Time
	}
	sets := decode[struct{ Sets []setOut }](t, resp).Sets
	if len(sets) != 1 || sets[0].ID != j.SetID || sets[0].Name != "Spring reset" || sets[0].Status != "ready" || sets[0].Members != 2 || sets[0].ImportID != st.ImportID {
		t.Fatalf("sets = %+v", sets)
	}

	// Members, one per page.
	type memberOut struct {
		UserID, Username, PrimaryID string
		Row                         int
	}
	members := map[string]memberOut{}
	cursor := ""
	for range 40 {
		q := map[string]string{"limit": "1"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		resp := do(t, e.api.GetSet, withQuery(withID(kpu("GET /v1/admin/sets/{id}", ""), j.SetID), q))
		want(t, "get set", resp, 200, "")
		page := decode[struct {
			Set        setOut
			Members    []memberOut
			NextCursor string
		}](t, resp)
		if page.Set.ID != j.SetID || len(page.Members) > 1 {
			t.Fatalf("page = %+v", page)
		}
		for _, m := range page.Members {
			members[m.UserID] = m
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if cursor != "" {
		t.Fatal("member pages never end")
	}
	wantMembers := map[string]memberOut{
		dora.ID: {UserID: dora.ID, Username: "dora", PrimaryID: "P-0042", Row: 2},
		bob.ID:  {UserID: bob.ID, Username: "bob", Row: 3},
	}
	if len(members) != len(wantMembers) {
		t.Errorf("members = %+v, want %+v", members, wantMembers)
	}
	for id, w := range wantMembers {
		if members[id] != w {
			t.Errorf("member %s = %+v, want %+v", id, members[id], w)
		}
	}
	resp = do(t, e.api.GetSet, withQuery(withID(kpu("GET /v1/admin/sets/{id}", ""), j.SetID), map[string]string{"cursor": "not-a-cursor"}))
	want(t, "bad member cursor", resp, 400, "cursor")

	// Deleting the set leaves its users.
	resp = do(t, e.api.DeleteSet, withID(kpu("DELETE /v1/admin/sets/{id}", ""), j.SetID))
	want(t, "delete set", resp, 200, "")
	if m := decode[struct{ Message string }](t, resp).Message; m != "Set deleted" {
		t.Errorf("message = %q", m)
	}
	want(t, "deleted set", do(t, e.api.GetSet, withID(kpu("GET /v1/admin/sets/{id}", ""), j.SetID)), 404, "")
	want(t, "delete again", do(t, e.api.DeleteSet, withID(kpu("DELETE /v1/admin/sets/{id}", ""), j.SetID)), 404, "")
	if sets := decode[struct{ Sets []setOut }](t, do(t, e.api.ListSets, kpu("GET /v1/admin/sets", ""))).Sets; len(sets) != 0 {
		t.Errorf("sets after delete = %+v", sets)
	}
	want(t, "user after set delete", e.getUser(t, kpu, bob.ID), 200, "")
}

func TestImportRefusals(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, "kpu")
	ctx := context.Background()
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	st := e.runImport(t, kpu, `{"kind":"set","setName":"Everyone"}`, "User name\nadmin\n")
	setID := e.getImport(t, kpu, st.ImportID).SetID

	type call struct {
		name  string
		h     handler
		route string
		id    string
		body  string
	}
	calls := []call{
		{"start", e.api.StartImport, "POST /v1/admin/imports", "", "{}"},
		{"list", e.api.ListImports, "GET /v1/admin/imports", "", ""},
		{"get", e.api.GetImport, "GET /v1/admin/imports/{id}", st.ImportID, ""},
		{"report", e.api.ImportReport, "GET /v1/admin/imports/{id}/report", st.ImportID, ""},
		{"cancel", e.api.CancelImport, "POST /v1/admin/imports/{id}/cancel", st.ImportID, ""},
		{"list sets", e.api.ListSets, "GET /v1/admin/sets", "", ""},
		{"get set", e.api.GetSet, "GET /v1/admin/sets/{id}", setID, ""},
		{"delete set", e.api.DeleteSet, "DELETE /v1/admin/sets/{id}", setID, ""},
	}
	req := func(as authedReq, c call) apigw.Request {
		r := as(c.route, c.body)
		if c.id != "" {
			r = withID(r, c.id)
		}
		return r
	}

	// A patron (no admin role, own password set) is refused everywhere.
	created := e.createUser(t, kpu, `{"username":"pat","password":"a fine long passphrase"}`)
	_, pat := e.login(t, "kpu", "pat", "a fine long passphrase")
	body, _ := json.Marshal(map[string]string{"currentPassword": "a fine long passphrase", "newPassword": "my own long passphrase"})
	if resp, _ := e.api.ChangePassword(ctx, pat("POST /v1/me/password", string(body))); resp.StatusCode != 200 {
		t.Fatalf("change password: %d %s", resp.StatusCode, resp.Body)
	}
	for _, c := range calls {
		b := want(t, c.name+" as patron", do(t, c.h, req(pat, c)), 403, "")
		if !strings.Contains(b.Error.Message, "admin") {
			t.Errorf("%s as patron: %q", c.name, b.Error.Message)
		}
	}
	_ = created

	// Another tenant's admin finds nothing of this one's.
	ubc := e.svcTenant(t, "ubc")
	for _, c := range calls {
		if c.id == "" {
			continue
		}
		want(t, c.name+" from another tenant", do(t, c.h, req(ubc, c)), 404, "")
	}
	if resp := do(t, e.api.ListImports, ubc("GET /v1/admin/imports", "")); !strings.Contains(resp.Body, `"imports":[]`) {
		t.Errorf("other tenant's list: %s", resp.Body)
	}
	if resp := do(t, e.api.ListSets, ubc("GET /v1/admin/sets", "")); !strings.Contains(resp.Body, `"sets":[]`) {
		t.Errorf("other tenant's sets: %s", resp.Body)
	}

	// Unknown query parameters are named, on every route.
	for _, c := range calls {
		want(t, c.name+" with unknown parameter", do(t, c.h, withQuery(req(kpu, c), map[string]string{"staus": "x"})), 400, "staus")
	}
	// Paging parameters are checked, not silently defaulted.
	for q, field := range map[string]string{"0": "limit", "ten": "limit", "201": "limit", "-1": "limit"} {
		want(t, "list limit "+q, do(t, e.api.ListImports, withQuery(kpu("GET /v1/admin/imports", ""), map[string]string{"limit": q})), 400, field)
	}
	want(t, "set members limit 1001", do(t, e.api.GetSet, withQuery(withID(kpu("GET /v1/admin/sets/{id}", ""), setID), map[string]string{"limit": "1001"})), 400, "limit")
	want(t, "list bad cursor", do(t, e.api.ListImports, withQuery(kpu("GET /v1/admin/imports", ""), map[string]string{"cursor": "eyJ4IjoieSJ9"})), 400, "cursor")

	// Bad bodies name the field at fault.
	for body, field := range map[string]string{
		`{"kind":"groups"}`:                  "kind",
		`{"mode":"merge"}`:                   "mode",
		`{"dryRun":"yes"}`:                   "dryRun",
		`{"kind":"set"}`:                     "setName",
		`{"kind":"set","setName":"a\u0007"}`: "setName",
		`{"setName":"Not a set import"}`:     "setName",
		`{"kind":"users","overwrite":true}`:  "overwrite",
	} {
		want(t, "start "+body, do(t, e.api.StartImport, kpu("POST /v1/admin/imports", body)), 400, field)
	}
	for _, body := range []string{`[]`, `{"kind":`, `"users"`} {
		want(t, "start "+body, do(t, e.api.StartImport, kpu("POST /v1/admin/imports", body)), 400, "")
	}
	want(t, "cancel with a body", do(t, e.api.CancelImport, withID(kpu("POST /v1/admin/imports/{id}/cancel", `{"force":true}`), st.ImportID)), 400, "force")
	want(t, "delete set with a body", do(t, e.api.DeleteSet, withID(kpu("DELETE /v1/admin/sets/{id}", `{}`), setID)), 400, "")
	want(t, "cancel ended job", do(t, e.api.CancelImport, withID(kpu("POST /v1/admin/imports/{id}/cancel", ""), st.ImportID)), 409, "")
	for _, id := range []string{"", "nope", "../../etc", strings.Repeat("a", 300)} {
		want(t, "get import "+id, do(t, e.api.GetImport, withID(kpu("GET /v1/admin/imports/{id}", ""), id)), 404, "")
		want(t, "report "+id, do(t, e.api.ImportReport, withID(kpu("GET /v1/admin/imports/{id}/report", ""), id)), 404, "")
	}

	// Without the authorizer's context nobody gets in.
	for _, c := range calls {
		r := jsonReq(c.route, c.body)
		if c.id != "" {
			r = withID(r, c.id)
		}
		want(t, c.name+" without authorizer", do(t, c.h, r), 401, "")
	}
}
