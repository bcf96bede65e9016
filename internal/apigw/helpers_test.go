package apigw_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
)

// outbox is a recording accounts.Mailer: the port's fake, standing in for
// SES.
type outbox struct {
	mu   sync.Mutex
	msgs []accounts.Message
	fail bool
}

func (o *outbox) Send(_ context.Context, m accounts.Message) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return "", errors.New("ses: throttled")
	}
	o.msgs = append(o.msgs, m)
	return "msg", nil
}

// inlineNotices delivers each notice as it is queued, as the local stack's
// worker soon would, so a test reads the mail right after the request.
type inlineNotices struct{ svc *accounts.Service }

func (q *inlineNotices) Enqueue(ctx context.Context, ref accounts.NoticeRef, _ time.Duration) error {
	return q.svc.DeliverNotice(ctx, ref)
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs)
}

func (o *outbox) last(tb testing.TB) accounts.Message {
	tb.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		tb.Fatal("no mail sent")
	}
	return o.msgs[len(o.msgs)-1]
}

var linkToken = regexp.MustCompile(regexp.QuoteMeta(resetPage) + `#token=(\S+)`)

// resetToken takes the token out of a reset-link mail.
func resetToken(tb testing.TB, m accounts.Message) string {
	tb.Helper()
	sub := linkToken.FindStringSubmatch(m.Text)
	if sub == nil {
		tb.Fatalf("no reset link in mail:\n%s", m.Text)
	}
	tok, err := url.QueryUnescape(sub[1])
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

var mailedPassword = regexp.MustCompile(`(?m)^ {4}(\S+)$`)

type handler func(context.Context, apigw.Request) (apigw.Response, error)

func do(tb testing.TB, h handler, r apigw.Request) apigw.Response {
	tb.Helper()
	resp, err := h(context.Background(), r)
	if err != nil {
		tb.Fatalf("%s: handler error: %v", r.RouteKey, err)
	}
	return resp
}

func withID(r apigw.Request, id string) apigw.Request {
	r.PathParameters = map[string]string{"id": id}
	return r
}

func withQuery(r apigw.Request, q map[string]string) apigw.Request {
	r.QueryStringParameters = q
	return r
}

func withHeader(r apigw.Request, k, v string) apigw.Request {
	r.Headers[k] = v
	return r
}

// want checks a response's status and, for errors, the field at fault
// ("" for no check).
func want(tb testing.TB, what string, resp apigw.Response, status int, field string) errBody {
	tb.Helper()
	if resp.StatusCode != status {
		tb.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, resp.Body)
	}
	if status < 400 {
		return errBody{}
	}
	b := decodeErr(tb, resp)
	if field != "" && b.Error.Field != field {
		tb.Fatalf("%s: error field %q, want %q: %s", what, b.Error.Field, field, resp.Body)
	}
	return b
}

type userOut struct {
	ID, Tenant, Username, Email, Barcode, PrimaryID, Status string
	Roles, Queues, CannedMessagePools                       []string
	MustChangePassword                                      bool
	Version                                                 int64
}

func decode[T any](tb testing.TB, resp apigw.Response) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		tb.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

type authedReq = func(route, body string) apigw.Request

// createUser creates a user through the API and returns it.
func (e *env) createUser(tb testing.TB, as authedReq, body string) userOut {
	tb.Helper()
	resp := do(tb, e.api.CreateUser, as("POST /v1/admin/users", body))
	want(tb, "create user", resp, 201, "")
	return decode[struct{ User userOut }](tb, resp).User
}

func (e *env) getUser(tb testing.TB, as authedReq, id string) apigw.Response {
	tb.Helper()
	return do(tb, e.api.GetUser, withID(as("GET /v1/admin/users/{id}", ""), id))
}

// noSecrets fails when any secret occurs in text.
func noSecrets(tb testing.TB, where, text string, secrets ...string) {
	tb.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			tb.Errorf("%s contains a secret (%.6s…)", where, s)
		}
	}
}
