package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// BenchmarkLoginTiming measures whether sign-in's timing tells which
// usernames exist: a wrong password on an existing account against an
// unknown username, interleaved, through the whole local stack with the
// deployment's argon2id parameters. Status, body and headers are the same
// for both; the medians should be too.
func BenchmarkLoginTiming(b *testing.B) {
	tries := 300
	if v, err := strconv.Atoi(os.Getenv("LIBACCOUNTS_BENCH_LOGIN_TRIES")); err == nil && v > 0 {
		tries = v
	}
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(b)
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: b.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
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

	// Three wrong tries per account, below any lockout threshold, so every
	// try is an ordinary failure; one real hash for all of them (what a
	// sign-in verifies costs the same whoever's hash it is).
	const perAccount = 3
	hash, err := passhash.New(passhash.DefaultParams()).Hash("the right passphrase for all of them")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	accountsNeeded := (tries+warmup)/perAccount + 1
	names := make([]string, accountsNeeded)
	for i := range names {
		u := accounts.User{TenantID: "kpu", ID: benchUserID(), Username: fmt.Sprintf("timing.%04d", i), Status: accounts.StatusActive,
			PasswordHash: hash, Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := store.CreateUser(ctx, u, nil); err != nil {
			b.Fatal(err)
		}
		names[i] = u.Username
	}

	// Many clients, as on the internet: each source address makes fewer
	// attempts than the per-source throttle allows, so neither kind is
	// ever answered by the throttle instead of the sign-in path.
	var sent int
	attempt := func(username string) (time.Duration, int) {
		src := net.IPv4(127, 0, byte(1+sent/(perSourceTries*256)), byte(2+(sent/perSourceTries)%250))
		sent++
		hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext, DisableKeepAlives: true}}
		body, _ := json.Marshal(map[string]string{"tenant": "kpu", "username": username, "password": "not the passphrase " + strconv.Itoa(sent)})
		req, _ := http.NewRequest(http.MethodPost, st.APIURL+"/v1/auth/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode
	}
	var wrong, unknown []time.Duration
	account := 0
	try := func(record bool, i int) {
		// Alternate which goes first, so that neither always follows the
		// other's work.
		w := func() {
			d, status := attempt(names[account/perAccount])
			account++
			if status != http.StatusUnauthorized {
				b.Fatalf("wrong password: %d, want 401", status)
			}
			if record {
				wrong = append(wrong, d)
			}
		}
		u := func() {
			d, status := attempt(fmt.Sprintf("nobody.%04d.%s", i, benchUserID()[:6]))
			if status != http.StatusUnauthorized {
				b.Fatalf("unknown username: %d, want 401", status)
			}
			if record {
				unknown = append(unknown, d)
			}
		}
		if i%2 == 0 {
			w()
			u()
		} else {
			u()
			w()
		}
	}
	// Warm every path (function start, JIT of DynamoDB Local) first.
	for i := range warmup {
		try(false, -1-i)
	}
	b.ResetTimer()
	for i := range tries {
		try(true, i)
	}
	b.StopTimer()
	mw, mu := median(wrong), median(unknown)
	diff := mw - mu
	fmt.Printf("login timing: %d interleaved tries each through the local stack, argon2id m=%d KiB t=%d p=%d: wrong password on an existing account median %.2f ms, unknown username median %.2f ms, difference %+.2f ms (ratio %.3f; aim: under 1 ms)\n",
		tries, passhash.DefaultParams().MemoryKiB, passhash.DefaultParams().Time, passhash.DefaultParams().Threads, ms(mw), ms(mu), ms(diff), float64(mw)/float64(mu))
	b.ReportMetric(ms(mw), "ms-wrong-password")
	b.ReportMetric(ms(mu), "ms-unknown-user")
	b.ReportMetric(ms(diff), "ms-difference")
}

const (
	warmup         = 10
	perSourceTries = 40 // below the sign-in source throttle's 100 per window
)

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
