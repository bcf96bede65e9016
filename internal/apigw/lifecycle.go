package apigw

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// updateUserRequest is a staff edit. A field that is absent or null is left
// as it is; "" clears a string and [] a list (the pointers tell these apart).
type updateUserRequest struct {
	Version            *int64    `json:"version"`
	Username           *string   `json:"username"`
	Email              *string   `json:"email"`
	Barcode            *string   `json:"barcode"`
	PrimaryID          *string   `json:"primaryId"`
	Roles              *[]string `json:"roles"`
	Queues             *[]string `json:"queues"`
	CannedMessagePools *[]string `json:"cannedMessagePools"`
}

// UpdateUser is PATCH /v1/admin/users/{id}: the version read (If-Match or
// "version") is required, so that concurrent edits are not lost.
func (a *API) UpdateUser(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in updateUserRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		version, err := versionOf(req, in.Version)
		if err != nil {
			return reply{}, err
		}
		u, err := a.svc.UpdateUser(ctx, c, req.PathParameters["id"], version, accounts.UserPatch{
			Username: in.Username, Email: in.Email, Barcode: in.Barcode, PrimaryID: in.PrimaryID,
			Roles: in.Roles, Queues: in.Queues, CannedMessagePools: in.CannedMessagePools,
		})
		if err != nil {
			return reply{}, withHint(err, accounts.CodePreconditionRequired, "version",
				` (the ETag of GET /v1/admin/users/{id}, in an If-Match header or as "version" in the body)`)
		}
		return reply{status: http.StatusOK, body: viewOf(u), header: etag(u.Version)}, nil
	})
}

type statusResponse = apiwire.UserStatusResponse

// DeactivateUser is POST /v1/admin/users/{id}/deactivate.
func (a *API) DeactivateUser(ctx context.Context, req Request) (Response, error) {
	return a.setStatus(ctx, req, accounts.StatusInactive)
}

// ReactivateUser is POST /v1/admin/users/{id}/reactivate.
func (a *API) ReactivateUser(ctx context.Context, req Request) (Response, error) {
	return a.setStatus(ctx, req, accounts.StatusActive)
}

func (a *API) setStatus(ctx context.Context, req Request, status accounts.Status) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		// No body is needed; one that is sent must be {}.
		if err := decodeOptionalJSON(req, &struct{}{}); err != nil {
			return reply{}, err
		}
		u, err := a.svc.SetUserStatus(ctx, c, req.PathParameters["id"], status)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: statusResponse{Message: "Successfully Updated User Status", User: viewOf(u)}}, nil
	})
}

// UnlockUser is POST /v1/admin/users/{id}/unlock: it ends a sign-in lock
// and clears the failure count. Unlocking an account that is not locked
// changes nothing and answers the same.
func (a *API) UnlockUser(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := decodeOptionalJSON(req, &struct{}{}); err != nil {
			return reply{}, err
		}
		u, err := a.svc.UnlockUser(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: statusResponse{Message: "Successfully Unlocked User", User: viewOf(u)}}, nil
	})
}

// DeleteUser is DELETE /v1/admin/users/{id}?confirm=<username>. Without the
// confirmation the domain answers 428 and points at deactivation.
func (a *API) DeleteUser(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := knownParams(req.QueryStringParameters, "confirm"); err != nil {
			return reply{}, err
		}
		if err := noBody(req, "repeat the username in the confirm query parameter"); err != nil {
			return reply{}, err
		}
		id := req.PathParameters["id"]
		if err := a.svc.DeleteUser(ctx, c, id, req.QueryStringParameters["confirm"]); err != nil {
			return reply{}, withHint(err, accounts.CodePreconditionRequired, "confirm",
				fmt.Sprintf(" — confirm is a query parameter (?confirm=<username>); deactivating is POST /v1/admin/users/%s/deactivate", url.PathEscape(id)))
		}
		return reply{status: http.StatusOK, body: message{"Successfully Deleted User"}}, nil
	})
}

// maxBulkBody lets a bulk request name 1,000 user ids with room to spare.
const maxBulkBody = 128 << 10

type bulkRequest struct {
	Action  string   `json:"action"`
	IDs     []string `json:"ids"`
	Confirm bool     `json:"confirm"`
}

type bulkResultView struct {
	ID       string        `json:"id"`
	Username string        `json:"username,omitempty"` // absent when no user has the id
	OK       bool          `json:"ok"`
	Code     accounts.Code `json:"code,omitempty"`
	Message  string        `json:"message,omitempty"`
}

type bulkResponse struct {
	Results   []bulkResultView `json:"results"`
	Succeeded int              `json:"succeeded"`
	Failed    int              `json:"failed"`
}

// BulkUsers is POST /v1/admin/users:bulk: one action on many users, with an
// outcome per id; one failure does not stop the others.
func (a *API) BulkUsers(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in bulkRequest
		if err := decodeBody(req, &in, maxBulkBody, false); err != nil {
			return reply{}, err
		}
		results, err := a.svc.BulkUsers(ctx, c, in.Action, in.IDs, in.Confirm)
		if err != nil {
			return reply{}, err
		}
		out := bulkResponse{Results: make([]bulkResultView, len(results))}
		for i, r := range results {
			out.Results[i] = bulkResultView{ID: r.ID, Username: r.Username, OK: r.OK, Code: r.Code, Message: r.Message}
			if r.OK {
				out.Succeeded++
			} else {
				out.Failed++
			}
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

type suggestRequest struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type suggestResponse struct {
	Username string `json:"username"`
}

// SuggestUsername is POST /v1/admin/usernames:suggest.
func (a *API) SuggestUsername(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in suggestRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		u, err := a.svc.SuggestUsername(ctx, c, in.FirstName, in.LastName)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: suggestResponse{Username: u}}, nil
	})
}
