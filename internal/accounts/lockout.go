package accounts

import (
	"context"
	"fmt"
	"time"
)

// Sign-in lockout, after NIST SP 800-63B-4 §3.2.2 and what Cognito and
// Keycloak do. Failures are counted before the password is checked
// (reserve, then verify), so however many guesses run at once no more than
// lockoutThreshold are checked per lock. Every lockoutThreshold-th
// consecutive failure locks the account, for a time that doubles each time
// up to 30 base locks (30 s to 15 min by default). The count restarts after
// a quiet period without failures, so the hard cap of lockoutCap consecutive
// failures — after which only staff or a reset link open the account — is
// reached only by a sustained attack. A lock that ends leaves the count
// where it was: one more wrong guess does not lock again (the next lock is
// lockoutThreshold failures later), so one request per lock period cannot
// keep an account locked.
const (
	lockoutThreshold = 5
	// lockoutCap is NIST's limit of consecutive failed attempts.
	lockoutCap = 100
	// DefaultLockoutBase is the first lock; DefaultLockoutQuiet the quiet
	// period after which failures no longer count.
	DefaultLockoutBase  = 30 * time.Second
	DefaultLockoutQuiet = time.Hour
	// maxLockBases caps a lock at 30 base locks (15 min by default).
	maxLockBases = 30
	// reserveTries bounds the compare-and-set retries of one attempt: a
	// loser re-reads, and after a few rounds the attempt is refused as a
	// failure rather than run unchecked.
	reserveTries = 8
	// maxPasswordBytes bounds what reaches the KDF from an unauthenticated
	// caller.
	maxPasswordBytes = 4096
)

// LockedForGood is the lockedUntil of an account that reached lockoutCap:
// it opens only when staff unlock it or a reset link is used.
var LockedForGood = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// LoginCounter is the sign-in failure state of an account, or of a name that
// names no account (its ghost counter).
type LoginCounter struct {
	Failures      int
	LastFailureAt time.Time
	LockedUntil   time.Time
}

// LoginCounterRef names a counter: a user's (UserID), or the ghost counter
// of an unknown name (Ghost, the name's lookup hash).
type LoginCounterRef struct {
	TenantID string
	UserID   string
	Ghost    string
}

// LoginCounterStore keeps sign-in counters. Both kinds are read and written
// with the same calls, so a sign-in costs the same store work whether or
// not the name exists.
type LoginCounterStore interface {
	// GetLoginCounter reads a counter with strong consistency; an absent
	// ghost counter is the zero counter, an absent user not found.
	GetLoginCounter(ctx context.Context, ref LoginCounterRef) (LoginCounter, error)
	// CountLoginAttempt replaces prev by next if the stored counter is
	// still prev (failures and last failure), else it is a conflict. A
	// ghost counter is created as needed and expires by itself at
	// expires.
	CountLoginAttempt(ctx context.Context, ref LoginCounterRef, prev, next LoginCounter, expires time.Time) error
	// ClearLoginFailures ends the user's lock and failure count, with the
	// audit event in the same transaction.
	ClearLoginFailures(ctx context.Context, tenantID, userID string, audit *AuditEvent) error
}

// counter is the user's sign-in state.
func (u User) counter() LoginCounter {
	return LoginCounter{Failures: u.FailedLogins, LastFailureAt: u.LastFailureAt, LockedUntil: u.LockedUntil}
}

// LockedAt reports whether the account refuses sign-in at now.
func (u User) LockedAt(now time.Time) bool { return u.counter().lockedAt(now) }

func (c LoginCounter) lockedAt(now time.Time) bool { return now.Before(c.LockedUntil) }

// lockout is the policy with the deployment's base lock and quiet period.
type lockout struct{ base, quiet time.Duration }

func (s *Service) lockout() lockout {
	return lockout{base: s.cfg.LockoutBase, quiet: s.cfg.LockoutQuiet}
}

// current is c as it counts at now: failures older than the quiet period
// are forgotten, unless the cap locked the account for good.
func (p lockout) current(c LoginCounter, now time.Time) LoginCounter {
	if c.Failures < lockoutCap && !c.LastFailureAt.IsZero() && now.Sub(c.LastFailureAt) > p.quiet && !c.lockedAt(now) {
		return LoginCounter{}
	}
	return c
}

// failure is c after one more failed attempt at now, with the lock it
// brings, if any.
func (p lockout) failure(c LoginCounter, now time.Time) LoginCounter {
	n := p.current(c, now).Failures + 1
	next := LoginCounter{Failures: n, LastFailureAt: now}
	if c.lockedAt(now) {
		// Counted while locked (a signed-in password change): the lock
		// stays.
		next.LockedUntil = c.LockedUntil
	}
	if d := p.lockFor(n); d > 0 && now.Add(d).After(next.LockedUntil) {
		next.LockedUntil = now.Add(d)
	}
	if n >= lockoutCap {
		next.LockedUntil = LockedForGood
	}
	return next
}

// locks reports whether the nth consecutive failure brings a lock.
func (p lockout) locks(n int) bool { return p.lockFor(n) > 0 || n >= lockoutCap }

// lockFor is the lock the nth consecutive failure brings: none but on
// every lockoutThreshold-th.
func (p lockout) lockFor(n int) time.Duration {
	if n < lockoutThreshold || n%lockoutThreshold != 0 {
		return 0
	}
	return min(p.base<<min(n/lockoutThreshold-1, 5), maxLockBases*p.base)
}

// expires is when a ghost counter may go: once it neither locks nor counts.
func (p lockout) expires(c LoginCounter) time.Time {
	end := c.LastFailureAt.Add(p.quiet)
	if c.LockedUntil.After(end) {
		// A ghost at the cap is not kept for ever: the name has no
		// account to protect, and counting restarts.
		end = minTime(c.LockedUntil, c.LastFailureAt.Add(24*time.Hour))
	}
	return end.Add(time.Minute)
}

// errReserveContended ends an attempt whose counter kept changing under it.
var errReserveContended = E(CodeUnavailable, "too many sign-in attempts at once; retry shortly")

// reserve counts one attempt on ref before its password is checked. It
// returns the counter as counted, or locked = true (and nothing counted)
// when the counter refuses attempts at now; with refuseLocked false (a
// signed-in password change) a lock is no reason to refuse.
func (s *Service) reserve(ctx context.Context, ref LoginCounterRef, c LoginCounter, refuseLocked bool) (next LoginCounter, locked bool, err error) {
	p := s.lockout()
	for try := 0; ; try++ {
		now := s.now()
		if refuseLocked && c.lockedAt(now) {
			return c, true, nil
		}
		next = p.failure(c, now)
		err := s.store.CountLoginAttempt(ctx, ref, c, next, p.expires(next))
		if err == nil {
			return next, false, nil
		}
		if !IsCode(err, CodeConflict) {
			return LoginCounter{}, false, fmt.Errorf("count sign-in attempt: %w", err)
		}
		if try+1 >= reserveTries {
			return LoginCounter{}, false, errReserveContended
		}
		if c, err = s.store.GetLoginCounter(ctx, ref); err != nil {
			return LoginCounter{}, false, fmt.Errorf("count sign-in attempt: %w", err)
		}
	}
}

// UnlockUser ends a user's sign-in lock and clears their failure count, as
// staff; it is recorded in the audit trail when there was anything to
// clear, and answers the same either way.
func (s *Service) UnlockUser(ctx context.Context, c Caller, id string) (User, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return User{}, err
	}
	u, err := s.targetUser(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	if u.FailedLogins == 0 && u.LockedUntil.IsZero() {
		return u, nil
	}
	if err := s.store.ClearLoginFailures(ctx, u.TenantID, u.ID, s.audit(ctx, p, ActionUserUnlock, u)); err != nil {
		return User{}, s.storeErr("unlock", u.ID, err)
	}
	s.log.InfoContext(ctx, "user unlocked", "tenant", u.TenantID, "user_id", u.ID, "by", p.UserID, "failures", u.FailedLogins, "was_locked", u.LockedAt(s.now()))
	u.FailedLogins, u.LastFailureAt, u.LockedUntil = 0, time.Time{}, time.Time{}
	return u, nil
}

// CredentialsEnded is the rule of which changes to an account end its
// outstanding reset links (by moving its credential epoch on): a new
// password hash, deactivation, and a new e-mail address (the link went to
// the old one). Every writer of users applies it: staff edits, status
// changes and import upserts through UpdateUser, and the password writes
// (SetPassword, bulk resets, links) by their own epoch bump.
func CredentialsEnded(prev, next User) bool {
	return next.PasswordHash != prev.PasswordHash ||
		(prev.Status == StatusActive && next.Status != StatusActive) ||
		EmailKey(next.Email) != EmailKey(prev.Email)
}
