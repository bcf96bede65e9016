package accounts

import (
	"context"
	"encoding/hex"
	"io"
	"time"

	"github.com/libaccounts/libaccounts/internal/logging"
)

// AuditEvent records one staff action: who did what to whom, when, in which
// request, and which fields changed — names only, never values, so that no
// secret or personal detail is copied into the trail.
type AuditEvent struct {
	TenantID       string
	ID             string
	At             time.Time
	ActorID        string
	ActorUsername  string
	Action         string
	TargetID       string
	TargetUsername string
	RequestID      string
	Fields         []string
	Detail         string // a fixed phrase, e.g. "generated, to be e-mailed"
}

// Audit actions.
const (
	ActionUserCreate        = "user.create"
	ActionUserUpdate        = "user.update"
	ActionUserPasswordReset = "user.password_reset"
	ActionUserResetLink     = "user.password_reset_link"
	ActionUserDeactivate    = "user.deactivate"
	ActionUserReactivate    = "user.reactivate"
	ActionUserUnlock        = "user.unlock"
	ActionUserDelete        = "user.delete"
	ActionSettingsUpdate    = "settings.update"
	ActionTenantBootstrap   = "tenant.bootstrap"
)

// AuditRetention is how long the trail is kept at least.
const AuditRetention = 400 * 24 * time.Hour

// AuditQuery filters the trail; zero fields do not filter. From and To bound
// the time (To defaults to now, From to a year before To).
type AuditQuery struct {
	ActorID  string
	TargetID string
	Action   string
	From     time.Time
	To       time.Time
	Limit    int
	Cursor   string
}

// AuditPage is a page of the trail, newest first.
type AuditPage struct {
	Events     []AuditEvent
	NextCursor string
}

func newEventID(r io.Reader) string {
	b := make([]byte, 10)
	if _, err := io.ReadFull(r, b); err != nil {
		return "0"
	}
	return hex.EncodeToString(b)
}

// audit builds the event for an action of p on target.
func (s *Service) audit(ctx context.Context, p Principal, action string, target User, fields ...string) *AuditEvent {
	return &AuditEvent{
		TenantID: p.TenantID, ID: newEventID(s.rand), At: s.now(),
		ActorID: p.UserID, ActorUsername: p.Username, Action: action,
		TargetID: target.ID, TargetUsername: target.Username,
		RequestID: logging.RequestID(ctx), Fields: fields,
	}
}

// ListAudit pages through the caller's tenant's trail.
func (s *Service) ListAudit(ctx context.Context, c Caller, q AuditQuery) (AuditPage, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return AuditPage{}, err
	}
	switch {
	case q.Limit == 0:
		q.Limit = defaultPageSize
	case q.Limit < 1 || q.Limit > 1000:
		return AuditPage{}, FieldError("limit", "limit must be between 1 and 1000")
	}
	if q.To.IsZero() {
		q.To = s.now()
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-AuditRetention)
	}
	if q.From.After(q.To) {
		return AuditPage{}, FieldError("from", "from must be before to")
	}
	if q.To.Sub(q.From) > 2*AuditRetention {
		return AuditPage{}, FieldError("from", "the time range may span at most two years")
	}
	if q.ActorID != "" && !ValidUserID(q.ActorID) && q.ActorID != OperatorActor {
		return AuditPage{}, FieldError("actor", "actor must be a user id")
	}
	if q.TargetID != "" && !ValidUserID(q.TargetID) {
		return AuditPage{}, FieldError("target", "target must be a user id")
	}
	return s.store.ListAudit(ctx, p.TenantID, q)
}

// OperatorActor stands for the operator's command line in the trail.
const OperatorActor = "operator"
