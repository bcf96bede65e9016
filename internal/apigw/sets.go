package apigw

import (
	"context"
	"net/http"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// The set bodies are the CLI's too.
type (
	setView         = apiwire.Set
	setMemberView   = apiwire.SetMember
	setListResponse = apiwire.SetList
	setResponse     = apiwire.SetDetail
)

func setViewOf(s accounts.Set) setView {
	return setView{ID: s.ID, Name: s.Name, Status: string(s.Status), Members: s.Members, ImportID: s.JobID, CreatedAt: s.CreatedAt.UTC()}
}

// ListSets is GET /v1/admin/sets: the tenant's sets, newest first.
func (a *API) ListSets(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		sets, err := a.svc.ListSets(ctx, c)
		if err != nil {
			return reply{}, err
		}
		out := setListResponse{Sets: make([]setView, len(sets))}
		for i, s := range sets {
			out.Sets[i] = setViewOf(s)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

// GetSet is GET /v1/admin/sets/{id}: the set and a page of its members.
func (a *API) GetSet(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		limit, cursor, err := pageQuery(req.QueryStringParameters, maxMembersPage)
		if err != nil {
			return reply{}, err
		}
		set, members, next, err := a.svc.GetSet(ctx, c, req.PathParameters["id"], limit, cursor)
		if err != nil {
			return reply{}, err
		}
		out := setResponse{Set: setViewOf(set), Members: make([]setMemberView, len(members)), NextCursor: next}
		for i, m := range members {
			out.Members[i] = setMemberView{UserID: m.UserID, Username: m.Username, PrimaryID: m.PrimaryID, Row: m.Row}
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

// DeleteSet is DELETE /v1/admin/sets/{id}; the users stay. A set still
// being built answers 409.
func (a *API) DeleteSet(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		if err := noBody(req, "a set is deleted by its id alone"); err != nil {
			return reply{}, err
		}
		if err := a.svc.DeleteSet(ctx, c, req.PathParameters["id"]); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: message{"Set deleted"}}, nil
	})
}
