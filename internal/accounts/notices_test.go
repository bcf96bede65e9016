package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// faultyMailer fails its first fails sends with err, then delivers to box.
// During a send it can run hook, to act while the notice is claimed.
type faultyMailer struct {
	box   *outbox
	mu    sync.Mutex
	fails int
	err   error
	tries int
	hook  func()
}

func (m *faultyMailer) Send(ctx context.Context, msg accounts.Message) (string, error) {
	m.mu.Lock()
	m.tries++
	hook := m.hook
	m.hook = nil
	fail := m.fails > 0
	if fail {
		m.fails--
	}
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	if fail {
		return "", m.err
	}
	return m.box.Send(ctx, msg)
}

var (
	errThrottled = &accounts.Error{Code: accounts.CodeUnavailable, Message: "the mail service is busy", Err: &accounts.MailError{Reason: "SES is throttling sends (SES Throttling)"}}
	errRejected  = &accounts.Error{Code: accounts.CodeInternal, Message: "internal error", Err: &accounts.MailError{Permanent: true, Reason: "SES rejected the message (SES MessageRejected)"}}
)

// noticeEnv is a tenant with a patron who has an address, and a service
// that queues notices and sends them through mailer.
type noticeEnv struct {
	*fixture
	svc    *accounts.Service
	box    *outbox
	mailer *faultyMailer
	admin  accounts.Caller
	patron accounts.User
}

func newNoticeEnv(tb testing.TB) *noticeEnv {
	tb.Helper()
	f := newFixture(tb)
	e := &noticeEnv{fixture: f, box: &outbox{}}
	e.mailer = &faultyMailer{box: e.box}
	e.svc = f.serviceWith(e.mailer)
	e.admin = f.tenant(tb, "kpu")
	e.patron = f.user(tb, e.admin, accounts.CreateUserInput{Username: "patron", Email: "p@kpu.example"})
	return e
}

// queueLink has staff send the patron a reset link and returns the notice
// id and the one message queued.
func (e *noticeEnv) queueLink(tb testing.TB) (string, queuedNotice) {
	tb.Helper()
	res, err := e.svc.ResetPassword(context.Background(), e.admin, e.patron.ID, accounts.ResetPasswordInput{SendResetLink: true})
	if err != nil {
		tb.Fatal(err)
	}
	msgs := e.notices.take()
	if len(msgs) != 1 || msgs[0].ref.NoticeID != res.NoticeID || msgs[0].delay != 0 {
		tb.Fatalf("queued %+v for notice %s, want one message without delay", msgs, res.NoticeID)
	}
	return res.NoticeID, msgs[0]
}

func (e *noticeEnv) notice(tb testing.TB, id string) accounts.Notice {
	tb.Helper()
	n, err := e.store.GetNotice(context.Background(), "kpu", e.patron.ID, id)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestNoticeDeliveredTwiceIsSentOnce(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	id, msg := e.queueLink(t)
	if n := e.notice(t, id); n.Status != accounts.NoticeQueued || n.Attempts != 0 {
		t.Fatalf("before delivery: %s after %d attempts", n.Status, n.Attempts)
	}
	for range 2 { // SQS delivers at least once
		if err := e.svc.DeliverNotice(context.Background(), msg.ref); err != nil {
			t.Fatal(err)
		}
	}
	if len(e.box.sent) != 1 {
		t.Fatalf("%d mails, want 1", len(e.box.sent))
	}
	n := e.notice(t, id)
	if n.Status != accounts.NoticeSent || n.Attempts != 1 || n.ProviderMessageID != "msg-1" || n.SentAt.IsZero() || n.To != "p@kpu.example" {
		t.Errorf("notice: %+v", n)
	}
	m := e.box.last(t)
	if m.Tags["tenant"] != "kpu" || m.Tags["user"] != e.patron.ID || m.Tags["notice"] != id || m.Tag != string(accounts.NoticeResetLink) {
		t.Errorf("mail tags %v, tag %q", m.Tags, m.Tag)
	}
	if len(e.notices.take()) != 0 {
		t.Error("a sent notice queued another message")
	}
}

func TestNoticeAttempts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		fails        int
		err          error
		wantStatus   accounts.NoticeStatus
		wantAttempts int
		wantMails    int
		wantReason   string
	}{
		{"transient failure twice, then success", 2, errThrottled, accounts.NoticeSent, 3, 1, ""},
		{"three transient failures", 3, errThrottled, accounts.NoticeFailed, 3, 0, "after 3 attempts"},
		{"permanent failure", 1, errRejected, accounts.NoticeFailed, 1, 0, "MessageRejected"},
		{"malformed address", 1, accounts.FieldError("to", "the recipient must be a plain e-mail address"), accounts.NoticeFailed, 1, 0, "refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newNoticeEnv(t)
			e.mailer.fails, e.mailer.err = tc.fails, tc.err
			id, msg := e.queueLink(t)
			var delays []time.Duration
			for range 5 {
				if err := e.svc.DeliverNotice(context.Background(), msg.ref); err != nil {
					t.Fatal(err)
				}
				next := e.notices.take()
				if len(next) == 0 {
					break
				}
				if len(next) != 1 || next[0].ref != msg.ref {
					t.Fatalf("re-queued %+v", next)
				}
				msg = next[0]
				delays = append(delays, msg.delay)
				if n := e.notice(t, id); n.Status != accounts.NoticeQueued || n.Reason == "" || !n.NextAttemptAt.Equal(e.clock.Now().Add(msg.delay)) {
					t.Errorf("between attempts: %+v", n)
				}
				e.clock.Advance(msg.delay)
			}
			n := e.notice(t, id)
			if n.Status != tc.wantStatus || n.Attempts != tc.wantAttempts || !strings.Contains(n.Reason, tc.wantReason) {
				t.Errorf("notice ends %s after %d attempts (%q), want %s after %d (%q)", n.Status, n.Attempts, n.Reason, tc.wantStatus, tc.wantAttempts, tc.wantReason)
			}
			if len(e.box.sent) != tc.wantMails || e.mailer.tries != tc.wantAttempts {
				t.Errorf("%d mails after %d sends, want %d after %d", len(e.box.sent), e.mailer.tries, tc.wantMails, tc.wantAttempts)
			}
			// Backoff: about 30 s, then about 2 min, jittered upwards.
			for i, d := range delays {
				lo := []time.Duration{30 * time.Second, 2 * time.Minute}[min(i, 1)]
				if d < lo || d > lo*6/5 {
					t.Errorf("delay before attempt %d is %v, want %v to %v", i+2, d, lo, lo*6/5)
				}
			}
		})
	}
}

func TestNoticeInFlightIsNotSentAgain(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	id, msg := e.queueLink(t)
	// While the first delivery holds the claim, the message comes again.
	var inner error
	e.mailer.hook = func() { inner = e.svc.DeliverNotice(context.Background(), msg.ref) }
	if err := e.svc.DeliverNotice(context.Background(), msg.ref); err != nil {
		t.Fatal(err)
	}
	// It hands over to a message held back until the claim's lease ends,
	// rather than spend its own receives while the lease runs.
	if inner != nil {
		t.Errorf("the second delivery returned %v, want it done with, a new message waiting out the lease", inner)
	}
	if back := e.notices.take(); len(back) != 1 || back[0].ref != msg.ref || back[0].delay <= 0 {
		t.Errorf("re-queued %+v, want the notice once, after the lease", back)
	}
	if len(e.box.sent) != 1 || e.mailer.tries != 1 {
		t.Errorf("%d mails after %d sends, want 1", len(e.box.sent), e.mailer.tries)
	}
	if err := e.svc.DeliverNotice(context.Background(), msg.ref); err != nil || len(e.box.sent) != 1 {
		t.Errorf("coming back later: %v, %d mails", err, len(e.box.sent))
	}
	if n := e.notice(t, id); n.Status != accounts.NoticeSent || n.Attempts != 1 {
		t.Errorf("notice: %s after %d", n.Status, n.Attempts)
	}
}

func TestNoticeOfACrashedWorkerIsClaimedAfterTheLease(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	id, msg := e.queueLink(t)
	// A worker claimed it and died before sending: what it leaves behind.
	n := e.notice(t, id)
	crashed := n
	crashed.Status, crashed.Attempts, crashed.LeaseUntil = accounts.NoticeSending, 1, e.clock.Now().Add(2*time.Minute)
	if err := e.store.UpdateNotice(context.Background(), crashed, n.Status, n.Attempts); err != nil {
		t.Fatal(err)
	}
	e.notices.take()
	err := e.svc.DeliverNotice(context.Background(), msg.ref)
	back := e.notices.take()
	if err != nil || len(e.box.sent) != 0 || len(back) != 1 || back[0].delay < 2*time.Minute {
		t.Fatalf("within the lease: %v, %d mails, re-queued %+v; want none sent and the notice back after the lease", err, len(e.box.sent), back)
	}
	// The queue still failing: the message itself must come back.
	e.notices.fail = errors.New("queue down")
	if err := e.svc.DeliverNotice(context.Background(), msg.ref); !errors.Is(err, accounts.ErrNoticeInFlight) {
		t.Fatalf("within the lease, queue down: %v; want in flight", err)
	}
	e.clock.Advance(2*time.Minute + time.Second)
	if err := e.svc.DeliverNotice(context.Background(), msg.ref); err != nil {
		t.Fatal(err)
	}
	if got := e.notice(t, id); got.Status != accounts.NoticeSent || got.Attempts != 2 || len(e.box.sent) != 1 {
		t.Errorf("after the lease: %s after %d attempts, %d mails", got.Status, got.Attempts, len(e.box.sent))
	}
	link := tokenIn(t, e.box.last(t).Text)
	if err := e.svc.CompletePasswordReset(context.Background(), link, "a lamp by the window"); err != nil {
		t.Errorf("the link of the re-claimed notice: %v", err)
	}
}

// staleStore answers one GetNotice with a notice as it was read earlier: a
// delivery that read before another one claimed.
type staleStore struct {
	accounts.Store
	mu    sync.Mutex
	stale *accounts.Notice
}

func (s *staleStore) GetNotice(ctx context.Context, tenantID, userID, id string) (accounts.Notice, error) {
	s.mu.Lock()
	n := s.stale
	s.stale = nil
	s.mu.Unlock()
	if n != nil {
		return *n, nil
	}
	return s.Store.GetNotice(ctx, tenantID, userID, id)
}

func TestTwoDeliveriesAfterALeaseCannotBothClaim(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	id, msg := e.queueLink(t)
	n := e.notice(t, id)
	crashed := n
	crashed.Status, crashed.Attempts, crashed.LeaseUntil = accounts.NoticeSending, 1, e.clock.Now().Add(2*time.Minute)
	if err := e.store.UpdateNotice(context.Background(), crashed, n.Status, n.Attempts); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Minute)
	// Both deliveries read the expired lease; the second claims while the
	// first is sending.
	other := accounts.NewService(accounts.Deps{Store: &staleStore{Store: e.store, stale: &crashed}, Hasher: hasherFast(), Clock: e.clock.Now, Wait: e.clock.Wait, Mailer: e.mailer, Notices: e.notices, Logger: e.logger()},
		accounts.Config{ResetPageURL: "https://accounts.example.org/reset"})
	var second error
	e.mailer.hook = func() { second = other.DeliverNotice(context.Background(), msg.ref) }
	if err := e.svc.DeliverNotice(context.Background(), msg.ref); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(second, accounts.ErrNoticeInFlight) || len(e.box.sent) != 1 {
		t.Errorf("second delivery: %v, %d mails; want in flight and one mail", second, len(e.box.sent))
	}
	if got := e.notice(t, id); got.Status != accounts.NoticeSent || got.Attempts != 2 {
		t.Errorf("notice %s after %d attempts, want sent after 2", got.Status, got.Attempts)
	}
}

func TestANewerLinkEndsTheOlder(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	for range 2 {
		e.queueLinkAndDeliver(t)
	}
	first, second := tokenIn(t, e.box.sent[0].Text), tokenIn(t, e.box.sent[1].Text)
	wantCode(t, e.svc.CompletePasswordReset(context.Background(), first, "a lamp by the window"), accounts.CodeInvalid)
	if err := e.svc.CompletePasswordReset(context.Background(), second, "a lamp by the window"); err != nil {
		t.Fatal(err)
	}
}

func (e *noticeEnv) queueLinkAndDeliver(tb testing.TB) string {
	tb.Helper()
	id, _ := e.queueLink(tb)
	e.notices.msgs = []queuedNotice{{ref: accounts.NoticeRef{TenantID: "kpu", UserID: e.patron.ID, NoticeID: id}}}
	e.deliver(tb, e.svc)
	return id
}

// scanTable returns every item of the table as JSON, one per line.
func (f *fixture) scanTable(tb testing.TB) string {
	tb.Helper()
	var b strings.Builder
	p := dynamodb.NewScanPaginator(f.db, &dynamodb.ScanInput{TableName: aws.String(f.table)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		for _, it := range out.Items {
			data, _ := json.Marshal(it)
			b.Write(data)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestNoticeSecretsLiveOnlyInTheMail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     accounts.ResetPasswordInput
		secret func(tb testing.TB, text string) string
	}{
		{"reset link", accounts.ResetPasswordInput{SendResetLink: true}, func(tb testing.TB, text string) string {
			tok := tokenIn(tb, text)
			return tok[strings.LastIndexByte(tok, '.')+1:]
		}},
		{"temporary password", accounts.ResetPasswordInput{Generate: true, Notify: true}, func(tb testing.TB, text string) string {
			m := regexp.MustCompile(`(?m)^ {4}(\S+)$`).FindStringSubmatch(text)
			if m == nil {
				tb.Fatalf("no password in %q", text)
			}
			return m[1]
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newNoticeEnv(t)
			ctx := context.Background()
			res, err := e.svc.ResetPassword(ctx, e.admin, e.patron.ID, tc.in)
			if err != nil || !res.Emailed || res.GeneratedPassword != "" {
				t.Fatalf("reset: %+v %v", res, err)
			}
			msgs := append([]queuedNotice(nil), e.notices.msgs...)
			// Nothing secret exists until the sender makes it.
			before := e.scanTable(t)
			e.deliver(t, e.svc)
			secret := tc.secret(t, e.box.last(t).Text)
			if len(secret) < 12 {
				t.Fatalf("secret %q is too short to search for", secret)
			}
			n := e.notice(t, res.NoticeID)
			page, err := e.svc.ListAudit(ctx, e.admin, accounts.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			for what, text := range map[string]string{
				"the notice record": fmt.Sprintf("%+v", n),
				"the queue message": fmt.Sprintf("%+v", msgs),
				"the audit trail":   fmt.Sprintf("%+v", page),
				"the logs":          e.logs.String(),
				"the table":         e.scanTable(t),
				"the table before":  before,
			} {
				if strings.Contains(text, secret) {
					t.Errorf("the secret is in %s", what)
				}
			}
			if strings.Contains(e.logs.String(), "p@kpu.example") {
				t.Error("the address is in the logs")
			}
		})
	}
}

func TestTemporaryPasswordIsMadeWhenSent(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	ctx := context.Background()
	live := e.login(t, "kpu", "patron", "a perfectly fine passphrase")
	if _, err := e.svc.ResetPassword(ctx, e.admin, e.patron.ID, accounts.ResetPasswordInput{Generate: true, Notify: true}); err != nil {
		t.Fatal(err)
	}
	// Queued, not sent: the old password and session still work.
	if _, err := e.svc.Me(ctx, live); err != nil {
		t.Fatalf("before the notice is sent: %v", err)
	}
	e.deliver(t, e.svc)
	_, err := e.svc.Me(ctx, live)
	wantCode(t, err, accounts.CodeUnauthorized)
	pw := regexp.MustCompile(`(?m)^ {4}(\S+)$`).FindStringSubmatch(e.box.last(t).Text)
	r, err := e.svc.Login(ctx, accounts.LoginInput{Tenant: "kpu", Username: "patron", Password: pw[1]})
	if err != nil || !r.MustChangePassword {
		t.Fatalf("login with the mailed password: %+v %v", r, err)
	}
}

func TestEnqueueFailureLeavesTheNoticeQueued(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	ctx := context.Background()
	e.notices.fail = errors.New("queue down")
	res, err := e.svc.ResetPassword(ctx, e.admin, e.patron.ID, accounts.ResetPasswordInput{SendResetLink: true})
	if err != nil || !res.Emailed || res.NoticeID == "" {
		t.Fatalf("reset with the queue down: %+v %v; want success", res, err)
	}
	page, err := e.svc.ListUserNotices(ctx, e.admin, e.patron.ID, 0, "")
	if err != nil || len(page.Notices) != 1 || page.Notices[0].Status != accounts.NoticeQueued {
		t.Fatalf("staff see %+v %v; want the notice queued", page, err)
	}
}

// sesEvent is what the ses-events function hands the service for the last
// mail sent.
func (e *noticeEnv) sesEvent(tb testing.TB, typ accounts.MailEventType, bounceType string) accounts.MailEvent {
	tb.Helper()
	m := e.box.last(tb)
	return accounts.MailEvent{
		Type: typ, BounceType: bounceType, BounceSubType: "General", ProviderMessageID: fmt.Sprintf("msg-%d", len(e.box.sent)),
		TenantID: m.Tags["tenant"], UserID: m.Tags["user"], NoticeID: m.Tags["notice"], At: e.clock.Now(),
	}
}

func TestBouncesAndComplaints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		typ        accounts.MailEventType
		bounceType string
		wantNotice accounts.NoticeStatus
		wantFlag   accounts.EmailStatus
		wantReason string
	}{
		{"hard bounce", accounts.MailBounce, "Permanent", accounts.NoticeBounced, accounts.EmailBounced, "address bounced"},
		{"complaint", accounts.MailComplaint, "", accounts.NoticeComplained, accounts.EmailComplained, "address complained"},
		{"soft bounce (out of office)", accounts.MailBounce, "Transient", accounts.NoticeSent, "", ""},
		{"delivery", accounts.MailDelivery, "", accounts.NoticeSent, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newNoticeEnv(t)
			ctx := context.Background()
			id := e.queueLinkAndDeliver(t)
			// A second link is queued before SES reports on the first.
			next, _ := e.queueLink(t)
			ev := e.sesEvent(t, tc.typ, tc.bounceType)
			for range 2 { // SNS delivers at least once
				if err := e.svc.RecordMailEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			n := e.notice(t, id)
			if n.Status != tc.wantNotice || n.Attempts != 1 {
				t.Errorf("notice %s after %d attempts, want %s", n.Status, n.Attempts, tc.wantNotice)
			}
			if tc.wantFlag == "" && !n.Delivered {
				t.Error("the delivery is not noted on the notice")
			}
			u, err := e.svc.GetUser(ctx, e.admin, e.patron.ID)
			if err != nil || u.EmailStatus != tc.wantFlag {
				t.Fatalf("user e-mail status %q (%v), want %q", u.EmailStatus, err, tc.wantFlag)
			}

			// The next notice to a flagged address is skipped, with why.
			e.notices.msgs = []queuedNotice{{ref: accounts.NoticeRef{TenantID: "kpu", UserID: e.patron.ID, NoticeID: next}}}
			e.deliver(t, e.svc)
			sent := len(e.box.sent)
			want := accounts.NoticeSent
			if tc.wantFlag != "" {
				want, sent = accounts.NoticeSkipped, 1
			}
			if got := e.notice(t, next); got.Status != want || got.Reason != tc.wantReason || len(e.box.sent) != sent {
				t.Errorf("next notice: %s (%q), %d mails; want %s (%q)", got.Status, got.Reason, len(e.box.sent), want, tc.wantReason)
			}

			// Staff asking for another mail are told at once that it
			// would not arrive.
			_, err = e.svc.ResetPassword(ctx, e.admin, e.patron.ID, accounts.ResetPasswordInput{SendResetLink: true})
			if flagged := tc.wantFlag != ""; flagged != accounts.IsCode(err, accounts.CodeInvalid) {
				t.Errorf("another reset link to the address: %v (flagged %v)", err, flagged)
			}
			e.notices.take()

			// A new address clears the flag; the same address (in another
			// case) does not.
			if _, err := e.svc.UpdateUser(ctx, e.admin, u.ID, u.Version, accounts.UserPatch{Email: ptr("P@KPU.example")}); err != nil {
				t.Fatal(err)
			}
			if u, _ = e.svc.GetUser(ctx, e.admin, u.ID); u.EmailStatus != tc.wantFlag {
				t.Errorf("after a change of case only: %q, want %q", u.EmailStatus, tc.wantFlag)
			}
			got, err := e.svc.UpdateUser(ctx, e.admin, u.ID, u.Version, accounts.UserPatch{Email: ptr("new@kpu.example")})
			if err != nil || got.EmailStatus != "" {
				t.Fatalf("edit: %q %v", got.EmailStatus, err)
			}
			if u, _ = e.svc.GetUser(ctx, e.admin, u.ID); u.EmailStatus != "" {
				t.Errorf("stored status after the edit: %q", u.EmailStatus)
			}
			// An event about the old address no longer flags the user.
			if err := e.svc.RecordMailEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
			if u, _ = e.svc.GetUser(ctx, e.admin, u.ID); u.EmailStatus != "" {
				t.Errorf("an old event flagged the new address: %q", u.EmailStatus)
			}
		})
	}
}

func TestBounceLandingDuringAnEditIsClearedByIt(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	ctx := context.Background()
	e.queueLinkAndDeliver(t)
	u, _ := e.svc.GetUser(ctx, e.admin, e.patron.ID)
	// The bounce lands after staff loaded the user, before they saved.
	if err := e.svc.RecordMailEvent(ctx, e.sesEvent(t, accounts.MailBounce, "Permanent")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateUser(ctx, e.admin, u.ID, u.Version, accounts.UserPatch{Email: ptr("new@kpu.example")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.GetUser(ctx, e.admin, u.ID); got.EmailStatus != "" {
		t.Errorf("the new address carries the old one's bounce: %q", got.EmailStatus)
	}
}

func TestNoticesArePaced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	var (
		mu    sync.Mutex
		times []time.Time
	)
	box := &outbox{}
	mailer := &faultyMailer{box: box}
	stamp := &stampMailer{Mailer: mailer, now: f.clock.Now, record: func(at time.Time) { mu.Lock(); times = append(times, at); mu.Unlock() }}
	// 10 sends/s shared by 2 workers: this one sends every 200 ms.
	svc := accounts.NewService(accounts.Deps{Store: f.store, Hasher: hasherFast(), Clock: f.clock.Now, Wait: f.clock.Wait, Mailer: stamp, Notices: f.notices, Logger: f.logger()},
		accounts.Config{ResetPageURL: "https://x.example/reset", NoticeSendRate: 10, NoticeWorkerConcurrency: 2})
	for i := range 8 {
		u := f.user(t, admin, accounts.CreateUserInput{Username: fmt.Sprintf("p%d", i), Email: fmt.Sprintf("p%d@kpu.example", i)})
		if _, err := svc.ResetPassword(context.Background(), admin, u.ID, accounts.ResetPasswordInput{SendResetLink: true}); err != nil {
			t.Fatal(err)
		}
	}
	start := f.clock.Now()
	f.deliver(t, svc)
	if len(times) != 8 {
		t.Fatalf("%d sends, want 8", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 200*time.Millisecond {
			t.Errorf("send %d came %v after the one before, want at least 200ms", i+1, gap)
		}
	}
	if total := times[7].Sub(start); total != 7*200*time.Millisecond {
		t.Errorf("8 sends took %v, want %v (no slower than the rate either)", total, 7*200*time.Millisecond)
	}
}

// stampMailer records the clock's time of each send.
type stampMailer struct {
	accounts.Mailer
	now    func() time.Time
	record func(time.Time)
}

func (m *stampMailer) Send(ctx context.Context, msg accounts.Message) (string, error) {
	m.record(m.now())
	return m.Mailer.Send(ctx, msg)
}

func TestListUserNotices(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	ctx := context.Background()
	var ids []string
	for range 3 {
		e.clock.Advance(time.Second)
		ids = append(ids, e.queueLinkAndDeliver(t))
	}
	page, err := e.svc.ListUserNotices(ctx, e.admin, e.patron.ID, 2, "")
	if err != nil || len(page.Notices) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	rest, err := e.svc.ListUserNotices(ctx, e.admin, e.patron.ID, 2, page.NextCursor)
	if err != nil || len(rest.Notices) != 1 || rest.NextCursor != "" {
		t.Fatalf("second page: %+v %v", rest, err)
	}
	got := []string{page.Notices[0].ID, page.Notices[1].ID, rest.Notices[0].ID}
	if want := []string{ids[2], ids[1], ids[0]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("order %v, want newest first %v", got, want)
	}
	if n := page.Notices[0]; n.Kind != accounts.NoticeResetLink || n.Status != accounts.NoticeSent || n.Attempts != 1 || n.SentAt.IsZero() {
		t.Errorf("listed notice: %+v", n)
	}
	_, err = e.svc.ListUserNotices(ctx, e.admin, e.patron.ID, 2, "bogus")
	wantCode(t, err, accounts.CodeInvalid)

	patron := e.login(t, "kpu", "patron", "a perfectly fine passphrase")
	_, err = e.svc.ListUserNotices(ctx, patron, e.patron.ID, 0, "")
	wantCode(t, err, accounts.CodeForbidden)
	other := e.tenant(t, "ubc")
	_, err = e.svc.ListUserNotices(ctx, other, e.patron.ID, 0, "")
	wantCode(t, err, accounts.CodeNotFound)
}

func TestDeletingAUserDeletesItsNotices(t *testing.T) {
	t.Parallel()
	e := newNoticeEnv(t)
	ctx := context.Background()
	id := e.queueLinkAndDeliver(t)
	if _, err := e.svc.SetUserStatus(ctx, e.admin, e.patron.ID, accounts.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteUser(ctx, e.admin, e.patron.ID, "patron"); err != nil {
		t.Fatal(err)
	}
	_, err := e.store.GetNotice(ctx, "kpu", e.patron.ID, id)
	wantCode(t, err, accounts.CodeNotFound)
}
