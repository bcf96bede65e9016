package accounts_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// recoveryQueue is the recovery queue as a slice: the test plays the
// recovery worker.
type recoveryQueue struct {
	mu   sync.Mutex
	refs []accounts.RecoveryRef
}

func (q *recoveryQueue) EnqueueRecovery(_ context.Context, ref accounts.RecoveryRef) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refs = append(q.refs, ref)
	return nil
}

func (q *recoveryQueue) take() []accounts.RecoveryRef {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.refs
	q.refs = nil
	return r
}

// recoveryEnv is a library with a family sharing an address, a patron
// with a barcode, a deactivated patron and one without e-mail, and a
// service with the real throttle on the fixture's clock.
type recoveryEnv struct {
	*fixture
	svc   *accounts.Service
	box   *outbox
	queue *recoveryQueue
	admin accounts.Caller
	users map[string]accounts.User
}

func newRecoveryEnv(tb testing.TB, limits accounts.RecoveryLimits) *recoveryEnv {
	tb.Helper()
	f := newFixture(tb)
	e := &recoveryEnv{fixture: f, box: &outbox{}, queue: &recoveryQueue{}, users: map[string]accounts.User{}}
	e.svc = accounts.NewService(accounts.Deps{
		Store: f.store, Hasher: passhash.New(fastParams), Clock: f.clock.Now, Wait: f.clock.Wait,
		Mailer: e.box, Notices: f.notices, Throttle: f.store, Recovery: e.queue,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, accounts.Config{ResetPageURL: "https://accounts.example.org/reset", LookupKey: []byte("a test lookup key of 32 bytes..."), RecoveryLimits: limits})
	e.admin = f.tenant(tb, "kpu")
	for _, in := range []accounts.CreateUserInput{
		{Username: "ann", Email: "family@kpu.example", Barcode: "21234000011111"},
		{Username: "Bob", Email: "Family@KPU.example", Barcode: "21234000022222"},
		{Username: "dee", Email: "dee@kpu.example", Barcode: "B9876"},
		{Username: "cy", Email: "cy@kpu.example"},
		{Username: "nomail", Barcode: "555000"},
	} {
		e.users[in.Username] = f.user(tb, e.admin, in)
	}
	if _, err := e.svc.SetUserStatus(context.Background(), e.admin, e.users["cy"].ID, accounts.StatusInactive); err != nil {
		tb.Fatal(err)
	}
	return e
}

// ask makes a request as the API does and returns its answer.
func (e *recoveryEnv) ask(kind accounts.RecoveryKind, identifier, source string) error {
	return e.svc.RequestRecovery(context.Background(), accounts.RecoveryInput{Kind: kind, Tenant: "kpu", Identifier: identifier, Source: source})
}

// work plays the recovery worker and the notice worker until both queues
// are empty, and returns the mails sent meanwhile.
func (e *recoveryEnv) work(tb testing.TB) []accounts.Message {
	tb.Helper()
	before := len(e.box.sent)
	for _, ref := range e.queue.take() {
		if err := e.svc.ResolveRecovery(context.Background(), ref); err != nil {
			tb.Fatalf("resolve recovery request: %v", err)
		}
	}
	e.deliver(tb, e.svc)
	return e.box.sent[before:]
}

var tokenInMail = regexp.MustCompile(`#token=([^\s]+)`)

func linksIn(tb testing.TB, text string) []string {
	tb.Helper()
	var out []string
	for _, m := range tokenInMail.FindAllStringSubmatch(text, -1) {
		tok, err := url.QueryUnescape(m[1])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, tok)
	}
	return out
}

func TestRecoveryAnswersAlikeAndMailsWhatMatches(t *testing.T) {
	t.Parallel()
	e := newRecoveryEnv(t, accounts.RecoveryLimits{})
	ctx := context.Background()
	cases := []struct {
		name       string
		kind       accounts.RecoveryKind
		identifier string
		to         string   // "" for no mail
		usernames  []string // listed in the mail, in order
		links      int      // working links in the mail
		contains   []string
	}{
		{"username", accounts.RecoverPassword, "DEE", "dee@kpu.example", []string{"dee"}, 1, nil},
		{"barcode", accounts.RecoverPassword, "b9876", "dee@kpu.example", []string{"dee"}, 1, nil},
		{"unknown", accounts.RecoverPassword, "nobody", "", nil, 0, nil},
		{"unknown address", accounts.RecoverPassword, "nobody@kpu.example", "", nil, 0, nil},
		{"deactivated", accounts.RecoverPassword, "cy", "cy@kpu.example", []string{"cy"}, 0, []string{"This account is not active: contact kpu library."}},
		{"no e-mail", accounts.RecoverPassword, "nomail", "", nil, 0, nil},
		{"shared e-mail", accounts.RecoverPassword, "family@kpu.example", "family@kpu.example", []string{"ann", "Bob"}, 2, []string{"1 hour"}},
		{"username reminder", accounts.RecoverUsername, "FAMILY@kpu.example", "family@kpu.example", []string{"ann", "Bob"}, 0,
			[]string{"ann (barcode ending 1111)", "Bob (barcode ending 2222)"}},
		{"username reminder, deactivated", accounts.RecoverUsername, "cy@kpu.example", "cy@kpu.example", []string{"cy"}, 0, []string{"cy (not active: contact kpu library)"}},
		{"username reminder, unknown", accounts.RecoverUsername, "nobody@kpu.example", "", nil, 0, nil},
		{"username reminder for a username", accounts.RecoverUsername, "dee", "", nil, 0, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each from its own source: the source throttle is tested below.
			if err := e.ask(tc.kind, tc.identifier, fmt.Sprintf("192.0.2.%d", i)); err != nil {
				t.Fatalf("answer = %v, want the same acceptance as every case", err)
			}
			mails := e.work(t)
			if tc.to == "" {
				if len(mails) != 0 {
					t.Fatalf("%d mails, want none: %q", len(mails), mails[0].Text)
				}
				return
			}
			if len(mails) != 1 || mails[0].To != tc.to {
				t.Fatalf("mails %+v, want one to %s", mails, tc.to)
			}
			m := mails[0]
			if strings.Contains(m.Subject, "#token=") || strings.Contains(m.Text, "{{") {
				t.Errorf("mail: %q / %q", m.Subject, m.Text)
			}
			last := -1
			for _, u := range tc.usernames {
				at := strings.Index(m.Text, u)
				if at <= last {
					t.Errorf("username %s missing or out of order in %q", u, m.Text)
				}
				last = at
			}
			for _, s := range tc.contains {
				if !strings.Contains(m.Text, s) {
					t.Errorf("mail lacks %q:\n%s", s, m.Text)
				}
			}
			links := linksIn(t, m.Text)
			if len(links) != tc.links {
				t.Fatalf("%d links, want %d:\n%s", len(links), tc.links, m.Text)
			}
			// Each link sets its own account's password.
			for j, tok := range links {
				pw := fmt.Sprintf("a brand new passphrase %d", j)
				if err := e.svc.CompletePasswordReset(ctx, tok, pw); err != nil {
					t.Fatalf("link %d: %v", j, err)
				}
				e.login(t, "kpu", tc.usernames[j], pw)
			}
			// Each completed link tells its account its password changed.
			before := len(e.box.sent)
			e.deliver(t, e.svc)
			changed := 0
			for _, m := range e.box.sent[before:] {
				if m.Tag == string(accounts.NoticePasswordChanged) {
					changed++
				}
			}
			if changed != len(links) {
				t.Errorf("%d password-changed mails after %d completed links", changed, len(links))
			}
		})
	}

	// An account without e-mail is in the trail; nobody else's request is.
	page, err := e.svc.ListAudit(ctx, e.admin, accounts.AuditQuery{Action: accounts.ActionRecoveryRequested})
	if err != nil {
		t.Fatal(err)
	}
	details := map[string]string{}
	for _, ev := range page.Events {
		details[ev.TargetUsername] += ev.Detail + ";"
		if ev.ActorID != accounts.RecoveryActor {
			t.Errorf("event actor %q, want %q", ev.ActorID, accounts.RecoveryActor)
		}
	}
	if !strings.Contains(details["nomail"], "no e-mail address, nothing sent") {
		t.Errorf("trail for nomail: %q", details["nomail"])
	}
	if !strings.Contains(details["ann"], "accounts at the address") || !strings.Contains(details["dee"], "mailed") {
		t.Errorf("trail: %v", details)
	}
	if strings.Contains(e.logs.String(), "nobody") || strings.Contains(e.logs.String(), "family@kpu.example") {
		t.Error("an identifier reached the log")
	}
}

func TestRecoveryRefusesOnlyMalformedRequests(t *testing.T) {
	t.Parallel()
	e := newRecoveryEnv(t, accounts.RecoveryLimits{})
	for _, tc := range []struct {
		name  string
		in    accounts.RecoveryInput
		field string
	}{
		{"bad tenant", accounts.RecoveryInput{Kind: accounts.RecoverPassword, Tenant: "KPU!", Identifier: "dee"}, "tenant"},
		{"no identifier", accounts.RecoveryInput{Kind: accounts.RecoverPassword, Tenant: "kpu", Identifier: "  "}, "identifier"},
		{"too long", accounts.RecoveryInput{Kind: accounts.RecoverPassword, Tenant: "kpu", Identifier: strings.Repeat("a", 321)}, "identifier"},
		{"control character", accounts.RecoveryInput{Kind: accounts.RecoverUsername, Tenant: "kpu", Identifier: "a\x00@b.example"}, "email"},
		{"no e-mail", accounts.RecoveryInput{Kind: accounts.RecoverUsername, Tenant: "kpu"}, "email"},
	} {
		err := e.svc.RequestRecovery(context.Background(), tc.in)
		wantCode(t, err, accounts.CodeInvalid)
		if accounts.PublicField(err) != tc.field {
			t.Errorf("%s: field %q, want %q", tc.name, accounts.PublicField(err), tc.field)
		}
	}
	// An unknown library is a well-formed request like any other.
	if err := e.svc.RequestRecovery(context.Background(), accounts.RecoveryInput{Kind: accounts.RecoverPassword, Tenant: "nowhere", Identifier: "dee"}); err != nil {
		t.Fatal(err)
	}
	if mails := e.work(t); len(mails) != 0 || len(e.queue.take()) != 0 {
		t.Errorf("mails %v", mails)
	}
}

func TestRecoveryThrottles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limits accounts.RecoveryLimits
		ask    func(e *recoveryEnv, i int) error
		mails  int // of 6 requests
	}{
		{"per identifier", accounts.RecoveryLimits{}, func(e *recoveryEnv, i int) error {
			return e.ask(accounts.RecoverPassword, "dee", fmt.Sprintf("192.0.2.%d", i))
		}, 3},
		{"per identifier, whatever its case", accounts.RecoveryLimits{}, func(e *recoveryEnv, i int) error {
			return e.ask(accounts.RecoverPassword, []string{"dee", "DEE", "Dee"}[i%3], fmt.Sprintf("192.0.2.%d", i))
		}, 3},
		{"per source", accounts.RecoveryLimits{PerSource: 2}, func(e *recoveryEnv, i int) error {
			return e.ask(accounts.RecoverPassword, []string{"dee", "ann", "cy", "Bob", "b9876", "dee@kpu.example"}[i], "198.51.100.7")
		}, 2},
		{"per tenant", accounts.RecoveryLimits{PerTenant: 4}, func(e *recoveryEnv, i int) error {
			return e.ask(accounts.RecoverUsername, []string{"dee@kpu.example", "cy@kpu.example", "family@kpu.example"}[i%3], fmt.Sprintf("192.0.2.%d", i))
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRecoveryEnv(t, tc.limits)
			for i := range 6 {
				if err := tc.ask(e, i); err != nil {
					t.Fatalf("request %d: %v, want the same acceptance over the throttle", i, err)
				}
			}
			if mails := e.work(t); len(mails) != tc.mails {
				t.Fatalf("%d mails for 6 requests, want %d", len(mails), tc.mails)
			}
			// The window passes: the next request is answered again.
			e.clock.Advance(time.Hour)
			if err := tc.ask(e, 0); err != nil {
				t.Fatal(err)
			}
			if mails := e.work(t); len(mails) != 1 {
				t.Errorf("%d mails an hour later, want 1", len(mails))
			}
		})
	}
}

func TestRecoveryRedeliveredRaisesOneNotice(t *testing.T) {
	t.Parallel()
	e := newRecoveryEnv(t, accounts.RecoveryLimits{})
	ctx := context.Background()
	if err := e.ask(accounts.RecoverPassword, "family@kpu.example", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	refs := e.queue.take()
	if len(refs) != 1 {
		t.Fatalf("queued %v", refs)
	}
	// The first delivery raises the notice but cannot queue it.
	e.notices.fail = &accounts.Error{Code: accounts.CodeUnavailable, Message: "queue down"}
	if err := e.svc.ResolveRecovery(ctx, refs[0]); err == nil {
		t.Fatal("a notice that could not be queued must bring the message back")
	}
	// SQS delivers again, twice: the notice is queued, and raised once.
	for range 2 {
		if err := e.svc.ResolveRecovery(ctx, refs[0]); err != nil {
			t.Fatal(err)
		}
	}
	e.deliver(t, e.svc)
	if len(e.box.sent) != 1 {
		t.Fatalf("%d mails, want 1", len(e.box.sent))
	}
	page, err := e.store.ListNotices(ctx, "kpu", e.users["ann"].ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Notices) != 1 || page.Notices[0].Kind != accounts.NoticePasswordRecovery || len(page.Notices[0].Also) != 1 || page.Notices[0].Also[0] != e.users["Bob"].ID {
		t.Errorf("notices %+v, want one recovery notice also naming Bob", page.Notices)
	}
}

func TestRecoveryLinkReplacesOlderLinks(t *testing.T) {
	t.Parallel()
	e := newRecoveryEnv(t, accounts.RecoveryLimits{})
	ctx := context.Background()
	var links []string
	for i := range 2 {
		if err := e.ask(accounts.RecoverPassword, "dee", fmt.Sprintf("192.0.2.%d", i)); err != nil {
			t.Fatal(err)
		}
		mails := e.work(t)
		if len(mails) != 1 {
			t.Fatalf("%d mails", len(mails))
		}
		links = append(links, linksIn(t, mails[0].Text)...)
	}
	wantCode(t, e.svc.CompletePasswordReset(ctx, links[0], "a brand new passphrase"), accounts.CodeInvalid)
	// The link ends with the tenant's recovery lifetime (1 hour).
	e.clock.Advance(time.Hour)
	wantCode(t, e.svc.CompletePasswordReset(ctx, links[1], "a brand new passphrase"), accounts.CodeInvalid)
}
