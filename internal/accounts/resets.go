package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Scopes of a bulk password reset: the Soutron-style filters, and an
// Alma-style itemized set.
const (
	ScopeAll       = "all"
	ScopeAllExcept = "all_except"
	ScopeNoRole    = "no_role"
	ScopeSelected  = "selected"
	ScopeSet       = "set"
)

// Modes of a bulk password reset.
const (
	// ResetTemporary e-mails each user a generated password, made and set
	// by the notice worker when it sends the mail.
	ResetTemporary = "temporary"
	// ResetDefault sets one password, chosen by staff, for everyone; no mail.
	ResetDefault = "default"
	// ResetLink e-mails each user a reset link.
	ResetLink = "link"
)

// Outcomes of a reset job's report rows.
const (
	OutcomeChanged     = "changed"
	OutcomeWouldChange = "would_change"
	OutcomeNoEmail     = "no_email"
	OutcomeWouldNoMail = "would_be_no_email"
)

const (
	// resetBatchSize is the users one batch task applies: one page of a
	// shard, well inside a worker's timeout even in temporary mode, where
	// the hashing happens later in the notice worker.
	resetBatchSize = 100
	// MaxResetUsers bounds userIds of a selected or all_except reset.
	MaxResetUsers = 10000
	// scopeShards is how many shards the user listing and a set's members
	// are spread over (the store's layout); one scan task reads each.
	scopeShards = 16
	// jobTaskVersion is the version of task messages this code reads.
	jobTaskVersion = 1
)

// ActionPasswordResetJob is the audit action of starting a bulk reset.
const ActionPasswordResetJob = "job.password_reset"

// PasswordResetInput is a bulk password reset as staff ask for it.
type PasswordResetInput struct {
	Scope             string
	UserIDs           []string
	SetID             string
	Mode              string
	DefaultPassword   string
	InvalidateCurrent bool
	DryRun            bool
}

// Task kinds on the job queue.
const (
	TaskShard = "shard" // read one page of one shard of the scope
	TaskBatch = "batch" // apply the job to a page of users
)

// JobTask is one job-queue message: ids and a cursor, never a password, a
// name or an address.
type JobTask struct {
	V        int    `json:"v"`
	TenantID string `json:"tenant"`
	JobID    string `json:"job"`
	Kind     string `json:"kind"`
	Shard    int    `json:"shard"`
	Page     int    `json:"page"`
	Cursor   string `json:"cursor,omitempty"`
	// Batch names a batch task, "<shard>-<page>", for its record.
	Batch string   `json:"batch,omitempty"`
	Users []string `json:"users,omitempty"`
}

// JobQueue carries a job's tasks to the job workers.
type JobQueue interface {
	SendJobTasks(ctx context.Context, tasks []JobTask) error
}

// JobTaskResult is what one task did; the store adds it to the job once,
// guarded by a record named Key.
type JobTaskResult struct {
	Key        string
	TasksAdded int  // tasks this one queued
	ShardDone  bool // a scan task that read its shard's last page
	Matched    int
	Changed    int
	Skipped    int
	NoEmail    int
	Failed     int
	Notices    int // notices raised
	Outcomes   []RowOutcome
	At         time.Time // when it ended: the job's last progress
}

// ResetStore is what bulk resets need of persistence beyond jobs.
type ResetStore interface {
	// ScopeShardPage reads up to limit user ids of one shard: of the user
	// listing, or of the set's members when setID is set. next is "" after
	// the shard's last page.
	ScopeShardPage(ctx context.Context, tenantID, setID string, shard, limit int, cursor string) (ids []string, next string, err error)
	// JobExceptIDs returns the users an all_except job leaves alone.
	JobExceptIDs(ctx context.Context, tenantID, jobID string) ([]string, error)
	// ApplyUserReset stamps jobID on the user at u.Version, with hash and
	// mustChange when hash is set, and stores n (if not nil) in the same
	// transaction. A user already stamped with jobID is a conflict on
	// "resetJob": that is what keeps a redelivered batch from resetting
	// anyone twice.
	ApplyUserReset(ctx context.Context, u User, jobID, hash string, mustChange bool, at time.Time, n *Notice) error
	// GetUsers reads the users of ids that exist, strongly consistent, in
	// as few round trips as the store allows.
	GetUsers(ctx context.Context, tenantID string, ids []string) (map[string]User, error)
	// ApplyUserStamps is ApplyUserReset without a hash for up to
	// MaxStampsPerWrite users at once, all or none: one conflict (a user
	// changed meanwhile or stamped already) cancels every stamp, and the
	// caller decides user by user.
	ApplyUserStamps(ctx context.Context, jobID string, at time.Time, stamps []UserStamp) error
	// CompleteJobTask records r and adds its counts to the job once; it
	// returns the job after the update and whether this call recorded it.
	CompleteJobTask(ctx context.Context, tenantID, jobID string, r JobTaskResult) (Job, bool, error)
	// RaiseJobPercent stores p as the job's progress if it is higher than
	// the stored one.
	RaiseJobPercent(ctx context.Context, tenantID, jobID string, p int) error
	// JobNoticeCounts sums the job's notice counters by final status.
	JobNoticeCounts(ctx context.Context, tenantID, jobID string) (map[NoticeStatus]int, error)
}

// UserStamp is one user's share of ApplyUserStamps: the user as read, and
// the notice to store with the stamp.
type UserStamp struct {
	User   User
	Notice *Notice
}

// MaxStampsPerWrite is how many users one ApplyUserStamps takes: a user
// and a notice each, within a transaction's 100 items.
const MaxStampsPerWrite = 50

// StartPasswordReset validates a bulk reset, records its job and queues its
// first tasks. Everything that can be refused is refused here, before any
// user is touched.
func (s *Service) StartPasswordReset(ctx context.Context, c Caller, in PasswordResetInput) (Job, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Job{}, err
	}
	ids, err := validateResetInput(in)
	if err != nil {
		return Job{}, err
	}
	if s.jobs == nil {
		return Job{}, E(CodeUnavailable, "bulk jobs are not configured for this deployment (no job queue)")
	}
	if in.Mode != ResetDefault && !in.DryRun && s.notices == nil {
		return Job{}, E(CodeUnavailable, "e-mail is not configured for this deployment")
	}
	if in.Mode == ResetLink && !in.DryRun && s.cfg.ResetPageURL == "" {
		return Job{}, E(CodeUnavailable, "reset links are not configured for this deployment (no reset page URL)")
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return Job{}, fmt.Errorf("start reset: %w", err)
	}
	var set Set
	if in.Scope == ScopeSet {
		if !ValidUserID(in.SetID) {
			return Job{}, FieldError("setId", "set not found")
		}
		set, err = s.store.GetSet(ctx, p.TenantID, in.SetID)
		if IsCode(err, CodeNotFound) {
			return Job{}, FieldError("setId", "set not found")
		}
		if err != nil {
			return Job{}, fmt.Errorf("start reset: %w", err)
		}
		if set.Status != SetReady {
			return Job{}, FieldError("setId", "set %q is %s; a reset runs on a ready set", set.Name, set.Status)
		}
	}
	var hash string
	if in.Mode == ResetDefault {
		// One password for many accounts: only the library's own words
		// are known before the users are read.
		pw, err := t.Settings.PasswordPolicy.Check(in.DefaultPassword, AudienceStaff, contextWords(t, "", "", "")...)
		if err != nil {
			return Job{}, asField(err, "defaultPassword")
		}
		if !in.DryRun {
			// One hash for the job: every user gets the same salt and
			// hash, which only tells what a default password means anyway
			// (they share it), and no user's reset costs an argon2id run.
			if hash, err = s.hasher.Hash(pw); err != nil {
				return Job{}, Internal(fmt.Errorf("hash: %w", err))
			}
		}
	}
	if in.Mode == ResetLink && in.InvalidateCurrent && !in.DryRun {
		// The current passwords must stop working now: each user gets a
		// hash of nothing anyone knows. One argon2id run for the job
		// gives a hash of the deployment's own shape, whose salt and
		// digest are then replaced by random bytes per user, so signing
		// in costs what it always does and matches nothing.
		if hash, err = s.hasher.Hash(hex.EncodeToString(randomBytes(32))); err != nil {
			return Job{}, Internal(fmt.Errorf("hash: %w", err))
		}
	}
	me, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return Job{}, fmt.Errorf("start reset: %w", err)
	}
	id, err := newUserID(s.rand)
	if err != nil {
		return Job{}, Internal(err)
	}
	now := s.now()
	j := Job{
		TenantID: p.TenantID, ID: id, Kind: JobPasswordReset, DryRun: in.DryRun, Status: JobRunning,
		Scope: in.Scope, ResetMode: in.Mode, InvalidateCurrent: in.InvalidateCurrent, DefaultHash: hash,
		SetID: set.ID, SetName: set.Name, StartedBy: p.UserID, StartedByUsername: p.Username, NotifyEmail: me.Email,
		CreatedAt: now, StartedAt: now, LastProgressAt: now,
	}
	var tasks []JobTask
	switch in.Scope {
	case ScopeSelected:
		for i := 0; i < len(ids); i += resetBatchSize {
			tasks = append(tasks, JobTask{Kind: TaskBatch, Page: i / resetBatchSize, Batch: "sel-" + strconv.Itoa(i/resetBatchSize), Users: ids[i:min(i+resetBatchSize, len(ids))]})
		}
	default:
		if in.Scope == ScopeAllExcept {
			j.ExceptIDs = ids
		}
		for sh := range scopeShards {
			tasks = append(tasks, JobTask{Kind: TaskShard, Shard: sh})
		}
		j.ShardsTotal = scopeShards
	}
	for i := range tasks {
		tasks[i].V, tasks[i].TenantID, tasks[i].JobID = jobTaskVersion, j.TenantID, j.ID
	}
	j.TasksTotal = len(tasks)
	ev := s.audit(ctx, p, ActionPasswordResetJob, User{})
	ev.TargetID, ev.Detail = j.ID, "scope "+in.Scope+", mode "+in.Mode
	if in.DryRun {
		ev.Detail += ", dry run"
	}
	j.Audit = ev
	if err := s.store.CreateJob(ctx, j); err != nil {
		return Job{}, fmt.Errorf("create reset job: %w", err)
	}
	if len(tasks) == 0 {
		if _, err := s.finishJob(ctx, j, JobCompleted, ""); err != nil {
			return Job{}, err
		}
	} else if err := s.jobs.SendJobTasks(ctx, tasks); err != nil {
		// Nothing was queued: end the job now rather than leave it for
		// the sweep.
		if _, ferr := s.finishJob(ctx, j, JobFailed, "its tasks could not be queued"); ferr != nil {
			s.log.ErrorContext(ctx, "end unqueued reset job", "tenant", j.TenantID, "job", j.ID, "error", ferr.Error())
		}
		return Job{}, fmt.Errorf("queue reset tasks of %s: %w", j.ID, err)
	}
	s.log.InfoContext(ctx, "password reset job started", "tenant", j.TenantID, "job", j.ID, "by", p.UserID, "scope", in.Scope, "mode", in.Mode, "dry_run", in.DryRun)
	return s.store.GetJob(ctx, j.TenantID, j.ID)
}

// asField renames the field of a coded error.
func asField(err error, field string) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// validateResetInput checks the request's shape and returns its user ids,
// deduplicated, in the order given.
func validateResetInput(in PasswordResetInput) ([]string, error) {
	switch in.Scope {
	case ScopeAll, ScopeAllExcept, ScopeNoRole, ScopeSelected, ScopeSet:
	case "":
		return nil, FieldError("scope", "scope is required: all, all_except, no_role, selected or set")
	default:
		return nil, FieldError("scope", "scope must be all, all_except, no_role, selected or set")
	}
	switch in.Mode {
	case ResetTemporary, ResetDefault, ResetLink:
	case "":
		return nil, FieldError("mode", "mode is required: temporary, default or link")
	default:
		return nil, FieldError("mode", "mode must be temporary, default or link")
	}
	needIDs := in.Scope == ScopeSelected || in.Scope == ScopeAllExcept
	switch {
	case needIDs && len(in.UserIDs) == 0:
		return nil, FieldError("userIds", "userIds is required for scope %s", in.Scope)
	case !needIDs && len(in.UserIDs) > 0:
		return nil, FieldError("userIds", "userIds goes only with scope selected or all_except")
	case len(in.UserIDs) > MaxResetUsers:
		return nil, FieldError("userIds", "at most %d userIds", MaxResetUsers)
	case in.Scope == ScopeSet && in.SetID == "":
		return nil, FieldError("setId", "setId is required for scope set")
	case in.Scope != ScopeSet && in.SetID != "":
		return nil, FieldError("setId", "setId goes only with scope set")
	case in.Mode == ResetDefault && in.DefaultPassword == "":
		return nil, FieldError("defaultPassword", "defaultPassword is required for mode default")
	case in.Mode != ResetDefault && in.DefaultPassword != "":
		return nil, FieldError("defaultPassword", "defaultPassword goes only with mode default")
	case in.InvalidateCurrent && in.Mode != ResetLink:
		return nil, FieldError("invalidateCurrent", "invalidateCurrent goes only with mode link")
	}
	seen := make(map[string]bool, len(in.UserIDs))
	ids := make([]string, 0, len(in.UserIDs))
	for i, id := range in.UserIDs {
		if !ValidUserID(id) {
			return nil, FieldError("userIds", "userIds[%d] is not a user id", i)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// RunJobTask does one job-queue task. Deliveries are at least once: a task
// already recorded changes nothing and counts nothing again. A nil error
// acknowledges the message; a coded invalid or not-found error is
// permanent (the caller records it and does not retry); any other asks for
// a retry.
func (s *Service) RunJobTask(ctx context.Context, t JobTask) error {
	if t.V != jobTaskVersion || ValidateTenantID(t.TenantID) != nil || !ValidUserID(t.JobID) {
		return E(CodeInvalid, "job task is malformed (version %d)", t.V)
	}
	j, err := s.store.GetJob(ctx, t.TenantID, t.JobID)
	if IsCode(err, CodeNotFound) {
		s.log.WarnContext(ctx, "task for unknown job dropped", "tenant", t.TenantID, "job", t.JobID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("task of %s: %w", t.JobID, err)
	}
	if !j.FinishedAt.IsZero() || j.Status.Final() {
		// Cancelled or swept: later tasks do nothing.
		return nil
	}
	if j.Kind != JobPasswordReset {
		return E(CodeInvalid, "job %s is a %s job, not one the job queue runs", j.ID, j.Kind)
	}
	var r JobTaskResult
	switch t.Kind {
	case TaskShard:
		if t.Shard < 0 || t.Shard >= scopeShards {
			return E(CodeInvalid, "job task shard %d is out of range", t.Shard)
		}
		r, err = s.scanShard(ctx, j, t)
	case TaskBatch:
		if len(t.Users) > resetBatchSize || t.Batch == "" {
			return E(CodeInvalid, "job batch task is malformed")
		}
		r, err = s.applyBatch(ctx, j, t)
	default:
		return E(CodeInvalid, "job task kind %q is unknown", t.Kind)
	}
	if IsCode(err, CodeInvalid) {
		// It will not do better next time: record it as failed so the
		// job can still end, and let the caller drop the message.
		if ferr := s.failTask(ctx, j, t, PublicMessage(err)); ferr != nil {
			return ferr
		}
		return err
	}
	if err != nil {
		return err
	}
	r.At = s.now()
	after, first, err := s.store.CompleteJobTask(ctx, j.TenantID, j.ID, r)
	if err != nil {
		return fmt.Errorf("record task %s of %s: %w", r.Key, j.ID, err)
	}
	if !first {
		s.log.InfoContext(ctx, "duplicate job task ignored", "tenant", j.TenantID, "job", j.ID, "task", r.Key)
	}
	if err := s.store.RaiseJobPercent(ctx, j.TenantID, j.ID, after.computedPercent()); err != nil {
		s.log.WarnContext(ctx, "job progress not stored", "tenant", j.TenantID, "job", j.ID, "error", err.Error())
	}
	return s.maybeFinishReset(ctx, after)
}

// failTask records a task that cannot succeed under the key the task
// itself would have used: its users as failed with reason, or, for a scan,
// the rest of its shard as one failed row.
func (s *Service) failTask(ctx context.Context, j Job, t JobTask, reason string) error {
	r := JobTaskResult{At: s.now()}
	switch t.Kind {
	case TaskShard:
		r.Key, r.ShardDone, r.Failed = fmt.Sprintf("S%02d-%06d", t.Shard, t.Page), true, 1
		r.Outcomes = []RowOutcome{{Subject: fmt.Sprintf("shard %d from page %d", t.Shard, t.Page), Outcome: OutcomeFailed, Reason: reason}}
	case TaskBatch:
		r.Key, r.Failed = "B"+t.Batch, len(t.Users)
		for _, id := range t.Users {
			r.Outcomes = append(r.Outcomes, RowOutcome{Subject: id, UserID: id, Outcome: OutcomeFailed, Reason: reason})
		}
	default:
		return nil
	}
	after, _, err := s.store.CompleteJobTask(ctx, j.TenantID, j.ID, r)
	if err != nil {
		return fmt.Errorf("record failed task %s of %s: %w", r.Key, j.ID, err)
	}
	return s.maybeFinishReset(ctx, after)
}

// maybeFinishReset ends the job once every shard has been read and every
// task queued has been recorded; checking after duplicates too makes good
// a worker that died right after recording the last task.
func (s *Service) maybeFinishReset(ctx context.Context, j Job) error {
	if !j.FinishedAt.IsZero() || j.ShardsDone < j.ShardsTotal || j.TasksDone < j.TasksTotal {
		return nil
	}
	status := JobCompleted
	switch {
	case j.Status == JobCancelled:
		status = JobCancelled
	case j.Failed > 0 && j.Changed == 0:
		// Nothing was done: as the sweep and an import's dead chunks
		// say of such a job, it failed.
		status = JobFailed
	case j.Failed > 0:
		status = JobCompletedWithErrors
	}
	if _, err := s.finishJob(ctx, j, status, ""); err != nil {
		return fmt.Errorf("finish %s: %w", j.ID, err)
	}
	return nil
}

// scanShard reads one page of its shard, queues a batch of those users and,
// if the shard goes on, itself with the next cursor. Queueing comes before
// the record: a crash between them queues the same batch twice, which its
// record absorbs, rather than lose it.
func (s *Service) scanShard(ctx context.Context, j Job, t JobTask) (JobTaskResult, error) {
	setID := ""
	if j.Scope == ScopeSet {
		setID = j.SetID
	}
	ids, next, err := s.store.ScopeShardPage(ctx, j.TenantID, setID, t.Shard, resetBatchSize, t.Cursor)
	if err != nil {
		if IsCode(err, CodeInvalid) {
			return JobTaskResult{}, err
		}
		return JobTaskResult{}, fmt.Errorf("scan shard %d of %s: %w", t.Shard, j.ID, err)
	}
	var tasks []JobTask
	base := JobTask{V: jobTaskVersion, TenantID: j.TenantID, JobID: j.ID, Shard: t.Shard}
	if len(ids) > 0 {
		b := base
		b.Kind, b.Page, b.Batch, b.Users = TaskBatch, t.Page, fmt.Sprintf("%02d-%06d", t.Shard, t.Page), ids
		tasks = append(tasks, b)
	}
	if next != "" {
		n := base
		n.Kind, n.Page, n.Cursor = TaskShard, t.Page+1, next
		tasks = append(tasks, n)
	}
	if len(tasks) > 0 {
		if err := s.jobs.SendJobTasks(ctx, tasks); err != nil {
			return JobTaskResult{}, fmt.Errorf("queue tasks of shard %d of %s: %w", t.Shard, j.ID, err)
		}
	}
	return JobTaskResult{Key: fmt.Sprintf("S%02d-%06d", t.Shard, t.Page), TasksAdded: len(tasks), ShardDone: next == ""}, nil
}

// applyBatch applies the job to the users of a batch. The round trips are
// per batch, not per user: one read of every user, one transaction per
// MaxStampsPerWrite users whose reset writes no password (link and
// temporary modes), and a user at a time only for those that do (the
// default password, invalidateCurrent: their sessions end too) or when a
// shared write met a conflict.
func (s *Service) applyBatch(ctx context.Context, j Job, t JobTask) (JobTaskResult, error) {
	tenant, err := s.store.GetTenant(ctx, j.TenantID)
	if err != nil {
		return JobTaskResult{}, fmt.Errorf("batch %s of %s: %w", t.Batch, j.ID, err)
	}
	var except []string
	if j.Scope == ScopeAllExcept {
		if except, err = s.store.JobExceptIDs(ctx, j.TenantID, j.ID); err != nil {
			return JobTaskResult{}, fmt.Errorf("batch %s of %s: %w", t.Batch, j.ID, err)
		}
	}
	found, err := s.store.GetUsers(ctx, j.TenantID, t.Users)
	if err != nil {
		return JobTaskResult{}, fmt.Errorf("batch %s of %s: %w", t.Batch, j.ID, err)
	}
	outcomes := make([]RowOutcome, len(t.Users))
	var (
		stamps []UserStamp
		at     []int // stamps[k] is the user of outcomes[at[k]]
		alone  []int // users reset one at a time
	)
	now := s.now()
	for i, id := range t.Users {
		u, ok := found[id]
		row, w, err := s.planReset(ctx, tenant, j, id, u, ok, except, now)
		if err != nil {
			return JobTaskResult{}, fmt.Errorf("batch %s of %s: user %s: %w", t.Batch, j.ID, id, err)
		}
		outcomes[i] = row
		switch {
		case w == nil:
		case w.hash == "":
			stamps, at = append(stamps, UserStamp{User: u, Notice: w.notice}), append(at, i)
		default:
			alone = append(alone, i)
		}
	}
	// The shared writes first: a cancelled one sends its users to be
	// reset one at a time with the others.
	var mu sync.Mutex
	var requeue []int
	g, gctx := errgroup.WithContext(ctx)
	for k := 0; k < len(stamps); k += MaxStampsPerWrite {
		part, idx := stamps[k:min(k+MaxStampsPerWrite, len(stamps))], at[k:min(k+MaxStampsPerWrite, len(stamps))]
		g.Go(func() error {
			err := s.store.ApplyUserStamps(gctx, j.ID, now, part)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case IsCode(err, CodeConflict) || IsCode(err, CodeUnavailable):
				// Nothing of it was written: each user on its own, on
				// what is stored now.
				s.log.InfoContext(gctx, "shared reset write cancelled; its users are reset one by one", "tenant", j.TenantID, "job", j.ID, "users", len(part), "error", err.Error())
				alone = append(alone, idx...)
			case err != nil:
				return fmt.Errorf("batch %s of %s: %w", t.Batch, j.ID, err)
			default:
				for n, i := range idx {
					outcomes[i].Outcome = OutcomeChanged
					if nt := part[n].Notice; nt != nil {
						outcomes[i].NoticeID = nt.ID
						requeue = append(requeue, i)
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return JobTaskResult{}, err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, i := range requeue {
		g.Go(func() error {
			s.requeueNotice(gctx, found[t.Users[i]], outcomes[i].NoticeID)
			return nil
		})
	}
	for _, i := range alone {
		g.Go(func() error {
			o, err := s.resetOne(gctx, tenant, j, t.Users[i], except, 0)
			if err != nil {
				return fmt.Errorf("batch %s of %s: user %s: %w", t.Batch, j.ID, t.Users[i], err)
			}
			outcomes[i] = o
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return JobTaskResult{}, err
	}
	r := JobTaskResult{Key: "B" + t.Batch}
	for _, o := range outcomes {
		if o.Outcome == "" {
			continue // not in the scope: no row
		}
		r.Matched++
		switch o.Outcome {
		case OutcomeChanged, OutcomeWouldChange:
			r.Changed++
		case OutcomeSkipped:
			r.Skipped++
		case OutcomeNoEmail, OutcomeWouldNoMail:
			r.NoEmail++
		default:
			r.Failed++
		}
		if o.NoticeID != "" {
			r.Notices++
		}
		r.Outcomes = append(r.Outcomes, o)
	}
	return r, nil
}

// pendingReset is what planReset leaves to write for a user.
type pendingReset struct {
	hash   string
	notice *Notice
}

// planReset decides what the job does to u (read as found; found false
// when id names no user). The row is final unless a write is returned, which
// the caller makes and then marks the row changed. An empty outcome means
// the user is outside the scope and gets no row.
func (s *Service) planReset(ctx context.Context, t Tenant, j Job, id string, u User, found bool, except []string, now time.Time) (RowOutcome, *pendingReset, error) {
	if !found {
		if j.Scope == ScopeSelected {
			return RowOutcome{Subject: id, UserID: id, Outcome: OutcomeNotFound, Reason: "no user with this id"}, nil, nil
		}
		return RowOutcome{}, nil, nil // deleted since the scan read it
	}
	row := RowOutcome{Subject: u.Username, UserID: u.ID}
	switch {
	case j.Scope == ScopeAllExcept && slices.Contains(except, u.ID):
		return RowOutcome{}, nil, nil
	case j.Scope == ScopeNoRole && len(u.Roles) > 0:
		return RowOutcome{}, nil, nil
	case u.ID == j.StartedBy:
		row.Outcome, row.Reason = OutcomeSkipped, "you started this job"
		return row, nil, nil
	case u.Status != StatusActive:
		row.Outcome, row.Reason = OutcomeSkipped, "deactivated"
		return row, nil, nil
	case u.ResetJob == j.ID:
		// An earlier delivery of this batch reset the user: say what it
		// did, and queue its notice again in case that delivery died
		// before it could (a queued notice is sent once however often
		// it is queued).
		row.Outcome, row.NoticeID = OutcomeChanged, u.ResetNotice
		s.requeueNotice(ctx, u, u.ResetNotice)
		if j.ResetMode == ResetDefault || j.InvalidateCurrent {
			// That delivery may have died before ending the sessions.
			s.endSessions(ctx, u)
		}
		return row, nil, nil
	}
	mailed := j.ResetMode != ResetDefault
	if mailed && (u.Email == "" || u.EmailStatus != "") {
		row.Outcome, row.Reason = OutcomeNoEmail, "no e-mail address: tell them another way"
		if u.Email != "" {
			row.Reason = "mail to the address is not delivered (" + string(u.EmailStatus) + "): tell them another way"
		}
		if j.DryRun {
			row.Outcome = OutcomeWouldNoMail
		}
		return row, nil, nil
	}
	if j.DryRun {
		row.Outcome = OutcomeWouldChange
		return row, nil, nil
	}
	var w pendingReset
	switch j.ResetMode {
	case ResetDefault:
		w.hash = j.DefaultHash
	case ResetLink, ResetTemporary:
		kind := NoticeTemporaryPassword
		if j.ResetMode == ResetLink {
			kind = NoticeResetLink
			if j.InvalidateCurrent {
				w.hash = unusableHash(j.DefaultHash)
			}
		}
		nid, err := s.newNoticeID(now)
		if err != nil {
			return RowOutcome{}, nil, Internal(err)
		}
		w.notice = &Notice{TenantID: u.TenantID, UserID: u.ID, ID: nid, Kind: kind, Status: NoticeQueued, JobID: j.ID, CreatedAt: now, UpdatedAt: now}
	}
	return row, &w, nil
}

// resetOne applies the job to one user, read afresh: the path of a user
// whose reset writes a password, and of one whose shared write met a
// conflict.
func (s *Service) resetOne(ctx context.Context, t Tenant, j Job, id string, except []string, depth int) (RowOutcome, error) {
	u, err := s.store.GetUser(ctx, j.TenantID, id)
	found := err == nil
	if err != nil && !IsCode(err, CodeNotFound) {
		return RowOutcome{}, err
	}
	now := s.now()
	row, w, err := s.planReset(ctx, t, j, id, u, found, except, now)
	if err != nil || w == nil {
		return row, err
	}
	mustChange := t.Settings.StaffPasswordsMustChange
	if err := s.store.ApplyUserReset(ctx, u, j.ID, w.hash, mustChange, now, w.notice); err != nil {
		if IsCode(err, CodeConflict) && depth < 5 {
			// Changed meanwhile, or stamped by a concurrent delivery:
			// read it again and decide on what is stored.
			return s.resetOne(ctx, t, j, id, except, depth+1)
		}
		return RowOutcome{}, err
	}
	row.Outcome = OutcomeChanged
	if w.notice != nil {
		row.NoticeID = w.notice.ID
		s.requeueNotice(ctx, u, w.notice.ID)
	}
	if w.hash != "" {
		s.endSessions(ctx, u)
		if err := s.store.DeleteUserResetTokens(ctx, u.TenantID, u.ID); err != nil {
			s.log.ErrorContext(ctx, "end reset links", "tenant", u.TenantID, "user_id", u.ID, "error", err.Error())
		}
	}
	return row, nil
}

// requeueNotice hands a recorded notice to the queue; a failure leaves it
// queued, where staff see it.
func (s *Service) requeueNotice(ctx context.Context, u User, noticeID string) {
	if noticeID == "" || s.notices == nil {
		return
	}
	if err := s.notices.Enqueue(ctx, NoticeRef{TenantID: u.TenantID, UserID: u.ID, NoticeID: noticeID}, 0); err != nil {
		s.log.ErrorContext(ctx, "notice recorded but not queued; it stays queued", "tenant", u.TenantID, "user_id", u.ID, "notice", noticeID, "error", err.Error())
	}
}

// unusableHash turns the job's PHC string ($argon2id$v=19$m=…$salt$digest)
// into one with a random salt and digest: it verifies like any other
// hash, at the same cost, and matches no password.
func unusableHash(template string) string {
	parts := strings.Split(template, "$")
	if len(parts) < 3 {
		return template // not a PHC string: still of a password nobody knows
	}
	for _, i := range []int{len(parts) - 2, len(parts) - 1} {
		n, err := base64.RawStdEncoding.DecodeString(parts[i])
		if err != nil {
			return template
		}
		parts[i] = base64.RawStdEncoding.EncodeToString(randomBytes(len(n)))
	}
	return strings.Join(parts, "$")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}
