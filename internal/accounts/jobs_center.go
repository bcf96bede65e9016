package accounts

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// resetNoticeParams fills the job-finished letter for a reset job: the
// counts, how many users have no e-mail, and where their list is.
func resetNoticeParams(j Job, v map[string]string) {
	title := "password reset of " + map[string]string{
		ScopeAll: "all users", ScopeAllExcept: "all users except those selected", ScopeNoRole: "all users without a role",
		ScopeSelected: "the selected users", ScopeSet: "set \"" + j.SetName + "\"",
	}[j.Scope]
	v["jobTitle"], v["rows"], v["created"], v["updated"] = title, strconv.Itoa(j.Matched), strconv.Itoa(j.Changed), "0"
	v["noEmail"] = strconv.Itoa(j.NoEmail)
	v["counts"] = fmt.Sprintf("Users matched:    %d\nChanged:          %d\nSkipped:          %d\nWithout e-mail:   %d\nFailed:           %d", j.Matched, j.Changed, j.Skipped, j.NoEmail, j.Failed)
	hint := "Its report lists every user with what happened to them; with the staff command line: libaccounts jobs report " + j.ID
	if j.NoEmail > 0 {
		hint = fmt.Sprintf("%d users have no e-mail address that works and were not reset: tell them another way. ", j.NoEmail) +
			"The report lists them (outcome no_email); with the staff command line: libaccounts jobs report " + j.ID
	}
	v["reportHint"] = hint
}

// ListJobs pages through the caller's tenant's jobs of every kind, newest
// first; kind and status filter when set.
func (s *Service) ListJobs(ctx context.Context, c Caller, kind, status string, limit int, cursor string) ([]Job, string, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return nil, "", err
	}
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 1 || limit > maxPageSize:
		return nil, "", FieldError("limit", "limit must be between 1 and %d", maxPageSize)
	}
	if kind != "" && !validKind(JobKind(kind)) {
		return nil, "", FieldError("kind", "kind must be one of users, set, password_reset")
	}
	if status != "" && !validJobStatus(JobStatus(status)) {
		return nil, "", FieldError("status", "status must be one of pending, validating, running, completed, completed_with_errors, failed, cancelled")
	}
	if kind == "" && status == "" {
		jobs, next, err := s.store.ListJobs(ctx, p.TenantID, limit, cursor)
		return s.withNoticeCounts(ctx, jobs), next, err
	}
	// Filtering reads pages of the listing until one is full: jobs are
	// few (hundreds a year), so this stays a handful of reads.
	var out []Job
	next := cursor
	for range 50 {
		jobs, n, err := s.store.ListJobs(ctx, p.TenantID, limit, next)
		if err != nil {
			return nil, "", err
		}
		for _, j := range jobs {
			if (kind == "" || string(j.Kind) == kind) && (status == "" || string(j.Status) == status) {
				out = append(out, j)
			}
		}
		next = n
		if next == "" || len(out) >= limit {
			break
		}
	}
	return s.withNoticeCounts(ctx, out), next, nil
}

func validKind(k JobKind) bool {
	for _, x := range JobKinds() {
		if x == k {
			return true
		}
	}
	return false
}

func validJobStatus(st JobStatus) bool {
	switch st {
	case JobPending, JobValidating, JobRunning, JobCompleted, JobCompletedWithErrors, JobFailed, JobCancelled:
		return true
	}
	return false
}

func (s *Service) withNoticeCounts(ctx context.Context, jobs []Job) []Job {
	for i := range jobs {
		jobs[i] = s.noticeCounts(ctx, jobs[i])
	}
	return jobs
}

// noticeCounts adds the job's notice outcomes, summed from its sharded
// counters; a failed read leaves them out rather than fail the call.
func (s *Service) noticeCounts(ctx context.Context, j Job) Job {
	if j.Kind != JobPasswordReset {
		return j
	}
	counts, err := s.store.JobNoticeCounts(ctx, j.TenantID, j.ID)
	if err != nil {
		s.log.WarnContext(ctx, "job notice counts not read", "tenant", j.TenantID, "job", j.ID, "error", err.Error())
		return j
	}
	j.NoticesSent = counts[NoticeSent]
	j.NoticesFailed = counts[NoticeFailed] + counts[NoticeBounced] + counts[NoticeComplained] + counts[NoticeSkipped]
	j.NoticesPending = max(j.NoticesRaised-j.NoticesSent-j.NoticesFailed, 0)
	return j
}

// GetJob returns one job of any kind with its notice counts.
func (s *Service) GetJob(ctx context.Context, c Caller, id string) (Job, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Job{}, err
	}
	j, err := s.anyJob(ctx, p, id)
	if err != nil {
		return Job{}, err
	}
	return s.noticeCounts(ctx, j), nil
}

func (s *Service) anyJob(ctx context.Context, p Principal, id string) (Job, error) {
	if !ValidUserID(id) {
		return Job{}, E(CodeNotFound, "job not found")
	}
	j, err := s.store.GetJob(ctx, p.TenantID, id)
	if IsCode(err, CodeNotFound) {
		return Job{}, E(CodeNotFound, "job not found")
	}
	return j, err
}

// JobReport writes any job's report as CSV. An import's is its rows; a
// reset's is username, outcome, reason, notice status and attempts, never
// a password, with cells neutralised against spreadsheet formulas.
func (s *Service) JobReport(ctx context.Context, c Caller, id string, w io.Writer) (Job, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Job{}, err
	}
	j, err := s.anyJob(ctx, p, id)
	if err != nil {
		return Job{}, err
	}
	if j.Kind != JobPasswordReset {
		return s.ImportReport(ctx, c, id, w)
	}
	rw := importcsv.NewReportWriter(w)
	if err := rw.Write("username", "outcome", "reason", "notice_status", "notice_attempts"); err != nil {
		return Job{}, err
	}
	err = s.store.ChunkOutcomes(ctx, j.TenantID, j.ID, func(rows []RowOutcome) error {
		for _, o := range rows {
			st, attempts := "", ""
			if o.NoticeID != "" && o.UserID != "" {
				n, err := s.store.GetNotice(ctx, j.TenantID, o.UserID, o.NoticeID)
				switch {
				case err == nil:
					st, attempts = string(n.Status), strconv.Itoa(n.Attempts)
				case IsCode(err, CodeNotFound):
					st = "gone"
				default:
					return err
				}
			}
			if err := rw.Write(o.Subject, o.Outcome, o.Reason, st, attempts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("report %s: %w", j.ID, err)
	}
	return s.noticeCounts(ctx, j), rw.Flush()
}

// CancelJob ends a job of any kind: at once, as cancelled, with its finish
// time. Work already done stays; tasks still queued find the job ended and
// do nothing.
func (s *Service) CancelJob(ctx context.Context, c Caller, id string) (Job, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Job{}, err
	}
	j, err := s.anyJob(ctx, p, id)
	if err != nil {
		return Job{}, err
	}
	if j.Status.Final() {
		return Job{}, E(CodeConflict, "the job has already ended (%s)", j.Status)
	}
	done, err := s.finishJob(ctx, j, JobCancelled, "")
	if err != nil {
		return Job{}, fmt.Errorf("cancel %s: %w", j.ID, err)
	}
	if !done {
		return Job{}, E(CodeConflict, "the job has just ended; reload it")
	}
	s.log.InfoContext(ctx, "job cancelled", "tenant", j.TenantID, "job", j.ID, "kind", string(j.Kind), "by", p.UserID)
	after, err := s.store.GetJob(ctx, j.TenantID, j.ID)
	if err != nil {
		return Job{}, err
	}
	return s.noticeCounts(ctx, after), nil
}
