package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

// benchHashMarker is the password hash the bench's users are created with:
// any other hash afterwards is one the reset made (an argon2id call).
const benchHashMarker = "$argon2id$bench-marker"

// BenchmarkLinkReset resets every user of a library in link mode through
// the whole local stack (shard scans and batches on the job queue, the
// jobs worker, conditional writes), next to the raw BatchWriteItem rate of
// the same DynamoDB Local measured in the same run.
func BenchmarkLinkReset(b *testing.B) {
	users := 100000
	if v, err := strconv.Atoi(os.Getenv("LIBACCOUNTS_BENCH_RESET_USERS")); err == nil && v > 0 {
		users = v // a shorter run while working on the pipeline
	}
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(b)
	}
	logs := &syncBuffer{}
	// The functions reach DynamoDB Local through a proxy that counts what
	// they write, key by key: the bench's own writes (creating the users,
	// the raw rate) go around it.
	counter, dynamoPort, proxyURL := startWriteCounter(b)
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: b.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		DynamoPort: dynamoPort, FunctionEnv: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": proxyURL},
		// The template's visibility timeouts, as on AWS (the job queue's
		// is 12 minutes, six times the worker's timeout). The stack's
		// default cap of a minute, made for tests that kill it, is below
		// what a jobs-worker invocation of ten batches takes on a busy
		// machine: each batch was then delivered again while its first
		// delivery still ran, every copy queued its 100 notices again, and
		// the load fed on itself (a 100,000-user run with the cap had 75,000
		// notices queued for 33,000 users changed, at 60 users/s).
		VisibilityCap: 15 * time.Minute,
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

	// The fast path: users written straight to the store, not imported.
	var g errgroup.Group
	g.SetLimit(16)
	now := time.Now().UTC()
	createStart := time.Now()
	var created atomic.Int64
	stopCreate := benchProgress("link reset: creating users", users, func() (int, string) { return int(created.Load()), "" })
	for i := range users {
		g.Go(func() error {
			u := accounts.User{TenantID: "kpu", ID: benchUserID(), Username: fmt.Sprintf("bench.%06d", i),
				Email: fmt.Sprintf("success+%d@simulator.amazonses.com", i), Status: accounts.StatusActive,
				PasswordHash: benchHashMarker, Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
			err := store.CreateUser(ctx, u, nil)
			created.Add(1)
			return err
		})
	}
	err = g.Wait()
	stopCreate()
	if err != nil {
		b.Fatal(err)
	}
	createTook := time.Since(createStart)
	fmt.Fprintf(os.Stderr, "link reset: created %d users in %v (%.0f users/s)\n", users, createTook.Round(time.Second), float64(users)/createTook.Seconds())

	// The raw rate: BatchWriteItem of items as large as a user's, 25 at a
	// time, as many writers as the worker's concurrency.
	raw := min(users, 20000)
	rawStart := time.Now()
	g.SetLimit(10)
	for batch := 0; batch < raw; batch += 25 {
		g.Go(func() error {
			var reqs []ddb.WriteRequest
			for i := batch; i < min(batch+25, raw); i++ {
				reqs = append(reqs, ddb.WriteRequest{PutRequest: &ddb.PutRequest{Item: map[string]ddb.AttributeValue{
					"pk": &ddb.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%06d", i)}, "sk": &ddb.AttributeValueMemberS{Value: "RAW"},
					"pad": &ddb.AttributeValueMemberS{Value: fmt.Sprintf("%0400d", i)},
				}}})
			}
			in := map[string][]ddb.WriteRequest{stack.TableName: reqs}
			for len(in) > 0 {
				out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: in})
				if err != nil {
					return err
				}
				in = out.UnprocessedItems
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	rawRate := float64(raw) / time.Since(rawStart).Seconds()

	admin := client{tb: b, base: st.APIURL}.login("kpu", "admin", adminPassword)
	b.ResetTimer()
	counter.reset()
	start := time.Now()
	status, body := admin.do("POST", "/v1/admin/password-resets", map[string]any{"scope": "all", "mode": "link"})
	if status != 202 {
		b.Fatalf("start reset: %d %v", status, body)
	}
	jobID, _ := body["jobId"].(string)
	// What a run may take: a floor of 50 users/s, a tenth of what the
	// pipeline does on a laptop, so a regression fails the bench rather
	// than run for an hour.
	deadline := time.Now().Add(2*time.Minute + time.Duration(users)*20*time.Millisecond)
	var job atomic.Value
	job.Store(map[string]any{})
	changedOf := func(j map[string]any) int {
		c, _ := j["counts"].(map[string]any)
		n, _ := c["changed"].(float64)
		return int(n)
	}
	stopReset := benchProgress("link reset: resetting", users, func() (int, string) {
		j := job.Load().(map[string]any)
		jv, jf, _ := st.QueueStats("JobQueue")
		nv, nf, _ := st.QueueStats("NoticeQueue")
		return changedOf(j), fmt.Sprintf("job %v%%, job queue %d+%d in flight, notice queue %d+%d in flight", j["percent"], jv, jf, nv, nf)
	})
	for time.Now().Before(deadline) {
		_, j := admin.do("GET", "/v1/admin/jobs/"+jobID, nil)
		job.Store(j)
		if s, _ := j["status"].(string); accounts.JobStatus(s).Final() {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stopReset()
	if j := job.Load().(map[string]any); j["status"] != string(accounts.JobCompleted) || changedOf(j) != users {
		out := logs.String()
		b.Fatalf("after %v: job %v, want completed with %d changed; the stack's last logs:\n%s", elapsed.Round(time.Second), j, users, out[max(0, len(out)-8000):])
	}

	// Hashes the reset wrote: link mode without invalidateCurrent must
	// leave every password as it was, so no argon2id call was needed.
	hashed := 0
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName: aws.String(stack.TableName), Select: ddb.SelectCount,
		FilterExpression:          aws.String("sk = :user AND begins_with(username, :bench) AND passwordHash <> :marker"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":user": &ddb.AttributeValueMemberS{Value: "USER"}, ":bench": &ddb.AttributeValueMemberS{Value: "bench."}, ":marker": &ddb.AttributeValueMemberS{Value: benchHashMarker}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		hashed += int(out.Count)
	}

	// Counted, not estimated: every item the functions wrote (or tried
	// to: a write whose condition failed costs capacity too) during the
	// reset, by partition key of the table (index partitions not counted).
	w := counter.snapshot()
	rate := float64(users) / elapsed.Seconds()
	fmt.Printf("link reset: %d users in %v: %.0f users/s; raw BatchWriteItem %.0f items/s on the same DynamoDB Local (%.2f of raw); "+
		"password hashes written (argon2id calls): %d; DynamoDB requests per user: %.3f (%s); items written: %d; "+
		"hottest partition key %s: %d writes, at most %d in one second (%.1f/s over the run); busiest key-second anywhere: %d writes\n",
		users, elapsed.Round(time.Second), rate, rawRate, rate/rawRate, hashed, float64(w.requests)/float64(users), w.opsSummary(),
		w.items, w.hottest, w.hottestWrites, w.hottestPeak, float64(w.hottestWrites)/elapsed.Seconds(), w.peak)
	b.ReportMetric(rate, "users/s")
	b.ReportMetric(rate/rawRate, "of-raw")
	b.ReportMetric(float64(hashed), "argon2id-calls")
}

// benchProgress prints, every 10 s until stopped, how far a long phase has
// got and its rate over the last interval, so that a slow run shows where
// it is slow (and whether it slows down as the table grows) while it runs.
func benchProgress(label string, total int, done func() (int, string)) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		start, last, lastAt := time.Now(), 0, time.Now()
		for {
			select {
			case <-quit:
				return
			case now := <-tick.C:
				n, extra := done()
				fmt.Fprintf(os.Stderr, "%s: %d/%d after %v, %.0f/s over the last %v, %.0f/s overall; %s\n", label, n, total,
					now.Sub(start).Round(time.Second), float64(n-last)/now.Sub(lastAt).Seconds(), now.Sub(lastAt).Round(time.Second),
					float64(n)/now.Sub(start).Seconds(), extra)
				last, lastAt = n, now
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// writeCounter is a reverse proxy in front of DynamoDB Local that counts
// requests by operation and the items each writes by partition key and
// second: the stack's functions are other processes, so their writes are
// seen on the wire.
type writeCounter struct {
	mu       sync.Mutex
	ops      map[string]int
	perKey   map[string]int
	perKeyAt map[string]map[int64]int
}

type writeCounts struct {
	requests, items            int
	ops                        map[string]int
	hottest                    string
	hottestWrites, hottestPeak int
	peak                       int
}

func (w writeCounts) opsSummary() string {
	var parts []string
	for op, n := range w.ops {
		parts = append(parts, fmt.Sprintf("%s %d", op, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// startWriteCounter picks DynamoDB Local's port and starts the proxy to it.
func startWriteCounter(tb testing.TB) (*writeCounter, int, string) {
	tb.Helper()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	target, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	c := &writeCounter{}
	c.reset()
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		c.count(strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810."), body)
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return c, port, "http://" + ln.Addr().String()
}

func (c *writeCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops, c.perKey, c.perKeyAt = map[string]int{}, map[string]int{}, map[string]map[int64]int{}
}

// count notes one request and the partition keys of the items it writes.
func (c *writeCounter) count(op string, body []byte) {
	type attr struct {
		S string `json:"S"`
	}
	type item map[string]attr
	var req struct {
		Item          item `json:"Item"`
		Key           item `json:"Key"`
		TransactItems []struct {
			Put    *struct{ Item item } `json:"Put"`
			Update *struct{ Key item }  `json:"Update"`
			Delete *struct{ Key item }  `json:"Delete"`
		} `json:"TransactItems"`
		RequestItems map[string]json.RawMessage `json:"RequestItems"`
	}
	var pks []string
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem":
		if json.Unmarshal(body, &req) != nil {
			break
		}
		pks = append(pks, req.Item["pk"].S, req.Key["pk"].S)
		for _, t := range req.TransactItems {
			switch {
			case t.Put != nil:
				pks = append(pks, t.Put.Item["pk"].S)
			case t.Update != nil:
				pks = append(pks, t.Update.Key["pk"].S)
			case t.Delete != nil:
				pks = append(pks, t.Delete.Key["pk"].S)
			}
		}
		if op == "BatchWriteItem" {
			for _, raw := range req.RequestItems {
				var writes []struct {
					PutRequest    *struct{ Item item } `json:"PutRequest"`
					DeleteRequest *struct{ Key item }  `json:"DeleteRequest"`
				}
				_ = json.Unmarshal(raw, &writes)
				for _, w := range writes {
					if w.PutRequest != nil {
						pks = append(pks, w.PutRequest.Item["pk"].S)
					}
					if w.DeleteRequest != nil {
						pks = append(pks, w.DeleteRequest.Key["pk"].S)
					}
				}
			}
		}
	}
	sec := time.Now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[op]++
	for _, pk := range pks {
		if pk == "" {
			continue
		}
		c.perKey[pk]++
		at := c.perKeyAt[pk]
		if at == nil {
			at = map[int64]int{}
			c.perKeyAt[pk] = at
		}
		at[sec]++
	}
}

func (c *writeCounter) snapshot() writeCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := writeCounts{ops: map[string]int{}}
	for op, n := range c.ops {
		w.ops[op], w.requests = n, w.requests+n
	}
	for pk, n := range c.perKey {
		w.items += n
		if n > w.hottestWrites {
			w.hottest, w.hottestWrites = pk, n
		}
		for _, m := range c.perKeyAt[pk] {
			w.peak = max(w.peak, m)
		}
	}
	for _, m := range c.perKeyAt[w.hottest] {
		w.hottestPeak = max(w.hottestPeak, m)
	}
	return w
}
