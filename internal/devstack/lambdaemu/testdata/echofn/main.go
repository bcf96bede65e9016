// Command echofn is a tiny Lambda function used by the lambdaemu tests.
// The "action" field of the event picks what it does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action  string          `json:"action"`
	Value   json.RawMessage `json:"value,omitempty"`
	Message string          `json:"message,omitempty"`
	Ms      int             `json:"ms,omitempty"`
	Code    int             `json:"code,omitempty"`
	Var     string          `json:"var,omitempty"`
	Size    int             `json:"size,omitempty"`
	URL     string          `json:"url,omitempty"`
}

type result struct {
	Action      string          `json:"action"`
	PID         int             `json:"pid"`
	Value       json.RawMessage `json:"value,omitempty"`
	EnvValue    string          `json:"envValue,omitempty"`
	EnvSet      bool            `json:"envSet,omitempty"`
	EnvNames    []string        `json:"envNames,omitempty"`
	RequestID   string          `json:"requestId,omitempty"`
	FunctionARN string          `json:"functionArn,omitempty"`
	RemainingMs int64           `json:"remainingMs,omitempty"`
	Status      int             `json:"status,omitempty"`
	Cwd         string          `json:"cwd,omitempty"`
	Big         string          `json:"big,omitempty"`
}

// ValidationError gives the "error" action a recognisable errorType.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func handle(ctx context.Context, ev event) (result, error) {
	res := result{Action: ev.Action, PID: os.Getpid()}
	switch ev.Action {
	case "echo":
		res.Value = ev.Value
	case "error":
		return result{}, &ValidationError{Msg: ev.Message}
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	case "gate":
		// Wait at the test's barrier: a GET it answers when it lets the
		// invocation go on.
		resp, err := http.Get(ev.URL)
		if err != nil {
			return result{}, err
		}
		resp.Body.Close()
	case "panic":
		panic(ev.Message)
	case "exit":
		os.Exit(ev.Code)
	case "log":
		fmt.Println(ev.Message)
		fmt.Fprintln(os.Stderr, ev.Message+" (stderr)")
	case "env":
		res.EnvValue, res.EnvSet = os.LookupEnv(ev.Var)
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			res.EnvNames = append(res.EnvNames, name)
		}
		sort.Strings(res.EnvNames)
		res.Cwd, _ = os.Getwd()
	case "context":
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			res.RequestID = lc.AwsRequestID
			res.FunctionARN = lc.InvokedFunctionArn
		}
		if d, ok := ctx.Deadline(); ok {
			res.RemainingMs = time.Until(d).Milliseconds()
		}
	case "bogus":
		// Post a response for a request id the runtime API never issued.
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/not-a-request-id/response"
		resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
		if err != nil {
			return result{}, err
		}
		resp.Body.Close()
		res.Status = resp.StatusCode
	case "big":
		res.Big = strings.Repeat("x", ev.Size)
	default:
		return result{}, errors.New("unknown action " + ev.Action)
	}
	return res, nil
}

func main() {
	if os.Getenv("ECHOFN_IGNORE_SIGTERM") != "" {
		// Lets a test see what the runtime API answers a stopping
		// instance, before SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM)
	}
	lambda.Start(handle)
}
