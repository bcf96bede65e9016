package accounts_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/crypto/bcrypt"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// Issue 13's import findings, through the real local S3 and DynamoDB Local.

// nextEvent takes the one pending S3 event.
func (e *importEnv) nextEvent(tb testing.TB) events.S3EventRecord {
	tb.Helper()
	select {
	case r := <-e.events:
		return r
	default:
		tb.Fatal("no S3 event pending")
		return events.S3EventRecord{}
	}
}

// drop writes an object straight into the bucket, as someone with write
// access to it (not through an upload URL) would.
func (e *importEnv) drop(tb testing.TB, key, body string, meta map[string]string) events.S3EventRecord {
	tb.Helper()
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(importBucket), Key: aws.String(key), Body: strings.NewReader(body), Metadata: meta}); err != nil {
		tb.Fatalf("drop %s: %v", key, err)
	}
	return e.nextEvent(tb)
}

// gone reports whether the object version rec announced is no longer in the
// bucket, noncurrent versions included.
func (e *importEnv) gone(tb testing.TB, rec events.S3EventRecord) bool {
	tb.Helper()
	_, err := e.blobs.Head(context.Background(), importBucket, rec.S3.Object.URLDecodedKey, rec.S3.Object.VersionID)
	if err != nil && accounts.ErrorCode(err) != accounts.CodeNotFound {
		tb.Fatal(err)
	}
	return err != nil
}

func (e *importEnv) userExists(tb testing.TB, username string) bool {
	tb.Helper()
	_, err := e.store.GetUserByUsername(context.Background(), "kpu", accounts.UsernameKey(username))
	if err != nil && accounts.ErrorCode(err) != accounts.CodeNotFound {
		tb.Fatal(err)
	}
	return err == nil
}

func rowsFile(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("username,password\n")
	for i := 1; i <= n; i++ {
		b.WriteString(prefix + string(rune('a'+i-1)) + ",a long library passphrase " + prefix + "\n")
	}
	return b.String()
}

// The file can change after it was checked: a new version at the job's
// key (what reusing the upload URL did) is deleted, and the job imports the
// rows it scanned, read by version.
func TestAReplacedFileIsNotWhatTheJobImports(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	j := e.upload(t, accounts.StartImportInput{}, rowsFile("scan", 4))
	e.ingest(t)
	if got := e.job(t, j.ID); got.Status != accounts.JobRunning || got.VersionID == "" {
		t.Fatalf("after ingest: status %s version %q", got.Status, got.VersionID)
	}
	// Replaced while the chunks wait, and the new version's event handled
	// at once: that version is deleted.
	first := e.drop(t, j.Key, rowsFile("evil", 5), nil)
	if err := e.svc.IngestObject(context.Background(), createdObject(first)); err != nil {
		t.Fatal(err)
	}
	if !e.gone(t, first) {
		t.Error("a version replacing the file of a running job is still in the bucket")
	}
	if got := e.job(t, j.ID); got.Status != accounts.JobRunning {
		t.Fatalf("the replacement changed the job: %s %q", got.Status, got.Error)
	}
	// Replaced again, and the workers run before the event is handled.
	rec := e.drop(t, j.Key, rowsFile("evil", 6), nil)
	e.work(t)
	if err := e.svc.IngestObject(context.Background(), createdObject(rec)); err != nil {
		t.Fatal(err)
	}
	if !e.gone(t, rec) {
		t.Error("the replacing version is still in the bucket")
	}
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCompleted || counts(got) != [5]int{4, 4, 0, 0, 0} {
		t.Fatalf("job: %s %v %q", got.Status, counts(got), got.Error)
	}
	for _, u := range []string{"scana", "scand"} {
		if !e.userExists(t, u) {
			t.Errorf("%s was scanned but not imported", u)
		}
	}
	for _, u := range []string{"evila", "evilf"} {
		if e.userExists(t, u) {
			t.Errorf("%s was never scanned but imported", u)
		}
	}
}

// A changed object fails the rest of the job clearly: its version deleted
// (versioned bucket) or the object replaced (ETag precondition, a bucket
// without versions).
func TestAChangedFileFailsTheRestOfTheJob(t *testing.T) {
	t.Parallel()
	for _, versioned := range []bool{true, false} {
		e := newImportEnvVersioned(t, nil, versioned)
		ctx := context.Background()
		j := e.upload(t, accounts.StartImportInput{}, rowsFile("part", 7)) // 3 chunks of 3 rows
		e.ingest(t)
		tasks := e.q.take()
		if len(tasks) != 3 {
			t.Fatalf("%d chunks", len(tasks))
		}
		if err := e.svc.ImportChunk(ctx, tasks[0]); err != nil {
			t.Fatal(err)
		}
		got := e.job(t, j.ID)
		if versioned {
			if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(importBucket), Key: aws.String(j.Key), VersionId: aws.String(got.VersionID)}); err != nil {
				t.Fatal(err)
			}
		} else {
			e.drop(t, j.Key, rowsFile("part", 9), nil)
		}
		for _, task := range tasks[1:] {
			if err := e.svc.ImportChunk(ctx, task); err != nil {
				t.Fatalf("versioned %v: chunk %d: %v", versioned, task.Index, err)
			}
		}
		got = e.job(t, j.ID)
		if got.Status != accounts.JobFailed || got.Created != 3 || !strings.Contains(got.Error, "replaced or deleted after it was checked") || !strings.Contains(got.Error, "row 5") {
			t.Errorf("versioned %v: job %s created %d error %q", versioned, got.Status, got.Created, got.Error)
		}
		if e.userExists(t, "partd") || !e.userExists(t, "partc") {
			t.Errorf("versioned %v: rows after the change imported, or rows before lost", versioned)
		}
	}
}

// An upload URL can create only one accepted object: it is signed with
// If-None-Match: *, so a replay is refused by S3 while the file is there.
func TestAnUploadURLMakesOneObject(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	started, err := e.svc.StartImport(context.Background(), e.admin, accounts.StartImportInput{})
	if err != nil {
		t.Fatal(err)
	}
	if started.UploadHeaders["If-None-Match"] != "*" || started.UploadHeaders["Content-Type"] != "text/csv" {
		t.Fatalf("upload headers %v", started.UploadHeaders)
	}
	put := func(body string) int {
		req, _ := http.NewRequest(http.MethodPut, started.UploadURL, strings.NewReader(body))
		for k, v := range started.UploadHeaders {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := put(rowsFile("one", 2)); s != http.StatusOK {
		t.Fatalf("first PUT: %d", s)
	}
	if s := put(rowsFile("two", 2)); s != http.StatusPreconditionFailed {
		t.Errorf("replayed PUT: %d, want 412", s)
	}
	// The key names the job, with a secret part: the job id alone does not
	// name it.
	if !strings.HasPrefix(started.Job.Key, "imports/kpu/"+started.Job.ID+"-") || started.Job.Key == accounts.ImportKey("kpu", started.Job.ID, "") {
		t.Errorf("key %s", started.Job.Key)
	}
}

// Plaintext left behind: whatever the pipeline ignores or refuses is
// deleted, every version of it.
func TestIgnoredAndRefusedObjectsAreDeleted(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	ingest := func(rec events.S3EventRecord) {
		t.Helper()
		if err := e.svc.IngestObject(ctx, createdObject(rec)); err != nil {
			t.Fatal(err)
		}
	}
	file := rowsFile("drop", 2)
	for _, key := range []string{"imports/Not A Tenant!/x.csv", "imports/nosuchtenant/x.csv", "imports/x.csv", "imports//x.csv"} {
		rec := e.drop(t, key, file, nil)
		ingest(rec)
		if !e.gone(t, rec) {
			t.Errorf("%s: left in the bucket", key)
		}
	}
	// A drop, imported; the same file again at the same key after the job
	// ended.
	first := e.drop(t, "imports/kpu/spring.csv", file, nil)
	ingest(first)
	e.work(t)
	if !e.gone(t, first) {
		t.Error("the imported drop is still in the bucket")
	}
	again := e.drop(t, "imports/kpu/spring.csv", file, nil)
	ingest(again)
	if !e.gone(t, again) {
		t.Error("an identical re-upload is left in the bucket")
	}
	// A replayed upload URL after its job ended (the key is free again).
	started, err := e.svc.StartImport(ctx, e.admin, accounts.StartImportInput{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodPut, started.UploadURL, strings.NewReader(file))
		for k, v := range started.UploadHeaders {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
		rec := e.nextEvent(t)
		ingest(rec)
		e.work(t)
		if !e.gone(t, rec) {
			t.Errorf("PUT %d through the URL left in the bucket", i)
		}
	}
	if got := e.job(t, started.Job.ID); got.Status != accounts.JobCompleted || got.Rows != 2 {
		t.Errorf("the URL's job: %s rows %d", got.Status, got.Rows)
	}
}

// A direct drop at the key of a pending API import runs as itself: not with
// the job's options, not credited to its starter.
func TestADropAtAPendingJobsKeyRunsAsItself(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	started, err := e.svc.StartImport(context.Background(), e.admin, accounts.StartImportInput{Mode: accounts.ModeUpsert, AllowStaffRoles: true})
	if err != nil {
		t.Fatal(err)
	}
	file := "username,password,roles\nintruder,a long library passphrase,admin\n"
	for _, key := range []string{
		"imports/kpu/" + started.Job.ID + ".csv", // what the job id alone names
		accounts.ImportKey("kpu", started.Job.ID, strings.Repeat("a", 26)),
	} {
		rec := e.drop(t, key, file, nil)
		if err := e.svc.IngestObject(context.Background(), createdObject(rec)); err != nil {
			t.Fatal(err)
		}
	}
	e.work(t)
	if got := e.job(t, started.Job.ID); got.Status != accounts.JobPending || got.VersionID != "" {
		t.Errorf("the API job was taken by a drop: %s %q", got.Status, got.VersionID)
	}
	if e.userExists(t, "intruder") {
		t.Error("a drop created an admin with the API job's allowStaffRoles")
	}
	list, _, err := e.svc.ListImports(context.Background(), e.admin, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	drops := 0
	for _, j := range list {
		if j.ID == started.Job.ID {
			continue
		}
		drops++
		if j.StartedBy != "" || j.Mode != accounts.ModeCreate || j.AllowStaffRoles || j.Failed != 1 {
			t.Errorf("drop job %s: starter %q mode %s allowStaffRoles %v failed %d", j.ID, j.StartedBy, j.Mode, j.AllowStaffRoles, j.Failed)
		}
	}
	if drops != 2 {
		t.Errorf("%d drop jobs, want 2", drops)
	}
}

// Imports go through the staff rules: audit events per user, no change to
// the starter's own account, staff roles only when allowed, and migrated
// hashes below the floor refused.
func TestImportsFollowTheStaffRules(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	f := e.fixture
	f.user(t, e.admin, accounts.CreateUserInput{Username: "existing", Email: "existing@kpu.example"})
	me, err := e.store.GetUser(ctx, "kpu", e.admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	q := func(h string) string { return `"` + h + `"` } // PHC strings hold commas
	weakArgon, _ := passhash.New(passhash.Params{MemoryKiB: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}).Hash("a")
	weakT, _ := passhash.New(passhash.Params{MemoryKiB: 19456, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}).Hash("a")
	okArgon, _ := passhash.New(passhash.DefaultParams()).Hash("migrated secret")
	okTradeoff, _ := passhash.New(passhash.Params{MemoryKiB: 12288, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}).Hash("migrated secret")
	bc4, _ := bcrypt.GenerateFromPassword([]byte("a"), 4)
	bc9, _ := bcrypt.GenerateFromPassword([]byte("a"), 9)
	bc10, _ := bcrypt.GenerateFromPassword([]byte("migrated secret"), 10)
	file := "username,password,passwordHash,roles,status\n" +
		me.Username + ",,,,inactive\n" + // 2: the starter's own account
		"newadmin,a long library passphrase,,admin,\n" + // 3: a staff role, not allowed
		"existing,,,admin,\n" + // 4: an existing user made admin
		"bcrypt4,," + string(bc4) + ",,\n" + // 5
		"bcrypt9,," + string(bc9) + ",,\n" + // 6
		"argonweak,," + q(weakArgon) + ",,\n" + // 7
		"argonweakt,," + q(weakT) + ",,\n" + // 8
		"bcrypt10,," + string(bc10) + ",,\n" + // 9
		"argonok,," + q(okArgon) + ",,\n" + // 10
		"argontradeoff,," + q(okTradeoff) + ",,\n" + // 11
		"existing,a long library passphrase,,,inactive\n" // 12: same username as line 4 -> skipped
	j := e.upload(t, accounts.StartImportInput{Mode: accounts.ModeUpsert}, file)
	e.ingest(t)
	e.work(t)
	rows := e.report(t, j.ID)
	// Report rows are file lines: the heading is line 1.
	want := map[string][2]string{
		"2":  {"failed", "staff member who started the import"},
		"3":  {"failed", "allowStaffRoles"},
		"4":  {"failed", "allowStaffRoles"},
		"5":  {"failed", "bcrypt cost 4 is below the floor of 10"},
		"6":  {"failed", "bcrypt cost 9 is below the floor of 10"},
		"7":  {"failed", "argon2id with m=4096 KiB and t=1 is below OWASP's minimum"},
		"8":  {"failed", "argon2id with m=19456 KiB and t=1"},
		"9":  {"created", ""},
		"10": {"created", ""},
		"11": {"created", ""},
	}
	for _, r := range rows[1:] {
		w, ok := want[r[0]]
		if !ok {
			continue
		}
		if r[2] != w[0] || !strings.Contains(r[3], w[1]) {
			t.Errorf("row %s: %s %q, want %s %q", r[0], r[2], r[3], w[0], w[1])
		}
	}
	if again, _ := e.store.GetUser(ctx, "kpu", me.ID); again.Status != accounts.StatusActive {
		t.Error("the import deactivated the admin who started it")
	}
	for _, u := range []string{"newadmin", "bcrypt4", "argonweak"} {
		if e.userExists(t, u) {
			t.Errorf("%s was created", u)
		}
	}
	if _, err := f.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "bcrypt10", Password: "migrated secret"}); err != nil {
		t.Errorf("migrated bcrypt hash: %v", err)
	}

	// With the option, the same row may grant the role; every write has its
	// audit event, by the starter, naming the import.
	j2 := e.upload(t, accounts.StartImportInput{Mode: accounts.ModeUpsert, AllowStaffRoles: true},
		"username,password,roles,status\nnewadmin,a long library passphrase,admin,\nexisting,,,inactive\n")
	e.ingest(t)
	e.work(t)
	if got := e.job(t, j2.ID); got.Created != 1 || got.Updated != 1 || got.Failed != 0 {
		t.Fatalf("second job: %v %s", counts(got), got.Status)
	}
	page, err := e.svc.ListAudit(ctx, e.admin, accounts.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ev := range page.Events {
		if !strings.HasPrefix(ev.Detail, "import ") {
			continue
		}
		if ev.ActorID != me.ID {
			t.Errorf("audit %s by %s, want the starter", ev.Action, ev.ActorID)
		}
		seen = append(seen, ev.Action+" "+ev.TargetUsername)
	}
	slices.Sort(seen)
	wantSeen := []string{"user.create argonok", "user.create argontradeoff", "user.create bcrypt10", "user.create newadmin", "user.deactivate existing"}
	if !slices.Equal(seen, wantSeen) {
		t.Errorf("import audit events %v, want %v", seen, wantSeen)
	}
}
