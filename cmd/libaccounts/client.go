package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// client calls the API; with a session it sends the session's token.
type client struct {
	a    *app
	base string
	sess *session // nil for login
}

// apiError is a refusal from the API: the service's
// {"error":{code,message,field,requestId}} or API Gateway's own
// {"message":...}.
type apiError struct {
	Status    int
	Code      string
	Message   string
	Field     string
	RequestID string
	Gateway   bool // API Gateway answered, not the service
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var extra []string
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		extra = append(extra, "field "+e.Field)
	}
	extra = append(extra, fmt.Sprintf("HTTP %d", e.Status))
	if e.RequestID != "" {
		extra = append(extra, "request "+e.RequestID)
	}
	return fmt.Sprintf("%s (%s)", msg, strings.Join(extra, ", "))
}

// connError is a failure to reach a server at all.
type connError struct{ msg string }

func (e *connError) Error() string { return e.msg }

// transient reports whether trying again later may help.
func transient(err error) bool {
	var ce *connError
	var ae *apiError
	switch {
	case errors.As(err, &ce):
		return true
	case errors.As(err, &ae):
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	return false
}

// transportError describes a failed round trip without its URL, which for
// pre-signed URLs is a secret (*url.Error prints it).
func (a *app) transportError(ctx context.Context, what, server string, err error) error {
	if ctx.Err() != nil { // Ctrl-C, or the call's own timeout
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &connError{msg: fmt.Sprintf("%s did not answer in time", server)}
		}
		return errInterrupted
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := fmt.Sprintf("cannot reach %s: %v", server, err)
	if what != "" {
		msg = what + ": " + msg
	}
	return &connError{msg: msg}
}

// do calls one JSON route: in is sent as the body when not nil, a 2xx
// answer is decoded into out when not nil.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.a.apiTimeout)
	defer cancel()
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return c.refusal(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		if ctx.Err() != nil {
			return c.a.transportError(ctx, "", "the API at "+c.base, err)
		}
		return &connError{msg: fmt.Sprintf("the answer of the API at %s broke off: %v", c.base, err)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil // e.g. 204 No Content
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fail("the API at %s answered %s %s with something that is not the expected JSON: %v", c.base, method, routeOf(path), err)
	}
	return nil
}

// send makes one request to the API and returns the response as it came,
// redirects included.
func (c *client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	return c.sendAccept(ctx, method, path, in, "application/json")
}

// sendAccept is send asking for another media type.
func (c *client) sendAccept(ctx context.Context, method, path string, in any, accept string) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fail("encode request: %v", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fail("bad request %s %s: %v", method, routeOf(path), err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "libaccounts-cli")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.sess != nil {
		req.Header.Set("Authorization", "Bearer "+c.sess.Token)
	}
	resp, err := c.a.api.Do(req)
	if err != nil {
		err = c.a.transportError(ctx, "", "the API at "+c.base, err)
		if isLoopback(c.base) {
			var ce *connError
			if errors.As(err, &ce) {
				ce.msg += " (is the local stack running? start it with `make run`)"
			}
		}
		return nil, err
	}
	return resp, nil
}

// refusal reads an error answer and says what to do about it.
func (c *client) refusal(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &apiError{Status: resp.StatusCode}
	var svc struct {
		Error   *apiwire.ErrorDetail `json:"error"`   // the service's apiwire.ErrorBody
		Message string               `json:"message"` // API Gateway's own
	}
	if json.Unmarshal(data, &svc) == nil {
		switch {
		case svc.Error != nil:
			e.Code, e.Message, e.Field, e.RequestID = svc.Error.Code, svc.Error.Message, svc.Error.Field, svc.Error.RequestID
		case svc.Message != "":
			e.Message, e.Gateway = svc.Message, true
		}
	}
	if c.sess == nil {
		return e
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden && e.Gateway:
		// The gateway's 401 (no token) and 403 (the authorizer refused
		// it), or the service's 401: the session is over.
		return fail("the API refused your session (it expired, was signed out or revoked); %s", c.a.loginHint(c.sess))
	case resp.StatusCode == http.StatusForbidden && strings.Contains(e.Message, "password change required"):
		return fail("your password must be changed before anything else: run `libaccounts password`")
	case resp.StatusCode == http.StatusForbidden:
		return fail("not allowed for %s/%s: %v", c.sess.Tenant, c.sess.Username, e)
	}
	return e
}

// routeOf drops the query from a path for messages.
func routeOf(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

// storageError describes an answer of S3 (or the local stand-in) to a
// pre-signed URL: its XML <Code> and <Message> when there are some. The URL
// itself is never shown.
func storageError(resp *http.Response) string {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if xml.Unmarshal(data, &x) == nil && x.Code != "" {
		msg += " " + x.Code
		if x.Message != "" {
			msg += ": " + x.Message
		}
	}
	return msg
}
