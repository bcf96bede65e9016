package stack_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// TestConsoleUsersInTheBrowser walks the console's people screens as a
// librarian would, in Chromium against a whole local stack: add a single
// user with the suggested username and a template user's settings (picked
// by keyboard, at a phone's width), find them, edit in two tabs (the second
// save meets the version check), reset the password each way, unlock after
// failed sign-ins, deactivate, reactivate, delete after a confirmation that
// offers deactivation, remove a patron's link, and select users to
// deactivate, delete and reset. It asserts on what the page shows.
func TestConsoleUsersInTheBrowser(t *testing.T) {
	t.Parallel()
	st, logs := startStack(t)
	walkConsoleUsers(t, st.APIURL)
	if t.Failed() {
		t.Logf("logs:\n%s", logs.String())
	}
}

// walkConsoleUsers is one librarian's session: the steps build on each
// other (the user added first is the one edited, reset and deleted).
func walkConsoleUsers(t *testing.T, base string) {
	anon := client{tb: t, base: base}
	admin := anon.login("kpu", "admin", adminPassword)
	for _, u := range []map[string]any{
		{"username": "tmpl-staff", "password": "template account passphrase", "roles": []string{"staff"}, "queues": []string{"chat", "proactive"}, "cannedMessagePools": []string{"kpu-pool"}},
		{"username": "ann", "password": "ann first long passphrase", "email": "ann@kpu.example", "barcode": "21234000005555"},
		{"username": "bob", "password": "bob first long passphrase", "email": "bob@kpu.example"},
	} {
		status, body := admin.do("POST", "/v1/admin/users", u)
		want(t, "create "+u["username"].(string), status, 201, body)
	}

	b := browser.New(t)
	p := b.Page(t)
	consoleSignIn(t, p, base)
	// A phone's width first: the screens must work without side-scrolling.
	p.Viewport(320, 800)
	p.WaitText("#users-table", "tmpl-staff")
	noSideScroll(t, p, "the user list")

	var id string
	// Add a user with a suggested name and a template's settings.
	{
		t.Log("step: add a user with a suggested name and a template's settings")
		p.Click(`#nav a[href="#/add-user"]`)
		p.WaitText("#page-title", "Add single user")
		p.WaitVisible("#add-save")
		noSideScroll(t, p, "add user")
		p.Fill("#add-first", "Sadie")
		p.Fill("#add-last", "Park")
		p.Click("#add-suggest")
		p.WaitText("#add-suggest-note", "Suggested sadie-p")
		if got := value(t, p, "#add-username"); got != "sadie-p" {
			t.Fatalf("suggested username %q, want sadie-p", got)
		}
		p.Fill("#add-password", "her first long passphrase")
		p.Fill("#add-password2", "her first long passphrase")
		p.Fill("#add-email", "sadie@kpu.example")
		p.Fill("#add-primaryid", "0012345")
		// The picker by keyboard alone: ticking the box puts the focus in
		// its search field; Arrow Down reaches the matches, Enter picks.
		p.Click("#add-copy")
		p.Keys("tmpl")
		p.WaitVisible(`[data-test="pick-tmpl-staff"]`)
		p.Keys(kb.ArrowDown)
		var outline string
		p.Eval(`document.activeElement.dataset.test + ' ' + getComputedStyle(document.activeElement).outlineStyle`, &outline)
		if outline != "pick-tmpl-staff solid" {
			t.Errorf("after Arrow Down the focus is on %q; want the match, with a visible outline", outline)
		}
		p.Keys("\r")
		p.WaitText("#copy-chosen", "Copying the settings of tmpl-staff")
		if got := value(t, p, "#add-queues"); got != "chat, proactive" {
			t.Errorf("copied queues %q", got)
		}
		p.Click("#add-save")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Added User sadie-p (settings copied from tmpl-staff)")
		p.WaitText("#page-title", "sadie-p")
		p.WaitText(`[data-test="fact-roles"]`, "staff")
		p.WaitText(`[data-test="fact-queues"]`, "chat, proactive")
		p.WaitText(`[data-test="fact-pools"]`, "kpu-pool")
		p.WaitText(`[data-test="fact-primaryid"]`, "0012345")
		p.WaitText("#audit-table", "copySettingsFrom")
		noSideScroll(t, p, "the user's page")
		p.Viewport(1280, 900)
		p.Eval(`location.hash.slice('#/users/'.length)`, &id)
		status, body := admin.do("GET", "/v1/admin/users/"+id, nil)
		want(t, "the new user", status, 200, body)
		if body["username"] != "sadie-p" || len(body["cannedMessagePools"].([]any)) != 1 {
			t.Fatalf("the API has %v", body)
		}
	}

	// Search finds them.
	{
		t.Log("step: search finds them")
		p.Click(`#nav a[href="#/users"]`)
		p.WaitText("#page-title", "Users")
		for _, s := range []struct{ by, q string }{{"email", "sadie@kpu.example"}, {"primaryId", "0012345"}, {"prefix", "sad"}} {
			p.Fill("#user-search-by", s.by)
			p.Fill("#user-search-q", s.q)
			p.Click("#user-search-go")
			p.WaitText("#users-table", "sadie-p")
			if rows := count(t, p, "#users-table tbody tr"); rows != 1 {
				t.Errorf("search by %s %q: %d rows", s.by, s.q, rows)
			}
		}
		// The search terms stay in the page, never in the address.
		var href string
		p.Eval(`location.href`, &href)
		if strings.Contains(href, "sad") {
			t.Errorf("the address %s carries the search", href)
		}
		p.Fill("#user-search-q", "")
		p.Fill("#user-filter-role", "staff")
		p.Click("#user-search-go")
		p.WaitText("#users-table", "tmpl-staff")
		if rows := count(t, p, "#users-table tbody tr"); rows != 2 {
			t.Errorf("role staff: %d rows, want sadie-p and tmpl-staff", rows)
		}
		p.Click(`[data-test="open-sadie-p"]`)
		p.WaitText("#page-title", "sadie-p")
	}

	// An edit from a stale tab meets the version check.
	{
		t.Log("step: an edit from a stale tab meets the version check")
		other := b.Page(t)
		other.Go(base + consolePath + "#/users/" + id)
		other.WaitText("#page-title", "sadie-p")
		p.Fill("#edit-email", "sadie.park@kpu.example")
		p.Click("#edit-save")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User sadie-p")
		p.WaitText(`[data-test="fact-email"]`, "sadie.park@kpu.example")

		other.Fill("#edit-barcode", "21234000123")
		other.Click("#edit-save")
		other.WaitText(`[data-test="bar-error"]`, "the user was changed meanwhile")
		other.WaitVisible("#conflict-reload")
		other.Click("#conflict-reload")
		other.WaitText(`[data-test="fact-email"]`, "sadie.park@kpu.example")
		other.Fill("#edit-barcode", "21234000123")
		other.Click("#edit-save")
		other.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User sadie-p")
		other.WaitText(`[data-test="fact-barcode"]`, "21234000123")
	}

	// Reset the password each way.
	{
		t.Log("step: reset the password each way")
		p.Fill("#pw-new", "staff typed this passphrase")
		p.Fill("#pw-confirm", "staff typed this passphrase")
		p.Click("#pw-submit")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User Password")
		anon.login("kpu", "sadie-p", "staff typed this passphrase")

		p.Click("#pw-way-temporary")
		p.Click("#pw-temp-email") // on by default for a user with an address
		p.Click("#pw-submit")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User Password")
		anon.login("kpu", "sadie-p", p.Text("#generated-password"))

		p.Click("#pw-temp-email")
		p.Click("#pw-submit")
		p.WaitText(`[data-test="bar-ok"]`, "A new temporary password will be generated and e-mailed to the user")
		_, text := lastMail(t, anon, "sadie.park@kpu.example")
		m := temporaryPassword.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no password in the mail:\n%s", text)
		}
		anon.login("kpu", "sadie-p", m[1])

		p.Click("#pw-way-link")
		p.Click("#pw-submit")
		p.WaitText(`[data-test="bar-ok"]`, "A reset link will be e-mailed to the user")
		_, text = lastMail(t, anon, "sadie.park@kpu.example")
		link := linkToken.FindStringSubmatch(text)
		if link == nil {
			t.Fatalf("no link in the mail:\n%s", text)
		}
		status, body := anon.do("POST", "/v1/auth/password-reset", map[string]string{"token": link[1], "password": "patron chose this passphrase"})
		want(t, "complete the e-mailed link", status, 200, body)
		anon.login("kpu", "sadie-p", "patron chose this passphrase")
		p.Click("#notices-refresh")
		p.WaitText("#notices-table", "Reset link")
		p.WaitText("#notices-table", "Temporary password")
	}

	// Failed sign-ins lock the user; the page unlocks them.
	{
		t.Log("step: failed sign-ins lock the user; the page unlocks them")
		for range 5 {
			status, body := anon.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": "sadie-p", "password": "not the passphrase at all"})
			want(t, "a wrong password", status, 401, body)
		}
		// Back to the list and into the user again, as staff would.
		p.Click(`#nav a[href="#/users"]`)
		p.WaitText("#users-table", "sadie-p")
		p.Click(`[data-test="open-sadie-p"]`)
		p.WaitText("#lock-state", "Locked until")
		p.Click("#user-unlock")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Unlocked User")
		p.WaitText("#lock-state", "Not locked.")
		anon.login("kpu", "sadie-p", "patron chose this passphrase")
	}

	// Deactivate, reactivate, delete after choosing deactivation first.
	{
		t.Log("step: deactivate, reactivate, delete after choosing deactivation first")
		p.Click("#user-deactivate")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User Status")
		p.WaitText("#user-status", "Inactive")
		p.Click("#user-reactivate")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User Status")
		p.WaitText("#user-status", "Active")

		// Escape leaves the confirmation with nothing done.
		p.Click("#user-delete")
		p.WaitText(`[data-test="dialog"]`, "permanent")
		p.Keys(kb.Escape)
		var open int
		p.Eval(`document.querySelectorAll('dialog[open]').length`, &open)
		if open != 0 {
			t.Errorf("Escape left %d dialogs open", open)
		}
		p.WaitText("#user-status", "Active")

		p.Click("#user-delete")
		p.WaitText(`[data-test="dialog"]`, "permanent")
		p.Click(`[data-test="dialog-deactivate"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated User Status")
		p.WaitText("#user-status", "Inactive")
		status, body := admin.do("GET", "/v1/admin/users/"+id, nil)
		if status != 200 || body["status"] != "inactive" {
			t.Fatalf("after choosing deactivation: %d %v", status, body)
		}

		p.Click("#user-delete")
		p.Click(`[data-test="dialog-delete"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Deleted User: sadie-p")
		p.WaitText("#page-title", "Users")
		status, body = admin.do("GET", "/v1/admin/users/"+id, nil)
		want(t, "the deleted user", status, 404, body)
	}

	// A patron's linked accounts, seen and removed by staff.
	{
		t.Log("step: a user's links, and removing one")
		patrons := map[string]client{}
		for _, name := range []string{"ann", "bob"} {
			// Staff chose their first passwords: each picks their own first.
			c := anon.login("kpu", name, name+" first long passphrase")
			status, body := c.do("POST", "/v1/me/password", map[string]string{"currentPassword": name + " first long passphrase", "newPassword": "a password of my very own"})
			want(t, name+" chooses a password", status, 200, body)
			patrons[name] = anon.login("kpu", name, "a password of my very own")
		}
		status, body := patrons["ann"].do("POST", "/v1/me/share-phrases", map[string]string{"direction": "one_way"})
		want(t, "ann gets a share phrase", status, 201, body)
		status, body = patrons["bob"].do("POST", "/v1/me/links", map[string]string{"barcode": "21234000005555", "phrase": body["phrase"].(string)})
		want(t, "bob connects to ann", status, 201, body)
		p.Click(`#nav a[href="#/users"]`)
		p.Fill("#user-search-by", "barcode")
		p.Fill("#user-search-q", "21234000005555")
		p.Click("#user-search-go")
		p.Click(`[data-test="open-ann"]`)
		p.WaitText("#links-manages", "bob")
		p.Click(`[data-test="unlink-bob"]`)
		p.Click(`[data-test="dialog-remove"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Removed the link with bob")
		p.WaitText("#links-none", "No linked accounts.")
		p.WaitText("#audit-table", "link.delete")
	}

	// Select two users and deactivate them.
	{
		t.Log("step: select two users and deactivate them")
		p.Click(`#nav a[href="#/users"]`)
		p.Fill("#user-search-by", "prefix")
		p.Fill("#user-search-q", "")
		p.Fill("#user-filter-role", "")
		p.Click("#user-search-go")
		p.WaitText("#users-table", "bob")
		p.Click(`[data-test="select-ann"]`)
		p.Click(`[data-test="select-bob"]`)
		p.WaitText("#selection-count", "2 users selected: ann, bob")
		p.Click("#bulk-deactivate")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully deactivated 2 users: ann, bob")
		p.WaitText(`[data-test="row-ann"]`, "Inactive")
		p.WaitText(`[data-test="row-bob"]`, "Inactive")
		p.WaitText(`[data-test="row-tmpl-staff"]`, "Active")
		var disabled bool
		p.Eval(`document.getElementById('bulk-deactivate').disabled`, &disabled)
		if !disabled {
			t.Errorf("with nobody selected any more, Deactivate is still enabled")
		}
		for _, name := range []string{"ann", "bob"} {
			status, body := admin.do("GET", "/v1/admin/users?prefix="+name, nil)
			want(t, "find "+name, status, 200, body)
			if u := body["users"].([]any)[0].(map[string]any); u["status"] != "inactive" {
				t.Errorf("%s is %v", name, u["status"])
			}
		}

		// Delete one of them, after the confirmation.
		p.Click(`[data-test="select-ann"]`)
		p.Click("#bulk-delete")
		p.WaitText(`[data-test="dialog"]`, "permanent and cannot be undone: ann")
		p.Click(`[data-test="dialog-delete"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Successfully deleted 1 user: ann")
		if n := count(t, p, `[data-test="row-ann"]`); n != 0 {
			t.Errorf("ann is still listed")
		}

		// Reset the passwords of selected users: the job starts and the
		// task centre follows it.
		p.Click(`[data-test="select-tmpl-staff"]`)
		p.Click("#bulk-reset")
		p.Click(`[data-test="dialog-link"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Password reset started for 1 user")
		var hash string
		p.Eval(`location.hash`, &hash)
		if !strings.HasPrefix(hash, "#/tasks/") {
			t.Errorf("after starting the reset the console shows %s, want the task centre", hash)
		}
	}
}

// temporaryPassword finds the password in the mail a staff member's
// "generate and e-mail" sends.
var temporaryPassword = regexp.MustCompile(`temporary one:\s+(\S+)`)

// consolePath is the console's page. Not "/console/": the local gateway
// answers that 404, as no route takes it (/console/{proxy+} needs a
// non-empty proxy).
const consolePath = "/console/index.html"

// consoleSignIn opens the console and signs in as the stack's admin
// through its sign-in screen.
func consoleSignIn(tb testing.TB, p *browser.Page, base string) {
	tb.Helper()
	signInOn(tb, p, base+consolePath+"#/users", "admin", adminPassword, "Users")
}

// noSideScroll fails when the page is wider than its viewport (at 320 px
// only a table may scroll, inside its own frame), naming the widest culprit.
func noSideScroll(tb testing.TB, p *browser.Page, what string) {
	tb.Helper()
	var got struct {
		Scroll, Client int
		Culprit        string
	}
	p.Eval(`(() => {
		const d = document.documentElement;
		let culprit = '';
		for (const e of document.querySelectorAll('body *')) {
			if (e.closest('.table-wrap')) continue;
			const r = e.getBoundingClientRect();
			if (r.right > d.clientWidth + 1) { culprit = e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className; break; }
		}
		return {Scroll: d.scrollWidth, Client: d.clientWidth, Culprit: culprit};
	})()`, &got)
	if got.Scroll > got.Client || got.Culprit != "" {
		tb.Errorf("%s is %d px wide in a %d px viewport (first too wide: %s)", what, got.Scroll, got.Client, got.Culprit)
	}
}

// value is an input's current value.
func value(tb testing.TB, p *browser.Page, sel string) string {
	tb.Helper()
	var v string
	p.Eval(`document.querySelector(`+jsValue(sel)+`).value`, &v)
	return v
}

// count is how many elements match sel.
func count(tb testing.TB, p *browser.Page, sel string) int {
	tb.Helper()
	var n int
	p.Eval(`document.querySelectorAll(`+jsValue(sel)+`).length`, &n)
	return n
}
