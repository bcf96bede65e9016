package apigw

import (
	"context"
	"net/http"
	"strings"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// recoveryAnswer is the one answer to every well-formed recovery request:
// it must not tell whether anything matched.
var recoveryAnswer = message{"If an account matches, we have sent an e-mail with what to do next."}

type forgotPasswordRequest struct {
	Tenant     string `json:"tenant"`
	Identifier string `json:"identifier"`
}

type forgotUsernameRequest struct {
	Tenant string `json:"tenant"`
	Email  string `json:"email"`
}

// ForgotPassword is POST /v1/auth/forgot-password, public like login: the
// identifier is a username, a barcode or an e-mail address.
func (a *API) ForgotPassword(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context, req Request) (reply, error) {
		var in forgotPasswordRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		return a.recover(ctx, req, accounts.RecoveryInput{Kind: accounts.RecoverPassword, Tenant: strings.TrimSpace(in.Tenant), Identifier: in.Identifier})
	})
}

// ForgotUsername is POST /v1/auth/forgot-username, public like login.
func (a *API) ForgotUsername(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context, req Request) (reply, error) {
		var in forgotUsernameRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		return a.recover(ctx, req, accounts.RecoveryInput{Kind: accounts.RecoverUsername, Tenant: strings.TrimSpace(in.Tenant), Identifier: in.Email})
	})
}

func (a *API) recover(ctx context.Context, req Request, in accounts.RecoveryInput) (reply, error) {
	// The address API Gateway saw, never a header the caller could set.
	in.Source = req.RequestContext.HTTP.SourceIP
	if err := a.svc.RequestRecovery(ctx, in); err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusAccepted, body: recoveryAnswer}, nil
}
