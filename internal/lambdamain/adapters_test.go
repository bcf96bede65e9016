package lambdamain_test

import (
	"testing"

	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func TestAdaptersFollowTheEnvironment(t *testing.T) {
	// A client exists exactly when its variable is set: the template pairs
	// each variable with its IAM grant (see the samtemplate tests).
	cases := []struct {
		name                 string
		env                  lambdaenv.Env
		mailer, blobs, queue bool
		notices, jobs        bool
	}{
		{"none", lambdaenv.Env{}, false, false, false, false, false},
		{"mail", lambdaenv.Env{MailFrom: "no-reply@example.org"}, true, false, false, false, false},
		{"bucket", func() lambdaenv.Env { e := lambdaenv.Env{}; e.Accounts.ImportBucket = "b"; return e }(), false, true, false, false, false},
		{"queue", lambdaenv.Env{ChunkQueueURL: "https://sqs.example/q"}, false, false, true, false, false},
		{"notice queue", lambdaenv.Env{NoticeQueueURL: "https://sqs.example/n"}, false, false, false, true, false},
		{"job queue", lambdaenv.Env{JobQueueURL: "https://sqs.example/j"}, false, false, false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env.TableName = "t"
			d := lambdamain.Adapters(c.env)
			if d.Store == nil || d.Hasher == nil {
				t.Fatal("the store and hasher are always built")
			}
			if got := d.Mailer != nil; got != c.mailer {
				t.Errorf("mailer built = %v, want %v", got, c.mailer)
			}
			if got := d.Blobs != nil; got != c.blobs {
				t.Errorf("blobs built = %v, want %v", got, c.blobs)
			}
			if got := d.Queue != nil; got != c.queue {
				t.Errorf("queue built = %v, want %v", got, c.queue)
			}
			if got := d.Notices != nil; got != c.notices {
				t.Errorf("notice queue built = %v, want %v", got, c.notices)
			}
			if got := d.Jobs != nil; got != c.jobs {
				t.Errorf("job queue built = %v, want %v", got, c.jobs)
			}
		})
	}
}

// TestSESClientDoesNotRetry: the notice pipeline counts its own three
// attempts; the SDK's retryer would multiply them, and treats SES's
// LimitExceededException as a throttle to retry.
func TestSESClientDoesNotRetry(t *testing.T) {
	if got := (lambdaenv.Env{}).SES().Options().Retryer.MaxAttempts(); got != 1 {
		t.Errorf("the SES client makes up to %d attempts per send, want 1", got)
	}
}
