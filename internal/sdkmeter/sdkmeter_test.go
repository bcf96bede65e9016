package sdkmeter_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/sdkmeter"
)

// metered returns a client of a fresh table with m on its stack, as
// lambdamain registers it (through the client's APIOptions).
func metered(tb testing.TB, m *sdkmeter.Meter) (*dynamodb.Client, string) {
	tb.Helper()
	c, table := ddbtest.TestTable(tb)
	return dynamodb.New(c.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, m.Register) }), table
}

func s(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }

func key(pk string) map[string]ddb.AttributeValue {
	return map[string]ddb.AttributeValue{"pk": s(pk), "sk": s("X")}
}

func TestEveryCapacityAPIIsCountedWithItsUnits(t *testing.T) {
	m := sdkmeter.New("pk")
	c, table := metered(t, m)
	ctx := context.Background()
	tn := aws.String(table)
	cases := []struct {
		api         string
		call        func() error
		read, write bool     // units expected
		keys        []string // partition keys written
	}{
		{"PutItem", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: tn, Item: key("A")})
			return err
		}, false, true, []string{"A"}},
		{"GetItem", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: tn, Key: key("A")})
			return err
		}, true, false, nil},
		{"UpdateItem", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: tn, Key: key("A"), UpdateExpression: aws.String("SET n = :one"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":one": &ddb.AttributeValueMemberN{Value: "1"}}})
			return err
		}, false, true, []string{"A"}},
		{"Query", func() error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: tn, KeyConditionExpression: aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":pk": s("A")}})
			return err
		}, true, false, nil},
		{"Scan", func() error {
			_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: tn})
			return err
		}, true, false, nil},
		{"BatchWriteItem", func() error {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddb.WriteRequest{table: {
				{PutRequest: &ddb.PutRequest{Item: key("B")}}, {PutRequest: &ddb.PutRequest{Item: key("C")}}, {DeleteRequest: &ddb.DeleteRequest{Key: key("Z")}},
			}}})
			return err
		}, false, true, []string{"B", "C", "Z"}},
		{"BatchGetItem", func() error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddb.KeysAndAttributes{table: {Keys: []map[string]ddb.AttributeValue{key("A"), key("C")}}}})
			return err
		}, true, false, nil},
		{"TransactWriteItems", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
				{Put: &ddb.Put{TableName: tn, Item: key("D")}},
				{Update: &ddb.Update{TableName: tn, Key: key("E"), UpdateExpression: aws.String("SET n = :one"), ExpressionAttributeValues: map[string]ddb.AttributeValue{":one": &ddb.AttributeValueMemberN{Value: "1"}}}},
				{Delete: &ddb.Delete{TableName: tn, Key: key("C")}},
			}})
			return err
		}, false, true, []string{"D", "E", "C"}},
		{"TransactGetItems", func() error {
			_, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []ddb.TransactGetItem{{Get: &ddb.Get{TableName: tn, Key: key("D")}}}})
			return err
		}, true, false, nil},
		{"DeleteItem", func() error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: tn, Key: key("D")})
			return err
		}, false, true, []string{"D"}},
	}
	for _, tc := range cases {
		t.Run(tc.api, func(t *testing.T) {
			m.Take()
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			got := m.Take()
			if n := got.Requests["dynamodb"][tc.api]; n != 1 {
				t.Errorf("requests = %v, want one dynamodb %s", got.Requests, tc.api)
			}
			if (got.ReadUnits > 0) != tc.read || (got.WriteUnits > 0) != tc.write {
				t.Errorf("read units %v, write units %v; want read %v, write %v", got.ReadUnits, got.WriteUnits, tc.read, tc.write)
			}
			for _, k := range tc.keys {
				if got.KeyWrites[k] != 1 {
					t.Errorf("key writes %v, want one to %s", got.KeyWrites, k)
				}
			}
			if len(tc.keys) == 0 && len(got.KeyWrites) != 0 {
				t.Errorf("a read recorded key writes: %v", got.KeyWrites)
			}
		})
	}
}

// The store's own calls, as a function makes them: a user's creation
// writes under the user's partition key and its guards, and costs units.
func TestStoreCallsAreMetered(t *testing.T) {
	m := sdkmeter.New("pk")
	c, table := metered(t, m)
	store := dynamostore.New(c, table)
	ctx := context.Background()
	now := time.Now().UTC()
	u := accounts.User{TenantID: "lib", ID: "u1", Username: "ann", Status: accounts.StatusActive, Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := store.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	created := m.Take()
	if created.WriteUnits < 1 || created.KeyWrites["T#lib#USER#u1"] != 1 {
		t.Errorf("creating a user: %+v, want write units and one write to T#lib#USER#u1", created)
	}
	if _, err := store.GetUser(ctx, "lib", "u1"); err != nil {
		t.Fatal(err)
	}
	read := m.Take()
	if read.ReadUnits <= 0 || read.WriteUnits != 0 || len(read.KeyWrites) != 0 || len(read.Requests["dynamodb"]) == 0 {
		t.Errorf("reading a user: %+v, want read units only", read)
	}
	// Creating the same user again is refused by a condition: billed,
	// though DynamoDB reports no capacity for it.
	err := store.CreateUser(ctx, u, nil)
	if err == nil {
		t.Fatal("creating a user twice succeeded")
	}
	again := m.Take()
	if again.FailedWrites == 0 || again.WriteUnits == 0 {
		t.Errorf("a refused write: %+v, want it counted", again)
	}
}

func TestACallersOwnCapacityRequestIsKept(t *testing.T) {
	m := sdkmeter.New("")
	c, table := metered(t, m)
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: key("A"), ReturnConsumedCapacity: ddb.ReturnConsumedCapacityIndexes}
	out, err := c.PutItem(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.ConsumedCapacity == nil || out.ConsumedCapacity.Table == nil {
		t.Errorf("INDEXES asked for, got %+v", out.ConsumedCapacity)
	}
	plain := &dynamodb.GetItemInput{TableName: aws.String(table), Key: key("A")}
	if _, err := c.GetItem(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	if plain.ReturnConsumedCapacity != "" {
		t.Errorf("the caller's input was changed: %q", plain.ReturnConsumedCapacity)
	}
	if got := m.Take(); got.KeyWrites != nil || got.WriteUnits <= 0 {
		t.Errorf("a meter without a key attribute: %+v, want units and no keys", got)
	}
}

// One meter serves a handler's goroutines: nothing is lost or counted
// twice (run with -race).
func TestConcurrentCallsAreCountedOnce(t *testing.T) {
	m := sdkmeter.New("pk")
	c, table := metered(t, m)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: key(fmt.Sprint("K", i%4))})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := m.Take()
	total := 0
	for _, v := range got.KeyWrites {
		total += v
	}
	if got.Requests["dynamodb"]["PutItem"] != n || total != n || got.KeyWrites["K0"] != n/4 {
		t.Errorf("after %d puts: requests %v, key writes %v", n, got.Requests, got.KeyWrites)
	}
	if again := m.Take(); !again.Empty() {
		t.Errorf("a second Take: %+v, want nothing", again)
	}
}

func TestEMFLineReadsBack(t *testing.T) {
	c := sdkmeter.Counts{
		Requests:  map[string]map[string]int{"dynamodb": {"GetItem": 2, "PutItem": 1}, "sqs": {"SendMessage": 1}},
		ReadUnits: 1.5, WriteUnits: 3, KeyWrites: map[string]int{"T#lib#USER#u1": 1},
	}
	for _, keys := range []bool{false, true} {
		line := c.EMF("MeFunction", "req-1", time.Unix(1700000000, 0), keys)
		if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
			t.Fatalf("not one line: %q", line)
		}
		for _, want := range []string{`"Namespace":"libaccounts"`, `"DynamoDBRequests":3`, `"SQSRequests":1`, `"Timestamp":1700000000000`, `{"Name":"ReadUnits","Unit":"Count"}`} {
			if !strings.Contains(string(line), want) {
				t.Errorf("line lacks %s: %s", want, line)
			}
		}
		got, ok := sdkmeter.ParseLine(line[:len(line)-1])
		if !ok || got.Function != "MeFunction" || got.RequestID != "req-1" || got.Requests["dynamodb"]["GetItem"] != 2 || got.ReadUnits != 1.5 || got.WriteUnits != 3 {
			t.Errorf("read back %+v", got)
		}
		if (got.KeyWrites != nil) != keys {
			t.Errorf("keys %v: key writes %v", keys, got.KeyWrites)
		}
	}
	if _, ok := sdkmeter.ParseLine([]byte(`{"level":"INFO","msg":"hello"}`)); ok {
		t.Error("an ordinary log line parsed as a meter line")
	}
}
