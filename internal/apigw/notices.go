package apigw

import (
	"context"
	"net/http"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// noticeOf is what staff see of a notice: never its text or address.
func noticeOf(n accounts.Notice) apiwire.Notice {
	v := apiwire.Notice{ID: n.ID, Kind: string(n.Kind), Status: string(n.Status), Attempts: n.Attempts, Reason: n.Reason, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
	if !n.SentAt.IsZero() {
		at := n.SentAt
		v.SentAt = &at
	}
	return v
}

// ListUserNotices is GET /v1/admin/users/{id}/notices.
func (a *API) ListUserNotices(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		p := req.QueryStringParameters
		if err := knownParams(p, "limit", "cursor"); err != nil {
			return reply{}, err
		}
		limit := 0
		if v := p["limit"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n == 0 {
				return reply{}, accounts.FieldError("limit", "limit must be a whole number between 1 and 200")
			}
			limit = n
		}
		page, err := a.svc.ListUserNotices(ctx, c, req.PathParameters["id"], limit, p["cursor"])
		if err != nil {
			return reply{}, err
		}
		out := apiwire.NoticeList{Notices: make([]apiwire.Notice, len(page.Notices)), NextCursor: page.NextCursor}
		for i, n := range page.Notices {
			out.Notices[i] = noticeOf(n)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}
