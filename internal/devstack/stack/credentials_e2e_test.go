package stack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
)

// lockoutBase is the first sign-in lock the functions are given here
// (LOCKOUT_BASE; 30 s when deployed), so that locks run out within the test.
const lockoutBase = 3 * time.Second

// TestCredentialsThroughTheLocalStack: a lock cannot be kept up by one
// request per lock period, never stops a signed-in password change, shows
// to staff and is cleared by them; and reset links die on each credential
// event.
func TestCredentialsThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(t) // fails in CI, skips elsewhere, with the reason
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: t.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		FunctionEnv: map[string]string{"LOCKOUT_BASE": lockoutBase.String()},
	})
	if err != nil {
		t.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(st.Close)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)
	newPatron := func(name string) string {
		t.Helper()
		status, body := admin.do("POST", "/v1/admin/users", map[string]any{"username": name, "password": "a perfectly fine passphrase", "email": name + "@patrons.example"})
		want(t, "create "+name, status, 201, body)
		return body["user"].(map[string]any)["id"].(string)
	}
	signIn := func(name, password string) int {
		t.Helper()
		status, _ := anon.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": name, "password": password})
		return status
	}
	fail := func(name string, times int) {
		t.Helper()
		for i := range times {
			if status := signIn(name, fmt.Sprintf("wrong guess %d", i)); status != 401 {
				t.Fatalf("a wrong password for %s: %d", name, status)
			}
		}
	}
	// lockOf is what staff see of a user's lock.
	lockOf := func(id string) (failures int, until time.Time) {
		t.Helper()
		status, body := admin.do("GET", "/v1/admin/users/"+id, nil)
		want(t, "get user", status, 200, body)
		if n, ok := body["failedLogins"].(float64); ok {
			failures = int(n)
		}
		if s, ok := body["lockedUntil"].(string); ok {
			if until, err = time.Parse(time.RFC3339Nano, s); err != nil {
				t.Fatal(err)
			}
		}
		return failures, until
	}
	// waitOut lets a lock run out: the attacker's schedule, not a
	// synchronisation.
	waitOut := func(id string) {
		t.Helper()
		if _, until := lockOf(id); !until.IsZero() {
			time.Sleep(time.Until(until) + 50*time.Millisecond)
		}
	}

	t.Run("one request per lock period cannot keep an account locked", func(t *testing.T) {
		id := newPatron("kept")
		fail("kept", 5)
		if status := signIn("kept", "a perfectly fine passphrase"); status != 401 {
			t.Fatalf("locked account signed in: %d", status)
		}
		for period := range 3 {
			waitOut(id)
			fail("kept", 1)
			if status := signIn("kept", "a perfectly fine passphrase"); status != 200 {
				t.Fatalf("period %d: the owner is kept out after one guess per lock period: %d", period+1, status)
			}
			fail("kept", 5)
		}
	})

	t.Run("a signed-in locked user changes their password", func(t *testing.T) {
		newPatron("locked")
		me := anon.login("kpu", "locked", "a perfectly fine passphrase")
		fail("locked", 5)
		status, body := me.do("POST", "/v1/me/password", map[string]string{"currentPassword": "a perfectly fine passphrase", "newPassword": "my own new passphrase"})
		want(t, "change while locked", status, 200, body)
		if status := signIn("locked", "my own new passphrase"); status != 200 {
			t.Fatalf("the new password after the change: %d", status)
		}
	})

	t.Run("staff see a lock and clear it", func(t *testing.T) {
		id := newPatron("cleared")
		fail("cleared", 5)
		waitOut(id)
		// The second lock is twice the first: time enough to look.
		fail("cleared", 5)
		failures, until := lockOf(id)
		if failures != 10 || !until.After(time.Now()) {
			t.Fatalf("staff see %d failures, locked until %v", failures, until)
		}
		status, body := admin.do("POST", "/v1/admin/users/"+id+"/unlock", nil)
		want(t, "unlock", status, 200, body)
		if u := body["user"].(map[string]any); u["lockedUntil"] != nil || u["failedLogins"] != nil {
			t.Errorf("after unlock the user shows %v", u)
		}
		if status := signIn("cleared", "a perfectly fine passphrase"); status != 200 {
			t.Fatalf("after unlock: %d", status)
		}
		status, body = admin.do("GET", "/v1/admin/audit?action=user.unlock&target="+id, nil)
		want(t, "audit", status, 200, body)
		if events, _ := body["events"].([]any); len(events) != 1 {
			t.Errorf("audit of the unlock: %v", body)
		}
	})

	t.Run("links die on credential events", func(t *testing.T) {
		id := newPatron("linked")
		address := "linked@patrons.example"
		sendLink := func() string {
			t.Helper()
			status, body := admin.do("POST", "/v1/admin/users/"+id+"/password", map[string]any{"sendResetLink": true})
			want(t, "send link", status, 200, body)
			_, text := lastMail(t, anon, address)
			m := linkToken.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("no link in the mail:\n%s", text)
			}
			return m[1]
		}
		use := func(token, password string) (int, map[string]any) {
			t.Helper()
			return anon.do("POST", "/v1/auth/password-reset", map[string]string{"token": token, "password": password})
		}
		password := "a perfectly fine passphrase"
		events := []struct {
			name string
			do   func()
		}{
			{"the user changes their password", func() {
				me := anon.login("kpu", "linked", password)
				status, body := me.do("POST", "/v1/me/password", map[string]string{"currentPassword": password, "newPassword": "the user chose this"})
				want(t, "self change", status, 200, body)
				password = "the user chose this"
			}},
			{"staff set a password", func() {
				status, body := admin.do("POST", "/v1/admin/users/"+id+"/password", map[string]string{"password": "staff chose this one", "passwordConfirmation": "staff chose this one"})
				want(t, "staff set", status, 200, body)
				password = "staff chose this one"
			}},
			{"deactivation, then reactivation", func() {
				for _, action := range []string{"deactivate", "reactivate"} {
					status, body := admin.do("POST", "/v1/admin/users/"+id+"/"+action, nil)
					want(t, action, status, 200, body)
				}
			}},
			{"a new e-mail address", func() {
				status, body := admin.do("GET", "/v1/admin/users/"+id, nil)
				want(t, "get user", status, 200, body)
				status, body = admin.do("PATCH", "/v1/admin/users/"+id, map[string]any{"version": body["version"], "email": "linked.new@patrons.example"})
				want(t, "new e-mail", status, 200, body)
				address = "linked.new@patrons.example"
			}},
		}
		for _, ev := range events {
			token := sendLink()
			ev.do()
			status, body := use(token, "set through an old link")
			want(t, ev.name+": the old link", status, 400, body)
			if e, _ := body["error"].(map[string]any); e["field"] != "token" {
				t.Errorf("%s: the old link is refused as %v", ev.name, body)
			}
			if signIn("linked", "set through an old link") == 200 {
				t.Fatalf("%s: the old link set the password", ev.name)
			}
		}
		// A link at the current epoch works, once, and says so by mail.
		token := sendLink()
		status, body := use(token, "set through the last link")
		want(t, "the last link", status, 200, body)
		if _, ok := body["token"]; ok {
			t.Error("completing a link signed the user in")
		}
		subject, _ := lastMail(t, anon, address)
		if !strings.Contains(subject, "password was changed") {
			t.Errorf("after the link the mail is %q, want the password-changed notice", subject)
		}
		if signIn("linked", "set through the last link") != 200 || signIn("linked", password) == 200 {
			t.Error("after the last link: the new password must work and the old one not")
		}
	})
}
