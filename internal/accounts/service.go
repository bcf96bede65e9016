package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"
)

// Config holds the service's tunables; zero values take the defaults.
type Config struct {
	SessionAbsoluteTTL time.Duration // default 12h
	SessionIdleTTL     time.Duration // default 30m
	// TouchEvery bounds how often a session's idle expiry is pushed
	// forward, so that a busy session is not a write per request.
	TouchEvery time.Duration // default 1m
	// ResetPageURL is the page an e-mailed reset link opens; the token is
	// appended as "#token=…".
	ResetPageURL string
	// SignInURL is where patrons sign in, as every notice tells them;
	// empty means the origin of ResetPageURL.
	SignInURL string
	// ImportBucket holds uploaded files under imports/<tenant>/.
	ImportBucket string
	// RowsPerChunk is how many rows one queue message covers (default 250):
	// small enough that a worker finishes well inside its timeout, large
	// enough that a 500,000-row file is 2,000 messages.
	RowsPerChunk int
	// UploadURLTTL is how long a pre-signed upload URL works (default 15m).
	UploadURLTTL time.Duration
	// ImportWorkers bounds the rows a worker hashes at once (default: one
	// per vCPU). argon2id is memory-hard: measured, more rows in flight
	// than vCPUs fight over memory bandwidth and import slower.
	ImportWorkers int
	// NoticeSendRate caps sends per second across every notice worker
	// (default 14, where SES accounts start); NoticeWorkerConcurrency is
	// how many workers run at once (default 2). Each worker paces itself
	// at NoticeSendRate / NoticeWorkerConcurrency.
	NoticeSendRate          float64
	NoticeWorkerConcurrency int
	// NoticeRetryDelays are the waits before a notice's second and later
	// attempts (default 30s, 2m; the last repeats), each with up to 20%
	// jitter so that a burst of failures does not retry in step.
	NoticeRetryDelays []time.Duration
	// JobStallTimeout is how long a job may make no progress before the
	// sweep ends it (default DefaultJobStallTimeout; jobs_sweep.go).
	JobStallTimeout time.Duration
	// LookupKey keys the hashes under which the service counts requests
	// about names it must not store or reveal: sign-in failures for unknown
	// usernames, recovery requests per identifier and per source. Without
	// it (tests, the CLI) a fixed key is used; deployments set a secret one
	// so that nobody can precompute which counter belongs to which name.
	LookupKey []byte
	// LockoutBase is the first sign-in lock (default DefaultLockoutBase);
	// LockoutQuiet the quiet period after which failures stop counting
	// (default DefaultLockoutQuiet). See lockout.go.
	LockoutBase  time.Duration
	LockoutQuiet time.Duration
	// RecoveryLimits throttle forgot-password and forgot-username
	// requests (recovery.go; zero fields take the defaults).
	RecoveryLimits RecoveryLimits
}

func (c Config) withDefaults() Config {
	if c.SessionAbsoluteTTL <= 0 {
		c.SessionAbsoluteTTL = 12 * time.Hour
	}
	if c.SessionIdleTTL <= 0 {
		c.SessionIdleTTL = 30 * time.Minute
	}
	if c.SessionIdleTTL > c.SessionAbsoluteTTL {
		c.SessionIdleTTL = c.SessionAbsoluteTTL
	}
	if c.TouchEvery <= 0 {
		c.TouchEvery = time.Minute
	}
	if c.RowsPerChunk <= 0 {
		c.RowsPerChunk = 250
	}
	if c.UploadURLTTL <= 0 {
		c.UploadURLTTL = 15 * time.Minute
	}
	if c.ImportWorkers <= 0 {
		c.ImportWorkers = runtime.NumCPU()
	}
	if c.NoticeSendRate <= 0 {
		c.NoticeSendRate = 14
	}
	if len(c.NoticeRetryDelays) == 0 {
		c.NoticeRetryDelays = []time.Duration{30 * time.Second, 2 * time.Minute}
	}
	if c.NoticeWorkerConcurrency <= 0 {
		c.NoticeWorkerConcurrency = 2
	}
	if c.LockoutBase <= 0 {
		c.LockoutBase = DefaultLockoutBase
	}
	if c.LockoutQuiet <= 0 {
		c.LockoutQuiet = DefaultLockoutQuiet
	}
	return c
}

// Deps are the service's collaborators. Clock and Random default to the real
// ones; tests inject them where expiry or determinism matters.
type Deps struct {
	Store  Store
	Hasher PasswordHasher
	// Mailer sends the notices; only the notice worker has one.
	Mailer Mailer
	// Notices queues notices for the worker; nil where a function raises
	// none, and then the mail options of resets are refused.
	Notices NoticeQueue
	Blobs   Blobs      // the import bucket; nil where a function has none
	Queue   ChunkQueue // the chunk queue; nil where a function has none
	// Jobs carries bulk jobs' tasks; nil where a function starts or runs
	// none.
	Jobs JobQueue
	// Throttle counts requests per key (sign-in sources, recovery
	// requests, link attempts). nil allows everything: only tests of
	// other things leave it out; every function gets the store's.
	Throttle Throttle
	// Recovery carries self-service recovery requests to their worker;
	// nil where a function takes none.
	Recovery RecoveryQueue
	// Circulation is the ILS's checkouts and holds; nil where a function
	// serves none.
	Circulation Circulation
	Clock       func() time.Time
	// Wait returns after d has passed on Clock (or when ctx ends): the
	// clock's timer, so that a test's fake clock paces sends without
	// sleeping. nil is the real timer.
	Wait   func(ctx context.Context, d time.Duration) error
	Random io.Reader
	Logger *slog.Logger
}

// Service is the account domain: every rule and authorization check lives
// here, behind the ports; adapters only translate.
type Service struct {
	store   Store
	hasher  PasswordHasher
	mailer  Mailer
	notices NoticeQueue
	blobs   Blobs
	queue   ChunkQueue
	jobs    JobQueue
	limits  Throttle
	// recovery is Deps.Recovery.
	recovery RecoveryQueue
	// circulation is Deps.Circulation.
	circulation Circulation
	now         func() time.Time
	wait        func(context.Context, time.Duration) error
	pacer       *pacer
	rand        io.Reader
	log         *slog.Logger
	cfg         Config
}

// NewService builds the service.
func NewService(d Deps, cfg Config) *Service {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Random == nil {
		d.Random = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Wait == nil {
		d.Wait = realWait
	}
	cfg = cfg.withDefaults()
	return &Service{
		store: d.Store, hasher: d.Hasher, mailer: d.Mailer, notices: d.Notices, blobs: d.Blobs, queue: d.Queue, jobs: d.Jobs, limits: d.Throttle, circulation: d.Circulation, recovery: d.Recovery,
		now: func() time.Time { return d.Clock().UTC() }, wait: d.Wait, rand: d.Random, log: d.Logger, cfg: cfg,
		pacer: &pacer{interval: time.Duration(float64(time.Second) * float64(cfg.NoticeWorkerConcurrency) / cfg.NoticeSendRate)},
	}
}

// access is what a call needs of its caller.
type access int

const (
	// accessSelf is enough while a password change is pending: reading
	// one's own account, changing the password, signing out.
	accessSelf access = iota
	// accessFull is any signed-in user without a pending password change.
	accessFull
	// accessAdmin is staff.
	accessAdmin
)

// ErrPasswordChangeRequired is in the chain of the error that refuses a call
// while the caller's password change is pending, so that an adapter can say
// how the change is made in its own terms.
var ErrPasswordChangeRequired = errors.New("password change pending")

// principal re-reads the caller's session and user with strong consistency
// and checks what the call needs. A revoked, expired or deactivated session
// is refused here even while the authorizer's cache still allows it.
func (s *Service) principal(ctx context.Context, c Caller, need access) (Principal, error) {
	if !c.valid() {
		return Principal{}, E(CodeUnauthorized, "invalid or expired token")
	}
	sess, u, err := s.store.GetSessionAndUser(ctx, c.TenantID, c.UserID, c.SessionID)
	if IsCode(err, CodeNotFound) {
		return Principal{}, E(CodeUnauthorized, "invalid or expired token")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("resolve caller: %w", err)
	}
	if sess.Expired(s.now()) || u.Status != StatusActive {
		return Principal{}, E(CodeUnauthorized, "invalid or expired token")
	}
	p := Principal{
		TenantID: u.TenantID, UserID: u.ID, SessionID: sess.ID, Username: u.Username,
		Roles: u.Roles, MustChangePassword: u.MustChangePassword,
	}
	if need >= accessFull && p.MustChangePassword {
		return Principal{}, errPasswordChangePending()
	}
	if need >= accessAdmin && !p.IsAdmin() {
		return Principal{}, errStaffOnly()
	}
	return p, nil
}

func errStaffOnly() error { return E(CodeForbidden, "staff (admin) role required") }

func errPasswordChangePending() error {
	return &Error{Code: CodeForbidden, Message: "password change required: change your password first", Err: ErrPasswordChangeRequired}
}

// RequireStaff refuses a caller who may not take staff actions, as those
// actions would. An adapter asks it before it reads a staff request from a
// caller its authorizer did not vouch for as staff, so that a patron learns
// nothing of the request's shape (a 400 naming a field before the 403).
func (s *Service) RequireStaff(ctx context.Context, c Caller) error {
	_, err := s.principal(ctx, c, accessAdmin)
	return err
}
