package lambdaenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/lambdaenv"
)

func TestNoticeSettings(t *testing.T) {
	cases := []struct {
		name    string
		vars    map[string]string
		wantErr bool
		check   func(lambdaenv.Env) bool
	}{
		{"defaults", nil, false, func(e lambdaenv.Env) bool {
			return e.NoticeQueueURL == "" && e.Accounts.NoticeSendRate == 0 && e.Accounts.NoticeWorkerConcurrency == 0 && e.Accounts.SignInURL == ""
		}},
		{"all set", map[string]string{
			"NOTICE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/notices", "NOTICE_SEND_RATE": "1.5", "NOTICE_WORKER_CONCURRENCY": "4",
			"SES_CONFIGURATION_SET": " libaccounts ", "SIGN_IN_URL": "https://library.example/signin",
		}, false, func(e lambdaenv.Env) bool {
			return e.NoticeQueueURL == "https://sqs.us-east-1.amazonaws.com/1/notices" && e.Accounts.NoticeSendRate == 1.5 &&
				e.Accounts.NoticeWorkerConcurrency == 4 && e.SESConfigurationSet == "libaccounts" && e.Accounts.SignInURL == "https://library.example/signin"
		}},
		{"queue URL not a URL", map[string]string{"NOTICE_QUEUE_URL": "notices"}, true, nil},
		{"job queue", map[string]string{"JOB_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/jobs"}, false, func(e lambdaenv.Env) bool {
			return e.JobQueueURL == "https://sqs.us-east-1.amazonaws.com/1/jobs"
		}},
		{"job queue URL not a URL", map[string]string{"JOB_QUEUE_URL": "jobs"}, true, nil},
		{"rate zero", map[string]string{"NOTICE_SEND_RATE": "0"}, true, nil},
		{"rate a typo", map[string]string{"NOTICE_SEND_RATE": "14000"}, true, nil},
		{"rate not a number", map[string]string{"NOTICE_SEND_RATE": "fast"}, true, nil},
		{"concurrency zero", map[string]string{"NOTICE_WORKER_CONCURRENCY": "0"}, true, nil},
		{"retry delays", map[string]string{"NOTICE_RETRY_DELAYS": "1s, 5s"}, false, func(e lambdaenv.Env) bool {
			d := e.Accounts.NoticeRetryDelays
			return len(d) == 2 && d[0] == time.Second && d[1] == 5*time.Second
		}},
		{"retry delay past SQS's 15 minutes", map[string]string{"NOTICE_RETRY_DELAYS": "30s,20m"}, true, nil},
		{"retry delay not a duration", map[string]string{"NOTICE_RETRY_DELAYS": "soon"}, true, nil},
		{"sign-in URL relative", map[string]string{"SIGN_IN_URL": "/signin"}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"TABLE_NAME": "t"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			e, err := lambdaenv.Load(context.Background(), func(k string) string { return vars[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("Load = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !tc.check(e) {
				t.Errorf("env %+v", e)
			}
		})
	}
}
