package lambdaevents

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/logging"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

// JobTasks runs each job-queue task (a shard scan or a batch of a bulk
// reset) and reports the ones to come back (ReportBatchItemFailures). A
// task that cannot succeed however often it comes — unreadable, or refused
// as invalid — is acknowledged: the service has recorded it as failed, so
// the job still ends, and retrying would only land it in the dead-letter
// queue later.
func (h *Handlers) JobTasks(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		task, err := sqsqueue.DecodeJobTask(m.Body)
		if err != nil {
			h.log.ErrorContext(ctx, "malformed job task dropped", "message_id", m.MessageId, "error", err.Error())
			continue
		}
		mctx := logging.WithRequestID(ctx, m.MessageId)
		err = h.svc.RunJobTask(mctx, task)
		switch {
		case err == nil:
		case accounts.IsCode(err, accounts.CodeInvalid):
			h.log.ErrorContext(mctx, "job task failed for good; not retried", "tenant", task.TenantID, "job", task.JobID, "kind", task.Kind, "error", err.Error())
		default:
			h.log.ErrorContext(mctx, "job task failed; will retry", "tenant", task.TenantID, "job", task.JobID, "kind", task.Kind,
				"receive_count", m.Attributes["ApproximateReceiveCount"], "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}
