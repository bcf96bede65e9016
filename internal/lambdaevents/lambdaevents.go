// Package lambdaevents adapts the asynchronous Lambda triggers — S3
// ObjectCreated notifications and SQS batches — to the account service.
package lambdaevents

import (
	"context"
	"encoding/json"
	"errors"

	"log/slog"
	"net/url"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/logging"
)

// Handlers serves the import pipeline's triggers.
type Handlers struct {
	svc *accounts.Service
	log *slog.Logger
}

// New returns the handlers over svc.
func New(svc *accounts.Service, log *slog.Logger) *Handlers { return &Handlers{svc: svc, log: log} }

// ObjectCreated ingests each uploaded file. An error makes Lambda retry the
// whole event; IngestObject is idempotent, so records already done are
// skipped on the retry.
func (h *Handlers) ObjectCreated(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, r := range ev.Records {
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			h.log.ErrorContext(ctx, "undecodable object key", "bucket", r.S3.Bucket.Name)
			continue
		}
		rctx := logging.WithRequestID(ctx, r.ResponseElements["x-amz-request-id"])
		if err := h.svc.IngestObject(rctx, r.S3.Bucket.Name, key, r.S3.Object.ETag, r.S3.Object.Size); err != nil {
			h.log.ErrorContext(rctx, "ingest failed; will retry", "bucket", r.S3.Bucket.Name, "error", err.Error())
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ImportChunks runs each chunk message and reports the ones that failed, so
// SQS redelivers only those (ReportBatchItemFailures).
func (h *Handlers) ImportChunks(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		var task accounts.ChunkTask
		if err := json.Unmarshal([]byte(m.Body), &task); err != nil || task.JobID == "" || task.TenantID == "" {
			// A message we cannot read will not read better later: drop it
			// loudly instead of cycling it to the dead-letter queue.
			h.log.ErrorContext(ctx, "malformed chunk message dropped", "message_id", m.MessageId)
			continue
		}
		mctx := logging.WithRequestID(ctx, m.MessageId)
		if err := h.svc.ImportChunk(mctx, task); err != nil {
			h.log.ErrorContext(mctx, "chunk failed; will retry", "tenant", task.TenantID, "job", task.JobID, "chunk", task.Index,
				"receive_count", m.Attributes["ApproximateReceiveCount"], "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		h.log.InfoContext(mctx, "chunk done", "tenant", task.TenantID, "job", task.JobID, "chunk", task.Index, "rows", task.Rows)
	}
	return resp, nil
}
