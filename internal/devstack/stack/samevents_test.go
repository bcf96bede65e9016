package stack_test

// The sample events under testdata/sam are for `sam local invoke`. They are
// captured from the local stack (TestCaptureSAMEvents, run by hand with
// -sam-capture), and TestSAMEvents feeds every one of them to its real,
// compiled function so that none can rot.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/httpapiemu"
	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

var samCapture = flag.Bool("sam-capture", false, "rewrite testdata/sam/events from a walk through the local stack")

// The events name the library and admin `make run` creates, and passwords
// nobody could mistake for real ones. With
// LIBACCOUNTS_ADMIN_PASSWORD=correct-horse-battery-staple-example on the
// first `make run`, the login event signs in.
const (
	samTenant        = "demo"
	samAdmin         = "admin"
	samAdminPassword = "correct-horse-battery-staple-example"
	// samToken replaces every session token the capture saw.
	samToken = "example-session-token-not-a-real-one"
	// samHost replaces the capture gateway's address: `make run`'s API.
	samHost = "127.0.0.1:3000"
)

// samKind is what triggers a function, and so which event it takes.
type samKind int

const (
	samHTTP       samKind = iota + 1 // events.APIGatewayV2HTTPRequest
	samAuthorizer                    // events.APIGatewayV2CustomAuthorizerV2Request
	samS3                            // events.S3Event
	samSQS                           // events.SQSEvent
	samSNS                           // events.SNSEvent
	samSchedule                      // events.EventBridgeEvent
)

// samFunction is one function of the template with what triggers it.
type samFunction struct {
	dir, logicalID string
	kind           samKind
	route          samtemplate.Route // samHTTP only
}

// samFunctions classifies every function of the template by its trigger.
func samFunctions(tb testing.TB, tpl *samtemplate.Template) map[string]samFunction {
	tb.Helper()
	out := map[string]samFunction{}
	add := func(logicalID string, kind samKind, route samtemplate.Route) {
		dir, err := samtemplate.DirForLogicalID(logicalID)
		if err != nil {
			tb.Fatal(err)
		}
		dir = filepath.Base(dir)
		// One function may read several queues (the dead-letter consumer):
		// its one sample serves them all, as they carry the same event.
		// The pages' function has several routes of one kind: its sample
		// is a request for one file, as good as any other.
		if prev, dup := out[dir]; dup && (prev.kind != kind || kind != samSQS && kind != samHTTP) {
			tb.Fatalf("%s has two triggers (%d and %d): one sample event cannot serve both", logicalID, prev.kind, kind)
		}
		if prev, dup := out[dir]; dup && kind == samHTTP {
			route = prev.route
		}
		out[dir] = samFunction{dir: dir, logicalID: logicalID, kind: kind, route: route}
	}
	for _, r := range tpl.Routes() {
		add(r.Function, samHTTP, r)
	}
	auth, err := tpl.Authorizer()
	if err != nil {
		tb.Fatal(err)
	}
	add(auth.Function, samAuthorizer, samtemplate.Route{})
	for _, t := range tpl.S3Triggers() {
		add(t.Function, samS3, samtemplate.Route{})
	}
	for _, t := range tpl.SQSTriggers() {
		add(t.Function, samSQS, samtemplate.Route{})
	}
	for _, t := range tpl.SNSTriggers() {
		add(t.Function, samSNS, samtemplate.Route{})
	}
	schedules, err := tpl.ScheduleTriggers()
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range schedules {
		add(t.Function, samSchedule, samtemplate.Route{})
	}
	return out
}

func samRepo(tb testing.TB) (root string, tpl *samtemplate.Template) {
	tb.Helper()
	root, err := samtemplate.FindRepoRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	if tpl, err = samtemplate.Load(filepath.Join(root, "template.yaml")); err != nil {
		tb.Fatal(err)
	}
	return root, tpl
}

func samEventPath(root, dir string) string {
	return filepath.Join(root, "testdata", "sam", "events", dir+".json")
}

// samObjectPath is where the file an S3 event names is kept, by its key.
func samObjectPath(root, key string) string {
	return filepath.Join(root, "testdata", "sam", "s3", filepath.FromSlash(key))
}

// decodeStrict decodes exactly one JSON value into v, refusing fields v does
// not have: a misspelt or stale field would otherwise be dropped silently by
// the Lambda runtime, and the event would test less than it seems to.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// TestSAMEventFiles checks the files alone: one per function, each of the
// type its function takes, matching its trigger in the template, and
// nothing in them that looks like a real secret.
func TestSAMEventFiles(t *testing.T) {
	root, tpl := samRepo(t)
	fns := samFunctions(t, tpl)
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range dirs {
		if d.IsDir() {
			want = append(want, d.Name())
		}
	}
	files, err := os.ReadDir(filepath.Join(root, "testdata", "sam", "events"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		name, ok := strings.CutSuffix(f.Name(), ".json")
		if !ok || f.IsDir() {
			t.Errorf("testdata/sam/events/%s: only <function dir>.json files belong here", f.Name())
			continue
		}
		got = append(got, name)
		if !slices.Contains(want, name) {
			t.Errorf("testdata/sam/events/%s: no functions/%s", f.Name(), name)
		}
	}
	for _, dir := range want {
		if !slices.Contains(got, dir) {
			t.Errorf("functions/%s has no sample event testdata/sam/events/%s.json (go test ./internal/devstack/stack -run TestCaptureSAMEvents -sam-capture writes them)", dir, dir)
		}
	}
	bucket := samBucket(t, tpl)
	for _, dir := range want {
		fn, ok := fns[dir]
		if !ok {
			t.Errorf("functions/%s: no route or trigger in template.yaml", dir)
			continue
		}
		data, err := os.ReadFile(samEventPath(root, dir))
		if err != nil {
			continue // reported above
		}
		if err := checkSAMEvent(fn, data, bucket); err != nil {
			t.Errorf("testdata/sam/events/%s.json: %v", dir, err)
		}
		if !json.Valid(data) || !bytes.HasPrefix(data, []byte("{\n  \"")) {
			t.Errorf("testdata/sam/events/%s.json: keep it indented JSON, two spaces, for people to read", dir)
		}
		for _, bearer := range bearerValues(data) {
			if bearer != samToken {
				t.Errorf("testdata/sam/events/%s.json: a bearer token %.12q… that is not the placeholder %q", dir, bearer, samToken)
			}
		}
	}
}

func samBucket(tb testing.TB, tpl *samtemplate.Template) string {
	tb.Helper()
	triggers := tpl.S3Triggers()
	if len(triggers) != 1 {
		tb.Fatalf("%d S3 triggers in the template; the sample events know one", len(triggers))
	}
	b, err := tpl.BucketName(triggers[0].Bucket)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// bearerValues finds every "Bearer <token>" in an event.
func bearerValues(data []byte) []string {
	var out []string
	s := string(data)
	for {
		i := strings.Index(s, "Bearer ")
		if i < 0 {
			return out
		}
		s = s[i+len("Bearer "):]
		end := strings.IndexAny(s, `"\ ,`)
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
	}
}

// checkSAMEvent decodes an event strictly into the type its function takes
// and checks it is the event its trigger sends.
func checkSAMEvent(fn samFunction, data []byte, bucket string) error {
	switch fn.kind {
	case samHTTP:
		var ev events.APIGatewayV2HTTPRequest
		if err := decodeStrict(data, &ev); err != nil {
			return fmt.Errorf("not an HTTP API payload 2.0 event: %w", err)
		}
		key := fn.route.Method + " " + fn.route.Path
		if ev.Version != "2.0" || ev.RouteKey != key || ev.RequestContext.RouteKey != key || ev.RequestContext.HTTP.Method != fn.route.Method {
			return fmt.Errorf("version %q, route %q / %q, method %q: want 2.0 and %s", ev.Version, ev.RouteKey, ev.RequestContext.RouteKey, ev.RequestContext.HTTP.Method, key)
		}
		hasContext := ev.RequestContext.Authorizer != nil && ev.RequestContext.Authorizer.Lambda != nil
		if fn.route.Authorized {
			for _, k := range []string{"tenant", "userId", "sid"} {
				if s, _ := ev.RequestContext.Authorizer.Lambda[k].(string); !hasContext || s == "" {
					return fmt.Errorf("route %s is behind the authorizer: requestContext.authorizer.lambda needs %q", key, k)
				}
			}
			// The session id is the token's hash: the placeholder's, never
			// that of a token someone once held.
			if sid := ev.RequestContext.Authorizer.Lambda["sid"]; sid != accounts.SessionIDOf(samToken) {
				return fmt.Errorf("requestContext.authorizer.lambda.sid %v is not the placeholder token's session id %s", sid, accounts.SessionIDOf(samToken))
			}
		} else if hasContext {
			return fmt.Errorf("route %s is public: no authorizer context", key)
		}
	case samAuthorizer:
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		if err := decodeStrict(data, &ev); err != nil {
			return fmt.Errorf("not an authorizer REQUEST event: %w", err)
		}
		if ev.Version != "2.0" || ev.Type != "REQUEST" || len(ev.IdentitySource) != 1 {
			return fmt.Errorf("version %q, type %q, %d identity sources: want 2.0, REQUEST, 1", ev.Version, ev.Type, len(ev.IdentitySource))
		}
	case samS3:
		var ev events.S3Event
		if err := decodeStrict(data, &ev); err != nil {
			return fmt.Errorf("not an S3 event: %w", err)
		}
		if len(ev.Records) != 1 || !strings.HasPrefix(ev.Records[0].EventName, "ObjectCreated:") || ev.Records[0].S3.Bucket.Name != bucket {
			return fmt.Errorf("want one ObjectCreated record for bucket %s", bucket)
		}
	case samSQS:
		var ev events.SQSEvent
		if err := decodeStrict(data, &ev); err != nil {
			return fmt.Errorf("not an SQS event: %w", err)
		}
		if len(ev.Records) != 1 || ev.Records[0].EventSource != "aws:sqs" {
			return fmt.Errorf("want one aws:sqs record")
		}
	case samSNS:
		var ev events.SNSEvent
		if err := decodeStrict(data, &ev); err != nil {
			return fmt.Errorf("not an SNS event: %w", err)
		}
		if len(ev.Records) != 1 || ev.Records[0].EventSource != "aws:sns" || !json.Valid([]byte(ev.Records[0].SNS.Message)) {
			return fmt.Errorf("want one aws:sns record whose message is JSON (an SES event)")
		}
	case samSchedule:
		var ev events.EventBridgeEvent
		if err := decodeStrict(data, &ev); err != nil {
			return fmt.Errorf("not an EventBridge event: %w", err)
		}
		if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Time.IsZero() {
			return fmt.Errorf("detail-type %q, source %q, time %v: want a Scheduled Event from aws.events with its time", ev.DetailType, ev.Source, ev.Time)
		}
	}
	return nil
}

// samInvocation is one invocation a samRecorder saw.
type samInvocation struct {
	function string
	payload  []byte
}

// samRecorder stands between an emulator and the functions and keeps the
// first event each function was sent. With no next it answers every call
// with an empty batch response, running nothing.
type samRecorder struct {
	next httpapiemu.Invoker
	done chan samInvocation // every finished invocation

	mu    sync.Mutex
	first map[string][]byte
}

func newSAMRecorder(next httpapiemu.Invoker) *samRecorder {
	return &samRecorder{next: next, done: make(chan samInvocation, 256), first: map[string][]byte{}}
}

func (r *samRecorder) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	r.mu.Lock()
	if _, ok := r.first[function]; !ok {
		r.first[function] = bytes.Clone(payload)
	}
	r.mu.Unlock()
	out, err := []byte(`{"batchItemFailures":[]}`), error(nil)
	if r.next != nil {
		out, err = r.next.Invoke(ctx, function, payload)
	}
	r.done <- samInvocation{function, bytes.Clone(payload)}
	return out, err
}

// await waits until function has finished an invocation.
func (r *samRecorder) await(tb testing.TB, function string) samInvocation {
	tb.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case inv := <-r.done:
			if inv.function == function {
				return inv
			}
		case <-timeout:
			tb.Fatalf("%s was not invoked", function)
		}
	}
}

// samHarness is the real local stack whose functions reach an S3 and an SQS
// of the test's own (the same emulators the stack runs), so the test sees
// the S3 and SQS events those build and decides when they are delivered.
type samHarness struct {
	st      *stack.Stack
	tpl     *samtemplate.Template
	bucket  string
	s3      *s3.Client
	created chan events.S3Event // objects created, with the event S3 would send
	queue   *samRecorder        // what the queues' event source mappings deliver
}

// samQueueNames are the queues the harness's own SQS feeds to their
// functions: the chunk queue the sample S3 event's ingest fills, and the
// notice queue.
var samQueueNames = []string{"ChunkQueue", "NoticeQueue", "JobQueue", "ChunkDeadLetterQueue", "JobDeadLetterQueue", "RecoveryQueue"}

func startSAMHarness(tb testing.TB, forwardQueue bool) *samHarness {
	tb.Helper()
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(tb) // fails in CI, skips elsewhere, with the reason
	}
	_, tpl := samRepo(tb)
	h := &samHarness{tpl: tpl, bucket: samBucket(tb, tpl), created: make(chan events.S3Event, 16)}

	s3srv, err := s3emu.New(s3emu.Options{
		Dir: tb.TempDir(), Buckets: []string{h.bucket},
		OnObjectCreated: func(_ context.Context, rec events.S3EventRecord) error {
			h.created <- events.S3Event{Records: []events.S3EventRecord{rec}}
			return nil
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	s3http := httptest.NewServer(s3srv)
	tb.Cleanup(s3http.Close)
	h.s3 = s3.New(s3.Options{BaseEndpoint: aws.String(s3http.URL), UsePathStyle: true, Region: "us-east-1",
		// The local S3 checks signatures: the stack's credentials.
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		})})

	var sqsHandler http.Handler
	sqshttp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sqsHandler.ServeHTTP(w, r) }))
	tb.Cleanup(sqshttp.Close)
	var queues []sqsemu.QueueConfig
	for _, q := range tpl.Queues() {
		queues = append(queues, sqsemu.QueueConfig{Name: q.LogicalID, MaxReceiveCount: q.MaxReceiveCount, DeadLetterQueue: q.DeadLetterQueue})
	}
	sqsSvc, err := sqsemu.New(queues, sqsemu.Options{Dir: tb.TempDir(), BaseURL: sqshttp.URL})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sqsSvc.Close() })
	sqsHandler = sqsSvc
	triggers := tpl.SQSTriggers()
	if len(triggers) != len(samQueueNames) {
		tb.Fatalf("%d SQS triggers in the template; the sample events know %v", len(triggers), samQueueNames)
	}
	queueURL := func(name string) string { return sqshttp.URL + "/123456789012/" + name }

	logs := &syncBuffer{}
	h.st, err = stack.Start(context.Background(), stack.Config{
		DataDir: tb.TempDir(), InMemory: true, Tenant: samTenant, AdminUsername: samAdmin, AdminPassword: samAdminPassword, Logs: logs,
		FunctionEnv: map[string]string{"AWS_ENDPOINT_URL_S3": s3http.URL, "AWS_ENDPOINT_URL_SQS": sqshttp.URL,
			"CHUNK_QUEUE_URL": queueURL("ChunkQueue"), "NOTICE_QUEUE_URL": queueURL("NoticeQueue"), "JOB_QUEUE_URL": queueURL("JobQueue"), "RECOVERY_QUEUE_URL": queueURL("RecoveryQueue")},
	})
	if err != nil {
		tb.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	tb.Cleanup(func() {
		h.st.Close()
		if tb.Failed() {
			tb.Logf("stack logs:\n%s", logs.String())
		}
	})
	var next httpapiemu.Invoker
	if forwardQueue {
		next = h.st
	}
	h.queue = newSAMRecorder(next)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	for _, tr := range triggers {
		if !slices.Contains(samQueueNames, tr.Queue) {
			tb.Fatalf("SQS trigger on %s; the sample events know %v", tr.Queue, samQueueNames)
		}
		if err := sqsSvc.Start(ctx, h.queue, sqsemu.Mapping{Queue: tr.Queue, Function: tr.Function, BatchSize: tr.BatchSize, MaxConcurrency: 1, ReportBatchItemFailures: tr.ReportBatchItemFailures}); err != nil {
			tb.Fatal(err)
		}
	}
	return h
}

// putObject stores a file in the harness's bucket.
func (h *samHarness) putObject(tb testing.TB, key string, body []byte) {
	tb.Helper()
	if _, err := h.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		tb.Fatal(err)
	}
}

// samInvoke invokes a function through the stack's Lambda service, the way
// `sam local invoke` would, and fails on any function error: the runtime's
// own (an event that does not decode) as much as the handler's.
func samInvoke(tb testing.TB, inv httpapiemu.Invoker, function string, payload []byte) []byte {
	tb.Helper()
	out, err := inv.Invoke(context.Background(), function, payload)
	if err != nil {
		tb.Fatalf("%s: %v", function, err)
	}
	return out
}

// samHTTPStatus invokes an HTTP API function and returns its status and body.
func samHTTPStatus(tb testing.TB, inv httpapiemu.Invoker, function string, payload []byte) (int, string) {
	tb.Helper()
	var resp events.APIGatewayV2HTTPResponse
	out := samInvoke(tb, inv, function, payload)
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		tb.Fatalf("%s: not an HTTP API response: %s", function, out)
	}
	return resp.StatusCode, resp.Body
}

// withCaller puts an authorizer's context (and the token it vouched for)
// into an HTTP event, as API Gateway does for a request that passed it.
func withCaller(tb testing.TB, event []byte, token string, lambdaContext map[string]any) []byte {
	tb.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		tb.Fatal(err)
	}
	if headers, ok := ev["headers"].(map[string]any); ok {
		headers["authorization"] = "Bearer " + token
	}
	ev["requestContext"].(map[string]any)["authorizer"] = map[string]any{"lambda": lambdaContext}
	out, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// withToken is withCaller for the authorizer's own event.
func withToken(tb testing.TB, event []byte, token string) []byte {
	tb.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		tb.Fatal(err)
	}
	ev["identitySource"] = []string{"Bearer " + token}
	if headers, ok := ev["headers"].(map[string]any); ok {
		headers["authorization"] = "Bearer " + token
	}
	out, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// samExpect is what a function answers to its sample event: as shipped (the
// placeholder token and a session no table holds) and with a real admin
// session put in (the path ids the capture saw still name nobody).
var samExpect = map[string]struct{ asShipped, signedIn int }{
	"auth-login":              {200, 0},
	"web":                     {200, 0}, // the landing page
	"auth-password-reset":     {400, 0}, // the placeholder is not a reset token
	"auth-logout":             {401, 204},
	"me":                      {401, 200},
	"me-password":             {401, 400}, // the patron's current password is not the admin's
	"admin-users-create":      {401, 201},
	"admin-users-list":        {401, 200},
	"admin-users-get":         {401, 404},
	"admin-users-update":      {401, 404},
	"admin-users-password":    {401, 404},
	"admin-users-deactivate":  {401, 404},
	"admin-users-reactivate":  {401, 404},
	"admin-users-unlock":      {401, 404},
	"admin-users-delete":      {401, 404},
	"admin-users-bulk":        {401, 200}, // one "not found" result per id
	"admin-usernames-suggest": {401, 200},
	"admin-settings-get":      {401, 200},
	"admin-settings-update":   {401, 200},
	"admin-audit-list":        {401, 200},
	"admin-imports-create":    {401, 201},
	"admin-imports-list":      {401, 200},
	"admin-imports-get":       {401, 200}, // the job of the S3 event, once the SQS event has run it
	"admin-imports-report":    {401, 200},
	"admin-imports-cancel":    {401, 404},
	"admin-sets-list":         {401, 200},
	"admin-sets-get":          {401, 404},
	"admin-sets-delete":       {401, 404},
	"admin-letters-list":      {401, 200},
	"admin-letters-get":       {401, 200},
	"admin-letters-update":    {401, 200}, // the default letter, version 0, replaced
	"admin-letters-preview":   {401, 200},
	"admin-users-notices":     {401, 404},
	// The task centre; the reset is a dry run of one id nobody holds.
	"admin-password-resets-create": {401, 202},
	"admin-jobs-list":              {401, 200},
	"admin-jobs-get":               {401, 404},
	"admin-jobs-report":            {401, 404},
	"admin-jobs-cancel":            {401, 404},
	// Self-service recovery answers the same whatever exists.
	"auth-forgot-password": {202, 0},
	"auth-forgot-username": {202, 0},
	// Linked accounts and circulation: the sample ids are nobody's.
	"admin-users-checkouts-create": {401, 404},
	"admin-users-checkouts-list":   {401, 404},
	"admin-users-holds-create":     {401, 404},
	"admin-users-holds-list":       {401, 404},
	"admin-users-links-delete":     {401, 404},
	"admin-users-links-list":       {401, 404},
	"me-activity":                  {401, 200},
	"me-links-confirm":             {401, 404},
	"me-links-create":              {401, 400},
	"me-links-delete":              {401, 404},
	"me-links-list":                {401, 200},
	"me-share-phrases-create":      {401, 201},
	"me-share-phrases-delete":      {401, 404},
	"me-share-phrases-list":        {401, 200},
	"patrons-checkouts-list":       {401, 404},
	"patrons-checkouts-renew":      {401, 404},
	"patrons-holds-create":         {401, 404},
	"patrons-holds-delete":         {401, 404},
	"patrons-holds-list":           {401, 404},
	"patrons-holds-update":         {401, 404},
}

// TestSAMEvents feeds every sample event, byte for byte, to its function
// compiled from functions/ and run by the local stack: the S3 event ingests
// the file it names, the SQS event imports the chunk the ingest queued, and
// every HTTP event is answered as shipped and again with a live session.
func TestSAMEvents(t *testing.T) {
	root, tpl := samRepo(t)
	fns := samFunctions(t, tpl)
	read := func(fn samFunction) []byte {
		t.Helper()
		data, err := os.ReadFile(samEventPath(root, fn.dir))
		if err != nil {
			t.Fatalf("%v (TestSAMEventFiles says which are missing)", err)
		}
		return data
	}
	var routes, others []samFunction
	var auth, ingest samFunction
	for _, fn := range fns {
		switch fn.kind {
		case samHTTP:
			routes = append(routes, fn)
		case samAuthorizer:
			auth = fn
		case samS3:
			ingest = fn
		case samSQS, samSNS, samSchedule:
			if fn.dir != "imports-worker" {
				others = append(others, fn)
			}
		}
	}
	worker := fns["imports-worker"]
	slices.SortFunc(routes, func(a, b samFunction) int { return strings.Compare(a.dir, b.dir) })
	for _, fn := range routes {
		if _, ok := samExpect[fn.dir]; !ok {
			t.Errorf("samExpect says nothing of what functions/%s answers to its sample event", fn.dir)
		}
	}
	h := startSAMHarness(t, false)

	// The login event signs the admin in; the authorizer refuses the
	// placeholder and vouches for the real token.
	status, body := samHTTPStatus(t, h.st, fns["auth-login"].logicalID, read(fns["auth-login"]))
	var login struct{ Token string }
	if status != 200 || json.Unmarshal([]byte(body), &login) != nil || login.Token == "" {
		t.Fatalf("auth-login: %d %s, want 200 and a token", status, body)
	}
	var decision events.APIGatewayV2CustomAuthorizerSimpleResponse
	authEvent := read(auth)
	if err := json.Unmarshal(samInvoke(t, h.st, auth.logicalID, authEvent), &decision); err != nil || decision.IsAuthorized {
		t.Errorf("authorizer, placeholder token: %+v (%v), want a plain deny", decision, err)
	}
	decision = events.APIGatewayV2CustomAuthorizerSimpleResponse{}
	if err := json.Unmarshal(samInvoke(t, h.st, auth.logicalID, withToken(t, authEvent, login.Token)), &decision); err != nil || !decision.IsAuthorized || decision.Context["tenant"] != samTenant {
		t.Fatalf("authorizer, real token: %+v (%v), want allowed for %s", decision, err, samTenant)
	}

	// The S3 event names a file kept in testdata: put it where the event
	// says, ingest it, and the chunk the ingest queues must be the one in
	// the SQS event, which then imports its rows.
	s3Event := read(ingest)
	var s3ev events.S3Event
	if err := json.Unmarshal(s3Event, &s3ev); err != nil || len(s3ev.Records) != 1 {
		t.Fatalf("%s: %v", ingest.dir, err)
	}
	obj := s3ev.Records[0].S3.Object
	file, err := os.ReadFile(samObjectPath(root, obj.URLDecodedKey))
	if err != nil {
		t.Fatalf("the file the S3 event names: %v", err)
	}
	if sum := md5.Sum(file); int64(len(file)) != obj.Size || hex.EncodeToString(sum[:]) != obj.ETag {
		t.Fatalf("testdata/sam/s3/%s: %d bytes, MD5 %x; the S3 event says %d bytes, ETag %s", obj.URLDecodedKey, len(file), sum, obj.Size, obj.ETag)
	}
	h.putObject(t, obj.URLDecodedKey, file)
	<-h.created // this harness delivers S3 events by hand: the sample's
	if out := samInvoke(t, h.st, ingest.logicalID, s3Event); string(out) != "null" {
		t.Errorf("%s: %s, want null", ingest.dir, out)
	}
	var queued, shipped events.SQSEvent
	if err := json.Unmarshal(h.queue.await(t, worker.logicalID).payload, &queued); err != nil || len(queued.Records) != 1 {
		t.Fatalf("the ingest queued %v (%v), want one chunk", queued.Records, err)
	}
	sqsEvent := read(worker)
	if err := json.Unmarshal(sqsEvent, &shipped); err != nil || len(shipped.Records) != 1 {
		t.Fatalf("%s: %v", worker.dir, err)
	}
	if queued.Records[0].Body != shipped.Records[0].Body {
		t.Errorf("the ingest queued the chunk %s; the SQS event holds %s", queued.Records[0].Body, shipped.Records[0].Body)
	}
	var batch events.SQSEventResponse
	if err := json.Unmarshal(samInvoke(t, h.st, worker.logicalID, sqsEvent), &batch); err != nil || len(batch.BatchItemFailures) != 0 {
		t.Errorf("%s: %+v (%v), want no failures", worker.dir, batch, err)
	}

	// The notice and SES events name a notice no table holds: the worker
	// has nothing to send and acks it, ses-events has nothing to record;
	// the job task and the dead chunk name jobs no table holds, and the
	// sweep finds nothing stalled.
	for _, fn := range others {
		out := samInvoke(t, h.st, fn.logicalID, read(fn))
		if fn.kind == samSQS {
			var batch events.SQSEventResponse
			if err := json.Unmarshal(out, &batch); err != nil || len(batch.BatchItemFailures) != 0 {
				t.Errorf("%s: %s (%v), want no failures", fn.dir, out, err)
			}
		} else if string(out) != "null" {
			t.Errorf("%s: %s, want null", fn.dir, out)
		}
	}

	// Every HTTP event as shipped, then signed in; logout last, as it ends
	// the session the others use.
	slices.SortStableFunc(routes, func(a, b samFunction) int {
		return boolCmp(a.dir == "auth-logout", b.dir == "auth-logout")
	})
	for _, fn := range routes {
		want := samExpect[fn.dir]
		event := read(fn)
		if fn.dir != "auth-login" {
			if status, body := samHTTPStatus(t, h.st, fn.logicalID, event); status != want.asShipped {
				t.Errorf("%s as shipped: %d %s, want %d", fn.dir, status, body, want.asShipped)
			}
		}
		if !fn.route.Authorized {
			continue
		}
		status, body := samHTTPStatus(t, h.st, fn.logicalID, withCaller(t, event, login.Token, decision.Context))
		if status != want.signedIn {
			t.Errorf("%s signed in: %d %s, want %d", fn.dir, status, body, want.signedIn)
		}
		if fn.dir == "admin-imports-get" && !strings.Contains(body, `"status":"completed"`) {
			t.Errorf("admin-imports-get: %s, want the job of the S3 event completed by the SQS event", body)
		}
	}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// TestCaptureSAMEvents rewrites testdata/sam/events from a walk through the
// local stack: its gateway (httpapiemu, on the template's routes and
// authorizer), S3 and SQS build every event, the real functions answer, and
// the first event each function got is kept, with tokens and the gateway's
// port replaced by placeholders. Run it after a change to an event's shape or
// a new function:
//
//	go test ./internal/devstack/stack -run TestCaptureSAMEvents -sam-capture
func TestCaptureSAMEvents(t *testing.T) {
	if !*samCapture {
		t.Skip("writes testdata/sam/events; run with -sam-capture")
	}
	root, tpl := samRepo(t)
	fns := samFunctions(t, tpl)
	h := startSAMHarness(t, true)
	auth, err := tpl.Authorizer()
	if err != nil {
		t.Fatal(err)
	}
	var routes []httpapiemu.Route
	for _, r := range tpl.Routes() {
		routes = append(routes, httpapiemu.Route{Method: r.Method, Path: r.Path, Function: r.Function, Authorized: r.Authorized})
	}
	rec := newSAMRecorder(h.st)
	gw, err := httpapiemu.New(routes, &httpapiemu.AuthorizerConfig{Function: auth.Function, IdentityHeader: auth.IdentityHeader, TTL: auth.TTL}, rec, httpapiemu.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(gw)
	defer api.Close()

	var tokens []string
	call := func(token, method, path string, body any, want int) map[string]any {
		t.Helper()
		var r io.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			r = bytes.NewReader(data)
		}
		req, _ := http.NewRequest(method, api.URL+path, r)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
		}
		out := map[string]any{}
		_ = json.Unmarshal(data, &out)
		if tok, ok := out["token"].(string); ok {
			tokens = append(tokens, tok)
		}
		return out
	}
	str := func(m map[string]any, keys ...string) string {
		var v any = m
		for _, k := range keys {
			v = v.(map[string]any)[k]
		}
		s, _ := v.(string)
		return s
	}
	ingest := func() {
		t.Helper()
		ev := <-h.created
		data, _ := json.Marshal(ev)
		samInvoke(t, rec, fns["imports-ingest"].logicalID, data)
		h.queue.await(t, fns["imports-worker"].logicalID)
	}

	admin := str(call("", "POST", "/v1/auth/login", map[string]any{"tenant": samTenant, "username": samAdmin, "password": samAdminPassword}, 200), "token")
	settings := call(admin, "GET", "/v1/admin/settings", nil, 200)
	call(admin, "PATCH", "/v1/admin/settings", map[string]any{"version": settings["version"], "senderName": "Demo Library"}, 200)
	call(admin, "POST", "/v1/admin/usernames:suggest", map[string]any{"firstName": "Sadie", "lastName": "Example"}, 200)
	sadie := str(call(admin, "POST", "/v1/admin/users", map[string]any{"username": "sadie.example", "password": "temporary-passphrase-example-1", "primaryId": "0012345", "email": "sadie@demo.example"}, 201), "user", "id")
	call(admin, "GET", "/v1/admin/users?prefix=sad", nil, 200)
	user := call(admin, "GET", "/v1/admin/users/"+sadie, nil, 200)
	call(admin, "PATCH", "/v1/admin/users/"+sadie, map[string]any{"version": user["version"], "barcode": "21234000012345"}, 200)
	call(admin, "POST", "/v1/admin/users/"+sadie+"/password", map[string]any{"password": "temporary-passphrase-example-2", "passwordConfirmation": "temporary-passphrase-example-2"}, 200)
	patron := str(call("", "POST", "/v1/auth/login", map[string]any{"tenant": samTenant, "username": "sadie.example", "password": "temporary-passphrase-example-2"}, 200), "token")
	call(patron, "GET", "/v1/me", nil, 200)
	call(patron, "POST", "/v1/me/password", map[string]any{"currentPassword": "temporary-passphrase-example-2", "newPassword": "blue-river-lantern-morning-example"}, 200)
	call(admin, "POST", "/v1/admin/users/"+sadie+"/deactivate", nil, 200)
	call(admin, "POST", "/v1/admin/users/"+sadie+"/reactivate", nil, 200)
	tom := str(call(admin, "POST", "/v1/admin/users", map[string]any{"username": "tom.example", "password": "temporary-passphrase-example-4"}, 201), "user", "id")
	call(admin, "POST", "/v1/admin/users:bulk", map[string]any{"action": "deactivate", "ids": []string{tom}}, 200)
	call(admin, "GET", "/v1/admin/audit?limit=5", nil, 200)
	pending := str(call(admin, "POST", "/v1/admin/imports", map[string]any{"kind": "users", "mode": "create"}, 201), "importId")
	call(admin, "POST", "/v1/admin/imports/"+pending+"/cancel", nil, 200)

	// A LibraryPass-style two-column file dropped straight into the bucket:
	// its job id comes from bucket, key and ETag, so TestSAMEvents, storing
	// the same file under the same key, gets the same job back.
	const key = "imports/demo/patrons.csv"
	file, err := os.ReadFile(samObjectPath(root, key))
	if err != nil {
		t.Fatal(err)
	}
	h.putObject(t, key, file)
	ingest()
	var chunk events.SQSEvent
	if err := json.Unmarshal(h.queue.first[fns["imports-worker"].logicalID], &chunk); err != nil || len(chunk.Records) != 1 {
		t.Fatalf("chunk event: %v", err)
	}
	var task struct{ Job string }
	_ = json.Unmarshal([]byte(chunk.Records[0].Body), &task)
	if job := call(admin, "GET", "/v1/admin/imports/"+task.Job, nil, 200); job["status"] != "completed" {
		t.Fatalf("the dropped file's job: %v", job)
	}
	call(admin, "GET", "/v1/admin/imports", nil, 200)
	call(admin, "GET", "/v1/admin/imports/"+task.Job+"/report", nil, 200)

	// A set, through the API as the staff CLI makes one.
	started := call(admin, "POST", "/v1/admin/imports", map[string]any{"kind": "set", "setName": "Spring password resets"}, 201)
	req, _ := http.NewRequest(http.MethodPut, str(started, "uploadUrl"), strings.NewReader("Primary ID\n0012345\n"))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("If-None-Match", "*") // signed, with the content type
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	ingest()
	setID := str(call(admin, "GET", "/v1/admin/imports/"+str(started, "importId"), nil, 200), "setId")
	call(admin, "GET", "/v1/admin/sets", nil, 200)
	call(admin, "GET", "/v1/admin/sets/"+setID, nil, 200)
	call(admin, "DELETE", "/v1/admin/sets/"+setID, nil, 200)

	// Letters, and a notice through the pipeline: the reset link's
	// notice goes through the harness's notice queue to the worker.
	call(admin, "GET", "/v1/admin/letters", nil, 200)
	letter := call(admin, "GET", "/v1/admin/letters/password-reset-link", nil, 200)
	call(admin, "POST", "/v1/admin/letters/password-reset-link/preview", map[string]any{"subject": "Set your {{libraryName}} password"}, 200)
	call(admin, "PUT", "/v1/admin/letters/password-reset-link", map[string]any{"version": letter["version"], "subject": "Set your {{libraryName}} password",
		"body": "Hello {{username}},\n\nStaff at {{libraryName}} sent you this link to set a new password:\n\n{{link}}\n\nIt works once, for {{linkLifetime}}. Sign in at {{signInUrl}} with the library code {{libraryCode}}.\n"}, 200)
	call(admin, "POST", "/v1/admin/users/"+sadie+"/password", map[string]any{"sendResetLink": true}, 200)
	h.queue.await(t, fns["notices-worker"].logicalID)
	call(admin, "GET", "/v1/admin/users/"+sadie+"/notices", nil, 200)

	call("", "POST", "/v1/auth/password-reset", map[string]any{"token": "example-reset-token-from-the-e-mailed-link", "password": "another-passphrase-example-3"}, 400)
	call(admin, "DELETE", "/v1/admin/users/"+tom+"?confirm=tom.example", nil, 200)
	call(admin, "POST", "/v1/auth/logout", nil, 204)

	first := map[string][]byte{}
	for fn, p := range rec.first {
		first[fn] = p
	}
	for fn, p := range h.queue.first {
		first[fn] = p
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(api.URL, "http://"), ":")
	for _, fn := range fns {
		payload, ok := first[fn.logicalID]
		if !ok && (fn.kind == samSNS || fn.kind == samSchedule || fn.dir == "jobs-dead-letters") {
			// The stack delivers SNS and scheduled events inside itself,
			// out of the recorders' sight, and the walk parks nothing in a
			// dead-letter queue: those files are kept as written, in the
			// shape the stack delivers (TestSAMEventFiles checks it).
			continue
		}
		if !ok {
			t.Errorf("the walk never invoked %s: add a step for it", fn.logicalID)
			continue
		}
		s := strings.ReplaceAll(string(payload), strings.TrimPrefix(api.URL, "http://"), samHost)
		s = strings.ReplaceAll(s, `"x-forwarded-port":"`+port+`"`, `"x-forwarded-port":"3000"`)
		for _, tok := range tokens {
			s = strings.ReplaceAll(s, tok, samToken)
			s = strings.ReplaceAll(s, accounts.SessionIDOf(tok), accounts.SessionIDOf(samToken))
		}
		var out bytes.Buffer
		if err := json.Indent(&out, []byte(s), "", "  "); err != nil {
			t.Fatal(err)
		}
		out.WriteByte('\n')
		if err := os.WriteFile(samEventPath(root, fn.dir), out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSAMEnvVars checks testdata/sam/env.json: the SAM CLI's --env-vars
// format, and only variables the template declares, since the SAM CLI
// silently drops any other; the names it gives are the local stack's.
func TestSAMEnvVars(t *testing.T) {
	root, tpl := samRepo(t)
	data, err := os.ReadFile(filepath.Join(root, "testdata", "sam", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]string
	if err := decodeStrict(data, &file); err != nil {
		t.Fatalf("testdata/sam/env.json: want {\"Parameters\" or a logical id: {NAME: value}}: %v", err)
	}
	fns, err := tpl.Functions(map[string]string{"AccountsTable": "-", "ChunkQueue": "-", "NoticeQueue": "-", "JobQueue": "-", "NoticeConfigurationSet": "-", "RecoveryQueue": "-", "LookupKeySecret": "-", "ImportsBucket": "-"})
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]map[string]bool{"Parameters": {}}
	for _, f := range fns {
		declared[f.LogicalID] = map[string]bool{}
		for k := range f.Env {
			declared[f.LogicalID][k] = true
			declared["Parameters"][k] = true
		}
	}
	for scope, vars := range file {
		if declared[scope] == nil {
			t.Errorf("env.json: %q is neither Parameters nor a function's logical id", scope)
			continue
		}
		for k := range vars {
			if !declared[scope][k] {
				t.Errorf("env.json: %s.%s: no function declares it in template.yaml, so the SAM CLI would drop it", scope, k)
			}
		}
	}
	p := file["Parameters"]
	queue := tpl.SQSTriggers()[0].Queue
	for k, want := range map[string]string{"TABLE_NAME": stack.TableName, "IMPORT_BUCKET": samBucket(t, tpl)} {
		if p[k] != want {
			t.Errorf("env.json: Parameters.%s = %q, want the local stack's %q", k, p[k], want)
		}
	}
	if !strings.HasSuffix(p["CHUNK_QUEUE_URL"], "/123456789012/"+queue) || !strings.HasPrefix(p["CHUNK_QUEUE_URL"], p["AWS_ENDPOINT_URL_SQS"]+"/") {
		t.Errorf("env.json: CHUNK_QUEUE_URL %q is not the local stack's %s under AWS_ENDPOINT_URL_SQS", p["CHUNK_QUEUE_URL"], queue)
	}
}
