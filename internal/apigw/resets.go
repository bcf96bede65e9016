package apigw

import (
	"context"
	"net/http"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// StartPasswordReset is POST /v1/admin/password-resets: a bulk reset job,
// answered 202 with its ID once it is recorded and its first tasks queued
// (a dry run too: its result is the job's report). The body's
// defaultPassword goes to the domain and nowhere else: no answer, log line
// or error of this package holds it.
func (a *API) StartPasswordReset(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noQuery(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		var in apiwire.PasswordResetRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		j, err := a.svc.StartPasswordReset(ctx, c, accounts.PasswordResetInput{
			Scope: in.Scope, UserIDs: in.UserIDs, SetID: in.SetID, Mode: in.Mode,
			DefaultPassword: in.DefaultPassword, InvalidateCurrent: in.InvalidateCurrent, DryRun: in.DryRun,
		})
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusAccepted, body: apiwire.StartPasswordResetResponse{JobID: j.ID, Job: jobViewOf(j)}}, nil
	})
}
