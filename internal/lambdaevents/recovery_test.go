package lambdaevents_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

type recoveryRecorder struct{ refs []accounts.RecoveryRef }

func (r *recoveryRecorder) EnqueueRecovery(_ context.Context, ref accounts.RecoveryRef) error {
	r.refs = append(r.refs, ref)
	return nil
}

func TestRecoveryReportsOnlyTheMessagesToComeBack(t *testing.T) {
	client, table := ddbtest.TestTable(t)
	store := dynamostore.New(client, table)
	log := slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))
	rec, reqs := &recorder{}, &recoveryRecorder{}
	deps := accounts.Deps{Store: store, Throttle: store, Recovery: reqs, Notices: rec, Logger: log,
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})}
	svc := accounts.NewService(deps, accounts.Config{ResetPageURL: "https://accounts.example.org/reset"})
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: "correct horse battery staple", AdminEmail: "admin@kpu.example"}); err != nil {
		t.Fatal(err)
	}
	for _, ident := range []string{"admin", "nobody"} {
		if err := svc.RequestRecovery(ctx, accounts.RecoveryInput{Kind: accounts.RecoverPassword, Tenant: "kpu", Identifier: ident, Source: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	body := func(ref accounts.RecoveryRef) string {
		return fmt.Sprintf(`{"v":1,"tenant":%q,"request":%q}`, ref.TenantID, ref.RequestID)
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "found", Body: body(reqs.refs[0])}, {MessageId: "unknown", Body: body(reqs.refs[1])}, {MessageId: "garbled", Body: `{"v":1}`},
	}}

	// Without a notice queue the found request cannot be answered: it
	// alone comes back.
	noQueue := deps
	noQueue.Notices = nil
	resp, err := lambdaevents.New(accounts.NewService(noQueue, accounts.Config{}), log).Recovery(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "found" {
		t.Fatalf("batch: %+v %v; want only \"found\" back", resp, err)
	}
	// Redelivered where it can be: answered, with one notice.
	for range 2 {
		resp, err = lambdaevents.New(svc, log).Recovery(ctx, batch)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("batch: %+v %v; want no failures", resp, err)
		}
	}
	if len(rec.queued) != 1 {
		t.Errorf("%d notices queued, want 1", len(rec.queued))
	}
}
