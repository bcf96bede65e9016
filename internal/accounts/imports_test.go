package accounts_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/crypto/bcrypt"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
	"github.com/libaccounts/libaccounts/internal/s3blobs"
)

const importBucket = "imports-test"

// queue is the chunk queue as a slice: the test delivers its tasks, in
// order, twice, or not at all, which is what at-least-once allows.
type queue struct {
	mu    sync.Mutex
	tasks []accounts.ChunkTask
}

func (q *queue) SendChunks(_ context.Context, t []accounts.ChunkTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t...)
	return nil
}

func (q *queue) take() []accounts.ChunkTask {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks
	q.tasks = nil
	return t
}

type importEnv struct {
	*fixture
	svc    *accounts.Service
	box    *outbox
	q      *queue
	events chan events.S3EventRecord
	blobs  *s3blobs.Blobs
	s3     *s3.Client // the bucket as someone with write access to it sees it
	admin  accounts.Caller
}

// newImportEnv runs the real local S3 behind the real S3 adapter; the test
// plays the S3 trigger and the queue's consumer.
func newImportEnv(tb testing.TB, store accounts.Store) *importEnv {
	tb.Helper()
	return newImportEnvVersioned(tb, store, true)
}

// newImportEnvVersioned is newImportEnv with a bucket that keeps versions,
// as the template's does, or one that does not.
func newImportEnvVersioned(tb testing.TB, store accounts.Store, versioned bool) *importEnv {
	tb.Helper()
	f := newFixture(tb)
	e := &importEnv{fixture: f, box: &outbox{}, q: &queue{}, events: make(chan events.S3EventRecord, 100)}
	srv, err := s3emu.New(s3emu.Options{Dir: tb.TempDir(), Buckets: []string{importBucket}, Configs: map[string]s3emu.BucketConfig{importBucket: {Versioned: versioned}},
		OnObjectCreated: func(_ context.Context, r events.S3EventRecord) error {
			e.events <- r
			return nil
		}})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	e.blobs, e.s3 = s3blobs.New(client), client
	if store == nil {
		store = f.store
	}
	e.svc = accounts.NewService(accounts.Deps{Store: store, Hasher: hasherFast(), Clock: f.clock.Now, Mailer: e.box, Notices: f.notices, Blobs: e.blobs, Queue: e.q, Logger: f.logger()},
		accounts.Config{ImportBucket: importBucket, RowsPerChunk: 3, ResetPageURL: "https://x.example/reset"})
	e.admin = f.tenant(tb, "kpu")
	me, _ := f.store.GetUser(context.Background(), "kpu", e.admin.UserID)
	if _, err := f.svc.UpdateUser(context.Background(), e.admin, me.ID, me.Version, accounts.UserPatch{Email: ptr("staff@kpu.example")}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// upload starts a job through the API path and PUTs the file to its
// pre-signed URL, as the staff CLI does.
func (e *importEnv) upload(tb testing.TB, in accounts.StartImportInput, body string) accounts.Job {
	tb.Helper()
	started, err := e.svc.StartImport(context.Background(), e.admin, in)
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, started.UploadURL, strings.NewReader(body))
	for k, v := range started.UploadHeaders {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	return started.Job
}

// createdObject is what the S3 trigger's adapter makes of an event record.
func createdObject(r events.S3EventRecord) accounts.CreatedObject {
	return accounts.CreatedObject{Bucket: r.S3.Bucket.Name, Key: r.S3.Object.URLDecodedKey, VersionID: r.S3.Object.VersionID, ETag: r.S3.Object.ETag, Size: r.S3.Object.Size}
}

// ingest delivers the pending S3 events to the ingest step.
func (e *importEnv) ingest(tb testing.TB) {
	tb.Helper()
	for {
		select {
		case r := <-e.events:
			if err := e.svc.IngestObject(context.Background(), createdObject(r)); err != nil {
				tb.Fatalf("ingest: %v", err)
			}
		default:
			return
		}
	}
}

// work delivers every queued chunk once.
func (e *importEnv) work(tb testing.TB) {
	tb.Helper()
	for _, t := range e.q.take() {
		if err := e.svc.ImportChunk(context.Background(), t); err != nil {
			tb.Fatalf("chunk %d: %v", t.Index, err)
		}
	}
}

func (e *importEnv) job(tb testing.TB, id string) accounts.Job {
	tb.Helper()
	j, err := e.svc.GetImport(context.Background(), e.admin, id)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func (e *importEnv) report(tb testing.TB, id string) [][]string {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := e.svc.ImportReport(context.Background(), e.admin, id, &buf); err != nil {
		tb.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
	rows, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("report is not CSV: %v\n%s", err, buf.String())
	}
	return rows
}

func counts(j accounts.Job) [5]int { return [5]int{j.Rows, j.Created, j.Updated, j.Skipped, j.Failed} }

func TestLibraryPassUploadBecomesUsers(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	f := e.fixture
	f.user(t, e.admin, accounts.CreateUserInput{Username: "existing"})
	// A LibraryPass-style upload: two columns, no headings. Row 3 is weak, row 5 has a stray
	// field, row 6 repeats row 1, row 7 exists already.
	file := "alice.w,first library passphrase\r\n" +
		"bob.k,second library passphrase\r\n" +
		"carol,password\r\n" +
		"dave.m,fourth library passphrase\r\n" +
		"erin,fifth library passphrase,extra\r\n" +
		"ALICE.W,another library passphrase\r\n" +
		"existing,seventh library passphrase\r\n"
	j := e.upload(t, accounts.StartImportInput{}, file)
	e.ingest(t)
	if got := e.job(t, j.ID); got.Status != accounts.JobRunning || got.Format != "librarypass" || got.Rows != 7 || got.ChunksTotal != 3 {
		t.Fatalf("after ingest: %+v", got)
	}
	e.work(t)
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCompletedWithErrors || counts(got) != [5]int{7, 3, 0, 2, 2} || got.Percent() != 100 {
		t.Fatalf("job: status %s counts %v", got.Status, counts(got))
	}
	res, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "Alice.W", Password: "first library passphrase"})
	if err != nil || !res.MustChangePassword {
		t.Fatalf("imported user login: %+v %v", res, err)
	}
	want := map[string]string{"1": "created", "3": "failed", "5": "failed", "6": "skipped", "7": "skipped"}
	rows := e.report(t, j.ID)
	if len(rows) != 8 || strings.Join(rows[0], ",") != "row,username,outcome,reason" {
		t.Fatalf("report: %v", rows)
	}
	for _, r := range rows[1:] {
		if w, ok := want[r[0]]; ok && r[2] != w {
			t.Errorf("row %s: %s (%s), want %s", r[0], r[2], r[3], w)
		}
		if strings.Contains(strings.Join(r, ","), "passphrase") || strings.Contains(strings.Join(r, ","), "password,") {
			t.Errorf("report leaks a password: %v", r)
		}
	}
	e.deliver(t, e.svc)
	mail := e.box.last(t)
	if mail.To != "staff@kpu.example" || mail.Tag != string(accounts.NoticeJobFinished) || !strings.Contains(mail.Text, "Created:          3") {
		t.Errorf("notice: %+v", mail)
	}
	if _, err := e.blobs.Head(ctx, importBucket, j.Key, ""); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("uploaded file still in the bucket: %v", err)
	}
}

// flaky fails CompleteChunk once per chunk, after the rows were written: the
// worker died between its writes and recording the chunk.
type flaky struct {
	accounts.Store
	mu   sync.Mutex
	seen map[int]bool
}

func (f *flaky) CompleteChunk(ctx context.Context, tenantID, jobID string, r accounts.ChunkResult) (accounts.Job, bool, error) {
	f.mu.Lock()
	first := !f.seen[r.Index]
	f.seen[r.Index] = true
	f.mu.Unlock()
	if first {
		return accounts.Job{}, false, errors.New("worker died")
	}
	return f.Store.CompleteChunk(ctx, tenantID, jobID, r)
}

func TestRedeliveredEventsAndChunksCountOnce(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	e.svc = accounts.NewService(accounts.Deps{Store: &flaky{Store: e.store, seen: map[int]bool{}}, Hasher: hasherFast(), Clock: e.clock.Now, Mailer: e.box, Notices: e.notices, Blobs: e.blobs, Queue: e.q, Logger: e.logger()},
		accounts.Config{ImportBucket: importBucket, RowsPerChunk: 2})
	file := "username,password,primaryId\n" +
		"u1,first library passphrase,001\nu2,second library passphrase,002\nu3,third library passphrase,003\n" +
		"u4,fourth library passphrase,004\nu5,fifth library passphrase,005\n"
	j := e.upload(t, accounts.StartImportInput{}, file)
	rec := <-e.events
	for range 2 { // the S3 event arrives twice
		if err := e.svc.IngestObject(context.Background(), createdObject(rec)); err != nil {
			t.Fatal(err)
		}
	}
	tasks := e.q.take()
	if len(tasks) != 3 {
		t.Fatalf("%d chunk messages, want 3 (a duplicate event queues nothing)", len(tasks))
	}
	for _, task := range tasks {
		if err := e.svc.ImportChunk(context.Background(), task); err == nil {
			t.Fatal("the first delivery should fail")
		}
	}
	// Every chunk comes again, twice: once to finish, once as a duplicate.
	for range 2 {
		for _, task := range tasks {
			if err := e.svc.ImportChunk(context.Background(), task); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCompleted || counts(got) != [5]int{5, 5, 0, 0, 0} || got.ChunksDone != 3 {
		t.Fatalf("job: %s %v chunks %d", got.Status, counts(got), got.ChunksDone)
	}
	e.deliver(t, e.svc)
	if n := len(e.box.sent); n != 1 {
		t.Errorf("%d notices, want 1", n)
	}
}

func TestAlmaSetFromAFileOfIDs(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	f := e.fixture
	for _, u := range []accounts.CreateUserInput{{Username: "a", PrimaryID: "0123456"}, {Username: "b", PrimaryID: "0123457"}, {Username: "c", PrimaryID: "0234568"}} {
		f.user(t, e.admin, u)
	}
	// An Alma-style set of primary IDs: header "User name", leading zeros, Excel's protecting
	// apostrophe, an unknown ID, a repeat.
	file := "User name\r\n0123456\r\n'0123457\r\n0234568\r\n0999999\r\n0123456\r\n"
	j := e.upload(t, accounts.StartImportInput{Kind: accounts.JobSet, SetName: "User Password Reset (run 1)"}, file)
	e.ingest(t)
	e.work(t)
	got := e.job(t, j.ID)
	// For sets: created = added, skipped = duplicates, failed = not found.
	if got.Status != accounts.JobCompletedWithErrors || counts(got) != [5]int{5, 3, 0, 1, 1} {
		t.Fatalf("set job: %s %v", got.Status, counts(got))
	}
	set, members, _, err := e.svc.GetSet(context.Background(), e.admin, got.SetID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if set.Name != "User Password Reset (run 1)" || set.Status != "ready" || set.Members != 3 || len(members) != 3 {
		t.Fatalf("set %+v with %d members", set, len(members))
	}
	// Paging by one walks every shard and ends.
	seen := map[string]bool{}
	cursor := ""
	for range 10 {
		_, page, next, err := e.svc.GetSet(context.Background(), e.admin, got.SetID, 1, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			seen[m.PrimaryID] = true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(seen) != 3 || !seen["0123457"] {
		t.Errorf("paged members: %v", seen)
	}
	rows := e.report(t, j.ID)
	if rows[4][2] != "not_found" || rows[5][2] != "duplicate" || rows[2][1] != "0123457" {
		t.Errorf("report: %v", rows)
	}
	// Deleting a user takes it out of the set.
	u, _ := e.store.GetUserByPrimaryID(context.Background(), "kpu", "0123456")
	if err := f.svc.DeleteUser(context.Background(), e.admin, u.ID, u.Username); err != nil {
		t.Fatal(err)
	}
	set, members, _, _ = e.svc.GetSet(context.Background(), e.admin, got.SetID, 10, "")
	if set.Members != 2 || len(members) != 2 {
		t.Errorf("after deleting a member: count %d, %d members", set.Members, len(members))
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	e.fixture.user(t, e.admin, accounts.CreateUserInput{Username: "existing"})
	j := e.upload(t, accounts.StartImportInput{Mode: accounts.ModeUpsert, DryRun: true}, "username,email\nexisting,e@kpu.example\nnewbie,n@kpu.example\n")
	e.ingest(t)
	e.work(t)
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCompletedWithErrors || counts(got) != [5]int{2, 0, 1, 0, 1} {
		t.Fatalf("dry run: %s %v", got.Status, counts(got))
	}
	rows := e.report(t, j.ID)
	if rows[1][2] != "would_update" || rows[2][2] != "failed" || !strings.Contains(rows[2][3], "password") {
		t.Errorf("dry-run report: %v", rows)
	}
	if u, _ := e.store.GetUserByUsername(context.Background(), "kpu", "existing"); u.Email != "" {
		t.Error("dry run changed a user")
	}
}

func TestUpsertAndMigratedHashes(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	old := e.fixture.user(t, e.admin, accounts.CreateUserInput{Username: "olduser", Email: "keep@kpu.example", Queues: []string{"q1"}})
	bc, _ := bcrypt.GenerateFromPassword([]byte("legacy system secret"), 10)
	file := "username,password,passwordHash,email,queues,status\n" +
		"olduser,,," + ",q2;q3,\n" + // blanks leave fields alone; queues change
		"migrated,," + string(bc) + ",m@kpu.example,,\n" +
		"sleeper,sleepy library passphrase,,,,inactive\n" +
		"badhash,,$2b$04$tooshort,,,\n"
	j := e.upload(t, accounts.StartImportInput{Mode: accounts.ModeUpsert}, file)
	e.ingest(t)
	e.work(t)
	got := e.job(t, j.ID)
	if counts(got) != [5]int{4, 2, 1, 0, 1} {
		t.Fatalf("upsert: %v\n%v", counts(got), e.report(t, j.ID))
	}
	u, _ := e.store.GetUser(ctx, "kpu", old.ID)
	if u.Email != "keep@kpu.example" || strings.Join(u.Queues, ";") != "q2;q3" {
		t.Errorf("upserted user: email %q queues %v", u.Email, u.Queues)
	}
	// A migrated bcrypt hash signs in as it is, is not temporary, and is
	// upgraded to argon2id at that first sign-in.
	res, err := e.fixture.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "migrated", Password: "legacy system secret"})
	if err != nil || res.MustChangePassword {
		t.Fatalf("migrated login: %+v %v", res, err)
	}
	m, _ := e.store.GetUserByUsername(ctx, "kpu", "migrated")
	if !strings.HasPrefix(m.PasswordHash, "$argon2id$") {
		t.Errorf("hash not upgraded: %.10s", m.PasswordHash)
	}
	_, err = e.fixture.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "sleeper", Password: "sleepy library passphrase"})
	wantCode(t, err, accounts.CodeUnauthorized)
}

func TestRefusedFilesFailWithTheReason(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	cases := []struct {
		name, body, want string
		kind             accounts.JobKind
	}{
		{"unknown columns", "username,pasword,colour\nx,y,z\n", "pasword", accounts.JobUsers},
		{"empty", "", "empty", accounts.JobUsers},
		{"set file for users", "User name\n001\n", "set", accounts.JobUsers},
	}
	for _, c := range cases {
		in := accounts.StartImportInput{Kind: c.kind}
		j := e.upload(t, in, c.body)
		e.ingest(t)
		got := e.job(t, j.ID)
		if got.Status != accounts.JobFailed || !strings.Contains(strings.ToLower(got.Error), c.want) {
			t.Errorf("%s: %s %q", c.name, got.Status, got.Error)
		}
		if len(e.q.take()) != 0 {
			t.Errorf("%s: chunks queued for a refused file", c.name)
		}
		if rows := e.report(t, j.ID); len(rows) != 2 || rows[1][2] != "file_refused" {
			t.Errorf("%s: report %v", c.name, rows)
		}
	}
	e.deliver(t, e.svc)
	if !strings.Contains(e.box.last(t).Subject, "failed") {
		t.Errorf("no failure notice: %+v", e.box.last(t))
	}
}

func TestCancelStopsTheRest(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	j := e.upload(t, accounts.StartImportInput{}, "a1,first library passphrase\na2,second library passphrase\na3,third library passphrase\na4,fourth library passphrase\n")
	e.ingest(t)
	tasks := e.q.take()
	if err := e.svc.ImportChunk(context.Background(), tasks[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CancelImport(context.Background(), e.admin, j.ID); err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks[1:] {
		if err := e.svc.ImportChunk(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCancelled || got.Created != 3 || got.FinishedAt.IsZero() {
		t.Fatalf("cancelled job: %s created %d finished %v", got.Status, got.Created, got.FinishedAt)
	}
	if _, err := e.svc.CancelImport(context.Background(), e.admin, j.ID); accounts.ErrorCode(err) != accounts.CodeConflict {
		t.Errorf("cancel twice: %v", err)
	}
	if _, err := e.store.GetUserByUsername(context.Background(), "kpu", "a4"); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("a row after the cancel was imported: %v", err)
	}
}

// TestASetGoesThroughItsStatuses: building while its import runs (and not
// deletable), ready when it ends, dry_run when the import only looked.
func TestASetGoesThroughItsStatuses(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	for _, u := range []accounts.CreateUserInput{{Username: "a", PrimaryID: "0001"}, {Username: "b", PrimaryID: "0002"}} {
		e.fixture.user(t, e.admin, u)
	}
	status := func(setID string) (accounts.SetStatus, int, int) {
		t.Helper()
		set, members, _, err := e.svc.GetSet(ctx, e.admin, setID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		return set.Status, set.Members, len(members)
	}
	j := e.upload(t, accounts.StartImportInput{Kind: accounts.JobSet, SetName: "real"}, "Primary ID\n0001\n0002\n")
	e.ingest(t)
	if st, _, _ := status(j.SetID); st != accounts.SetBuilding {
		t.Errorf("while importing: %s, want %s", st, accounts.SetBuilding)
	}
	wantCode(t, e.svc.DeleteSet(ctx, e.admin, j.SetID), accounts.CodeConflict)
	e.work(t)
	if st, n, listed := status(j.SetID); st != accounts.SetReady || n != 2 || listed != 2 {
		t.Errorf("after the import: %s with %d members (%d listed), want %s with 2", st, n, listed, accounts.SetReady)
	}

	dry := e.upload(t, accounts.StartImportInput{Kind: accounts.JobSet, SetName: "dry", DryRun: true}, "Primary ID\n0001\n0002\n")
	e.ingest(t)
	e.work(t)
	if st, n, listed := status(dry.SetID); st != accounts.SetDryRun || n != 2 || listed != 0 {
		t.Errorf("after a dry run: %s with %d members (%d listed), want %s with 2 and none listed", st, n, listed, accounts.SetDryRun)
	}
	if err := e.svc.DeleteSet(ctx, e.admin, dry.SetID); err != nil {
		t.Errorf("delete a dry-run set: %v", err)
	}
}
