package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

const adminPassword = "correct horse battery staple"

// resetPage is the page reset links open in the tests.
const resetPage = "https://accounts.example.org/reset-password"

type env struct {
	api  *apigw.API
	logs *bytes.Buffer
	mail *outbox // nil when the service has no mailer
}

// newEnv is a service on a fresh DynamoDB Local table with a recording
// mailer, and an admin "admin" in each tenant.
func newEnv(tb testing.TB, tenants ...string) *env {
	return newEnvWith(tb, &outbox{}, tenants...)
}

// newEnvWith is newEnv with the given mailer; nil means e-mail is not
// configured.
func newEnvWith(tb testing.TB, mail *outbox, tenants ...string) *env {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	deps := accounts.Deps{
		Store:  dynamostore.New(client, table),
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}), Logger: log,
	}
	q := &inlineNotices{}
	if mail != nil {
		deps.Mailer, deps.Notices = mail, q
	}
	// A high rate: pacing is the notice tests' subject, not these.
	svc := accounts.NewService(deps, accounts.Config{ResetPageURL: resetPage, NoticeSendRate: 1000})
	q.svc = svc
	for _, t := range tenants {
		if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: t, AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
			tb.Fatal(err)
		}
	}
	return &env{api: apigw.New(svc, log), logs: logs, mail: mail}
}

func jsonReq(route, body string) apigw.Request {
	return apigw.Request{
		RouteKey: route, Body: body,
		Headers:        map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1"},
	}
}

type errBody struct {
	Error struct{ Code, Message, Field, RequestID string } `json:"error"`
}

func decodeErr(tb testing.TB, resp apigw.Response) errBody {
	tb.Helper()
	var e errBody
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil {
		tb.Fatalf("error body is not JSON: %q", resp.Body)
	}
	return e
}

// login signs in and returns a request template carrying what the
// authorizer hands API Gateway for that token.
func (e *env) login(tb testing.TB, tenant, username, password string) (token string, authed func(route, body string) apigw.Request) {
	tb.Helper()
	resp, _ := e.api.Login(context.Background(), jsonReq("POST /v1/auth/login", `{"tenant":"`+tenant+`","username":"`+username+`","password":"`+password+`"}`))
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("login: %d %s", resp.StatusCode, resp.Body)
	}
	var out struct{ Token string }
	_ = json.Unmarshal([]byte(resp.Body), &out)
	ctx := e.authorize(tb, "Bearer "+out.Token)
	if ctx == nil {
		tb.Fatal("fresh token denied")
	}
	return out.Token, func(route, body string) apigw.Request {
		r := jsonReq(route, body)
		r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: ctx}
		return r
	}
}

func (e *env) authorize(tb testing.TB, header string) map[string]any {
	tb.Helper()
	resp, err := e.api.Authorize(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
		Type: "REQUEST", RouteKey: "GET /v1/me", IdentitySource: []string{header},
		Headers: map[string]string{"authorization": header},
	})
	if err != nil {
		tb.Fatalf("authorizer error: %v", err)
	}
	if !resp.IsAuthorized {
		return nil
	}
	return resp.Context
}

// TestEveryErrorCodeHasAStatus walks the domain's own list of codes: a code
// added there but not to the status table would otherwise be served as the
// 500 fallback.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	documented := map[accounts.Code]int{ // the README's list
		accounts.CodeInvalid: 400, accounts.CodeUnauthorized: 401, accounts.CodeForbidden: 403,
		accounts.CodeNotFound: 404, accounts.CodeConflict: 409, accounts.CodeTooLarge: 413,
		accounts.CodePreconditionRequired: 428, accounts.CodeInternal: 500, accounts.CodeUnavailable: 503,
	}
	seen := map[accounts.Code]bool{}
	for _, code := range accounts.Codes() {
		if seen[code] {
			t.Errorf("%s is listed twice", code)
		}
		seen[code] = true
		got := apigw.StatusOf(accounts.E(code, "x"))
		if code != accounts.CodeInternal && got == http.StatusInternalServerError {
			t.Errorf("%s falls back to 500: add it to the status table", code)
			continue
		}
		if want, ok := documented[code]; !ok {
			t.Errorf("%s -> %d is not documented (README: The API)", code, got)
		} else if got != want {
			t.Errorf("%s -> %d, want %d", code, got, want)
		}
	}
	if got := apigw.StatusOf(accounts.E(accounts.CodeInternal, "x")); got != http.StatusInternalServerError {
		t.Errorf("internal -> %d, want 500", got)
	}
}

func TestBadBodiesGetClearErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	secret := "hunter2-but-longer-than-that"
	cases := []struct {
		name, body, contentType string
		base64                  bool
		status                  int
		want                    string
	}{
		{"not json", `{"tenant":`, "application/json", false, 400, "truncated"},
		{"syntax", `{"tenant" "kpu"}`, "application/json", false, 400, "not valid JSON (at byte"},
		{"unknown field", `{"tenant":"kpu","username":"a","password":"` + secret + `","admin":true}`, "application/json", false, 400, `unknown field "admin"`},
		{"wrong type", `{"tenant":"kpu","username":1,"password":"` + secret + `"}`, "application/json", false, 400, `"username" must be a string`},
		{"array", `[]`, "application/json", false, 400, "must be a JSON object"},
		{"trailing", `{"tenant":"kpu","username":"a","password":"x"} {}`, "application/json", false, 400, "data after"},
		{"empty", ``, "application/json", false, 400, "empty"},
		{"form", `tenant=kpu`, "application/x-www-form-urlencoded", false, 400, "Content-Type"},
		{"huge", `{"tenant":"` + strings.Repeat("k", 70<<10) + `"}`, "application/json", false, 413, "larger than"},
		{"bad base64", `%%%`, "application/json", true, 400, "base64"},
		{"missing fields", `{"tenant":"kpu"}`, "application/json", false, 400, "required"},
		{"null", `null`, "application/json", false, 400, "must be a JSON object"},
		{"string", ` "kpu"`, "application/json", false, 400, "must be a JSON object"},
		{"not utf-8", "{\"tenant\":\"kpu\",\"username\":\"ann\xff\",\"password\":\"" + secret + "\"}", "application/json", false, 400, "not valid UTF-8 (at byte 31)"},
		{"lone high surrogate", `{"tenant":"kpu","username":"ann\ud800","password":"` + secret + `"}`, "application/json", false, 400, `lone surrogate \uD800`},
		{"high then not low", `{"tenant":"kpu","username":"ann\ud800\u0041","password":"` + secret + `"}`, "application/json", false, 400, "lone surrogate"},
		{"lone low surrogate", `{"tenant":"kpu","username":"ann\uDC00x","password":"` + secret + `"}`, "application/json", false, 400, "lone surrogate"},
		{"high at the end", `{"tenant":"kpu","username":"ann\ud83d`, "application/json", false, 400, "lone surrogate"},
		{"utf-16", `{"tenant":"kpu","username":"a","password":"x"}`, "application/json; charset=utf-16", false, 400, "charset must be utf-8"},
		{"escaped backslash then u", `{"tenant":"kpu","username":"a\\ud800","password":"` + secret + `"}`, "application/json", false, 401, "invalid username or password"},
		{"a real pair", `{"tenant":"kpu","username":"\ud83d\ude00","password":"` + secret + `"}`, "application/json; charset=UTF-8", false, 401, "invalid username or password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonReq("POST /v1/auth/login", tc.body)
			r.Headers["content-type"] = tc.contentType
			r.IsBase64Encoded = tc.base64
			resp, err := e.api.Login(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			b := decodeErr(t, resp)
			if !strings.Contains(b.Error.Message, tc.want) {
				t.Errorf("message %q does not say %q", b.Error.Message, tc.want)
			}
			if b.Error.RequestID != "req-1" {
				t.Errorf("requestId = %q", b.Error.RequestID)
			}
			if strings.Contains(resp.Body, secret) {
				t.Error("response echoes the password")
			}
		})
	}

	// A base64 body (API Gateway encodes some content types) is decoded.
	r := jsonReq("POST /v1/auth/login", base64.StdEncoding.EncodeToString([]byte(`{"tenant":"kpu","username":"admin","password":"`+adminPassword+`"}`)))
	r.IsBase64Encoded = true
	if resp, _ := e.api.Login(context.Background(), r); resp.StatusCode != 200 {
		t.Errorf("base64 login: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestAuthorizer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	token, authed := e.login(t, "kpu", "admin", adminPassword)
	for name, h := range map[string]string{"none": "", "basic": "Basic YWRtaW46eA==", "bare token": token, "bad token": "Bearer kpu.x.y"} {
		if ctx := e.authorize(t, h); ctx != nil {
			t.Errorf("%s: allowed", name)
		}
	}
	ctx := e.authorize(t, "bearer "+token)
	if ctx == nil || ctx["tenant"] != "kpu" || ctx["roles"] != "admin" || ctx["userId"] == "" {
		t.Fatalf("context = %v", ctx)
	}
	resp, _ := e.api.Logout(context.Background(), authed("POST /v1/auth/logout", ""))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Body)
	}
	if e.authorize(t, "Bearer "+token) != nil {
		t.Error("token allowed after logout")
	}
	// The handler re-checks the session, so even a stale authorizer cache
	// entry cannot act for a revoked token.
	resp, _ = e.api.Me(context.Background(), authed("GET /v1/me", ""))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("me with a revoked session: %d", resp.StatusCode)
	}
	if strings.Contains(e.logs.String(), token) {
		t.Error("token in logs")
	}
}

func TestStaffRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	ctx := context.Background()
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)

	resp, _ := e.api.CreateUser(ctx, kpu("POST /v1/admin/users", `{"username":"Sadie","generatePassword":true,"primaryId":"0012"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	var created struct {
		User              struct{ ID, Username, PrimaryID string }
		GeneratedPassword string
	}
	_ = json.Unmarshal([]byte(resp.Body), &created)
	if created.GeneratedPassword == "" || created.User.ID == "" {
		t.Fatalf("create response: %s", resp.Body)
	}
	if strings.Contains(resp.Body, "argon2") || strings.Contains(resp.Body, "passwordHash") {
		t.Fatal("response leaks the hash")
	}
	resp, _ = e.api.CreateUser(ctx, kpu("POST /v1/admin/users", `{"username":"SADIE","password":"another fine passphrase"}`))
	if b := decodeErr(t, resp); resp.StatusCode != 409 || b.Error.Field != "username" {
		t.Errorf("duplicate: %d %s", resp.StatusCode, resp.Body)
	}

	get := func(req func(string, string) apigw.Request, id string) apigw.Response {
		r := req("GET /v1/admin/users/{id}", "")
		r.PathParameters = map[string]string{"id": id}
		resp, _ := e.api.GetUser(ctx, r)
		return resp
	}
	if resp := get(kpu, created.User.ID); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"primaryId":"0012"`) {
		t.Errorf("get own: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := get(ubc, created.User.ID); resp.StatusCode != 404 {
		t.Errorf("get across tenants: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := get(kpu, "../../etc"); resp.StatusCode != 404 {
		t.Errorf("get malformed id: %d", resp.StatusCode)
	}

	list := func(q map[string]string) apigw.Response {
		r := kpu("GET /v1/admin/users", "")
		r.QueryStringParameters = q
		resp, _ := e.api.ListUsers(ctx, r)
		return resp
	}
	if resp := list(map[string]string{"prefix": "sa", "limit": "10"}); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"username":"Sadie"`) {
		t.Errorf("list: %d %s", resp.StatusCode, resp.Body)
	}
	for name, q := range map[string]map[string]string{
		"unknown param": {"staus": "active"}, "bad limit": {"limit": "ten"}, "zero limit": {"limit": "0"}, "bad noRole": {"noRole": "maybe"},
	} {
		if resp := list(q); resp.StatusCode != 400 {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}

	// The new user must change the password before anything but /v1/me.
	_, sadie := e.login(t, "kpu", "sadie", created.GeneratedPassword)
	if resp, _ := e.api.Me(ctx, sadie("GET /v1/me", "")); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"mustChangePassword":true`) {
		t.Errorf("me: %d %s", resp.StatusCode, resp.Body)
	}
	// Refused while the change is pending: the domain says what to do, the
	// adapter says where.
	if resp, _ := e.api.ListUsers(ctx, sadie("GET /v1/admin/users", "")); resp.StatusCode != 403 {
		t.Errorf("patron on staff route: %d", resp.StatusCode)
	} else if b := decodeErr(t, resp); !strings.Contains(b.Error.Message, "change your password first (POST /v1/me/password)") {
		t.Errorf("pending-change refusal does not say where: %q", b.Error.Message)
	}
	body, _ := json.Marshal(map[string]string{"currentPassword": created.GeneratedPassword, "newPassword": "my own long passphrase"})
	if resp, _ := e.api.ChangePassword(ctx, sadie("POST /v1/me/password", string(body))); resp.StatusCode != 200 {
		t.Errorf("change password: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := e.api.ListUsers(ctx, sadie("GET /v1/admin/users", "")); resp.StatusCode != 403 {
		t.Errorf("patron on staff route after change: %d", resp.StatusCode)
	}
	// Without the authorizer's context nobody gets in.
	if resp, _ := e.api.Me(ctx, jsonReq("GET /v1/me", "")); resp.StatusCode != 401 {
		t.Errorf("no authorizer context: %d", resp.StatusCode)
	}
}
