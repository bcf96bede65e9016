package sqsqueue_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

const queueURL = "http://localhost/_local/sqs/123456789012/notices"

// localQueue is the dev stack's SQS on a fake clock, and an SDK client on it.
func localQueue(tb testing.TB) (*sqs.Client, *clock.Fake) {
	tb.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc, err := sqsemu.New([]sqsemu.QueueConfig{{Name: "notices"}}, sqsemu.Options{Dir: tb.TempDir(), Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	srv := httptest.NewServer(svc)
	tb.Cleanup(srv.Close)
	return sqs.New(sqs.Options{
		BaseEndpoint: aws.String(srv.URL + "/_local/sqs"), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), clk
}

func receive(tb testing.TB, c *sqs.Client) []string {
	tb.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
	if err != nil {
		tb.Fatal(err)
	}
	var bodies []string
	for _, m := range out.Messages {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	return bodies
}

func TestNoticeMessagesCarryIdsOnly(t *testing.T) {
	c, _ := localQueue(t)
	q := sqsqueue.NewNotices(c, queueURL)
	ref := accounts.NoticeRef{TenantID: "kpu", UserID: "abcdefghijklmnopqrstuvwxyz", NoticeID: "0194f2a0c0de00112233445566778899"}
	if err := q.Enqueue(context.Background(), ref, 0); err != nil {
		t.Fatal(err)
	}
	got := receive(t, c)
	want := `{"v":1,"tenant":"kpu","user":"abcdefghijklmnopqrstuvwxyz","notice":"0194f2a0c0de00112233445566778899"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("bodies %q, want exactly %q", got, want)
	}
	back, err := sqsqueue.DecodeNotice(got[0])
	if err != nil || back != ref {
		t.Errorf("decode: %+v %v", back, err)
	}
}

func TestNoticeDelays(t *testing.T) {
	cases := []struct {
		name  string
		delay time.Duration
		shown time.Duration // when the message becomes visible
	}{
		{"rounded up to a second", 30500 * time.Millisecond, 31 * time.Second},
		{"capped at SQS's 15 minutes", time.Hour, 900 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, clk := localQueue(t)
			q := sqsqueue.NewNotices(c, queueURL)
			ref := accounts.NoticeRef{TenantID: "kpu", UserID: "abcdefghijklmnopqrstuvwxyz", NoticeID: "0194f2a0c0de00112233445566778899"}
			if err := q.Enqueue(context.Background(), ref, tc.delay); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.shown - time.Second)
			if got := receive(t, c); len(got) != 0 {
				t.Fatalf("visible a second early: %q", got)
			}
			clk.Advance(time.Second)
			if got := receive(t, c); len(got) != 1 {
				t.Fatalf("not visible after %v: %q", tc.shown, got)
			}
		})
	}
}

func TestDecodeNoticeRefusesOtherBodies(t *testing.T) {
	for _, body := range []string{
		``, `{}`, `not json`,
		`{"v":2,"tenant":"kpu","user":"abcdefghijklmnopqrstuvwxyz","notice":"0194f2a0c0de00112233445566778899"}`,
		`{"v":1,"tenant":"KPU!","user":"abcdefghijklmnopqrstuvwxyz","notice":"0194f2a0c0de00112233445566778899"}`,
		`{"v":1,"tenant":"kpu","user":"x","notice":"0194f2a0c0de00112233445566778899"}`,
		`{"v":1,"tenant":"kpu","user":"abcdefghijklmnopqrstuvwxyz","notice":"zz"}`,
	} {
		if ref, err := sqsqueue.DecodeNotice(body); err == nil {
			t.Errorf("DecodeNotice(%q) = %+v, want an error", body, ref)
		}
	}
}
