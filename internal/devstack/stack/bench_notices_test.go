package stack_test

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

// BenchmarkNotices drains 10,000 reset-link notices (the bulk-reset case)
// through the local stack's notice queue, worker and SES at a configured
// 50 sends/s, with the local SES refusing anything faster as SES does. It
// prints the drain time, the rate achieved as a share of the one
// configured (aim: at least 0.9), and how often SES answered Throttling
// (aim: never).
func BenchmarkNotices(b *testing.B) {
	const rate = 50
	notices := 10000
	if v, err := strconv.Atoi(os.Getenv("LIBACCOUNTS_BENCH_NOTICES")); err == nil && v > 0 {
		notices = v // a shorter run while working on the pipeline
	}
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(b)
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: b.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		Parameters: map[string]string{"NoticeSendRate": fmt.Sprint(rate)}, SESMaxRate: rate,
	})
	if err != nil {
		b.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	b.Cleanup(st.Close)
	ctx := context.Background()
	db, err := dynamodblocal.NewClient(ctx, st.DynamoEndpoint)
	if err != nil {
		b.Fatal(err)
	}
	store := dynamostore.New(db, stack.TableName)
	queue := sqsqueue.NewNotices(sqs.New(sqs.Options{
		BaseEndpoint: aws.String(st.APIURL + "/_local/sqs"), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), st.APIURL+"/_local/sqs/123456789012/NoticeQueue")

	// What a bulk reset leaves behind: per user, a queued notice and its
	// message. Written straight to the store and queue, so that the
	// measurement is the pipeline's and not the API's.
	b.ResetTimer()
	var g errgroup.Group
	g.SetLimit(8)
	now := time.Now().UTC()
	for i := range notices {
		g.Go(func() error {
			u := accounts.User{TenantID: "kpu", ID: benchUserID(), Username: fmt.Sprintf("bench.%05d", i),
				Email: fmt.Sprintf("success+%d@simulator.amazonses.com", i), Status: accounts.StatusActive,
				PasswordHash: "$argon2id$x", Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := store.CreateUser(ctx, u, nil); err != nil {
				return fmt.Errorf("user %d: %w", i, err)
			}
			id := noticeID(now)
			nt := accounts.Notice{TenantID: "kpu", UserID: u.ID, ID: id, Kind: accounts.NoticeResetLink, Status: accounts.NoticeQueued,
				To: u.Email, CreatedAt: now, UpdatedAt: now}
			if err := store.PutNotice(ctx, nt, nil); err != nil {
				return fmt.Errorf("notice %d: %w", i, err)
			}
			return queue.Enqueue(ctx, accounts.NoticeRef{TenantID: "kpu", UserID: u.ID, NoticeID: id}, 0)
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}

	// Measured from the first sends seen to the last.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(3*time.Duration(notices/rate)*time.Second + time.Minute)
	var start time.Time
	var startCount int
	for st.SESStats().Accepted < notices && time.Now().Before(deadline) {
		<-tick.C
		if start.IsZero() {
			if n := st.SESStats().Accepted; n > 0 {
				start, startCount = time.Now(), n
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	s := st.SESStats()
	achieved := float64(s.Accepted-startCount) / elapsed.Seconds()
	fmt.Printf("notices: %d of %d sent in %v at a configured %d/s: %.1f/s achieved (%.2f of configured), %d Throttling answers from SES, %d events published\n",
		s.Accepted, notices, elapsed.Round(time.Second), rate, achieved, achieved/rate, s.Throttled, s.Events)
	if s.Accepted < notices {
		out := logs.String()
		b.Errorf("only %d of %d notices sent before the deadline; the stack's last logs:\n%s", s.Accepted, notices, out[max(0, len(out)-8000):])
	}
	b.ReportMetric(achieved/rate, "achieved/configured")
	b.ReportMetric(float64(s.Throttled), "throttled")
}

// benchUserID is a user id of the domain's shape (26 base32 letters): the
// worker refuses a message with any other.
func benchUserID() string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(r[:]))
}

// noticeID is a time-ordered notice id as the domain makes them: 48 bits of
// milliseconds, then 80 random bits, in hex.
func noticeID(now time.Time) string {
	var r [10]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%012x", now.UnixMilli()) + hex.EncodeToString(r[:])
}
