// Package sdkmeter measures what a function asks of AWS, on the SDK's own
// middleware stack: every request by service and API name, DynamoDB's
// consumed read and write units, and the writes each partition key
// received. What a library pays is mostly these requests, so the cost model
// (docs/COST.md) is built from them rather than from estimates.
//
// Register it once on the aws.Config every client is made from
// (cfg.APIOptions = append(cfg.APIOptions, m.Register)); a client made
// later from that config is metered too.
package sdkmeter

import (
	"context"
	"errors"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Counts is what a meter saw since it was last taken.
type Counts struct {
	// Requests counts HTTP requests sent (each retry attempt is one, as AWS
	// bills them) by service ("dynamodb", "s3", "sqs", "ses") and API name.
	Requests map[string]map[string]int
	// ReadUnits and WriteUnits are DynamoDB's ConsumedCapacity (TOTAL).
	// A conditional write DynamoDB refused reports no capacity but is
	// billed: it is counted here at the minimum a write costs (1 unit an
	// item, 2 in a transaction), and also in FailedWrites.
	ReadUnits, WriteUnits float64
	FailedWrites          int
	// KeyWrites counts the items written (put, updated, deleted) per
	// partition key value; nil unless the meter records keys.
	KeyWrites map[string]int
}

// Empty reports whether nothing was counted.
func (c Counts) Empty() bool {
	return len(c.Requests) == 0 && c.ReadUnits == 0 && c.WriteUnits == 0 && len(c.KeyWrites) == 0
}

// Meter counts requests. Its methods are safe for concurrent use: a
// handler's goroutines share one.
type Meter struct {
	keyAttr string // "" records no keys

	mu sync.Mutex
	c  Counts
}

// New returns a meter. keyAttr names the table's partition key attribute
// whose values KeyWrites counts; "" counts no keys (the values are internal
// ids, but a deployment has no use for them).
func New(keyAttr string) *Meter {
	return &Meter{keyAttr: keyAttr}
}

// Take returns what was counted since the last Take and starts afresh, so
// that one invocation's counts are never another's.
func (m *Meter) Take() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.c
	m.c = Counts{}
	return c
}

// Register adds the meter to an SDK client's middleware stack; it is an
// aws.Config APIOptions function.
func (m *Meter) Register(s *middleware.Stack) error {
	// Initialize runs once per call, around the retries, with the typed
	// input and output: where capacity is asked for and read.
	if err := s.Initialize.Add(capacity{m}, middleware.After); err != nil {
		return err
	}
	// Deserialize runs once per attempt, only for requests that are sent
	// (a pre-signed URL is built on the same stack but never sent here).
	return s.Deserialize.Add(attempts{m}, middleware.After)
}

type attempts struct{ m *Meter }

func (attempts) ID() string { return "sdkmeter.attempts" }

func (a attempts) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	svc := strings.ToLower(awsmiddleware.GetServiceID(ctx))
	op := awsmiddleware.GetOperationName(ctx)
	a.m.mu.Lock()
	if a.m.c.Requests == nil {
		a.m.c.Requests = map[string]map[string]int{}
	}
	if a.m.c.Requests[svc] == nil {
		a.m.c.Requests[svc] = map[string]int{}
	}
	a.m.c.Requests[svc][op]++
	a.m.mu.Unlock()
	return next.HandleDeserialize(ctx, in)
}

type capacity struct{ m *Meter }

func (capacity) ID() string { return "sdkmeter.capacity" }

func (c capacity) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	var keys []string
	// Each input is copied before it is changed: the caller's struct may
	// be shared, e.g. by a paginator.
	switch v := in.Parameters.(type) {
	case *dynamodb.GetItemInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
	case *dynamodb.QueryInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
	case *dynamodb.ScanInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
	case *dynamodb.BatchGetItemInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
	case *dynamodb.TransactGetItemsInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
	case *dynamodb.PutItemInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
		keys = c.m.keys(keys, v.Item)
	case *dynamodb.UpdateItemInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
		keys = c.m.keys(keys, v.Key)
	case *dynamodb.DeleteItemInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
		keys = c.m.keys(keys, v.Key)
	case *dynamodb.BatchWriteItemInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
		for _, reqs := range v.RequestItems {
			for _, r := range reqs {
				switch {
				case r.PutRequest != nil:
					keys = c.m.keys(keys, r.PutRequest.Item)
				case r.DeleteRequest != nil:
					keys = c.m.keys(keys, r.DeleteRequest.Key)
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		cp := *v
		total(&cp.ReturnConsumedCapacity)
		in.Parameters = &cp
		for _, t := range v.TransactItems {
			switch {
			case t.Put != nil:
				keys = c.m.keys(keys, t.Put.Item)
			case t.Update != nil:
				keys = c.m.keys(keys, t.Update.Key)
			case t.Delete != nil:
				keys = c.m.keys(keys, t.Delete.Key)
			}
		}
	default:
		return next.HandleInitialize(ctx, in)
	}

	out, md, err := next.HandleInitialize(ctx, in)
	var read, write float64
	failed := 0
	switch r := out.Result.(type) {
	case *dynamodb.GetItemOutput:
		read = units(r.ConsumedCapacity, false)
	case *dynamodb.QueryOutput:
		read = units(r.ConsumedCapacity, false)
	case *dynamodb.ScanOutput:
		read = units(r.ConsumedCapacity, false)
	case *dynamodb.BatchGetItemOutput:
		read = sum(r.ConsumedCapacity, false)
	case *dynamodb.TransactGetItemsOutput:
		read = sum(r.ConsumedCapacity, false)
	case *dynamodb.PutItemOutput:
		write = units(r.ConsumedCapacity, true)
	case *dynamodb.UpdateItemOutput:
		write = units(r.ConsumedCapacity, true)
	case *dynamodb.DeleteItemOutput:
		write = units(r.ConsumedCapacity, true)
	case *dynamodb.BatchWriteItemOutput:
		write = sum(r.ConsumedCapacity, true)
	case *dynamodb.TransactWriteItemsOutput:
		write = sum(r.ConsumedCapacity, true)
	}
	if err != nil {
		var cond *ddb.ConditionalCheckFailedException
		var canceled *ddb.TransactionCanceledException
		switch {
		case errors.As(err, &cond):
			failed, write = 1, 1
		case errors.As(err, &canceled):
			if t, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
				failed, write = len(t.TransactItems), 2*float64(len(t.TransactItems))
			}
		}
	}
	c.m.mu.Lock()
	c.m.c.ReadUnits += read
	c.m.c.WriteUnits += write
	c.m.c.FailedWrites += failed
	if len(keys) > 0 {
		if c.m.c.KeyWrites == nil {
			c.m.c.KeyWrites = map[string]int{}
		}
		for _, k := range keys {
			c.m.c.KeyWrites[k]++
		}
	}
	c.m.mu.Unlock()
	return out, md, err
}

// total asks for TOTAL unless the caller asked for something itself.
func total(v *ddb.ReturnConsumedCapacity) {
	if *v == "" {
		*v = ddb.ReturnConsumedCapacityTotal
	}
}

func (m *Meter) keys(keys []string, item map[string]ddb.AttributeValue) []string {
	if m.keyAttr == "" {
		return keys
	}
	switch v := item[m.keyAttr].(type) {
	case *ddb.AttributeValueMemberS:
		return append(keys, v.Value)
	case *ddb.AttributeValueMemberN:
		return append(keys, v.Value)
	}
	return keys
}

// units reads one ConsumedCapacity: the read or write figure when DynamoDB
// gives it apart, else the total.
func units(c *ddb.ConsumedCapacity, write bool) float64 {
	switch {
	case c == nil:
		return 0
	case write && c.WriteCapacityUnits != nil:
		return *c.WriteCapacityUnits
	case !write && c.ReadCapacityUnits != nil:
		return *c.ReadCapacityUnits
	case c.CapacityUnits != nil:
		return *c.CapacityUnits
	}
	return 0
}

func sum(cs []ddb.ConsumedCapacity, write bool) float64 {
	var n float64
	for i := range cs {
		n += units(&cs[i], write)
	}
	return n
}
