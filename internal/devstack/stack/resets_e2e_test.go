package stack_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
)

// waitAnyJob polls the task centre until the job ends.
func waitAnyJob(tb testing.TB, c client, id string) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		status, body := c.do("GET", "/v1/admin/jobs/"+id, nil)
		if status != 200 {
			tb.Fatalf("get job: %d %v", status, body)
		}
		switch body["status"] {
		case "completed", "completed_with_errors", "failed", "cancelled":
			return body
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("job %s did not end", id)
	return nil
}

// waitMails polls the outbox until addr has had n messages.
func waitMails(tb testing.TB, st *stack.Stack, addr string, n int) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if mailsTo(tb, st, addr) >= n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("%s: %d messages, want %d", addr, mailsTo(tb, st, addr), n)
}

func TestBulkResetsThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	// Each of the four filters and a set, with a default password and with
	// e-mailed temporary passwords: the right users get new passwords (and
	// nobody else), the right ones mail, the one without an address is
	// listed in the report and left alone, the starter gets the job notice,
	// and the job is in the task centre.
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(t) // fails in CI, skips elsewhere, with the reason
	}
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: t.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		FunctionEnv: childEnv, Parameters: map[string]string{"NoticeSendRate": "1000"},
	})
	if err != nil {
		t.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		st.Close()
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs.String())
		}
	})
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	type person struct{ name, email, role, primaryID string }
	people := []person{
		{"ann", "ann@kpu.example", "", "0000001"},
		{"bob", "bob@kpu.example", "circulation", "0000002"},
		{"cat", "", "", "0000003"}, // no address: never reset by mail
		{"dan", "dan@kpu.example", "", "0000004"},
	}
	ids := map[string]string{}
	for _, p := range people {
		in := map[string]any{"username": p.name, "password": "first-passphrase-of-" + p.name, "primaryId": p.primaryID}
		if p.email != "" {
			in["email"] = p.email
		}
		if p.role != "" {
			in["roles"] = []string{p.role}
		}
		status, body := admin.do("POST", "/v1/admin/users", in)
		want(t, "create "+p.name, status, 201, body)
		ids[p.name] = body["user"].(map[string]any)["id"].(string)
	}
	// The Alma-style set of primary IDs, built by the set import.
	status, started := admin.do("POST", "/v1/admin/imports", map[string]any{"kind": "set", "setName": "Update/Notify Users"})
	want(t, "start set import", status, 201, started)
	putFile(t, started["uploadUrl"].(string), "Primary ID\n0000001\n0000003\n")
	setJob := waitAnyJob(t, admin, started["importId"].(string))
	setID, _ := setJob["setId"].(string)

	scopes := []struct {
		scope string
		extra map[string]any
		want  []string
	}{
		{"all", nil, []string{"ann", "bob", "cat", "dan"}},
		{"all_except", map[string]any{"userIds": []string{ids["bob"]}}, []string{"ann", "cat", "dan"}},
		{"no_role", nil, []string{"ann", "cat", "dan"}},
		{"selected", map[string]any{"userIds": []string{ids["ann"], ids["cat"]}}, []string{"ann", "cat"}},
		{"set", map[string]any{"setId": setID}, []string{"ann", "cat"}},
	}
	noticesToAdmin := mailsTo(t, st, st.AdminEmail)
	for i, sc := range scopes {
		for _, mode := range []string{"default", "temporary"} {
			name := sc.scope + "/" + mode
			in := map[string]any{"scope": sc.scope, "mode": mode}
			for k, v := range sc.extra {
				in[k] = v
			}
			defaultPassword := fmt.Sprintf("spring-term-default-%d-of-kpu", i)
			if mode == "default" {
				in["defaultPassword"] = defaultPassword
			}
			before := map[string]int{}
			for _, p := range people {
				if p.email != "" {
					before[p.name] = mailsTo(t, st, p.email)
				}
			}
			status, body := admin.do("POST", "/v1/admin/password-resets", in)
			want(t, name+": start", status, 202, body)
			jobID, _ := body["jobId"].(string)
			job := waitAnyJob(t, admin, jobID)
			if job["status"] != "completed" {
				t.Errorf("%s: job %v, want completed", name, job)
			}
			noticesToAdmin++
			waitMails(t, st, st.AdminEmail, noticesToAdmin)

			_, report := admin.raw("GET", "/v1/admin/jobs/"+jobID+"/report", nil)
			for _, p := range people {
				targeted := slices.Contains(sc.want, p.name)
				switch {
				case mode == "default":
					// The default password signs in exactly the users of
					// the scope (each case has its own password).
					status, _ := admin.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": p.name, "password": defaultPassword})
					if (status == 200) != targeted {
						t.Errorf("%s: %s signs in with the default password: %v, want %v", name, p.name, status == 200, targeted)
					}
				case p.email == "":
					if targeted && !reportHas(report, p.name, "no_email") {
						t.Errorf("%s: report does not list %s as no_email:\n%s", name, p.name, report)
					}
				case targeted:
					waitMails(t, st, p.email, before[p.name]+1)
				default:
					if n := mailsTo(t, st, p.email); n != before[p.name] {
						t.Errorf("%s: %s outside the scope got %d new messages", name, p.name, n-before[p.name])
					}
				}
			}
			if reportHas(report, "admin", "") && !reportHas(report, "admin", "skipped") && sc.scope != "selected" && sc.scope != "set" {
				t.Errorf("%s: the starter is in the report other than skipped:\n%s", name, report)
			}
			_, list := admin.do("GET", "/v1/admin/jobs?kind=password_reset", nil)
			if !jobListed(list, jobID) {
				t.Errorf("%s: job %s not in GET /v1/admin/jobs: %v", name, jobID, list)
			}
		}
	}
}

// reportHas reports whether a line of the CSV report names subject with
// outcome (any outcome when empty).
func reportHas(report, subject, outcome string) bool {
	for _, line := range strings.Split(report, "\n") {
		cells := strings.Split(strings.TrimSpace(line), ",")
		if slices.Contains(cells, subject) && (outcome == "" || slices.Contains(cells, outcome)) {
			return true
		}
	}
	return false
}

func jobListed(list map[string]any, id string) bool {
	jobs, _ := list["jobs"].([]any)
	for _, j := range jobs {
		if m, _ := j.(map[string]any); m["id"] == id {
			return true
		}
	}
	return false
}
