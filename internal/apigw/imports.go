package apigw

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// importViewOf is an import job as staff see it (apiwire.Import): what it
// does, where it is and what it did so far. A set import's counts are named
// for what they mean there.
func importViewOf(j accounts.Job) apiwire.Import {
	v := apiwire.Import{
		ID: j.ID, Kind: string(j.Kind), Mode: string(j.Mode), DryRun: j.DryRun, SetName: j.SetName, SetID: j.SetID,
		Status: string(j.Status), Format: j.Format, Percent: j.Percent(), CreatedAt: j.CreatedAt.UTC(),
		StartedAt: optionalTime(j.StartedAt), FinishedAt: optionalTime(j.FinishedAt), Error: j.Error,
	}
	if j.Kind == accounts.JobSet {
		v.Counts = apiwire.ImportCounts{Rows: j.Rows, Added: j.Created, Duplicates: j.Skipped, NotFound: j.Failed}
	} else {
		v.Counts = apiwire.ImportCounts{Rows: j.Rows, Created: j.Created, Updated: j.Updated, Skipped: j.Skipped, Failed: j.Failed}
	}
	if j.StartedBy != "" {
		v.StartedBy = &apiwire.Starter{ID: j.StartedBy, Username: j.StartedByUsername}
	}
	return v
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// The start answer (apiwire.StartImportResponse) carries the upload URL: a
// short-lived capability to write the job's file. It goes to the caller and
// nowhere else (no log line of this package holds a response body).

// StartImport is POST /v1/admin/imports: a pending job and the pre-signed
// URL to PUT its CSV file to. Every field has a default, so the body may be
// left out.
func (a *API) StartImport(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		var in apiwire.StartImportRequest
		if err := decodeOptionalJSON(req, &in); err != nil {
			return reply{}, err
		}
		out, err := a.svc.StartImport(ctx, c, accounts.StartImportInput{
			Kind: accounts.JobKind(in.Kind), Mode: accounts.ImportMode(in.Mode), DryRun: in.DryRun, SetName: in.SetName, AllowStaffRoles: in.AllowStaffRoles,
		})
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: apiwire.StartImportResponse{
			ImportID: out.Job.ID, UploadURL: out.UploadURL, UploadHeaders: out.UploadHeaders, ExpiresAt: out.ExpiresAt.UTC(), Import: importViewOf(out.Job),
		}}, nil
	})
}

// Page sizes the domain accepts; checked here too so that "0" is refused
// rather than read as "the default".
const (
	maxImportsPage = 200
	maxMembersPage = 1000
)

// noQuery refuses any query parameter on a route that takes none.
func noQuery(p map[string]string) error {
	for k := range p {
		return accounts.FieldError(k, "unknown query parameter %q: this route takes none", accounts.Truncate(k, 40))
	}
	return nil
}

// pageQuery reads limit and cursor, the only parameters of a paged listing.
func pageQuery(p map[string]string, maxLimit int) (int, string, error) {
	if err := knownParams(p, "limit", "cursor"); err != nil {
		return 0, "", err
	}
	limit := 0
	if v, ok := p["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, "", accounts.FieldError("limit", "limit must be a whole number between 1 and %d", maxLimit)
		}
		limit = n
	}
	return limit, p["cursor"], nil
}

// ListImports is GET /v1/admin/imports: the tenant's jobs, newest first.
func (a *API) ListImports(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		limit, cursor, err := pageQuery(req.QueryStringParameters, maxImportsPage)
		if err != nil {
			return reply{}, err
		}
		jobs, next, err := a.svc.ListImports(ctx, c, limit, cursor)
		if err != nil {
			return reply{}, err
		}
		out := apiwire.ImportList{Imports: make([]apiwire.Import, len(jobs)), NextCursor: next}
		for i, j := range jobs {
			out.Imports[i] = importViewOf(j)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

// GetImport is GET /v1/admin/imports/{id}.
func (a *API) GetImport(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		j, err := a.svc.GetImport(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: importViewOf(j)}, nil
	})
}

// CancelImport is POST /v1/admin/imports/{id}/cancel. Rows imported so far
// stay; a job that has ended answers 409.
func (a *API) CancelImport(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		// No body is needed; one that is sent must be {}.
		if err := decodeOptionalJSON(req, &struct{}{}); err != nil {
			return reply{}, err
		}
		j, err := a.svc.CancelImport(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: importViewOf(j)}, nil
	})
}

const (
	// maxInlineReport keeps a report answered inline well inside Lambda's
	// 6 MB response payload, as the audit export does.
	maxInlineReport = maxExportBytes
	// reportURLTTL is how long the download link of a stored report works.
	reportURLTTL = 5 * time.Minute
)

// WithReports lets ImportReport store reports too large to answer inline in
// bucket (under reports/<tenant>/), and answer with a short-lived link.
func (a *API) WithReports(blobs accounts.Blobs, bucket string) *API {
	a.reports, a.reportBucket = blobs, bucket
	return a
}

// reportKey is where the report of a job too large to answer inline is
// stored.
func reportKey(tenantID, jobID string) string { return "reports/" + tenantID + "/" + jobID + ".csv" }

type reportMoved struct {
	Message string `json:"message"`
	URL     string `json:"url"`
}

// ImportReport is GET /v1/admin/imports/{id}/report: the job's rows and
// outcomes as CSV. Up to 4 MiB it is the answer; a larger one is stored
// and the answer is 303 See Other to a link that works for five minutes.
func (a *API) ImportReport(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		return a.csvReport(ctx, c, req, "import", func(id string, w io.Writer) (accounts.Job, error) {
			return a.svc.ImportReport(ctx, c, id, w)
		})
	})
}

// csvReport answers a job's report written by write: inline up to the
// limit, else stored and answered 303 with a short-lived link. name starts
// the file name the answer suggests.
func (a *API) csvReport(ctx context.Context, c accounts.Caller, req Request, name string, write func(id string, w io.Writer) (accounts.Job, error)) (reply, error) {
	if err := noQuery(req.QueryStringParameters); err != nil {
		return reply{}, err
	}
	id := req.PathParameters["id"]
	sink := &reportSink{limit: a.reportInline}
	if sink.limit <= 0 {
		sink.limit = maxInlineReport
	}
	key := reportKey(c.TenantID, id)
	if a.reports != nil && a.reportBucket != "" {
		sink.store = func(r io.Reader) error {
			return a.reports.Put(ctx, a.reportBucket, key, r, "text/csv; charset=utf-8")
		}
	}
	j, err := write(id, sink)
	if !sink.spilled() {
		if errors.Is(err, errReportTooLarge) {
			return reply{}, &accounts.Error{Code: accounts.CodeUnavailable, Message: "the report is too large to send and no report storage is configured", Err: err}
		}
		if err != nil {
			return reply{}, err
		}
		return reply{
			status: http.StatusOK,
			raw:    &rawBody{contentType: "text/csv; charset=utf-8", data: sink.buf.String()},
			// The id passed the domain's check, so it is safe in a header.
			header: map[string]string{"Content-Disposition": fmt.Sprintf(`attachment; filename="%s-%s.csv"`, name, j.ID)},
		}, nil
	}
	if err := sink.finish(err); err != nil {
		return reply{}, err
	}
	link, err := a.reports.PresignGet(ctx, a.reportBucket, key, reportURLTTL)
	if err != nil {
		return reply{}, err
	}
	// The link is a capability like the upload URL: it is in the answer
	// only, never in a log line.
	return reply{
		status: http.StatusSeeOther,
		body: reportMoved{
			Message: fmt.Sprintf("The report is larger than %d MiB; download it from url within %d minutes.", maxInlineReport>>20, int(reportURLTTL/time.Minute)),
			URL:     link,
		},
		header: map[string]string{"Location": link},
	}, nil
}

var (
	errReportTooLarge = errors.New("report too large to answer inline")
	errStoreStopped   = errors.New("report storage stopped reading")
)

// reportSink keeps a report in memory up to limit bytes. Past that it
// streams the report (what it kept, then the rest) to store, so a large
// report is written once and not held here.
type reportSink struct {
	buf   bytes.Buffer
	limit int
	store func(io.Reader) error // nil: a report past limit fails with errReportTooLarge
	pw    *io.PipeWriter
	done  chan error
}

func (s *reportSink) spilled() bool { return s.pw != nil }

func (s *reportSink) Write(p []byte) (int, error) {
	if s.pw == nil {
		if s.buf.Len()+len(p) <= s.limit {
			return s.buf.Write(p)
		}
		if s.store == nil {
			return 0, errReportTooLarge
		}
		pr, pw := io.Pipe()
		s.pw, s.done = pw, make(chan error, 1)
		go func() {
			err := s.store(pr)
			// A store that failed (or stopped reading) must not leave the
			// report blocked on the pipe: its writes now fail with err.
			pr.CloseWithError(cmp.Or(err, errStoreStopped))
			s.done <- err
		}()
		kept := s.buf.Bytes()
		s.buf = bytes.Buffer{}
		if _, err := pw.Write(kept); err != nil {
			return 0, err
		}
	}
	return s.pw.Write(p)
}

// finish ends a spilled report. writeErr, the report's own error, aborts
// the upload (when the store failed first, writeErr wraps its error);
// otherwise finish waits for the store and returns its result.
func (s *reportSink) finish(writeErr error) error {
	if writeErr != nil {
		s.pw.CloseWithError(writeErr)
		<-s.done
		return writeErr
	}
	s.pw.Close()
	return <-s.done
}
