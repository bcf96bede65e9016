// Package httpapiemu emulates an Amazon API Gateway HTTP API with Lambda
// proxy integrations (payload format 2.0) and a Lambda REQUEST authorizer
// with simple responses, so the real function binaries can be exercised
// over HTTP locally with the events AWS would send them.
package httpapiemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

const (
	// maxBodyBytes is the HTTP API payload quota.
	maxBodyBytes = 10 * 1024 * 1024
	// defaultIntegrationTimeout is the HTTP API's maximum integration timeout.
	defaultIntegrationTimeout = 30 * time.Second

	accountID     = "123456789012"
	region        = "us-east-1"
	timeLayout    = "02/Jan/2006:15:04:05 -0700"
	requestIDHdr  = "apigw-requestid"
	maxCacheItems = 10000
)

// Route maps a route key ("METHOD path") to a function.
type Route struct {
	Method     string // GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY
	Path       string // e.g. "/v1/admin/users/{id}" or "/files/{proxy+}"
	Function   string
	Authorized bool // protected by the Lambda authorizer
}

// AuthorizerConfig configures the Lambda REQUEST authorizer (payload format
// 2.0, simple responses) used by Authorized routes.
type AuthorizerConfig struct {
	Function string
	// IdentityHeader is the identity source, e.g. "Authorization": a
	// request without it is answered 401 without invoking the authorizer.
	// "" is no identity source: the authorizer then runs on every request
	// and decides alone, and (as API Gateway requires) nothing is cached.
	IdentityHeader string
	TTL            time.Duration // result cache per identity value; 0 disables caching
}

// Invoker invokes a Lambda function synchronously. *lambdaemu.Service
// implements it.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Options configures a Gateway.
type Options struct {
	Logger *slog.Logger     // one line per request; nil means slog.Default()
	APIID  string           // default "local"
	Stage  string           // default "$default"; another stage is served under "/<stage>"
	Now    func() time.Time // clock for request times and the authorizer cache; default time.Now
	// IntegrationTimeout bounds each function invocation (503 when
	// exceeded). Default 30s, the HTTP API maximum.
	IntegrationTimeout time.Duration
}

// Gateway is an http.Handler that behaves like an HTTP API stage.
type Gateway struct {
	routes  []*route
	auth    *AuthorizerConfig
	inv     Invoker
	log     *slog.Logger
	apiID   string
	stage   string
	now     func() time.Time
	timeout time.Duration

	cacheMu sync.Mutex
	cache   map[string]authResult
}

type authResult struct {
	allowed bool
	context map[string]any
	expires time.Time
}

// New validates the routes and returns a Gateway.
func New(routes []Route, auth *AuthorizerConfig, inv Invoker, opts Options) (*Gateway, error) {
	if inv == nil {
		return nil, errors.New("httpapiemu: nil Invoker")
	}
	g := &Gateway{
		inv:     inv,
		log:     opts.Logger,
		apiID:   opts.APIID,
		stage:   opts.Stage,
		now:     opts.Now,
		timeout: opts.IntegrationTimeout,
		cache:   map[string]authResult{},
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.apiID == "" {
		g.apiID = "local"
	}
	if g.stage == "" {
		g.stage = "$default"
	}
	if strings.Contains(g.stage, "/") {
		return nil, fmt.Errorf("httpapiemu: invalid stage %q", g.stage)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.timeout <= 0 {
		g.timeout = defaultIntegrationTimeout
	}
	if auth != nil {
		a := *auth
		if a.Function == "" {
			return nil, errors.New("httpapiemu: authorizer with empty Function")
		}
		if a.TTL < 0 {
			return nil, errors.New("httpapiemu: negative authorizer TTL")
		}
		if a.IdentityHeader == "" && a.TTL != 0 {
			// There would be no identity to cache the answer by.
			return nil, errors.New("httpapiemu: an authorizer without an identity source cannot cache (TTL must be 0)")
		}
		g.auth = &a
	}
	shapes := map[string]string{}
	for _, r := range routes {
		rt, err := compileRoute(r)
		if err != nil {
			return nil, err
		}
		if rt.Authorized && g.auth == nil {
			return nil, fmt.Errorf("httpapiemu: route %s is Authorized but no authorizer is configured", rt.key)
		}
		if prev, dup := shapes[rt.shape()]; dup {
			return nil, fmt.Errorf("httpapiemu: route %s conflicts with route %s", rt.key, prev)
		}
		shapes[rt.shape()] = rt.key
		g.routes = append(g.routes, rt)
	}
	return g, nil
}

// ServeHTTP handles one request the way the HTTP API would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	w.Header().Set(requestIDHdr, reqID)

	status, rt, err := g.serve(w, r, reqID)

	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("request_id", reqID),
	}
	if rt != nil {
		attrs = append(attrs, slog.String("route", rt.key), slog.String("function", rt.Function))
	}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if status >= 500 {
		level = slog.LevelError
	}
	g.log.LogAttrs(r.Context(), level, "http api request", attrs...)
}

// serve writes the response and returns its status, the selected route and
// the cause of a 5xx.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, reqID string) (int, *route, error) {
	now := g.now()

	// Payload quota.
	if r.ContentLength > maxBodyBytes {
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return writeMessage(w, http.StatusBadRequest, "Bad Request"), nil, nil
	}
	if len(body) > maxBodyBytes {
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), nil, nil
	}

	// Stage and route selection.
	rawPath := r.URL.EscapedPath()
	routePath := rawPath
	if g.stage != "$default" {
		rest, ok := strings.CutPrefix(rawPath, "/"+g.stage)
		if !ok || rest != "" && rest[0] != '/' {
			return writeMessage(w, http.StatusNotFound, "Not Found"), nil, nil
		}
		if rest == "" {
			rest = "/"
		}
		routePath = rest
	}
	rt, params := g.selectRoute(r.Method, routePath)
	if rt == nil {
		return writeMessage(w, http.StatusNotFound, "Not Found"), nil, nil
	}

	ev := g.buildEvent(r, rt, params, rawPath, body, reqID, now)

	if rt.Authorized {
		status, lambdaCtx, err := g.authorize(r, rt, routePath, &ev, now)
		if status != 0 {
			return writeMessage(w, status, http.StatusText(status)), rt, err
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaCtx}
	}

	out, err := g.invoke(r.Context(), rt.Function, ev)
	if err != nil {
		if errors.Is(err, errIntegrationTimeout) {
			return writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable"), rt, err
		}
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), rt, err
	}
	status, err := writeIntegrationResponse(w, out)
	if err != nil {
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), rt, err
	}
	return status, rt, nil
}

// selectRoute returns the most specific route matching method and path.
func (g *Gateway) selectRoute(method, escapedPath string) (*route, map[string]string) {
	raw := splitRawPath(escapedPath)
	var best *route
	var bestParams map[string]string
	for _, rt := range g.routes {
		if rt.Method != "ANY" && rt.Method != method {
			continue
		}
		params, ok := rt.match(raw)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(rt, best) {
			best, bestParams = rt, params
		}
	}
	return best, bestParams
}

var errIntegrationTimeout = errors.New("integration timed out")

// invoke marshals event, invokes function within the integration timeout.
func (g *Gateway) invoke(ctx context.Context, function string, event any) ([]byte, error) {
	payload, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, g.timeout, errIntegrationTimeout)
	defer cancel()
	out, err := g.inv.Invoke(ctx, function, payload)
	if err != nil {
		if errors.Is(context.Cause(ctx), errIntegrationTimeout) {
			return nil, fmt.Errorf("%w after %s: %s: %w", errIntegrationTimeout, g.timeout, function, err)
		}
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	return out, nil
}

// authorize runs the Lambda authorizer (or uses its cached answer). A
// non-zero status means the request must be refused with it.
func (g *Gateway) authorize(r *http.Request, rt *route, routePath string, ev *events.APIGatewayV2HTTPRequest, now time.Time) (status int, lambdaCtx map[string]any, err error) {
	var identity string
	var identitySource []string
	if g.auth.IdentityHeader != "" {
		identity = strings.Join(r.Header.Values(g.auth.IdentityHeader), ",")
		if strings.TrimSpace(identity) == "" {
			return http.StatusUnauthorized, nil, nil
		}
		identitySource = []string{identity}
	}
	if res, ok := g.cached(identity, now); ok {
		if !res.allowed {
			return http.StatusForbidden, nil, nil
		}
		return 0, res.context, nil
	}

	req := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s", region, accountID, g.apiID, g.stage, r.Method, routePath),
		IdentitySource:        identitySource,
		RouteKey:              ev.RouteKey,
		RawPath:               ev.RawPath,
		RawQueryString:        ev.RawQueryString,
		Cookies:               ev.Cookies,
		Headers:               ev.Headers,
		QueryStringParameters: ev.QueryStringParameters,
		PathParameters:        ev.PathParameters,
		RequestContext:        ev.RequestContext,
	}
	out, err := g.invoke(r.Context(), g.auth.Function, req)
	if err != nil {
		return http.StatusInternalServerError, nil, fmt.Errorf("authorizer: %w", err)
	}
	var resp struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.IsAuthorized == nil {
		return http.StatusInternalServerError, nil, fmt.Errorf("authorizer %s: malformed simple response", g.auth.Function)
	}
	res := authResult{allowed: *resp.IsAuthorized, context: resp.Context}
	g.store(identity, res, now)
	if !res.allowed {
		return http.StatusForbidden, nil, nil
	}
	return 0, res.context, nil
}

func (g *Gateway) cached(identity string, now time.Time) (authResult, bool) {
	if g.auth.TTL <= 0 {
		return authResult{}, false
	}
	g.cacheMu.Lock()
	defer g.cacheMu.Unlock()
	res, ok := g.cache[identity]
	if !ok || !now.Before(res.expires) {
		return authResult{}, false
	}
	return res, true
}

func (g *Gateway) store(identity string, res authResult, now time.Time) {
	if g.auth.TTL <= 0 {
		return
	}
	res.expires = now.Add(g.auth.TTL)
	g.cacheMu.Lock()
	defer g.cacheMu.Unlock()
	if len(g.cache) >= maxCacheItems {
		for k, v := range g.cache {
			if !now.Before(v.expires) {
				delete(g.cache, k)
			}
		}
		if len(g.cache) >= maxCacheItems {
			clear(g.cache)
		}
	}
	g.cache[identity] = res
}

// writeIntegrationResponse maps the function's output to the HTTP response.
func writeIntegrationResponse(w http.ResponseWriter, out []byte) (int, error) {
	var probe map[string]json.RawMessage
	isObject := json.Unmarshal(out, &probe) == nil
	if _, ok := probe["statusCode"]; !isObject || !ok {
		// Payload format 2.0: output without a statusCode is the body of a
		// 200 application/json response, if it is valid JSON.
		if !json.Valid(out) {
			return 0, errors.New("function output is not valid JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return http.StatusOK, nil
	}

	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, fmt.Errorf("malformed proxy response: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return 0, fmt.Errorf("malformed proxy response: statusCode %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return 0, fmt.Errorf("malformed proxy response: body: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		if !hopByHop(k) {
			h.Set(k, v)
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		if !hopByHop(k) {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no content sniffing: send none, like the proxy response
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, nil
}

func hopByHop(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Apigw-Requestid":
		return true
	}
	return false
}

// writeMessage writes an API Gateway error document {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) int {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// newRequestID returns an id shaped like HTTP API request ids ("JKJaXmPLvHcESHA=").
func newRequestID() string { return base64.StdEncoding.EncodeToString(hostos.Random(11)) }

func sourceIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}
