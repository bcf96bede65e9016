package stack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// recoveryAnswer is a recovery request's answer as a caller sees it:
// status, body and headers but those that differ per request anyway.
type recoveryAnswer struct {
	status  int
	body    string
	headers map[string]string
}

func askRecovery(tb testing.TB, base, path string, body map[string]string) recoveryAnswer {
	tb.Helper()
	data, _ := json.Marshal(body)
	resp, err := http.Post(base+path, "application/json", bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	a := recoveryAnswer{status: resp.StatusCode, body: string(out), headers: map[string]string{}}
	for k, v := range resp.Header {
		switch lk := strings.ToLower(k); {
		case lk == "date", strings.Contains(lk, "request"), strings.Contains(lk, "trace"):
		default:
			a.headers[k] = strings.Join(v, ",")
		}
	}
	return a
}

var (
	recoveryLink  = regexp.MustCompile(`/portal/reset#token=(\S+)`)
	remindedNames = regexp.MustCompile(`(?m)^  (\S+)(?: \(|$)`)
)

// TestSelfServiceRecoveryThroughTheLocalStack: every case answers alike,
// the outbox holds what each case should get, and a patron who forgot both
// gets back in.
func TestSelfServiceRecoveryThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, logs := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)
	ids, passwords := map[string]string{}, map[string]string{}
	for i, u := range []map[string]any{
		{"username": "ann", "email": "ann@kpu.example", "barcode": "21234000011111"},
		{"username": "cy", "email": "cy@kpu.example"},
		{"username": "nomail"},
		{"username": "fam1", "email": "fam@kpu.example"},
		{"username": "fam2", "email": "fam@kpu.example"},
		{"username": "tess", "email": "tess@kpu.example"},
		{"username": "pat", "email": "pat@kpu.example", "barcode": "29000000004321"},
	} {
		passwords[u["username"].(string)] = fmt.Sprintf("purple gate first passphrase %d", i)
		u["password"] = passwords[u["username"].(string)]
		status, body := admin.do("POST", "/v1/admin/users", u)
		want(t, "create "+u["username"].(string), status, 201, body)
		ids[u["username"].(string)] = body["user"].(map[string]any)["id"].(string)
	}
	status, body := admin.do("POST", "/v1/admin/users/"+ids["cy"]+"/deactivate", nil)
	want(t, "deactivate cy", status, 200, body)

	cases := []struct {
		name, identifier string
	}{
		{"found", "ann"},
		{"unknown", "nobody"},
		{"deactivated", "cy"},
		{"no e-mail", "nomail"},
		{"shared e-mail", "fam@kpu.example"},
		{"within the throttle", "tess"},
		{"within the throttle", "tess"},
		{"within the throttle", "tess"},
		{"over the throttle", "tess"},
	}
	var first recoveryAnswer
	for i, tc := range cases {
		a := askRecovery(t, st.APIURL, "/v1/auth/forgot-password", map[string]string{"tenant": "kpu", "identifier": tc.identifier})
		if a.status != 202 || a.body != `{"message":"If an account matches, we have sent an e-mail with what to do next."}` {
			t.Fatalf("%s: %d %s", tc.name, a.status, a.body)
		}
		if i == 0 {
			first = a
			continue
		}
		if !mapsEqual(a.headers, first.headers) {
			t.Errorf("%s: headers %v, want those of an existing account's %v", tc.name, a.headers, first.headers)
		}
	}
	// The mails go out through two queues: once both are empty, every
	// request has had its mail or its silence.
	awaitQueueEmpty(t, st.QueueStats, "RecoveryQueue", time.Minute)
	awaitQueueEmpty(t, st.QueueStats, "NoticeQueue", time.Minute)
	counts := mailCounts(t, anon, "@kpu.example")
	for addr, n := range map[string]int{"ann@kpu.example": 1, "cy@kpu.example": 1, "fam@kpu.example": 1, "tess@kpu.example": 3} {
		if counts[addr] != n {
			t.Errorf("%s: %d mails, want %d (outbox %v)\nlogs:\n%s", addr, counts[addr], n, counts, logs.String())
		}
	}
	if len(counts) != 4 {
		t.Errorf("mail went to %v; want only the four addresses above", counts)
	}
	_, text := lastMail(t, anon, "cy@kpu.example")
	if !strings.Contains(text, "This account is not active") || recoveryLink.MatchString(text) {
		t.Errorf("the deactivated account's mail:\n%s", text)
	}
	_, text = lastMail(t, anon, "fam@kpu.example")
	if links := recoveryLink.FindAllStringSubmatch(text, -1); len(links) != 2 || !strings.Contains(text, "fam1") || !strings.Contains(text, "fam2") {
		t.Errorf("the family's mail has %d links:\n%s", len(links), text)
	}

	// A patron who forgot both: the username first, by address...
	a := askRecovery(t, st.APIURL, "/v1/auth/forgot-username", map[string]string{"tenant": "kpu", "email": "pat@kpu.example"})
	if a.status != 202 || a.body != first.body || !mapsEqual(a.headers, first.headers) {
		t.Fatalf("forgot-username: %+v, want the same answer as forgot-password %+v", a, first)
	}
	_, text = lastMail(t, anon, "pat@kpu.example")
	m := remindedNames.FindAllStringSubmatch(text, -1)
	if len(m) != 1 || m[0][1] != "pat" || !strings.Contains(text, "barcode ending 4321") {
		t.Fatalf("username reminder:\n%s", text)
	}
	username := m[0][1]
	// ...then a new password, through the link in the next mail.
	askRecovery(t, st.APIURL, "/v1/auth/forgot-password", map[string]string{"tenant": "kpu", "identifier": username})
	_, text = lastMail(t, anon, "pat@kpu.example")
	link := recoveryLink.FindStringSubmatch(text)
	if link == nil || !strings.Contains(text, "1 hour") {
		t.Fatalf("recovery mail:\n%s", text)
	}
	token, err := url.QueryUnescape(link[1])
	if err != nil {
		t.Fatal(err)
	}
	const chosen = "my own new passphrase at last"
	status, body = anon.do("POST", "/v1/auth/password-reset", map[string]string{"token": token, "password": chosen})
	want(t, "complete the link", status, 200, body)
	if _, has := body["token"]; has {
		t.Error("completing a link signed the patron in")
	}
	anon.login("kpu", username, chosen)
	if status, _ := anon.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": username, "password": passwords["pat"]}); status != 401 {
		t.Errorf("the old password: %d, want 401", status)
	}
	if subject, _ := lastMail(t, anon, "pat@kpu.example"); !strings.Contains(strings.ToLower(subject), "password was changed") {
		t.Errorf("after the reset the patron got %q, want the password-changed notice", subject)
	}
	status, body = anon.do("POST", "/v1/auth/password-reset", map[string]string{"token": token, "password": "and yet another passphrase"})
	want(t, "the link a second time", status, 400, body)

	// What the patrons typed reached no log line.
	for _, s := range []string{"nobody", "fam@kpu.example", "pat@kpu.example"} {
		if strings.Contains(logs.String(), `"`+s+`"`) {
			t.Errorf("%q is in the logs", s)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	ka, kb := make([]string, 0, len(a)), make([]string, 0, len(b))
	for k := range a {
		ka = append(ka, k+"="+a[k])
	}
	for k := range b {
		kb = append(kb, k+"="+b[k])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
