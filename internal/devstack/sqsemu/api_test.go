package sqsemu_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSDKRoundTrip(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "jobs"}, sqsemu.QueueConfig{Name: "other"})
	c := client(t, svc)

	// The functions send with the queue URL from their environment.
	url := aws.String(queueURL("jobs"))
	bodies := []string{`{"n":0}`, "second ✓ <&>", strings.Repeat("x", 200*1024)}
	var entries []types.SendMessageBatchRequestEntry
	for i, b := range bodies {
		entries = append(entries, types.SendMessageBatchRequestEntry{
			Id: aws.String(fmt.Sprintf("e%d", i)), MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{
				"kind":  {DataType: aws.String("String"), StringValue: aws.String("test")},
				"n":     {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(i))},
				"bytes": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, byte(i)}},
			},
		})
	}
	sent, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(sent.Successful) != 3 || len(sent.Failed) != 0 {
		t.Fatalf("SendMessageBatch: %d successful, failed %+v", len(sent.Successful), sent.Failed)
	}
	idOf := map[string]string{} // message ID -> body
	for _, e := range sent.Successful {
		i, _ := strconv.Atoi(strings.TrimPrefix(aws.ToString(e.Id), "e"))
		idOf[aws.ToString(e.MessageId)] = bodies[i]
		if aws.ToString(e.MD5OfMessageAttributes) == "" {
			t.Errorf("entry %s: no MD5OfMessageAttributes", aws.ToString(e.Id))
		}
	}

	wantStats(t, svc, "jobs", 3, 0)

	got := receive(t, c, "jobs")
	if len(got.Messages) != 3 {
		t.Fatalf("received %d messages, want 3", len(got.Messages))
	}
	now := strconv.FormatInt(clk.Now().UnixMilli(), 10)
	for _, m := range got.Messages {
		id := aws.ToString(m.MessageId)
		if aws.ToString(m.Body) != idOf[id] {
			t.Errorf("message %s: wrong body", id)
		}
		if aws.ToString(m.MD5OfBody) != md5Hex(idOf[id]) {
			t.Errorf("message %s: MD5OfBody %s", id, aws.ToString(m.MD5OfBody))
		}
		for k, want := range map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": now, "ApproximateFirstReceiveTimestamp": now, "SenderId": "AKIDLOCALTEST"} {
			if m.Attributes[k] != want {
				t.Errorf("message %s: attribute %s = %q, want %q", id, k, m.Attributes[k], want)
			}
		}
		if len(m.MessageAttributes) != 3 || aws.ToString(m.MessageAttributes["kind"].StringValue) != "test" || m.MessageAttributes["bytes"].BinaryValue[1] != 1 {
			t.Errorf("message %s: message attributes %+v", id, m.MessageAttributes)
		}
		if aws.ToString(m.MD5OfMessageAttributes) == "" {
			t.Errorf("message %s: no MD5OfMessageAttributes", id)
		}
	}
	wantStats(t, svc, "jobs", 0, 3)

	// Only the requested attributes come back.
	clk.Advance(31 * time.Second)
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 1, MessageAttributeNames: []string{"kind"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("ReceiveMessage after the visibility timeout: %+v, %v", again, err)
	}
	m := again.Messages[0]
	if m.Attributes["ApproximateReceiveCount"] != "2" || len(m.Attributes) != 1 || len(m.MessageAttributes) != 1 {
		t.Fatalf("re-received message: %+v", m)
	}

	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	wantStats(t, svc, "jobs", 2, 0)
}

func TestSDKErrors(t *testing.T) {
	ctx := context.Background()
	svc := open(t, t.TempDir(), newClock(), sqsemu.QueueConfig{Name: "q"})
	c := client(t, svc)
	q := aws.String(queueURL("q"))
	entries := func(n int, body string) []types.SendMessageBatchRequestEntry {
		var es []types.SendMessageBatchRequestEntry
		for i := range n {
			es = append(es, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("id", i)), MessageBody: aws.String(body)})
		}
		return es
	}
	tests := []struct {
		name     string
		call     func() error
		wantCode string
		wantType any // a pointer to the typed error the SDK should return, or nil
	}{
		{"SendMessage to a missing queue", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL("nope")), MessageBody: aws.String("x")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", new(*types.QueueDoesNotExist)},
		{"empty batch", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: []types.SendMessageBatchRequestEntry{}})
			return err
		}, "AWS.SimpleQueueService.EmptyBatchRequest", new(*types.EmptyBatchRequest)},
		{"11 entries", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: entries(11, "x")})
			return err
		}, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", new(*types.TooManyEntriesInBatchRequest)},
		{"repeated ids", func() error {
			es := entries(2, "x")
			es[1].Id = es[0].Id
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: es})
			return err
		}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", new(*types.BatchEntryIdsNotDistinct)},
		{"invalid id", func() error {
			es := entries(1, "x")
			es[0].Id = aws.String("a b")
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: es})
			return err
		}, "AWS.SimpleQueueService.InvalidBatchEntryId", new(*types.InvalidBatchEntryId)},
		{"batch over 256 KiB", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: entries(2, strings.Repeat("x", 130*1024))})
			return err
		}, "AWS.SimpleQueueService.BatchRequestTooLong", new(*types.BatchRequestTooLong)},
		{"message over 256 KiB", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(strings.Repeat("x", 256*1024+1))})
			return err
		}, "InvalidParameterValue", nil},
		{"invalid character", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("a\x01b")})
			return err
		}, "InvalidMessageContents", new(*types.InvalidMessageContents)},
		{"reserved attribute name", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
				"AWS.x": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
			return err
		}, "InvalidParameterValue", nil},
		{"MaxNumberOfMessages 11", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue", nil},
		{"WaitTimeSeconds 21", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue", nil},
		{"DeleteMessage with a bad handle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: aws.String("garbage")})
			return err
		}, "ReceiptHandleIsInvalid", new(*types.ReceiptHandleIsInvalid)},
		{"CreateQueue", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("new")})
			return err
		}, "AWS.SimpleQueueService.UnsupportedOperation", new(*types.UnsupportedOperation)},
		{"PurgeQueue, which nothing uses", func() error {
			_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: q})
			return err
		}, "AWS.SimpleQueueService.UnsupportedOperation", new(*types.UnsupportedOperation)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want an API error %s", err, tt.wantCode)
			}
			if apiErr.ErrorCode() != tt.wantCode {
				t.Errorf("ErrorCode() = %q, want %q (%v)", apiErr.ErrorCode(), tt.wantCode, err)
			}
			if apiErr.ErrorFault() != smithy.FaultClient {
				t.Errorf("ErrorFault() = %v, want client", apiErr.ErrorFault())
			}
			if tt.wantType != nil && !errors.As(err, tt.wantType) {
				t.Errorf("error %T is not %T", apiErr, tt.wantType)
			}
		})
	}
	wantStats(t, svc, "q", 0, 0)
}

// Digests computed by other SQS implementations and clients.
func TestMessageAttributesMD5(t *testing.T) {
	svc := open(t, t.TempDir(), newClock(), sqsemu.QueueConfig{Name: "q"})
	c := client(t, svc)
	str := func(typ, v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(v)}
	}
	tests := []struct {
		attrs map[string]types.MessageAttributeValue
		want  string
	}{
		{map[string]types.MessageAttributeValue{"SellerName": str("String", "Example Store")}, "cd28f3b68aeee4b2eac9c66f2f694b58"},
		{map[string]types.MessageAttributeValue{"timestamp": str("Number", "1493147359900")}, "235c5c510d26fb653d073faed50ae77c"},
		{map[string]types.MessageAttributeValue{"ordinal": str("Number", "1"), "category": str("String", "test")}, "d21ae90c49061e927f57df5f5d72be1f"},
	}
	for _, tt := range tests {
		out, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL("q")), MessageBody: aws.String("b"), MessageAttributes: tt.attrs})
		if err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
		if got := aws.ToString(out.MD5OfMessageAttributes); got != tt.want {
			t.Errorf("MD5OfMessageAttributes of %v = %s, want %s", slices.Sorted(maps.Keys(tt.attrs)), got, tt.want)
		}
	}
	got := receive(t, c, "q")
	for _, m := range got.Messages {
		if len(m.MessageAttributes) == 0 || aws.ToString(m.MD5OfMessageAttributes) == "" {
			t.Errorf("received message without its attributes: %+v", m)
		}
	}
}

func TestVisibilityTimeout(t *testing.T) {
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "q", VisibilityTimeout: 30 * time.Second})
	c := client(t, svc)
	id := send(t, svc, "q", "hello")[0]

	first := receive(t, c, "q")
	if len(first.Messages) != 1 || first.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive: %+v", first.Messages)
	}
	firstTS := first.Messages[0].Attributes["ApproximateFirstReceiveTimestamp"]
	if n := len(receive(t, c, "q").Messages); n != 0 {
		t.Fatalf("received %d messages while the message is invisible", n)
	}
	wantStats(t, svc, "q", 0, 1)

	clk.Advance(29 * time.Second)
	if n := len(receive(t, c, "q").Messages); n != 0 {
		t.Fatalf("message reappeared before its visibility timeout")
	}
	clk.Advance(2 * time.Second)
	wantStats(t, svc, "q", 1, 0)
	second := receive(t, c, "q")
	if len(second.Messages) != 1 {
		t.Fatalf("message did not reappear after its visibility timeout")
	}
	m := second.Messages[0]
	if aws.ToString(m.MessageId) != id || aws.ToString(m.Body) != "hello" || m.Attributes["ApproximateReceiveCount"] != "2" || m.Attributes["ApproximateFirstReceiveTimestamp"] != firstTS {
		t.Fatalf("second receive: %+v", m)
	}
	if aws.ToString(m.ReceiptHandle) == aws.ToString(first.Messages[0].ReceiptHandle) {
		t.Errorf("the receipt handle did not change between receives")
	}

	// The first receive's handle is stale: deleting with it succeeds but
	// leaves the message to its current receiver, who can still delete it.
	ctx := context.Background()
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: first.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage with a stale handle: %v", err)
	}
	wantStats(t, svc, "q", 0, 1)
	// A per-receive visibility timeout overrides the queue's.
	clk.Advance(31 * time.Second)
	third := receive(t, c, "q", func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 5 })
	if len(third.Messages) != 1 {
		t.Fatalf("no message after the second receive's visibility timeout")
	}
	clk.Advance(6 * time.Second)
	wantStats(t, svc, "q", 1, 0)
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: third.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	wantStats(t, svc, "q", 0, 0)
	// Deleting again is not an error.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: third.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage of a deleted message: %v", err)
	}
}

func TestDelaySeconds(t *testing.T) {
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "q"})
	c := client(t, svc)
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL("q")), MessageBody: aws.String("later"), DelaySeconds: 10}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	wantStats(t, svc, "q", 0, 0)
	if n := len(receive(t, c, "q").Messages); n != 0 {
		t.Fatalf("delayed message received early")
	}
	clk.Advance(10 * time.Second)
	if n := len(receive(t, c, "q").Messages); n != 1 {
		t.Fatalf("delayed message not received after its delay")
	}
}

func TestDeadLetterQueue(t *testing.T) {
	clk := newClock()
	svc := open(t, t.TempDir(), clk,
		sqsemu.QueueConfig{Name: "work", VisibilityTimeout: 10 * time.Second, MaxReceiveCount: 3, DeadLetterQueue: "work-dlq"},
		sqsemu.QueueConfig{Name: "work-dlq"})
	c := client(t, svc)
	out, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(queueURL("work")), MessageBody: aws.String("poison"),
		MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	for i := 1; i <= 3; i++ {
		got := receive(t, c, "work")
		if len(got.Messages) != 1 || got.Messages[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d: %+v", i, got.Messages)
		}
		clk.Advance(11 * time.Second) // not deleted: a failed delivery
	}
	if got := receive(t, c, "work"); len(got.Messages) != 0 {
		t.Fatalf("message received a 4th time: %+v", got.Messages)
	}
	wantStats(t, svc, "work", 0, 0)
	wantStats(t, svc, "work-dlq", 1, 0)
	dead := receive(t, c, "work-dlq")
	if len(dead.Messages) != 1 {
		t.Fatalf("dead-letter queue holds %d messages", len(dead.Messages))
	}
	m := dead.Messages[0]
	if aws.ToString(m.MessageId) != aws.ToString(out.MessageId) || aws.ToString(m.Body) != "poison" ||
		aws.ToString(m.MessageAttributes["k"].StringValue) != "v" || m.Attributes["DeadLetterQueueSourceArn"] != queueARN("work") {
		t.Fatalf("dead letter: %+v", m)
	}
}

func TestLongPolling(t *testing.T) {
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "q", VisibilityTimeout: time.Second})
	c := client(t, svc)
	// poll long-polls in the background; the test moves the fake clock
	// once the receive waits on it, so no step depends on wall time.
	poll := func(wait int32) <-chan *sqs.ReceiveMessageOutput {
		done := make(chan *sqs.ReceiveMessageOutput, 1)
		go func() {
			out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL("q")), WaitTimeSeconds: wait,
				MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
			if err != nil {
				t.Errorf("ReceiveMessage: %v", err)
			}
			done <- out
		}()
		return done
	}
	result := func(what string, done <-chan *sqs.ReceiveMessageOutput) *sqs.ReceiveMessageOutput {
		t.Helper()
		select {
		case out := <-done:
			if out == nil {
				t.FailNow()
			}
			return out
		case <-time.After(10 * time.Second): // a hang, not a measurement
			t.Fatalf("%s: the long poll did not return", what)
			return nil
		}
	}
	waiting := func(timers int) {
		t.Helper()
		hang := make(chan struct{})
		defer time.AfterFunc(10*time.Second, func() { close(hang) }).Stop()
		if !clk.WaitForTimers(timers, hang) {
			t.Fatalf("the receive never waited on %d timers of the clock", timers)
		}
	}

	// Empty: it waits out WaitTimeSeconds, and returns then, not before.
	done := poll(1)
	waiting(1)
	clk.Advance(999 * time.Millisecond)
	select {
	case out := <-done:
		t.Fatalf("empty long poll returned %+v before its wait ended", out)
	default:
	}
	clk.Advance(time.Millisecond)
	if out := result("empty", done); len(out.Messages) != 0 {
		t.Fatalf("empty long poll got %d messages", len(out.Messages))
	}

	// A message sent during the wait ends it at once.
	done = poll(20)
	waiting(1)
	send(t, svc, "q", "wake up")
	if out := result("send", done); len(out.Messages) != 1 {
		t.Fatalf("long poll got %+v", out.Messages)
	}

	// A waiting receive also wakes when a visibility timeout ends.
	done = poll(5)
	waiting(2) // its wait, and the message's return
	clk.Advance(time.Second)
	out := result("visibility", done)
	if len(out.Messages) != 1 || out.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("long poll across the visibility timeout: %+v", out.Messages)
	}
}

func TestSendDelayed(t *testing.T) {
	// A delayed message is neither visible nor receivable until its delay
	// has passed on the service's clock, then it is an ordinary message.
	clk := newClock()
	svc := open(t, t.TempDir(), clk, sqsemu.QueueConfig{Name: "events"})
	if _, err := svc.SendDelayed(context.Background(), "events", "later", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	wantStats(t, svc, "events", 0, 0)
	clk.Advance(1999 * time.Millisecond)
	wantStats(t, svc, "events", 0, 0)
	clk.Advance(time.Millisecond)
	wantStats(t, svc, "events", 1, 0)
	if _, err := svc.SendDelayed(context.Background(), "events", "too late", 16*time.Minute); !errors.Is(err, sqsemu.ErrInvalidMessage) {
		t.Errorf("a 16-minute delay: %v, want ErrInvalidMessage", err)
	}
}
