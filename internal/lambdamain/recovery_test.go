package lambdamain_test

import (
	"testing"

	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func TestEveryFunctionThrottlesAndOnlyRecoveryHandlersQueueRequests(t *testing.T) {
	for _, c := range []struct {
		name     string
		env      lambdaenv.Env
		recovery bool
	}{
		{"none", lambdaenv.Env{}, false},
		{"notice queue only", lambdaenv.Env{NoticeQueueURL: "https://sqs.example/n"}, false},
		{"recovery queue", lambdaenv.Env{RecoveryQueueURL: "https://sqs.example/r"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.env.TableName = "t"
			d := lambdamain.Adapters(c.env)
			if d.Throttle == nil {
				t.Error("no throttle: every function counts requests in the table")
			}
			if got := d.Recovery != nil; got != c.recovery {
				t.Errorf("recovery queue built = %v, want %v", got, c.recovery)
			}
		})
	}
}
