package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

// verifyCounter counts the password checks the real hasher makes.
type verifyCounter struct {
	accounts.PasswordHasher
	verifies, dummies atomic.Int64
}

func (h *verifyCounter) Verify(pw, encoded string) (bool, bool, error) {
	h.verifies.Add(1)
	return h.PasswordHasher.Verify(pw, encoded)
}

func (h *verifyCounter) DummyVerify(pw string) {
	h.dummies.Add(1)
	h.PasswordHasher.DummyVerify(pw)
}

// callCounter is the real DynamoDB client, counting the requests the store
// makes by operation.
type callCounter struct {
	dynamostore.API
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.calls
	c.calls = nil
	return m
}

func (c *callCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.API.GetItem(ctx, in, o...)
}

func (c *callCounter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *callCounter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	return c.API.PutItem(ctx, in, o...)
}

func (c *callCounter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.API.Query(ctx, in, o...)
}

func (c *callCounter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.count("BatchGetItem")
	return c.API.BatchGetItem(ctx, in, o...)
}

func (c *callCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.count("TransactWriteItems")
	return c.API.TransactWriteItems(ctx, in, o...)
}

// lockEnv is a tenant with a patron, and a service over the fixture's
// table whose hasher and DynamoDB requests are counted.
type lockEnv struct {
	*fixture
	svc    *accounts.Service
	hasher *verifyCounter
	calls  *callCounter
	admin  accounts.Caller
	patron accounts.User
}

const patronPassword = "reading is fundamental"

func newLockEnv(tb testing.TB, throttle bool) *lockEnv {
	tb.Helper()
	f := newFixture(tb)
	e := &lockEnv{fixture: f, hasher: &verifyCounter{PasswordHasher: hasherFast()}, calls: &callCounter{API: f.db}}
	st := dynamostore.New(e.calls, f.table)
	deps := accounts.Deps{Store: st, Hasher: e.hasher, Clock: f.clock.Now, Wait: f.clock.Wait, Logger: f.logger(), Notices: f.notices, Mailer: &outbox{}}
	if throttle {
		deps.Throttle = st
	}
	e.svc = accounts.NewService(deps, accounts.Config{ResetPageURL: "https://accounts.example.org/reset"})
	e.admin = f.tenant(tb, "kpu")
	e.patron = f.user(tb, e.admin, accounts.CreateUserInput{Username: "patron", Email: "p@kpu.example", Password: patronPassword})
	e.calls.take()
	return e
}

func (e *lockEnv) try(username, password string) error {
	_, err := e.svc.Login(context.Background(), accounts.LoginInput{Tenant: "kpu", Username: username, Password: password})
	return err
}

func (e *lockEnv) stored(tb testing.TB) accounts.User {
	tb.Helper()
	u, err := e.store.GetUser(context.Background(), "kpu", e.patron.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// waitOutLock moves the clock just past the patron's lock, if one holds.
func (e *lockEnv) waitOutLock(tb testing.TB) {
	tb.Helper()
	if u := e.stored(tb); u.LockedAt(e.clock.Now()) {
		e.clock.Advance(u.LockedUntil.Sub(e.clock.Now()) + time.Millisecond)
	}
}

const wrong = "not the password at all"

func TestLockoutGrowsAndEnds(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	for range 5 {
		wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	}
	// Locked now: even the right password is refused, with the same answer.
	wantCode(t, e.try("patron", patronPassword), accounts.CodeUnauthorized)
	e.clock.Advance(31 * time.Second)
	// The lock ran out: one more wrong guess does not lock again.
	wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	if err := e.try("patron", patronPassword); err != nil {
		t.Fatalf("login after the lock ended and one more failure: %v", err)
	}
	// Success resets the count: four failures later it is still open.
	for range 4 {
		wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	}
	if err := e.try("patron", patronPassword); err != nil {
		t.Fatalf("login after four failures: %v", err)
	}
	if !strings.Contains(e.logs.String(), `"account locked"`) {
		t.Error("a lockout should be logged for the security team")
	}
}

// TestOneRequestPerLockPeriodCannotKeepAnAccountLocked is the probe's
// attack: five wrong guesses, then one each time the lock runs out. The
// account must be open between the attacker's requests, and the locks
// must come only every fifth failure, growing.
func TestOneRequestPerLockPeriodCannotKeepAnAccountLocked(t *testing.T) {
	t.Parallel()
	t.Run("the owner signs in between the guesses", func(t *testing.T) {
		t.Parallel()
		e := newLockEnv(t, false)
		for range 5 {
			wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
		}
		for i := range 50 {
			e.waitOutLock(t)
			wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
			e.clock.Advance(time.Second)
			if err := e.try("patron", patronPassword); err != nil {
				t.Fatalf("period %d: the owner is kept out: %v", i+1, err)
			}
		}
	})
	t.Run("nobody else signs in", func(t *testing.T) {
		t.Parallel()
		e := newLockEnv(t, false)
		for range 5 {
			wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
		}
		var lastLock time.Duration
		for i := range 50 {
			e.waitOutLock(t)
			wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
			u := e.stored(t)
			n := 6 + i
			if u.FailedLogins != n {
				t.Fatalf("after %d failures the count is %d", n, u.FailedLogins)
			}
			locked := u.LockedAt(e.clock.Now())
			if locked != (n%5 == 0) {
				t.Fatalf("after %d failures locked = %v", n, locked)
			}
			if locked {
				d := u.LockedUntil.Sub(e.clock.Now())
				if d < lastLock || d > 15*time.Minute {
					t.Fatalf("lock after %d failures is %v (the last was %v)", n, d, lastLock)
				}
				lastLock = d
			}
		}
		e.waitOutLock(t)
		if err := e.try("patron", patronPassword); err != nil {
			t.Fatalf("the owner after the attack: %v", err)
		}
	})
}

// TestConcurrentGuessesAreCountedBeforeTheyAreChecked: of 20 wrong
// guesses at once, at most the threshold reach argon2id.
func TestConcurrentGuessesAreCountedBeforeTheyAreChecked(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.try("patron", fmt.Sprintf("wrong guess number %d", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if c := accounts.ErrorCode(err); c != accounts.CodeUnauthorized && c != accounts.CodeUnavailable {
			t.Errorf("guess %d: %v", i, err)
		}
	}
	if n := e.hasher.verifies.Load(); n > 5 || n == 0 {
		t.Errorf("%d guesses were checked, want 1 to 5", n)
	}
	u := e.stored(t)
	if !u.LockedAt(e.clock.Now()) || u.FailedLogins != 5 {
		t.Errorf("after the burst: %d failures, locked until %v", u.FailedLogins, u.LockedUntil)
	}
	if want := e.clock.Now().Add(30 * time.Second); !u.LockedUntil.Equal(want) {
		t.Errorf("locked until %v, want %v (the lock the count implies)", u.LockedUntil, want)
	}
}

func TestFailuresDecayAfterAQuietPeriod(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	for range 4 {
		wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	}
	e.clock.Advance(time.Hour + time.Second)
	wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	if u := e.stored(t); u.FailedLogins != 1 || u.LockedAt(e.clock.Now()) {
		t.Fatalf("after a quiet hour: %d failures, locked until %v", u.FailedLogins, u.LockedUntil)
	}
	if err := e.try("patron", patronPassword); err != nil {
		t.Fatal(err)
	}
}

// fail100 fails the patron's sign-in 100 times in a row, waiting out each
// lock as a patient attacker would.
func (e *lockEnv) fail100(tb testing.TB) {
	tb.Helper()
	for range 100 {
		e.waitOutLock(tb)
		wantCode(tb, e.try("patron", wrong), accounts.CodeUnauthorized)
	}
}

func TestAHundredFailuresLockUntilStaffOrALinkOpenIt(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	ctx := context.Background()
	e.fail100(t)
	u := e.stored(t)
	if u.FailedLogins != 100 || !u.LockedUntil.Equal(accounts.LockedForGood) {
		t.Fatalf("after 100 failures: %d, locked until %v", u.FailedLogins, u.LockedUntil)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	wantCode(t, e.try("patron", patronPassword), accounts.CodeUnauthorized)
	e.admin = e.login(t, "kpu", "admin", adminPassword)

	// Staff see it and clear it.
	seen, err := e.svc.GetUser(ctx, e.admin, e.patron.ID)
	if err != nil || !seen.LockedAt(e.clock.Now()) || seen.FailedLogins != 100 {
		t.Fatalf("staff see %d failures, locked until %v (%v)", seen.FailedLogins, seen.LockedUntil, err)
	}
	if _, err := e.svc.UnlockUser(ctx, e.admin, e.patron.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.try("patron", patronPassword); err != nil {
		t.Fatalf("after staff unlocked: %v", err)
	}

	// Locked for good again, a reset link opens it.
	e.fail100(t)
	e.admin = e.login(t, "kpu", "admin", adminPassword)
	if _, err := e.svc.ResetPassword(ctx, e.admin, e.patron.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
		t.Fatal(err)
	}
	box := &outbox{}
	e.deliver(t, e.fixture.serviceWith(box))
	if err := e.svc.CompletePasswordReset(ctx, tokenIn(t, box.last(t).Text), "a new phrase after the lock"); err != nil {
		t.Fatalf("a valid link while locked for good: %v", err)
	}
	if err := e.try("patron", "a new phrase after the lock"); err != nil {
		t.Fatalf("after the link: %v", err)
	}
}

func TestUnlockIsStaffsAndAudited(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	ctx := context.Background()
	for range 5 {
		wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	}
	other := f2user(t, e)
	_, err := e.svc.UnlockUser(ctx, other, e.patron.ID)
	wantCode(t, err, accounts.CodeForbidden)
	_, err = e.svc.UnlockUser(ctx, e.admin, "nosuchuserxxxxxxxxxxxxxxxx")
	wantCode(t, err, accounts.CodeNotFound)

	for i := range 2 {
		u, err := e.svc.UnlockUser(ctx, e.admin, e.patron.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
			t.Errorf("call %d answers %d failures, locked until %v", i+1, u.FailedLogins, u.LockedUntil)
		}
	}
	if err := e.try("patron", patronPassword); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	page, err := e.svc.ListAudit(ctx, e.admin, accounts.AuditQuery{Action: accounts.ActionUserUnlock})
	if err != nil {
		t.Fatal(err)
	}
	// The second call had nothing to clear.
	if len(page.Events) != 1 || page.Events[0].TargetID != e.patron.ID || page.Events[0].ActorID != e.admin.UserID {
		t.Errorf("audit: %+v", page.Events)
	}
}

// f2user is a signed-in end user of the env's tenant.
func f2user(tb testing.TB, e *lockEnv) accounts.Caller {
	tb.Helper()
	e.user(tb, e.admin, accounts.CreateUserInput{Username: "reader", Password: "another fine passphrase"})
	return e.login(tb, "kpu", "reader", "another fine passphrase")
}

func TestALockedUserChangesTheirOwnPassword(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	ctx := context.Background()
	c := e.login(t, "kpu", "patron", patronPassword)
	for range 5 {
		wantCode(t, e.try("patron", wrong), accounts.CodeUnauthorized)
	}
	wantCode(t, e.try("patron", patronPassword), accounts.CodeUnauthorized)
	if err := e.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: patronPassword, NewPassword: "my own new passphrase"}); err != nil {
		t.Fatalf("a locked user's own change: %v", err)
	}
	// A new password ends the lock the old one drew.
	if err := e.try("patron", "my own new passphrase"); err != nil {
		t.Fatal(err)
	}
}

// TestGuessingThroughAStolenSessionEndsIt: wrong current passwords count
// on the account, and the one that locks it also signs the caller out.
func TestGuessingThroughAStolenSessionEndsIt(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	ctx := context.Background()
	c := e.login(t, "kpu", "patron", patronPassword)
	owner := e.login(t, "kpu", "patron", patronPassword)
	for i := range 4 {
		err := e.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: fmt.Sprintf("guess %d of the thief", i), NewPassword: "the thief's passphrase"})
		wantCode(t, err, accounts.CodeInvalid)
	}
	err := e.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: "guess 4 of the thief", NewPassword: "the thief's passphrase"})
	wantCode(t, err, accounts.CodeUnauthorized)
	if !strings.Contains(accounts.PublicMessage(err), "signed out") {
		t.Errorf("the refusal does not say the session ended: %q", accounts.PublicMessage(err))
	}
	_, err = e.svc.Me(ctx, c)
	wantCode(t, err, accounts.CodeUnauthorized)
	if e.hasher.verifies.Load() != 5 {
		t.Errorf("%d checks, want 5", e.hasher.verifies.Load())
	}
	// The owner's own session is not the thief's: it goes on, and the
	// account is locked against sign-in.
	if _, err := e.svc.Me(ctx, owner); err != nil {
		t.Errorf("the owner's other session: %v", err)
	}
	wantCode(t, e.try("patron", patronPassword), accounts.CodeUnauthorized)
}

func TestAnUnknownNameIsCountedAndLocksToo(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, false)
	for range 5 {
		wantCode(t, e.try("nobody", wrong), accounts.CodeUnauthorized)
	}
	e.calls.take()
	wantCode(t, e.try("Nobody", wrong), accounts.CodeUnauthorized)
	if got := e.calls.take(); got["UpdateItem"] != 0 {
		t.Errorf("a locked ghost counter was counted again: %v", got)
	}
	// Like an account, it opens when the lock runs out.
	e.clock.Advance(31 * time.Second)
	wantCode(t, e.try("nobody", wrong), accounts.CodeUnauthorized)
	if got := e.calls.take(); got["UpdateItem"] != 1 {
		t.Errorf("after the ghost's lock: %v", got)
	}
	// The real account next door was not touched.
	if u := e.stored(t); u.FailedLogins != 0 {
		t.Errorf("the patron has %d failures", u.FailedLogins)
	}
}

// TestSignInDoesTheSameWorkWhetherOrNotTheNameExists counts the DynamoDB
// requests and password checks of each kind of refusal: they must be the
// same, so that timing does not tell names apart.
func TestSignInDoesTheSameWorkWhetherOrNotTheNameExists(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, true)
	type work struct {
		calls     map[string]int
		verifies  int64
		dummyRuns int64
	}
	measure := func(tenant, username string) work {
		e.calls.take()
		v, d := e.hasher.verifies.Load(), e.hasher.dummies.Load()
		_, err := e.svc.Login(context.Background(), accounts.LoginInput{Tenant: tenant, Username: username, Password: wrong, SourceIP: "198.51.100.7"})
		wantCode(t, err, accounts.CodeUnauthorized)
		return work{e.calls.take(), e.hasher.verifies.Load() - v, e.hasher.dummies.Load() - d}
	}
	want := measure("kpu", "patron")
	if want.verifies+want.dummyRuns != 1 {
		t.Fatalf("a wrong password ran %d checks", want.verifies+want.dummyRuns)
	}
	for _, c := range []struct{ name, tenant, username string }{
		{"unknown user", "kpu", "nobody"},
		{"unknown tenant", "zzz", "patron"},
	} {
		got := measure(c.tenant, c.username)
		if fmt.Sprint(got.calls) != fmt.Sprint(want.calls) || got.verifies+got.dummyRuns != 1 {
			t.Errorf("%s: %v and %d checks; an existing account: %v", c.name, got.calls, got.verifies+got.dummyRuns, want.calls)
		}
	}
	t.Logf("store work of a refused sign-in: %v", want.calls)
}

func TestOneSourceIsThrottledBeforeAnyAccount(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, true)
	ctx := context.Background()
	attempt := func(ip, username, password string) error {
		_, err := e.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: username, Password: password, SourceIP: ip})
		return err
	}
	// A spray: one guess at each of many names, from one address.
	for i := range 100 {
		wantCode(t, attempt("203.0.113.9", fmt.Sprintf("name%d", i), wrong), accounts.CodeUnauthorized)
	}
	v, d := e.hasher.verifies.Load(), e.hasher.dummies.Load()
	err := attempt("203.0.113.9", "patron", patronPassword)
	wantCode(t, err, accounts.CodeTooManyRequests)
	var ce *accounts.Error
	if !errors.As(err, &ce) || ce.RetryAfter <= 0 || ce.RetryAfter > 15*time.Minute {
		t.Errorf("retry after %v", ce)
	}
	if e.hasher.verifies.Load() != v || e.hasher.dummies.Load() != d {
		t.Error("a throttled attempt was checked")
	}
	if u := e.stored(t); u.FailedLogins != 0 {
		t.Errorf("the throttled attempt counted on the account: %d", u.FailedLogins)
	}
	// Other addresses are not held up, and the window ends.
	if err := attempt("203.0.113.10", "patron", patronPassword); err != nil {
		t.Fatalf("another address: %v", err)
	}
	e.clock.Advance(15 * time.Minute)
	if err := attempt("203.0.113.9", "patron", patronPassword); err != nil {
		t.Fatalf("the next window: %v", err)
	}
}

// TestASharedAddressSignsInAllDay: a branch's public terminals share one
// address; its patrons' successful sign-ins must never add up to a
// refusal. Only failures count against a source.
func TestASharedAddressSignsInAllDay(t *testing.T) {
	t.Parallel()
	e := newLockEnv(t, true)
	ctx := context.Background()
	for i := range 150 {
		if _, err := e.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "patron", Password: patronPassword, SourceIP: "198.51.100.7"}); err != nil {
			t.Fatalf("sign-in %d from the branch: %v", i+1, err)
		}
	}
	_, err := e.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "patron", Password: wrong, SourceIP: "198.51.100.7"})
	wantCode(t, err, accounts.CodeUnauthorized)
}
