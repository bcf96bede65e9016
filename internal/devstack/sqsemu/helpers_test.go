package sqsemu_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
)

const (
	testRegion  = "eu-west-1"
	testAccount = "000000000042"
	testBaseURL = "http://127.0.0.1:3000/_local/sqs"
)

func newClock() *clock.Fake { return clock.NewFake(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) }

// open opens a Service on dir with clk (nil: the real clock) and closes it
// when the test ends.
func open(tb testing.TB, dir string, clk *clock.Fake, queues ...sqsemu.QueueConfig) *sqsemu.Service {
	tb.Helper()
	opts := sqsemu.Options{
		Dir: dir, Region: testRegion, AccountID: testAccount, BaseURL: testBaseURL,
		Logger: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if clk != nil {
		opts.Clock = clk
	}
	svc, err := sqsemu.New(queues, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := svc.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return svc
}

// client returns the real SDK client talking to svc over HTTP, mounted
// under /_local/sqs as the local stack mounts it.
func client(tb testing.TB, svc *sqsemu.Service) *sqs.Client {
	tb.Helper()
	srv := httptest.NewServer(svc)
	tb.Cleanup(srv.Close)
	return newSDKClient(srv.URL + "/_local/sqs")
}

// newSDKClient returns an SDK client for endpoint that does not retry, so
// that tests see every failure.
func newSDKClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		BaseEndpoint:     aws.String(endpoint),
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCALTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: inMemoryBodies{http.DefaultTransport.(*http.Transport).Clone()}},
	})
}

// inMemoryBodies works around a client-side race between smithy-go and
// net/http that a local server is fast enough to hit (about one request in
// a thousand here): net/http does not know smithy's request body wrapper is
// in memory, so it sends the body before it has finished with it; when the
// response arrives first, smithy closes the wrapper, whose WriteTo then
// returns io.EOF to net/http's final probe read, and net/http closes the
// connection while the response body is being read ("use of closed network
// connection"). The SDK's default retryer retries that error; these tests
// do not retry, so they hand net/http a plain in-memory body instead.
type inMemoryBodies struct{ rt http.RoundTripper }

func (t inMemoryBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return t.rt.RoundTrip(r)
	}
	data, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	return t.rt.RoundTrip(r)
}

func queueURL(name string) string { return testBaseURL + "/" + testAccount + "/" + name }

func queueARN(name string) string {
	return "arn:aws:sqs:" + testRegion + ":" + testAccount + ":" + name
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stats(tb testing.TB, svc *sqsemu.Service, queue string) (visible, inFlight int) {
	tb.Helper()
	v, f, err := svc.Stats(queue)
	if err != nil {
		tb.Fatalf("Stats(%s): %v", queue, err)
	}
	return v, f
}

func wantStats(tb testing.TB, svc *sqsemu.Service, queue string, visible, inFlight int) {
	tb.Helper()
	if v, f := stats(tb, svc, queue); v != visible || f != inFlight {
		tb.Fatalf("Stats(%s) = %d visible, %d in flight; want %d, %d", queue, v, f, visible, inFlight)
	}
}

func send(tb testing.TB, svc *sqsemu.Service, queue string, bodies ...string) []string {
	tb.Helper()
	ids := make([]string, len(bodies))
	for i, b := range bodies {
		id, err := svc.Send(context.Background(), queue, b)
		if err != nil {
			tb.Fatalf("Send(%s, %q): %v", queue, b, err)
		}
		ids[i] = id
	}
	return ids
}

// receive receives up to 10 messages with all attributes, without waiting.
func receive(tb testing.TB, c *sqs.Client, queue string, opts ...func(*sqs.ReceiveMessageInput)) *sqs.ReceiveMessageOutput {
	tb.Helper()
	in := &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL(queue)), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}, MessageAttributeNames: []string{"All"},
	}
	for _, o := range opts {
		o(in)
	}
	out, err := c.ReceiveMessage(context.Background(), in)
	if err != nil {
		tb.Fatalf("ReceiveMessage(%s): %v", queue, err)
	}
	return out
}
