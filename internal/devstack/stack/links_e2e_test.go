package stack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const patronPassword = "quiet harbour lantern evening"

// linkWorld is one library's patrons for the access matrix: each pair is
// linked in its own way, and every managed account holds a loan and a
// hold whose titles must never reach anyone who may not see them.
type linkWorld struct {
	t     *testing.T
	anon  client
	admin client
	ids   map[string]string // username -> user id
	as    map[string]client // username -> signed-in client
}

func (w *linkWorld) patron(name, barcode string) {
	w.t.Helper()
	status, body := w.admin.do("POST", "/v1/admin/users", map[string]any{
		"username": name, "password": patronPassword, "barcode": barcode, "email": name + "@example.org",
	})
	want(w.t, "create "+name, status, 201, body)
	w.ids[name] = body["user"].(map[string]any)["id"].(string)
	w.as[name] = w.anon.login("kpu", name, patronPassword)
}

// feed gives a managed account a loan due tomorrow (so that it may be
// renewed) and a pending hold, both titled after the account.
func (w *linkWorld) feed(name string) {
	w.t.Helper()
	now := time.Now().UTC()
	status, body := w.admin.do("POST", "/v1/admin/users/"+w.ids[name]+"/checkouts", map[string]any{
		"id": "loan-" + name, "title": "Secret loan of " + name, "itemBarcode": "3100" + name,
		"checkedOutAt": now.Add(-20 * 24 * time.Hour), "dueAt": now.Add(24 * time.Hour),
	})
	want(w.t, "feed a checkout to "+name, status, 201, body)
	status, body = w.admin.do("POST", "/v1/admin/users/"+w.ids[name]+"/holds", map[string]any{
		"id": "hold-" + name, "title": "Secret hold of " + name, "placedAt": now, "status": "pending", "queuePosition": 2, "pickupLocation": "Central City",
	})
	want(w.t, "feed a hold to "+name, status, 201, body)
}

func (w *linkWorld) phrase(name, direction string) (id, phrase string) {
	w.t.Helper()
	status, body := w.as[name].do("POST", "/v1/me/share-phrases", map[string]string{"direction": direction})
	want(w.t, name+" gets a "+direction+" phrase", status, 201, body)
	phrase, _ = body["phrase"].(string)
	if len(strings.Fields(phrase)) < 5 {
		w.t.Fatalf("phrase %q: fewer than five words", phrase)
	}
	return body["id"].(string), phrase
}

func (w *linkWorld) connect(name, barcode, phrase string) map[string]any {
	w.t.Helper()
	status, body := w.as[name].do("POST", "/v1/me/links", map[string]string{"barcode": barcode, "phrase": phrase})
	want(w.t, name+" connects", status, 201, body)
	return body
}

// patronRoutes are every route that acts on the account {id}, with a
// body where one is needed; the destructive ones come last.
func patronRoutes(target string) [][3]any {
	return [][3]any{
		{"GET", "/v1/patrons/" + target + "/checkouts", nil},
		{"GET", "/v1/patrons/" + target + "/holds", nil},
		{"POST", "/v1/patrons/" + target + "/checkouts/loan-" + target + "/renew", nil},
		{"PATCH", "/v1/patrons/" + target + "/holds/hold-" + target, map[string]any{"pickupLocation": "Somewhere Else"}},
		{"POST", "/v1/patrons/" + target + "/holds", map[string]any{"title": "New request", "pickupLocation": "Central City"}},
		{"DELETE", "/v1/patrons/" + target + "/holds/hold-" + target, nil},
	}
}

func adminRoutes(id string) [][3]any {
	return [][3]any{
		{"GET", "/v1/admin/users/" + id + "/links", nil},
		{"DELETE", "/v1/admin/users/" + id + "/links/00000000000000000000", nil},
		{"GET", "/v1/admin/users/" + id + "/checkouts", nil},
		{"POST", "/v1/admin/users/" + id + "/checkouts", map[string]any{"id": "loan-x", "title": "x", "checkedOutAt": time.Now(), "dueAt": time.Now().Add(time.Hour)}},
		{"GET", "/v1/admin/users/" + id + "/holds", nil},
		{"POST", "/v1/admin/users/" + id + "/holds", map[string]any{"id": "hold-x", "title": "x", "placedAt": time.Now()}},
	}
}

// denied runs every route on target as c and counts the answers that let
// anything through: a 2xx, or a body naming the target's loan or hold.
func (w *linkWorld) denied(who string, c client, targetName string, routes [][3]any, wantStatus ...int) int {
	w.t.Helper()
	leaks := 0
	for _, r := range routes {
		status, body := c.do(r[0].(string), r[1].(string), r[2])
		text := fmt.Sprint(body)
		ok := false
		for _, s := range wantStatus {
			ok = ok || s == status
		}
		if status < 300 || strings.Contains(text, "Secret") || !ok {
			leaks++
			w.t.Errorf("LEAK %s on %s: %s %s: %d %s", who, targetName, r[0], r[1], status, text)
		}
	}
	return leaks
}

func TestLinkedAccountsAccessMatrix(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, logs := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	w := &linkWorld{t: t, anon: anon, admin: anon.login("kpu", "admin", adminPassword), ids: map[string]string{}, as: map[string]client{}}
	no := false
	status, body := w.admin.do("PATCH", "/v1/admin/settings", map[string]any{"staffPasswordsMustChange": no})
	want(t, "patrons keep the password staff set", status, 200, body)
	if body["renewalLimit"] != float64(2) || body["linkingDisabled"] != false {
		t.Errorf("default settings: %v", body)
	}
	for i, name := range []string{"parent1", "kid1", "parent2", "kid2", "parent3", "kid3", "parent4", "kid4", "stranger"} {
		w.patron(name, fmt.Sprintf("2100%03d", i+1))
	}
	for _, name := range []string{"parent1", "kid1", "parent2", "kid2", "kid3", "kid4"} {
		w.feed(name)
	}
	leaks := 0

	// The Auckland steps, one-way: parent1 gets a phrase, kid1 connects
	// with parent1's barcode and the phrase.
	_, p1 := w.phrase("parent1", "one_way")
	status, body = w.as["parent1"].do("GET", "/v1/me/share-phrases", nil)
	if want(t, "list phrases", status, 200, body); strings.Contains(fmt.Sprint(body), p1) {
		t.Errorf("the phrase is listed again: %v", body)
	}
	link1 := w.connect("kid1", "2100001", p1)
	if link1["awaitingConfirmation"] != false || link1["managesMe"] != true {
		t.Errorf("kid1's view of a one-way link: %v", link1)
	}
	subject, _ := lastMail(t, anon, "parent1@example.org")
	if !strings.Contains(subject, "linked to kid1") {
		t.Errorf("parent1's notice: %q", subject)
	}
	status, body = w.as["parent1"].do("GET", "/v1/me/links", nil)
	want(t, "parent1 lists links", status, 200, body)
	manages := body["manages"].([]any)
	if len(manages) != 1 || manages[0].(map[string]any)["account"].(map[string]any)["barcode"] != "••••0002" {
		t.Errorf("parent1's links: %v", body)
	}
	kid1 := w.ids["kid1"]
	status, body = w.as["parent1"].do("GET", "/v1/patrons/"+kid1+"/checkouts", nil)
	if want(t, "parent1 sees kid1's checkouts", status, 200, body); !strings.Contains(fmt.Sprint(body), "Secret loan of kid1") {
		t.Errorf("kid1's checkouts: %v", body)
	}
	status, body = w.as["parent1"].do("POST", "/v1/patrons/"+kid1+"/checkouts/loan-kid1/renew", nil)
	if want(t, "parent1 renews kid1's loan", status, 200, body); body["renewalsUsed"] != float64(1) {
		t.Errorf("renewed: %v", body)
	}
	status, body = w.as["parent1"].do("PATCH", "/v1/patrons/"+kid1+"/holds/hold-kid1", map[string]any{"pickupLocation": "Grey Lynn"})
	want(t, "parent1 moves kid1's pickup", status, 200, body)
	status, body = w.as["parent1"].do("POST", "/v1/patrons/"+kid1+"/holds", map[string]any{"title": "Holes", "pickupLocation": "Central City"})
	if want(t, "parent1 places a request for kid1", status, 403, body); !strings.Contains(fmt.Sprint(body), "sign in to that account to place a request") {
		t.Errorf("the fence's answer: %v", body)
	}
	status, body = w.as["parent1"].do("DELETE", "/v1/patrons/"+kid1+"/holds/hold-kid1", nil)
	want(t, "parent1 cancels kid1's hold", status, 204, body)
	status, body = w.as["kid1"].do("GET", "/v1/me/activity", nil)
	want(t, "kid1 reads its activity", status, 200, body)
	if text := fmt.Sprint(body); !strings.Contains(text, "checkout.renewed") || !strings.Contains(text, "hold.cancelled") || !strings.Contains(text, "by:parent1") {
		t.Errorf("kid1's activity does not say what parent1 did: %v", body)
	}
	status, body = w.as["kid1"].do("POST", "/v1/patrons/me/holds", map[string]any{"title": "Holes", "pickupLocation": "Central City"})
	want(t, "kid1 places its own request", status, 201, body)
	// kid1 does not manage parent1.
	leaks += w.denied("kid1 (one-way connector)", w.as["kid1"], "parent1", patronRoutes(w.ids["parent1"]), 404)

	// Two-way: parent2 manages kid2 at once; kid2 manages parent2 only
	// after parent2 confirms.
	_, p2 := w.phrase("parent2", "two_way")
	link2 := w.connect("kid2", "2100003", p2)
	if link2["awaitingConfirmation"] != true || !strings.Contains(fmt.Sprint(link2["note"]), "once parent2 confirms") {
		t.Errorf("kid2's view of an unconfirmed two-way link: %v", link2)
	}
	if subject, _ := lastMail(t, anon, "parent2@example.org"); !strings.Contains(subject, "linked to kid2") && !strings.Contains(subject, "asks to manage") {
		t.Errorf("parent2's notice: %q", subject)
	}
	status, body = w.as["parent2"].do("GET", "/v1/patrons/"+w.ids["kid2"]+"/holds", nil)
	want(t, "parent2 sees kid2's holds before confirming", status, 200, body)
	leaks += w.denied("kid2 before confirmation", w.as["kid2"], "parent2", patronRoutes(w.ids["parent2"]), 403)
	linkID := link2["id"].(string)
	status, body = w.as["kid2"].do("POST", "/v1/me/links/"+linkID+"/confirm", nil)
	want(t, "kid2 confirms its own link", status, 403, body)
	status, body = w.as["parent2"].do("POST", "/v1/me/links/"+linkID+"/confirm", nil)
	want(t, "parent2 confirms", status, 200, body)
	status, body = w.as["kid2"].do("GET", "/v1/patrons/"+w.ids["parent2"]+"/checkouts", nil)
	if want(t, "kid2 sees parent2's checkouts after confirmation", status, 200, body); !strings.Contains(fmt.Sprint(body), "Secret loan of parent2") {
		t.Errorf("parent2's checkouts: %v", body)
	}
	status, body = w.as["kid2"].do("POST", "/v1/patrons/"+w.ids["parent2"]+"/holds", map[string]any{"title": "Holes", "pickupLocation": "Central City"})
	want(t, "kid2 places a request for parent2", status, 403, body)

	// Strangers: with nothing, with the barcode and wrong phrases, with a
	// revoked phrase, and past the throttle even with the right phrase.
	for _, target := range []string{"kid1", "parent1", "kid2", "parent2"} {
		leaks += w.denied("stranger", w.as["stranger"], target, patronRoutes(w.ids[target]), 404)
		leaks += w.denied("stranger", w.as["stranger"], target, adminRoutes(w.ids[target]), 403)
	}
	revokedID, revoked := w.phrase("parent1", "one_way")
	status, body = w.as["parent1"].do("DELETE", "/v1/me/share-phrases/"+revokedID, nil)
	want(t, "parent1 revokes a phrase", status, 204, body)
	var refusal string
	for i, phrase := range []string{revoked, "abacus zoom abacus zoom abacus zoom", p1 + " extra"} {
		status, body = w.as["stranger"].do("POST", "/v1/me/links", map[string]string{"barcode": "2100001", "phrase": phrase})
		want(t, fmt.Sprintf("stranger's attempt %d", i+1), status, 400, body)
		if msg := fmt.Sprint(body["error"].(map[string]any)["message"]); refusal == "" {
			refusal = msg
		} else if msg != refusal {
			t.Errorf("refusals differ: %q and %q", msg, refusal)
		}
	}
	status, body = w.as["stranger"].do("POST", "/v1/me/links", map[string]string{"barcode": "2199999", "phrase": p1})
	if want(t, "an unknown barcode", status, 400, body); fmt.Sprint(body["error"].(map[string]any)["message"]) != refusal {
		t.Errorf("an unknown barcode is refused otherwise: %v", body)
	}
	throttled := false
	for i := 0; i < 12 && !throttled; i++ {
		status, body = w.as["stranger"].do("POST", "/v1/me/links", map[string]string{"barcode": "2100001", "phrase": fmt.Sprintf("guess number %d", i)})
		throttled = status == 429
	}
	if !throttled {
		t.Fatalf("twelve more wrong phrases were never throttled: %d %v", status, body)
	}
	status, body = w.as["stranger"].do("POST", "/v1/me/links", map[string]string{"barcode": "2100001", "phrase": p1})
	want(t, "the right phrase past the throttle", status, 429, body)
	leaks += w.denied("stranger past the throttle", w.as["stranger"], "kid1", patronRoutes(kid1), 404)

	// Another library's patron: the same ids and barcodes mean nothing there.
	bootstrapTenant(t, st, "ubc")
	ubcAdmin := anon.login("ubc", "admin", adminPassword)
	status, body = ubcAdmin.do("PATCH", "/v1/admin/settings", map[string]any{"staffPasswordsMustChange": no})
	want(t, "ubc settings", status, 200, body)
	status, body = ubcAdmin.do("POST", "/v1/admin/users", map[string]any{"username": "outsider", "password": patronPassword, "barcode": "2100001"})
	want(t, "ubc patron", status, 201, body)
	outsider := anon.login("ubc", "outsider", patronPassword)
	status, body = outsider.do("POST", "/v1/me/links", map[string]string{"barcode": "2100002", "phrase": p1})
	want(t, "another library's patron connects", status, 400, body)
	for _, target := range []string{"kid1", "parent2"} {
		leaks += w.denied("another library's patron", outsider, target, patronRoutes(w.ids[target]), 404)
		leaks += w.denied("another library's staff", ubcAdmin, target, adminRoutes(w.ids[target])[:1], 404)
	}

	// Deactivated and deleted accounts: their links do nothing.
	_, p3 := w.phrase("parent3", "one_way")
	w.connect("kid3", "2100005", p3)
	_, p4 := w.phrase("parent4", "two_way")
	w.connect("kid4", "2100007", p4)
	status, body = w.admin.do("POST", "/v1/admin/users/"+w.ids["kid3"]+"/deactivate", nil)
	want(t, "deactivate kid3", status, 200, body)
	leaks += w.denied("parent3 on a deactivated kid3", w.as["parent3"], "kid3", patronRoutes(w.ids["kid3"]), 404)
	status, body = w.admin.do("DELETE", "/v1/admin/users/"+w.ids["kid4"]+"?confirm=kid4", nil)
	want(t, "delete kid4", status, 200, body)
	leaks += w.denied("parent4 on a deleted kid4", w.as["parent4"], "kid4", patronRoutes(w.ids["kid4"]), 404)
	status, body = w.as["parent4"].do("GET", "/v1/me/links", nil)
	if want(t, "parent4's links after kid4's deletion", status, 200, body); strings.Contains(fmt.Sprint(body), w.ids["kid4"]) {
		t.Errorf("a deleted account is still listed: %v", body)
	}

	// Staff: the staff routes, never the patron routes of another account.
	for _, r := range adminRoutes(kid1) {
		if r[0] == "DELETE" {
			continue
		}
		status, body = w.admin.do(r[0].(string), r[1].(string), r[2])
		if status != 200 && status != 201 {
			t.Errorf("staff %s %s: %d %v", r[0], r[1], status, body)
		}
	}
	leaks += w.denied("staff on a patron route", w.admin, "kid2", patronRoutes(w.ids["kid2"]), 404)
	status, body = w.admin.do("GET", "/v1/admin/users/"+w.ids["parent2"]+"/links", nil)
	want(t, "staff list parent2's links", status, 200, body)
	status, body = w.admin.do("DELETE", "/v1/admin/users/"+w.ids["parent2"]+"/links/"+linkID, nil)
	want(t, "staff remove the two-way link", status, 204, body)
	leaks += w.denied("kid2 after staff removed the link", w.as["kid2"], "parent2", patronRoutes(w.ids["parent2"])[:2], 404)
	status, body = w.admin.do("GET", "/v1/admin/audit?target="+w.ids["parent1"], nil)
	if want(t, "audit of parent1", status, 200, body); !strings.Contains(fmt.Sprint(body), "link.create") {
		t.Errorf("the link is not audited: %v", body)
	}

	// Either side unlinks: kid1 ends parent1's management.
	status, body = w.as["kid1"].do("DELETE", "/v1/me/links/"+link1["id"].(string), nil)
	want(t, "kid1 unlinks", status, 204, body)
	leaks += w.denied("parent1 after kid1 unlinked", w.as["parent1"], "kid1", patronRoutes(kid1)[:2], 404)

	// The library turns linking off: no phrase, no link works.
	status, body = w.admin.do("PATCH", "/v1/admin/settings", map[string]any{"linkingDisabled": true})
	want(t, "turn linking off", status, 200, body)
	status, body = w.as["parent3"].do("POST", "/v1/me/share-phrases", map[string]string{"direction": "one_way"})
	want(t, "a phrase while linking is off", status, 403, body)

	if leaks != 0 {
		t.Fatalf("%d leaks", leaks)
	}
	all := logs.String()
	for _, secret := range []string{p1, p2, p3, p4, revoked} {
		if strings.Contains(all, secret) {
			t.Error("a share phrase appears in the logs")
		}
	}
}
