package lambdaevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

type taskRecorder struct {
	mu    sync.Mutex
	tasks []accounts.JobTask
}

func (r *taskRecorder) SendJobTasks(_ context.Context, ts []accounts.JobTask) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, ts...)
	return nil
}

func (r *taskRecorder) take() []accounts.JobTask {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tasks
	r.tasks = nil
	return t
}

func sqsEvent(tb testing.TB, bodies map[string]string) events.SQSEvent {
	tb.Helper()
	var ev events.SQSEvent
	for id, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, Body: b})
	}
	return ev
}

func TestJobTasksAcksWhatWillNotDoBetter(t *testing.T) {
	client, table := ddbtest.TestTable(t)
	rec, jobs := &recorder{}, &taskRecorder{}
	svc := accounts.NewService(accounts.Deps{
		Store: dynamostore.New(client, table), Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Mailer: rec, Notices: rec, Jobs: jobs, Logger: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)),
	}, accounts.Config{ResetPageURL: "https://accounts.example.org/reset"})
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: "correct horse battery staple"}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "admin", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := svc.Authorize(ctx, res.Token)
	j, err := svc.StartPasswordReset(ctx, auth.Caller, accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetLink})
	if err != nil {
		t.Fatal(err)
	}
	tasks := jobs.take()
	body := func(t accounts.JobTask) string { b, _ := json.Marshal(t); return string(b) }
	bad := tasks[1]
	bad.Cursor = "bm90LWEtY3Vyc29y" // a cursor for no shard
	h := lambdaevents.New(svc, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	resp, err := h.JobTasks(ctx, sqsEvent(t, map[string]string{"good": body(tasks[0]), "bad-cursor": body(bad), "garbage": "{"}))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v, err %v; want every message acknowledged", resp.BatchItemFailures, err)
	}
	var report bytes.Buffer
	if _, err := svc.JobReport(ctx, auth.Caller, j.ID, &report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "failed") || !strings.Contains(report.String(), "cursor") {
		t.Errorf("the permanently failed task is not in the report:\n%s", report.String())
	}
	// A store that cannot be reached asks for the message again.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	resp, _ = h.JobTasks(cctx, sqsEvent(t, map[string]string{"later": body(tasks[2])}))
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "later" {
		t.Errorf("failures %+v, want the message back", resp.BatchItemFailures)
	}
}
