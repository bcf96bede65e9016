package samtemplate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"
	"github.com/awslabs/goformation/v7/cloudformation/s3"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// The import pipeline: bucket, queues, triggers and what the functions on
// either side may do and are told.

const localBucket = "libaccounts-local-imports-123456789012"

func TestImportsBucket(t *testing.T) {
	// Files in the bucket hold passwords: encrypted, never public, owned by
	// the account, TLS only, and gone within days.
	tpl := loadTemplate(t)
	cfn := samtemplate.CFN(tpl)
	b, ok := cfn.Resources["ImportsBucket"].(*s3.Bucket)
	if !ok {
		t.Fatal("no AWS::S3::Bucket named ImportsBucket")
	}
	if name, err := tpl.BucketName("ImportsBucket"); err != nil || name != localBucket {
		t.Errorf("BucketName = %q, %v; want %q", name, err, localBucket)
	}

	enc := b.BucketEncryption
	if enc == nil || len(enc.ServerSideEncryptionConfiguration) != 1 || enc.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault == nil ||
		enc.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("BucketEncryption = %+v, want SSE-S3 (AES256)", enc)
	}
	pab := b.PublicAccessBlockConfiguration
	if pab == nil || !deref(pab.BlockPublicAcls) || !deref(pab.BlockPublicPolicy) || !deref(pab.IgnorePublicAcls) || !deref(pab.RestrictPublicBuckets) {
		t.Errorf("PublicAccessBlockConfiguration = %+v, want all four true", pab)
	}
	if oc := b.OwnershipControls; oc == nil || len(oc.Rules) != 1 || deref(oc.Rules[0].ObjectOwnership) != "BucketOwnerEnforced" {
		t.Errorf("OwnershipControls = %+v, want BucketOwnerEnforced (no ACLs)", oc)
	}
	// The console, served by the API, uploads from the API's own origin:
	// allowed with no parameter set, and nothing else is.
	checkUploadCORS(t, "default", b, []string{apiOrigin})

	// Lifecycle: uploads expire after 3 days, reports after 30, and parts
	// of abandoned multipart uploads after 1.
	if b.LifecycleConfiguration == nil {
		t.Fatal("no LifecycleConfiguration")
	}
	expiry := map[string]int{}
	abort := 0
	for _, r := range b.LifecycleConfiguration.Rules {
		if r.Status != "Enabled" {
			t.Errorf("lifecycle rule %s is %s", deref(r.Id), r.Status)
			continue
		}
		if r.ExpirationInDays != nil {
			expiry[deref(r.Prefix)] = *r.ExpirationInDays
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			if deref(r.Prefix) != "" {
				t.Errorf("abort rule limited to prefix %q, want the whole bucket", deref(r.Prefix))
			}
			abort = a.DaysAfterInitiation
		}
	}
	if want := map[string]int{"imports/": 3, "reports/": 30}; !mapsEqual(expiry, want) {
		t.Errorf("expirations = %v, want %v", expiry, want)
	}
	if abort != 1 {
		t.Errorf("incomplete multipart uploads aborted after %d days, want 1", abort)
	}
	if b.AWSCloudFormationDeletionPolicy != "Delete" {
		t.Errorf("DeletionPolicy = %q, want Delete (transient data)", b.AWSCloudFormationDeletionPolicy)
	}

	// The bucket policy refuses every request without TLS.
	var found bool
	for id, r := range cfn.GetAllS3BucketPolicyResources() {
		if r.Bucket != "${ImportsBucket}" {
			continue
		}
		doc, _ := r.PolicyDocument.(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, st := range stmts {
			s, _ := st.(map[string]any)
			if s["Effect"] != "Deny" || path(s, "Condition", "Bool", "aws:SecureTransport") != "false" {
				continue
			}
			found = true
			if s["Principal"] != "*" || !slices.Equal(strList(t, s["Action"]), []string{"s3:*"}) {
				t.Errorf("%s: TLS statement Principal %v Action %v, want * and s3:*", id, s["Principal"], s["Action"])
			}
			res := strList(t, s["Resource"])
			slices.Sort(res)
			if want := []string{"${ImportsBucket.Arn}", "${ImportsBucket.Arn}/*"}; !slices.Equal(res, want) {
				t.Errorf("%s: TLS statement covers %v, want %v", id, res, want)
			}
		}
	}
	if !found {
		t.Error("no bucket policy denying aws:SecureTransport false on ImportsBucket")
	}

	// With an allowed origin, browsers may PUT uploads and GET reports
	// from it, and from nowhere else.
	withCors, err := samtemplate.LoadWithParameters(filepath.Join(repoRoot(t), "template.yaml"),
		map[string]string{"CorsAllowOrigin": "https://catalogue.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	cb := samtemplate.CFN(withCors).Resources["ImportsBucket"].(*s3.Bucket)
	checkUploadCORS(t, "CorsAllowOrigin set", cb, []string{apiOrigin, "https://catalogue.example.org"})
}

// apiOrigin is the HTTP API's own origin as the template loads locally
// (the stack puts its gateway's origin in its place).
const apiOrigin = "https://${HttpApi}.execute-api.us-east-1.amazonaws.com"

// checkUploadCORS: one rule, from exactly origins, allowing the upload's
// PUT and a stored report's GET with only the two headers the pre-signed
// PUT is signed with.
func checkUploadCORS(tb testing.TB, what string, b *s3.Bucket, origins []string) {
	tb.Helper()
	if b.CorsConfiguration == nil || len(b.CorsConfiguration.CorsRules) != 1 {
		tb.Fatalf("%s: CorsConfiguration = %+v, want one rule", what, b.CorsConfiguration)
	}
	r := b.CorsConfiguration.CorsRules[0]
	if !slices.Equal(r.AllowedOrigins, origins) {
		tb.Errorf("%s: AllowedOrigins = %v, want %v", what, r.AllowedOrigins, origins)
	}
	methods := slices.Clone(r.AllowedMethods)
	slices.Sort(methods)
	if !slices.Equal(methods, []string{"GET", "PUT"}) {
		tb.Errorf("%s: AllowedMethods = %v, want PUT and GET only", what, r.AllowedMethods)
	}
	headers := slices.Clone(r.AllowedHeaders)
	slices.Sort(headers)
	if !slices.Equal(headers, []string{"content-type", "if-none-match"}) {
		tb.Errorf("%s: AllowedHeaders = %v, want content-type and if-none-match", what, r.AllowedHeaders)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestBucketName(t *testing.T) {
	tpl := loadTemplate(t)
	for _, id := range []string{"NoSuchBucket", "ChunkQueue", "AccountsTable"} {
		if name, err := tpl.BucketName(id); err == nil {
			t.Errorf("BucketName(%q) = %q, want an error", id, name)
		}
	}
}

func TestStackNamesGiveValidBucketNames(t *testing.T) {
	// The bucket is named after the stack, and S3 names are lower case and
	// at most 63 characters: every stack samconfig.toml deploys must give
	// a valid one (with a 12-digit account id).
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	tplName, err := loadTemplate(t).BucketName("ImportsBucket")
	if err != nil {
		t.Fatal(err)
	}
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	stacks := regexp.MustCompile(`(?m)^stack_name\s*=\s*"([^"]+)"`).FindAllStringSubmatch(string(data), -1)
	if len(stacks) == 0 {
		t.Fatal("no stack_name in samconfig.toml")
	}
	for _, m := range append(stacks, []string{"", "libaccounts-local"}) {
		name := strings.Replace(tplName, "libaccounts-local", m[1], 1)
		if !valid.MatchString(name) {
			t.Errorf("stack %s: bucket name %q is not a valid S3 bucket name", m[1], name)
		}
	}
}

// maxReceives is each trigger queue's redrive policy: a chunk is parked
// after five tries; a notice counts its own attempts, so its queue parks
// only what the worker cannot read at all.
var maxReceives = map[string]int{"ChunkQueue": 5, "NoticeQueue": 10, "JobQueue": 5, "RecoveryQueue": 5}

// deadLetterConsumers are the dead-letter queues a function reads (to
// record what was given up on): they are the end of the line, with no
// redrive policy of their own.
var deadLetterConsumers = map[string]string{"ChunkDeadLetterQueue": "JobsDeadLettersFunction", "JobDeadLetterQueue": "JobsDeadLettersFunction"}

func TestQueues(t *testing.T) {
	// A trigger queue hides a message long enough for Lambda's retries of
	// its worker (six times its timeout, as AWS advises), parks a message
	// that keeps failing, and every queue is encrypted.
	tpl := loadTemplate(t)
	queues := map[string]samtemplate.Queue{}
	for _, q := range tpl.Queues() {
		queues[q.LogicalID] = q
	}
	fns := map[string]samtemplate.Function{}
	all, err := tpl.Functions(localRefs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		fns[f.LogicalID] = f
	}
	triggers := tpl.SQSTriggers()
	if len(triggers) == 0 {
		t.Fatal("no SQS triggers")
	}
	consumed := map[string]bool{}
	for _, tr := range triggers {
		q, ok := queues[tr.Queue]
		if !ok {
			t.Errorf("%s: SQS event on %q, not a queue of the template (want !GetAtt <Queue>.Arn)", tr.Function, tr.Queue)
			continue
		}
		if f := fns[tr.Function]; q.VisibilityTimeout < 6*f.Timeout {
			t.Errorf("%s: VisibilityTimeout %v < 6 x %s's timeout %v", q.LogicalID, q.VisibilityTimeout, f.LogicalID, f.Timeout)
		}
		if fn, ok := deadLetterConsumers[q.LogicalID]; ok {
			if tr.Function != fn || q.DeadLetterQueue != "" || q.Retention != 14*24*time.Hour {
				t.Errorf("%s read by %s: redrive %q, retention %v; want %s, none, 14 days", q.LogicalID, tr.Function, q.DeadLetterQueue, q.Retention, fn)
			}
			consumed[q.LogicalID] = true
			continue
		}
		dlq, ok := queues[q.DeadLetterQueue]
		if !ok {
			t.Errorf("%s: no dead-letter queue in the template (RedrivePolicy.deadLetterTargetArn = %q)", q.LogicalID, q.DeadLetterQueue)
			continue
		}
		if want, ok := maxReceives[q.LogicalID]; !ok || q.MaxReceiveCount != want {
			t.Errorf("%s: maxReceiveCount = %d, want %d", q.LogicalID, q.MaxReceiveCount, want)
		}
		if q.Retention != 4*24*time.Hour {
			t.Errorf("%s: retention %v, want 4 days", q.LogicalID, q.Retention)
		}
		// SQS keeps a message's original enqueue time when it moves it to a
		// standard dead-letter queue: the DLQ must keep it longer.
		if dlq.Retention != 14*24*time.Hour || dlq.Retention <= q.Retention {
			t.Errorf("%s: retention %v, want 14 days (longer than %s's)", dlq.LogicalID, dlq.Retention, q.LogicalID)
		}
		if dlq.DeadLetterQueue != "" {
			t.Errorf("%s: a dead-letter queue with its own redrive policy", dlq.LogicalID)
		}
	}
	for id, r := range samtemplate.CFN(tpl).GetAllSQSQueueResources() {
		if !deref(r.SqsManagedSseEnabled) {
			t.Errorf("%s: SqsManagedSseEnabled is not true", id)
		}
		if r.FifoQueue != nil && *r.FifoQueue {
			t.Errorf("%s: FIFO queue; the worker's idempotency is designed for standard queues", id)
		}
	}

	if len(triggers) != len(maxReceives)+len(deadLetterConsumers) {
		t.Errorf("%d SQS triggers, want %d (update maxReceives or deadLetterConsumers)", len(triggers), len(maxReceives)+len(deadLetterConsumers))
	}
	// Every dead-letter queue of a pipeline that feeds a job is read, so
	// that what it gave up on ends up in the job's report.
	for q := range deadLetterConsumers {
		if !consumed[q] {
			t.Errorf("%s: no SQS event of %s on it", q, deadLetterConsumers[q])
		}
	}
}

func TestDeadLetterAlarms(t *testing.T) {
	// Someone hears about every parked message: each dead-letter queue has
	// an alarm on its depth, which notifies AlarmTopicArn when one is given
	// and has no actions otherwise.
	dlqs := map[string]bool{}
	for _, q := range loadTemplate(t).Queues() {
		if q.DeadLetterQueue != "" {
			dlqs[q.DeadLetterQueue] = true
		}
	}
	// ses-events' own: Lambda parks an SNS event it failed three times.
	dlqs["SesEventsDeadLetterQueue"] = true
	const topic = "arn:aws:sns:us-east-1:123456789012:libaccounts-operators"
	for _, params := range []map[string]string{nil, {"AlarmTopicArn": topic}} {
		tpl, err := samtemplate.LoadWithParameters(filepath.Join(repoRoot(t), "template.yaml"), params)
		if err != nil {
			t.Fatal(err)
		}
		alarmed := map[string]bool{}
		for id, a := range samtemplate.CFN(tpl).GetAllCloudWatchAlarmResources() {
			q := dlqAlarm(a)
			if q == "" {
				continue
			}
			alarmed[q] = true
			want := []string(nil)
			if params != nil {
				want = []string{topic}
			}
			if !slices.Equal(a.AlarmActions, want) {
				t.Errorf("%s with parameters %v: AlarmActions = %v, want %v", id, params, a.AlarmActions, want)
			}
		}
		for q := range dlqs {
			if !alarmed[q] {
				t.Errorf("no alarm on %s's ApproximateNumberOfMessagesVisible > 0", q)
			}
		}
	}
}

// dlqAlarm returns the queue an alarm watches for any visible message, or "".
func dlqAlarm(a *cloudwatch.Alarm) string {
	if deref(a.Namespace) != "AWS/SQS" || deref(a.MetricName) != "ApproximateNumberOfMessagesVisible" ||
		a.ComparisonOperator != "GreaterThanThreshold" || deref(a.Threshold) != 0 {
		return ""
	}
	for _, d := range a.Dimensions {
		if q, ok := strings.CutSuffix(strings.TrimPrefix(d.Value, "${"), ".QueueName}"); d.Name == "QueueName" && ok {
			return q
		}
	}
	return ""
}

func TestImportTriggers(t *testing.T) {
	// The ingest function hears of files under imports/ (where the API's
	// upload URLs point) and of nothing else, so a stored report does not
	// trigger it; the worker takes one chunk per invocation and reports
	// failed chunks one by one.
	tpl := loadTemplate(t)
	s3t := tpl.S3Triggers()
	if len(s3t) != 1 {
		t.Fatalf("S3 triggers = %+v, want one", s3t)
	}
	tr := s3t[0]
	if tr.Function != "ImportsIngestFunction" || tr.Bucket != "ImportsBucket" || !slices.Equal(tr.Events, []string{"s3:ObjectCreated:*"}) {
		t.Errorf("S3 trigger = %+v", tr)
	}
	if tr.Prefix != "imports/" || tr.Suffix != "" {
		t.Errorf("S3 filter prefix %q suffix %q, want prefix imports/ only", tr.Prefix, tr.Suffix)
	}
	if key := accounts.ImportKey("kpu", "abc", "def"); !strings.HasPrefix(key, tr.Prefix) {
		t.Errorf("upload key %q is outside the trigger's prefix %q", key, tr.Prefix)
	}
	if strings.HasPrefix("reports/kpu/abc.csv", tr.Prefix) {
		t.Errorf("stored reports would trigger ingest")
	}

	sqst := tpl.SQSTriggers()
	want := []samtemplate.SQSTrigger{
		{Function: "ImportsWorkerFunction", Queue: "ChunkQueue", BatchSize: 1, ReportBatchItemFailures: true, MaxConcurrency: 5},
		{Function: "JobsDeadLettersFunction", Queue: "ChunkDeadLetterQueue", BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: 2},
		{Function: "JobsDeadLettersFunction", Queue: "JobDeadLetterQueue", BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: 2},
		{Function: "JobsWorkerFunction", Queue: "JobQueue", BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: 5},
		{Function: "NoticesWorkerFunction", Queue: "NoticeQueue", BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: 2},
		{Function: "RecoveryWorkerFunction", Queue: "RecoveryQueue", BatchSize: 10, ReportBatchItemFailures: true, MaxConcurrency: 2},
	}
	if !slices.Equal(sqst, want) {
		t.Errorf("SQS triggers = %+v, want %+v", sqst, want)
	}
}

func TestNoFunctionRefersToTheBucketResource(t *testing.T) {
	// The bucket's notification depends on ImportsIngestFunction, so any
	// function (or its policy) that referred to ImportsBucket would close a
	// dependency cycle; they use the bucket's name, written the same !Sub
	// way. Only the S3 event itself refers to the bucket, as SAM requires.
	tpl := loadTemplate(t)
	resources, _ := samtemplate.Raw(tpl)["Resources"].(map[string]any)
	for id, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		for k, v := range props {
			if k == "Events" {
				continue
			}
			if refs := refsTo(v, "ImportsBucket"); len(refs) > 0 {
				t.Errorf("%s.%s refers to %v", id, k, refs)
			}
		}
		if deps, ok := res["DependsOn"]; ok && slices.Contains(strList(t, deps), "ImportsBucket") {
			t.Errorf("%s depends on ImportsBucket", id)
		}
	}
}

// refsTo returns the placeholders naming resource id (or its attributes) in
// raw template data.
func refsTo(v any, id string) []string {
	re := regexp.MustCompile(`\$\{` + regexp.QuoteMeta(id) + `(\.[A-Za-z]+)?\}`)
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, re.FindAllString(x, -1)...)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// serviceVars are the variables of the import and notice pipelines; each
// function gets the ones it reads and no others.
var serviceVars = []string{"IMPORT_BUCKET", "CHUNK_QUEUE_URL", "ROWS_PER_CHUNK", "JOB_QUEUE_URL", "JOB_STALL_TIMEOUT",
	"MAIL_FROM", "NOTICE_QUEUE_URL", "NOTICE_SEND_RATE", "NOTICE_WORKER_CONCURRENCY", "SES_CONFIGURATION_SET", "SIGN_IN_URL",
	"RECOVERY_QUEUE_URL"}

// optionalVars may be empty: the function then works out a default.
var optionalVars = map[string]bool{"SIGN_IN_URL": true}

func TestServiceEnvironment(t *testing.T) {
	tpl := loadTemplate(t)
	fns, err := tpl.Functions(localRefs)
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := tpl.BucketName("ImportsBucket")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"IMPORT_BUCKET": bucket, "CHUNK_QUEUE_URL": localQueueURL, "ROWS_PER_CHUNK": "250",
		"MAIL_FROM": "no-reply@example.org", "NOTICE_QUEUE_URL": localNoticeQueueURL, "NOTICE_SEND_RATE": "14",
		"NOTICE_WORKER_CONCURRENCY": "2", "SES_CONFIGURATION_SET": localConfigurationSet, "SIGN_IN_URL": "",
		"JOB_QUEUE_URL": localJobQueueURL, "JOB_STALL_TIMEOUT": "30m", "RECOVERY_QUEUE_URL": localRecoveryQueueURL}
	byDir := map[string]samtemplate.Function{}
	for _, f := range fns {
		byDir[f.Dir] = f
		// Every variable a function is given has a value, but for the
		// endpoints declared empty so that `sam local --env-vars` can set
		// them (the SAM CLI fills in only variables the template declares).
		for k, v := range f.Env {
			if strings.TrimSpace(v) == "" && !strings.HasPrefix(k, "AWS_ENDPOINT_URL_") && k != "S3_FORCE_PATH_STYLE" && !optionalVars[k] {
				t.Errorf("%s: %s is empty", f.LogicalID, k)
			}
		}
	}
	for _, w := range wantFunctions {
		f := byDir[w.dir]
		var got []string
		for _, k := range serviceVars {
			if v, ok := f.Env[k]; ok {
				got = append(got, k)
				if v != values[k] {
					t.Errorf("%s: %s = %q, want %q", f.LogicalID, k, v, values[k])
				}
			}
		}
		want := slices.Clone(w.env)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: service variables %v, want %v", f.LogicalID, got, want)
		}
	}
}

// triggerHandlers are the lambdaevents handlers a main starts, by the
// trigger that feeds them.
var triggerHandlers = map[string]*regexp.Regexp{
	"s3":       regexp.MustCompile(`\bh\.ObjectCreated\b`),
	"sqs":      regexp.MustCompile(`\bh\.(ImportChunks|Notices|JobTasks|DeadLetters|Recovery)\b`),
	"sns":      regexp.MustCompile(`\bh\.MailEvents\b`),
	"schedule": regexp.MustCompile(`\bh\.SweepJobs\b`),
}

func TestEachServiceVariableComesWithItsGrant(t *testing.T) {
	// lambdamain builds a client exactly when its variable is set
	// (MAIL_FROM: SES, IMPORT_BUCKET: S3, CHUNK_QUEUE_URL and
	// NOTICE_QUEUE_URL: SQS), so the variable and the permission must come
	// together: a variable without the grant fails at the first call with
	// AccessDenied, a grant without the variable is an unused privilege.
	// And a main that starts a trigger handler must have that trigger.
	root := repoRoot(t)
	byDir := functionsByDir(t, loadTemplate(t))
	for _, w := range wantFunctions {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(w.dir), "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		code := string(src)
		f := byDir[w.dir]
		has := func(k string) bool { _, ok := f.Env[k]; return ok }
		checks := []struct {
			what       string
			uses, told bool
		}{
			{"IMPORT_BUCKET / S3 access", has("IMPORT_BUCKET"), len(w.s3) > 0},
			{"CHUNK_QUEUE_URL / sqs:SendMessage on ChunkQueue", has("CHUNK_QUEUE_URL"), slices.Contains(w.sqsSend, "ChunkQueue")},
			{"NOTICE_QUEUE_URL / sqs:SendMessage on NoticeQueue", has("NOTICE_QUEUE_URL"), slices.Contains(w.sqsSend, "NoticeQueue")},
			{"JOB_QUEUE_URL / sqs:SendMessage on JobQueue", has("JOB_QUEUE_URL"), slices.Contains(w.sqsSend, "JobQueue")},
			{"RECOVERY_QUEUE_URL / sqs:SendMessage on RecoveryQueue", has("RECOVERY_QUEUE_URL"), slices.Contains(w.sqsSend, "RecoveryQueue")},
			{"MAIL_FROM / ses:SendRawEmail", has("MAIL_FROM"), w.ses},
			// The configuration set is a resource of the SES grant.
			{"SES_CONFIGURATION_SET / ses:SendRawEmail", has("SES_CONFIGURATION_SET"), w.ses},
			{"an S3 trigger handler / S3 event", triggerHandlers["s3"].MatchString(code), w.trigger == "s3"},
			{"an SQS trigger handler / SQS event", triggerHandlers["sqs"].MatchString(code), w.trigger == "sqs"},
			{"an SNS trigger handler / SNS event", triggerHandlers["sns"].MatchString(code), w.trigger == "sns"},
			{"a scheduled handler / Schedule event", triggerHandlers["schedule"].MatchString(code), w.trigger == "schedule"},
		}
		for _, c := range checks {
			if c.uses != c.told {
				t.Errorf("%s: %s: has it = %v, template grants it = %v", w.dir, c.what, c.uses, c.told)
			}
		}
	}
}

func TestWorkerHashesOnTwoVCPUs(t *testing.T) {
	// Lambda gives a full vCPU per 1,769 MB: 3,538 MB is two, and the
	// domain hashes as many rows at once as it has.
	fns := functionsByDir(t, loadTemplate(t))
	if f := fns["functions/imports-worker"]; f.MemoryMB < 2*1769 {
		t.Errorf("imports-worker MemoryMB = %d, want >= 3538", f.MemoryMB)
	}
	if f := fns["functions/imports-ingest"]; f.Timeout < 5*time.Minute {
		t.Errorf("imports-ingest Timeout = %v, want 5m to scan a large file", f.Timeout)
	}
}
