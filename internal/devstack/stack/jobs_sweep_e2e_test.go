package stack_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

// runningImport writes a users import straight into the table, as ingest
// would have left it: running, with chunks of a file the bucket does not
// hold, so every chunk fails until the queue gives up on it.
func runningImport(tb testing.TB, store *dynamostore.Store, bucket, startedBy string, chunks int) accounts.Job {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	j := accounts.Job{TenantID: "kpu", ID: benchUserID(), Kind: accounts.JobUsers, Mode: accounts.ModeCreate, Status: accounts.JobPending,
		Bucket: bucket, StartedBy: startedBy, CreatedAt: now}
	j.Key = accounts.ImportKey("kpu", j.ID, benchUserID())
	if err := store.CreateJob(ctx, j); err != nil {
		tb.Fatal(err)
	}
	j.Status, j.Format, j.Columns, j.Rows, j.ChunksTotal, j.StartedAt = accounts.JobRunning, "librarypass", []string{"username", "password"}, 2*chunks, chunks, now
	if err := store.UpdateJobStatus(ctx, j, accounts.JobPending); err != nil {
		tb.Fatal(err)
	}
	return j
}

func TestStuckJobsEndThroughTheStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	// The two ways a job could stay running forever, each ended by the
	// stack's own functions: chunks that fail until the chunk queue parks
	// them (jobs-dead-letters records their rows as given up on and ends
	// the job), and a job whose work never comes (the scheduled sweep ends
	// it after JobStallTimeout, with the starter's notice).
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(t) // fails in CI, skips elsewhere, with the reason
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: t.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		// Five failed receives a second apart, not a minute.
		VisibilityCap: time.Second,
	})
	if err != nil {
		t.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		st.Close()
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs.String())
		}
	})
	ctx := context.Background()
	ddb, err := dynamodblocal.NewClient(ctx, st.DynamoEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamostore.New(ddb, stack.TableName)
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	_, me := admin.do("GET", "/v1/me", nil)
	adminID, _ := me["id"].(string)
	if adminID == "" {
		adminID, _ = me["user"].(map[string]any)["id"].(string)
	}

	// Chunks of a file that is not there.
	dead := runningImport(t, store, st.Bucket, adminID, 2)
	q := sqs.New(sqs.Options{BaseEndpoint: aws.String(st.APIURL + "/_local/sqs"), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	queueURL := st.APIURL + "/_local/sqs/123456789012/ChunkQueue"
	for i := range 2 {
		body, _ := json.Marshal(accounts.ChunkTask{TenantID: "kpu", JobID: dead.ID, Index: i, Start: int64(i * 10), End: int64(i*10 + 10), FirstRow: 1 + 2*i, Rows: 2})
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(string(body))}); err != nil {
			t.Fatal(err)
		}
	}
	got := awaitFinished(t, store, dead.ID, 90*time.Second)
	if got.Status != accounts.JobFailed || got.Failed != 4 || got.ChunksDone != 2 {
		t.Errorf("job of dead chunks: %s, %d failed, %d/%d chunks; want failed, 4 rows given up on, 2/2", got.Status, got.Failed, got.ChunksDone, got.ChunksTotal)
	}

	// A job whose chunks were never queued: the first tick notes it, a
	// tick past the stall timeout ends it.
	stalled := runningImport(t, store, st.Bucket, adminID, 1)
	now := time.Now()
	if err := st.RunScheduleAt(ctx, "JobsSweepFunction", now); err != nil {
		t.Fatal(err)
	}
	if j, _ := store.GetJob(ctx, "kpu", stalled.ID); j.Status.Final() {
		t.Fatalf("the sweep ended a job at its first sight: %s", j.Status)
	}
	if err := st.RunScheduleAt(ctx, "JobsSweepFunction", now.Add(accounts.DefaultJobStallTimeout+time.Minute)); err != nil {
		t.Fatal(err)
	}
	j, err := store.GetJob(ctx, "kpu", stalled.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != accounts.JobFailed || j.FinishedAt.IsZero() {
		t.Errorf("stalled job after the sweep: %s, finished %v; want failed with a finish time", j.Status, j.FinishedAt)
	}

	// Cancelled mid-job, with chunks still to come that never will: the
	// job ends at once, with its finish time, through the task centre.
	midway := runningImport(t, store, st.Bucket, adminID, 3)
	status, body := admin.do("POST", "/v1/admin/jobs/"+midway.ID+"/cancel", nil)
	want(t, "cancel", status, 200, body)
	if j, _ := store.GetJob(ctx, "kpu", midway.ID); j.Status != accounts.JobCancelled || j.FinishedAt.IsZero() {
		t.Errorf("cancelled job: %s, finished %v; want cancelled with a finish time", j.Status, j.FinishedAt)
	}
	// A sweep later leaves every one of them as it ended.
	if err := st.RunSchedule(ctx, "JobsSweepFunction"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{dead.ID, stalled.ID, midway.ID} {
		if j, _ := store.GetJob(ctx, "kpu", id); !j.Status.Final() {
			t.Errorf("job %s: %s after a later sweep", id, j.Status)
		}
	}
}

// awaitFinished polls the table until the job has a finish time.
func awaitFinished(tb testing.TB, store *dynamostore.Store, id string, within time.Duration) accounts.Job {
	tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		j, err := store.GetJob(context.Background(), "kpu", id)
		if err != nil {
			tb.Fatal(err)
		}
		if !j.FinishedAt.IsZero() {
			return j
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("job %s did not finish within %v", id, within)
	return accounts.Job{}
}
