package lambdamain

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/libaccounts/libaccounts/internal/sdkmeter"
)

// partitionKey is the table's partition key attribute (dynamostore's
// keys.go; template.yaml's AccountsTable KeySchema).
const partitionKey = "pk"

// newMeter meters every client made from cfg. The writes per partition key
// are counted only when METER_KEYS=1 (the local cost bench): they are
// internal ids, but nothing on AWS reads them.
func newMeter(cfg *aws.Config) *sdkmeter.Meter {
	attr := ""
	if os.Getenv("METER_KEYS") == "1" {
		attr = partitionKey
	}
	m := sdkmeter.New(attr)
	cfg.APIOptions = append(cfg.APIOptions, m.Register)
	return m
}

// metered is a handler that ends each invocation with one EMF line of what
// the invocation asked of AWS. It wraps the handler lambda.NewHandler made,
// so every signature lambda.Start takes still works.
type metered struct {
	next     lambda.Handler
	meter    *sdkmeter.Meter
	function string
	keys     bool
	out      io.Writer
}

func (h metered) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := h.next.Invoke(ctx, payload)
	// Take, not read: the Runtime API hands out one event at a time, so
	// what was counted since the last invocation ended is this one's (the
	// first one's includes the init phase's).
	c := h.meter.Take()
	var id string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	_, _ = h.out.Write(c.EMF(h.function, id, time.Now(), h.keys))
	return resp, err
}

// startMetered starts handler (any signature lambda.Start takes) metered.
func startMetered(m *sdkmeter.Meter, handler any) {
	lambda.Start(metered{
		next: lambda.NewHandler(handler), meter: m, function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		keys: os.Getenv("METER_KEYS") == "1", out: os.Stdout,
	})
}
