package apigw_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/apigw"
)

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"sadie","password":"a fine long passphrase","email":"sadie@kpu.ca","barcode":"0012","roles":["circulation"]}`)

	get := e.getUser(t, kpu, u.ID)
	want(t, "get", get, 200, "")
	if got := get.Headers["ETag"]; got != `"1"` {
		t.Fatalf("GET ETag = %q, want \"1\"", got)
	}

	patch := func(body string, hdr ...string) apigw.Response {
		r := withID(kpu("PATCH /v1/admin/users/{id}", body), u.ID)
		if len(hdr) > 0 {
			r = withHeader(r, "if-match", hdr[0])
		}
		return do(t, e.api.UpdateUser, r)
	}

	// No version at all: 428, whatever the body.
	b := want(t, "no version", patch(`{"email":"new@kpu.ca"}`), 428, "version")
	if !strings.Contains(b.Error.Message, "If-Match") {
		t.Errorf("428 message does not say how: %q", b.Error.Message)
	}

	// If-Match in its three spellings, each answered with the new ETag.
	resp := patch(`{"email":"new@kpu.ca"}`, `"1"`)
	want(t, "if-match quoted", resp, 200, "")
	if resp.Headers["ETag"] != `"2"` {
		t.Errorf("ETag after edit = %q, want \"2\"", resp.Headers["ETag"])
	}
	if got := decode[userOut](t, resp); got.Email != "new@kpu.ca" || got.Version != 2 || got.Barcode != "0012" || !slices.Equal(got.Roles, []string{"circulation"}) {
		t.Errorf("after edit: %+v", got)
	}
	want(t, "if-match weak", patch(`{"queues":["holds"]}`, `W/"2"`), 200, "")
	want(t, "if-match bare", patch(`{"cannedMessagePools":["general"]}`, `3`), 200, "")
	// The version in the body works too, and agrees with the header.
	want(t, "body version", patch(`{"version":4,"primaryId":"0099"}`), 200, "")
	want(t, "body and header agree", patch(`{"version":5,"barcode":"0013"}`, `"5"`), 200, "")

	// A stale version is a conflict naming the version.
	b = want(t, "stale", patch(`{"version":1,"email":"x@kpu.ca"}`), 409, "version")
	if !strings.Contains(b.Error.Message, "version 6") {
		t.Errorf("stale message %q does not give the current version", b.Error.Message)
	}
	want(t, "stale header", patch(`{"email":"x@kpu.ca"}`, `"2"`), 409, "version")

	// Decoding refusals.
	for name, tc := range map[string]struct{ body, ifMatch, field string }{
		"disagree":       {`{"version":6}`, `"5"`, "version"},
		"zero version":   {`{"version":0}`, "", "version"},
		"string version": {`{"version":"6"}`, "", "version"},
		"unknown field":  {`{"version":6,"password":"x"}`, "", "password"},
		"status field":   {`{"version":6,"status":"inactive"}`, "", "status"},
		"wrong type":     {`{"version":6,"username":5}`, "", "username"},
		"list type":      {`{"version":6,"roles":"admin"}`, "", "roles"},
		"if-match star":  {`{}`, `*`, "If-Match"},
		"if-match list":  {`{}`, `"5", "6"`, "If-Match"},
		"if-match text":  {`{}`, `"abc"`, "If-Match"},
		"if-match empty": {`{}`, ``, "If-Match"},
		"if-match neg":   {`{}`, `"-1"`, "If-Match"},
		"half quoted":    {`{}`, `"6`, "If-Match"},
	} {
		t.Run(name, func(t *testing.T) {
			r := withID(kpu("PATCH /v1/admin/users/{id}", tc.body), u.ID)
			if tc.ifMatch != "" || name == "if-match empty" {
				r = withHeader(r, "if-match", tc.ifMatch)
			}
			want(t, name, do(t, e.api.UpdateUser, r), 400, tc.field)
		})
	}

	// Renaming to a taken username (case-insensitively) is a conflict.
	want(t, "taken username", patch(`{"version":6,"username":"ADMIN"}`), 409, "username")
	want(t, "empty username", patch(`{"version":6,"username":""}`), 400, "username")

	// null and absent leave a field alone; "" and [] clear it.
	resp = patch(`{"version":6,"email":null,"roles":null,"queues":[],"barcode":""}`)
	want(t, "null and empty", resp, 200, "")
	got := decode[userOut](t, resp)
	if got.Email != "new@kpu.ca" || !slices.Equal(got.Roles, []string{"circulation"}) || len(got.Queues) != 0 || got.Barcode != "" || got.PrimaryID != "0099" {
		t.Errorf("null/empty semantics: %+v", got)
	}
	// Nothing changing is no new version.
	resp = patch(`{"email":"new@kpu.ca"}`, `"7"`)
	want(t, "no-op", resp, 200, "")
	if resp.Headers["ETag"] != `"7"` {
		t.Errorf("no-op ETag = %q, want \"7\"", resp.Headers["ETag"])
	}
	// The freed barcode can be given to someone else.
	e.createUser(t, kpu, `{"username":"other","password":"a fine long passphrase","barcode":"0013"}`)

	// Only staff edit.
	_, patron := e.login(t, "kpu", "other", "a fine long passphrase")
	want(t, "patron edits", do(t, e.api.UpdateUser, withHeader(withID(patron("PATCH /v1/admin/users/{id}", `{"email":"me@kpu.ca"}`), u.ID), "if-match", `"8"`)), 403, "")
	if get.Headers["Cache-Control"] != "no-store" {
		t.Errorf("Cache-Control = %q", get.Headers["Cache-Control"])
	}
}

func TestListUsersSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	e.createUser(t, kpu, `{"username":"mum","password":"a fine long passphrase","email":"family@kpu.ca","barcode":"B-0001"}`)
	e.createUser(t, kpu, `{"username":"kid","password":"a fine long passphrase","email":"Family@KPU.ca","primaryId":"000123"}`)
	e.createUser(t, ubc, `{"username":"stranger","password":"a fine long passphrase","email":"family@kpu.ca"}`)

	list := func(as authedReq, q map[string]string) apigw.Response {
		return do(t, e.api.ListUsers, withQuery(as("GET /v1/admin/users", ""), q))
	}
	names := func(resp apigw.Response) []string {
		var out []string
		for _, u := range decode[struct{ Users []userOut }](t, resp).Users {
			out = append(out, u.Username)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		q    map[string]string
		want []string
	}{
		{map[string]string{"email": "FAMILY@kpu.ca"}, []string{"kid", "mum"}},
		{map[string]string{"barcode": "b-0001"}, []string{"mum"}},
		{map[string]string{"primaryId": "000123"}, []string{"kid"}},
		{map[string]string{"primaryId": "123"}, nil},
		{map[string]string{"email": "nobody@kpu.ca"}, nil},
	} {
		resp := list(kpu, tc.q)
		want(t, "search", resp, 200, "")
		if got := names(resp); !slices.Equal(got, tc.want) {
			t.Errorf("search %v = %v, want %v", tc.q, got, tc.want)
		}
		if !strings.Contains(resp.Body, `"users":[`) {
			t.Errorf("users is not a list: %s", resp.Body)
		}
	}
	want(t, "two searches", list(kpu, map[string]string{"email": "family@kpu.ca", "barcode": "B-0001"}), 400, "email")
	want(t, "unknown param", list(kpu, map[string]string{"mail": "family@kpu.ca"}), 400, "mail")
	// Another library's users are never found.
	if got := names(list(ubc, map[string]string{"barcode": "B-0001"})); got != nil {
		t.Errorf("ubc finds kpu's user: %v", got)
	}
}

func TestCreateUserCopySettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	tmpl := e.createUser(t, kpu, `{"username":"template","password":"a fine long passphrase","roles":["circulation","reference"],"queues":["holds"],"cannedMessagePools":["general"]}`)

	// Lists left out are copied.
	u := e.createUser(t, kpu, `{"username":"copy1","password":"a fine long passphrase","copySettingsFrom":"`+tmpl.ID+`"}`)
	if !slices.Equal(u.Roles, []string{"circulation", "reference"}) || !slices.Equal(u.Queues, []string{"holds"}) || !slices.Equal(u.CannedMessagePools, []string{"general"}) {
		t.Errorf("copied: %+v", u)
	}
	// null is "left out" too.
	u = e.createUser(t, kpu, `{"username":"copy2","password":"a fine long passphrase","copySettingsFrom":"`+tmpl.ID+`","roles":null}`)
	if !slices.Equal(u.Roles, []string{"circulation", "reference"}) {
		t.Errorf("null roles: %+v", u)
	}
	// A list given wins, even an empty one.
	u = e.createUser(t, kpu, `{"username":"copy3","password":"a fine long passphrase","copySettingsFrom":"`+tmpl.ID+`","roles":[],"queues":["desk"]}`)
	if len(u.Roles) != 0 || !slices.Equal(u.Queues, []string{"desk"}) || !slices.Equal(u.CannedMessagePools, []string{"general"}) {
		t.Errorf("given lists: %+v", u)
	}
	// The template must be of the caller's library.
	resp := do(t, e.api.CreateUser, ubc("POST /v1/admin/users", `{"username":"copy4","password":"a fine long passphrase","copySettingsFrom":"`+tmpl.ID+`"}`))
	want(t, "copy across tenants", resp, 400, "copySettingsFrom")
	resp = do(t, e.api.CreateUser, kpu("POST /v1/admin/users", `{"username":"copy5","password":"a fine long passphrase","copySettingsFrom":7}`))
	want(t, "copy wrong type", resp, 400, "copySettingsFrom")

	// The wizard's drop-down shows usernames: a username names the template
	// as well as an id does, case-insensitively.
	u = e.createUser(t, kpu, `{"username":"copy6","password":"a fine long passphrase","copySettingsFrom":"TEMPLATE"}`)
	if !slices.Equal(u.Roles, []string{"circulation", "reference"}) || !slices.Equal(u.Queues, []string{"holds"}) {
		t.Errorf("copied by username: %+v", u)
	}
	resp = do(t, e.api.CreateUser, kpu("POST /v1/admin/users", `{"username":"copy7","password":"a fine long passphrase","copySettingsFrom":"nobody-here"}`))
	want(t, "copy from an unknown username", resp, 400, "copySettingsFrom")

	// A template holding admin (which opens this very API) does not pass it
	// on unseen: the request must name the roles, admin among them to give it.
	staff := e.createUser(t, kpu, `{"username":"staff-template","password":"a fine long passphrase","roles":["admin","circulation"],"queues":["holds"]}`)
	for _, ref := range []string{staff.ID, "staff-template"} {
		resp = do(t, e.api.CreateUser, kpu("POST /v1/admin/users", `{"username":"copy8","password":"a fine long passphrase","copySettingsFrom":"`+ref+`"}`))
		b := want(t, "copy an admin's roles unseen", resp, 400, "copySettingsFrom")
		if !strings.Contains(b.Error.Message, "admin role") || !strings.Contains(b.Error.Message, "staff-template") {
			t.Errorf("refusal does not name the role and template: %q", b.Error.Message)
		}
	}
	u = e.createUser(t, kpu, `{"username":"copy9","password":"a fine long passphrase","copySettingsFrom":"staff-template","roles":["admin","circulation"]}`)
	if !slices.Equal(u.Roles, []string{"admin", "circulation"}) || !slices.Equal(u.Queues, []string{"holds"}) {
		t.Errorf("admin named in the request: %+v", u)
	}
	u = e.createUser(t, kpu, `{"username":"copy10","password":"a fine long passphrase","copySettingsFrom":"staff-template","roles":["circulation"]}`)
	if !slices.Equal(u.Roles, []string{"circulation"}) || !slices.Equal(u.Queues, []string{"holds"}) {
		t.Errorf("roles named without admin: %+v", u)
	}
}

// TestCreateUserTypedTwice: the service-provider wizard has the password
// typed twice; the second copy is checked, and neither is echoed.
func TestCreateUserTypedTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	pw, typo := "a fine long passphrase", "a fine long passphrasf"
	e.createUser(t, kpu, `{"username":"twice","password":"`+pw+`","passwordConfirmation":"`+pw+`"}`)
	for name, body := range map[string]string{
		"mismatch":      `{"username":"twice2","password":"` + pw + `","passwordConfirmation":"` + typo + `"}`,
		"with generate": `{"username":"twice3","generatePassword":true,"passwordConfirmation":"` + typo + `"}`,
	} {
		resp := do(t, e.api.CreateUser, kpu("POST /v1/admin/users", body))
		b := want(t, name, resp, 400, "passwordConfirmation")
		if name == "mismatch" && !strings.Contains(b.Error.Message, "do not match") {
			t.Errorf("%s: %q", name, b.Error.Message)
		}
		noSecrets(t, name+" response", resp.Body, pw, typo)
	}
	resp := do(t, e.api.ListUsers, withQuery(kpu("GET /v1/admin/users", ""), map[string]string{"prefix": "twice"}))
	if names := decode[struct{ Users []userOut }](t, resp).Users; len(names) != 1 {
		t.Errorf("a refused create wrote a user: %d users named twice*", len(names))
	}
}

// TestOtherTenantSees404 runs every {id} route as another library's admin.
func TestOtherTenantSees404(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"sadie","password":"a fine long passphrase","email":"sadie@kpu.ca"}`)

	for _, tc := range []struct {
		route, body string
		h           handler
		query       map[string]string
		ifMatch     string
	}{
		{"GET /v1/admin/users/{id}", "", e.api.GetUser, nil, ""},
		{"PATCH /v1/admin/users/{id}", `{"email":"x@ubc.ca"}`, e.api.UpdateUser, nil, `"1"`},
		{"POST /v1/admin/users/{id}/password", `{"generate":true}`, e.api.ResetPassword, nil, ""},
		{"POST /v1/admin/users/{id}/password", `{"sendResetLink":true}`, e.api.ResetPassword, nil, ""},
		{"POST /v1/admin/users/{id}/deactivate", "", e.api.DeactivateUser, nil, ""},
		{"POST /v1/admin/users/{id}/reactivate", "", e.api.ReactivateUser, nil, ""},
		{"DELETE /v1/admin/users/{id}", "", e.api.DeleteUser, map[string]string{"confirm": "sadie"}, ""},
		{"DELETE /v1/admin/users/{id}", "", e.api.DeleteUser, nil, ""},
	} {
		r := withQuery(withID(ubc(tc.route, tc.body), u.ID), tc.query)
		if tc.ifMatch != "" {
			r = withHeader(r, "if-match", tc.ifMatch)
		}
		b := want(t, tc.route+" "+tc.body, do(t, tc.h, r), http.StatusNotFound, "")
		if strings.Contains(b.Error.Message, "sadie") {
			t.Errorf("%s: 404 names the user: %q", tc.route, b.Error.Message)
		}
	}
	// Nothing happened to the user.
	got := decode[userOut](t, e.getUser(t, kpu, u.ID))
	if got.Version != 1 || got.Status != "active" || e.mail.count() != 0 {
		t.Errorf("user touched across tenants: %+v, %d mails", got, e.mail.count())
	}
}

func TestStaffRoutesNeedTheAuthorizer(t *testing.T) {
	// Without the authorizer's context (a route wired without it) nobody
	// gets in, whatever the body says.
	t.Parallel()
	e := newEnv(t, "kpu")
	for route, h := range map[string]handler{
		"PATCH /v1/admin/users/{id}":           e.api.UpdateUser,
		"POST /v1/admin/users/{id}/password":   e.api.ResetPassword,
		"POST /v1/admin/users/{id}/deactivate": e.api.DeactivateUser,
		"POST /v1/admin/users/{id}/reactivate": e.api.ReactivateUser,
		"DELETE /v1/admin/users/{id}":          e.api.DeleteUser,
		"POST /v1/admin/users:bulk":            e.api.BulkUsers,
		"POST /v1/admin/usernames:suggest":     e.api.SuggestUsername,
		"GET /v1/admin/settings":               e.api.GetSettings,
		"PATCH /v1/admin/settings":             e.api.UpdateSettings,
		"GET /v1/admin/audit":                  e.api.ListAudit,
	} {
		want(t, route, do(t, h, withID(jsonReq(route, `{}`), "aaaaaaaaaaaaaaaaaaaaaaaaaa")), http.StatusUnauthorized, "")
	}
}
