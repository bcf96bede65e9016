package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

// The faults a bulk reset must survive, each through the stack's own
// functions: the same batch delivered twice, a cancel while tasks are
// still to come, tasks that fail every time, and (in its own test) the
// whole stack killed mid-job.

// faultRig is a running stack with what the fault tests reach past the
// API with: the table, the job queue, and an in-process service that
// starts a job exactly as the API does but hands its tasks to the test, so
// the test decides when each is delivered and how often.
type faultRig struct {
	st     *stack.Stack
	admin  client
	store  *dynamostore.Store
	db     *dynamodb.Client
	jobs   *sqsqueue.JobQueue
	caller accounts.Caller
	svc    *accounts.Service
	held   *heldTasks
}

// heldTasks is a job queue that keeps what it is given.
type heldTasks struct {
	mu    sync.Mutex
	tasks []accounts.JobTask
}

func (h *heldTasks) SendJobTasks(_ context.Context, ts []accounts.JobTask) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks = append(h.tasks, ts...)
	return nil
}

func (h *heldTasks) take() []accounts.JobTask {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tasks
	h.tasks = nil
	return t
}

// noNotices stands in for the notice queue of the in-process service: a
// job's start queues no notice, its batches (in the stack) do.
type noNotices struct{ tb testing.TB }

func (n noNotices) Enqueue(context.Context, accounts.NoticeRef, time.Duration) error {
	n.tb.Errorf("the in-process service queued a notice; only the stack's workers should")
	return nil
}

// seedPassword is the password every seeded user starts with; its one
// cheap hash is shared by all of them.
const seedPassword = "the passphrase they started with"

var seedHash = sync.OnceValue(func() string {
	h, err := passhash.New(passhash.Params{MemoryKiB: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}).Hash(seedPassword)
	if err != nil {
		panic(err)
	}
	return h
})

func startFaultRig(t *testing.T) *faultRig {
	t.Helper()
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(t) // fails in CI, skips elsewhere, with the reason
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: t.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		FunctionEnv: childEnv, Parameters: map[string]string{"NoticeSendRate": "1000"},
		// A failing task is parked after five receives a second apart.
		VisibilityCap: time.Second,
	})
	if err != nil {
		t.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		st.Close()
		if t.Failed() {
			out := logs.String()
			t.Logf("stack logs (last 20,000 bytes):\n%s", out[max(0, len(out)-20000):])
		}
	})
	ctx := context.Background()
	db, err := dynamodblocal.NewClient(ctx, st.DynamoEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	q := sqs.New(sqs.Options{BaseEndpoint: aws.String(st.APIURL + "/_local/sqs"), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	r := &faultRig{st: st, db: db, store: dynamostore.New(db, stack.TableName), held: &heldTasks{},
		jobs: sqsqueue.NewJobs(q, st.APIURL+"/_local/sqs/123456789012/JobQueue")}
	r.admin = client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	r.svc = accounts.NewService(accounts.Deps{
		Store: r.store, Hasher: passhash.New(passhash.Params{MemoryKiB: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Jobs: r.held, Notices: noNotices{t}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}, accounts.Config{ResetPageURL: st.APIURL + "/portal/reset"})
	auth, err := r.svc.Authorize(ctx, r.admin.token)
	if err != nil {
		t.Fatal(err)
	}
	r.caller = auth.Caller
	// A letter whose password a test can read back.
	status, letter := r.admin.do("GET", "/v1/admin/letters/password-temporary", nil)
	want(t, "get the temporary-password letter", status, 200, letter)
	status, body := r.admin.do("PUT", "/v1/admin/letters/password-temporary", map[string]any{"version": letter["version"],
		"subject": "Your new {{libraryName}} password", "body": "Hello {{username}},\n\nYour password: {{temporaryPassword}}\n"})
	want(t, "set the temporary-password letter", status, 200, body)
	return r
}

// seedUsers writes n users named prefix000… straight to the table, each
// with an address at kpu.example when withEmail, all with seedPassword.
func seedUsers(tb testing.TB, store *dynamostore.Store, prefix string, n int, withEmail bool) []accounts.User {
	tb.Helper()
	now := time.Now().UTC()
	users := make([]accounts.User, n)
	for i := range users {
		u := accounts.User{TenantID: "kpu", ID: benchUserID(), Username: fmt.Sprintf("%s%03d", prefix, i), Status: accounts.StatusActive,
			PasswordHash: seedHash(), Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
		if withEmail {
			u.Email = u.Username + "@kpu.example"
		}
		if err := store.CreateUser(context.Background(), u, nil); err != nil {
			tb.Fatal(err)
		}
		users[i] = u
	}
	return users
}

func idsOf(users []accounts.User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// startHeld starts a reset in process, as POST /v1/admin/password-resets
// would, and returns the job with the tasks it queued, not yet delivered.
func (r *faultRig) startHeld(tb testing.TB, in accounts.PasswordResetInput) (accounts.Job, []accounts.JobTask) {
	tb.Helper()
	j, err := r.svc.StartPasswordReset(context.Background(), r.caller, in)
	if err != nil {
		tb.Fatal(err)
	}
	return j, r.held.take()
}

// deliver sends tasks to the stack's job queue and waits until the jobs
// worker has taken every message of it.
func (r *faultRig) deliver(tb testing.TB, tasks ...accounts.JobTask) {
	tb.Helper()
	if err := r.jobs.SendJobTasks(context.Background(), tasks); err != nil {
		tb.Fatal(err)
	}
	awaitQueueEmpty(tb, r.st.QueueStats, "JobQueue", time.Minute)
}

// awaitQueueEmpty waits until queue has no message visible or in flight:
// everything sent to it has been handled, its retries included.
func awaitQueueEmpty(tb testing.TB, stats func(string) (int, int, error), queue string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		v, f, err := stats(queue)
		if err != nil {
			tb.Fatal(err)
		}
		if v+f == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d visible and %d in flight after %v", queue, v, f, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outboxEntry is one message of the local outbox's listing.
type outboxEntry struct{ ID, To, Subject string }

func outbox(tb testing.TB, c client) []outboxEntry {
	tb.Helper()
	status, list := c.raw("GET", "/_local/mail", nil)
	if status != 200 {
		tb.Fatalf("outbox: %d", status)
	}
	var entries []outboxEntry
	if err := json.Unmarshal([]byte(list), &entries); err != nil {
		tb.Fatalf("outbox listing: %v", err)
	}
	return entries
}

// mailCounts counts the outbox's messages by recipient, for addresses
// with suffix.
func mailCounts(tb testing.TB, c client, suffix string) map[string]int {
	tb.Helper()
	n := map[string]int{}
	for _, e := range outbox(tb, c) {
		if strings.HasSuffix(strings.Trim(e.To, "<> "), suffix) {
			n[strings.Trim(e.To, "<> ")]++
		}
	}
	return n
}

// awaitMailEach waits until every user has had mail and the job's notices
// have all ended (none pending), and returns the outbox's counts: a second
// message to anyone, from a notice sent again, was sent before its notice
// ended.
func awaitMailEach(tb testing.TB, c client, jobID string, users []accounts.User, within time.Duration) map[string]int {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		n := mailCounts(tb, c, "@kpu.example")
		missing := 0
		for _, u := range users {
			if n[u.Email] == 0 {
				missing++
			}
		}
		_, job := c.do("GET", "/v1/admin/jobs/"+jobID, nil)
		notices, _ := job["notices"].(map[string]any)
		sent, _ := notices["sent"].(float64)
		if missing == 0 && notices["pending"] == float64(0) && int(sent) >= len(users) {
			return n
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %d of %d users have had no mail; job notices %v", within, missing, len(users), notices)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var mailedPassword = regexp.MustCompile(`Your password: (\S+)`)

// passwordMailedTo reads the one temporary password in the outbox for addr.
func passwordMailedTo(tb testing.TB, c client, addr string) string {
	tb.Helper()
	for _, e := range outbox(tb, c) {
		if !strings.Contains(e.To, addr) {
			continue
		}
		_, eml := c.raw("GET", "/_local/mail/"+e.ID, nil)
		msg, err := mail.ReadMessage(strings.NewReader(eml))
		if err != nil {
			tb.Fatal(err)
		}
		text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			tb.Fatal(err)
		}
		if m := mailedPassword.FindStringSubmatch(string(text)); m != nil {
			return m[1]
		}
	}
	tb.Fatalf("no temporary password mailed to %s", addr)
	return ""
}

// stamped returns which of users the job has reset: the user item names
// the job, and their password is no longer the one they started with.
func stamped(tb testing.TB, store *dynamostore.Store, jobID string, users []accounts.User) (reset, untouched []string) {
	tb.Helper()
	for _, u := range users {
		got, err := store.GetUser(context.Background(), "kpu", u.ID)
		if err != nil {
			tb.Fatal(err)
		}
		if got.ResetJob == jobID {
			reset = append(reset, u.Username)
		} else {
			untouched = append(untouched, u.Username)
		}
	}
	return reset, untouched
}

func jobCount(j map[string]any, name string) int {
	c, _ := j["counts"].(map[string]any)
	n, _ := c[name].(float64)
	return int(n)
}

func TestResetFaultsThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	r := startFaultRig(t)
	ctx := context.Background()

	t.Run("redelivered batch", func(t *testing.T) {
		// Two batches; the first delivered twice at once (two workers may
		// hold it together), then once more after it was recorded, then
		// the second. Every user is reset once: one notice, one mail, one
		// password that signs in, and the counts count each once.
		users := seedUsers(t, r.store, "redo", 150, true)
		j, tasks := r.startHeld(t, accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: idsOf(users), Mode: accounts.ResetTemporary})
		if len(tasks) != 2 || tasks[0].Kind != accounts.TaskBatch {
			t.Fatalf("tasks %+v, want two batches", tasks)
		}
		r.deliver(t, tasks[0], tasks[0])
		r.deliver(t, tasks[0])
		r.deliver(t, tasks[1], tasks[1])
		job := waitAnyJob(t, r.admin, j.ID)
		if job["status"] != "completed" || jobCount(job, "matched") != 150 || jobCount(job, "changed") != 150 || jobCount(job, "failed") != 0 {
			t.Errorf("job after redeliveries: %v; want completed, 150 matched and changed, none failed", job)
		}
		mails := awaitMailEach(t, r.admin, j.ID, users, 2*time.Minute)
		for _, u := range users {
			if mails[u.Email] != 1 {
				t.Errorf("%s got %d messages, want 1", u.Username, mails[u.Email])
			}
		}
		_, job = r.admin.do("GET", "/v1/admin/jobs/"+j.ID, nil)
		if n, _ := job["notices"].(map[string]any); n["sent"] != float64(150) {
			t.Errorf("job notices %v, want 150 sent", job["notices"])
		}
		_, report := r.admin.raw("GET", "/v1/admin/jobs/"+j.ID+"/report", nil)
		for _, u := range users[:3] {
			if got := strings.Count(report, u.Username+","); got != 1 {
				t.Errorf("%s is in the report %d times, want once:\n%s", u.Username, got, report)
			}
		}
		// The password mailed is the one stored: no later reset replaced it.
		for _, u := range []accounts.User{users[0], users[99], users[100], users[149]} {
			pw := passwordMailedTo(t, r.admin, u.Email)
			if status, body := r.admin.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": u.Username, "password": pw}); status != 200 {
				t.Errorf("%s cannot sign in with the password mailed: %d %v", u.Username, status, body)
			}
		}
	})

	t.Run("cancel mid-job", func(t *testing.T) {
		// Four batches of a 400-user job: one is applied, then the job is
		// cancelled, then the other three arrive. The job ends cancelled
		// with its finish time at the cancel, and nothing delivered after
		// it changes a user, a count or the end.
		users := seedUsers(t, r.store, "halt", 400, true)
		j, tasks := r.startHeld(t, accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: idsOf(users), Mode: accounts.ResetLink})
		if len(tasks) != 4 {
			t.Fatalf("%d tasks, want 4 batches", len(tasks))
		}
		r.deliver(t, tasks[0])
		if _, job := r.admin.do("GET", "/v1/admin/jobs/"+j.ID, nil); job["status"] != "running" || jobCount(job, "changed") != 100 {
			t.Fatalf("after one batch of four: %v; want running with 100 changed", job)
		}
		status, body := r.admin.do("POST", "/v1/admin/jobs/"+j.ID+"/cancel", nil)
		want(t, "cancel", status, 200, body)
		_, cancelled := r.admin.do("GET", "/v1/admin/jobs/"+j.ID, nil)
		if cancelled["status"] != "cancelled" || cancelled["finishedAt"] == nil {
			t.Fatalf("job after cancel: %v; want cancelled with a finish time", cancelled)
		}
		r.deliver(t, tasks[1:]...)
		_, after := r.admin.do("GET", "/v1/admin/jobs/"+j.ID, nil)
		if after["status"] != "cancelled" || after["finishedAt"] != cancelled["finishedAt"] || jobCount(after, "changed") != 100 {
			t.Errorf("job after the rest of its batches: %v; want it as cancelled: %v", after, cancelled)
		}
		reset, untouched := stamped(t, r.store, j.ID, users)
		if len(reset) != 100 || len(untouched) != 300 || untouched[0] != "halt100" {
			t.Errorf("%d users reset (%v…), %d untouched; want halt000-halt099 reset and the 300 batched after the cancel untouched", len(reset), reset[:min(3, len(reset))], len(untouched))
		}
		// And no batch sent after the cancel mailed anyone.
		awaitQueueEmpty(t, r.st.QueueStats, "NoticeQueue", time.Minute)
		mails := mailCounts(t, r.admin, "@kpu.example")
		for _, u := range users[100:] {
			if mails[u.Email] != 0 {
				t.Errorf("%s, batched after the cancel, got %d messages", u.Username, mails[u.Email])
				break
			}
		}
	})

	t.Run("every task fails", func(t *testing.T) {
		// Users whose records cannot be read (a version that is not a
		// number, as a broken migration might leave): every batch fails
		// until the job queue parks it, jobs-dead-letters records its
		// users as given up on, and the job ends failed, with its finish
		// time, its report and the starter's notice, having changed no one.
		users := seedUsers(t, r.store, "bad", 150, true)
		for _, u := range users {
			if _, err := r.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(stack.TableName),
				Key:                       map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "T#kpu#USER#" + u.ID}, "sk": &ddb.AttributeValueMemberS{Value: "USER"}},
				UpdateExpression:          aws.String("SET version = :bad"),
				ConditionExpression:       aws.String("attribute_exists(pk)"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":bad": &ddb.AttributeValueMemberS{Value: "one"}},
			}); err != nil {
				t.Fatalf("corrupt %s: %v", u.Username, err)
			}
		}
		if _, err := r.store.GetUser(ctx, "kpu", users[0].ID); err == nil || accounts.IsCode(err, accounts.CodeNotFound) {
			t.Fatalf("a corrupted user reads back: %v", err)
		}
		notices := len(outbox(t, r.admin))
		status, body := r.admin.do("POST", "/v1/admin/password-resets", map[string]any{"scope": "selected", "userIds": idsOf(users), "mode": "link"})
		want(t, "start", status, 202, body)
		id, _ := body["jobId"].(string)
		job := waitAnyJob(t, r.admin, id)
		if job["status"] != "failed" || job["finishedAt"] == nil || jobCount(job, "failed") != 150 || jobCount(job, "changed") != 0 {
			t.Errorf("job of failing tasks: %v; want failed with a finish time, 150 failed and none changed", job)
		}
		_, report := r.admin.raw("GET", "/v1/admin/jobs/"+id+"/report", nil)
		if got := strings.Count(report, ",failed,"); got != 150 {
			t.Errorf("report has %d failed rows, want 150:\n%s", got, report)
		}
		// The starter's job notice, and nothing to the users.
		deadline := time.Now().Add(time.Minute)
		for len(outbox(t, r.admin)) == notices && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		awaitQueueEmpty(t, r.st.QueueStats, "NoticeQueue", time.Minute)
		entries := outbox(t, r.admin)
		if len(entries) != notices+1 || !strings.Contains(entries[len(entries)-1].To, r.st.AdminEmail) {
			t.Errorf("%d new messages after the job (last %+v), want only the starter's notice", len(entries)-notices, entries[len(entries)-1])
		}
	})
}

func TestKilledMidResetFinishesExactlyOnRestart(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	// The whole stack is SIGKILLed while a temporary-mode reset of every
	// user runs, and started again on the same data: the job ends
	// completed with every user reset once and mailed once.
	if testing.Short() {
		t.Skip("kills and restarts a whole stack")
	}
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(t) // fails in CI, skips elsewhere, with the reason
	}
	ctx := context.Background()
	dir := t.TempDir() + "/stack"
	child, api := startChild(t, dir)
	admin := client{tb: t, base: api}.login("kpu", "admin", adminPassword)
	db, err := dynamodblocal.NewClient(ctx, readInfo(t, dir).DynamoEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	users := seedUsers(t, dynamostore.New(db, stack.TableName), "kill", 300, true)
	status, letter := admin.do("GET", "/v1/admin/letters/password-temporary", nil)
	want(t, "get letter", status, 200, letter)
	status, body := admin.do("PUT", "/v1/admin/letters/password-temporary", map[string]any{"version": letter["version"],
		"subject": "Your new {{libraryName}} password", "body": "Hello {{username}},\n\nYour password: {{temporaryPassword}}\n"})
	want(t, "set letter", status, 200, body)

	status, body = admin.do("POST", "/v1/admin/password-resets", map[string]any{"scope": "all", "mode": "temporary"})
	want(t, "start", status, 202, body)
	id, _ := body["jobId"].(string)
	// Kill as soon as some users are reset and not all: mid-batch if the
	// poll catches the jobs worker at it, else while the mail goes out.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, j := admin.do("GET", "/v1/admin/jobs/"+id, nil)
		mailed := len(mailCounts(t, admin, "@kpu.example"))
		if c := jobCount(j, "changed"); (c > 0 && j["status"] == "running") || (mailed > 0 && mailed < len(users)/2) {
			t.Logf("killing the stack: job %v with %d changed, %d users mailed", j["status"], c, mailed)
			break
		}
		if mailed >= len(users)/2 || time.Now().After(deadline) {
			t.Fatalf("missed the job mid-way: %v, %d users mailed", j, mailed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	_, api = startChild(t, dir)
	admin = client{tb: t, base: api}.login("kpu", "admin", adminPassword)
	job := waitAnyJob(t, admin, id)
	if job["status"] != "completed" || jobCount(job, "changed") != len(users) || jobCount(job, "failed") != 0 {
		t.Errorf("after restart: %v; want completed with %d changed", job, len(users))
	}
	if db, err = dynamodblocal.NewClient(ctx, readInfo(t, dir).DynamoEndpoint); err != nil {
		t.Fatal(err)
	}
	mails := awaitMailEach(t, admin, id, users, 3*time.Minute)
	twice := 0
	for _, u := range users {
		if mails[u.Email] != 1 {
			twice++
			if twice <= 5 {
				t.Errorf("%s got %d messages, want 1", u.Username, mails[u.Email])
			}
		}
	}
	store := dynamostore.New(db, stack.TableName)
	reset, untouched := stamped(t, store, id, users)
	if len(untouched) != 0 {
		t.Errorf("%d users reset, %d not (%v…)", len(reset), len(untouched), untouched[:min(3, len(untouched))])
	}
	for _, u := range []accounts.User{users[0], users[150], users[299]} {
		pw := passwordMailedTo(t, admin, u.Email)
		if status, body := admin.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": u.Username, "password": pw}); status != 200 {
			t.Errorf("%s cannot sign in with the password mailed: %d %v", u.Username, status, body)
		}
	}
}

func readInfo(tb testing.TB, dir string) stack.Info {
	tb.Helper()
	var info stack.Info
	data, err := os.ReadFile(dir + "/stack.json")
	if err != nil || json.Unmarshal(data, &info) != nil {
		tb.Fatalf("stack.json: %v", err)
	}
	return info
}
