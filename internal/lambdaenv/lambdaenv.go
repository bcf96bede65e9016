// Package lambdaenv reads a function's environment once, at init: the table,
// the log level, session lifetimes, hashing parameters, the mail sender and
// reset page, the import bucket and chunk queue, the notice queue and its
// pacing, and the AWS SDK
// configuration. The same code runs on AWS and in the local stack, where the
// SDK's own AWS_ENDPOINT_URL_<SERVICE> variables point it at local services
// (and S3_FORCE_PATH_STYLE=true makes S3 requests path-style).
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/logging"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// Env is what every function needs to build its clients and service.
type Env struct {
	TableName string
	Logger    *slog.Logger
	Argon2    passhash.Params
	// Accounts.ResetPageURL is RESET_PAGE_URL, Accounts.ImportBucket
	// IMPORT_BUCKET and Accounts.RowsPerChunk ROWS_PER_CHUNK.
	Accounts accounts.Config
	AWS      aws.Config
	// MailFrom is the SES-verified address notices are sent from
	// (MAIL_FROM); only functions that send mail use it.
	MailFrom string
	// ResetPageURL is the page an e-mailed reset link opens (RESET_PAGE_URL).
	ResetPageURL string
	// ChunkQueueURL is the queue import chunks are sent to
	// (CHUNK_QUEUE_URL); only the ingest function sends to it.
	ChunkQueueURL string
	// NoticeQueueURL is the queue notices are handed to (NOTICE_QUEUE_URL);
	// functions that raise notices, and the notices-worker for its delayed
	// retries, send to it.
	NoticeQueueURL string
	// JobQueueURL is the queue bulk jobs' tasks go to (JOB_QUEUE_URL): the
	// functions that start reset jobs and the jobs-worker, which queues
	// the batches it finds, send to it.
	JobQueueURL string
	// RecoveryQueueURL is the queue patrons' recovery requests go to
	// (RECOVERY_QUEUE_URL); only the two forgot-password and
	// forgot-username functions send to it.
	RecoveryQueueURL string
	// SESConfigurationSet is the SES configuration set mail is sent through
	// (SES_CONFIGURATION_SET), whose event destination reports bounces and
	// complaints; only the notices-worker sends.
	SESConfigurationSet string
	// S3PathStyle makes S3 requests path-style (S3_FORCE_PATH_STYLE=true);
	// only the local stack sets it, as its S3 has no per-bucket host names.
	S3PathStyle bool
}

// maxNoticeSendRate bounds NOTICE_SEND_RATE: well above any SES account's
// rate, so that a typo (14000 for 14) is caught.
const maxNoticeSendRate = 1000

// minLookupKey is the shortest LOOKUP_KEY taken: 32 bytes, the strength of
// the HMAC-SHA-256 it keys.
const minLookupKey = 32

// maxRowsPerChunk bounds ROWS_PER_CHUNK: a chunk must finish well inside
// the worker's timeout, hashing a password per row.
const maxRowsPerChunk = 1000

// Load reads the environment through getenv.
func Load(ctx context.Context, getenv func(string) string) (Env, error) {
	e := Env{TableName: getenv("TABLE_NAME"), Logger: logging.New(os.Stdout, logging.ParseLevel(getenv("LOG_LEVEL")))}
	if e.TableName == "" {
		return e, fmt.Errorf("TABLE_NAME is not set")
	}
	var err error
	if e.Argon2, err = passhash.ParamsFromEnv(getenv); err != nil {
		return e, err
	}
	if e.Accounts.SessionAbsoluteTTL, err = duration(getenv, "SESSION_ABSOLUTE_TTL"); err != nil {
		return e, err
	}
	if e.Accounts.SessionIdleTTL, err = duration(getenv, "SESSION_IDLE_TTL"); err != nil {
		return e, err
	}
	e.MailFrom = strings.TrimSpace(getenv("MAIL_FROM"))
	if e.ResetPageURL, err = resetPageURL(getenv("RESET_PAGE_URL")); err != nil {
		return e, err
	}
	e.Accounts.ResetPageURL = e.ResetPageURL
	e.Accounts.ImportBucket = strings.TrimSpace(getenv("IMPORT_BUCKET"))
	e.ChunkQueueURL = strings.TrimSpace(getenv("CHUNK_QUEUE_URL"))
	if e.ChunkQueueURL != "" {
		if u, err := url.Parse(e.ChunkQueueURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return e, fmt.Errorf("CHUNK_QUEUE_URL=%q is not an absolute http(s) queue URL", e.ChunkQueueURL)
		}
	}
	if e.NoticeQueueURL, err = queueURL(getenv, "NOTICE_QUEUE_URL"); err != nil {
		return e, err
	}
	if e.JobQueueURL, err = queueURL(getenv, "JOB_QUEUE_URL"); err != nil {
		return e, err
	}
	if e.RecoveryQueueURL, err = queueURL(getenv, "RECOVERY_QUEUE_URL"); err != nil {
		return e, err
	}
	if v := getenv("LOOKUP_KEY"); v != "" {
		// The key of the hashes counters are kept under (Config.LookupKey):
		// short, it could be guessed and the counters tied to names.
		if len(v) < minLookupKey {
			return e, fmt.Errorf("LOOKUP_KEY is %d bytes; it must be at least %d (the template generates 64)", len(v), minLookupKey)
		}
		e.Accounts.LookupKey = []byte(v)
	}
	e.SESConfigurationSet = strings.TrimSpace(getenv("SES_CONFIGURATION_SET"))
	if e.Accounts.SignInURL, err = signInURL(getenv("SIGN_IN_URL")); err != nil {
		return e, err
	}
	if v := getenv("NOTICE_SEND_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > maxNoticeSendRate || math.IsNaN(r) {
			return e, fmt.Errorf("NOTICE_SEND_RATE=%q is not a number of sends per second above 0 and at most %d", v, maxNoticeSendRate)
		}
		e.Accounts.NoticeSendRate = r
	}
	if v := getenv("NOTICE_RETRY_DELAYS"); v != "" {
		// The waits before a notice's second and third attempts; the
		// local stack's tests shorten them.
		for _, f := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d < time.Second || d > 15*time.Minute {
				return e, fmt.Errorf("NOTICE_RETRY_DELAYS=%q is not a comma-separated list of durations between 1s and 15m (an SQS delay's limits)", v)
			}
			e.Accounts.NoticeRetryDelays = append(e.Accounts.NoticeRetryDelays, d)
		}
	}
	if v := getenv("NOTICE_WORKER_CONCURRENCY"); v != "" {
		// The worker count the rate is shared by (the event source's
		// MaximumConcurrency).
		c, err := strconv.Atoi(v)
		if err != nil || c < 1 || c > 1000 {
			return e, fmt.Errorf("NOTICE_WORKER_CONCURRENCY=%q is not a whole number between 1 and 1000", v)
		}
		e.Accounts.NoticeWorkerConcurrency = c
	}
	for _, l := range []struct {
		name string
		to   *time.Duration
	}{{"LOCKOUT_BASE", &e.Accounts.LockoutBase}, {"LOCKOUT_QUIET", &e.Accounts.LockoutQuiet}} {
		// The first sign-in lock and the quiet period after which failures
		// stop counting (lockout.go); the local stack's tests shorten them.
		v := getenv(l.name)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > 24*time.Hour {
			return e, fmt.Errorf("%s=%q is not a duration between 100ms and 24h", l.name, v)
		}
		*l.to = d
	}
	if v := getenv("JOB_STALL_TIMEOUT"); v != "" {
		// Read by the sweep only; a typo must not make it end every job.
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return e, fmt.Errorf("JOB_STALL_TIMEOUT=%q is not a duration of at least 1s", v)
		}
		e.Accounts.JobStallTimeout = d
	}
	if v := getenv("ROWS_PER_CHUNK"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRowsPerChunk {
			return e, fmt.Errorf("ROWS_PER_CHUNK=%q is not a whole number between 1 and %d", v, maxRowsPerChunk)
		}
		e.Accounts.RowsPerChunk = n
	}
	if v := getenv("S3_FORCE_PATH_STYLE"); v != "" {
		if e.S3PathStyle, err = strconv.ParseBool(v); err != nil {
			return e, fmt.Errorf("S3_FORCE_PATH_STYLE=%q is not true or false", v)
		}
	}
	if e.AWS, err = config.LoadDefaultConfig(ctx); err != nil {
		return e, fmt.Errorf("aws config: %w", err)
	}
	return e, nil
}

func duration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 30m or 12h", name, v)
	}
	return d, nil
}

func queueURL(getenv func(string) string, name string) (string, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return "", nil
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s=%q is not an absolute http(s) queue URL", name, v)
	}
	return v, nil
}

// signInURL checks the address notices give for signing in; empty means
// the origin of the reset page.
func signInURL(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("SIGN_IN_URL=%q is not an absolute http(s) URL", v)
	}
	return v, nil
}

// resetPageURL checks the reset page: an absolute http(s) URL without a
// fragment, since the token is appended as "#token=…". Empty is allowed (no
// function that sends links runs without it in the template).
func resetPageURL(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || strings.Contains(v, "#") {
		return "", fmt.Errorf("RESET_PAGE_URL=%q is not an absolute http(s) URL without a fragment", v)
	}
	return v, nil
}

// S3 returns an S3 client, path-style where S3_FORCE_PATH_STYLE says so.
// Ranged reads (one per import chunk) come back without a whole-object
// checksum; the SDK would log that it skipped validating each of them.
func (e Env) S3() *s3.Client {
	return s3.NewFromConfig(e.AWS, func(o *s3.Options) {
		o.UsePathStyle = e.S3PathStyle
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

// SES returns an SES client with the SDK's retries off. The notice
// pipeline retries a failed send itself (three attempts, counted in the
// notice, with backoff), and the SDK's standard retryer would multiply
// them: it retries throttling up to three times per attempt, and counts
// SES's LimitExceededException as a throttle, so a quota problem would be
// hammered nine times where it should be tried three.
func (e Env) SES() *ses.Client {
	return ses.NewFromConfig(e.AWS, func(o *ses.Options) { o.Retryer = aws.NopRetryer{} })
}

// SQS returns an SQS client.
func (e Env) SQS() *sqs.Client { return sqs.NewFromConfig(e.AWS) }

// MustLoad is Load for a function's init: a bad environment is a deployment
// error, so the function logs it and exits, and Lambda reports an init error.
func MustLoad() Env {
	e, err := Load(context.Background(), os.Getenv)
	if err != nil {
		logging.New(os.Stdout, slog.LevelInfo).Error("bad function environment", "error", err.Error())
		os.Exit(1)
	}
	return e
}
