package dynamostore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

func TestThrottleCountsFixedWindows(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	allow := func(key string, at time.Time) bool {
		t.Helper()
		ok, err := st.Allow(ctx, key, 3, time.Hour, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		key  string
		at   time.Time
		want bool
	}{
		{"a", start, true},
		{"a", start.Add(10 * time.Minute), true},
		{"a", start.Add(59 * time.Minute), true},
		{"a", start.Add(59*time.Minute + 59*time.Second), false}, // the fourth in the window
		{"b", start.Add(time.Minute), true},                      // keys are independent
		{"a", start.Add(time.Hour), true},                        // the next window starts afresh
		{"a", start.Add(time.Hour + time.Minute), true},
		{"a", start.Add(time.Hour + 2*time.Minute), true},
		{"a", start.Add(time.Hour + 3*time.Minute), false},
		{"b", start.Add(2 * time.Minute), true},
	} {
		if got := allow(tc.key, tc.at); got != tc.want {
			t.Errorf("request %d (%s at %s): allowed = %v, want %v", i, tc.key, tc.at.Format("15:04:05"), got, tc.want)
		}
	}

	// The counter expires by itself after its window.
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 3 {
		t.Errorf("%d counter items, want 3 (one per key and window)", out.Count)
	}
	for _, it := range out.Items {
		if _, ok := it["ttl"]; !ok {
			t.Errorf("counter %v has no ttl", it["pk"])
		}
	}
}

func TestThrottleAdmitsNoMoreThanTheLimitAtOnce(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.Allow(context.Background(), "k", 5, time.Hour, now)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 5 {
		t.Errorf("%d of 12 concurrent requests allowed, want 5", allowed)
	}
}
