package apigw

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
	"github.com/libaccounts/libaccounts/internal/logging"
)

// Browser sessions: a page signs in with "X-Session: cookie" and gets the
// token as an HttpOnly cookie no script can read, plus an anti-forgery value
// it must echo in X-CSRF-Token on every write. __Host- pins both to this
// origin (Secure, Path=/, no Domain); SameSite=Strict keeps other sites'
// pages from sending them at all.
const (
	sessionCookie = "__Host-session"
	csrfCookie    = "__Host-csrf"
	sessionHeader = "x-session"
	csrfHeader    = "x-csrf-token"
)

// cookieLoginResponse is a browser sign-in's answer: the token is in the
// HttpOnly cookie and nowhere a script could read it.
type cookieLoginResponse struct {
	ExpiresAt          time.Time `json:"expiresAt"`
	MustChangePassword bool      `json:"mustChangePassword"`
}

// Login is POST /v1/auth/login.
func (a *API) Login(ctx context.Context, req Request) (Response, error) {
	var cookieSession *accounts.LoginResult
	resp, err := a.serve(ctx, req, func(ctx context.Context, req Request) (reply, error) {
		asCookie := false
		if v, ok := lookupHeader(req, sessionHeader); ok {
			if !strings.EqualFold(strings.TrimSpace(v), "cookie") {
				return reply{}, accounts.E(accounts.CodeInvalid, "X-Session must be \"cookie\" (or left out for a bearer token)")
			}
			asCookie = true
		}
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
		if asCookie {
			cookieSession = &res
			return reply{status: http.StatusOK, body: cookieLoginResponse{ExpiresAt: res.ExpiresAt, MustChangePassword: res.MustChangePassword}}, nil
		}
		return reply{status: http.StatusOK, body: apiwire.LoginResponse{Token: res.Token, ExpiresAt: res.ExpiresAt, MustChangePassword: res.MustChangePassword}}, nil
	})
	if err == nil && cookieSession != nil && resp.StatusCode == http.StatusOK {
		resp.Cookies = sessionCookies(cookieSession.Token, cookieSession.ExpiresAt, req)
	}
	return resp, err
}

// sessionCookies are the two cookies of a browser session, living as long
// as the session can.
func sessionCookies(token string, expires time.Time, req Request) []string {
	session := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
	// Readable by the page's scripts: that is how they echo it.
	csrf := &http.Cookie{Name: csrfCookie, Value: accounts.SessionCSRF(token), Path: "/", Secure: true, SameSite: http.SameSiteStrictMode}
	for _, c := range []*http.Cookie{session, csrf} {
		if ms := req.RequestContext.TimeEpoch; ms > 0 {
			// Counted from API Gateway's clock for this request, rounded
			// down so the cookie never outlives the session.
			c.MaxAge = max(1, int(expires.Sub(time.UnixMilli(ms))/time.Second))
		} else {
			c.Expires = expires
		}
	}
	return []string{session.String(), csrf.String()}
}

// expiredCookies tell the browser to drop both session cookies.
func expiredCookies() []string {
	var out []string
	for _, c := range []*http.Cookie{
		{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode},
		{Name: csrfCookie, Path: "/", MaxAge: -1, Secure: true, SameSite: http.SameSiteStrictMode},
	} {
		out = append(out, c.String())
	}
	return out
}

// Logout is POST /v1/auth/logout. Its answer always drops the browser
// session's cookies: whatever became of the session, the page asked to be
// signed out.
func (a *API) Logout(ctx context.Context, req Request) (Response, error) {
	resp, err := a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		return reply{status: http.StatusNoContent}, a.svc.Logout(ctx, c)
	})
	if err == nil {
		resp.Cookies = expiredCookies()
	}
	return resp, err
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
// that API Gateway answers 500 instead of denying a good session.
//
// The token comes as "Authorization: Bearer" (the CLI, scripts) or as the
// browser session's cookie. A browser sends the cookie by itself, so a
// write carried by it must prove it comes from our own pages: the
// X-CSRF-Token only they can read, and no foreign Origin.
func (a *API) Authorize(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	ctx = logging.WithRequestID(ctx, req.RequestContext.RequestID)
	deny := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
	token, ok := bearer(req)
	via := "bearer"
	if !ok {
		if token, ok = cookieToken(req); !ok {
			a.log.InfoContext(ctx, "authorizer deny", "route", req.RouteKey, "reason", "no bearer token or session cookie")
			return deny, nil
		}
		via = "cookie"
		if reason := checkCookieWrite(req, token); reason != "" {
			a.log.InfoContext(ctx, "authorizer deny", "route", req.RouteKey, "credential", via, "reason", reason)
			return deny, nil
		}
	}
	auth, err := a.svc.Authorize(ctx, token)
	var ce *accounts.Error
	if errors.As(err, &ce) && (ce.Code == accounts.CodeUnauthorized || ce.Code == accounts.CodeNotFound) {
		a.log.InfoContext(ctx, "authorizer deny", "route", req.RouteKey, "credential", via, "reason", ce.Message)
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
	raw := authzHeader(req, "authorization")
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

// cookieToken finds the browser session's cookie. Payload 2.0 moves the
// Cookie header into its own list; the header is read too in case a caller
// (a test, another gateway) leaves it there.
func cookieToken(req events.APIGatewayV2CustomAuthorizerV2Request) (string, bool) {
	pairs := req.Cookies
	if h := authzHeader(req, "cookie"); h != "" {
		pairs = append(pairs[:len(pairs):len(pairs)], strings.Split(h, ";")...)
	}
	for _, pair := range pairs {
		name, value, _ := strings.Cut(strings.TrimSpace(pair), "=")
		// A __Host- cookie exists once per origin, so the first is the one.
		if name == sessionCookie {
			value = strings.TrimSpace(value)
			return value, value != ""
		}
	}
	return "", false
}

// checkCookieWrite says why a request carried by the session cookie must be
// refused, or "" when it may go on: a read may (SameSite=Strict keeps other
// sites from sending the cookie, and a read changes nothing); a write needs
// the anti-forgery value and, when the browser names an Origin, ours.
func checkCookieWrite(req events.APIGatewayV2CustomAuthorizerV2Request, token string) string {
	switch strings.ToUpper(req.RequestContext.HTTP.Method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return ""
	}
	if origin := authzHeader(req, "origin"); origin != "" && !strings.EqualFold(origin, ownOrigin(req)) {
		return "cross-origin write"
	}
	got := authzHeader(req, csrfHeader)
	if got == "" {
		return "write without X-CSRF-Token"
	}
	if !accounts.ValidSessionCSRF(token, got) {
		return "X-CSRF-Token does not match the session"
	}
	return ""
}

// ownOrigin is the origin the request was sent to, as the browser would
// write it in Origin.
func ownOrigin(req events.APIGatewayV2CustomAuthorizerV2Request) string {
	scheme := authzHeader(req, "x-forwarded-proto")
	if scheme == "" {
		scheme = "https"
	}
	host := authzHeader(req, "host")
	if host == "" {
		host = req.RequestContext.DomainName
	}
	if port := authzHeader(req, "x-forwarded-port"); port != "" && !strings.Contains(host, ":") &&
		!(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		host += ":" + port
	}
	return scheme + "://" + host
}

// authzHeader is a header of the authorizer's request; payload 2.0 sends
// them in lower case, a test may not.
func authzHeader(req events.APIGatewayV2CustomAuthorizerV2Request, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
