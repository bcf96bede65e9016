package stack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// TestBrowserSessionCookieInTheBrowser signs in from a page of the API's own
// origin as the web UIs do, and checks what Chromium makes of the session
// cookies on the local stack's plain-http loopback address: it keeps the
// __Host-/Secure cookies (loopback is a secure context), hides the session
// from scripts, and the gateway holds cookie-carried writes to the CSRF
// rule.
func TestBrowserSessionCookieInTheBrowser(t *testing.T) {
	t.Parallel()
	st, _ := startStack(t)
	p := browser.New(t).Page(t)
	// Any page of the API's origin will do: the fetches below are its.
	p.Go(st.APIURL + "/_local/mail")

	type answer struct {
		Status int
		Body   map[string]any
		Cookie string // document.cookie afterwards
	}
	// call fetches from the page; csrf "" sends no X-CSRF-Token, "cookie"
	// the value of the __Host-csrf cookie, as shared/api.js does.
	call := func(method, path, csrf string, body any) answer {
		t.Helper()
		var a answer
		p.Eval(`(async (method, path, csrf, body) => {
			const headers = {'content-type': 'application/json'};
			if (csrf === 'cookie') {
				const m = document.cookie.match(/(?:^|; )__Host-csrf=([^;]*)/);
				headers['X-CSRF-Token'] = m ? m[1] : '';
			}
			if (path === '/v1/auth/login') headers['X-Session'] = 'cookie';
			const r = await fetch(path, {method, headers, credentials: 'same-origin', body: body === null ? undefined : JSON.stringify(body)});
			const text = await r.text();
			return {Status: r.status, Body: text ? JSON.parse(text) : null, Cookie: document.cookie};
		})(`+jsValue(method)+`, `+jsValue(path)+`, `+jsValue(csrf)+`, `+jsValue(body)+`)`, &a)
		return a
	}

	login := call("POST", "/v1/auth/login", "", map[string]string{"tenant": "kpu", "username": "admin", "password": adminPassword})
	if login.Status != 200 {
		t.Fatalf("login: %d %v", login.Status, login.Body)
	}
	if _, ok := login.Body["token"]; ok {
		t.Errorf("the login body carries the token: %v", login.Body)
	}
	if !strings.Contains(login.Cookie, "__Host-csrf=") {
		t.Fatalf("document.cookie = %q: Chromium dropped the __Host-csrf cookie", login.Cookie)
	}
	if strings.Contains(login.Cookie, "__Host-session") {
		t.Errorf("document.cookie = %q: the session cookie is readable by scripts", login.Cookie)
	}

	if me := call("GET", "/v1/me", "", nil); me.Status != 200 || me.Body["username"] != "admin" {
		t.Fatalf("GET /v1/me with the cookie: %d %v", me.Status, me.Body)
	}

	change := map[string]string{"currentPassword": adminPassword, "newPassword": "amber kettle over quiet hills"}
	forged := call("POST", "/v1/me/password", "", change)
	if forged.Status != 403 || forged.Body["message"] != "Forbidden" {
		t.Errorf("a cookie write without X-CSRF-Token: %d %v, want the gateway's 403", forged.Status, forged.Body)
	}
	if ok := call("POST", "/v1/me/password", "cookie", change); ok.Status != 200 {
		t.Errorf("a cookie write with X-CSRF-Token: %d %v, want the API's 200", ok.Status, ok.Body)
	}

	if out := call("POST", "/v1/auth/logout", "cookie", nil); out.Status != 204 || out.Cookie != "" {
		t.Errorf("logout: %d, document.cookie %q; want 204 and no cookies", out.Status, out.Cookie)
	}
	// Nothing to authenticate with any more: with no identity source the
	// gateway asks the authorizer, which refuses (API Gateway's 403).
	if me := call("GET", "/v1/me", "", nil); me.Status != 403 || me.Body["message"] != "Forbidden" {
		t.Errorf("GET /v1/me after logout: %d %v, want the gateway's 403", me.Status, me.Body)
	}
}

// jsValue writes v as a JavaScript literal (JSON is one).
func jsValue(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(data)
}
