// Package lambdaevents adapts the asynchronous Lambda triggers — S3
// ObjectCreated notifications, SQS batches of import chunks and notices, and
// the SES events SNS delivers — to the account service.
package lambdaevents

import (
	"context"
	"encoding/json"
	"errors"

	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/logging"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
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
		// The version id pins the job to the object this event is about;
		// S3 sends it for every object of a versioned bucket.
		o := accounts.CreatedObject{Bucket: r.S3.Bucket.Name, Key: key, VersionID: r.S3.Object.VersionID, ETag: r.S3.Object.ETag, Size: r.S3.Object.Size}
		if err := h.svc.IngestObject(rctx, o); err != nil {
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

// Notices delivers each notice message and reports the ones to come back
// (ReportBatchItemFailures): a notice another delivery holds, or a failure
// to record or re-queue it. Attempts are counted in the notice, not by
// receive count, so a redelivery costs no attempt.
func (h *Handlers) Notices(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		ref, err := sqsqueue.DecodeNotice(m.Body)
		if err != nil {
			h.log.ErrorContext(ctx, "malformed notice message dropped", "message_id", m.MessageId, "error", err.Error())
			continue
		}
		mctx := logging.WithRequestID(ctx, m.MessageId)
		if err := h.svc.DeliverNotice(mctx, ref); err != nil {
			level := slog.LevelError
			if errors.Is(err, accounts.ErrNoticeInFlight) {
				level = slog.LevelInfo
			}
			h.log.Log(mctx, level, "notice not done; it comes back", "tenant", ref.TenantID, "user_id", ref.UserID, "notice", ref.NoticeID,
				"receive_count", m.Attributes["ApproximateReceiveCount"], "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// sesEvent is the part of an SES event-publishing record (or of an SES
// notification, which says notificationType) that the service uses.
type sesEvent struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"`
	Mail             struct {
		MessageID string              `json:"messageId"`
		Timestamp time.Time           `json:"timestamp"`
		Tags      map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType    string    `json:"bounceType"`
		BounceSubType string    `json:"bounceSubType"`
		Timestamp     time.Time `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"delivery"`
}

// MailEvents records the SES events (bounce, complaint, delivery) that the
// configuration set publishes to SNS. An event it cannot read is dropped
// loudly; a failure to record one is returned, so that Lambda retries the
// (idempotent) delivery.
func (h *Handlers) MailEvents(ctx context.Context, ev events.SNSEvent) error {
	var errs []error
	for _, r := range ev.Records {
		var e sesEvent
		if err := json.Unmarshal([]byte(r.SNS.Message), &e); err != nil {
			h.log.ErrorContext(ctx, "unreadable SES event dropped", "sns_message_id", r.SNS.MessageID)
			continue
		}
		typ := e.EventType
		if typ == "" {
			typ = e.NotificationType
		}
		tag := func(name string) string {
			if v := e.Mail.Tags[name]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		me := accounts.MailEvent{
			Type: accounts.MailEventType(typ), ProviderMessageID: e.Mail.MessageID,
			TenantID: tag("tenant"), UserID: tag("user"), NoticeID: tag("notice"), At: e.Mail.Timestamp,
		}
		switch {
		case e.Bounce != nil:
			me.BounceType, me.BounceSubType = e.Bounce.BounceType, e.Bounce.BounceSubType
			me.At = later(me.At, e.Bounce.Timestamp)
		case e.Complaint != nil:
			me.At = later(me.At, e.Complaint.Timestamp)
		case e.Delivery != nil:
			me.At = later(me.At, e.Delivery.Timestamp)
		}
		if me.At.IsZero() {
			me.At = r.SNS.Timestamp
		}
		rctx := logging.WithRequestID(ctx, r.SNS.MessageID)
		if err := h.svc.RecordMailEvent(rctx, me); err != nil {
			h.log.ErrorContext(rctx, "mail event not recorded; will retry", "type", typ, "tenant", me.TenantID, "notice", me.NoticeID, "error", err.Error())
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
