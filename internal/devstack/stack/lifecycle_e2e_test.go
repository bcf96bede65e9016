package stack_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// raw is client.do for answers that are not JSON objects (CSV, mail).
func (c client) raw(method, path string, header map[string]string) (int, string) {
	c.tb.Helper()
	req, _ := http.NewRequest(method, c.base+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
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
	return resp.StatusCode, string(data)
}

// lastMail reads the newest message of the outbox as the user would.
func lastMail(tb testing.TB, c client, to string) (subject, body string) {
	tb.Helper()
	// Notices go out through the notice queue, so the mail an action
	// caused arrives after its answer: wait for a mail to `to` this test
	// has not read yet.
	var e struct{ ID, To, Subject string }
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		status, list := c.raw("GET", "/_local/mail", nil)
		if status != 200 {
			tb.Fatalf("outbox: %d", status)
		}
		var entries []struct{ ID, To, Subject string }
		if err := json.Unmarshal([]byte(list), &entries); err != nil {
			tb.Fatalf("outbox listing %q: %v", list, err)
		}
		found := false
		for i := len(entries) - 1; i >= 0 && !found; i-- {
			if strings.Contains(entries[i].To, to) {
				if _, seen := readMail.LoadOrStore(tb.Name()+"\x00"+entries[i].ID, true); !seen {
					e, found = entries[i], true
				}
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no new mail to %q in the outbox: %s", to, list)
		}
		<-tick.C
	}
	_, eml := c.raw("GET", "/_local/mail/"+e.ID, nil)
	msg, err := mail.ReadMessage(strings.NewReader(eml))
	if err != nil {
		tb.Fatal(err)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		tb.Fatal(err)
	}
	return e.Subject, string(text)
}

// readMail holds the outbox messages each test has read.
var readMail sync.Map

var linkToken = regexp.MustCompile(`/portal/reset#token=(\S+)`)

func TestStaffWorkflowsThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, logs := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)

	// The LibraryH3lp-style service-provider wizard: the library's username format, and a suggestion for Sadie P.
	status, body := admin.do("PATCH", "/v1/admin/settings", map[string]any{"usernameFormat": "kpu-{first}-{last1}", "senderName": "KPU Library"})
	want(t, "set the username format", status, 200, body)
	status, body = admin.do("POST", "/v1/admin/usernames:suggest", map[string]string{"firstName": "Sadie", "lastName": "Park"})
	want(t, "suggest", status, 200, body)
	if body["username"] != "kpu-sadie-p" {
		t.Fatalf("suggestion %v", body)
	}
	status, body = admin.do("POST", "/v1/admin/users", map[string]any{"username": "sadie", "password": "a perfectly fine passphrase"})
	want(t, "a username off the format", status, 400, body)

	// The LibraryH3lp-style wizard: copy another service provider's settings.
	status, body = admin.do("POST", "/v1/admin/users", map[string]any{"username": "kpu-tmpl-a", "generatePassword": true, "roles": []string{"agent"}, "queues": []string{"kpu-chat", "proactive"}, "cannedMessagePools": []string{"kpu"}})
	want(t, "template user", status, 201, body)
	tmplID := body["user"].(map[string]any)["id"].(string)
	status, body = admin.do("POST", "/v1/admin/users", map[string]any{"username": "kpu-sadie-p", "password": "temporary passphrase 1", "email": "sadie@kpu.example", "copySettingsFrom": tmplID})
	want(t, "create from template", status, 201, body)
	sadie := body["user"].(map[string]any)
	id := sadie["id"].(string)
	if q, _ := json.Marshal(sadie["queues"]); string(q) != `["kpu-chat","proactive"]` {
		t.Errorf("queues not copied: %s", q)
	}

	// The LibraryH3lp-style user list: search, then edit with the version read.
	status, body = admin.do("GET", "/v1/admin/users?email=SADIE@kpu.example", nil)
	want(t, "search by e-mail", status, 200, body)
	if n := len(body["users"].([]any)); n != 1 {
		t.Fatalf("search found %d", n)
	}
	status, body = admin.do("PATCH", "/v1/admin/users/"+id, map[string]any{"version": 1, "barcode": "21234000123"})
	want(t, "edit", status, 200, body)
	status, body = admin.do("PATCH", "/v1/admin/users/"+id, map[string]any{"version": 1, "barcode": "21234000999"})
	want(t, "edit with a stale version", status, 409, body)

	// The LibraryPass-style admin portal: "New Password" typed by staff.
	status, body = admin.do("POST", "/v1/admin/users/"+id+"/password", map[string]string{"password": "staff chose this one", "passwordConfirmation": "staff chose this one"})
	want(t, "staff reset", status, 200, body)
	if body["message"] != "Successfully Updated User Password" {
		t.Errorf("message %v", body["message"])
	}
	// The LibraryH3lp-style forgot password, by a link in the mail.
	status, body = admin.do("POST", "/v1/admin/users/"+id+"/password", map[string]any{"sendResetLink": true})
	want(t, "send reset link", status, 200, body)
	subject, text := lastMail(t, anon, "sadie@kpu.example")
	if !strings.Contains(subject, "KPU Library") {
		t.Errorf("subject %q does not name the library", subject)
	}
	m := linkToken.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no link in the mail:\n%s", text)
	}
	status, body = anon.do("POST", "/v1/auth/password-reset", map[string]string{"token": m[1], "password": "blue river lantern morning"})
	want(t, "complete the reset", status, 200, body)
	status, body = anon.do("POST", "/v1/auth/password-reset", map[string]string{"token": m[1], "password": "another river lantern"})
	want(t, "reuse the link", status, 400, body)
	user := anon.login("kpu", "KPU-Sadie-P", "blue river lantern morning")

	// The LibraryPass-style portal: deactivate (access off at once), reactivate (password kept).
	status, body = admin.do("POST", "/v1/admin/users/"+id+"/deactivate", nil)
	want(t, "deactivate", status, 200, body)
	if status, body = user.do("GET", "/v1/me", nil); status != 401 && status != 403 {
		t.Errorf("deactivated user's live token: %d %v", status, body)
	}
	status, body = anon.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": "kpu-sadie-p", "password": "blue river lantern morning"})
	want(t, "deactivated login", status, 401, body)
	status, body = admin.do("POST", "/v1/admin/users/"+id+"/reactivate", nil)
	want(t, "reactivate", status, 200, body)
	anon.login("kpu", "kpu-sadie-p", "blue river lantern morning")

	// The LibraryPass-style portal: delete, after a confirmation.
	status, body = admin.do("DELETE", "/v1/admin/users/"+id, nil)
	want(t, "delete without confirmation", status, 428, body)
	if msg, _ := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "deactivate") {
		t.Errorf("428 does not offer deactivation: %q", msg)
	}
	status, body = admin.do("DELETE", "/v1/admin/users/"+id+"?confirm=kpu-sadie-p", nil)
	want(t, "delete", status, 200, body)
	status, body = admin.do("POST", "/v1/admin/users", map[string]any{"username": "kpu-sadie-p", "generatePassword": true})
	want(t, "the username is free again", status, 201, body)

	// The LibraryH3lp-style user list: tick several, trashcan, confirm.
	var ids []string
	for _, name := range []string{"kpu-ann-a", "kpu-bob-b"} {
		_, body = admin.do("POST", "/v1/admin/users", map[string]any{"username": name, "generatePassword": true})
		ids = append(ids, body["user"].(map[string]any)["id"].(string))
	}
	status, body = admin.do("POST", "/v1/admin/users:bulk", map[string]any{"action": "delete", "ids": ids})
	want(t, "bulk delete unconfirmed", status, 428, body)
	status, body = admin.do("POST", "/v1/admin/users:bulk", map[string]any{"action": "delete", "ids": ids, "confirm": true})
	want(t, "bulk delete", status, 200, body)

	status, csv := admin.raw("GET", "/v1/admin/audit?format=csv", nil)
	if status != 200 || !strings.Contains(csv, "user.delete") || !strings.Contains(csv, "user.password_reset_link") {
		t.Errorf("audit export %d:\n%s", status, csv)
	}
	all := logs.String() + csv
	for name, secret := range map[string]string{"reset token": m[1], "staff password": "staff chose this one", "new password": "blue river lantern morning", "admin token": admin.token} {
		if strings.Contains(all, secret) {
			t.Errorf("%s appears in the logs or audit", name)
		}
	}
	if bytes.Contains([]byte(all), []byte("temporary passphrase 1")) {
		t.Error("initial password in the logs or audit")
	}
}
