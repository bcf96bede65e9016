package apigw_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

type letterOut struct {
	Kind, Subject, Body, UpdatedBy string
	Custom                         bool
	Version                        int64
	Placeholders                   []struct {
		Name     string
		Required bool
	}
}

func withKind(r apigw.Request, kind string) apigw.Request {
	r.PathParameters = map[string]string{"kind": kind}
	return r
}

const linkKind = "password-reset-link"

func TestLetterRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)

	resp := do(t, e.api.ListLetters, kpu("GET /v1/admin/letters", ""))
	want(t, "list", resp, 200, "")
	list := decode[struct{ Letters []letterOut }](t, resp)
	if len(list.Letters) != len(accounts.NoticeKinds()) || list.Letters[0].Kind != linkKind {
		t.Fatalf("list: %s", resp.Body)
	}
	for _, l := range list.Letters {
		if l.Custom || l.Version != 0 || l.Subject == "" || len(l.Placeholders) < 4 {
			t.Errorf("default %+v", l)
		}
	}
	want(t, "list with a query", do(t, e.api.ListLetters, withQuery(kpu("GET /v1/admin/letters", ""), map[string]string{"kind": "x"})), 400, "kind")

	get := func(as authedReq, kind string) apigw.Response {
		return do(t, e.api.GetLetter, withKind(as("GET /v1/admin/letters/{kind}", ""), kind))
	}
	resp = get(kpu, linkKind)
	want(t, "get default", resp, 200, "")
	if l := decode[letterOut](t, resp); l.Custom || resp.Headers["ETag"] != `"0"` || !strings.Contains(l.Body, "{{link}}") {
		t.Fatalf("default: %s (ETag %s)", resp.Body, resp.Headers["ETag"])
	}
	if b := want(t, "get unknown kind", get(kpu, "welcome"), 404, ""); !strings.Contains(b.Error.Message, "password-reset-link, password-temporary, password-changed, job-finished") {
		t.Errorf("404 does not list the kinds: %s", b.Error.Message)
	}

	put := func(as authedReq, kind, body, ifMatch string) apigw.Response {
		r := withKind(as("PUT /v1/admin/letters/{kind}", body), kind)
		if ifMatch != "" {
			r = withHeader(r, "if-match", ifMatch)
		}
		return do(t, e.api.UpdateLetter, r)
	}
	good := `{"subject":"KPU: set a new password","body":"Hello {{username}},\n{{link}}\nCode: {{libraryCode}}\n"}`
	for name, tc := range map[string]struct {
		body, ifMatch string
		status        int
		field, says   string
	}{
		"not JSON":              {`subject=x`, "", 400, "", "not valid JSON"},
		"empty":                 {``, "", 400, "", "empty"},
		"unknown field":         {`{"subject":"x","body":"{{link}}","html":"<p>"}`, "", 400, "html", ""},
		"subject a number":      {`{"subject":1,"body":"{{link}}"}`, "", 400, "subject", ""},
		"version a string":      {`{"subject":"x","body":"{{link}}","version":"1"}`, "", 400, "version", ""},
		"negative version":      {`{"subject":"x","body":"{{link}}","version":-1}`, "", 400, "version", ""},
		"unknown placeholders":  {`{"subject":"x","body":"{{link}} {{barcode}} {{pin}}"}`, "", 400, "body", "{{barcode}}, {{pin}}"},
		"no link":               {`{"subject":"x","body":"Hello {{username}}"}`, "", 400, "body", "{{link}}"},
		"link in subject":       {`{"subject":"{{link}}","body":"{{link}}"}`, "", 400, "subject", "{{link}}"},
		"subject too long":      {`{"subject":"` + strings.Repeat("s", 201) + `","body":"{{link}}"}`, "", 400, "subject", "200"},
		"body too long":         {`{"subject":"x","body":"{{link}}` + strings.Repeat("b", 20000) + `"}`, "", 400, "body", "20000"},
		"two-line subject":      {`{"subject":"x\r\nBcc: a@b.c","body":"{{link}}"}`, "", 400, "subject", "one line"},
		"malformed If-Match":    {good, `"v1"`, 400, "If-Match", ""},
		"disagreeing versions":  {`{"subject":"x","body":"{{link}}","version":2}`, `"0"`, 400, "version", ""},
		"body over the request": {`{"subject":"x","body":"` + strings.Repeat("b", 300<<10) + `"}`, "", 413, "", ""},
		"version 1 of default":  {good, `"1"`, 409, "version", "default"},
	} {
		t.Run(name, func(t *testing.T) {
			b := want(t, name, put(kpu, linkKind, tc.body, tc.ifMatch), tc.status, tc.field)
			if !strings.Contains(b.Error.Message, tc.says) {
				t.Errorf("message %q does not say %q", b.Error.Message, tc.says)
			}
		})
	}
	want(t, "put unknown kind", put(kpu, "welcome", good, ""), 404, "")
	// The domain's 20,000 characters hold, not a byte limit of the
	// request: four-byte characters make this body some 80 kB.
	long := `{"subject":"x","body":"{{username}}` + strings.Repeat("𝄞", 19980) + `"}`
	want(t, "a long body of wide characters", put(kpu, "password-changed", long, ""), 200, "")

	resp = put(kpu, linkKind, good, "")
	want(t, "first edit", resp, 200, "")
	if l := decode[letterOut](t, resp); !l.Custom || l.Version != 1 || l.UpdatedBy != "admin" || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("first edit: %s (ETag %s)", resp.Body, resp.Headers["ETag"])
	}
	b := want(t, "no version once custom", put(kpu, linkKind, good, ""), 428, "version")
	if !strings.Contains(b.Error.Message, "If-Match") {
		t.Errorf("428 does not say where the version goes: %s", b.Error.Message)
	}
	want(t, "default version once custom", put(kpu, linkKind, good, `"0"`), 409, "version")
	resp = put(kpu, linkKind, `{"subject":"KPU: new password","body":"{{link}}","version":1}`, "")
	want(t, "second edit", resp, 200, "")
	if resp.Headers["ETag"] != `"2"` {
		t.Fatalf("second edit ETag %s", resp.Headers["ETag"])
	}
	if b := want(t, "stale", put(kpu, linkKind, good, `"1"`), 409, "version"); !strings.Contains(b.Error.Message, "version 2") {
		t.Errorf("stale: %s", b.Error.Message)
	}
	resp = get(kpu, linkKind)
	if l := decode[letterOut](t, resp); l.Subject != "KPU: new password" || l.Body != "{{link}}" || !l.Custom || resp.Headers["ETag"] != `"2"` {
		t.Fatalf("after edits: %s", resp.Body)
	}

	// The other library still has the default.
	resp = get(ubc, linkKind)
	if l := decode[letterOut](t, resp); l.Custom || strings.Contains(l.Subject, "KPU") {
		t.Fatalf("ubc sees kpu's letter: %s", resp.Body)
	}
	if !strings.Contains(e.logs.String(), "letter updated") {
		t.Error("no log line for the edit")
	}
}

func TestPreviewLetterRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	preview := func(kind, body string) apigw.Response {
		return do(t, e.api.PreviewLetter, withKind(kpu("POST /v1/admin/letters/{kind}/preview", body), kind))
	}
	type previewOut struct{ Kind, Subject, Body string }

	resp := preview(linkKind, "")
	want(t, "preview without a body", resp, 200, "")
	p := decode[previewOut](t, resp)
	if !strings.Contains(p.Body, resetPage+"#token=example") || !strings.Contains(p.Body, "sample.patron") || strings.Contains(p.Body, "{{") || p.Kind != linkKind {
		t.Fatalf("preview of the default: %s", resp.Body)
	}
	resp = preview("password-temporary", `{"subject":"For {{username}} at {{libraryName}}"}`)
	want(t, "preview of a subject", resp, 200, "")
	if p := decode[previewOut](t, resp); p.Subject != "For sample.patron at kpu" || !strings.Contains(p.Body, "SAMPLE-not-a-real-password") {
		t.Fatalf("preview: %s", resp.Body)
	}
	for name, tc := range map[string]struct {
		kind, body string
		status     int
		field      string
	}{
		"unknown placeholder": {linkKind, `{"body":"{{link}} {{secretCode}}"}`, 400, "body"},
		"missing link":        {linkKind, `{"body":"no link"}`, 400, "body"},
		"not JSON":            {linkKind, `{"body":`, 400, ""},
		"unknown field":       {linkKind, `{"text":"x"}`, 400, "text"},
		"body a list":         {linkKind, `{"body":["x"]}`, 400, "body"},
		"unknown kind":        {"welcome", `{}`, 404, ""},
	} {
		t.Run(name, func(t *testing.T) { want(t, name, preview(tc.kind, tc.body), tc.status, tc.field) })
	}
	// Nothing was stored.
	resp = do(t, e.api.GetLetter, withKind(kpu("GET /v1/admin/letters/{kind}", ""), "password-temporary"))
	if l := decode[letterOut](t, resp); l.Custom {
		t.Fatalf("preview stored the letter: %s", resp.Body)
	}
}

func TestLetterAndNoticeRoutesAreForStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"patron","password":"a perfectly fine passphrase"}`)
	// Set the patron's own password so the session is a full one.
	_, patron := e.login(t, "kpu", "patron", "a perfectly fine passphrase")
	want(t, "change password", do(t, e.api.ChangePassword, patron("POST /v1/me/password", `{"currentPassword":"a perfectly fine passphrase","newPassword":"another fine passphrase of mine"}`)), 200, "")
	_, patron = e.login(t, "kpu", "patron", "another fine passphrase of mine")

	for name, tc := range map[string]struct {
		h   handler
		req apigw.Request
	}{
		"list":    {e.api.ListLetters, patron("GET /v1/admin/letters", "")},
		"get":     {e.api.GetLetter, withKind(patron("GET /v1/admin/letters/{kind}", ""), linkKind)},
		"put":     {e.api.UpdateLetter, withKind(patron("PUT /v1/admin/letters/{kind}", `{"subject":"x","body":"{{link}}"}`), linkKind)},
		"preview": {e.api.PreviewLetter, withKind(patron("POST /v1/admin/letters/{kind}/preview", ""), linkKind)},
		"notices": {e.api.ListUserNotices, withID(patron("GET /v1/admin/users/{id}/notices", ""), u.ID)},
	} {
		t.Run(name, func(t *testing.T) {
			want(t, name, do(t, tc.h, tc.req), 403, "")
			tc.req.RequestContext.Authorizer = nil
			want(t, name+" without the authorizer", do(t, tc.h, tc.req), 401, "")
		})
	}
}

func TestUserNoticesRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"sadie","password":"a perfectly fine passphrase","email":"sadie@example.org"}`)
	list := func(as authedReq, id string, q map[string]string) apigw.Response {
		return do(t, e.api.ListUserNotices, withQuery(withID(as("GET /v1/admin/users/{id}/notices", ""), id), q))
	}

	resp := list(kpu, u.ID, nil)
	want(t, "no notices", resp, 200, "")
	if resp.Body != `{"notices":[]}` {
		t.Fatalf("empty list: %s", resp.Body)
	}
	for name, tc := range map[string]struct {
		q      map[string]string
		id     string
		status int
		field  string
	}{
		"limit a word":   {map[string]string{"limit": "ten"}, u.ID, 400, "limit"},
		"limit 0":        {map[string]string{"limit": "0"}, u.ID, 400, "limit"},
		"limit 201":      {map[string]string{"limit": "201"}, u.ID, 400, "limit"},
		"unknown param":  {map[string]string{"status": "sent"}, u.ID, 400, "status"},
		"bad cursor":     {map[string]string{"cursor": "not-a-cursor"}, u.ID, 400, ""},
		"no such user":   {nil, "aaaaaaaaaaaaaaaaaaaaaaaaaa", 404, ""},
		"malformed id":   {nil, "../../etc", 404, ""},
		"another's user": {nil, u.ID, 404, ""},
	} {
		t.Run(name, func(t *testing.T) {
			as := kpu
			if name == "another's user" {
				as = ubc
			}
			want(t, name, list(as, tc.id, tc.q), tc.status, tc.field)
		})
	}
}

// noticeQueue records what the service queues: the port's fake, standing
// in for SQS.
type noticeQueue struct {
	mu   sync.Mutex
	refs []accounts.NoticeRef
}

func (q *noticeQueue) Enqueue(_ context.Context, ref accounts.NoticeRef, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refs = append(q.refs, ref)
	return nil
}

// sentMail is a mailer that accepts everything.
type sentMail struct{ n atomic.Int64 }

func (m *sentMail) Send(context.Context, accounts.Message) (string, error) {
	return fmt.Sprintf("ses-%d", m.n.Add(1)), nil
}

// TestUserNoticesListsWhatWasSent follows two reset links from the staff
// action through delivery to the list staff read.
func TestUserNoticesListsWhatWasSent(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	q := &noticeQueue{}
	svc := accounts.NewService(accounts.Deps{
		Store: dynamostore.New(client, table), Notices: q, Mailer: &sentMail{}, Logger: log,
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
	}, accounts.Config{ResetPageURL: resetPage, NoticeSendRate: 1000})
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
		t.Fatal(err)
	}
	e := &env{api: apigw.New(svc, log), logs: logs}
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"sadie","password":"a perfectly fine passphrase","email":"sadie@example.org"}`)
	for range 2 {
		want(t, "send link", do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", `{"sendResetLink":true}`), u.ID)), 200, "")
	}
	if len(q.refs) != 2 {
		t.Fatalf("%d notices queued", len(q.refs))
	}
	// The older one is delivered; the newer one waits in the queue.
	if err := svc.DeliverNotice(ctx, q.refs[0]); err != nil {
		t.Fatal(err)
	}

	list := func(query map[string]string) apigw.Response {
		return do(t, e.api.ListUserNotices, withQuery(withID(kpu("GET /v1/admin/users/{id}/notices", ""), u.ID), query))
	}
	type noticeOut struct {
		ID, Kind, Status, Reason string
		Attempts                 int
		CreatedAt, UpdatedAt     time.Time
		SentAt                   *time.Time
	}
	type pageOut struct {
		Notices    []noticeOut
		NextCursor string
	}
	resp := list(map[string]string{"limit": "1"})
	want(t, "first page", resp, 200, "")
	first := decode[pageOut](t, resp)
	if len(first.Notices) != 1 || first.NextCursor == "" {
		t.Fatalf("first page: %s", resp.Body)
	}
	resp = list(map[string]string{"limit": "1", "cursor": first.NextCursor})
	want(t, "second page", resp, 200, "")
	second := decode[pageOut](t, resp)
	if len(second.Notices) != 1 || second.NextCursor != "" {
		t.Fatalf("second page: %s", resp.Body)
	}
	newest, oldest := first.Notices[0], second.Notices[0]
	if newest.ID != q.refs[1].NoticeID || newest.Status != "queued" || newest.Attempts != 0 || newest.SentAt != nil || newest.Kind != linkKind {
		t.Errorf("newest: %+v", newest)
	}
	if oldest.ID != q.refs[0].NoticeID || oldest.Status != "sent" || oldest.Attempts != 1 || oldest.SentAt == nil || oldest.CreatedAt.IsZero() {
		t.Errorf("oldest: %+v", oldest)
	}
	// Staff see what happened, never what was in it.
	resp = list(nil)
	for _, secret := range []string{"token", "sadie@example.org", "ses-1", "http"} {
		if strings.Contains(resp.Body, secret) {
			t.Errorf("the notice list shows %q: %s", secret, resp.Body)
		}
	}
}
