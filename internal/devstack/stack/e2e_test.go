package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

const adminPassword = "correct horse battery staple"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startStack runs the real local stack on free ports with its logs captured,
// so tests can check what the functions wrote.
func startStack(tb testing.TB) (*stack.Stack, *syncBuffer) {
	tb.Helper()
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(tb) // fails in CI, skips elsewhere, with the reason
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: tb.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
	})
	if err != nil {
		tb.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	tb.Cleanup(st.Close)
	return st, logs
}

type client struct {
	tb    testing.TB
	base  string
	token string
}

func (c client) do(method, path string, body any) (int, map[string]any) {
	c.tb.Helper()
	var r io.Reader
	var sent []byte
	if body != nil {
		sent, _ = json.Marshal(body)
		r = bytes.NewReader(sent)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	checked, _ := http.NewRequest(method, c.base+path, nil)
	checked.Header = req.Header.Clone()
	checkSpec(c.tb, c.base, checked, sent, resp.StatusCode, resp.Header, data)
	out := map[string]any{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			c.tb.Fatalf("%s %s: %d, body not JSON: %q", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, out
}

func (c client) login(tenant, username, password string) client {
	c.tb.Helper()
	status, out := c.do("POST", "/v1/auth/login", map[string]string{"tenant": tenant, "username": username, "password": password})
	if status != 200 {
		c.tb.Fatalf("login %s/%s: %d %v", tenant, username, status, out)
	}
	c.token, _ = out["token"].(string)
	return c
}

func want(tb testing.TB, what string, got, wantStatus int, body map[string]any) {
	tb.Helper()
	if got != wantStatus {
		tb.Fatalf("%s: status %d, want %d (%v)", what, got, wantStatus, body)
	}
}

func TestWalkThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, logs := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)

	status, body := admin.do("POST", "/v1/admin/users", map[string]any{"username": "Sadie.P", "password": "temporary passphrase 1", "primaryId": "0012345", "email": "sadie@kpu.ca"})
	want(t, "admin creates a user", status, 201, body)
	userID := body["user"].(map[string]any)["id"].(string)

	patron := anon.login("kpu", "sadie.p", "temporary passphrase 1")
	status, body = patron.do("GET", "/v1/me", nil)
	want(t, "user reads /v1/me", status, 200, body)
	if body["username"] != "Sadie.P" || body["mustChangePassword"] != true || body["primaryId"] != "0012345" {
		t.Errorf("/v1/me = %v", body)
	}
	status, body = patron.do("GET", "/v1/admin/users", nil)
	want(t, "user token on a staff route", status, 403, body)
	status, body = patron.do("POST", "/v1/me/password", map[string]string{"currentPassword": "temporary passphrase 1", "newPassword": "blue river lantern morning"})
	want(t, "user changes password", status, 200, body)
	status, body = patron.do("GET", "/v1/admin/users/"+userID, nil)
	want(t, "patron on a staff route after the change", status, 403, body)

	status, body = admin.do("GET", "/v1/admin/users?prefix=sad", nil)
	want(t, "admin lists", status, 200, body)
	if users := body["users"].([]any); len(users) != 1 {
		t.Errorf("listing: %v", body)
	}
	status, body = admin.do("GET", "/v1/admin/users/"+userID, nil)
	want(t, "admin reads the user", status, 200, body)

	// A second library on the same deployment sees nothing of the first.
	bootstrapTenant(t, st, "ubc")
	other := anon.login("ubc", "admin", adminPassword)
	status, body = other.do("GET", "/v1/admin/users/"+userID, nil)
	want(t, "admin of another tenant reads the user", status, 404, body)
	status, body = other.do("GET", "/v1/admin/users?prefix=sad", nil)
	want(t, "admin of another tenant lists", status, 200, body)
	if users := body["users"].([]any); len(users) != 0 {
		t.Errorf("other tenant sees %v", users)
	}

	status, body = patron.do("POST", "/v1/auth/logout", nil)
	want(t, "logout", status, 204, body)
	// The authorizer is asked on every request (no cache: a browser's
	// session is a cookie, so there is no identity source to key one on),
	// so the token is dead at once.
	status, body = patron.do("GET", "/v1/me", nil)
	want(t, "token after logout", status, 403, body)
	// With no identity source the gateway has nothing to find missing: a
	// request without credentials is the authorizer's deny, 403.
	status, body = anon.do("GET", "/v1/me", nil)
	want(t, "no token", status, 403, body)

	all := logs.String()
	for name, secret := range map[string]string{
		"admin password": adminPassword, "temporary password": "temporary passphrase 1", "new password": "blue river lantern morning",
		"admin token": admin.token, "patron token": patron.token, "token secret": strings.Split(patron.token, ".")[2],
	} {
		if strings.Contains(all, secret) {
			t.Errorf("%s appears in the logs", name)
		}
	}
	if !strings.Contains(all, "[AuthLoginFunction]") {
		t.Error("function logs were not captured; the secret check above proves nothing")
	}
}

// bootstrapTenant is the operator's act, against the stack's DynamoDB.
func bootstrapTenant(tb testing.TB, st *stack.Stack, id string) {
	tb.Helper()
	c, err := dynamodblocal.NewClient(context.Background(), st.DynamoEndpoint)
	if err != nil {
		tb.Fatal(err)
	}
	svc := accounts.NewService(accounts.Deps{Store: dynamostore.New(c, stack.TableName), Hasher: passhash.New(passhash.DefaultParams()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, accounts.Config{})
	if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: id, AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
		tb.Fatal(err)
	}
}

// Every function binary of the template answers an event that arrives
// through the Lambda Runtime API, which proves each main.go's wiring.
func TestEveryFunctionAnswersThroughTheRuntimeAPI(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, _ := startStack(t)
	root, err := samtemplate.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(root + "/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Only the list of functions matters here; the stack gave them their
	// real references.
	fns, err := tpl.Functions(map[string]string{"AccountsTable": stack.TableName, "ChunkQueue": "unused", "NoticeQueue": "unused", "JobQueue": "unused", "NoticeConfigurationSet": "unused", "RecoveryQueue": "unused", "LookupKeySecret": "unused", "ImportsBucket": "unused"})
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := tpl.Authorizer()
	s3fns, sqsfns, snsfns := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, tr := range tpl.SNSTriggers() {
		snsfns[tr.Function] = true
	}
	for _, tr := range tpl.S3Triggers() {
		s3fns[tr.Function] = true
	}
	for _, tr := range tpl.SQSTriggers() {
		sqsfns[tr.Function] = true
	}
	schedules, err := tpl.ScheduleTriggers()
	if err != nil {
		t.Fatal(err)
	}
	schedfns := map[string]bool{}
	for _, tr := range schedules {
		schedfns[tr.Function] = true
	}
	for _, f := range fns {
		t.Run(f.LogicalID, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if f.LogicalID == auth.Function {
				out, err := st.Invoke(ctx, f.LogicalID, mustJSON(events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", IdentitySource: []string{"Bearer nope"}}))
				if err != nil {
					t.Fatal(err)
				}
				var resp events.APIGatewayV2CustomAuthorizerSimpleResponse
				if err := json.Unmarshal(out, &resp); err != nil || resp.IsAuthorized {
					t.Fatalf("authorizer answer %s (%v)", out, err)
				}
				return
			}
			switch {
			case s3fns[f.LogicalID]:
				// An object outside imports/ is acknowledged and ignored.
				ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put", S3: events.S3Entity{Bucket: events.S3Bucket{Name: st.Bucket}, Object: events.S3Object{Key: "elsewhere/x.csv", Size: 1}}}}}
				out, err := st.Invoke(ctx, f.LogicalID, mustJSON(ev))
				if err != nil || string(out) != "null" {
					t.Fatalf("S3 trigger answered %s (%v)", out, err)
				}
				return
			case sqsfns[f.LogicalID]:
				// An unreadable message is dropped, not failed: no retries.
				ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: "not json"}}}
				out, err := st.Invoke(ctx, f.LogicalID, mustJSON(ev))
				var resp events.SQSEventResponse
				if err != nil || json.Unmarshal(out, &resp) != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("SQS trigger answered %s (%v)", out, err)
				}
				return
			case snsfns[f.LogicalID]:
				// An unreadable event is logged and dropped: SNS's retries
				// would only repeat it.
				ev := events.SNSEvent{Records: []events.SNSEventRecord{{EventSource: "aws:sns", SNS: events.SNSEntity{MessageID: "n1", Message: "not json"}}}}
				out, err := st.Invoke(ctx, f.LogicalID, mustJSON(ev))
				if err != nil || string(out) != "null" {
					t.Fatalf("SNS trigger answered %s (%v)", out, err)
				}
				return
			case schedfns[f.LogicalID]:
				// A tick of the schedule on a table with nothing to do.
				if err := st.RunSchedule(ctx, f.LogicalID); err != nil {
					t.Fatalf("scheduled tick: %v", err)
				}
				return
			case len(f.Routes) == 0:
				t.Fatalf("%s has no route and no trigger", f.LogicalID)
			}
			r := f.Routes[0]
			out, err := st.Invoke(ctx, f.LogicalID, mustJSON(events.APIGatewayV2HTTPRequest{
				Version: "2.0", RouteKey: r.Method + " " + r.Path, RawPath: r.Path,
				RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "rt-1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.Path}},
			}))
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("not an HTTP API response: %s", out)
			}
			if r.Function == "WebFunction" {
				// The pages: the console's own page, under its CSP.
				if resp.StatusCode != 200 || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") || !strings.Contains(resp.Headers["Content-Security-Policy"], "frame-ancestors 'none'") {
					t.Fatalf("%s %s: %d %v, want the console's page", r.Method, r.Path, resp.StatusCode, resp.Headers)
				}
				return
			}
			// Without the authorizer's context a protected route is 401;
			// login without a body is 400.
			wantStatus := 401
			if !r.Authorized {
				wantStatus = 400
			}
			if resp.StatusCode != wantStatus || !strings.Contains(resp.Body, `"requestId":"rt-1"`) {
				t.Fatalf("%s: %d %s, want %d", fmt.Sprint(r.Method, " ", r.Path), resp.StatusCode, resp.Body, wantStatus)
			}
		})
	}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
