package lambdaevents

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/logging"
)

// SweepJobs runs the scheduled sweep of stalled jobs. The event's time is
// the schedule's tick, which is "now" for the sweep; an error makes
// EventBridge retry, and the sweep is idempotent.
func (h *Handlers) SweepJobs(ctx context.Context, ev events.EventBridgeEvent) error {
	now := ev.Time
	if now.IsZero() {
		now = time.Now()
	}
	res, err := h.svc.SweepJobs(logging.WithRequestID(ctx, ev.ID), now)
	h.log.InfoContext(ctx, "job sweep", "jobs_seen", res.Seen, "jobs_ended", res.Ended)
	if err != nil {
		h.log.ErrorContext(ctx, "job sweep incomplete", "error", err.Error())
	}
	return err
}

// DeadLetters records each message a queue gave up on (a chunk of an
// import, a job task) and reports the ones it could not record, which come
// back (ReportBatchItemFailures); the dead-letter queue keeps them two
// weeks, and the sweep ends their job meanwhile.
func (h *Handlers) DeadLetters(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		mctx := logging.WithRequestID(ctx, m.MessageId)
		err := h.svc.RecordDeadLetter(mctx, m.Body)
		switch {
		case accounts.IsCode(err, accounts.CodeInvalid):
			// Never readable: recording it again will not help.
			h.log.ErrorContext(mctx, "unreadable dead letter dropped", "message_id", m.MessageId, "queue", m.EventSourceARN, "error", err.Error())
		case err != nil:
			h.log.ErrorContext(mctx, "dead letter not recorded; it comes back", "message_id", m.MessageId, "queue", m.EventSourceARN, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		default:
			h.log.WarnContext(mctx, "dead letter recorded as given up on", "message_id", m.MessageId, "queue", m.EventSourceARN)
		}
	}
	return resp, nil
}
