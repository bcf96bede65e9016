package accounts_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// A letter body with what each kind requires, for the cases that test
// something else.
var validBody = map[accounts.NoticeKind]string{
	accounts.NoticeResetLink:         "Hello {{username}}, open {{link}} within {{linkLifetime}}.",
	accounts.NoticeTemporaryPassword: "Hello {{username}}, your password is {{temporaryPassword}}.",
	accounts.NoticePasswordChanged:   "Hello {{username}}, your password was changed.",
	accounts.NoticeJobFinished:       "Your job {{jobId}} for {{fileName}} ended: {{status}}.",
}

func TestLetterValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	ctx := context.Background()
	link, temp, job := string(accounts.NoticeResetLink), string(accounts.NoticeTemporaryPassword), string(accounts.NoticeJobFinished)
	tests := []struct {
		name, kind, subject, body string
		code                      accounts.Code
		field                     string
		says                      []string // in the message
	}{
		{"unknown placeholder named", link, "Reset", validBody[accounts.NoticeResetLink] + " {{barcode}}", accounts.CodeInvalid, "body", []string{"{{barcode}}", "{{linkExpiresAt}}"}},
		{"every unknown placeholder named once", link, "Reset", validBody[accounts.NoticeResetLink] + " {{barcode}} {{pin}} {{barcode}}", accounts.CodeInvalid, "body", []string{"placeholders in the body: {{barcode}}, {{pin}};"}},
		{"unknown placeholder in the subject", link, "Hi {{firstName}}", validBody[accounts.NoticeResetLink], accounts.CodeInvalid, "subject", []string{"{{firstName}}"}},
		{"another kind's placeholder", link, "Reset", validBody[accounts.NoticeResetLink] + " {{fileName}}", accounts.CodeInvalid, "body", []string{"{{fileName}}"}},
		{"link letter without the link", link, "Reset", "Hello {{username}}, ask the desk.", accounts.CodeInvalid, "body", []string{"{{link}}"}},
		{"temporary letter without the password", temp, "Reset", "Hello {{username}}.", accounts.CodeInvalid, "body", []string{"{{temporaryPassword}}"}},
		{"secret in the subject", temp, "Your password {{temporaryPassword}}", validBody[accounts.NoticeTemporaryPassword], accounts.CodeInvalid, "subject", []string{"{{temporaryPassword}}", "subject"}},
		{"link in the subject", link, "{{link}}", validBody[accounts.NoticeResetLink], accounts.CodeInvalid, "subject", []string{"{{link}}"}},
		{"subject over 200", link, strings.Repeat("é", 201), validBody[accounts.NoticeResetLink], accounts.CodeInvalid, "subject", []string{"200"}},
		{"subject on two lines", link, "Reset\nBcc: x@example.org", validBody[accounts.NoticeResetLink], accounts.CodeInvalid, "subject", []string{"one line"}},
		{"subject missing", link, "  ", validBody[accounts.NoticeResetLink], accounts.CodeInvalid, "subject", []string{"required"}},
		{"body missing", link, "Reset", "\n\n", accounts.CodeInvalid, "body", []string{"required"}},
		{"body over 20,000", link, "Reset", validBody[accounts.NoticeResetLink] + strings.Repeat("x", 20001-len(validBody[accounts.NoticeResetLink])), accounts.CodeInvalid, "body", []string{"20000"}},
		{"placeholder not closed", link, "Reset", validBody[accounts.NoticeResetLink] + "\n\nBye {{username", accounts.CodeInvalid, "body", []string{"not closed", "line 3"}},
		{"malformed placeholder", link, "Reset", validBody[accounts.NoticeResetLink] + " {{user name}}", accounts.CodeInvalid, "body", []string{"{{user name}}"}},
		{"control character", link, "Reset", validBody[accounts.NoticeResetLink] + "\x00", accounts.CodeInvalid, "body", []string{"control"}},
		{"unknown kind lists the kinds", "password-reset", "Reset", "x", accounts.CodeNotFound, "", []string{"password-reset-link, password-temporary, password-changed, job-finished"}},
		{"subject of exactly 200", link, strings.Repeat("é", 200), validBody[accounts.NoticeResetLink], "", "", nil},
		{"body of exactly 20,000 with CRLF", link, "Reset", validBody[accounts.NoticeResetLink] + "\r\n" + strings.Repeat("x", 20000-1-len(validBody[accounts.NoticeResetLink])), "", "", nil},
		{"spaces inside braces", job, "{{ jobTitle }} ended", "{{ fileName }}: {{status}}", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// PUT and preview validate alike; neither may pass what the
			// other refuses.
			var version *int64
			if cur, err := f.svc.GetLetter(ctx, admin, tt.kind); err == nil {
				version = ptr(cur.Version)
			}
			_, err := f.svc.UpdateLetter(ctx, admin, tt.kind, version, tt.subject, tt.body)
			_, perr := f.svc.PreviewLetter(ctx, admin, tt.kind, &tt.subject, &tt.body)
			for what, err := range map[string]error{"update": err, "preview": perr} {
				if tt.code == "" {
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					continue
				}
				wantCode(t, err, tt.code)
				if got := accounts.PublicField(err); got != tt.field {
					t.Errorf("%s: field %q, want %q (%v)", what, got, tt.field, err)
				}
				for _, s := range tt.says {
					if msg := accounts.PublicMessage(err); !strings.Contains(msg, s) {
						t.Errorf("%s: message %q does not say %q", what, msg, s)
					}
				}
			}
		})
	}
}

// TestDefaultLettersSayWhatTheReaderNeeds holds the shipped texts to the
// issue: every patron notice gives the sign-in address and library code;
// one after a staff action says staff did it, not "if you did not ask";
// the link letter says how long the link works and until when; the job
// notice names its file or set.
func TestDefaultLettersSayWhatTheReaderNeeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	ctx := context.Background()
	tenant, err := f.svc.Settings(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{
		"username": "sadie.p", "link": "https://accounts.example.org/reset#token=T0KEN", "linkExpiresAt": "2026-03-02 09:00 UTC",
		"temporaryPassword": "Plum-Orbit-Seventy", "jobId": "job42", "jobKind": "set", "fileName": "fall-ids.csv", "setName": "Fall term",
		"status": "completed", "rows": "10", "created": "9", "failed": "1", "updated": "0", "skipped": "0",
		"accounts": "Username: sadie.p\nACCOUNT-BLOCK", "otherAccount": "kid.p", "summary": "LINK-SUMMARY",
	}
	patron := map[accounts.NoticeKind]bool{accounts.NoticeResetLink: true, accounts.NoticeTemporaryPassword: true, accounts.NoticePasswordChanged: true,
		accounts.NoticePasswordRecovery: true, accounts.NoticeUsernameReminder: true,
		accounts.NoticeLinkCreated: true, accounts.NoticeLinkConfirmRequest: true, accounts.NoticeLinkRemoved: true}
	staffAction := map[accounts.NoticeKind]bool{accounts.NoticeResetLink: true, accounts.NoticeTemporaryPassword: true}
	tests := []struct {
		kind  accounts.NoticeKind
		wants []string
	}{
		{accounts.NoticeResetLink, []string{"https://accounts.example.org/reset#token=T0KEN", "24 hours", "2026-03-02 09:00 UTC"}},
		{accounts.NoticeTemporaryPassword, []string{"Plum-Orbit-Seventy"}},
		{accounts.NoticePasswordChanged, nil},
		{accounts.NoticeJobFinished, []string{`"fall-ids.csv"`, `"Fall term"`, "job42", "completed"}},
		// A recovery letter gives the links' lifetime (the tenant's, 1
		// hour by default) and says what to do if the reader did not ask.
		{accounts.NoticePasswordRecovery, []string{"ACCOUNT-BLOCK", "1 hour", "did not ask"}},
		{accounts.NoticeUsernameReminder, []string{"ACCOUNT-BLOCK", "Forgot password", "did not ask"}},
		// Link letters name the other account and say what each can do.
		{accounts.NoticeLinkCreated, []string{"kid.p", "LINK-SUMMARY"}},
		{accounts.NoticeLinkConfirmRequest, []string{"kid.p", "LINK-SUMMARY", "confirm"}},
		{accounts.NoticeLinkRemoved, []string{"kid.p", "LINK-SUMMARY"}},
	}
	if len(tests) != len(accounts.NoticeKinds()) {
		t.Fatalf("%d kinds tested, %d exist", len(tests), len(accounts.NoticeKinds()))
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			def, err := accounts.DefaultLetter(tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			// The default passes the rules staff are held to.
			if _, err := f.svc.PreviewLetter(ctx, admin, string(tt.kind), &def.Subject, &def.Body); err != nil {
				t.Fatalf("default does not validate: %v", err)
			}
			subject, body, err := f.svc.RenderNotice(ctx, tenant, tt.kind, data)
			if err != nil {
				t.Fatal(err)
			}
			text := subject + "\n" + body
			wants := append([]string{"kpu library"}, tt.wants...)
			if patron[tt.kind] {
				wants = append(wants, "https://accounts.example.org/", "Library code: kpu", "sadie.p")
			}
			if staffAction[tt.kind] {
				wants = append(wants, "staff at kpu library")
				if strings.Contains(strings.ToLower(text), "did not ask") {
					t.Errorf("a notice after a staff action says the patron asked:\n%s", text)
				}
			}
			for _, w := range wants {
				if !strings.Contains(text, w) {
					t.Errorf("does not say %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, "{{") {
				t.Errorf("unfilled placeholder:\n%s", text)
			}
			if strings.Contains(subject, "T0KEN") || strings.Contains(subject, "Plum-Orbit") {
				t.Errorf("secret in subject %q", subject)
			}
		})
	}
}

// TestRenderNoticeUsesTheLibrarysLetter: after an edit the next notice is
// in the new words, for that library only.
func TestRenderNoticeUsesTheLibrarysLetter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	kpu := f.tenant(t, "kpu")
	ubc := f.tenant(t, "ubc")
	ctx := context.Background()
	data := map[string]string{"username": "sadie.p", "link": "https://x.example/r#token=abc", "linkExpiresAt": "soon"}

	l, err := f.svc.UpdateLetter(ctx, kpu, string(accounts.NoticeResetLink), nil, "KPU: new password for {{username}}", "Dear {{username}},\n{{link}} ({{linkLifetime}})\nCode {{libraryCode}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || !l.Custom() || l.UpdatedBy != "admin" {
		t.Fatalf("stored %+v", l)
	}
	kpuT, _ := f.svc.Settings(ctx, kpu)
	ubcT, _ := f.svc.Settings(ctx, ubc)
	subject, body, err := f.svc.RenderNotice(ctx, kpuT, accounts.NoticeResetLink, data)
	if err != nil {
		t.Fatal(err)
	}
	if subject != "KPU: new password for sadie.p" || body != "Dear sadie.p,\nhttps://x.example/r#token=abc (24 hours)\nCode kpu\n" {
		t.Fatalf("rendered %q / %q", subject, body)
	}
	// The other library keeps the default, in its own name.
	subject, body, err = f.svc.RenderNotice(ctx, ubcT, accounts.NoticeResetLink, data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(subject+body, "KPU") || strings.Contains(subject+body, "Code kpu") || !strings.Contains(body, "ubc library") {
		t.Fatalf("ubc rendered kpu's letter: %q / %q", subject, body)
	}
	if got, err := f.svc.GetLetter(ctx, ubc, string(accounts.NoticeResetLink)); err != nil || got.Custom() {
		t.Fatalf("ubc sees %+v, %v", got, err)
	}
	// A sender that lost the link gets an error, not a mail without it.
	if _, _, err := f.svc.RenderNotice(ctx, kpuT, accounts.NoticeResetLink, map[string]string{"username": "sadie.p"}); err == nil {
		t.Fatal("rendered a link letter without a link")
	}
	// A value cannot add a header line through the subject.
	subject, _, err = f.svc.RenderNotice(ctx, kpuT, accounts.NoticeResetLink, map[string]string{"username": "x\r\nBcc: y@example.org", "link": "l"})
	if err != nil || strings.ContainsAny(subject, "\r\n") {
		t.Fatalf("subject %q, %v", subject, err)
	}
}

func TestLetterVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	ctx := context.Background()
	kind := string(accounts.NoticePasswordChanged)
	body := validBody[accounts.NoticePasswordChanged]
	put := func(v *int64, subject string) (accounts.Letter, error) {
		return f.svc.UpdateLetter(ctx, admin, kind, v, subject, body)
	}

	if _, err := put(ptr[int64](1), "one"); !accounts.IsCode(err, accounts.CodeConflict) || accounts.PublicField(err) != "version" {
		t.Fatalf("version 1 of a default: %v", err)
	}
	l, err := put(ptr[int64](0), "one")
	if err != nil || l.Version != 1 {
		t.Fatalf("first edit from the default: %+v, %v", l, err)
	}
	_, err = put(nil, "two")
	wantCode(t, err, accounts.CodePreconditionRequired)
	if accounts.PublicField(err) != "version" {
		t.Errorf("field %q", accounts.PublicField(err))
	}
	_, err = put(ptr[int64](0), "two")
	wantCode(t, err, accounts.CodeConflict)
	if l, err = put(ptr[int64](1), "two"); err != nil || l.Version != 2 {
		t.Fatalf("second edit: %+v, %v", l, err)
	}
	_, err = put(ptr[int64](1), "stale")
	wantCode(t, err, accounts.CodeConflict)
	if !strings.Contains(accounts.PublicMessage(err), "version 2") {
		t.Errorf("message %q does not give the current version", accounts.PublicMessage(err))
	}
	// The same text again is no edit.
	if l, err = put(ptr[int64](2), "two"); err != nil || l.Version != 2 {
		t.Fatalf("unchanged: %+v, %v", l, err)
	}

	// Two staff at the same version: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = put(ptr[int64](2), []string{"mine", "theirs"}[i]) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("concurrent edits: %v / %v", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil {
			wantCode(t, err, accounts.CodeConflict)
		}
	}

	// Every edit left its trail, naming the kind and what changed.
	page, err := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{Action: accounts.ActionLetterUpdate})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 3 {
		t.Fatalf("%d letter events, want 3: %+v", len(page.Events), page.Events)
	}
	// The clock stands still, so the order is not the test's: one edit
	// replaced the default's subject and body, two only the subject.
	fields := map[string]int{}
	for _, ev := range page.Events {
		if ev.Detail != kind || ev.ActorUsername != "admin" {
			t.Errorf("event %+v", ev)
		}
		fields[strings.Join(ev.Fields, ",")]++
	}
	if fields["subject,body"] != 1 || fields["subject"] != 2 {
		t.Errorf("changed fields: %v", fields)
	}
}

func TestPreviewLetterUsesSamples(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	ctx := context.Background()

	r, err := f.svc.PreviewLetter(ctx, admin, string(accounts.NoticeResetLink), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Body, "https://accounts.example.org/reset#token=example") || !strings.Contains(r.Body, "sample.patron") || strings.Contains(r.Body, "{{") {
		t.Fatalf("preview of the default:\n%s", r.Body)
	}
	r, err = f.svc.PreviewLetter(ctx, admin, string(accounts.NoticeTemporaryPassword), ptr("Hi {{username}}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Hi sample.patron" || !strings.Contains(r.Body, "SAMPLE-not-a-real-password") {
		t.Fatalf("preview: %q\n%s", r.Subject, r.Body)
	}
	// A preview stores nothing: the letter is still the default and no
	// staff action was recorded.
	if l, err := f.svc.GetLetter(ctx, admin, string(accounts.NoticeTemporaryPassword)); err != nil || l.Custom() {
		t.Fatalf("after preview: %+v, %v", l, err)
	}
	if page, err := f.svc.ListAudit(ctx, admin, accounts.AuditQuery{Action: accounts.ActionLetterUpdate}); err != nil || len(page.Events) != 0 {
		t.Fatalf("preview left a trail: %+v, %v", page.Events, err)
	}
}

func TestLettersAreForStaff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.tenant(t, "kpu")
	ctx := context.Background()
	f.user(t, admin, accounts.CreateUserInput{Username: "patron", Password: "a perfectly fine passphrase"})
	patron := f.login(t, "kpu", "patron", "a perfectly fine passphrase")
	kind := string(accounts.NoticeResetLink)
	_, err := f.svc.ListLetters(ctx, patron)
	wantCode(t, err, accounts.CodeForbidden)
	_, err = f.svc.GetLetter(ctx, patron, kind)
	wantCode(t, err, accounts.CodeForbidden)
	_, err = f.svc.UpdateLetter(ctx, patron, kind, nil, "x", validBody[accounts.NoticeResetLink])
	wantCode(t, err, accounts.CodeForbidden)
	_, err = f.svc.PreviewLetter(ctx, patron, kind, nil, nil)
	wantCode(t, err, accounts.CodeForbidden)

	ls, err := f.svc.ListLetters(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != len(accounts.NoticeKinds()) {
		t.Fatalf("%d letters, want one per kind", len(ls))
	}
	for i, l := range ls {
		if l.Kind != accounts.NoticeKinds()[i] || l.Custom() || l.Subject == "" {
			t.Errorf("letter %d: %+v", i, l)
		}
	}
}
