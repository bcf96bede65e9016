package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/costmodel"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/lambdaemu"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
	"github.com/libaccounts/libaccounts/internal/sdkmeter"
)

// BenchmarkCost drives, through one local stack with the template's own
// settings, each operation a library's month is made of, and reads what
// each cost from the functions' own meter lines (sdkmeter's EMF: requests
// per service and API, DynamoDB's consumed units, writes per partition
// key), the local Lambda's invocation durations and the gateway's request
// log. It prints a table per operation, every binary's deployed size and
// init time, and the hottest partition key of an import and a bulk reset
// of LIBACCOUNTS_COST_SCALE_USERS users; with LIBACCOUNTS_COST_OUT set it
// writes the figures (costmodel.Measured) there, which cmd/costdoc turns
// into docs/COST.md.
//
// Shorter runs: LIBACCOUNTS_COST_ROWS (rows, set members and reset users
// measured per operation, default 100), LIBACCOUNTS_COST_SAMPLES (repeats
// of a single request, default 3), LIBACCOUNTS_COST_SCALE_USERS (default
// 100000; 0 skips the scale runs).
func BenchmarkCost(b *testing.B) {
	rows := envInt(b, "LIBACCOUNTS_COST_ROWS", 100)
	samples := envInt(b, "LIBACCOUNTS_COST_SAMPLES", 3)
	scaleUsers := envInt(b, "LIBACCOUNTS_COST_SCALE_USERS", 100000)
	if _, err := dynamodblocal.Ensure(context.Background()); err != nil {
		ddbtest.TestClient(b)
	}
	root, err := samtemplate.FindRepoRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	logs := &meterLog{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: b.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		FunctionEnv: map[string]string{"METER_KEYS": "1"},
		// The template's visibility timeouts, as on AWS: see BenchmarkLinkReset.
		VisibilityCap: 15 * time.Minute,
	})
	if err != nil {
		b.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.tail())
	}
	b.Cleanup(st.Close)
	cb := newCostBench(b, st, tpl, logs)
	b.ResetTimer()

	measured := costmodel.Measured{MeasuredAt: time.Now().UTC().Truncate(time.Second), Commit: gitCommit(root),
		Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())}
	measured.Operations = cb.operations(rows, samples)
	printOperations(measured.Operations)
	if scaleUsers > 0 {
		measured.Scale = append(measured.Scale, cb.scaleImport(scaleUsers), cb.scaleReset(scaleUsers))
		printScale(measured.Scale)
	}
	measured.Functions = cb.functions(root)
	printFunctions(measured.Functions)
	b.StopTimer()

	if out := os.Getenv("LIBACCOUNTS_COST_OUT"); out != "" {
		if !filepath.IsAbs(out) {
			out = filepath.Join(root, out)
		}
		data, err := json.MarshalIndent(measured, "", "  ")
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("cost: figures written to %s\n", out)
	}
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q is not a whole number", name, v)
	}
	return n
}

// meterLog is the stack's log: it keeps the functions' meter lines and
// counts the gateway's request lines as they arrive, and the last of the
// rest for error messages, so that a long run does not hold every line.
type meterLog struct {
	mu       sync.Mutex
	partial  []byte
	lines    []meterLine
	requests int // HTTP API requests the gateway served
	last     []byte
}

type meterLine struct {
	at time.Time
	sdkmeter.Line
}

func (l *meterLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	l.partial = slices.Clone(l.partial)
	return len(p), nil
}

func (l *meterLog) line(line []byte) {
	// A function's lines are prefixed "[LogicalId] " by lambdaemu.
	if j := bytes.Index(line, []byte("] {")); j > 0 && line[0] == '[' {
		if m, ok := sdkmeter.ParseLine(line[j+2:]); ok {
			l.lines = append(l.lines, meterLine{time.Now(), m})
			return
		}
	}
	if bytes.Contains(line, []byte(`msg="http api request"`)) {
		l.requests++
	}
	l.last = append(l.last, line...)
	l.last = append(l.last, '\n')
	if len(l.last) > 64<<10 {
		l.last = slices.Clone(l.last[len(l.last)-32<<10:])
	}
}

func (l *meterLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.last)
}

// mark is where a measurement window starts.
type mark struct {
	lines, requests int
	stats           map[string]lambdaemu.FunctionStats
}

type costBench struct {
	b         *testing.B
	st        *stack.Stack
	tpl       *samtemplate.Template
	logs      *meterLog
	anon      client
	store     *dynamostore.Store
	queues    []string
	scheduled map[string]bool // functions that run on a timer: never an operation's
	routes    map[string]bool // functions behind an HTTP API route
	seq       int
}

func newCostBench(b *testing.B, st *stack.Stack, tpl *samtemplate.Template, logs *meterLog) *costBench {
	db, err := dynamodblocal.NewClient(context.Background(), st.DynamoEndpoint)
	if err != nil {
		b.Fatal(err)
	}
	cb := &costBench{b: b, st: st, tpl: tpl, logs: logs, anon: client{tb: b, base: st.APIURL}, store: dynamostore.New(db, stack.TableName),
		scheduled: map[string]bool{}, routes: map[string]bool{}}
	for _, q := range tpl.Queues() {
		cb.queues = append(cb.queues, q.LogicalID)
	}
	// SNS deliveries (SES's events) reach their functions through a queue
	// of the stack's own per subscriber (pipeline.go's snsEventQueue).
	for _, t := range tpl.SNSTriggers() {
		cb.queues = append(cb.queues, "snsevents-"+t.Function)
	}
	for _, q := range cb.queues {
		if _, _, err := st.QueueStats(q); err != nil {
			b.Fatalf("the bench waits on queue %s: %v", q, err)
		}
	}
	sched, err := tpl.ScheduleTriggers()
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sched {
		cb.scheduled[s.Function] = true
	}
	for _, r := range tpl.Routes() {
		cb.routes[r.Function] = true
	}
	return cb
}

func (cb *costBench) begin() mark {
	cb.settle()
	cb.logs.mu.Lock()
	defer cb.logs.mu.Unlock()
	return mark{lines: len(cb.logs.lines), requests: cb.logs.requests, stats: cb.st.LambdaStats()}
}

// settle waits until the work an operation set off has ended: every queue
// empty and nothing answered, logged or sent through the gateway for a
// while (SES's delivery events follow a send by about a second).
func (cb *costBench) settle() {
	const quiet = 2500 * time.Millisecond
	deadline := time.Now().Add(30 * time.Minute)
	last, lastChange, report := "", time.Now(), time.Now().Add(30*time.Second)
	for time.Now().Before(deadline) {
		busy := 0
		queued := ""
		for _, q := range cb.queues {
			v, f, err := cb.st.QueueStats(q)
			if err == nil && v+f > 0 {
				busy += v + f
				queued += fmt.Sprintf(" %s %d+%d in flight", q, v, f)
			}
		}
		if time.Now().After(report) {
			fmt.Fprintf(os.Stderr, "cost: waiting for the stack to settle:%s; last change %v ago\n", queued, time.Since(lastChange).Round(time.Second))
			report = time.Now().Add(30 * time.Second)
		}
		cb.logs.mu.Lock()
		state := fmt.Sprint(busy, len(cb.logs.lines), cb.logs.requests)
		cb.logs.mu.Unlock()
		answered := 0
		for name, s := range cb.st.LambdaStats() {
			if !cb.scheduled[name] {
				answered += s.Invocations
			}
		}
		state += fmt.Sprint(" ", answered)
		if state != last {
			last, lastChange = state, time.Now()
		} else if busy == 0 && time.Since(lastChange) >= quiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	cb.b.Fatalf("the stack did not settle; its last logs:\n%s", cb.logs.tail())
}

// window is what the functions did between a mark and now (once settled).
type window struct {
	lines    []meterLine
	requests int
	stats    map[string]lambdaemu.FunctionStats
}

func (cb *costBench) end(m mark) window {
	cb.settle()
	cb.logs.mu.Lock()
	w := window{lines: slices.Clone(cb.logs.lines[m.lines:]), requests: cb.logs.requests - m.requests, stats: map[string]lambdaemu.FunctionStats{}}
	cb.logs.mu.Unlock()
	for name, s := range cb.st.LambdaStats() {
		if d := s.Sub(m.stats[name]); d.Invocations > 0 && !cb.scheduled[name] {
			w.stats[name] = d
		}
	}
	return w
}

// operation states a window's figures per one of n.
func (cb *costBench) operation(w window, key, name string, n int) costmodel.Operation {
	op := costmodel.Operation{Key: key, Name: name, Samples: n, APIRequests: float64(w.requests) / float64(n),
		Invocations: map[string]float64{}, DurationMs: map[string]float64{}, MemoryMB: map[string]int{}, Requests: map[string]map[string]float64{}}
	lines := map[string]int{}
	for _, l := range w.lines {
		if cb.scheduled[l.Function] {
			continue
		}
		lines[l.Function]++
		for svc, apis := range l.Requests {
			if op.Requests[svc] == nil {
				op.Requests[svc] = map[string]float64{}
			}
			for api, k := range apis {
				op.Requests[svc][api] += float64(k) / float64(n)
			}
		}
		op.ReadUnits += l.ReadUnits / float64(n)
		op.WriteUnits += l.WriteUnits / float64(n)
	}
	for fn, s := range w.stats {
		op.Invocations[fn] = float64(s.Invocations) / float64(n)
		op.DurationMs[fn] = ms(s.MeanDuration())
		op.MemoryMB[fn] = s.MemoryMB
		if lines[fn] != s.Invocations {
			// Every invocation ends with its meter line, so a difference is
			// a function that crashed or timed out: a bench bug to look at.
			fmt.Fprintf(os.Stderr, "cost: %s: %s answered %d invocations but wrote %d meter lines\n", key, fn, s.Invocations, lines[fn])
		}
	}
	fmt.Fprintf(os.Stderr, "cost: measured %s (%d)\n", key, n)
	return op
}

// measure runs do (n times the operation) in a window of its own.
func (cb *costBench) measure(key, name string, n int, do func()) costmodel.Operation {
	m := cb.begin()
	do()
	return cb.operation(cb.end(m), key, name, n)
}

type patron struct {
	id, username, password, barcode, email string
	version                                int
}

// patron creates an account through the API, as staff do.
func (cb *costBench) patron(admin client) patron {
	cb.seq++
	p := patron{username: fmt.Sprintf("patron%04d", cb.seq), password: fmt.Sprintf("cost bench passphrase %04d", cb.seq),
		barcode: fmt.Sprintf("2100%06d", cb.seq), email: fmt.Sprintf("success+cost%d@simulator.amazonses.com", cb.seq)}
	status, body := admin.do("POST", "/v1/admin/users", map[string]any{"username": p.username, "password": p.password, "barcode": p.barcode, "email": p.email})
	want(cb.b, "create "+p.username, status, 201, body)
	u := body["user"].(map[string]any)
	p.id = u["id"].(string)
	p.version = int(u["version"].(float64))
	return p
}

// users writes n accounts of tenant straight to the store: setting up a
// measurement, not part of it.
func (cb *costBench) users(tenant, prefix string, n int) {
	now := time.Now().UTC()
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			return cb.store.CreateUser(context.Background(), accounts.User{TenantID: tenant, ID: benchUserID(), Username: fmt.Sprintf("%s.%06d", prefix, i),
				Email: fmt.Sprintf("success+%s%d@simulator.amazonses.com", prefix, i), PrimaryID: fmt.Sprintf("%s%06d", strings.ToUpper(prefix[:1]), i),
				Status: accounts.StatusActive, PasswordHash: benchHashMarker, Roles: []string{}, CreatedAt: now, UpdatedAt: now, Version: 1}, nil)
		})
	}
	if err := g.Wait(); err != nil {
		cb.b.Fatal(err)
	}
}

// importFile starts an import through the API and uploads body, and
// returns the job id; the caller settles before reading the job.
func (cb *costBench) importFile(admin client, in map[string]any, body string) string {
	status, started := admin.do("POST", "/v1/admin/imports", in)
	want(cb.b, "start import", status, 201, started)
	putFile(cb.b, started["uploadUrl"].(string), body)
	return started["importId"].(string)
}

func (cb *costBench) jobDone(admin client, path string, wantCounts map[string]float64) {
	status, job := admin.do("GET", path, nil)
	want(cb.b, "read job", status, 200, job)
	counts, _ := job["counts"].(map[string]any)
	for k, v := range wantCounts {
		if counts[k] != v {
			cb.b.Fatalf("job %s: %v, want %s = %v; the stack's last logs:\n%s", path, job, k, v, cb.logs.tail())
		}
	}
}

func (cb *costBench) operations(rows, samples int) []costmodel.Operation {
	b := cb.b
	admin := cb.anon.login("kpu", "admin", adminPassword)
	status, body := admin.do("PATCH", "/v1/admin/settings", map[string]any{"staffPasswordsMustChange": false})
	want(b, "patrons keep the password staff set", status, 200, body)
	pool := make([]patron, 0, 6*samples)
	for range 6 * samples {
		pool = append(pool, cb.patron(admin))
	}
	next := 0
	take := func(n int) []patron { next += n; return pool[next-n : next] }
	// Each sample signs in afresh before its window: with one token the
	// authorizer's 30-second cache would answer all but the first, and a
	// patron's visit is one sign-in and a few requests, not dozens.
	logins := func(ps []patron) []client {
		var cs []client
		for _, p := range ps {
			cs = append(cs, cb.anon.login("kpu", p.username, p.password))
		}
		return cs
	}
	var ops []costmodel.Operation

	ps := take(samples)
	ops = append(ops, cb.measure("login_ok", "sign-in (success)", samples, func() {
		for _, p := range ps {
			cb.anon.login("kpu", p.username, p.password)
		}
	}))
	ops = append(ops, cb.measure("login_fail", "sign-in (wrong password)", samples, func() {
		for _, p := range ps {
			status, body := cb.anon.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": p.username, "password": "not the password"})
			want(b, "wrong password", status, 401, body)
		}
	}))
	cs := logins(ps)
	ops = append(ops, cb.measure("me", "GET /v1/me", samples, func() {
		for _, c := range cs {
			status, body := c.do("GET", "/v1/me", nil)
			want(b, "me", status, 200, body)
		}
	}))
	var admins []client
	for range samples {
		admins = append(admins, cb.anon.login("kpu", "admin", adminPassword))
	}
	edited := take(samples)
	ops = append(ops, cb.measure("staff_edit", "staff edit of an account", samples, func() {
		for i, p := range edited {
			status, body := admins[i].do("PATCH", "/v1/admin/users/"+p.id, map[string]any{"email": "success+edited" + p.username + "@simulator.amazonses.com", "version": p.version})
			want(b, "staff edit", status, 200, body)
		}
	}))
	noticed := take(samples)
	admins = admins[:0]
	for range samples {
		admins = append(admins, cb.anon.login("kpu", "admin", adminPassword))
	}
	ops = append(ops, cb.measure("notice", "a notice (staff send a reset link: request, queue, worker, SES, delivery event)", samples, func() {
		for i, p := range noticed {
			status, body := admins[i].do("POST", "/v1/admin/users/"+p.id+"/password", map[string]any{"sendResetLink": true})
			want(b, "send a reset link", status, 200, body)
		}
	}))
	forgot := take(samples)
	ops = append(ops, cb.measure("forgot_password", "forgot-password request (and its recovery worker)", samples, func() {
		for _, p := range forgot {
			a := askRecovery(b, cb.st.APIURL, "/v1/auth/forgot-password", map[string]string{"tenant": "kpu", "identifier": p.username})
			if a.status != 202 {
				b.Fatalf("forgot password: %d %s", a.status, a.body)
			}
		}
	}))
	parents, kids := take(samples), take(samples)
	pcs, kcs := logins(parents), logins(kids)
	ops = append(ops, cb.measure("link", "a link (share phrase + connect)", samples, func() {
		for i := range parents {
			status, body := pcs[i].do("POST", "/v1/me/share-phrases", map[string]string{"direction": "one_way"})
			want(b, "share phrase", status, 201, body)
			status, body = kcs[i].do("POST", "/v1/me/links", map[string]string{"barcode": parents[i].barcode, "phrase": body["phrase"].(string)})
			want(b, "connect", status, 201, body)
		}
	}))
	now := time.Now().UTC()
	for _, p := range parents {
		status, body := admin.do("POST", "/v1/admin/users/"+p.id+"/checkouts", map[string]any{
			"id": "loan-1", "title": "A loan", "itemBarcode": "31000" + p.barcode, "checkedOutAt": now.Add(-20 * 24 * time.Hour), "dueAt": now.Add(24 * time.Hour)})
		want(b, "feed a checkout", status, 201, body)
	}
	pcs = logins(parents)
	ops = append(ops, cb.measure("renewal", "a renewal", samples, func() {
		for i, p := range parents {
			status, body := pcs[i].do("POST", "/v1/patrons/"+p.id+"/checkouts/loan-1/renew", nil)
			want(b, "renew", status, 200, body)
		}
	}))

	// Per row and per user: a file (or a reset) of rows, divided.
	var lp, ext strings.Builder
	ext.WriteString("username,password,email,barcode,primaryId\r\n")
	for i := range rows {
		fmt.Fprintf(&lp, "lp%05d,library card number %05d\r\n", i, i)
		fmt.Fprintf(&ext, "ext%05d,library card number %05d,success+ext%d@simulator.amazonses.com,2200%06d,E%06d\r\n", i, i, i, i, i)
	}
	var id string
	ops = append(ops, cb.measure("import_row_librarypass", "one imported row (a LibraryPass-style two-column file)", rows, func() {
		id = cb.importFile(admin, map[string]any{"kind": "users"}, lp.String())
	}))
	cb.jobDone(admin, "/v1/admin/imports/"+id, map[string]float64{"created": float64(rows)})
	ops = append(ops, cb.measure("import_row_plaintext", "one imported row (an Extended file with plaintext passwords, e-mail, barcode and primary ID)", rows, func() {
		id = cb.importFile(admin, map[string]any{"kind": "users"}, ext.String())
	}))
	cb.jobDone(admin, "/v1/admin/imports/"+id, map[string]float64{"created": float64(rows)})
	var set strings.Builder
	set.WriteString("Primary ID\r\n")
	for i := range rows {
		fmt.Fprintf(&set, "E%06d\r\n", i)
	}
	ops = append(ops, cb.measure("set_member", "one set member (an Alma-style set of primary IDs)", rows, func() {
		id = cb.importFile(admin, map[string]any{"kind": "set", "setName": "Cost bench set"}, set.String())
	}))
	cb.jobDone(admin, "/v1/admin/imports/"+id, map[string]float64{"added": float64(rows)})

	// Bulk resets of a library of rows users, in each mode.
	bootstrapTenant(b, cb.st, "rst")
	cb.users("rst", "reset", rows)
	resetAdmin := cb.anon.login("rst", "admin", adminPassword)
	for _, mode := range []string{accounts.ResetLink, accounts.ResetTemporary, accounts.ResetDefault} {
		in := map[string]any{"scope": "all", "mode": mode}
		if mode == accounts.ResetDefault {
			in["defaultPassword"] = "spring term default passphrase"
		}
		ops = append(ops, cb.measure("reset_user_"+mode, "one user of a bulk reset ("+mode+" mode)", rows, func() {
			status, body := resetAdmin.do("POST", "/v1/admin/password-resets", in)
			want(b, "start reset", status, 202, body)
			id, _ = body["jobId"].(string)
		}))
		cb.jobDone(resetAdmin, "/v1/admin/jobs/"+id, map[string]float64{"changed": float64(rows)})
	}
	return ops
}

// scaleImport imports a file of users rows and reads its hottest key. The
// file carries argon2id hashes (a migration): with no hashing the chunk
// tasks are at their shortest, so their write rate at their highest.
func (cb *costBench) scaleImport(users int) costmodel.ScaleRun {
	admin := cb.anon.login("kpu", "admin", adminPassword)
	hash, err := passhash.New(passhash.DefaultParams()).Hash("migrated passphrase of the scale run")
	if err != nil {
		cb.b.Fatal(err)
	}
	var f strings.Builder
	f.WriteString("username,email,barcode,primaryId,passwordHash\r\n")
	for i := range users {
		// A PHC string holds commas ("m=19456,t=2,p=1"): quoted.
		fmt.Fprintf(&f, "scale%07d,success+scale%d@simulator.amazonses.com,2300%07d,S%07d,\"%s\"\r\n", i, i, i, i, hash)
	}
	var id string
	start := time.Now()
	m := cb.begin()
	id = cb.importFile(admin, map[string]any{"kind": "users"}, f.String())
	w := cb.end(m)
	fmt.Fprintf(os.Stderr, "cost: scale import of %d users in %v\n", users, time.Since(start).Round(time.Second))
	cb.jobDone(admin, "/v1/admin/imports/"+id, map[string]float64{"created": float64(users)})
	return cb.scaleRun(w, "import", users, "ChunkQueue")
}

// scaleReset resets every user of a library of users in link mode.
func (cb *costBench) scaleReset(users int) costmodel.ScaleRun {
	bootstrapTenant(cb.b, cb.st, "scl")
	cb.users("scl", "scale", users)
	admin := cb.anon.login("scl", "admin", adminPassword)
	var id string
	start := time.Now()
	m := cb.begin()
	status, body := admin.do("POST", "/v1/admin/password-resets", map[string]any{"scope": "all", "mode": "link"})
	want(cb.b, "start reset", status, 202, body)
	id, _ = body["jobId"].(string)
	w := cb.end(m)
	fmt.Fprintf(os.Stderr, "cost: scale reset of %d users in %v\n", users, time.Since(start).Round(time.Second))
	cb.jobDone(admin, "/v1/admin/jobs/"+id, map[string]float64{"changed": float64(users)})
	return cb.scaleRun(w, "reset", users, "JobQueue")
}

// scaleRun finds a run's hottest partition key and states its write rate
// at the template's maximum concurrency of the queue's worker: a task is
// one worker invocation, whose writes and duration were measured.
func (cb *costBench) scaleRun(w window, kind string, users int, queue string) costmodel.ScaleRun {
	var worker string
	maxConc := 0
	for _, t := range cb.tpl.SQSTriggers() {
		if t.Queue == queue {
			worker, maxConc = t.Function, t.MaxConcurrency
		}
	}
	if worker == "" {
		cb.b.Fatalf("no function consumes %s", queue)
	}
	perKey := map[string]int{}
	perKeySec := map[string]map[int64]int{}
	workerWrites := 0
	for _, l := range w.lines {
		for k, n := range l.KeyWrites {
			perKey[k] += n
			if perKeySec[k] == nil {
				perKeySec[k] = map[int64]int{}
			}
			perKeySec[k][l.at.Unix()] += n
			if l.Function == worker {
				workerWrites += n
			}
		}
	}
	hot := ""
	for k, n := range perKey {
		if n > perKey[hot] || (n == perKey[hot] && k < hot) {
			hot = k
		}
	}
	peak := 0
	for _, n := range perKeySec[hot] {
		peak = max(peak, n)
	}
	s := w.stats[worker]
	tasks := max(s.Invocations, 1)
	r := costmodel.ScaleRun{Kind: kind, Users: users, WritesPerTask: float64(workerWrites) / float64(tasks), UsersPerTask: users / tasks,
		HottestKey: redactKey(hot), HottestKeyWrites: perKey[hot], HottestKeyPeakPerSec: float64(peak), MaxConcurrency: maxConc,
		TaskMs: ms(s.MeanDuration())}
	r.HottestKeyWritesPerTask = float64(perKey[hot]) / float64(tasks)
	if r.TaskMs > 0 {
		r.HottestKeyPerSecAtMax = float64(maxConc) * r.HottestKeyWritesPerTask / (r.TaskMs / 1000)
		// The tasks, maxConc at a time, each as long as measured.
		r.AWSMinutesAtMax = float64(tasks) * r.TaskMs / float64(max(maxConc, 1)) / 60000
	}
	return r
}

// redactKey keeps a key's shape: its upper-case parts, the tenant and ids
// replaced ("T#<tenant>#JOB#<id>").
func redactKey(k string) string {
	parts := strings.Split(k, "#")
	for i, p := range parts {
		switch {
		case i == 1 && parts[0] == "T":
			parts[i] = "<tenant>"
		case len(p) == 7 && p[4] == '-' && strings.Trim(p, "0123456789-") == "":
			parts[i] = "<yyyy-mm>"
		case p != strings.ToUpper(p) || strings.ContainsAny(p, "0123456789") || p == "":
			parts[i] = "<id>"
		}
	}
	return strings.Join(parts, "#")
}

// functions builds every function as `make build` does, for its deployed
// size, and gives each the init time measured locally (instances started
// during the run; a function the run never called is invoked once).
func (cb *costBench) functions(root string) []costmodel.Function {
	dir := cb.b.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w -buildid=", "-o", dir+string(os.PathSeparator), "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		cb.b.Fatalf("build for linux/arm64: %v\n%s", err, out)
	}
	stats := cb.st.LambdaStats()
	for name, s := range stats {
		if s.Inits == 0 {
			// Init runs before the event is read: any payload measures it.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, _ = cb.st.Invoke(ctx, name, []byte("{}"))
			cancel()
		}
	}
	var out []costmodel.Function
	for name, s := range cb.st.LambdaStats() {
		fnDir, err := samtemplate.DirForLogicalID(name)
		if err != nil {
			cb.b.Error(err)
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.Base(fnDir)))
		if err != nil {
			cb.b.Error(err)
			continue
		}
		out = append(out, costmodel.Function{LogicalID: name, BinaryBytes: fi.Size(), InitMs: ms(s.MeanInit()), MemoryMB: s.MemoryMB})
	}
	slices.SortFunc(out, func(a, b costmodel.Function) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return out
}

func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "-dirty"
	}
	return c
}

func printOperations(ops []costmodel.Operation) {
	fmt.Println("cost per operation (per one; DynamoDB units are ConsumedCapacity TOTAL; duration is the mean per invocation at the template's MemorySize):")
	fmt.Printf("%-24s %5s %6s %-44s %7s %7s  %s\n", "operation", "n", "api", "requests", "RCU", "WCU", "invocations (mean ms @ MB)")
	for _, op := range ops {
		var reqs []string
		for _, svc := range slices.Sorted(maps.Keys(op.Requests)) {
			for _, api := range slices.Sorted(maps.Keys(op.Requests[svc])) {
				reqs = append(reqs, fmt.Sprintf("%s.%s %s", svc, api, num(op.Requests[svc][api])))
			}
		}
		var inv []string
		for _, fn := range slices.Sorted(maps.Keys(op.Invocations)) {
			inv = append(inv, fmt.Sprintf("%s %s (%.0fms @ %d)", strings.TrimSuffix(fn, "Function"), num(op.Invocations[fn]), op.DurationMs[fn], op.MemoryMB[fn]))
		}
		first := true
		for len(reqs) > 0 || first {
			r := ""
			if len(reqs) > 0 {
				r, reqs = reqs[0], reqs[1:]
			}
			i := ""
			if len(inv) > 0 {
				i, inv = inv[0], inv[1:]
			}
			if first {
				fmt.Printf("%-24s %5d %6s %-44s %7s %7s  %s\n", op.Key, op.Samples, num(op.APIRequests), r, num(op.ReadUnits), num(op.WriteUnits), i)
				first = false
			} else {
				fmt.Printf("%-24s %5s %6s %-44s %7s %7s  %s\n", "", "", "", r, "", "", i)
			}
		}
		for _, i := range inv {
			fmt.Printf("%-24s %5s %6s %-44s %7s %7s  %s\n", "", "", "", "", "", "", i)
		}
	}
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func printScale(runs []costmodel.ScaleRun) {
	for _, r := range runs {
		fmt.Printf("scale %s of %d users: %.0f writes and %d users per task (%.0f ms); hottest key %s: %d writes, %.2f per task, at most %.0f/s here; "+
			"at the template's %d concurrent workers %.0f writes/s on it (aim ≤ 300, a partition takes ~1000); %.1f minutes on AWS at that concurrency\n",
			r.Kind, r.Users, r.WritesPerTask, r.UsersPerTask, r.TaskMs, r.HottestKey, r.HottestKeyWrites, r.HottestKeyWritesPerTask, r.HottestKeyPeakPerSec,
			r.MaxConcurrency, r.HottestKeyPerSecAtMax, r.AWSMinutesAtMax)
	}
}

func printFunctions(fns []costmodel.Function) {
	fmt.Println("functions (linux/arm64 as `make build`; init = process start to the first /runtime/invocation/next, measured here):")
	var total int64
	var over []string
	for _, f := range fns {
		fmt.Printf("  %-36s %6.2f MB  init %5.1f ms  %4d MB\n", f.LogicalID, float64(f.BinaryBytes)/1e6, f.InitMs, f.MemoryMB)
		total += f.BinaryBytes
		if f.BinaryBytes > 12e6 || f.InitMs > 30 {
			over = append(over, f.LogicalID)
		}
	}
	fmt.Printf("  %d functions, %.1f MB in all; above 12 MB or 30 ms: %v\n", len(fns), float64(total)/1e6, over)
}
