// Package dynamostore keeps accounts in one DynamoDB table.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// API is the part of the DynamoDB client the store uses; tests may wrap the
// real client to inject faults.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store implements the account store ports on DynamoDB.
type Store struct {
	db    API
	table string
}

var _ accounts.Store = (*Store)(nil)

// New returns a store on table, using the caller's client.
func New(db API, table string) *Store { return &Store{db: db, table: table} }

type av = ddb.AttributeValue

func s(v string) *ddb.AttributeValueMemberS { return &ddb.AttributeValueMemberS{Value: v} }
func n(v int64) *ddb.AttributeValueMemberN  { return &ddb.AttributeValueMemberN{Value: fmt.Sprint(v)} }
func b(v bool) *ddb.AttributeValueMemberBOOL {
	return &ddb.AttributeValueMemberBOOL{Value: v}
}

func key(pk, sk string) map[string]av { return map[string]av{"pk": s(pk), "sk": s(sk)} }

// classify turns SDK errors into coded errors: throttling is unavailable (the
// caller may retry), a failed condition is the given code, anything else
// internal.
func classify(op string, err error, conditionCode accounts.Code, conditionMsg string) error {
	if err == nil {
		return nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) && conditionCode != "" {
		return &accounts.Error{Code: conditionCode, Message: conditionMsg, Err: err}
	}
	if throttled(err) {
		return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the service is busy; retry shortly", Err: fmt.Errorf("%s: %w", op, err)}
	}
	return accounts.Internal(fmt.Errorf("%s: %w", op, err))
}

func throttled(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException":
		return true
	}
	return false
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTS(m map[string]av, name string) time.Time {
	if v, ok := m[name].(*ddb.AttributeValueMemberS); ok {
		t, err := time.Parse(time.RFC3339Nano, v.Value)
		if err == nil {
			return t
		}
	}
	return time.Time{}
}

func str(m map[string]av, name string) string {
	if v, ok := m[name].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// num reads an integer attribute; an absent one is 0. A stored value that is
// not a whole int64 (a decimal, an overflow, another type) is an internal
// error, not a 0: a version or a count read as 0 would pass conditions it
// should fail, or restart a count.
func num(m map[string]av, name string) (int64, error) {
	switch v := m[name].(type) {
	case nil:
		return 0, nil
	case *ddb.AttributeValueMemberN:
		x, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return 0, accounts.Internal(fmt.Errorf("stored attribute %s: %w", name, err))
		}
		return x, nil
	default:
		return 0, accounts.Internal(fmt.Errorf("stored attribute %s is a %T, not a number", name, v))
	}
}

// attrs reads one stored item and keeps the first attribute that cannot be
// read, so that a decoder reads every field and checks once.
type attrs struct {
	m   map[string]av
	err error
}

func (a *attrs) num(name string) int64 {
	x, err := num(a.m, name)
	if err != nil && a.err == nil {
		a.err = err
	}
	return x
}

// integer is num for the attributes the domain holds as int.
func (a *attrs) integer(name string) int { return int(a.num(name)) }

func boolean(m map[string]av, name string) bool {
	if v, ok := m[name].(*ddb.AttributeValueMemberBOOL); ok {
		return v.Value
	}
	return false
}

func list(m map[string]av, name string) []string {
	v, ok := m[name].(*ddb.AttributeValueMemberL)
	if !ok {
		return []string{}
	}
	out := make([]string, 0, len(v.Value))
	for _, e := range v.Value {
		if x, ok := e.(*ddb.AttributeValueMemberS); ok {
			out = append(out, x.Value)
		}
	}
	return out
}

func strList(vs []string) *ddb.AttributeValueMemberL {
	l := make([]av, len(vs))
	for i, v := range vs {
		l[i] = s(v)
	}
	return &ddb.AttributeValueMemberL{Value: l}
}

func (st *Store) tableName() *string { return aws.String(st.table) }
