package apigw

import (
	"context"
	"net/http"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// createUserRequest leaves the lists nil when they are absent (or null) and
// empty when they are [], which is how the domain tells "copy them from
// copySettingsFrom" from "none".
type createUserRequest = apiwire.CreateUserRequest

type createUserResponse = apiwire.CreateUserResponse

// CreateUser is POST /v1/admin/users.
func (a *API) CreateUser(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in createUserRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		out, err := a.svc.CreateUser(ctx, c, accounts.CreateUserInput(in))
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: createUserResponse{User: viewOf(out.User), GeneratedPassword: out.GeneratedPassword}}, nil
	})
}

// GetUser is GET /v1/admin/users/{id}. The ETag is the user's version, to
// send back in If-Match when editing.
func (a *API) GetUser(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		u, err := a.svc.GetUser(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: viewOf(u), header: etag(u.Version)}, nil
	})
}

type listUsersResponse = apiwire.UserList

var listParams = []string{"limit", "cursor", "role", "noRole", "status", "prefix", "email", "barcode", "primaryId"}

// ListUsers is GET /v1/admin/users.
func (a *API) ListUsers(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		q, err := listQuery(req.QueryStringParameters)
		if err != nil {
			return reply{}, err
		}
		page, err := a.svc.ListUsers(ctx, c, q)
		if err != nil {
			return reply{}, err
		}
		out := listUsersResponse{Users: make([]userView, len(page.Users)), NextCursor: page.NextCursor}
		for i, u := range page.Users {
			out.Users[i] = viewOf(u)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

func listQuery(p map[string]string) (accounts.UserQuery, error) {
	if err := knownParams(p, listParams...); err != nil {
		return accounts.UserQuery{}, err
	}
	q := accounts.UserQuery{
		Cursor: p["cursor"], Role: p["role"], Status: accounts.Status(p["status"]), Prefix: p["prefix"],
		Email: p["email"], Barcode: p["barcode"], PrimaryID: p["primaryId"],
	}
	if v := p["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return q, accounts.FieldError("limit", "limit must be a whole number")
		}
		q.Limit = n
		if n == 0 {
			return q, accounts.FieldError("limit", "limit must be between 1 and 200")
		}
	}
	if v := p["noRole"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return q, accounts.FieldError("noRole", "noRole must be true or false")
		}
		q.NoRole = b
	}
	return q, nil
}
