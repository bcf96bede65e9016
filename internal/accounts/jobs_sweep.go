package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// A job can no longer stay running forever: the scheduled sweep ends one
// that has made no progress for the stall timeout, and the dead-letter
// consumer records what a queue gave up on so that the job can end by
// itself.

// DefaultJobStallTimeout is how long a job may go without progress before
// the sweep ends it.
const DefaultJobStallTimeout = 30 * time.Minute

// ReasonGaveUp is the report's reason for rows and users a queue gave up on.
const ReasonGaveUp = "gave up after repeated failures"

// RunningJob is an unfinished job with what the sweep saw of it last time.
type RunningJob struct {
	Job
	// SeenProgress is the job's progress when the sweep last saw it move,
	// SeenAt when that was; both empty before its first sweep.
	SeenProgress string
	SeenAt       time.Time
}

// JobSweepStore is what the sweep needs of persistence: the unfinished jobs
// of every tenant, in shards (no hot key), and its own note of progress.
type JobSweepStore interface {
	RunningShards() int
	EachRunningJob(ctx context.Context, shard int, fn func(RunningJob) error) error
	// NoteJobProgress records progress seen at at; a finished job is a
	// conflict.
	NoteJobProgress(ctx context.Context, tenantID, jobID, progress string, at time.Time) error
}

// SweepResult says what one sweep did.
type SweepResult struct {
	Seen  int // unfinished jobs looked at
	Ended int // of which ended now
}

// progressOf is a fingerprint of everything that moves while a job works:
// its status and each of its counters of work done.
func progressOf(j Job) string {
	return fmt.Sprintf("%s/%d/%d/%d/%d/%d/%d/%d", j.Status, j.ChunksTotal, j.ChunksDone, j.TasksTotal, j.TasksDone, j.ShardsDone,
		j.Created+j.Updated+j.Skipped+j.Failed, j.Matched)
}

// lastActivity is the latest time the job itself records work at.
func lastActivity(j Job) time.Time {
	t := j.CreatedAt
	for _, c := range []time.Time{j.StartedAt, j.LastProgressAt} {
		if c.After(t) {
			t = c
		}
	}
	return t
}

// didAnything reports whether any of the job's work was done.
func didAnything(j Job) bool {
	return j.ChunksDone > 0 || j.TasksDone > 0 || j.Created+j.Updated+j.Skipped+j.Changed+j.NoEmail > 0
}

// SweepJobs ends every job, of any kind, that has made no progress for the
// stall timeout as of now: failed if it did nothing, completed with errors
// otherwise, with its finish time and the starter's job notice. A job is
// ended only once the sweep has seen its progress stand still for the
// whole timeout, so a long import whose counters still move is left alone
// even where nothing records the time of its last chunk.
func (s *Service) SweepJobs(ctx context.Context, now time.Time) (SweepResult, error) {
	st := JobSweepStore(s.store)
	timeout := s.cfg.JobStallTimeout
	if timeout <= 0 {
		timeout = DefaultJobStallTimeout
	}
	now = now.UTC()
	var res SweepResult
	var errs []error
	for shard := range st.RunningShards() {
		err := st.EachRunningJob(ctx, shard, func(rj RunningJob) error {
			res.Seen++
			ended, err := s.sweepOne(ctx, st, rj, now, timeout)
			if err != nil {
				// One job's trouble must not stop the rest of the sweep.
				errs = append(errs, fmt.Errorf("sweep job %s of %s: %w", rj.ID, rj.TenantID, err))
			} else if ended {
				res.Ended++
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep shard %d: %w", shard, err))
		}
	}
	return res, errors.Join(errs...)
}

func (s *Service) sweepOne(ctx context.Context, st JobSweepStore, rj RunningJob, now time.Time, timeout time.Duration) (bool, error) {
	j := rj.Job
	if !j.FinishedAt.IsZero() {
		return false, nil
	}
	p := progressOf(j)
	if p != rj.SeenProgress || rj.SeenAt.IsZero() {
		err := st.NoteJobProgress(ctx, j.TenantID, j.ID, p, now)
		if IsCode(err, CodeConflict) {
			return false, nil // finished meanwhile
		}
		return false, err
	}
	since := rj.SeenAt
	if a := lastActivity(j); a.After(since) {
		since = a
	}
	if now.Sub(since) < timeout {
		return false, nil
	}
	status, reason := JobCompletedWithErrors, "stopped: no progress for "+timeout.String()
	switch {
	case j.Status == JobCancelled:
		status, reason = JobCancelled, ""
	case !didAnything(j):
		status = JobFailed
	}
	s.log.WarnContext(ctx, "ending stalled job", "tenant", j.TenantID, "job", j.ID, "kind", string(j.Kind), "status", string(status),
		"since", since.Format(time.RFC3339))
	return s.endStuckJob(ctx, j, status, reason)
}

// endStuckJob ends a job the pipeline will not end by itself, and frees its
// set: a set still building becomes ready with the members it got, or is
// removed when it got none, so that it can be used or deleted.
func (s *Service) endStuckJob(ctx context.Context, j Job, status JobStatus, reason string) (bool, error) {
	done, err := s.finishJob(ctx, j, status, reason)
	if err != nil || !done {
		return done, err
	}
	// finishJob completes the set of a job that did not fail; a failed set
	// build added no member, so its empty set goes.
	if j.Kind == JobSet && status == JobFailed && j.SetID != "" {
		if set, err := s.store.GetSet(ctx, j.TenantID, j.SetID); err == nil && set.Status == SetBuilding {
			if err := s.store.DeleteSet(ctx, j.TenantID, j.SetID); err != nil {
				s.log.ErrorContext(ctx, "remove empty set of a stalled job", "tenant", j.TenantID, "set", j.SetID, "error", err.Error())
			}
		}
	}
	return true, nil
}

// RecordDeadLetter records a chunk or job task a queue gave up on: the rows
// or users it covered are failed with ReasonGaveUp, once however often the
// message comes, and the job ends if nothing else is pending. A message it
// cannot read is refused with CodeInvalid (the consumer drops it loudly).
func (s *Service) RecordDeadLetter(ctx context.Context, body string) error {
	var chunk ChunkTask
	var task JobTask
	var probe struct {
		Start *int64 `json:"start"`
		Kind  string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		return E(CodeInvalid, "dead letter is not JSON")
	}
	switch {
	case probe.Start != nil:
		if err := json.Unmarshal([]byte(body), &chunk); err != nil || chunk.JobID == "" || chunk.TenantID == "" {
			return E(CodeInvalid, "dead-letter chunk is malformed")
		}
		return s.giveUpChunk(ctx, chunk)
	case probe.Kind != "":
		if err := json.Unmarshal([]byte(body), &task); err != nil || task.JobID == "" || task.TenantID == "" {
			return E(CodeInvalid, "dead-letter job task is malformed")
		}
		return s.giveUpTask(ctx, task)
	}
	return E(CodeInvalid, "dead letter is neither a chunk nor a job task")
}

func (s *Service) giveUpChunk(ctx context.Context, task ChunkTask) error {
	j, err := s.store.GetJob(ctx, task.TenantID, task.JobID)
	if IsCode(err, CodeNotFound) {
		s.log.WarnContext(ctx, "dead chunk of unknown job dropped", "tenant", task.TenantID, "job", task.JobID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("dead chunk %d of %s: %w", task.Index, task.JobID, err)
	}
	if !j.FinishedAt.IsZero() {
		return nil
	}
	r := ChunkResult{Index: task.Index, Failed: task.Rows}
	for i := range task.Rows {
		row := task.FirstRow + i
		r.Outcomes = append(r.Outcomes, RowOutcome{Row: row, Subject: "row " + strconv.Itoa(row), Outcome: OutcomeFailed, Reason: ReasonGaveUp})
	}
	after, _, err := s.store.CompleteChunk(ctx, j.TenantID, j.ID, r)
	if err != nil {
		return fmt.Errorf("record dead chunk %d of %s: %w", task.Index, j.ID, err)
	}
	if after.ChunksTotal == 0 || after.ChunksDone < after.ChunksTotal || !after.FinishedAt.IsZero() {
		return nil
	}
	status := JobCompletedWithErrors
	switch {
	case after.Status == JobCancelled:
		status = JobCancelled
	case after.Created+after.Updated+after.Skipped == 0:
		status = JobFailed
	}
	_, err = s.endStuckJob(ctx, after, status, "")
	return err
}

func (s *Service) giveUpTask(ctx context.Context, t JobTask) error {
	if t.Kind != TaskShard && t.Kind != TaskBatch {
		return E(CodeInvalid, "dead-letter job task kind %q is unknown", t.Kind)
	}
	j, err := s.store.GetJob(ctx, t.TenantID, t.JobID)
	if IsCode(err, CodeNotFound) {
		s.log.WarnContext(ctx, "dead task of unknown job dropped", "tenant", t.TenantID, "job", t.JobID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("dead task of %s: %w", t.JobID, err)
	}
	if !j.FinishedAt.IsZero() {
		return nil
	}
	// The record's key is the one the task itself would have written, so a
	// task that did get through once is not counted again.
	var r JobTaskResult
	switch t.Kind {
	case TaskShard:
		// The rest of the shard will not be read: its users are neither
		// changed nor listed, and the report says so once.
		r = JobTaskResult{Key: fmt.Sprintf("S%02d-%06d", t.Shard, t.Page), ShardDone: true, Failed: 1,
			Outcomes: []RowOutcome{{Subject: fmt.Sprintf("shard %d from page %d", t.Shard, t.Page), Outcome: OutcomeFailed, Reason: ReasonGaveUp}}}
	case TaskBatch:
		r = JobTaskResult{Key: "B" + t.Batch, Failed: len(t.Users)}
		for _, id := range t.Users {
			subject := id
			if u, err := s.store.GetUser(ctx, t.TenantID, id); err == nil {
				subject = u.Username
			}
			r.Outcomes = append(r.Outcomes, RowOutcome{Subject: subject, Outcome: OutcomeFailed, Reason: ReasonGaveUp})
		}
	default:
		return E(CodeInvalid, "dead-letter job task kind %q is unknown", t.Kind)
	}
	after, _, err := s.store.CompleteJobTask(ctx, j.TenantID, j.ID, r)
	if err != nil {
		return fmt.Errorf("record dead task %s of %s: %w", r.Key, j.ID, err)
	}
	return s.maybeFinishReset(ctx, after)
}
