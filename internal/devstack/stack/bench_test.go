package stack_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// BenchmarkImport measures a 2,000-row LibraryPass-style file through the whole local
// pipeline (pre-signed upload, S3 event, ingest, queue, worker) with the
// production argon2id cost, as a share of this machine's hashing limit
// (cores ÷ one hash) measured in the same run.
func BenchmarkImport(b *testing.B) {
	st, _ := startStack(b)
	admin := client{tb: b, base: st.APIURL}.login("kpu", "admin", adminPassword)
	h := passhash.New(passhash.DefaultParams())
	var hashes []time.Duration
	for range 20 {
		t := time.Now()
		_, _ = h.Hash("a long enough passphrase 0000")
		hashes = append(hashes, time.Since(t))
	}
	limit := float64(runtime.NumCPU()) / pct(hashes, 50).Seconds()
	// argon2id is memory-hard: all cores hashing at once is slower per
	// hash than one core alone. Measure that too.
	par := parallelHashRate(h, 3*time.Second)

	const rows = 2000
	var file strings.Builder
	for i := range rows {
		fmt.Fprintf(&file, "bench%04d,a long enough passphrase %04d\n", i, i)
	}
	status, body := admin.do("POST", "/v1/admin/imports", map[string]any{})
	if status != 201 {
		b.Fatalf("start import: %d %v", status, body)
	}
	b.ResetTimer()
	start := time.Now()
	putFile(b, body["uploadUrl"].(string), file.String())
	j := waitJob(b, admin, body["importId"].(string))
	elapsed := time.Since(start)
	b.StopTimer()
	if c := j["counts"].(map[string]any); c["created"] != float64(rows) {
		b.Fatalf("import: %v", j)
	}
	rate := rows / elapsed.Seconds()
	fmt.Printf("import of %d rows through the local stack: %.1fs, %.0f rows/s\n", rows, elapsed.Seconds(), rate)
	fmt.Printf("  hashing limit, %d cores / %v per hash: %.0f rows/s -> %.2f of it\n", runtime.NumCPU(), pct(hashes, 50).Round(time.Millisecond), limit, rate/limit)
	fmt.Printf("  hashing measured with every core busy: %.0f hashes/s -> %.2f of it (DynamoDB Local shares these cores)\n", par, rate/par)
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(rate/limit, "of-hash-limit")
}

// BenchmarkIngestMemory scans a 500,000-row dry run in the real ingest
// function and prints that process's peak RSS: the file is streamed, so it
// must stay flat whatever the file's size.
func BenchmarkIngestMemory(b *testing.B) {
	st, _ := startStack(b)
	admin := client{tb: b, base: st.APIURL}.login("kpu", "admin", adminPassword)
	const rows = 500000
	var file strings.Builder
	file.Grow(rows * 40)
	for i := range rows {
		fmt.Fprintf(&file, "member%06d,a long enough passphrase %06d\n", i, i)
	}
	status, body := admin.do("POST", "/v1/admin/imports", map[string]any{"dryRun": true})
	if status != 201 {
		b.Fatalf("start import: %d %v", status, body)
	}
	id := body["importId"].(string)
	b.ResetTimer()
	start := time.Now()
	putFile(b, body["uploadUrl"].(string), file.String())
	for {
		_, j := admin.do("GET", "/v1/admin/imports/"+id, nil)
		if j["status"] != "pending" && j["status"] != "validating" {
			break
		}
		if time.Since(start) > 3*time.Minute {
			b.Fatalf("ingest did not finish: %v", j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	scan := time.Since(start)
	b.StopTimer()
	// The scan is what is measured; the dry run's rows need not run.
	admin.do("POST", "/v1/admin/imports/"+id+"/cancel", nil)
	var peak int64
	for _, pid := range st.PIDs("ImportsIngestFunction") {
		peak = max(peak, vmHWM(b, pid))
	}
	fmt.Printf("ingest of a %d-row (%.0f MB) file: %.1fs; ingest function peak RSS %.1f MB\n", rows, float64(file.Len())/(1<<20), scan.Seconds(), float64(peak)/(1<<20))
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
}

// vmHWM reads a process's peak resident set size from /proc.
func vmHWM(tb testing.TB, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("read peak RSS: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc status")
	return 0
}

// parallelHashRate hashes on every core at once for d and returns hashes/s.
func parallelHashRate(h *passhash.Hasher, d time.Duration) float64 {
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	stop := time.Now().Add(d)
	start := time.Now()
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				_, _ = h.Hash("a long enough passphrase 0000")
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}
