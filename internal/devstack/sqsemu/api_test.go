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

	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatalf("GetQueueUrl: %v", err)
	}
	if got := aws.ToString(url.QueueUrl); got != queueURL("jobs") {
		t.Fatalf("QueueUrl = %q, want %q", got, queueURL("jobs"))
	}
	list, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("jo")})
	if err != nil || !slices.Equal(list.QueueUrls, []string{queueURL("jobs")}) {
		t.Fatalf("ListQueues = %v, %v", list, err)
	}

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
	sent, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url.QueueUrl, Entries: entries})
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

	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	for k, want := range map[string]string{
		"ApproximateNumberOfMessages": "3", "ApproximateNumberOfMessagesNotVisible": "0",
		"QueueArn": queueARN("jobs"), "VisibilityTimeout": "30", "MaximumMessageSize": "262144",
	} {
		if got := attrs.Attributes[k]; got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := attrs.Attributes["RedrivePolicy"]; ok {
		t.Errorf("RedrivePolicy reported for a queue without one")
	}

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
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: url.QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MessageAttributeNames: []string{"kind"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("ReceiveMessage after ChangeMessageVisibility 0: %+v, %v", again, err)
	}
	m := again.Messages[0]
	if aws.ToString(m.MessageId) != aws.ToString(got.Messages[0].MessageId) || m.Attributes["ApproximateReceiveCount"] != "2" || len(m.Attributes) != 1 || len(m.MessageAttributes) != 1 {
		t.Fatalf("re-received message: %+v", m)
	}

	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url.QueueUrl, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: got.Messages[1].ReceiptHandle},
		{Id: aws.String("b"), ReceiptHandle: aws.String("not-a-handle")},
	}})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(del.Successful) != 1 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" || !del.Failed[0].SenderFault {
		t.Fatalf("DeleteMessageBatch = %+v", del)
	}
	wantStats(t, svc, "jobs", 0, 1)

	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: url.QueueUrl}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	wantStats(t, svc, "jobs", 0, 0)
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
		{"GetQueueUrl of a missing queue", func() error {
			_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue", new(*types.QueueDoesNotExist)},
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
		{"unknown queue attribute", func() error {
			_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q, AttributeNames: []types.QueueAttributeName{"Bogus"}})
			return err
		}, "InvalidAttributeName", new(*types.InvalidAttributeName)},
		{"CreateQueue", func() error {
			_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("new")})
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
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: first.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err == nil {
		t.Errorf("ChangeMessageVisibility with a stale handle succeeded")
	}
	// A per-receive visibility timeout overrides the queue's.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	third := receive(t, c, "q", func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 5 })
	if len(third.Messages) != 1 {
		t.Fatalf("no message after ChangeMessageVisibility 0")
	}
	clk.Advance(6 * time.Second)
	wantStats(t, svc, "q", 1, 0)
	var notInflight *types.MessageNotInflight
	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: third.Messages[0].ReceiptHandle, VisibilityTimeout: 10})
	if !errors.As(err, &notInflight) {
		t.Errorf("ChangeMessageVisibility of a visible message: %v, want MessageNotInflight", err)
	}
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
	attrs, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL("work")), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if want := `{"deadLetterTargetArn":"` + queueARN("work-dlq") + `","maxReceiveCount":3}`; attrs.Attributes["RedrivePolicy"] != want {
		t.Errorf("RedrivePolicy = %s, want %s", attrs.Attributes["RedrivePolicy"], want)
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
	svc := open(t, t.TempDir(), nil, sqsemu.QueueConfig{Name: "q", VisibilityTimeout: time.Second})
	c := client(t, svc)
	ctx := context.Background()

	start := time.Now()
	got := receive(t, c, "q", func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 1 })
	if len(got.Messages) != 0 || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("empty long poll returned %d messages after %v", len(got.Messages), time.Since(start))
	}

	done := make(chan *sqs.ReceiveMessageOutput)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL("q")), WaitTimeSeconds: 20})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
		}
		done <- out
	}()
	time.Sleep(100 * time.Millisecond)
	send(t, svc, "q", "wake up")
	select {
	case out := <-done:
		if out == nil || len(out.Messages) != 1 {
			t.Fatalf("long poll got %+v", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("long poll did not return when a message arrived")
	}
	// With the real clock a waiting receive also wakes when a visibility
	// timeout ends.
	start = time.Now()
	got = receive(t, c, "q", func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 5 })
	if len(got.Messages) != 1 || got.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("long poll across the visibility timeout: %+v", got.Messages)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("message reappeared after %v, want about 1s", d)
	}
}
