package stack_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
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

	// The fast path: users written straight to the store, not imported.
	var g errgroup.Group
	g.SetLimit(16)
	now := time.Now().UTC()
	createStart := time.Now()
	for i := range users {
		g.Go(func() error {
			u := accounts.User{TenantID: "kpu", ID: benchUserID(), Username: fmt.Sprintf("bench.%06d", i),
				Email: fmt.Sprintf("success+%d@simulator.amazonses.com", i), Status: accounts.StatusActive,
				PasswordHash: benchHashMarker, Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
			return store.CreateUser(ctx, u, nil)
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "link reset: created %d users in %v\n", users, time.Since(createStart).Round(time.Second))

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
	start := time.Now()
	status, body := admin.do("POST", "/v1/admin/password-resets", map[string]any{"scope": "all", "mode": "link"})
	if status != 202 {
		b.Fatalf("start reset: %d %v", status, body)
	}
	jobID, _ := body["jobId"].(string)
	var job map[string]any
	deadline := time.Now().Add(time.Duration(users/20)*time.Second + 5*time.Minute)
	for time.Now().Before(deadline) {
		_, job = admin.do("GET", "/v1/admin/jobs/"+jobID, nil)
		if s, _ := job["status"].(string); accounts.JobStatus(s).Final() {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if s, _ := job["status"].(string); s != string(accounts.JobCompleted) {
		out := logs.String()
		b.Fatalf("job %v; the stack's last logs:\n%s", job, out[max(0, len(out)-8000):])
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

	// The hottest key is the job's own partition: every task writes its
	// record there in one transaction with the job's counters, and then
	// raises the job's percent. Counted from the records the run left.
	records := 0
	q := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
		TableName: aws.String(stack.TableName), Select: ddb.SelectCount,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":pk": &ddb.AttributeValueMemberS{Value: "T#kpu#JOB#" + jobID}},
	})
	for q.HasMorePages() {
		out, err := q.NextPage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		records += int(out.Count)
	}
	jobWrites := 3 * records
	rate := float64(users) / elapsed.Seconds()
	fmt.Printf("link reset: %d users in %v: %.0f users/s; raw BatchWriteItem %.0f items/s on the same DynamoDB Local (%.2f of raw); "+
		"password hashes written (argon2id calls): %d; hottest partition key (the job's): ~%d writes (%d items x 3) in %v = %.1f writes/s; a user's partition: 2 writes\n",
		users, elapsed.Round(time.Second), rate, rawRate, rate/rawRate, hashed, jobWrites, records, elapsed.Round(time.Second), float64(jobWrites)/elapsed.Seconds())
	b.ReportMetric(rate, "users/s")
	b.ReportMetric(rate/rawRate, "of-raw")
	b.ReportMetric(float64(hashed), "argon2id-calls")
}
