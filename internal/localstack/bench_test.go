package localstack_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/passhash"
)

// BenchmarkLogin measures sign-in through the whole local stack (gateway,
// authorizer-free login route, Lambda Runtime API, DynamoDB Local) at 20
// concurrent clients, and states it as a multiple of one argon2id verify on
// this machine measured in the same run. It also compares refusals for an
// unknown user and a wrong password, which should cost about the same.
func BenchmarkLogin(b *testing.B) {
	st, _ := startStack(b)
	base := client{tb: b, base: st.APIURL}
	base.login("kpu", "admin", adminPassword) // warm the function

	h := passhash.New(passhash.DefaultParams())
	enc, _ := h.Hash(adminPassword)
	var verify []time.Duration
	for range 15 {
		t := time.Now()
		h.Verify(adminPassword, enc)
		verify = append(verify, time.Since(t))
	}
	one := pct(verify, 50)

	const clients, perClient = 20, 10
	lat := make([]time.Duration, 0, clients*perClient)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				t := time.Now()
				status, _ := base.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": "admin", "password": adminPassword})
				d := time.Since(t)
				if status != 200 {
					b.Errorf("login status %d", status)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)

	refusal := func(username, password string) time.Duration {
		var ds []time.Duration
		for range 15 {
			t := time.Now()
			base.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": username, "password": password})
			ds = append(ds, time.Since(t))
		}
		return pct(ds, 50)
	}
	unknown := refusal("nobody-at-all", "some password here")
	// Two wrong passwords at most, so the admin is not locked out.
	wrong := func() time.Duration {
		var ds []time.Duration
		for range 4 {
			t := time.Now()
			base.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": "admin", "password": "not the admin password"})
			ds = append(ds, time.Since(t))
		}
		return pct(ds, 50)
	}()

	p50, p99 := pct(lat, 50), pct(lat, 99)
	// With every client waiting on argon2id, a login queues behind
	// clients/cores others: that ratio is the floor on this machine.
	fmt.Printf("cores %d: the queueing floor for p50 is about %.0fx verify; DynamoDB Local shares these cores\n", runtime.NumCPU(), float64(clients)/float64(runtime.NumCPU()))
	fmt.Printf("argon2id verify (m=19456 KiB, t=2, p=1), one core:  %v\n", one.Round(time.Microsecond))
	fmt.Printf("login through the local stack, %d clients x %d:   p50 %v (%.1fx verify), p99 %v (%.1fx verify), %.1f logins/s\n",
		clients, perClient, p50.Round(time.Millisecond), ratio(p50, one), p99.Round(time.Millisecond), ratio(p99, one), float64(len(lat))/elapsed.Seconds())
	fmt.Printf("refusal p50, sequential: unknown user %v (%.1fx verify), wrong password %v (%.1fx verify)\n",
		unknown.Round(time.Millisecond), ratio(unknown, one), wrong.Round(time.Millisecond), ratio(wrong, one))
	b.ReportMetric(ratio(p50, one), "p50/verify")
	b.ReportMetric(ratio(p99, one), "p99/verify")
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
