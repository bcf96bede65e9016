package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// taskRecorder is a recording accounts.JobQueue: the port's fake, standing
// in for SQS. The test plays the job worker.
type taskRecorder struct {
	mu    sync.Mutex
	tasks []accounts.JobTask
}

func (q *taskRecorder) SendJobTasks(_ context.Context, tasks []accounts.JobTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, tasks...)
	return nil
}

func (q *taskRecorder) take() []accounts.JobTask {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks
	q.tasks = nil
	return t
}

// resetEnv is the service over DynamoDB Local with job tasks recorded and
// notices delivered as they are queued.
type resetEnv struct {
	*env
	svc   *accounts.Service
	tasks *taskRecorder
}

func newResetEnv(tb testing.TB, tenants ...string) *resetEnv {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	mail, q, tasks := &outbox{}, &inlineNotices{}, &taskRecorder{}
	svc := accounts.NewService(accounts.Deps{
		Store:  dynamostore.New(client, table),
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Mailer: mail, Notices: q, Jobs: tasks, Logger: log,
	}, accounts.Config{ResetPageURL: resetPage, NoticeSendRate: 1000})
	q.svc = svc
	for _, t := range tenants {
		if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: t, AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
			tb.Fatal(err)
		}
	}
	return &resetEnv{env: &env{api: apigw.New(svc, log), logs: logs, mail: mail}, svc: svc, tasks: tasks}
}

// pump plays the job worker until no task is left.
func (e *resetEnv) pump(tb testing.TB) {
	tb.Helper()
	for range 1000 {
		tasks := e.tasks.take()
		if len(tasks) == 0 {
			return
		}
		for _, t := range tasks {
			if err := e.svc.RunJobTask(context.Background(), t); err != nil {
				tb.Fatalf("task %+v: %v", t, err)
			}
		}
	}
	tb.Fatal("the job's tasks never ran out")
}

type jobOut struct {
	ID, Kind, Status, Mode, Scope, SetID, Error string
	DryRun, InvalidateCurrent                   bool
	Percent                                     int
	Counts                                      map[string]int
	Notices                                     *struct{ Sent, Failed, Pending int }
	CreatedAt                                   time.Time
	StartedAt, FinishedAt                       *time.Time
	StartedBy                                   *struct{ ID, Username string }
}

// weakDefault is refused by the policy; strongDefault passes it. Neither
// may appear in any answer or log line.
const (
	weakDefault   = "Secret-42"
	strongDefault = "Orchard-lantern-Quiver-7781"
)

func TestStartPasswordResetRefusals(t *testing.T) {
	e := newResetEnv(t, "demo")
	_, as := e.login(t, "demo", "admin", adminPassword)
	tests := []struct {
		name   string
		body   string
		status int
		field  string
		msg    string // part of the message
	}{
		{name: "no body", body: "", status: 400, msg: "request body is empty"},
		{name: "not JSON", body: `{"scope":`, status: 400, msg: "truncated JSON"},
		{name: "an array", body: `[]`, status: 400, msg: "must be a JSON object"},
		{name: "unknown field", body: `{"scope":"all","mode":"link","password":"` + strongDefault + `"}`, status: 400, field: "password", msg: `unknown field "password"`},
		{name: "wrong type of default password", body: `{"scope":"all","mode":"default","defaultPassword":12345678901234567}`, status: 400, field: "defaultPassword", msg: "must be a string"},
		{name: "userIds not a list", body: `{"scope":"selected","mode":"link","userIds":"abc"}`, status: 400, field: "userIds"},
		{name: "unknown scope", body: `{"scope":"everyone","mode":"link"}`, status: 400, field: "scope"},
		{name: "unknown mode", body: `{"scope":"all","mode":"blank"}`, status: 400, field: "mode"},
		{name: "selected without users", body: `{"scope":"selected","mode":"link"}`, status: 400, field: "userIds"},
		{name: "userIds with scope all", body: `{"scope":"all","mode":"link","userIds":["u1"]}`, status: 400, field: "userIds"},
		{name: "set without setId", body: `{"scope":"set","mode":"temporary"}`, status: 400, field: "setId"},
		{name: "set that does not exist", body: `{"scope":"set","mode":"temporary","setId":"nosuchset0000000"}`, status: 400, field: "setId"},
		{name: "default without password", body: `{"scope":"all","mode":"default"}`, status: 400, field: "defaultPassword"},
		{name: "weak default password", body: `{"scope":"all","mode":"default","defaultPassword":"` + weakDefault + `"}`, status: 400, field: "defaultPassword"},
		{name: "default password in link mode", body: `{"scope":"all","mode":"link","defaultPassword":"` + strongDefault + `"}`, status: 400, field: "defaultPassword"},
		{name: "invalidateCurrent in temporary mode", body: `{"scope":"all","mode":"temporary","invalidateCurrent":true}`, status: 400, field: "invalidateCurrent"},
		{name: "a query", body: `{"scope":"all","mode":"link"}`, status: 400, field: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := as("POST /v1/admin/password-resets", tt.body)
			if tt.name == "a query" {
				r = withQuery(r, map[string]string{"x": "1"})
			}
			resp := do(t, e.api.StartPasswordReset, r)
			b := want(t, tt.name, resp, tt.status, tt.field)
			if tt.msg != "" && !strings.Contains(b.Error.Message, tt.msg) {
				t.Errorf("message %q lacks %q", b.Error.Message, tt.msg)
			}
			noSecrets(t, "answer", resp.Body, weakDefault, strongDefault)
		})
	}
	if n := len(e.tasks.take()); n != 0 {
		t.Errorf("refused resets queued %d tasks", n)
	}
	noSecrets(t, "the log", e.logs.String(), weakDefault, strongDefault)
}

func TestStartPasswordResetDefaultModeNeverEchoesThePassword(t *testing.T) {
	e := newResetEnv(t, "demo")
	_, as := e.login(t, "demo", "admin", adminPassword)
	for _, name := range []string{"ada", "grace"} {
		e.createUser(t, as, `{"username":"`+name+`","password":"a long first password 1"}`)
	}
	resp := do(t, e.api.StartPasswordReset, as("POST /v1/admin/password-resets", `{"scope":"all","mode":"default","defaultPassword":"`+strongDefault+`"}`))
	want(t, "start", resp, 202, "")
	started := decode[struct {
		JobID string
		Job   jobOut
	}](t, resp)
	if started.JobID == "" || started.Job.ID != started.JobID || started.Job.Kind != "password_reset" || started.Job.Mode != "default" || started.Job.Scope != "all" {
		t.Fatalf("start answer: %s", resp.Body)
	}
	answers := []string{resp.Body}
	for _, task := range e.tasks.tasks {
		data, _ := json.Marshal(task)
		noSecrets(t, "a queued task", string(data), strongDefault)
	}
	e.pump(t)
	get := do(t, e.api.GetJob, withID(as("GET /v1/admin/jobs/{id}", ""), started.JobID))
	want(t, "get", get, 200, "")
	j := decode[jobOut](t, get)
	if j.Status != "completed" || j.Percent != 100 || j.FinishedAt == nil || j.Counts["changed"] != 2 || j.Counts["skipped"] != 1 || j.StartedBy == nil || j.StartedBy.Username != "admin" {
		t.Errorf("finished job: %s", get.Body)
	}
	list := do(t, e.api.ListJobs, withQuery(as("GET /v1/admin/jobs", ""), map[string]string{"kind": "password_reset"}))
	want(t, "list", list, 200, "")
	report := do(t, e.api.JobReport, withID(as("GET /v1/admin/jobs/{id}/report", ""), started.JobID))
	want(t, "report", report, 200, "")
	if !strings.Contains(report.Body, "ada") || !strings.Contains(report.Headers["Content-Disposition"], "job-"+started.JobID+".csv") {
		t.Errorf("report: %v %q", report.Headers, report.Body)
	}
	answers = append(answers, get.Body, list.Body, report.Body)
	for i, a := range answers {
		noSecrets(t, "answer "+string(rune('0'+i)), a, strongDefault)
		if strings.Contains(a, "argon2") {
			t.Errorf("answer %d holds a hash: %s", i, a)
		}
	}
	noSecrets(t, "the log", e.logs.String(), strongDefault)
	// The default password works for a reset user: it was set, not echoed.
	if r, _ := e.api.Login(context.Background(), jsonReq("POST /v1/auth/login", `{"tenant":"demo","username":"ada","password":"`+strongDefault+`"}`)); r.StatusCode != 200 {
		t.Errorf("ada cannot sign in with the default password: %d %s", r.StatusCode, r.Body)
	}
}

func TestJobsRoutes(t *testing.T) {
	e := newResetEnv(t, "demo", "other")
	_, as := e.login(t, "demo", "admin", adminPassword)
	_, other := e.login(t, "other", "admin", adminPassword)
	u := e.createUser(t, as, `{"username":"patron","password":"quiet harbour lamps 2718","email":"patron@example.org"}`)
	_, patron := e.login(t, "demo", "patron", "quiet harbour lamps 2718")

	resp := do(t, e.api.StartPasswordReset, as("POST /v1/admin/password-resets", `{"scope":"selected","mode":"link","userIds":["`+u.ID+`"],"dryRun":true}`))
	want(t, "start", resp, 202, "")
	id := decode[struct{ JobID string }](t, resp).JobID

	// A patron is refused every route; another tenant does not find the job.
	for _, r := range []struct {
		name string
		h    handler
		req  func(authedReq) apigw.Request
	}{
		{"start", e.api.StartPasswordReset, func(as authedReq) apigw.Request {
			return as("POST /v1/admin/password-resets", `{"scope":"all","mode":"link"}`)
		}},
		{"list", e.api.ListJobs, func(as authedReq) apigw.Request { return as("GET /v1/admin/jobs", "") }},
		{"get", e.api.GetJob, func(as authedReq) apigw.Request { return withID(as("GET /v1/admin/jobs/{id}", ""), id) }},
		{"report", e.api.JobReport, func(as authedReq) apigw.Request { return withID(as("GET /v1/admin/jobs/{id}/report", ""), id) }},
		{"cancel", e.api.CancelJob, func(as authedReq) apigw.Request { return withID(as("POST /v1/admin/jobs/{id}/cancel", ""), id) }},
	} {
		want(t, r.name+" as a patron", do(t, r.h, r.req(patron)), 403, "")
		if r.name == "start" || r.name == "list" {
			continue
		}
		want(t, r.name+" from another tenant", do(t, r.h, r.req(other)), 404, "")
	}
	otherList := do(t, e.api.ListJobs, other("GET /v1/admin/jobs", ""))
	want(t, "other's list", otherList, 200, "")
	if strings.Contains(otherList.Body, id) {
		t.Errorf("another tenant lists the job: %s", otherList.Body)
	}

	// Queries: unknown parameters and bad limits are refused; filters are
	// the domain's to check.
	for _, q := range []struct {
		q     map[string]string
		field string
	}{
		{map[string]string{"limit": "0"}, "limit"},
		{map[string]string{"limit": "201"}, "limit"},
		{map[string]string{"limit": "ten"}, "limit"},
		{map[string]string{"sort": "asc"}, "sort"},
		{map[string]string{"kind": "reset"}, "kind"},
		{map[string]string{"status": "done"}, "status"},
	} {
		want(t, "list "+strings.Join(mapKeys(q.q), ","), do(t, e.api.ListJobs, withQuery(as("GET /v1/admin/jobs", ""), q.q)), 400, q.field)
	}
	want(t, "get with a query", do(t, e.api.GetJob, withQuery(withID(as("GET /v1/admin/jobs/{id}", ""), id), map[string]string{"x": "1"})), 400, "x")
	want(t, "cancel with a body", do(t, e.api.CancelJob, withID(as("POST /v1/admin/jobs/{id}/cancel", `{"now":true}`), id)), 400, "now")
	want(t, "get unknown", do(t, e.api.GetJob, withID(as("GET /v1/admin/jobs/{id}", ""), "nosuchjob0000000")), 404, "")

	listed := decode[struct{ Jobs []jobOut }](t, want200(t, "list resets", do(t, e.api.ListJobs, withQuery(as("GET /v1/admin/jobs", ""), map[string]string{"kind": "password_reset"}))))
	if len(listed.Jobs) != 1 || listed.Jobs[0].ID != id || !listed.Jobs[0].DryRun {
		t.Errorf("reset list: %+v", listed.Jobs)
	}
	imports := decode[struct{ Jobs []jobOut }](t, want200(t, "list imports", do(t, e.api.ListJobs, withQuery(as("GET /v1/admin/jobs", ""), map[string]string{"kind": "users"}))))
	if len(imports.Jobs) != 0 {
		t.Errorf("kind users lists %+v", imports.Jobs)
	}

	// Cancel ends the job with a finish time; a second cancel is a conflict.
	c := do(t, e.api.CancelJob, withID(as("POST /v1/admin/jobs/{id}/cancel", ""), id))
	want(t, "cancel", c, 200, "")
	if j := decode[jobOut](t, c); j.Status != "cancelled" || j.FinishedAt == nil {
		t.Errorf("cancelled job: %s", c.Body)
	}
	want(t, "cancel again", do(t, e.api.CancelJob, withID(as("POST /v1/admin/jobs/{id}/cancel", "{}"), id)), 409, "")
	e.pump(t) // its tasks see the cancel and do nothing
	if j := decode[jobOut](t, want200(t, "get", do(t, e.api.GetJob, withID(as("GET /v1/admin/jobs/{id}", ""), id)))); j.Status != "cancelled" {
		t.Errorf("after its tasks ran, the cancelled job is %s", j.Status)
	}
}

func want200(tb testing.TB, what string, resp apigw.Response) apigw.Response {
	tb.Helper()
	want(tb, what, resp, 200, "")
	return resp
}

func mapKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
