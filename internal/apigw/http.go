// Package apigw adapts API Gateway HTTP API (payload 2.0) events to the
// account service: it decodes a request, calls one service method, and maps
// the result's error code to a status through one table.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
	"github.com/libaccounts/libaccounts/internal/logging"
)

// Request and Response are the HTTP API's payload 2.0 event types.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[accounts.Code]int{
	accounts.CodeInvalid:              http.StatusBadRequest,
	accounts.CodeUnauthorized:         http.StatusUnauthorized,
	accounts.CodeForbidden:            http.StatusForbidden,
	accounts.CodeNotFound:             http.StatusNotFound,
	accounts.CodeConflict:             http.StatusConflict,
	accounts.CodePreconditionRequired: http.StatusPreconditionRequired,
	accounts.CodeTooLarge:             http.StatusRequestEntityTooLarge,
	accounts.CodeUnavailable:          http.StatusServiceUnavailable,
	accounts.CodeTooManyRequests:      http.StatusTooManyRequests,
	accounts.CodeInternal:             http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for err's code.
func StatusOf(err error) int {
	if st, ok := statusOf[accounts.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// maxJSONBody bounds request bodies: every JSON request of this API is small
// but the bulk one (maxBulkBody).
const maxJSONBody = 64 << 10

// API serves the HTTP routes; each exported method is one Lambda handler.
type API struct {
	svc *accounts.Service
	log *slog.Logger
	// exportLimit is the most audit events one CSV export holds.
	exportLimit int
	// reports stores import reports too large to answer inline, in
	// reportBucket (WithReports); reportInline is the largest report
	// answered inline (0: maxInlineReport).
	reports      accounts.Blobs
	reportBucket string
	reportInline int
}

// New returns the API over svc.
func New(svc *accounts.Service, log *slog.Logger) *API {
	return &API{svc: svc, log: log, exportLimit: maxExportEvents}
}

// reply is what a route returns: a status and a body to encode as JSON (nil
// for none), or a raw body of another content type; and extra headers.
type reply struct {
	status int
	body   any
	header map[string]string // e.g. ETag
	raw    *rawBody
}

// rawBody is a response body that is not JSON (the CSV export).
type rawBody struct {
	contentType string
	data        string
}

type route func(ctx context.Context, req Request) (reply, error)

// serve runs one route with the request id in the context, turns panics and
// errors into JSON error bodies, and logs one line per request. Internal
// detail goes to the log only.
func (a *API) serve(ctx context.Context, req Request, r route) (resp Response, _ error) {
	start := time.Now()
	rid := req.RequestContext.RequestID
	ctx = logging.WithRequestID(ctx, rid)
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = accounts.Internal(fmt.Errorf("panic: %v", p))
			resp = errorResponse(err, rid)
		}
		attrs := []any{"route", req.RouteKey, "status", resp.StatusCode, "duration_ms", time.Since(start).Milliseconds()}
		if c, ok := callerOf(req); ok {
			attrs = append(attrs, "tenant", c.TenantID, "user_id", c.UserID)
		}
		switch code := accounts.ErrorCode(err); {
		case code == accounts.CodeInternal:
			a.log.ErrorContext(ctx, "request failed", append(attrs, "error", err.Error())...)
		case code != "":
			a.log.InfoContext(ctx, "request refused", append(attrs, "code", string(code))...)
		default:
			a.log.InfoContext(ctx, "request", attrs...)
		}
	}()
	var out reply
	if err = checkParams(req); err != nil {
		return errorResponse(err, rid), nil
	}
	out, err = r(ctx, req)
	if err != nil {
		return errorResponse(err, rid), nil
	}
	if out.raw != nil {
		resp = Response{StatusCode: out.status, Headers: headers(), Body: out.raw.data}
		resp.Headers["Content-Type"] = out.raw.contentType
	} else {
		resp = jsonResponse(out.status, out.body)
	}
	if resp.StatusCode == out.status {
		for k, v := range out.header {
			resp.Headers[k] = v
		}
	}
	return resp, nil
}

func headers() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

func jsonResponse(status int, body any) Response {
	resp := Response{StatusCode: status, Headers: headers()}
	if body == nil {
		delete(resp.Headers, "Content-Type")
		return resp
	}
	data, err := json.Marshal(body)
	if err != nil {
		return errorResponse(accounts.Internal(err), "")
	}
	resp.Body = string(data)
	return resp
}

// errorBody is every refusal: {"error":{code,message,field,requestId}}.
type (
	errorBody   = apiwire.ErrorBody
	errorDetail = apiwire.ErrorDetail
)

func errorResponse(err error, requestID string) Response {
	code := accounts.ErrorCode(err)
	if _, ok := statusOf[code]; !ok {
		code = accounts.CodeInternal
	}
	data, _ := json.Marshal(errorBody{Error: errorDetail{
		Code: string(code), Message: publicMessage(err), Field: accounts.PublicField(err), RequestID: requestID,
	}})
	resp := Response{StatusCode: StatusOf(err), Headers: headers(), Body: string(data)}
	var ce *accounts.Error
	if errors.As(err, &ce) && ce.RetryAfter > 0 {
		// Whole seconds, rounded up (RFC 9110 §10.2.3).
		resp.Headers["Retry-After"] = strconv.Itoa(int((ce.RetryAfter + time.Second - 1) / time.Second))
	}
	return resp
}

// decodeJSON reads the body into v strictly: one JSON object, known fields
// only, within maxJSONBody. Messages name the problem and where, never echo
// values (they may be passwords).
func decodeJSON(req Request, v any) error { return decodeBody(req, v, maxJSONBody, false) }

// decodeOptionalJSON is decodeJSON for routes whose body may be left out; a
// body that is sent is held to the same rules.
func decodeOptionalJSON(req Request, v any) error { return decodeBody(req, v, maxJSONBody, true) }

func decodeBody(req Request, v any, limit int, optional bool) error {
	if len(req.Body) > base64.StdEncoding.EncodedLen(limit) {
		// Too large even as base64: refuse before copying or decoding it.
		return accounts.E(accounts.CodeTooLarge, "request body is larger than %d bytes", limit)
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return accounts.E(accounts.CodeInvalid, "request body is not valid base64")
		}
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if ct := header(req, "content-type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			// Refusing form encodings also keeps cross-site HTML forms from
			// posting to the API.
			return accounts.E(accounts.CodeInvalid, "Content-Type must be application/json (got %s)", accounts.Truncate(mt, 60))
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			// JSON is UTF-8 (RFC 8259 §8.1); reading UTF-16 as UTF-8 would
			// store mangled names.
			return accounts.E(accounts.CodeInvalid, "Content-Type charset must be utf-8 (got %s)", accounts.Truncate(cs, 30))
		}
	}
	if len(body) > limit {
		return accounts.E(accounts.CodeTooLarge, "request body is larger than %d bytes", limit)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return accounts.E(accounts.CodeInvalid, "request body is empty; expected a JSON object")
	}
	if trimmed[0] != '{' {
		// encoding/json would take null as "no fields" and go ahead.
		if !json.Valid(trimmed) {
			return accounts.E(accounts.CodeInvalid, "request body is not valid JSON (at byte 0)")
		}
		return accounts.E(accounts.CodeInvalid, "request body must be a JSON object")
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return accounts.E(accounts.CodeInvalid, "request body has data after the JSON object")
	}
	return nil
}

// noBody refuses a body on a route that takes none (DELETE).
func noBody(req Request, hint string) error {
	if len(strings.TrimSpace(req.Body)) > 0 {
		return accounts.E(accounts.CodeInvalid, "this route takes no request body; %s", hint)
	}
	return nil
}

// header returns a request header; API Gateway lower-cases names (payload
// 2.0), other callers may not.
func header(req Request, name string) string {
	v, _ := lookupHeader(req, name)
	return v
}

func lookupHeader(req Request, name string) (string, bool) {
	if v, ok := req.Headers[name]; ok {
		return v, true
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// maxParam bounds every query and path parameter before a route sees it;
// routes hold their own, tighter limits (a barcode's 64 characters).
const maxParam = 1024

// checkParams refuses query and path parameters no route could use: too
// long, or not UTF-8, naming the parameter.
func checkParams(req Request) error {
	for _, p := range []map[string]string{req.QueryStringParameters, req.PathParameters} {
		for k, v := range p {
			if len(k) > 64 || !utf8.ValidString(k) {
				return accounts.E(accounts.CodeInvalid, "a parameter name is too long or not UTF-8")
			}
			if len(v) > maxParam {
				return accounts.FieldError(k, "%s must be at most %d bytes (got %d)", k, maxParam, len(v))
			}
			if !utf8.ValidString(v) {
				return accounts.FieldError(k, "%s is not valid UTF-8", k)
			}
		}
	}
	return nil
}

// knownParams refuses query parameters a route does not know, so that a
// typo is not silently ignored.
func knownParams(p map[string]string, known ...string) error {
	for k := range p {
		if !slices.Contains(known, k) {
			return accounts.FieldError(k, "unknown query parameter %q (known: %s)", accounts.Truncate(k, 40), strings.Join(known, ", "))
		}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return accounts.E(accounts.CodeInvalid, "request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return accounts.E(accounts.CodeInvalid, "request body must be a JSON object")
		}
		return accounts.FieldError(typ.Field, "field %q must be a %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return accounts.E(accounts.CodeInvalid, "request body is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return accounts.FieldError(name, "unknown field %q", accounts.Truncate(name, 64))
	}
	return accounts.E(accounts.CodeInvalid, "request body is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "list"
	case "struct", "map":
		return "object"
	}
	return "number"
}

// callerOf reads what the authorizer vouched for.
func callerOf(req Request) (accounts.Caller, bool) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.Lambda == nil {
		return accounts.Caller{}, false
	}
	m := req.RequestContext.Authorizer.Lambda
	c := accounts.Caller{TenantID: asString(m["tenant"]), UserID: asString(m["userId"]), SessionID: asString(m["sid"])}
	return c, c.TenantID != "" && c.UserID != "" && c.SessionID != ""
}

// authorizedRoles are the roles the authorizer put in the context; they
// may be as old as its cache.
func authorizedRoles(req Request) []string {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.Lambda == nil {
		return nil
	}
	return strings.Split(asString(req.RequestContext.Authorizer.Lambda["roles"]), ",")
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// serveCaller is serve for routes behind the authorizer: the route gets the
// caller the authorizer vouched for. Without the authorizer's context the
// route was wired wrongly, and nobody gets in.
func (a *API) serveCaller(ctx context.Context, req Request, r func(context.Context, accounts.Caller, Request) (reply, error)) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context, req Request) (reply, error) {
		c, err := caller(req)
		if err != nil {
			return reply{}, err
		}
		if strings.Contains(req.RouteKey, " /v1/admin/") && !slices.ContainsFunc(authorizedRoles(req), accounts.OpensStaffAPI) {
			// Authorize before reading the body. Only callers the
			// authorizer did not vouch for as staff pay the extra read;
			// the route's action checks again either way.
			if err := a.svc.RequireStaff(ctx, c); err != nil {
				return reply{}, err
			}
		}
		return r(ctx, c, req)
	})
}

// caller is callerOf for routes behind the authorizer.
func caller(req Request) (accounts.Caller, error) {
	c, ok := callerOf(req)
	if !ok {
		return accounts.Caller{}, accounts.E(accounts.CodeUnauthorized, "missing authorization")
	}
	return c, nil
}
