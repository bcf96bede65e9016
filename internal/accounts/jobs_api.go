package accounts

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// GetImport returns one job of the caller's tenant.
func (s *Service) GetImport(ctx context.Context, c Caller, id string) (Job, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Job{}, err
	}
	return s.job(ctx, p, id)
}

func (s *Service) job(ctx context.Context, p Principal, id string) (Job, error) {
	if !ValidUserID(id) {
		return Job{}, E(CodeNotFound, "import not found")
	}
	j, err := s.store.GetJob(ctx, p.TenantID, id)
	if IsCode(err, CodeNotFound) {
		return Job{}, E(CodeNotFound, "import not found")
	}
	return j, err
}

// ListImports pages through the caller's tenant's jobs, newest first: the
// task centre's list without filters.
func (s *Service) ListImports(ctx context.Context, c Caller, limit int, cursor string) ([]Job, string, error) {
	return s.ListJobs(ctx, c, "", "", limit, cursor)
}

// CancelImport stops an import: rows already imported stay, the rest are
// not touched, and the job ends now with its finish time (chunks still
// queued find it ended), as CancelJob ends every kind. A job that has
// ended cannot be cancelled.
func (s *Service) CancelImport(ctx context.Context, c Caller, id string) (Job, error) {
	return s.CancelJob(ctx, c, id)
}

// ImportReport writes a job's report as CSV: row, username or ID, outcome,
// reason. Cells are neutralised against spreadsheet formulas.
func (s *Service) ImportReport(ctx context.Context, c Caller, id string, w io.Writer) (Job, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Job{}, err
	}
	j, err := s.job(ctx, p, id)
	if err != nil {
		return Job{}, err
	}
	rw := importcsv.NewReportWriter(w)
	subject := "username"
	if j.Kind == JobSet {
		subject = "id"
	}
	if err := rw.Write("row", subject, "outcome", "reason"); err != nil {
		return Job{}, err
	}
	if j.Status == JobFailed {
		if err := rw.Write("", "", "file_refused", j.Error); err != nil {
			return Job{}, err
		}
		return j, rw.Flush()
	}
	err = s.store.ChunkOutcomes(ctx, j.TenantID, j.ID, func(rows []RowOutcome) error {
		for _, o := range rows {
			if err := rw.Write(strconv.Itoa(o.Row), o.Subject, o.Outcome, o.Reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("report %s: %w", j.ID, err)
	}
	return j, rw.Flush()
}

// ListSets returns the caller's tenant's sets.
func (s *Service) ListSets(ctx context.Context, c Caller) ([]Set, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return nil, err
	}
	return s.store.ListSets(ctx, p.TenantID)
}

// GetSet returns a set and a page of its members.
func (s *Service) GetSet(ctx context.Context, c Caller, id string, limit int, cursor string) (Set, []SetMember, string, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Set{}, nil, "", err
	}
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 1 || limit > 1000:
		return Set{}, nil, "", FieldError("limit", "limit must be between 1 and 1000")
	}
	if !ValidUserID(id) {
		return Set{}, nil, "", E(CodeNotFound, "set not found")
	}
	set, err := s.store.GetSet(ctx, p.TenantID, id)
	if err != nil {
		return Set{}, nil, "", err
	}
	members, next, err := s.store.ListSetMembers(ctx, p.TenantID, id, limit, cursor)
	if err != nil {
		return Set{}, nil, "", err
	}
	return set, members, next, nil
}

// DeleteSet removes a set; its users are untouched.
func (s *Service) DeleteSet(ctx context.Context, c Caller, id string) error {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return err
	}
	if !ValidUserID(id) {
		return E(CodeNotFound, "set not found")
	}
	set, err := s.store.GetSet(ctx, p.TenantID, id)
	if err != nil {
		return err
	}
	if set.Status == SetBuilding {
		return E(CodeConflict, "the set is still being built; cancel its import first")
	}
	if err := s.store.DeleteSet(ctx, p.TenantID, id); err != nil {
		return fmt.Errorf("delete set %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "set deleted", "tenant", p.TenantID, "set", id, "by", p.UserID)
	return nil
}
