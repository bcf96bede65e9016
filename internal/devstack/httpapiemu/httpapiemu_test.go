package httpapiemu_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/httpapiemu"
)

// call is one recorded invocation.
type call struct {
	Function string
	Payload  []byte
}

// fakeInvoker records invocations and answers them with Handle, or with a
// plain 200 proxy response when Handle is nil.
type fakeInvoker struct {
	Handle func(ctx context.Context, function string, payload []byte) ([]byte, error)

	mu    sync.Mutex
	calls []call
}

func (f *fakeInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{function, bytes.Clone(payload)})
	f.mu.Unlock()
	if f.Handle != nil {
		return f.Handle(ctx, function, payload)
	}
	return []byte(`{"statusCode":200,"body":"ok"}`), nil
}

func (f *fakeInvoker) callsTo(function string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Function == function {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// lastEvent decodes the last event sent to function.
func (f *fakeInvoker) lastEvent(tb testing.TB, function string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	calls := f.callsTo(function)
	if len(calls) == 0 {
		tb.Fatalf("%s was not invoked", function)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(calls[len(calls)-1].Payload, &ev); err != nil {
		tb.Fatal(err)
	}
	return ev
}

var quietLogger = slog.New(slog.DiscardHandler)

func newGateway(tb testing.TB, routes []httpapiemu.Route, auth *httpapiemu.AuthorizerConfig, inv httpapiemu.Invoker, opts httpapiemu.Options) *httpapiemu.Gateway {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	g, err := httpapiemu.New(routes, auth, inv, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return g
}

func serve(g http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

func assertMessage(tb testing.TB, w *httptest.ResponseRecorder, status int, message string) {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("status = %d, want %d (body %s)", w.Code, status, w.Body)
	}
	want := `{"message":"` + message + `"}`
	if got := w.Body.String(); got != want {
		tb.Errorf("body = %s, want %s", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func TestRouteSelection(t *testing.T) {
	routes := []httpapiemu.Route{
		{Method: "GET", Path: "/", Function: "Root"},
		{Method: "GET", Path: "/v1/users/me", Function: "Me"},
		{Method: "GET", Path: "/v1/users/{id}", Function: "GetUser"},
		{Method: "ANY", Path: "/v1/users/{id}", Function: "AnyUser"},
		{Method: "POST", Path: "/v1/users", Function: "CreateUser"},
		{Method: "GET", Path: "/v1/{proxy+}", Function: "V1Proxy"},
		{Method: "GET", Path: "/v1/users/{id}/sessions/{sid}", Function: "Session"},
		{Method: "ANY", Path: "/files/{proxy+}", Function: "Files"},
	}
	inv := &fakeInvoker{}
	g := newGateway(t, routes, nil, inv, httpapiemu.Options{})

	tests := []struct {
		method, target string
		wantFunction   string // "" means 404
		wantRouteKey   string
		wantParams     map[string]string
	}{
		{"GET", "/", "Root", "GET /", nil},
		{"GET", "/v1/users/me", "Me", "GET /v1/users/me", nil},
		{"GET", "/v1/users/42", "GetUser", "GET /v1/users/{id}", map[string]string{"id": "42"}},
		{"DELETE", "/v1/users/42", "AnyUser", "ANY /v1/users/{id}", map[string]string{"id": "42"}},
		{"OPTIONS", "/v1/users/42", "AnyUser", "ANY /v1/users/{id}", map[string]string{"id": "42"}},
		{"POST", "/v1/users/me", "AnyUser", "ANY /v1/users/{id}", map[string]string{"id": "me"}},
		{"POST", "/v1/users", "CreateUser", "POST /v1/users", nil},
		{"GET", "/v1/users", "V1Proxy", "GET /v1/{proxy+}", map[string]string{"proxy": "users"}},
		{"GET", "/v1/users/42/avatar", "V1Proxy", "GET /v1/{proxy+}", map[string]string{"proxy": "users/42/avatar"}},
		{"GET", "/v1/users/42/sessions/s1", "Session", "GET /v1/users/{id}/sessions/{sid}", map[string]string{"id": "42", "sid": "s1"}},
		{"GET", "/v1/users/a%20b", "GetUser", "GET /v1/users/{id}", map[string]string{"id": "a b"}},
		{"PUT", "/files/a/b/c.txt", "Files", "ANY /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"PUT", "/v1/users", "", "", nil},
		{"GET", "/files", "", "", nil},
		{"GET", "/v1/users/", "V1Proxy", "GET /v1/{proxy+}", map[string]string{"proxy": "users/"}},
		{"GET", "/v1/users/42/", "V1Proxy", "GET /v1/{proxy+}", map[string]string{"proxy": "users/42/"}},
		{"GET", "/v1/", "", "", nil},
		{"GET", "/V1/users/me", "", "", nil},
		{"GET", "/nope", "", "", nil},
		{"HEAD", "/", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			before := len(inv.callsTo(tt.wantFunction))
			w := serve(g, httptest.NewRequest(tt.method, tt.target, nil))
			if tt.wantFunction == "" {
				assertMessage(t, w, http.StatusNotFound, "Not Found")
				return
			}
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, body %s", w.Code, w.Body)
			}
			if n := len(inv.callsTo(tt.wantFunction)); n != before+1 {
				t.Fatalf("%s invoked %d times, want 1", tt.wantFunction, n-before)
			}
			ev := inv.lastEvent(t, tt.wantFunction)
			if ev.RouteKey != tt.wantRouteKey || ev.RequestContext.RouteKey != tt.wantRouteKey {
				t.Errorf("route key = %q / %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, tt.wantRouteKey)
			}
			if !mapsEqual(ev.PathParameters, tt.wantParams) {
				t.Errorf("path parameters = %v, want %v", ev.PathParameters, tt.wantParams)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestNewRejectsInvalidRoutes(t *testing.T) {
	auth := &httpapiemu.AuthorizerConfig{Function: "Auth"}
	tests := []struct {
		name   string
		routes []httpapiemu.Route
		auth   *httpapiemu.AuthorizerConfig
	}{
		{"duplicate", []httpapiemu.Route{{Method: "GET", Path: "/a", Function: "F"}, {Method: "GET", Path: "/a", Function: "G"}}, nil},
		{"duplicate shape", []httpapiemu.Route{{Method: "GET", Path: "/a/{id}", Function: "F"}, {Method: "GET", Path: "/a/{name}", Function: "G"}}, nil},
		{"no leading slash", []httpapiemu.Route{{Method: "GET", Path: "a", Function: "F"}}, nil},
		{"empty segment", []httpapiemu.Route{{Method: "GET", Path: "/a//b", Function: "F"}}, nil},
		{"greedy not last", []httpapiemu.Route{{Method: "GET", Path: "/a/{proxy+}/b", Function: "F"}}, nil},
		{"partial variable", []httpapiemu.Route{{Method: "GET", Path: "/a/x{id}", Function: "F"}}, nil},
		{"repeated variable", []httpapiemu.Route{{Method: "GET", Path: "/a/{id}/{id}", Function: "F"}}, nil},
		{"bad method", []httpapiemu.Route{{Method: "FETCH", Path: "/a", Function: "F"}}, nil},
		{"no function", []httpapiemu.Route{{Method: "GET", Path: "/a"}}, nil},
		{"authorized without authorizer", []httpapiemu.Route{{Method: "GET", Path: "/a", Function: "F", Authorized: true}}, nil},
		{"authorizer without function", []httpapiemu.Route{{Method: "GET", Path: "/a", Function: "F"}}, &httpapiemu.AuthorizerConfig{}},
		{"negative TTL", []httpapiemu.Route{{Method: "GET", Path: "/a", Function: "F"}}, &httpapiemu.AuthorizerConfig{Function: "Auth", IdentityHeader: "Authorization", TTL: -time.Second}},
		// API Gateway refuses this too: there is no identity to cache by.
		{"cache without identity source", []httpapiemu.Route{{Method: "GET", Path: "/a", Function: "F"}}, &httpapiemu.AuthorizerConfig{Function: "Auth", TTL: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := httpapiemu.New(tt.routes, tt.auth, &fakeInvoker{}, httpapiemu.Options{}); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
	ok := []httpapiemu.Route{
		{Method: "GET", Path: "/a/{id}", Function: "F"},
		{Method: "ANY", Path: "/a/{id}", Function: "F"},
		{Method: "get", Path: "/b", Function: "F", Authorized: true},
	}
	if _, err := httpapiemu.New(ok, auth, &fakeInvoker{}, httpapiemu.Options{}); err != nil {
		t.Errorf("New(valid routes): %v", err)
	}
	if _, err := httpapiemu.New(ok, auth, nil, httpapiemu.Options{}); err == nil {
		t.Error("New with a nil Invoker succeeded")
	}
}

func TestRequestEvent(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	inv := &fakeInvoker{}
	g := newGateway(t, []httpapiemu.Route{{Method: "POST", Path: "/v1/users/{id}/items", Function: "F"}}, nil, inv,
		httpapiemu.Options{APIID: "abc123", Now: func() time.Time { return now }})

	r := httptest.NewRequest("POST", "http://api.example.com:8080/v1/users/u%2F1/items?b=2&a=1&a=3&empty=", strings.NewReader(`{"x":1}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Custom", "one")
	r.Header.Add("X-Custom", "two")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	r.Header.Set("User-Agent", "test-agent/1.0")
	w := serve(g, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	ev := inv.lastEvent(t, "F")

	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "POST /v1/users/{id}/items"},
		{"rawPath", ev.RawPath, "/v1/users/u%2F1/items"},
		{"rawQueryString", ev.RawQueryString, "b=2&a=1&a=3&empty="},
		{"cookies", strings.Join(ev.Cookies, "|"), "a=1|b=2|c=3"},
		{"header x-custom", ev.Headers["x-custom"], "one,two"},
		{"header content-type", ev.Headers["content-type"], "application/json"},
		{"header host", ev.Headers["host"], "api.example.com:8080"},
		{"header user-agent", ev.Headers["user-agent"], "test-agent/1.0"},
		{"header x-forwarded-for", ev.Headers["x-forwarded-for"], "192.0.2.1"},
		{"cookie header removed", ev.Headers["cookie"], ""},
		{"query a", ev.QueryStringParameters["a"], "1,3"},
		{"query b", ev.QueryStringParameters["b"], "2"},
		{"query empty", ev.QueryStringParameters["empty"], ""},
		{"path id (decoded)", ev.PathParameters["id"], "u/1"},
		{"body", ev.Body, `{"x":1}`},
		{"isBase64Encoded", ev.IsBase64Encoded, false},
		{"accountId", ev.RequestContext.AccountID, "123456789012"},
		{"apiId", ev.RequestContext.APIID, "abc123"},
		{"stage", ev.RequestContext.Stage, "$default"},
		{"domainName", ev.RequestContext.DomainName, "api.example.com:8080"},
		{"domainPrefix", ev.RequestContext.DomainPrefix, "api"},
		{"http.method", ev.RequestContext.HTTP.Method, "POST"},
		{"http.path", ev.RequestContext.HTTP.Path, "/v1/users/u%2F1/items"},
		{"http.protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"http.sourceIp", ev.RequestContext.HTTP.SourceIP, "192.0.2.1"},
		{"http.userAgent", ev.RequestContext.HTTP.UserAgent, "test-agent/1.0"},
		{"requestId", ev.RequestContext.RequestID, w.Header().Get("apigw-requestid")},
		{"routeKey (context)", ev.RequestContext.RouteKey, "POST /v1/users/{id}/items"},
		{"time", ev.RequestContext.Time, "04/Mar/2025:05:06:07 +0000"},
		{"timeEpoch", ev.RequestContext.TimeEpoch, now.UnixMilli()},
		{"authorizer", ev.RequestContext.Authorizer == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if _, ok := ev.QueryStringParameters["missing"]; ok {
		t.Error("unexpected query parameter")
	}

	// No query, no cookies, no body: the optional fields are absent.
	serve(g, httptest.NewRequest("POST", "/v1/users/7/items", nil))
	raw := inv.callsTo("F")[1].Payload
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"queryStringParameters", "cookies", "body"} {
		if _, ok := m[k]; ok {
			t.Errorf("event has %q for a request without it: %s", k, raw)
		}
	}
	if string(m["isBase64Encoded"]) != "false" || string(m["rawQueryString"]) != `""` {
		t.Errorf("isBase64Encoded/rawQueryString = %s/%s", m["isBase64Encoded"], m["rawQueryString"])
	}
}

func TestBodyEncoding(t *testing.T) {
	inv := &fakeInvoker{}
	g := newGateway(t, []httpapiemu.Route{{Method: "POST", Path: "/upload", Function: "F"}}, nil, inv, httpapiemu.Options{})
	binary := []byte{0x89, 'P', 'N', 'G', 0x00, 0xff}
	tests := []struct {
		contentType string
		body        []byte
		wantBase64  bool
	}{
		{"application/json", []byte(`{"a":1}`), false},
		{"application/json; charset=utf-8", []byte(`{"a":1}`), false},
		{"application/problem+json", []byte(`{"a":1}`), false},
		{"text/plain", []byte("hello"), false},
		{"text/csv; charset=utf-8", []byte("a,b"), false},
		{"application/xml", []byte("<a/>"), false},
		{"application/x-www-form-urlencoded", []byte("a=1&b=2"), false},
		{"application/javascript", []byte("let a"), false},
		{"image/png", binary, true},
		{"application/octet-stream", binary, true},
		{"multipart/form-data; boundary=x", []byte("--x--"), true},
		{"", []byte("no content type"), true},
		{"application/json", nil, false},
		{"image/png", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.contentType+"/"+string(tt.body), func(t *testing.T) {
			r := httptest.NewRequest("POST", "/upload", bytes.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			serve(g, r)
			ev := inv.lastEvent(t, "F")
			if ev.IsBase64Encoded != tt.wantBase64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.wantBase64)
			}
			want := string(tt.body)
			if tt.wantBase64 {
				want = base64.StdEncoding.EncodeToString(tt.body)
			}
			if ev.Body != want {
				t.Errorf("body = %q, want %q", ev.Body, want)
			}
		})
	}
}

func TestPayloadTooLarge(t *testing.T) {
	inv := &fakeInvoker{}
	g := newGateway(t, []httpapiemu.Route{{Method: "POST", Path: "/upload", Function: "F"}}, nil, inv, httpapiemu.Options{})

	const limit = 10 * 1024 * 1024
	w := serve(g, httptest.NewRequest("POST", "/upload", bytes.NewReader(make([]byte, limit+1))))
	assertMessage(t, w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")

	// Without a Content-Length the body is still counted.
	r := httptest.NewRequest("POST", "/upload", io.MultiReader(bytes.NewReader(make([]byte, limit)), strings.NewReader("x")))
	r.ContentLength = -1
	assertMessage(t, serve(g, r), http.StatusRequestEntityTooLarge, "Request Entity Too Large")
	if n := len(inv.callsTo("F")); n != 0 {
		t.Fatalf("function invoked %d times for oversized bodies", n)
	}

	w = serve(g, httptest.NewRequest("POST", "/upload", bytes.NewReader(make([]byte, limit))))
	if w.Code != http.StatusOK {
		t.Errorf("body of exactly 10 MB: status %d, want 200", w.Code)
	}
}

func TestIntegrationErrors(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(ctx context.Context, function string, payload []byte) ([]byte, error)
		status  int
		message string
	}{
		{"function error", func(context.Context, string, []byte) ([]byte, error) {
			return nil, errors.New("lambdaemu: function F failed: Runtime.ExitError: exit status 2")
		}, http.StatusInternalServerError, "Internal Server Error"},
		{"timeout", func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, http.StatusServiceUnavailable, "Service Unavailable"},
		{"invalid JSON output", func(context.Context, string, []byte) ([]byte, error) {
			return []byte(`not json`), nil
		}, http.StatusInternalServerError, "Internal Server Error"},
		{"bad statusCode", func(context.Context, string, []byte) ([]byte, error) {
			return []byte(`{"statusCode":"200"}`), nil
		}, http.StatusInternalServerError, "Internal Server Error"},
		{"bad base64 body", func(context.Context, string, []byte) ([]byte, error) {
			return []byte(`{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`), nil
		}, http.StatusInternalServerError, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, []httpapiemu.Route{{Method: "GET", Path: "/x", Function: "F"}}, nil,
				&fakeInvoker{Handle: tt.handle}, httpapiemu.Options{IntegrationTimeout: 50 * time.Millisecond})
			w := serve(g, httptest.NewRequest("GET", "/x", nil))
			assertMessage(t, w, tt.status, tt.message)
			if w.Header().Get("apigw-requestid") == "" {
				t.Error("missing apigw-requestid")
			}
		})
	}
}

func TestResponseMapping(t *testing.T) {
	tests := []struct {
		name        string
		output      string
		wantStatus  int
		wantBody    string
		wantHeaders map[string][]string
	}{
		{
			name:       "proxy response",
			output:     `{"statusCode":201,"headers":{"Content-Type":"application/json","X-One":"1"},"multiValueHeaders":{"X-Multi":["a","b"]},"cookies":["s=1; HttpOnly","t=2"],"body":"{\"id\":\"u1\"}"}`,
			wantStatus: 201,
			wantBody:   `{"id":"u1"}`,
			wantHeaders: map[string][]string{
				"Content-Type": {"application/json"},
				"X-One":        {"1"},
				"X-Multi":      {"a", "b"},
				"Set-Cookie":   {"s=1; HttpOnly", "t=2"},
			},
		},
		{
			name:        "base64 body",
			output:      `{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte{0x89, 0, 0xff}) + `"}`,
			wantStatus:  200,
			wantBody:    string([]byte{0x89, 0, 0xff}),
			wantHeaders: map[string][]string{"Content-Type": {"image/png"}},
		},
		{
			name:        "no content type is not sniffed",
			output:      `{"statusCode":204}`,
			wantStatus:  204,
			wantHeaders: map[string][]string{"Content-Type": nil},
		},
		{
			name:        "object without statusCode",
			output:      `{"hello":"world"}`,
			wantStatus:  200,
			wantBody:    `{"hello":"world"}`,
			wantHeaders: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name:        "string output",
			output:      `"just a string"`,
			wantStatus:  200,
			wantBody:    `"just a string"`,
			wantHeaders: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name:        "null output",
			output:      `null`,
			wantStatus:  200,
			wantBody:    `null`,
			wantHeaders: map[string][]string{"Content-Type": {"application/json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &fakeInvoker{Handle: func(context.Context, string, []byte) ([]byte, error) { return []byte(tt.output), nil }}
			g := newGateway(t, []httpapiemu.Route{{Method: "GET", Path: "/x", Function: "F"}}, nil, inv, httpapiemu.Options{})
			w := serve(g, httptest.NewRequest("GET", "/x", nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			for k, want := range tt.wantHeaders {
				if got := w.Result().Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if w.Header().Get("apigw-requestid") == "" {
				t.Error("missing apigw-requestid")
			}
		})
	}
}

func TestRequestIDHeader(t *testing.T) {
	inv := &fakeInvoker{Handle: func(context.Context, string, []byte) ([]byte, error) {
		// A function can't replace the gateway's request id.
		return []byte(`{"statusCode":200,"headers":{"apigw-requestid":"spoofed"}}`), nil
	}}
	g := newGateway(t, []httpapiemu.Route{{Method: "GET", Path: "/x", Function: "F"}}, nil, inv, httpapiemu.Options{})
	seen := map[string]bool{}
	for _, target := range []string{"/x", "/x", "/missing"} {
		w := serve(g, httptest.NewRequest("GET", target, nil))
		id := w.Header().Get("apigw-requestid")
		if id == "" || id == "spoofed" || seen[id] {
			t.Errorf("%s: apigw-requestid = %q, want a fresh id", target, id)
		}
		seen[id] = true
		if target == "/x" {
			if ev := inv.lastEvent(t, "F"); ev.RequestContext.RequestID != id {
				t.Errorf("event requestId %q != header %q", ev.RequestContext.RequestID, id)
			}
		}
	}
}

// authFixture is a gateway with one authorized and one public route, and a
// fake authorizer allowing the token "good" and denying any other.
type authFixture struct {
	g     *httpapiemu.Gateway
	inv   *fakeInvoker
	now   time.Time
	nowMu sync.Mutex
}

func newAuthFixture(tb testing.TB, ttl time.Duration, authorizer func(req events.APIGatewayV2CustomAuthorizerV2Request) ([]byte, error)) *authFixture {
	tb.Helper()
	f := &authFixture{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if authorizer == nil {
		authorizer = func(req events.APIGatewayV2CustomAuthorizerV2Request) ([]byte, error) {
			allowed := len(req.IdentitySource) == 1 && req.IdentitySource[0] == "Bearer good"
			return json.Marshal(events.APIGatewayV2CustomAuthorizerSimpleResponse{
				IsAuthorized: allowed,
				Context:      map[string]any{"userId": "u1", "tenantId": "t1", "admin": true},
			})
		}
	}
	f.inv = &fakeInvoker{Handle: func(_ context.Context, function string, payload []byte) ([]byte, error) {
		if function != "Authorizer" {
			return []byte(`{"statusCode":200,"body":"ok"}`), nil
		}
		var req events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, err
		}
		return authorizer(req)
	}}
	f.g = newGateway(tb, []httpapiemu.Route{
		{Method: "GET", Path: "/v1/admin/users/{id}", Function: "Admin", Authorized: true},
		{Method: "GET", Path: "/v1/public", Function: "Public"},
	}, &httpapiemu.AuthorizerConfig{Function: "Authorizer", IdentityHeader: "Authorization", TTL: ttl}, f.inv,
		httpapiemu.Options{APIID: "api1", Now: f.clock})
	return f
}

func (f *authFixture) clock() time.Time {
	f.nowMu.Lock()
	defer f.nowMu.Unlock()
	return f.now
}

func (f *authFixture) advance(d time.Duration) {
	f.nowMu.Lock()
	defer f.nowMu.Unlock()
	f.now = f.now.Add(d)
}

func (f *authFixture) get(target, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	return serve(f.g, r)
}

func TestAuthorizer(t *testing.T) {
	t.Run("missing identity is 401 without invoking", func(t *testing.T) {
		f := newAuthFixture(t, 0, nil)
		assertMessage(t, f.get("/v1/admin/users/1", ""), http.StatusUnauthorized, "Unauthorized")
		r := httptest.NewRequest("GET", "/v1/admin/users/1", nil)
		r.Header.Set("Authorization", "  ")
		assertMessage(t, serve(f.g, r), http.StatusUnauthorized, "Unauthorized")
		if n := f.inv.count(); n != 0 {
			t.Fatalf("invocations: %d, want none", n)
		}
	})

	t.Run("deny is 403", func(t *testing.T) {
		f := newAuthFixture(t, 0, nil)
		assertMessage(t, f.get("/v1/admin/users/1", "Bearer bad"), http.StatusForbidden, "Forbidden")
		if n := len(f.inv.callsTo("Admin")); n != 0 {
			t.Fatalf("route function invoked %d times", n)
		}
	})

	t.Run("allow passes context", func(t *testing.T) {
		f := newAuthFixture(t, 0, nil)
		w := f.get("/v1/admin/users/42?x=1", "Bearer good")
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d", w.Code)
		}
		ev := f.inv.lastEvent(t, "Admin")
		if ev.RequestContext.Authorizer == nil {
			t.Fatal("requestContext.authorizer missing")
		}
		lc := ev.RequestContext.Authorizer.Lambda
		if lc["userId"] != "u1" || lc["tenantId"] != "t1" || lc["admin"] != true {
			t.Errorf("authorizer.lambda = %v", lc)
		}

		var req events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(f.inv.callsTo("Authorizer")[0].Payload, &req); err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"version", req.Version, "2.0"},
			{"type", req.Type, "REQUEST"},
			{"routeArn", req.RouteArn, "arn:aws:execute-api:us-east-1:123456789012:api1/$default/GET/v1/admin/users/42"},
			{"identitySource", strings.Join(req.IdentitySource, "|"), "Bearer good"},
			{"routeKey", req.RouteKey, "GET /v1/admin/users/{id}"},
			{"rawPath", req.RawPath, "/v1/admin/users/42"},
			{"rawQueryString", req.RawQueryString, "x=1"},
			{"header", req.Headers["authorization"], "Bearer good"},
			{"query", req.QueryStringParameters["x"], "1"},
			{"pathParameters", req.PathParameters["id"], "42"},
			{"requestContext.requestId", req.RequestContext.RequestID, w.Header().Get("apigw-requestid")},
			{"requestContext.apiId", req.RequestContext.APIID, "api1"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("authorizer event %s = %#v, want %#v", c.name, c.got, c.want)
			}
		}
	})

	t.Run("public route skips the authorizer", func(t *testing.T) {
		f := newAuthFixture(t, 0, nil)
		if w := f.get("/v1/public", ""); w.Code != http.StatusOK {
			t.Fatalf("status = %d", w.Code)
		}
		if n := len(f.inv.callsTo("Authorizer")); n != 0 {
			t.Fatalf("authorizer invoked %d times", n)
		}
		if ev := f.inv.lastEvent(t, "Public"); ev.RequestContext.Authorizer != nil {
			t.Error("public route event has an authorizer context")
		}
	})

	failures := []struct {
		name       string
		authorizer func(events.APIGatewayV2CustomAuthorizerV2Request) ([]byte, error)
	}{
		{"authorizer error", func(events.APIGatewayV2CustomAuthorizerV2Request) ([]byte, error) {
			return nil, errors.New("function failed")
		}},
		{"authorizer bad JSON", func(events.APIGatewayV2CustomAuthorizerV2Request) ([]byte, error) {
			return []byte(`{"isAuthorized":`), nil
		}},
		{"authorizer not a simple response", func(events.APIGatewayV2CustomAuthorizerV2Request) ([]byte, error) {
			return []byte(`{"principalId":"u1"}`), nil
		}},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			f := newAuthFixture(t, time.Minute, tt.authorizer)
			assertMessage(t, f.get("/v1/admin/users/1", "Bearer good"), http.StatusInternalServerError, "Internal Server Error")
			if n := len(f.inv.callsTo("Admin")); n != 0 {
				t.Fatalf("route function invoked %d times", n)
			}
			// Failures are not cached.
			f.get("/v1/admin/users/1", "Bearer good")
			if n := len(f.inv.callsTo("Authorizer")); n != 2 {
				t.Errorf("authorizer invoked %d times, want 2", n)
			}
		})
	}
}

func TestAuthorizerCache(t *testing.T) {
	tests := []struct {
		name  string
		ttl   time.Duration
		steps []struct {
			advance    time.Duration
			token      string
			wantStatus int
			wantCalls  int // authorizer invocations so far
		}
	}{
		{
			name: "cached within TTL, expires after",
			ttl:  5 * time.Minute,
			steps: []struct {
				advance    time.Duration
				token      string
				wantStatus int
				wantCalls  int
			}{
				{0, "Bearer good", 200, 1},
				{time.Minute, "Bearer good", 200, 1},
				{0, "Bearer bad", 403, 2},
				{time.Minute, "Bearer bad", 403, 2}, // denials are cached too
				{0, "Bearer other", 403, 3},
				{2*time.Minute + 59*time.Second, "Bearer good", 200, 3},
				{time.Second, "Bearer good", 200, 4}, // 5 minutes after the first call
				{time.Minute, "Bearer good", 200, 4},
			},
		},
		{
			name: "no caching with TTL 0",
			ttl:  0,
			steps: []struct {
				advance    time.Duration
				token      string
				wantStatus int
				wantCalls  int
			}{
				{0, "Bearer good", 200, 1},
				{0, "Bearer good", 200, 2},
				{0, "Bearer bad", 403, 3},
				{0, "Bearer bad", 403, 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAuthFixture(t, tt.ttl, nil)
			for i, s := range tt.steps {
				f.advance(s.advance)
				w := f.get("/v1/admin/users/1", s.token)
				if w.Code != s.wantStatus {
					t.Fatalf("step %d: status = %d, want %d", i, w.Code, s.wantStatus)
				}
				if n := len(f.inv.callsTo("Authorizer")); n != s.wantCalls {
					t.Fatalf("step %d: authorizer invoked %d times, want %d", i, n, s.wantCalls)
				}
				if s.wantStatus == 200 {
					if ev := f.inv.lastEvent(t, "Admin"); ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.Lambda["userId"] != "u1" {
						t.Fatalf("step %d: cached allow lost the authorizer context", i)
					}
				}
			}
		})
	}
}

func TestStage(t *testing.T) {
	inv := &fakeInvoker{}
	g := newGateway(t, []httpapiemu.Route{{Method: "GET", Path: "/x", Function: "F"}}, nil, inv, httpapiemu.Options{Stage: "dev"})
	if w := serve(g, httptest.NewRequest("GET", "/x", nil)); w.Code != http.StatusNotFound {
		t.Errorf("request outside the stage: status %d, want 404", w.Code)
	}
	if w := serve(g, httptest.NewRequest("GET", "/dev/x", nil)); w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	ev := inv.lastEvent(t, "F")
	if ev.RequestContext.Stage != "dev" || ev.RouteKey != "GET /x" || ev.RawPath != "/dev/x" {
		t.Errorf("stage %q, routeKey %q, rawPath %q", ev.RequestContext.Stage, ev.RouteKey, ev.RawPath)
	}
}

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
	inv := &fakeInvoker{}
	g := newGateway(t, []httpapiemu.Route{{Method: "POST", Path: "/v1/auth/login", Function: "Login"}}, nil, inv,
		httpapiemu.Options{Logger: logger})

	r := httptest.NewRequest("POST", "/v1/auth/login?token=query-secret", strings.NewReader(`{"password":"body-secret"}`))
	r.Header.Set("Authorization", "Bearer header-secret")
	r.Header.Set("Content-Type", "application/json")
	w := serve(g, r)

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1:\n%s", len(lines), out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"method":     "POST",
		"path":       "/v1/auth/login",
		"status":     float64(200),
		"request_id": w.Header().Get("apigw-requestid"),
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}
	if _, ok := rec["duration"]; !ok {
		t.Error("log has no duration")
	}
	if strings.Contains(out, "secret") {
		t.Errorf("log leaks request data: %s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAuthorizerWithoutIdentitySource: with no identity source API Gateway
// asks the authorizer about every request, credentials or not, and never
// caches; a deny is 403 even for a request that carries nothing.
func TestAuthorizerWithoutIdentitySource(t *testing.T) {
	inv := &fakeInvoker{Handle: func(_ context.Context, function string, payload []byte) ([]byte, error) {
		if function != "Authorizer" {
			return []byte(`{"statusCode":200,"body":"ok"}`), nil
		}
		var req events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, err
		}
		allowed := slices.Contains(req.Cookies, "s=good") || req.Headers["authorization"] == "Bearer good"
		return json.Marshal(events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: allowed, Context: map[string]any{"userId": "u1"}})
	}}
	g := newGateway(t, []httpapiemu.Route{{Method: "GET", Path: "/private", Function: "Private", Authorized: true}},
		&httpapiemu.AuthorizerConfig{Function: "Authorizer"}, inv, httpapiemu.Options{})
	for i, step := range []struct {
		name       string
		header     string // "Name: value", or ""
		wantStatus int
	}{
		{"nothing", "", http.StatusForbidden},
		{"good cookie", "Cookie: a=b; s=good", http.StatusOK},
		{"good cookie again", "Cookie: s=good", http.StatusOK},
		{"bad cookie", "Cookie: s=bad", http.StatusForbidden},
		{"good bearer", "Authorization: Bearer good", http.StatusOK},
		{"nothing again", "", http.StatusForbidden},
	} {
		r := httptest.NewRequest("GET", "/private", nil)
		if k, v, ok := strings.Cut(step.header, ": "); ok {
			r.Header.Set(k, v)
		}
		w := serve(g, r)
		if w.Code != step.wantStatus {
			t.Fatalf("%s: status %d, want %d", step.name, w.Code, step.wantStatus)
		}
		calls := inv.callsTo("Authorizer")
		if len(calls) != i+1 {
			t.Fatalf("%s: authorizer invoked %d times, want %d (every request, no cache)", step.name, len(calls), i+1)
		}
		var req events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(calls[i].Payload, &req); err != nil {
			t.Fatal(err)
		}
		if len(req.IdentitySource) != 0 {
			t.Errorf("%s: identitySource %q, want none", step.name, req.IdentitySource)
		}
		if step.wantStatus == http.StatusOK {
			if ev := inv.lastEvent(t, "Private"); ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.Lambda["userId"] != "u1" {
				t.Errorf("%s: the route lost the authorizer context", step.name)
			}
		}
	}
}
