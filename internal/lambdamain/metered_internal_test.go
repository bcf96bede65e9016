package lambdamain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/sdkmeter"
)

// Each invocation ends with one meter line of its own requests only, for a
// handler of a typed signature, and its answer or error passes through.
func TestEveryInvocationEndsWithItsOwnMeterLine(t *testing.T) {
	base, table := ddbtest.TestTable(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: base.Options().Credentials}
	m := newMeter(&cfg)
	opts := base.Options()
	opts.APIOptions = cfg.APIOptions
	c := dynamodb.New(opts)
	type event struct{ Gets int }
	handler := func(ctx context.Context, ev event) (string, error) {
		for range ev.Gets {
			if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
				Key: map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "A"}, "sk": &ddb.AttributeValueMemberS{Value: "B"}}}); err != nil {
				return "", err
			}
		}
		if ev.Gets == 0 {
			return "", errors.New("nothing to do")
		}
		return "done", nil
	}
	var out bytes.Buffer
	h := metered{next: lambda.NewHandler(handler), meter: m, function: "TestFunction", out: &out}
	for i, tc := range []struct {
		gets    int
		wantErr bool
	}{{2, false}, {1, false}, {0, true}} {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req"})
		payload, _ := json.Marshal(event{tc.gets})
		resp, err := h.Invoke(ctx, payload)
		if (err != nil) != tc.wantErr || (!tc.wantErr && string(resp) != `"done"`) {
			t.Fatalf("invocation %d: %s, %v", i, resp, err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != i+1 {
			t.Fatalf("after %d invocations, %d lines:\n%s", i+1, len(lines), out.String())
		}
		l, ok := sdkmeter.ParseLine([]byte(lines[i]))
		if !ok || l.Function != "TestFunction" || l.RequestID != "req" || l.Requests["dynamodb"]["GetItem"] != tc.gets {
			t.Errorf("invocation %d with %d reads: %s", i, tc.gets, lines[i])
		}
	}
}
