package accounts_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// clock is an injectable time source: expiry and lockout are tested by
// moving it, never by sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Wait is the clock's timer: it returns once d has passed, by moving the
// clock on by d, so pacing is tested without sleeping.
func (c *clock) Wait(_ context.Context, d time.Duration) error {
	c.Advance(d)
	return nil
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fastParams keep argon2id real but cheap, so the suite stays quick; the
// production cost is measured by make bench instead.
var fastParams = passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type fixture struct {
	svc     *accounts.Service
	store   *dynamostore.Store
	clock   *clock
	logs    *syncBuffer
	table   string
	notices *noticeQueue // what serviceWith's services queue
	db      *dynamodb.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newFixture gives each test its own DynamoDB Local table, so tests can run
// in parallel and never see each other's data.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	f := &fixture{store: dynamostore.New(client, table), clock: &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}, table: table, notices: &noticeQueue{}, db: client}
	f.svc = f.service(fastParams)
	return f
}

// service builds another service over the same table, e.g. with other hashing
// parameters.
func (f *fixture) service(p passhash.Params) *accounts.Service {
	return f.build(p, nil)
}

// serviceWith is the fixture's service with a mailer and the fixture's
// notice queue.
func (f *fixture) serviceWith(m accounts.Mailer) *accounts.Service { return f.build(fastParams, m) }

func hasherFast() *passhash.Hasher { return passhash.New(fastParams) }

func (f *fixture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (f *fixture) build(p passhash.Params, m accounts.Mailer) *accounts.Service {
	var q accounts.NoticeQueue
	if m != nil {
		q = f.notices
	}
	return accounts.NewService(accounts.Deps{
		Store: f.store, Hasher: passhash.New(p), Clock: f.clock.Now, Mailer: m, Notices: q, Wait: f.clock.Wait,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, accounts.Config{SessionAbsoluteTTL: 12 * time.Hour, SessionIdleTTL: 30 * time.Minute, ResetPageURL: "https://accounts.example.org/reset"})
}

const adminPassword = "correct horse battery staple"

// tenant bootstraps a tenant with an admin and returns the admin's caller.
func (f *fixture) tenant(tb testing.TB, id string) accounts.Caller {
	tb.Helper()
	ctx := context.Background()
	if _, err := f.svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: id, TenantName: id + " library", AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
		tb.Fatalf("bootstrap %s: %v", id, err)
	}
	return f.login(tb, id, "admin", adminPassword)
}

func (f *fixture) login(tb testing.TB, tenant, username, password string) accounts.Caller {
	tb.Helper()
	res, err := f.svc.Login(context.Background(), accounts.LoginInput{Tenant: tenant, Username: username, Password: password})
	if err != nil {
		tb.Fatalf("login %s/%s: %v", tenant, username, err)
	}
	return callerOf(tb, f.svc, res.Token)
}

func callerOf(tb testing.TB, svc *accounts.Service, token string) accounts.Caller {
	tb.Helper()
	auth, err := svc.Authorize(context.Background(), token)
	if err != nil {
		tb.Fatalf("authorize fresh token: %v", err)
	}
	return auth.Caller
}

// user creates an end user with a staff-chosen password.
func (f *fixture) user(tb testing.TB, admin accounts.Caller, in accounts.CreateUserInput) accounts.User {
	tb.Helper()
	if in.Password == "" && !in.GeneratePassword {
		in.Password = "a perfectly fine passphrase"
	}
	out, err := f.svc.CreateUser(context.Background(), admin, in)
	if err != nil {
		tb.Fatalf("create user %q: %v", in.Username, err)
	}
	return out.User
}

func wantCode(tb testing.TB, err error, code accounts.Code) {
	tb.Helper()
	if got := accounts.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// noticeQueue is the notice queue as a slice: the test plays the worker,
// delivering messages once, twice, or not at all.
type noticeQueue struct {
	mu   sync.Mutex
	msgs []queuedNotice
	fail error // the next Enqueue fails with it
}

type queuedNotice struct {
	ref   accounts.NoticeRef
	delay time.Duration
}

func (q *noticeQueue) Enqueue(_ context.Context, ref accounts.NoticeRef, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.fail; err != nil {
		q.fail = nil
		return err
	}
	q.msgs = append(q.msgs, queuedNotice{ref, delay})
	return nil
}

func (q *noticeQueue) take() []queuedNotice {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs
	q.msgs = nil
	return m
}

// deliver hands every queued notice message to svc until none is left,
// as the notices-worker does; a message that asks to come back fails the
// test.
func (f *fixture) deliver(tb testing.TB, svc *accounts.Service) {
	tb.Helper()
	for {
		msgs := f.notices.take()
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if err := svc.DeliverNotice(context.Background(), m.ref); err != nil {
				tb.Fatalf("deliver notice %s: %v", m.ref.NoticeID, err)
			}
		}
	}
}
