package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/apigw"
)

type resetOut struct {
	Message           string
	GeneratedPassword *string
	Emailed           *bool
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	token, kpu := e.login(t, "kpu", "admin", adminPassword)
	const initial = "a fine long passphrase"
	u := e.createUser(t, kpu, `{"username":"sadie","password":"`+initial+`","email":"sadie@kpu.ca"}`)
	noMail := e.createUser(t, kpu, `{"username":"nomail","password":"`+initial+`"}`)
	secrets := []string{token, initial, adminPassword}

	reset := func(id, body string) apigw.Response {
		return do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", body), id))
	}

	// The user's session ends with every reset.
	userToken, _ := e.login(t, "kpu", "sadie", initial)
	secrets = append(secrets, userToken)

	// Decoding and choice refusals.
	for name, tc := range map[string]struct{ body, field string }{
		"unknown field":     {`{"generate":true,"length":30}`, "length"},
		"wrong type":        {`{"generate":"yes"}`, "generate"},
		"no way":            {`{}`, "password"},
		"generate false":    {`{"generate":false}`, "password"},
		"two ways":          {`{"generate":true,"sendResetLink":true}`, "password"},
		"password and link": {`{"password":"x","passwordConfirmation":"x","sendResetLink":true}`, "password"},
		"notify alone":      {`{"sendResetLink":true,"notify":true}`, "notify"},
		"mismatch":          {`{"password":"another fine passphrase","passwordConfirmation":"another fine passphrasE"}`, "passwordConfirmation"},
		"confirmation only": {`{"passwordConfirmation":"another fine passphrase"}`, "passwordConfirmation"},
		"weak":              {`{"password":"short","passwordConfirmation":"short"}`, "password"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := reset(u.ID, tc.body)
			want(t, name, resp, 400, tc.field)
			noSecrets(t, "error body", resp.Body, "another fine passphrase")
		})
	}

	// A password staff choose: set, not returned, not e-mailed.
	const chosen = "staff chosen passphrase"
	secrets = append(secrets, chosen)
	resp := reset(u.ID, `{"password":"`+chosen+`","passwordConfirmation":"`+chosen+`"}`)
	want(t, "set", resp, 200, "")
	out := decode[resetOut](t, resp)
	if out.Message == "" || out.GeneratedPassword != nil || out.Emailed == nil || *out.Emailed {
		t.Errorf("set response: %s", resp.Body)
	}
	noSecrets(t, "set response", resp.Body, chosen)
	if e.authorize(t, "Bearer "+userToken) != nil {
		t.Error("the user's session survived a reset")
	}
	e.login(t, "kpu", "sadie", chosen)

	// Generate: the password is in this response and nowhere else.
	resp = reset(u.ID, `{"generate":true}`)
	want(t, "generate", resp, 200, "")
	out = decode[resetOut](t, resp)
	if out.GeneratedPassword == nil || len(*out.GeneratedPassword) < 15 || *out.Emailed {
		t.Fatalf("generate response: %s", resp.Body)
	}
	generated := *out.GeneratedPassword
	secrets = append(secrets, generated)
	e.login(t, "kpu", "sadie", generated)
	noSecrets(t, "user view", e.getUser(t, kpu, u.ID).Body, generated)
	if e.mail.count() != 0 {
		t.Errorf("generate without notify sent mail")
	}

	// Generate + notify: e-mailed, not returned.
	resp = reset(u.ID, `{"generate":true,"notify":true}`)
	want(t, "notify", resp, 200, "")
	out = decode[resetOut](t, resp)
	if out.GeneratedPassword != nil || !*out.Emailed || strings.Contains(resp.Body, "generatedPassword") {
		t.Fatalf("notify response: %s", resp.Body)
	}
	m := e.mail.last(t)
	sub := mailedPassword.FindStringSubmatch(m.Text)
	if m.To != "sadie@kpu.ca" || m.Tag != "password-temporary" || sub == nil {
		t.Fatalf("notify mail: %+v", m)
	}
	secrets = append(secrets, sub[1])
	noSecrets(t, "notify response", resp.Body, sub[1])
	_, sadie := e.login(t, "kpu", "sadie", sub[1])
	if got := decode[userOut](t, do(t, e.api.Me, sadie("GET /v1/me", ""))); !got.MustChangePassword {
		t.Error("a generated password is not temporary")
	}

	// No address, no mail.
	want(t, "notify without e-mail", reset(noMail.ID, `{"generate":true,"notify":true}`), 400, "email")
	want(t, "link without e-mail", reset(noMail.ID, `{"sendResetLink":true}`), 400, "email")

	// A mail that cannot be sent is the notice's failure, not the
	// request's: staff are told it is queued, and follow it by its id.
	e.mail.fail = true
	resp = reset(u.ID, `{"sendResetLink":true}`)
	want(t, "mail down", resp, http.StatusOK, "")
	if !strings.Contains(resp.Body, "will be e-mailed") || !strings.Contains(resp.Body, `"noticeId":"`) {
		t.Errorf("mail down answer: %s", resp.Body)
	}
	e.mail.fail = false

	noSecrets(t, "logs", e.logs.String(), secrets...)
	audit := do(t, e.api.ListAudit, withQuery(kpu("GET /v1/admin/audit", ""), map[string]string{"format": "csv"}))
	want(t, "audit", audit, 200, "")
	noSecrets(t, "audit", audit.Body, secrets...)
	if !strings.Contains(audit.Body, "generated, to be e-mailed") || !strings.Contains(audit.Body, "set by staff") {
		t.Errorf("audit lacks the reset details:\n%s", audit.Body)
	}
}

func TestResetLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	const initial = "a fine long passphrase"
	u := e.createUser(t, kpu, `{"username":"sadie","password":"`+initial+`","email":"sadie@kpu.ca"}`)

	resp := do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", `{"sendResetLink":true}`), u.ID))
	want(t, "send link", resp, 200, "")
	out := decode[resetOut](t, resp)
	if !*out.Emailed || out.GeneratedPassword != nil {
		t.Errorf("link response: %s", resp.Body)
	}
	m := e.mail.last(t)
	if m.To != "sadie@kpu.ca" || m.Tag != "password-reset-link" {
		t.Errorf("link mail: %+v", m)
	}
	tok := resetToken(t, m)
	noSecrets(t, "link response", resp.Body, tok)
	// Until the link is used the old password works.
	e.login(t, "kpu", "sadie", initial)

	complete := func(body string) apigw.Response {
		// Public route: no authorizer context at all.
		return do(t, e.api.CompletePasswordReset, jsonReq("POST /v1/auth/password-reset", body))
	}
	body := func(token, password string) string {
		b, _ := json.Marshal(map[string]string{"token": token, "password": password})
		return string(b)
	}

	// Refusals that leave the link usable.
	want(t, "unknown field", complete(`{"token":"x","password":"y","confirm":true}`), 400, "confirm")
	want(t, "wrong type", complete(`{"token":1,"password":"y"}`), 400, "token")
	want(t, "empty", complete(``), 400, "")
	want(t, "bad token", complete(body("kpu.nope.nope", "my own new passphrase")), 400, "token")
	want(t, "forged token", complete(body(tok[:len(tok)-4]+"AAAA", "my own new passphrase")), 400, "token")
	want(t, "weak password", complete(body(tok, "short")), 400, "password")
	want(t, "no password", complete(body(tok, "")), 400, "password")

	const chosen = "my own new passphrase"
	resp = complete(body(tok, chosen))
	want(t, "complete", resp, 200, "")
	if got := decode[struct{ Message string }](t, resp).Message; got != "Your password was changed. Sign in with your new password." {
		t.Errorf("message = %q", got)
	}
	_, sadie := e.login(t, "kpu", "sadie", chosen)
	if got := decode[userOut](t, do(t, e.api.Me, sadie("GET /v1/me", ""))); got.MustChangePassword {
		t.Error("a password the user chose must not need changing")
	}
	// Once only.
	b := want(t, "second use", complete(body(tok, "yet another passphrase")), 400, "token")
	if !strings.Contains(b.Error.Message, "not valid or has expired") {
		t.Errorf("second use message: %q", b.Error.Message)
	}
	// And the old password is gone.
	r := jsonReq("POST /v1/auth/login", `{"tenant":"kpu","username":"sadie","password":"`+initial+`"}`)
	if resp, _ := e.api.Login(context.Background(), r); resp.StatusCode != 401 {
		t.Errorf("old password still works: %d", resp.StatusCode)
	}

	// A second link supersedes nothing, but completing one ends the other.
	do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", `{"sendResetLink":true}`), u.ID))
	first := resetToken(t, e.mail.last(t))
	do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", `{"sendResetLink":true}`), u.ID))
	second := resetToken(t, e.mail.last(t))
	want(t, "second link", complete(body(second, "the second new passphrase")), 200, "")
	want(t, "first link after second", complete(body(first, "the third new passphrase")), 400, "token")

	noSecrets(t, "logs", e.logs.String(), tok, first, second, chosen, initial)
	audit := do(t, e.api.ListAudit, kpu("GET /v1/admin/audit", ""))
	noSecrets(t, "audit", audit.Body, tok, first, second, chosen, initial)
	if !strings.Contains(audit.Body, `"action":"user.password_reset_link"`) {
		t.Errorf("no audit event for the link: %s", audit.Body)
	}
}

func TestResetWithoutMailer(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, nil, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"sadie","password":"a fine long passphrase","email":"sadie@kpu.ca"}`)
	for _, body := range []string{`{"sendResetLink":true}`, `{"generate":true,"notify":true}`} {
		b := want(t, body, do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", body), u.ID)), 503, "")
		if !strings.Contains(b.Error.Message, "e-mail is not configured") {
			t.Errorf("%s: %q", body, b.Error.Message)
		}
	}
	// Nothing was changed: the password still works.
	e.login(t, "kpu", "sadie", "a fine long passphrase")
}
