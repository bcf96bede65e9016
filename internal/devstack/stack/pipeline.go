package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// pipeline is the local S3 and SQS with the template's triggers: objects
// created in a bucket become durable S3 events for the function wired to
// it, queues feed their functions as Lambda's event source mappings do, and
// messages published to a topic become durable SNS events for the
// functions subscribed to it.
type pipeline struct {
	s3       *s3emu.Server
	s3srv    *http.Server
	s3done   chan struct{}
	sqs      *sqsemu.Service
	s3URL    string
	bucket   string
	queueURL map[string]string // queue logical id -> URL
	mappings []sqsemu.Mapping
	raw      []sqsemu.RawMapping
	// subscribers are the functions each topic (logical id) invokes.
	subscribers map[string][]string
	sets        map[string]string // configuration set logical id -> name
	clock       func() time.Time
	cancel      context.CancelFunc
}

// s3EventQueue holds the S3 events of one function until it has taken them;
// Lambda retries an asynchronous invoke twice, so three receives in all.
func s3EventQueue(function string) string { return "s3events-" + function }

const s3EventAttempts = 3

// snsEventQueue holds the SNS events of one function until it has taken
// them: SNS invokes Lambda asynchronously, and Lambda retries a failed
// asynchronous invoke twice, so three receives in all.
func snsEventQueue(function string) string { return "snsevents-" + function }

// snsDelay is how long after a publish its event reaches the functions.
// SES publishes a message's events seconds after it accepted the send; a
// function answering an event at once would see the sender's record of the
// send not yet written, which on AWS does not happen either.
const snsDelay = time.Second

// The one access key the local S3 accepts: the functions', the CLI's and
// the tests' (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY below).
const (
	localAccessKey = "local"
	localSecretKey = "local"
)

// localAccountID is the account the local queues' URLs and ARNs name.
const localAccountID = "123456789012"

// startPipeline opens the queues and the bucket. Pending S3 events found in
// the bucket's data (a crash between storing an object and queueing its
// event) are queued again now, which is why the queues come first.
func startPipeline(tpl *samtemplate.Template, dataDir, host string, s3Port int, apiURL string, visibilityCap time.Duration, log *slog.Logger) (*pipeline, error) {
	p := &pipeline{queueURL: map[string]string{}, s3done: make(chan struct{}), subscribers: map[string][]string{}, clock: time.Now}
	var queues []sqsemu.QueueConfig
	for _, q := range tpl.Queues() {
		queues = append(queues, sqsemu.QueueConfig{Name: q.LogicalID, VisibilityTimeout: min(q.VisibilityTimeout, visibilityCap), MessageRetention: q.Retention, MaxReceiveCount: q.MaxReceiveCount, DeadLetterQueue: q.DeadLetterQueue})
	}
	triggers := tpl.S3Triggers()
	for _, t := range triggers {
		name := s3EventQueue(t.Function)
		queues = append(queues,
			sqsemu.QueueConfig{Name: name, VisibilityTimeout: min(30*time.Second, visibilityCap), MaxReceiveCount: s3EventAttempts, DeadLetterQueue: name + "-failed"},
			sqsemu.QueueConfig{Name: name + "-failed", MessageRetention: 14 * 24 * time.Hour})
		p.raw = append(p.raw, sqsemu.RawMapping{Queue: name, Function: t.Function, MaxConcurrency: 2})
	}
	for _, t := range tpl.SNSTriggers() {
		if t.Topic == "" {
			return nil, fmt.Errorf("%s: an SNS event on a topic that is not !Ref of an AWS::SNS::Topic of the template", t.Function)
		}
		name := snsEventQueue(t.Function)
		queues = append(queues,
			sqsemu.QueueConfig{Name: name, VisibilityTimeout: min(30*time.Second, visibilityCap), MaxReceiveCount: s3EventAttempts, DeadLetterQueue: name + "-failed"},
			sqsemu.QueueConfig{Name: name + "-failed", MessageRetention: 14 * 24 * time.Hour})
		p.raw = append(p.raw, sqsemu.RawMapping{Queue: name, Function: t.Function, MaxConcurrency: 2})
		p.subscribers[t.Topic] = append(p.subscribers[t.Topic], t.Function)
	}
	sets, err := tpl.ConfigurationSets()
	if err != nil {
		return nil, err
	}
	p.sets = map[string]string{}
	for _, set := range sets {
		p.sets[set.LogicalID] = set.Name
	}
	base := apiURL + "/_local/sqs"
	if p.sqs, err = sqsemu.New(queues, sqsemu.Options{Dir: filepath.Join(dataDir, "sqs"), BaseURL: base, AccountID: localAccountID, Logger: log}); err != nil {
		return nil, fmt.Errorf("start local SQS: %w", err)
	}
	for _, q := range queues {
		p.queueURL[q.Name] = base + "/" + localAccountID + "/" + q.Name
	}
	fns, err := tpl.Functions(p.refs())
	if err != nil {
		p.close()
		return nil, err
	}
	memory := map[string]int{}
	for _, f := range fns {
		memory[f.LogicalID] = f.MemoryMB
	}
	for _, t := range tpl.SQSTriggers() {
		// The template's MaximumConcurrency holds, as on AWS: a worker
		// that shares a rate among its instances (the notices worker)
		// counts on it. The one exception is a function Lambda gives more
		// than one vCPU (more than 1,769 MB), which hashes on every core:
		// locally its goroutines use every core already, as many
		// invocations as cores overlap one's I/O with another's hashing,
		// and more only thrash (measured with make bench).
		concurrency := max(t.MaxConcurrency, 1)
		if t.MaxConcurrency == 0 {
			concurrency = 2 // sqsemu's default; Lambda scales freely
		}
		if memory[t.Function] > 1769 {
			concurrency = min(concurrency, runtime.NumCPU())
		}
		p.mappings = append(p.mappings, sqsemu.Mapping{Queue: t.Queue, Function: t.Function, BatchSize: t.BatchSize, MaxConcurrency: concurrency, ReportBatchItemFailures: t.ReportBatchItemFailures})
	}

	var buckets []string
	configs := map[string]s3emu.BucketConfig{}
	for _, t := range triggers {
		name, err := tpl.BucketName(t.Bucket)
		if err != nil {
			return nil, err
		}
		// The bucket's versioning and CORS rules are the template's, so a
		// browser upload and a replaced object behave as on AWS.
		set, err := tpl.BucketSettings(t.Bucket)
		if err != nil {
			return nil, err
		}
		cfg := s3emu.BucketConfig{Versioned: set.Versioned}
		for _, r := range set.CORS {
			cfg.CORS = append(cfg.CORS, s3emu.CORSRule{AllowedOrigins: localOrigins(r.AllowedOrigins, apiURL), AllowedMethods: r.AllowedMethods, AllowedHeaders: r.AllowedHeaders, ExposedHeaders: r.ExposedHeaders, MaxAge: r.MaxAge})
		}
		configs[name] = cfg
		buckets = append(buckets, name)
		if p.bucket == "" {
			p.bucket = name
		}
	}
	onCreated := func(ctx context.Context, rec events.S3EventRecord) error {
		key := rec.S3.Object.URLDecodedKey
		for _, t := range triggers {
			if b, _ := tpl.BucketName(t.Bucket); b != rec.S3.Bucket.Name || !strings.HasPrefix(key, t.Prefix) || !strings.HasSuffix(key, t.Suffix) {
				continue
			}
			body, err := json.Marshal(events.S3Event{Records: []events.S3EventRecord{rec}})
			if err != nil {
				return err
			}
			if _, err := p.sqs.Send(ctx, s3EventQueue(t.Function), string(body)); err != nil {
				return fmt.Errorf("queue S3 event for %s: %w", t.Function, err)
			}
		}
		return nil
	}
	if p.s3, err = s3emu.New(s3emu.Options{Dir: filepath.Join(dataDir, "s3"), Buckets: buckets, Configs: configs, OnObjectCreated: onCreated, Logger: log, Credentials: map[string]string{localAccessKey: localSecretKey}}); err != nil {
		p.close()
		return nil, fmt.Errorf("start local S3: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(s3Port)))
	if err != nil {
		p.close()
		return nil, fmt.Errorf("listen for S3: %w", err)
	}
	p.s3URL = "http://" + ln.Addr().String()
	// s3emu is served at the root of its own listener: a ServeMux would
	// redirect keys that hold "//".
	p.s3srv = &http.Server{Handler: p.s3, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(p.s3done)
		if err := p.s3srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("S3 server stopped", "error", err.Error())
		}
	}()
	return p, nil
}

// concurrency returns how many invocations the mappings may run of one
// function at once.
func (p *pipeline) concurrency(function string) int {
	n := 0
	for _, m := range p.mappings {
		if m.Function == function {
			n += m.MaxConcurrency
		}
	}
	for _, m := range p.raw {
		if m.Function == function {
			n += m.MaxConcurrency
		}
	}
	return n
}

// publish delivers message, published to topic (a logical id), to every
// function subscribed to it as an events.SNSEvent, durably: the event is
// queued before publish returns.
func (p *pipeline) publish(ctx context.Context, topic string, message []byte) error {
	subs := p.subscribers[topic]
	if len(subs) == 0 {
		return nil // SNS accepts a publish to a topic nobody reads
	}
	topicARN := "arn:aws:sns:us-east-1:" + localAccountID + ":" + topic
	now := p.clock().UTC()
	for _, fn := range subs {
		ev := events.SNSEvent{Records: []events.SNSEventRecord{{
			EventVersion: "1.0", EventSource: "aws:sns",
			EventSubscriptionArn: topicARN + ":" + hostos.UUID(),
			SNS: events.SNSEntity{
				Type: "Notification", MessageID: hostos.UUID(), TopicArn: topicARN, Message: string(message),
				Timestamp: now, SignatureVersion: "1", Signature: "EXAMPLE", SigningCertURL: "EXAMPLE", UnsubscribeURL: "EXAMPLE",
				MessageAttributes: map[string]any{},
			},
		}}}
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if _, err := p.sqs.SendDelayed(ctx, snsEventQueue(fn), string(body), snsDelay); err != nil {
			return fmt.Errorf("queue SNS event for %s: %w", fn, err)
		}
	}
	return nil
}

// env is what every function needs to reach the local S3 and SQS.
func (p *pipeline) env(apiURL string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_S3":  p.s3URL,
		"AWS_ENDPOINT_URL_SQS": apiURL + "/_local/sqs",
		"S3_FORCE_PATH_STYLE":  "true",
	}
}

// refs resolves the template's references to the local resources: the
// table, queues and configuration sets.
func (p *pipeline) refs() map[string]string {
	out := map[string]string{"AccountsTable": TableName, "LookupKeySecret": lookupSecretRef, "ImportsBucket": p.bucket}
	for name, u := range p.queueURL {
		out[name] = u
	}
	for id, name := range p.sets {
		out[id] = name
	}
	return out
}

// run starts the event source mappings.
func (p *pipeline) run(inv sqsemu.Invoker) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	if err := p.sqs.Start(ctx, inv, p.mappings...); err != nil {
		return err
	}
	return p.sqs.StartRaw(ctx, inv, p.raw...)
}

func (p *pipeline) close() {
	if p.cancel != nil {
		p.cancel()
	}
	if p.s3srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.s3srv.Shutdown(ctx)
		cancel()
		<-p.s3done
		p.s3srv = nil
	}
	if p.sqs != nil {
		_ = p.sqs.Close()
		p.sqs = nil
	}
}

// apiOriginPrefix starts the HTTP API's own origin as the template loads
// it: "https://${HttpApi}.execute-api.<region>.<suffix>".
const apiOriginPrefix = "https://${HttpApi}.execute-api."

// localOrigins puts the local gateway's origin where a CORS rule names the
// HTTP API's own (the console's, which the API serves), so the console's
// uploads cross to the local S3 as they cross to the bucket on AWS.
func localOrigins(origins []string, apiURL string) []string {
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		if strings.HasPrefix(o, apiOriginPrefix) {
			o = apiURL
		}
		out = append(out, o)
	}
	return out
}
