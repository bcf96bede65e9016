package lambdaevents

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/logging"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

// Recovery answers each recovery request message and reports the ones to
// come back (ReportBatchItemFailures); answering is idempotent, so a
// redelivery raises no second notice.
func (h *Handlers) Recovery(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		ref, err := sqsqueue.DecodeRecovery(m.Body)
		if err != nil {
			// A message we cannot read will not read better later.
			h.log.ErrorContext(ctx, "malformed recovery message dropped", "message_id", m.MessageId, "error", err.Error())
			continue
		}
		mctx := logging.WithRequestID(ctx, m.MessageId)
		if err := h.svc.ResolveRecovery(mctx, ref); err != nil {
			h.log.ErrorContext(mctx, "recovery request not done; it comes back", "tenant", ref.TenantID, "request", ref.RequestID,
				"receive_count", m.Attributes["ApproximateReceiveCount"], "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}
