package lambdaevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// recorder is the notice queue and the mailer as slices: the test plays SQS.
type recorder struct {
	mu     sync.Mutex
	queued []accounts.NoticeRef
	sent   []accounts.Message
	hook   func()
}

func (r *recorder) Enqueue(_ context.Context, ref accounts.NoticeRef, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued = append(r.queued, ref)
	return nil
}

func (r *recorder) Send(_ context.Context, m accounts.Message) (string, error) {
	r.mu.Lock()
	hook := r.hook
	r.hook = nil
	r.sent = append(r.sent, m)
	id := fmt.Sprintf("ses-%d", len(r.sent))
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	return id, nil
}

type env struct {
	h      *lambdaevents.Handlers
	svc    *accounts.Service
	rec    *recorder
	admin  accounts.Caller
	userID string
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	rec := &recorder{}
	log := slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))
	svc := accounts.NewService(accounts.Deps{
		Store: dynamostore.New(client, table), Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Mailer: rec, Notices: rec, Logger: log,
	}, accounts.Config{ResetPageURL: "https://accounts.example.org/reset", NoticeSendRate: 1000})
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: "correct horse battery staple"}); err != nil {
		tb.Fatal(err)
	}
	res, err := svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "admin", Password: "correct horse battery staple"})
	if err != nil {
		tb.Fatal(err)
	}
	auth, err := svc.Authorize(ctx, res.Token)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := svc.CreateUser(ctx, auth.Caller, accounts.CreateUserInput{Username: "patron", Email: "bounce@simulator.amazonses.com", Password: "a perfectly fine passphrase"})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{h: lambdaevents.New(svc, log), svc: svc, rec: rec, admin: auth.Caller, userID: out.User.ID}
}

// queueLink queues a reset link for the patron and returns its SQS body.
func (e *env) queueLink(tb testing.TB) (string, accounts.NoticeRef) {
	tb.Helper()
	if _, err := e.svc.ResetPassword(context.Background(), e.admin, e.userID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		tb.Fatal(err)
	}
	ref := e.rec.queued[len(e.rec.queued)-1]
	return fmt.Sprintf(`{"v":1,"tenant":%q,"user":%q,"notice":%q}`, ref.TenantID, ref.UserID, ref.NoticeID), ref
}

func TestNoticesReportsOnlyTheMessagesToComeBack(t *testing.T) {
	e := newEnv(t)
	body, _ := e.queueLink(t)
	ctx := context.Background()
	// While message "a" is being sent, its duplicate "b" arrives in
	// another batch: "b" must come back later, "a" and the malformed "c"
	// must not.
	var inner events.SQSEventResponse
	e.rec.hook = func() {
		inner, _ = e.h.Notices(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "b", Body: body}}})
	}
	resp, err := e.h.Notices(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a", Body: body}, {MessageId: "c", Body: `{"v":1}`}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch a,c: %+v %v; want no failures", resp, err)
	}
	// "b" is done with: a fresh message waits out the claim's lease.
	if len(inner.BatchItemFailures) != 0 || len(e.rec.queued) < 2 {
		t.Errorf("batch b: %+v, %d queued; want b handed over to a new message", inner, len(e.rec.queued))
	}
	if len(e.rec.sent) != 1 {
		t.Errorf("%d mails, want 1", len(e.rec.sent))
	}
}

// sesEvent is an SES event-publishing record as SNS carries it.
func sesEvent(tb testing.TB, typ string, ref accounts.NoticeRef, messageID string, detail map[string]any) events.SNSEventRecord {
	tb.Helper()
	ev := map[string]any{
		"eventType": typ,
		"mail": map[string]any{
			"timestamp": "2026-03-01T09:00:00.000Z", "messageId": messageID, "destination": []string{"bounce@simulator.amazonses.com"},
			"tags": map[string][]string{"ses:configuration-set": {"libaccounts"}, "kind": {"password-reset-link"}, "tenant": {ref.TenantID}, "user": {ref.UserID}, "notice": {ref.NoticeID}},
		},
	}
	for k, v := range detail {
		ev[k] = v
	}
	data, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return events.SNSEventRecord{SNS: events.SNSEntity{MessageID: "sns-1", Message: string(data), Timestamp: time.Now()}}
}

func TestMailEventsFlagTheAddress(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body, ref := e.queueLink(t)
	if resp, err := e.h.Notices(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a", Body: body}}}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("deliver: %+v %v", resp, err)
	}
	bounce := sesEvent(t, "Bounce", ref, "ses-1", map[string]any{"bounce": map[string]any{
		"bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-03-01T09:00:01.000Z",
		"bouncedRecipients": []map[string]string{{"emailAddress": "bounce@simulator.amazonses.com"}},
	}})
	garbage := events.SNSEventRecord{SNS: events.SNSEntity{MessageID: "sns-2", Message: "not json"}}
	if err := e.h.MailEvents(ctx, events.SNSEvent{Records: []events.SNSEventRecord{bounce, garbage}}); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.GetUser(ctx, e.admin, e.userID)
	if err != nil || u.EmailStatus != accounts.EmailBounced {
		t.Errorf("user e-mail status %q (%v), want bounced", u.EmailStatus, err)
	}
	page, err := e.svc.ListUserNotices(ctx, e.admin, e.userID, 0, "")
	if err != nil || len(page.Notices) != 1 || page.Notices[0].Status != accounts.NoticeBounced {
		t.Errorf("notices %+v %v, want one bounced", page, err)
	}
}
