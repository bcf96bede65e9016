package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

const loginBody = `{"tenant":"kpu","username":"admin","password":"` + adminPassword + `"}`

// cookieLogin signs in as a browser does and returns the response and its
// parsed Set-Cookies by name.
func (e *env) cookieLogin(tb testing.TB, at time.Time) (resp events.APIGatewayV2HTTPResponse, cookies map[string]*http.Cookie) {
	tb.Helper()
	req := jsonReq("POST /v1/auth/login", loginBody)
	req.Headers["x-session"] = "cookie"
	req.RequestContext.TimeEpoch = at.UnixMilli()
	resp, err := e.api.Login(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("cookie login: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	return resp, setCookies(tb, resp)
}

func setCookies(tb testing.TB, resp events.APIGatewayV2HTTPResponse) map[string]*http.Cookie {
	tb.Helper()
	out := map[string]*http.Cookie{}
	for _, line := range resp.Cookies {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			tb.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if out[c.Name] != nil {
			tb.Fatalf("cookie %s set twice", c.Name)
		}
		out[c.Name] = c
	}
	return out
}

func TestLoginWithCookieSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	for _, c := range []struct {
		name       string
		xSession   string // "" for no header
		password   string
		wantStatus int
		wantCookie bool
	}{
		{"bearer login", "", adminPassword, 200, false},
		{"browser login", "cookie", adminPassword, 200, true},
		{"browser login, header in other case", " Cookie ", adminPassword, 200, true},
		{"unknown session kind", "jwt", adminPassword, 400, false},
		{"browser login, wrong password", "cookie", "not the password", 401, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := jsonReq("POST /v1/auth/login", `{"tenant":"kpu","username":"admin","password":"`+c.password+`"}`)
			if c.xSession != "" {
				req.Headers["X-Session"] = c.xSession
			}
			now := time.Now()
			req.RequestContext.TimeEpoch = now.UnixMilli()
			resp := do(t, e.api.Login, req)
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.wantStatus, resp.Body)
			}
			if !c.wantCookie {
				if len(resp.Cookies) != 0 || resp.Headers["Set-Cookie"] != "" {
					t.Errorf("cookies set: %q", resp.Cookies)
				}
				return
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			if _, ok := body["token"]; ok {
				t.Errorf("the body carries the token: %s", resp.Body)
			}
			expires, err := time.Parse(time.RFC3339, body["expiresAt"].(string))
			if err != nil {
				t.Fatalf("expiresAt: %v", err)
			}
			cookies := setCookies(t, resp)
			if len(cookies) != 2 {
				t.Fatalf("cookies %q, want __Host-session and __Host-csrf", resp.Cookies)
			}
			session, csrf := cookies["__Host-session"], cookies["__Host-csrf"]
			if session == nil || csrf == nil {
				t.Fatalf("cookies %q, want __Host-session and __Host-csrf", resp.Cookies)
			}
			for _, ck := range []*http.Cookie{session, csrf} {
				// The __Host- prefix is only honoured with exactly these.
				if ck.Path != "/" || ck.Domain != "" || !ck.Secure || ck.SameSite != http.SameSiteStrictMode {
					t.Errorf("%s: Path=%q Domain=%q Secure=%v SameSite=%v, want /, none, true, Strict", ck.Name, ck.Path, ck.Domain, ck.Secure, ck.SameSite)
				}
				ttl := time.Duration(ck.MaxAge) * time.Second
				if want := expires.Sub(now); ttl > want || ttl < want-2*time.Second {
					t.Errorf("%s: Max-Age %v, want the session's %v", ck.Name, ttl, want)
				}
			}
			if !session.HttpOnly {
				t.Error("__Host-session is readable by scripts (no HttpOnly)")
			}
			if csrf.HttpOnly {
				t.Error("__Host-csrf is HttpOnly: the page cannot echo it")
			}
			if _, err := accounts.ParseToken(session.Value); err != nil {
				t.Errorf("__Host-session is not a session token: %v", err)
			}
			if csrf.Value != accounts.SessionCSRF(session.Value) || strings.Contains(session.Value, csrf.Value) {
				t.Errorf("__Host-csrf %q is not the session's derived value", csrf.Value)
			}
		})
	}
}

func TestAuthorizerWithSessionCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, cookies := e.cookieLogin(t, time.Now())
	token, csrf := cookies["__Host-session"].Value, cookies["__Host-csrf"].Value
	bearerToken, _ := e.login(t, "kpu", "admin", adminPassword)
	_, other := e.cookieLogin(t, time.Now())
	otherCSRF := other["__Host-csrf"].Value

	const origin = "https://abc123.execute-api.us-east-1.amazonaws.com"
	type request struct {
		method  string
		cookies []string
		headers map[string]string
	}
	session := []string{"__Host-session=" + token, "__Host-csrf=" + csrf}
	for _, c := range []struct {
		name   string
		req    request
		allow  bool
		reason string // logged for a deny
	}{
		{"cookie read", request{"GET", session, nil}, true, ""},
		{"cookie in the Cookie header", request{"GET", nil, map[string]string{"Cookie": "a=b; __Host-session=" + token}}, true, ""},
		{"cookie write without csrf", request{"POST", session, nil}, false, "write without X-CSRF-Token"},
		{"cookie delete without csrf", request{"DELETE", session, nil}, false, "write without X-CSRF-Token"},
		{"cookie write with another session's csrf", request{"POST", session, map[string]string{"x-csrf-token": otherCSRF}}, false, "X-CSRF-Token does not match"},
		{"cookie write with the token as csrf", request{"PATCH", session, map[string]string{"x-csrf-token": token}}, false, "X-CSRF-Token does not match"},
		{"cookie write with csrf", request{"POST", session, map[string]string{"x-csrf-token": csrf}}, true, ""},
		{"cookie write with csrf, own origin", request{"PUT", session, map[string]string{"x-csrf-token": csrf, "origin": origin}}, true, ""},
		{"cookie write with csrf, foreign origin", request{"POST", session, map[string]string{"x-csrf-token": csrf, "origin": "https://evil.example"}}, false, "cross-origin write"},
		{"cookie write with csrf, opaque origin", request{"POST", session, map[string]string{"x-csrf-token": csrf, "origin": "null"}}, false, "cross-origin write"},
		{"cookie write with csrf, http origin", request{"POST", session, map[string]string{"x-csrf-token": csrf, "origin": strings.Replace(origin, "https", "http", 1)}}, false, "cross-origin write"},
		{"bearer write needs no csrf", request{"POST", nil, map[string]string{"authorization": "Bearer " + bearerToken}}, true, ""},
		{"bearer wins over a cookie", request{"POST", session, map[string]string{"authorization": "Bearer " + bearerToken}}, true, ""},
		{"no credentials", request{"GET", []string{"__Host-csrf=" + csrf}, nil}, false, "no bearer token or session cookie"},
		{"forged cookie", request{"GET", []string{"__Host-session=kpu.aaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}, nil}, false, "invalid or expired token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers := map[string]string{"host": strings.TrimPrefix(origin, "https://"), "x-forwarded-proto": "https", "x-forwarded-port": "443"}
			for k, v := range c.req.headers {
				headers[k] = v
			}
			req := events.APIGatewayV2CustomAuthorizerV2Request{
				Type: "REQUEST", RouteKey: c.req.method + " /v1/me/password", Cookies: c.req.cookies, Headers: headers,
				RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "authz-" + c.name, HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: c.req.method}},
			}
			before := e.logs.Len()
			resp, err := e.api.Authorize(context.Background(), req)
			if err != nil {
				t.Fatalf("authorizer error: %v", err)
			}
			if resp.IsAuthorized != c.allow {
				t.Fatalf("IsAuthorized = %v, want %v; log:\n%s", resp.IsAuthorized, c.allow, e.logs.String()[before:])
			}
			logged := e.logs.String()[before:]
			if c.allow {
				if resp.Context["tenant"] != "kpu" || resp.Context["userId"] == "" {
					t.Errorf("context = %v", resp.Context)
				}
				return
			}
			if !strings.Contains(logged, "authorizer deny") || !strings.Contains(logged, c.reason) {
				t.Errorf("deny logged as %q, want reason %q", logged, c.reason)
			}
			for _, secret := range []string{token, csrf, otherCSRF} {
				if strings.Contains(logged, secret) {
					t.Errorf("the deny log holds a session secret: %s", logged)
				}
			}
		})
	}
}

func TestLogoutDropsSessionCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, cookies := e.cookieLogin(t, time.Now())
	token, csrf := cookies["__Host-session"].Value, cookies["__Host-csrf"].Value
	authorize := func(method string, headers map[string]string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		t.Helper()
		resp, err := e.api.Authorize(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
			Type: "REQUEST", RouteKey: method + " /v1/auth/logout", Cookies: []string{"__Host-session=" + token}, Headers: headers,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	allowed := authorize("POST", map[string]string{"x-csrf-token": csrf})
	if !allowed.IsAuthorized {
		t.Fatal("the session's logout was denied")
	}
	req := jsonReq("POST /v1/auth/logout", "")
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: allowed.Context}
	resp := do(t, e.api.Logout, req)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Body)
	}
	gone := setCookies(t, resp)
	for _, name := range []string{"__Host-session", "__Host-csrf"} {
		c := gone[name]
		switch {
		case c == nil:
			t.Errorf("logout does not expire %s: %q", name, resp.Cookies)
		case c.MaxAge >= 0 || c.Value != "":
			// net/http reads "Max-Age=0" as MaxAge -1: delete now.
			t.Errorf("%s: Max-Age %d value %q, want it deleted", name, c.MaxAge, c.Value)
		case c.Path != "/" || !c.Secure || c.SameSite != http.SameSiteStrictMode:
			// A deletion must name the same cookie the browser holds.
			t.Errorf("%s: Path=%q Secure=%v SameSite=%v do not match the cookie", name, c.Path, c.Secure, c.SameSite)
		}
	}
	if authorize("GET", nil).IsAuthorized {
		t.Error("the logged-out session's cookie still passes")
	}
}
