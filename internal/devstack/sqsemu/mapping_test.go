package sqsemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/libaccounts/libaccounts/internal/devstack/lambdaemu"
	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
)

// invoker is a stub function: fn runs for every invocation.
type invoker struct {
	fn func(ctx context.Context, function string, payload []byte) ([]byte, error)
}

func (i invoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	return i.fn(ctx, function, payload)
}

// recorder is an invoker stub that decodes and keeps every SQS event.
type recorder struct {
	mu      sync.Mutex
	events  []events.SQSEvent
	respond func(call int, ev events.SQSEvent) ([]byte, error)
}

func (r *recorder) Invoke(_ context.Context, function string, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("bad event: %w", err)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	call := len(r.events)
	r.mu.Unlock()
	if r.respond == nil {
		return []byte("null"), nil
	}
	return r.respond(call, ev)
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) event(i int) events.SQSEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[i]
}

func bodies(ev events.SQSEvent) []string {
	var bs []string
	for _, m := range ev.Records {
		bs = append(bs, m.Body)
	}
	slices.Sort(bs)
	return bs
}

func TestMappingDeletesProcessedMessages(t *testing.T) {
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "q"})
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("message %02d", i))
	}
	send(t, svc, "q", want...)
	rec := &recorder{}
	if err := svc.Start(t.Context(), rec, sqsemu.Mapping{Queue: "q", Function: "Worker"}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, "every message deleted", func() bool { v, f := stats(t, svc, "q"); return v == 0 && f == 0 })

	var got []string
	sent := fmt.Sprint(clk.Now().UnixMilli())
	for i := range rec.calls() {
		ev := rec.event(i)
		if n := len(ev.Records); n == 0 || n > 10 {
			t.Errorf("batch of %d messages, want 1 to 10", n)
		}
		for _, m := range ev.Records {
			got = append(got, m.Body)
			if m.MessageId == "" || m.ReceiptHandle == "" || m.Md5OfBody != md5Hex(m.Body) ||
				m.EventSource != "aws:sqs" || m.EventSourceARN != queueARN("q") || m.AWSRegion != testRegion {
				t.Errorf("record %+v", m)
			}
			for k, want := range map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": sent, "ApproximateFirstReceiveTimestamp": sent, "SenderId": testAccount} {
				if m.Attributes[k] != want {
					t.Errorf("record %s: attribute %s = %q, want %q", m.MessageId, k, m.Attributes[k], want)
				}
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

func TestMappingMessageAttributes(t *testing.T) {
	svc := open(t, t.TempDir(), newClock(), sqsemu.QueueConfig{Name: "q"})
	c := client(t, svc)
	payloads := make(chan []byte, 1)
	inv := invoker{fn: func(_ context.Context, _ string, p []byte) ([]byte, error) { payloads <- p; return nil, nil }}
	if _, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{
		QueueUrl: aws.String(queueURL("q")), MessageBody: aws.String("hi"),
		MessageAttributes: map[string]types.MessageAttributeValue{"color": {DataType: aws.String("String"), StringValue: aws.String("blue")}},
	}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if err := svc.Start(t.Context(), inv, sqsemu.Mapping{Queue: "q", Function: "F"}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	p := <-payloads
	var raw struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(p, &raw); err != nil || len(raw.Records) != 1 {
		t.Fatalf("event %s: %v", p, err)
	}
	attr := raw.Records[0]["messageAttributes"].(map[string]any)["color"].(map[string]any)
	if attr["stringValue"] != "blue" || attr["dataType"] != "String" || attr["stringListValues"] == nil {
		t.Errorf("messageAttributes.color = %v", attr)
	}
	if raw.Records[0]["md5OfMessageAttributes"] == "" {
		t.Errorf("no md5OfMessageAttributes")
	}
}

func TestMappingFailures(t *testing.T) {
	failIDs := func(bodies ...string) func(int, events.SQSEvent) ([]byte, error) {
		return func(_ int, ev events.SQSEvent) ([]byte, error) {
			var resp events.SQSEventResponse
			for _, m := range ev.Records {
				if slices.Contains(bodies, m.Body) {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
			return json.Marshal(resp)
		}
	}
	reply := func(out string, err error) func(int, events.SQSEvent) ([]byte, error) {
		return func(int, events.SQSEvent) ([]byte, error) { return []byte(out), err }
	}
	all := []string{"m0", "m1", "m2", "m3"}
	tests := []struct {
		name     string
		report   bool
		respond  func(int, events.SQSEvent) ([]byte, error)
		wantBack []string
	}{
		{"all succeed", true, reply(`{"batchItemFailures":[]}`, nil), nil},
		{"null response", true, reply(`null`, nil), nil},
		{"two reported failures", true, failIDs("m1", "m3"), []string{"m1", "m3"}},
		{"function error", true, reply("", &lambdaemu.FunctionError{Function: "F", ErrorType: "errorString", ErrorMessage: "boom"}), all},
		{"function error without item failures", false, reply("", errors.New("Sandbox.Timedout")), all},
		{"malformed response", true, reply(`{"batchItemFailures":`, nil), all},
		{"not an object", true, reply(`"ok"`, nil), all},
		{"empty itemIdentifier", true, reply(`{"batchItemFailures":[{"itemIdentifier":""}]}`, nil), all},
		{"unknown itemIdentifier", true, reply(`{"batchItemFailures":[{"itemIdentifier":"nope"}]}`, nil), all},
		{"response ignored without ReportBatchItemFailures", false, reply(`garbage`, nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "q", VisibilityTimeout: 30 * time.Second})
			send(t, svc, "q", all...)
			rec := &recorder{respond: func(call int, ev events.SQSEvent) ([]byte, error) {
				if call == 1 {
					return tt.respond(call, ev)
				}
				return nil, nil
			}}
			// One poller: the four messages, sent before it starts, make one batch.
			if err := svc.Start(t.Context(), rec, sqsemu.Mapping{Queue: "q", Function: "F", MaxConcurrency: 1, ReportBatchItemFailures: tt.report}); err != nil {
				t.Fatalf("Start: %v", err)
			}
			waitFor(t, "the first batch handled", func() bool {
				v, f := stats(t, svc, "q")
				return rec.calls() >= 1 && v == 0 && f == len(tt.wantBack)
			})
			if got := bodies(rec.event(0)); !slices.Equal(got, all) {
				t.Fatalf("first batch %v, want %v", got, all)
			}
			clk.Advance(31 * time.Second)
			if len(tt.wantBack) == 0 {
				// Nothing is left to come back: the batch was deleted, not
				// merely hidden.
				wantStats(t, svc, "q", 0, 0)
				if n := rec.calls(); n != 1 {
					t.Fatalf("%d invocations, want 1", n)
				}
				return
			}
			waitFor(t, "the retry", func() bool { return rec.calls() >= 2 })
			retry := rec.event(1)
			if got := bodies(retry); !slices.Equal(got, tt.wantBack) {
				t.Fatalf("retried %v, want %v", got, tt.wantBack)
			}
			for _, m := range retry.Records {
				if m.Attributes["ApproximateReceiveCount"] != "2" {
					t.Errorf("retried %s with ApproximateReceiveCount %s", m.Body, m.Attributes["ApproximateReceiveCount"])
				}
			}
			waitFor(t, "the queue drained", func() bool { v, f := stats(t, svc, "q"); return v == 0 && f == 0 })
		})
	}
}

func TestMappingMaxConcurrency(t *testing.T) {
	svc := open(t, t.TempDir(), newClock(), sqsemu.QueueConfig{Name: "q"})
	msgs := make([]string, 12)
	for i := range msgs {
		msgs[i] = fmt.Sprint(i)
	}
	send(t, svc, "q", msgs...)
	// Every invocation waits at a barrier that opens once three run at
	// once: with fewer pollers it never opens and the test times out, with
	// more the peak shows it.
	var running, peak, total atomic.Int32
	full := make(chan struct{})
	var once sync.Once
	inv := invoker{fn: func(ctx context.Context, _ string, p []byte) ([]byte, error) {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		if n == 3 {
			once.Do(func() { close(full) })
		}
		defer running.Add(-1)
		select {
		case <-full:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		total.Add(1)
		return nil, nil
	}}
	if err := svc.Start(t.Context(), inv, sqsemu.Mapping{Queue: "q", Function: "F", BatchSize: 1, MaxConcurrency: 3}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, "every message processed", func() bool { v, f := stats(t, svc, "q"); return v == 0 && f == 0 })
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
	if n := total.Load(); n != 12 {
		t.Errorf("%d invocations of batch size 1, want 12", n)
	}
}

func TestMappingBatchWindow(t *testing.T) {
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "q"})
	rec := &recorder{}
	if err := svc.Start(t.Context(), rec, sqsemu.Mapping{Queue: "q", Function: "F", BatchSize: 5, MaxConcurrency: 1, BatchWindow: 2 * time.Second}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	// The first message opens the window: once the poller holds it, the
	// rest arrive while the window is open and fill the batch.
	send(t, svc, "q", "0")
	waitFor(t, "the first message received", func() bool { _, f := stats(t, svc, "q"); return f == 1 })
	for i := 1; i < 5; i++ {
		send(t, svc, "q", fmt.Sprint(i))
	}
	waitFor(t, "the full batch", func() bool { return rec.calls() >= 1 })
	if n := len(rec.event(0).Records); n != 5 {
		t.Errorf("batch of %d messages, want the 5 sent within the window", n)
	}

	// A batch that does not fill goes when the window closes, and not
	// before: the fake clock stands still until the test moves it.
	send(t, svc, "q", "5", "6")
	waitFor(t, "the partial batch received", func() bool { _, f := stats(t, svc, "q"); return f == 2 })
	if !clk.WaitForTimers(1, t.Context().Done()) {
		t.Fatal("the poller never waited on the window")
	}
	if n := rec.calls(); n != 1 {
		t.Fatalf("%d invocations before the window closed, want 1", n)
	}
	clk.Advance(2 * time.Second)
	waitFor(t, "the partial batch", func() bool { return rec.calls() >= 2 })
	if got := bodies(rec.event(1)); !slices.Equal(got, []string{"5", "6"}) {
		t.Errorf("second batch %v, want [5 6]", got)
	}
}

func TestStartValidates(t *testing.T) {
	svc := open(t, t.TempDir(), nil, sqsemu.QueueConfig{Name: "q"})
	inv := invoker{fn: func(context.Context, string, []byte) ([]byte, error) { return nil, nil }}
	for _, m := range []sqsemu.Mapping{
		{Queue: "missing", Function: "F"},
		{Queue: "q"},
		{Queue: "q", Function: "F", BatchSize: 10001},
		{Queue: "q", Function: "F", BatchWindow: time.Hour},
	} {
		if err := svc.Start(t.Context(), inv, m); err == nil {
			t.Errorf("Start(%+v) succeeded", m)
		}
	}
	if err := svc.StartRaw(t.Context(), inv, sqsemu.RawMapping{Queue: "missing", Function: "F"}); !errors.Is(err, sqsemu.ErrUnknownQueue) {
		t.Errorf("StartRaw with a missing queue: %v", err)
	}
}

func TestRawMapping(t *testing.T) {
	s3Event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k.csv"}}}]}`
	tests := []struct {
		name     string
		failures int  // invocations that fail before one succeeds
		wantDLQ  bool // with MaxReceiveCount 3
	}{
		{"first attempt succeeds", 0, false},
		{"succeeds on the third attempt", 2, false},
		{"always fails", 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			svc := open(t, t.TempDir(), clk,
				sqsemu.QueueConfig{Name: "events", VisibilityTimeout: time.Minute, MaxReceiveCount: 3, DeadLetterQueue: "events-dlq"},
				sqsemu.QueueConfig{Name: "events-dlq"})
			send(t, svc, "events", s3Event)
			var mu sync.Mutex
			var payloads []string
			inv := invoker{fn: func(_ context.Context, function string, p []byte) ([]byte, error) {
				mu.Lock()
				defer mu.Unlock()
				if function != "Importer" {
					t.Errorf("invoked %s", function)
				}
				payloads = append(payloads, string(p))
				if len(payloads) <= tt.failures {
					return nil, &lambdaemu.FunctionError{Function: function, ErrorType: "Runtime.ExitError", ErrorMessage: "crashed"}
				}
				return []byte(`"done"`), nil
			}}
			calls := func() int { mu.Lock(); defer mu.Unlock(); return len(payloads) }
			if err := svc.StartRaw(t.Context(), inv, sqsemu.RawMapping{Queue: "events", Function: "Importer"}); err != nil {
				t.Fatalf("StartRaw: %v", err)
			}
			attempts := min(tt.failures+1, 3)
			for i := 1; i <= attempts; i++ {
				waitFor(t, fmt.Sprintf("attempt %d", i), func() bool { return calls() >= i })
				if i < attempts || tt.wantDLQ {
					waitFor(t, "the failure handled", func() bool { _, f := stats(t, svc, "events"); return f == 1 })
					clk.Advance(61 * time.Second)
				}
			}
			if tt.wantDLQ {
				waitFor(t, "the event in the dead-letter queue", func() bool { v, _ := stats(t, svc, "events-dlq"); return v == 1 })
			}
			waitFor(t, "the queue drained", func() bool { v, f := stats(t, svc, "events"); return v == 0 && f == 0 })
			mu.Lock()
			defer mu.Unlock()
			if len(payloads) != attempts {
				t.Errorf("%d invocations, want %d", len(payloads), attempts)
			}
			for i, p := range payloads {
				if p != s3Event {
					t.Errorf("invocation %d payload %s, want the body as is", i, p)
				}
			}
		})
	}
}
