package sqsemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Invoker runs a function synchronously; lambdaemu.Service is one.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Mapping is a Lambda event source mapping from an SQS queue.
type Mapping struct {
	Queue, Function string
	BatchSize       int // 1 to 10000, default 10
	// MaxConcurrency is how many invocations may run at once (Lambda's
	// ScalingConfig.MaximumConcurrency), default 2. Lambda's minimum is 2;
	// 1 is allowed here.
	MaxConcurrency int
	// ReportBatchItemFailures is FunctionResponseTypes:
	// [ReportBatchItemFailures]: the function returns an
	// events.SQSEventResponse naming the messages that failed.
	ReportBatchItemFailures bool
	// BatchWindow is MaximumBatchingWindowInSeconds: how long to keep
	// gathering messages for a batch that is not full. 0 to 5 minutes.
	BatchWindow time.Duration
}

// RawMapping invokes Function with each message's body as the event, one
// message per invocation. A failed invocation leaves the message to be
// retried after the queue's visibility timeout, and the queue's redrive
// policy moves it to the dead-letter queue after MaxReceiveCount attempts.
type RawMapping struct {
	Queue, Function string
	MaxConcurrency  int // default 2
}

const (
	defaultBatchSize      = 10
	maxBatchSize          = 10000
	defaultMaxConcurrency = 2
	maxBatchWindow        = 5 * time.Minute
	// pollWait is how long a poller long-polls, as Lambda's do.
	pollWait = maxWaitTime
	// batchBudget caps the message bytes of one batch so that its event
	// stays within Lambda's 6 MB invocation payload quota.
	batchBudget = 5 << 20
	// retryPause is how long a poller waits after an unexpected failure.
	retryPause = time.Second
)

// Start runs the mappings until ctx ends or Close is called: per mapping,
// MaxConcurrency pollers that each receive up to BatchSize messages (with
// the queue's visibility timeout), invoke the function with them as an
// events.SQSEvent, and delete the messages that were processed. A function
// error, crash or timeout leaves the whole batch to reappear after the
// visibility timeout, as does an invalid response when
// ReportBatchItemFailures is set. Start checks the mappings and returns;
// the pollers run in the background.
func (s *Service) Start(ctx context.Context, inv Invoker, mappings ...Mapping) error {
	if inv == nil {
		return errors.New("sqsemu: Start needs an Invoker")
	}
	for i := range mappings {
		m := &mappings[i]
		if err := s.checkMapping(m.Queue, m.Function, &m.MaxConcurrency); err != nil {
			return err
		}
		if m.BatchSize == 0 {
			m.BatchSize = defaultBatchSize
		}
		if m.BatchSize < 1 || m.BatchSize > maxBatchSize {
			return fmt.Errorf("sqsemu: mapping %s -> %s: BatchSize must be between 1 and %d", m.Queue, m.Function, maxBatchSize)
		}
		if m.BatchWindow < 0 || m.BatchWindow > maxBatchWindow {
			return fmt.Errorf("sqsemu: mapping %s -> %s: BatchWindow must be between 0 and 5m", m.Queue, m.Function)
		}
	}
	return s.spawn(ctx, func(ctx context.Context) {
		for _, m := range mappings {
			q := s.queues[m.Queue]
			s.log.Info("event source mapping started", "queue", m.Queue, "function", m.Function, "batch_size", m.BatchSize, "max_concurrency", m.MaxConcurrency, "report_batch_item_failures", m.ReportBatchItemFailures)
			for range m.MaxConcurrency {
				s.wg.Go(func() { s.pollBatches(ctx, inv, q, m) })
			}
		}
	})
}

// StartRaw runs the raw mappings until ctx ends or Close is called.
func (s *Service) StartRaw(ctx context.Context, inv Invoker, mappings ...RawMapping) error {
	if inv == nil {
		return errors.New("sqsemu: StartRaw needs an Invoker")
	}
	for i := range mappings {
		m := &mappings[i]
		if err := s.checkMapping(m.Queue, m.Function, &m.MaxConcurrency); err != nil {
			return err
		}
	}
	return s.spawn(ctx, func(ctx context.Context) {
		for _, m := range mappings {
			q := s.queues[m.Queue]
			s.log.Info("raw event mapping started", "queue", m.Queue, "function", m.Function, "max_concurrency", m.MaxConcurrency)
			for range m.MaxConcurrency {
				s.wg.Go(func() { s.pollRaw(ctx, inv, q, m) })
			}
		}
	})
}

func (s *Service) checkMapping(queue, function string, concurrency *int) error {
	if s.queues[queue] == nil {
		return fmt.Errorf("sqsemu: mapping to %s: %w: %q", function, ErrUnknownQueue, queue)
	}
	if function == "" {
		return fmt.Errorf("sqsemu: mapping from %s: empty Function", queue)
	}
	if *concurrency == 0 {
		*concurrency = defaultMaxConcurrency
	}
	if *concurrency < 1 || *concurrency > 1000 {
		return fmt.Errorf("sqsemu: mapping %s -> %s: MaxConcurrency must be between 1 and 1000", queue, function)
	}
	return nil
}

// spawn calls start with a context that Close cancels, with s.mu held so
// that Close cannot be waiting for the pollers start adds.
func (s *Service) spawn(ctx context.Context, start func(context.Context)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancels = append(s.cancels, cancel)
	start(ctx)
	return nil
}

// pause waits d, or less if ctx ends.
func (s *Service) pause(ctx context.Context, d time.Duration) {
	t := s.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
	case <-ctx.Done():
	}
}

func (s *Service) pollBatches(ctx context.Context, inv Invoker, q *queue, m Mapping) {
	for ctx.Err() == nil {
		batch, err := s.collect(ctx, q, m)
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return
			}
			s.log.Error("event source mapping cannot receive", "queue", q.cfg.Name, "function", m.Function, "error", err.Error())
			s.pause(ctx, retryPause)
			continue
		}
		if len(batch) > 0 {
			s.deliverBatch(ctx, inv, q, m, batch)
		}
	}
}

// collect receives one batch: whatever is there as soon as something is, or,
// with a batching window, until the batch is full or the window closes.
func (s *Service) collect(ctx context.Context, q *queue, m Mapping) ([]delivery, error) {
	batch, err := s.receive(ctx, q, m.BatchSize, q.cfg.VisibilityTimeout, pollWait, batchBudget)
	if err != nil || len(batch) == 0 || m.BatchWindow == 0 {
		return batch, err
	}
	end := s.now().Add(m.BatchWindow)
	var used int64
	for _, d := range batch {
		used += d.size
	}
	for len(batch) < m.BatchSize && used < batchBudget {
		left := end.Sub(s.now())
		if left <= 0 {
			break
		}
		more, err := s.receive(ctx, q, m.BatchSize-len(batch), q.cfg.VisibilityTimeout, left, batchBudget-used)
		for _, d := range more {
			used += d.size
		}
		batch = append(batch, more...)
		if err != nil {
			// What was received is in flight; deliver it unless stopping.
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return nil, err
			}
			break
		}
		if len(more) == 0 {
			break
		}
	}
	return batch, nil
}

// sqsEvent builds the event Lambda sends for a batch.
func (s *Service) sqsEvent(q *queue, batch []delivery) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(batch))}
	for _, d := range batch {
		attrs := map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(d.count),
			"SentTimestamp":                    strconv.FormatInt(d.sent.UnixMilli(), 10),
			"SenderId":                         d.sender,
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(d.firstRecv.UnixMilli(), 10),
		}
		if d.trace != "" {
			attrs["AWSTraceHeader"] = d.trace
		}
		msgAttrs := make(map[string]events.SQSMessageAttribute, len(d.attrs))
		for name, v := range d.attrs {
			msgAttrs[name] = events.SQSMessageAttribute{
				StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: v.DataType,
				StringListValues: []string{}, BinaryListValues: [][]byte{},
			}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: d.id, ReceiptHandle: d.handle, Body: d.body, Md5OfBody: d.md5,
			Md5OfMessageAttributes: attributesMD5(d.attrs), Attributes: attrs, MessageAttributes: msgAttrs,
			EventSourceARN: q.arn, EventSource: "aws:sqs", AWSRegion: s.opts.Region,
		})
	}
	return ev
}

func (s *Service) deliverBatch(ctx context.Context, inv Invoker, q *queue, m Mapping, batch []delivery) {
	payload, err := json.Marshal(s.sqsEvent(q, batch))
	if err != nil {
		s.log.Error("cannot encode the SQS event", "queue", q.cfg.Name, "error", err.Error())
		return
	}
	out, err := inv.Invoke(ctx, m.Function, payload)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("function failed; the batch will be retried after the visibility timeout",
			"queue", q.cfg.Name, "function", m.Function, "messages", len(batch), "error", err.Error())
		return
	}
	keep := map[string]bool{}
	if m.ReportBatchItemFailures {
		ids := make(map[string]bool, len(batch))
		for _, d := range batch {
			ids[d.id] = true
		}
		failed, err := parseBatchResponse(out, ids)
		if err != nil {
			s.log.Warn("invalid batch item failures response; the whole batch will be retried after the visibility timeout",
				"queue", q.cfg.Name, "function", m.Function, "messages", len(batch), "error", err.Error())
			return
		}
		keep = failed
		if len(failed) > 0 {
			s.log.Info("function reported failed messages; they will be retried after the visibility timeout",
				"queue", q.cfg.Name, "function", m.Function, "failed", len(failed), "messages", len(batch))
		}
	}
	var handles []string
	for _, d := range batch {
		if !keep[d.id] {
			handles = append(handles, d.handle)
		}
	}
	s.deleteHandles(q, handles)
}

// parseBatchResponse reads an events.SQSEventResponse as Lambda does: an
// empty or null response, or no or null batchItemFailures, is a complete
// success; anything that is not valid JSON of that shape, or an item whose
// itemIdentifier is missing, empty or not a message of the batch, fails
// the whole batch.
func parseBatchResponse(out []byte, ids map[string]bool) (map[string]bool, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 || string(out) == "null" {
		return nil, nil
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("response is not a JSON object: %w", err)
	}
	raw, ok := resp["batchItemFailures"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("batchItemFailures is not a list of objects: %w", err)
	}
	failed := make(map[string]bool, len(items))
	for _, item := range items {
		var id string
		if err := json.Unmarshal(item["itemIdentifier"], &id); err != nil || id == "" {
			return nil, errors.New("a batch item failure has no itemIdentifier")
		}
		if !ids[id] {
			return nil, fmt.Errorf("itemIdentifier %q is not a message of the batch", id)
		}
		failed[id] = true
	}
	return failed, nil
}

// deleteHandles deletes processed messages. The deletes are written but not
// waited for on disk: losing them to a machine crash means redelivery.
func (s *Service) deleteHandles(q *queue, handles []string) {
	if len(handles) == 0 {
		return
	}
	err := s.locked(func() error {
		var recs []*record
		for _, h := range handles {
			if rec, _ := s.deleteLocked(q, h); rec != nil {
				recs = append(recs, rec)
			}
		}
		if len(recs) == 0 {
			return nil
		}
		_, err := s.appendLocked(recs...)
		return err
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		s.log.Error("cannot delete processed messages", "queue", q.cfg.Name, "error", err.Error())
	}
}

func (s *Service) pollRaw(ctx context.Context, inv Invoker, q *queue, m RawMapping) {
	for ctx.Err() == nil {
		batch, err := s.receive(ctx, q, 1, q.cfg.VisibilityTimeout, pollWait, 0)
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return
			}
			s.log.Error("raw event mapping cannot receive", "queue", q.cfg.Name, "function", m.Function, "error", err.Error())
			s.pause(ctx, retryPause)
			continue
		}
		for _, d := range batch {
			if _, err := inv.Invoke(ctx, m.Function, []byte(d.body)); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("function failed; the event will be retried after the visibility timeout",
					"queue", q.cfg.Name, "function", m.Function, "message_id", d.id, "attempt", d.count, "error", err.Error())
				continue
			}
			s.deleteHandles(q, []string{d.handle})
		}
	}
}
