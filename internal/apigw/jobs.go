package apigw

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// maxJobsPage is the largest page of the task centre's listing.
const maxJobsPage = 200

// jobViewOf is a job of any kind as the task centre shows it
// (apiwire.Job). A reset's default-password hash, its except list and an
// import's object key stay inside.
func jobViewOf(j accounts.Job) apiwire.Job {
	v := apiwire.Job{
		ID: j.ID, Kind: string(j.Kind), Status: string(j.Status), Percent: j.Percent(), DryRun: j.DryRun,
		SetName: j.SetName, SetID: j.SetID, Format: j.Format, CreatedAt: j.CreatedAt.UTC(),
		StartedAt: optionalTime(j.StartedAt), FinishedAt: optionalTime(j.FinishedAt), Error: j.Error,
	}
	switch j.Kind {
	case accounts.JobPasswordReset:
		v.Mode, v.Scope, v.InvalidateCurrent = j.ResetMode, j.Scope, j.InvalidateCurrent
		v.Counts = apiwire.JobCounts{Matched: j.Matched, Changed: j.Changed, NoEmail: j.NoEmail,
			ImportCounts: apiwire.ImportCounts{Skipped: j.Skipped, Failed: j.Failed}}
		v.Notices = &apiwire.JobNotices{Sent: j.NoticesSent, Failed: j.NoticesFailed, Pending: j.NoticesPending}
	default:
		v.Mode = string(j.Mode)
		v.Counts = apiwire.JobCounts{ImportCounts: importViewOf(j).Counts}
	}
	if j.StartedBy != "" {
		v.StartedBy = &apiwire.Starter{ID: j.StartedBy, Username: j.StartedByUsername}
	}
	return v
}

// ListJobs is GET /v1/admin/jobs: the tenant's jobs of every kind, newest
// first, filtered by kind and status when asked. Which kinds and statuses
// exist is the domain's to say.
func (a *API) ListJobs(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		p := req.QueryStringParameters
		if err := knownParams(p, "kind", "status", "limit", "cursor"); err != nil {
			return reply{}, err
		}
		limit := 0
		if v, ok := p["limit"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxJobsPage {
				return reply{}, accounts.FieldError("limit", "limit must be a whole number between 1 and %d", maxJobsPage)
			}
			limit = n
		}
		jobs, next, err := a.svc.ListJobs(ctx, c, p["kind"], p["status"], limit, p["cursor"])
		if err != nil {
			return reply{}, err
		}
		out := apiwire.JobList{Jobs: make([]apiwire.Job, len(jobs)), NextCursor: next}
		for i, j := range jobs {
			out.Jobs[i] = jobViewOf(j)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

// GetJob is GET /v1/admin/jobs/{id}.
func (a *API) GetJob(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		j, err := a.svc.GetJob(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: jobViewOf(j)}, nil
	})
}

// CancelJob is POST /v1/admin/jobs/{id}/cancel: the job ends cancelled with
// its finish time; what it did so far stays. A job that has ended answers
// 409.
func (a *API) CancelJob(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		// No body is needed; one that is sent must be {}.
		if err := decodeOptionalJSON(req, &struct{}{}); err != nil {
			return reply{}, err
		}
		j, err := a.svc.CancelJob(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: jobViewOf(j)}, nil
	})
}

// JobReport is GET /v1/admin/jobs/{id}/report: any job's outcomes as CSV,
// answered like the import report (inline up to 4 MiB, else 303 to a
// short-lived link).
func (a *API) JobReport(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		return a.csvReport(ctx, c, req, "job", func(id string, w io.Writer) (accounts.Job, error) {
			return a.svc.JobReport(ctx, c, id, w)
		})
	})
}
