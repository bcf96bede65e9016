package apigw_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/apigw"
)

type statusOut struct {
	Message string
	User    userOut
}

func TestDeactivateReactivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	const pw = "a fine long passphrase"
	u := e.createUser(t, kpu, `{"username":"sadie","password":"`+pw+`"}`)
	token, sadie := e.login(t, "kpu", "sadie", pw)

	status := func(h handler, route, id, body string) apigw.Response {
		return do(t, h, withID(kpu(route, body), id))
	}
	const deact, react = "POST /v1/admin/users/{id}/deactivate", "POST /v1/admin/users/{id}/reactivate"

	// A body, when sent, must be {}.
	want(t, "unknown field", status(e.api.DeactivateUser, deact, u.ID, `{"reason":"left"}`), 400, "reason")
	want(t, "not an object", status(e.api.DeactivateUser, deact, u.ID, `[]`), 400, "")

	resp := status(e.api.DeactivateUser, deact, u.ID, "")
	want(t, "deactivate", resp, 200, "")
	out := decode[statusOut](t, resp)
	if out.Message != "Successfully Updated User Status" || out.User.Status != "inactive" || out.User.ID != u.ID || out.User.Version != 2 {
		t.Errorf("deactivate response: %s", resp.Body)
	}
	// The user's token is refused by the authorizer, and by a handler even
	// when a cached authorizer decision lets the request through.
	if e.authorize(t, "Bearer "+token) != nil {
		t.Error("authorizer allows a deactivated user's token")
	}
	want(t, "me after deactivation", do(t, e.api.Me, sadie("GET /v1/me", "")), 401, "")
	want(t, "password change after deactivation", do(t, e.api.ChangePassword, sadie("POST /v1/me/password", `{"currentPassword":"`+pw+`","newPassword":"another long passphrase"}`)), 401, "")
	// Nor can the user sign in.
	r := jsonReq("POST /v1/auth/login", `{"tenant":"kpu","username":"sadie","password":"`+pw+`"}`)
	want(t, "login while inactive", do(t, e.api.Login, r), 401, "")

	// Again is not an error, and changes nothing.
	resp = status(e.api.DeactivateUser, deact, u.ID, `{}`)
	want(t, "deactivate again", resp, 200, "")
	if v := decode[statusOut](t, resp).User.Version; v != 2 {
		t.Errorf("version after a no-op = %d", v)
	}

	resp = status(e.api.ReactivateUser, react, u.ID, "")
	want(t, "reactivate", resp, 200, "")
	if got := decode[statusOut](t, resp).User; got.Status != "active" {
		t.Errorf("reactivate: %s", resp.Body)
	}
	// The same password works again; the old session stays gone.
	e.login(t, "kpu", "sadie", pw)
	if e.authorize(t, "Bearer "+token) != nil {
		t.Error("reactivation revived an old session")
	}

	// Not on oneself; nor on a malformed id.
	me := decode[userOut](t, do(t, e.api.Me, kpu("GET /v1/me", "")))
	want(t, "deactivate self", status(e.api.DeactivateUser, deact, me.ID, ""), 403, "")
	want(t, "bad id", status(e.api.DeactivateUser, deact, "../x", ""), 404, "")
	// Content-Type still matters when a body is sent.
	r = withID(kpu(deact, `{}`), u.ID)
	r.Headers["content-type"] = "text/plain"
	want(t, "text body", do(t, e.api.DeactivateUser, r), 400, "")
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	const pw = "a fine long passphrase"
	u := e.createUser(t, kpu, `{"username":"Sadie.P","password":"`+pw+`","barcode":"0012"}`)
	token, _ := e.login(t, "kpu", "sadie.p", pw)

	del := func(q map[string]string, body string) apigw.Response {
		return do(t, e.api.DeleteUser, withQuery(withID(kpu("DELETE /v1/admin/users/{id}", body), u.ID), q))
	}

	b := want(t, "no confirm", del(nil, ""), 428, "confirm")
	for _, w := range []string{"deactivate", "Sadie.P", "/v1/admin/users/" + u.ID + "/deactivate", "cannot be undone"} {
		if !strings.Contains(b.Error.Message, w) {
			t.Errorf("428 message %q does not mention %q", b.Error.Message, w)
		}
	}
	want(t, "empty confirm", del(map[string]string{"confirm": ""}, ""), 428, "confirm")
	want(t, "wrong confirm", del(map[string]string{"confirm": "sadie"}, ""), 428, "confirm")
	want(t, "unknown param", del(map[string]string{"confirm": "sadie.p", "force": "true"}, ""), 400, "force")
	want(t, "body", del(map[string]string{"confirm": "sadie.p"}, `{"confirm":"sadie.p"}`), 400, "")
	if want(t, "still there", e.getUser(t, kpu, u.ID), 200, ""); e.authorize(t, "Bearer "+token) == nil {
		t.Fatal("a refused delete ended the session")
	}

	resp := del(map[string]string{"confirm": "SADIE.P"}, "")
	want(t, "delete", resp, 200, "")
	if got := decode[struct{ Message string }](t, resp).Message; got != "Successfully Deleted User" {
		t.Errorf("message = %q", got)
	}
	want(t, "get deleted", e.getUser(t, kpu, u.ID), 404, "")
	want(t, "delete again", del(map[string]string{"confirm": "sadie.p"}, ""), 404, "")
	if e.authorize(t, "Bearer "+token) != nil {
		t.Error("the deleted user's session survives")
	}
	// The username and barcode are free again.
	again := e.createUser(t, kpu, `{"username":"sadie.p","password":"`+pw+`","barcode":"0012"}`)
	if again.ID == u.ID {
		t.Error("user id reused")
	}

	// Nobody deletes themselves.
	me := decode[userOut](t, do(t, e.api.Me, kpu("GET /v1/me", "")))
	r := withQuery(withID(kpu("DELETE /v1/admin/users/{id}", ""), me.ID), map[string]string{"confirm": "admin"})
	want(t, "delete self", do(t, e.api.DeleteUser, r), 403, "")
}

type bulkOut struct {
	Results []struct {
		ID       string
		Username string
		OK       bool
		Code     string
		Message  string
	}
	Succeeded, Failed int
}

func TestBulkUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	const pw = "a fine long passphrase"
	var ids []string
	for i := range 3 {
		ids = append(ids, e.createUser(t, kpu, fmt.Sprintf(`{"username":"user%d","password":"%s"}`, i, pw)).ID)
	}
	stranger := e.createUser(t, ubc, `{"username":"stranger","password":"`+pw+`"}`).ID
	me := decode[userOut](t, do(t, e.api.Me, kpu("GET /v1/me", ""))).ID

	bulk := func(v any) apigw.Response {
		body, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			body = string(b)
		}
		return do(t, e.api.BulkUsers, kpu("POST /v1/admin/users:bulk", body))
	}
	type req struct {
		Action  string   `json:"action"`
		IDs     []string `json:"ids"`
		Confirm bool     `json:"confirm,omitempty"`
	}

	// Limits and refusals.
	many := make([]string, 1001)
	for i := range many {
		many[i] = ids[0]
	}
	b := want(t, "1001 ids", bulk(req{Action: "deactivate", IDs: many}), 400, "ids")
	if !strings.Contains(b.Error.Message, "1000") {
		t.Errorf("limit message: %q", b.Error.Message)
	}
	want(t, "no ids", bulk(req{Action: "deactivate"}), 400, "ids")
	want(t, "bad action", bulk(req{Action: "purge", IDs: ids}), 400, "action")
	want(t, "unknown field", bulk(`{"action":"deactivate","ids":[],"force":true}`), 400, "force")
	want(t, "wrong type", bulk(`{"action":"deactivate","ids":"all"}`), 400, "ids")
	want(t, "delete unconfirmed", bulk(req{Action: "delete", IDs: ids}), 428, "confirm")
	want(t, "huge body", bulk(`{"action":"deactivate","ids":["`+strings.Repeat("x", 130<<10)+`"]}`), 413, "")

	// The body may be larger than other routes allow: 1,000 ids of any
	// shape, each answered on its own.
	long := make([]string, 1000)
	for i := range long {
		long[i] = fmt.Sprintf("%070d", i)
	}
	resp := bulk(req{Action: "reactivate", IDs: long})
	want(t, "1000 long ids", resp, 200, "")
	if out := decode[bulkOut](t, resp); len(out.Results) != 1000 || out.Failed != 1000 || out.Results[999].Code != "not_found" {
		t.Errorf("1000 long ids: %d results, %d failed", len(out.Results), out.Failed)
	}

	// Mixed outcomes, in order.
	resp = bulk(req{Action: "deactivate", IDs: []string{ids[0], ids[1], stranger, "bogus", ids[0], me}})
	want(t, "mixed", resp, 200, "")
	out := decode[bulkOut](t, resp)
	wantCodes := []string{"", "", "not_found", "not_found", "invalid", "forbidden"}
	// Each result names its user, refused ones too; an id of no user of
	// this library names nobody.
	wantNames := []string{"user0", "user1", "", "", "user0", "admin"}
	if len(out.Results) != len(wantCodes) || out.Succeeded != 2 || out.Failed != 4 {
		t.Fatalf("mixed: %s", resp.Body)
	}
	for i, r := range out.Results {
		if r.Code != wantCodes[i] || r.OK != (wantCodes[i] == "") || (r.OK && r.Message != "") || (!r.OK && r.Message == "") {
			t.Errorf("result %d = %+v, want code %q", i, r, wantCodes[i])
		}
		if r.Username != wantNames[i] {
			t.Errorf("result %d names %q, want %q", i, r.Username, wantNames[i])
		}
	}
	if !strings.Contains(resp.Body, `"ok":true}`) {
		t.Errorf("a success carries code or message: %s", resp.Body)
	}
	for _, id := range ids[:2] {
		if got := decode[userOut](t, e.getUser(t, kpu, id)); got.Status != "inactive" {
			t.Errorf("%s not deactivated", id)
		}
	}
	// The other library's user was not touched.
	if got := decode[userOut](t, e.getUser(t, ubc, stranger)); got.Status != "active" || got.Version != 1 {
		t.Errorf("stranger touched: %+v", got)
	}

	resp = bulk(req{Action: "delete", IDs: []string{ids[1], ids[2]}, Confirm: true})
	want(t, "delete", resp, 200, "")
	if out := decode[bulkOut](t, resp); out.Succeeded != 2 || out.Failed != 0 || out.Results[0].Username != "user1" || out.Results[1].Username != "user2" {
		t.Errorf("delete: %s", resp.Body)
	}
	want(t, "deleted", e.getUser(t, kpu, ids[2]), 404, "")
	resp = bulk(req{Action: "reactivate", IDs: []string{ids[0]}})
	if out := decode[bulkOut](t, resp); out.Succeeded != 1 {
		t.Errorf("reactivate: %s", resp.Body)
	}
}
