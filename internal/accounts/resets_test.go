package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// jobQueue is the job queue as a slice: the test plays the jobs-worker.
type jobQueue struct {
	mu    sync.Mutex
	tasks []accounts.JobTask
	sent  []string // every message as JSON, to look for secrets in
}

func (q *jobQueue) SendJobTasks(_ context.Context, ts []accounts.JobTask) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range ts {
		data, _ := json.Marshal(t)
		q.sent = append(q.sent, string(data))
	}
	q.tasks = append(q.tasks, ts...)
	return nil
}

func (q *jobQueue) take() []accounts.JobTask {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks
	q.tasks = nil
	return t
}

// countingHasher counts the argon2id hashes made.
type countingHasher struct {
	accounts.PasswordHasher
	hashes atomic.Int64
}

func (h *countingHasher) Hash(pw string) (string, error) {
	h.hashes.Add(1)
	return h.PasswordHasher.Hash(pw)
}

type resetEnv struct {
	*fixture
	jobs   *jobQueue
	box    *outbox
	hasher *countingHasher
	admin  accounts.Caller
	users  map[string]accounts.User // by username
}

const userPassword = "a perfectly fine passphrase"

// newResetEnv is a tenant with: admin (who starts the jobs), staff (a
// second admin), and patrons with and without e-mail, one with a bounced
// address and one deactivated.
func newResetEnv(tb testing.TB) *resetEnv {
	tb.Helper()
	f := newFixture(tb)
	e := &resetEnv{fixture: f, jobs: &jobQueue{}, box: &outbox{}, hasher: &countingHasher{PasswordHasher: hasherFast()}, users: map[string]accounts.User{}}
	e.admin = f.tenant(tb, "kpu")
	e.svc = accounts.NewService(accounts.Deps{
		Store: f.store, Hasher: e.hasher, Clock: f.clock.Now, Mailer: e.box, Notices: f.notices, Jobs: e.jobs, Wait: f.clock.Wait, Logger: f.logger(),
	}, accounts.Config{ResetPageURL: "https://accounts.example.org/reset"})
	for _, u := range []accounts.CreateUserInput{
		{Username: "staff", Email: "staff@kpu.example", Roles: []string{accounts.RoleAdmin}},
		{Username: "anna", Email: "anna@kpu.example"},
		{Username: "bert"},
		{Username: "cara", Email: "cara@kpu.example"},
		{Username: "dora", Email: "dora@kpu.example"},
		{Username: "emil", Email: "emil@kpu.example"},
	} {
		e.users[u.Username] = f.user(tb, e.admin, u)
	}
	if _, err := e.svc.SetUserStatus(context.Background(), e.admin, e.users["dora"].ID, accounts.StatusInactive); err != nil {
		tb.Fatal(err)
	}
	if err := f.store.SetUserEmailStatus(context.Background(), "kpu", e.users["emil"].ID, "emil@kpu.example", accounts.EmailBounced, f.clock.Now()); err != nil {
		tb.Fatal(err)
	}
	me, _ := f.store.GetUserByUsername(context.Background(), "kpu", "admin")
	e.users["admin"] = me
	f.notices.take()
	e.hasher.hashes.Store(0)
	return e
}

// set builds a ready set of the named users the fast way, through the
// store, as a finished set import leaves it.
func (e *resetEnv) set(names ...string) string {
	ctx := context.Background()
	id := e.users["staff"].ID // any valid id not used as a set's
	if err := e.store.CreateSet(ctx, accounts.Set{TenantID: "kpu", ID: id, Name: "Fall term", Status: accounts.SetReady, Members: len(names), CreatedAt: e.clock.Now()}); err != nil {
		panic(err)
	}
	for i, n := range names {
		u := e.users[n]
		if _, err := e.store.AddSetMember(ctx, "kpu", id, "job", accounts.SetMember{UserID: u.ID, Username: u.Username, Row: i + 2}); err != nil {
			panic(err)
		}
	}
	return id
}

func (e *resetEnv) ids(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, e.users[n].ID)
	}
	return out
}

// run delivers every queued task (each `times` times) until none is left.
func (e *resetEnv) run(tb testing.TB, times int) {
	tb.Helper()
	for {
		ts := e.jobs.take()
		if len(ts) == 0 {
			return
		}
		for _, t := range ts {
			for range times {
				if err := e.svc.RunJobTask(context.Background(), t); err != nil {
					tb.Fatalf("task %+v: %v", t, err)
				}
			}
		}
	}
}

func (e *resetEnv) job(tb testing.TB, id string) accounts.Job {
	tb.Helper()
	j, err := e.svc.GetJob(context.Background(), e.admin, id)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// report returns the report's rows as "username outcome" -> full row.
func (e *resetEnv) report(tb testing.TB, id string) (map[string][]string, string) {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := e.svc.JobReport(context.Background(), e.admin, id, &buf); err != nil {
		tb.Fatal(err)
	}
	rows := map[string][]string{}
	for i, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if i == 0 {
			continue
		}
		cells := strings.Split(line, ",")
		rows[cells[0]] = cells
	}
	return rows, buf.String()
}

func (e *resetEnv) canLogin(tb testing.TB, username, password string) bool {
	tb.Helper()
	_, err := e.svc.Login(context.Background(), accounts.LoginInput{Tenant: "kpu", Username: username, Password: password})
	return err == nil
}

func outcomesOf(rows map[string][]string) map[string]string {
	m := map[string]string{}
	for u, r := range rows {
		m[u] = r[1]
	}
	return m
}

func TestPasswordResetScopesAndModes(t *testing.T) {
	t.Parallel()
	const def = "Rowan-Kettle-Harbour-9"
	cases := []struct {
		name  string
		in    func(e *resetEnv) accounts.PasswordResetInput
		want  map[string]string // username -> outcome
		kinds accounts.NoticeKind
	}{
		{"all default", func(e *resetEnv) accounts.PasswordResetInput {
			return accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetDefault, DefaultPassword: def}
		}, map[string]string{"admin": "skipped", "staff": "changed", "anna": "changed", "bert": "changed", "cara": "changed", "dora": "skipped", "emil": "changed"}, ""},
		{"no_role temporary", func(e *resetEnv) accounts.PasswordResetInput {
			return accounts.PasswordResetInput{Scope: accounts.ScopeNoRole, Mode: accounts.ResetTemporary}
		}, map[string]string{"anna": "changed", "bert": "no_email", "cara": "changed", "dora": "skipped", "emil": "no_email"}, accounts.NoticeTemporaryPassword},
		{"all_except link", func(e *resetEnv) accounts.PasswordResetInput {
			return accounts.PasswordResetInput{Scope: accounts.ScopeAllExcept, UserIDs: e.ids("cara", "staff"), Mode: accounts.ResetLink}
		}, map[string]string{"admin": "skipped", "anna": "changed", "bert": "no_email", "dora": "skipped", "emil": "no_email"}, accounts.NoticeResetLink},
		{"set temporary", func(e *resetEnv) accounts.PasswordResetInput {
			return accounts.PasswordResetInput{Scope: accounts.ScopeSet, SetID: e.set("anna", "bert", "dora"), Mode: accounts.ResetTemporary}
		}, map[string]string{"anna": "changed", "bert": "no_email", "dora": "skipped"}, accounts.NoticeTemporaryPassword},
		{"selected default", func(e *resetEnv) accounts.PasswordResetInput {
			return accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: e.ids("anna", "bert", "anna", "admin"), Mode: accounts.ResetDefault, DefaultPassword: def}
		}, map[string]string{"admin": "skipped", "anna": "changed", "bert": "changed"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newResetEnv(t)
			in := tc.in(e)
			j, err := e.svc.StartPasswordReset(context.Background(), e.admin, in)
			if err != nil {
				t.Fatal(err)
			}
			e.run(t, 1)
			rows, raw := e.report(t, j.ID)
			if got := outcomesOf(rows); !mapsEqual(got, tc.want) {
				t.Fatalf("outcomes = %v, want %v\n%s", got, tc.want, raw)
			}
			// Notices were raised for exactly the changed users of mailed modes.
			queued := e.notices.take()
			var noticed []string
			jobNotices := 0
			for _, q := range queued {
				n, err := e.store.GetNotice(context.Background(), "kpu", q.ref.UserID, q.ref.NoticeID)
				if err != nil {
					t.Fatal(err)
				}
				if n.Kind == accounts.NoticeJobFinished {
					jobNotices++
					if n.Params["noEmail"] == "" || n.JobID != j.ID {
						t.Errorf("job notice params %v", n.Params)
					}
					// The letter counts users, not rows of a file.
					if c := n.Params["counts"]; !strings.Contains(c, "Users matched:") || !strings.Contains(c, "Without e-mail:   "+n.Params["noEmail"]) {
						t.Errorf("job notice counts %q", c)
					}
					if n.UserID != e.users["admin"].ID {
						t.Errorf("job notice to %s, want the starter", n.UserID)
					}
					continue
				}
				if n.Kind != tc.kinds || n.JobID != j.ID {
					t.Errorf("notice %+v, want kind %s of job %s", n, tc.kinds, j.ID)
				}
				for name, u := range e.users {
					if u.ID == n.UserID {
						noticed = append(noticed, name)
					}
				}
			}
			if jobNotices != 1 {
				t.Errorf("%d job-finished notices, want 1 to the starter", jobNotices)
			}
			var wantNoticed []string
			for name, o := range tc.want {
				if o == "changed" && tc.kinds != "" {
					wantNoticed = append(wantNoticed, name)
				}
			}
			slices.Sort(noticed)
			slices.Sort(wantNoticed)
			if !slices.Equal(noticed, wantNoticed) {
				t.Errorf("noticed %v, want %v", noticed, wantNoticed)
			}
			// Who can still sign in with the old password.
			for name, o := range tc.want {
				if name == "admin" || name == "dora" {
					continue
				}
				keeps := o != "changed" || in.Mode == accounts.ResetLink || in.Mode == accounts.ResetTemporary
				if got := e.canLogin(t, name, userPassword); got != keeps {
					t.Errorf("%s (%s) signs in with the old password: %v, want %v", name, o, got, keeps)
				}
				if in.Mode == accounts.ResetDefault && o == "changed" && !e.canLogin(t, name, def) {
					t.Errorf("%s cannot sign in with the default password", name)
				}
			}
			for _, name := range []string{"anna", "admin"} {
				if !e.canLogin(t, name, map[string]string{"anna": userPassword, "admin": adminPassword}[name]) && (name == "admin" || tc.want["anna"] != "changed" || in.Mode != accounts.ResetDefault) {
					t.Errorf("%s lost their password", name)
				}
			}
			got := e.job(t, j.ID)
			if got.Status != accounts.JobCompleted || got.FinishedAt.IsZero() || got.Percent() != 100 {
				t.Errorf("job %s %v %d%%, want completed with a finish time", got.Status, got.FinishedAt, got.Percent())
			}
			wantChanged, wantNoEmail := 0, 0
			for _, o := range tc.want {
				wantChanged += b2i(o == "changed")
				wantNoEmail += b2i(o == "no_email")
			}
			if got.Changed != wantChanged || got.NoEmail != wantNoEmail || got.Matched != len(tc.want) {
				t.Errorf("counts changed %d no_email %d matched %d, want %d %d %d", got.Changed, got.NoEmail, got.Matched, wantChanged, wantNoEmail, len(tc.want))
			}
			// The notices' outcomes reach the job's counts.
			for _, q := range queued {
				if err := e.svc.DeliverNotice(context.Background(), q.ref); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.job(t, j.ID); got.NoticesSent != len(wantNoticed) || got.NoticesPending != 0 {
				t.Errorf("notices sent %d pending %d, want %d 0", got.NoticesSent, got.NoticesPending, len(wantNoticed))
			}
			if in.Mode == accounts.ResetTemporary {
				if e.canLogin(t, "anna", userPassword) {
					t.Error("anna's old password works after her temporary password was sent")
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPasswordResetRefusals(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	cases := []struct {
		name  string
		in    accounts.PasswordResetInput
		field string
	}{
		{"weak default", accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetDefault, DefaultPassword: "short"}, "defaultPassword"},
		{"no scope", accounts.PasswordResetInput{Mode: accounts.ResetLink}, "scope"},
		{"bad mode", accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: "random"}, "mode"},
		{"ids without selected", accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetLink, UserIDs: e.ids("anna")}, "userIds"},
		{"bad id", accounts.PasswordResetInput{Scope: accounts.ScopeSelected, Mode: accounts.ResetLink, UserIDs: []string{"nope"}}, "userIds"},
		{"invalidate without link", accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetTemporary, InvalidateCurrent: true}, "invalidateCurrent"},
		{"unknown set", accounts.PasswordResetInput{Scope: accounts.ScopeSet, SetID: e.users["anna"].ID, Mode: accounts.ResetLink}, "setId"},
	}
	for _, tc := range cases {
		_, err := e.svc.StartPasswordReset(context.Background(), e.admin, tc.in)
		wantCode(t, err, accounts.CodeInvalid)
		if f := accounts.PublicField(err); f != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, f, tc.field)
		}
	}
	if jobs, _, err := e.svc.ListJobs(context.Background(), e.admin, "", "", 0, ""); err != nil || len(jobs) != 0 {
		t.Errorf("jobs after refusals: %v %v", jobs, err)
	}
	if len(e.jobs.take()) != 0 || e.hasher.hashes.Load() != 0 {
		t.Error("a refused reset queued tasks or hashed")
	}
}

func TestPasswordResetDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	j, err := e.svc.StartPasswordReset(context.Background(), e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetTemporary, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, 1)
	rows, raw := e.report(t, j.ID)
	if rows["anna"][1] != "would_change" || rows["bert"][1] != "would_be_no_email" {
		t.Fatalf("dry run report:\n%s", raw)
	}
	for _, q := range e.notices.take() {
		n, _ := e.store.GetNotice(context.Background(), "kpu", q.ref.UserID, q.ref.NoticeID)
		if n.Kind != accounts.NoticeJobFinished {
			t.Errorf("a dry run raised %s", n.Kind)
		}
	}
	if !e.canLogin(t, "anna", userPassword) {
		t.Error("a dry run changed anna's password")
	}
	if u, _ := e.store.GetUser(context.Background(), "kpu", e.users["anna"].ID); u.Version != e.users["anna"].Version {
		t.Error("a dry run wrote anna")
	}
}

func TestRedeliveredBatchChangesNothingTwice(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	j, err := e.svc.StartPasswordReset(context.Background(), e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeNoRole, Mode: accounts.ResetLink})
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, 2)
	got := e.job(t, j.ID)
	if got.Changed != 2 || got.Matched != 5 || got.NoticesRaised != 2 {
		t.Errorf("after every task twice: changed %d matched %d notices %d, want 2 5 2", got.Changed, got.Matched, got.NoticesRaised)
	}
	for _, name := range []string{"anna", "cara"} {
		page, err := e.store.ListNotices(context.Background(), "kpu", e.users[name].ID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Notices) != 1 {
			t.Errorf("%s has %d notices, want 1", name, len(page.Notices))
		}
	}
}

func TestCancelMidJob(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	j, err := e.svc.StartPasswordReset(context.Background(), e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetDefault, DefaultPassword: "Rowan-Kettle-Harbour-9"})
	if err != nil {
		t.Fatal(err)
	}
	// Half the shards are scanned and their batches applied; then staff
	// cancel.
	first := e.jobs.take()
	for _, task := range first[:8] {
		if err := e.svc.RunJobTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	for _, task := range e.jobs.take() {
		if err := e.svc.RunJobTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	e.jobs.SendJobTasks(context.Background(), first[8:])
	before := e.job(t, j.ID)
	e.clock.Advance(time.Minute)
	c, err := e.svc.CancelJob(context.Background(), e.admin, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != accounts.JobCancelled || c.FinishedAt.IsZero() {
		t.Fatalf("cancelled job %s finished %v", c.Status, c.FinishedAt)
	}
	e.run(t, 1)
	after := e.job(t, j.ID)
	if after.Changed != before.Changed || after.TasksDone != before.TasksDone || !after.FinishedAt.Equal(c.FinishedAt) {
		t.Errorf("tasks after cancel: changed %d→%d, tasks %d→%d", before.Changed, after.Changed, before.TasksDone, after.TasksDone)
	}
	changed := 0
	for _, name := range []string{"staff", "anna", "bert", "cara", "emil"} {
		if !e.canLogin(t, name, userPassword) {
			changed++
		}
	}
	if changed != before.Changed {
		t.Errorf("%d users lost their password, the job counted %d before cancel", changed, before.Changed)
	}
	_, err = e.svc.CancelJob(context.Background(), e.admin, j.ID)
	wantCode(t, err, accounts.CodeConflict)
}

func TestResetHashesPerJobNotPerUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode       string
		invalidate bool
		want       int64
	}{{accounts.ResetDefault, false, 1}, {accounts.ResetLink, false, 0}, {accounts.ResetLink, true, 1}} {
		e := newResetEnv(t)
		in := accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: tc.mode, InvalidateCurrent: tc.invalidate}
		if tc.mode == accounts.ResetDefault {
			in.DefaultPassword = "Rowan-Kettle-Harbour-9"
		}
		if _, err := e.svc.StartPasswordReset(context.Background(), e.admin, in); err != nil {
			t.Fatal(err)
		}
		e.run(t, 1)
		if got := e.hasher.hashes.Load(); got != tc.want {
			t.Errorf("%s: %d hashes, want %d", tc.mode, got, tc.want)
		}
		if got := e.canLogin(t, "anna", userPassword); tc.mode == accounts.ResetLink && got == tc.invalidate {
			t.Errorf("link, invalidateCurrent %v: anna signs in with her old password: %v", tc.invalidate, got)
		}
		if strings.Contains(e.logs.String(), "unreadable") {
			t.Error("an invalidated password reads as an unreadable hash")
		}
	}
}

func TestNoPasswordInQueueReportOrAudit(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	const def = "Quartz-Lantern-Meadow-41"
	j, err := e.svc.StartPasswordReset(context.Background(), e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeAll, Mode: accounts.ResetDefault, DefaultPassword: def})
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, 1)
	_, raw := e.report(t, j.ID)
	everything := strings.Join(e.jobs.sent, "\n") + raw + e.scanTable(t) + e.logs.String()
	if strings.Contains(everything, def) || strings.Contains(everything, "Quartz") {
		t.Error("the default password is in a queue message, the report, the table or a log")
	}
	if strings.Contains(raw+strings.Join(e.jobs.sent, ""), "argon2") {
		t.Error("a hash is in the report or a queue message")
	}
	if len(e.jobs.sent) == 0 {
		t.Fatal("no task was sent")
	}
	page, err := e.svc.ListAudit(context.Background(), e.admin, accounts.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range page.Events {
		found = found || ev.Action == accounts.ActionPasswordResetJob
	}
	if !found {
		t.Error("starting the job left no audit event")
	}
}

func TestTheStartersNoticeIsNotOneOfTheJobs(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	// The starter has an address, so the job-finished notice is sent.
	admin := e.users["admin"]
	next := admin
	next.Email = "admin@kpu.example"
	if err := e.store.UpdateUser(context.Background(), admin, next, nil); err != nil {
		t.Fatal(err)
	}
	j, err := e.svc.StartPasswordReset(context.Background(), e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: e.ids("anna"), Mode: accounts.ResetLink})
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, 1)
	e.deliver(t, e.svc)
	got := e.job(t, j.ID)
	if got.NoticesSent != 1 || got.NoticesPending != 0 || got.NoticesFailed != 0 {
		t.Errorf("notices sent %d pending %d failed %d, want 1 0 0 (anna's link only)", got.NoticesSent, got.NoticesPending, got.NoticesFailed)
	}
	if len(e.box.sent) != 2 {
		t.Errorf("%d mails, want anna's link and the starter's job notice", len(e.box.sent))
	}
}

func TestAResetEndsSessionsAndAsksForAChange(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{accounts.ResetDefault, accounts.ResetLink} {
		e := newResetEnv(t)
		anna := e.login(t, "kpu", "anna", userPassword)
		in := accounts.PasswordResetInput{Scope: accounts.ScopeSelected, UserIDs: e.ids("anna"), Mode: mode}
		if mode == accounts.ResetDefault {
			in.DefaultPassword = "Rowan-Kettle-Harbour-9"
		} else {
			in.InvalidateCurrent = true
		}
		if _, err := e.svc.StartPasswordReset(context.Background(), e.admin, in); err != nil {
			t.Fatal(err)
		}
		e.run(t, 1)
		_, err := e.svc.Me(context.Background(), anna)
		wantCode(t, err, accounts.CodeUnauthorized)
		if u, _ := e.store.GetUser(context.Background(), "kpu", e.users["anna"].ID); !u.MustChangePassword {
			t.Errorf("%s: anna need not change her password", mode)
		}
	}
}

// dyingStore loses the first record of each batch, as a worker killed
// after applying its users and before recording them.
type dyingStore struct {
	accounts.Store
	mu   sync.Mutex
	seen map[string]bool
}

func (d *dyingStore) CompleteJobTask(ctx context.Context, tenantID, jobID string, r accounts.JobTaskResult) (accounts.Job, bool, error) {
	d.mu.Lock()
	first := strings.HasPrefix(r.Key, "B") && !d.seen[r.Key]
	d.seen[r.Key] = true
	d.mu.Unlock()
	if first {
		return accounts.Job{}, false, accounts.E(accounts.CodeUnavailable, "killed")
	}
	return d.Store.CompleteJobTask(ctx, tenantID, jobID, r)
}

func TestAWorkerKilledMidBatch(t *testing.T) {
	t.Parallel()
	e := newResetEnv(t)
	e.svc = accounts.NewService(accounts.Deps{
		Store: &dyingStore{Store: e.store, seen: map[string]bool{}}, Hasher: e.hasher, Clock: e.clock.Now, Mailer: e.box, Notices: e.notices, Jobs: e.jobs, Wait: e.clock.Wait, Logger: e.logger(),
	}, accounts.Config{ResetPageURL: "https://accounts.example.org/reset"})
	j, err := e.svc.StartPasswordReset(context.Background(), e.admin, accounts.PasswordResetInput{Scope: accounts.ScopeNoRole, Mode: accounts.ResetTemporary})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ts := e.jobs.take()
		if len(ts) == 0 {
			break
		}
		for _, task := range ts {
			if err := e.svc.RunJobTask(context.Background(), task); err != nil {
				// SQS brings the message back.
				if err := e.svc.RunJobTask(context.Background(), task); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	e.deliver(t, e.svc)
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCompleted || got.Changed != 2 || got.NoEmail != 2 || got.NoticesSent != 2 {
		t.Errorf("job %s changed %d no_email %d sent %d, want completed 2 2 2", got.Status, got.Changed, got.NoEmail, got.NoticesSent)
	}
	mails := map[string]int{}
	for _, m := range e.box.sent {
		mails[m.To]++
	}
	if mails["anna@kpu.example"] != 1 || mails["cara@kpu.example"] != 1 {
		t.Errorf("mails %v, want one each to anna and cara", mails)
	}
}
