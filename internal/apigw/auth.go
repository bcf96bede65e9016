package apigw

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
	"github.com/libaccounts/libaccounts/internal/logging"
)

// Login is POST /v1/auth/login.
func (a *API) Login(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context, req Request) (reply, error) {
		var in apiwire.LoginRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		res, err := a.svc.Login(ctx, accounts.LoginInput{
			Tenant: strings.TrimSpace(in.Tenant), Username: in.Username, Password: in.Password,
			// API Gateway's view of the peer, not a header the caller
			// could set.
			SourceIP: req.RequestContext.HTTP.SourceIP,
		})
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: apiwire.LoginResponse{Token: res.Token, ExpiresAt: res.ExpiresAt, MustChangePassword: res.MustChangePassword}}, nil
	})
}

// Logout is POST /v1/auth/logout.
func (a *API) Logout(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		return reply{status: http.StatusNoContent}, a.svc.Logout(ctx, c)
	})
}

// Me is GET /v1/me.
func (a *API) Me(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		u, err := a.svc.Me(ctx, c)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: selfView(u)}, nil
	})
}

type message struct {
	Message string `json:"message"`
}

// ChangePassword is POST /v1/me/password.
func (a *API) ChangePassword(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.ChangePasswordRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		if err := a.svc.ChangePassword(ctx, c, accounts.ChangePasswordInput{CurrentPassword: in.CurrentPassword, NewPassword: in.NewPassword}); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: message{"Successfully updated password; your other sessions were signed out"}}, nil
	})
}

// Authorize is the HTTP API's Lambda REQUEST authorizer (payload 2.0, simple
// responses). A bad token is a plain deny; a failure of ours is an error, so
// that API Gateway answers 500 instead of caching a deny.
func (a *API) Authorize(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	ctx = logging.WithRequestID(ctx, req.RequestContext.RequestID)
	deny := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
	token, ok := bearer(req)
	if !ok {
		a.log.InfoContext(ctx, "authorizer deny", "route", req.RouteKey, "reason", "no bearer token")
		return deny, nil
	}
	auth, err := a.svc.Authorize(ctx, token)
	var ce *accounts.Error
	if errors.As(err, &ce) && (ce.Code == accounts.CodeUnauthorized || ce.Code == accounts.CodeNotFound) {
		a.log.InfoContext(ctx, "authorizer deny", "route", req.RouteKey, "reason", ce.Message)
		return deny, nil
	}
	if err != nil {
		a.log.ErrorContext(ctx, "authorizer failed", "route", req.RouteKey, "error", err.Error())
		return deny, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{
		IsAuthorized: true,
		Context: map[string]any{
			"tenant": auth.Caller.TenantID, "userId": auth.Caller.UserID, "sid": auth.Caller.SessionID,
			"roles": strings.Join(auth.Roles, ","), "mustChangePassword": auth.MustChangePassword,
		},
	}, nil
}

// bearer finds "Bearer <token>" in the identity source or the header.
func bearer(req events.APIGatewayV2CustomAuthorizerV2Request) (string, bool) {
	raw := req.Headers["authorization"]
	if len(req.IdentitySource) > 0 && req.IdentitySource[0] != "" {
		raw = req.IdentitySource[0]
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(raw), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
