package stack_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// newPatron is an account staff made with a password the patron must
// change at first sign-in.
func newPatron(tb testing.TB, admin client, fields map[string]any) string {
	tb.Helper()
	status, body := admin.do("POST", "/v1/admin/users", fields)
	want(tb, "create "+fields["username"].(string), status, 201, body)
	return body["user"].(map[string]any)["id"].(string)
}

// patronReady makes an account that needs no forced change: staff set a
// password, the patron changed it once through the API.
func patronReady(tb testing.TB, admin client, fields map[string]any, password string) string {
	tb.Helper()
	fields["password"] = "temporary passphrase from staff"
	id := newPatron(tb, admin, fields)
	c := client{tb: tb, base: admin.base}.login("kpu", fields["username"].(string), fields["password"].(string))
	status, body := c.do("POST", "/v1/me/password", map[string]string{"currentPassword": fields["password"].(string), "newPassword": password})
	want(tb, "first change of "+fields["username"].(string), status, 200, body)
	c.do("POST", "/v1/auth/logout", nil)
	return id
}

// signInOn opens pageURL and signs in to the kpu library through the sign-in
// form both apps share, then waits for the screen it lands on.
func signInOn(tb testing.TB, p *browser.Page, pageURL, username, password, landsOn string) {
	tb.Helper()
	p.Go(pageURL)
	p.WaitVisible("#signin-username")
	p.Fill("#signin-tenant", "kpu")
	p.Fill("#signin-username", username)
	p.Fill("#signin-password", password)
	p.Click("#signin-submit")
	p.WaitText("#page-title", landsOn)
}

// portalSignIn signs in through the portal's own form.
func portalSignIn(tb testing.TB, p *browser.Page, base, username, password string) {
	tb.Helper()
	signInOn(tb, p, base+"/portal#/account", username, password, "My account")
}

// portalFits fails when the page is wider than its viewport.
func portalFits(tb testing.TB, p *browser.Page, what string, width int) {
	tb.Helper()
	var w int
	p.Eval(`document.documentElement.scrollWidth`, &w)
	if w > width {
		tb.Errorf("%s at %d px: the page is %d px wide (scrolls sideways)", what, width, w)
	}
}

// TestPortalRecoveryInTheBrowser: forgot username and forgot password
// through the outbox, and the e-mailed link's page sets a password that
// then signs in.
func TestPortalRecoveryInTheBrowser(t *testing.T) {
	t.Parallel()
	st, _ := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)
	patronReady(t, admin, map[string]any{"username": "pat", "email": "pat@kpu.example", "barcode": "29000000004321"}, "forgotten long ago phrase")

	p := browser.New(t).Page(t)
	p.Go(st.APIURL + "/portal")
	p.WaitVisible("#signin-username")

	t.Log("step: forgot username")
	p.Click("#to-forgot-username")
	p.WaitText("#page-title", "Forgot your username?")
	p.Fill("#forgot-username-tenant", "kpu")
	p.Fill("#forgot-username-identifier", "pat@kpu.example")
	p.Click("#forgot-username-submit")
	p.WaitText(`[data-test="bar-ok"]`, "If an account matches, we have sent an e-mail with what to do next.")
	_, text := lastMail(t, anon, "pat@kpu.example")
	if m := remindedNames.FindAllStringSubmatch(text, -1); len(m) != 1 || m[0][1] != "pat" {
		t.Fatalf("username reminder:\n%s", text)
	}

	t.Log("step: forgot password, through the link")
	p.Click("#forgot-username-signin")
	p.WaitVisible("#signin-username")
	p.Click("#to-forgot-password")
	p.WaitText("#page-title", "Forgot your password?")
	if v := value(t, p, "#forgot-password-tenant"); v != "kpu" {
		t.Errorf("library code %q, want it remembered from the last form", v)
	}
	p.Fill("#forgot-password-identifier", "pat")
	p.Click("#forgot-password-submit")
	p.WaitText(`[data-test="bar-ok"]`, "If an account matches, we have sent an e-mail with what to do next.")
	_, text = lastMail(t, anon, "pat@kpu.example")
	link := regexp.MustCompile(`(\S+/portal/reset#token=\S+)`).FindStringSubmatch(text)
	if link == nil {
		t.Fatalf("no reset link in:\n%s", text)
	}
	p.Go(link[1])
	p.WaitText("#page-title", "Choose a new password")
	var href string
	p.Eval(`location.href`, &href)
	if strings.Contains(href, "token") || !strings.HasSuffix(href, "/portal/reset") {
		t.Errorf("the address still holds the token: %s", href)
	}
	p.Fill("#reset-new", "river stone morning chorus")
	p.Fill("#reset-again-password", "river stone morning choir")
	p.Click("#reset-submit")
	p.WaitText(`[data-test="bar-error"]`, "do not match")
	p.Fill("#reset-again-password", "river stone morning chorus")
	p.Click("#reset-submit")
	p.WaitText(`[data-test="bar-ok"]`, "Your password was changed.")
	p.Click("#reset-signin")
	p.WaitVisible("#signin-username")
	p.Fill("#signin-username", "pat")
	p.Fill("#signin-password", "river stone morning chorus")
	p.Click("#signin-submit")
	p.WaitText("#page-title", "My account")

	t.Log("step: the used link is refused with the API's message")
	p.Go(link[1])
	p.WaitVisible("#reset-new")
	p.Fill("#reset-new", "another fresh passphrase here")
	p.Fill("#reset-again-password", "another fresh passphrase here")
	p.Click("#reset-submit")
	p.WaitVisible(`[data-test="bar-error"]`)
	p.WaitVisible("#reset-again")
}

// TestPortalLinkedAccountsInTheBrowser: a parent gets a share phrase, the
// child's account connects with it, and the parent then renews the child's
// checkout, cancels a hold and changes a pickup, and is told plainly that
// borrowing for the child means signing in as the child.
func TestPortalLinkedAccountsInTheBrowser(t *testing.T) {
	t.Parallel()
	st, _ := startStack(t)
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	patronReady(t, admin, map[string]any{"username": "parent", "email": "parent@kpu.example", "barcode": "21234000022222"}, "grown up knows this passphrase")
	kid := patronReady(t, admin, map[string]any{"username": "kid", "email": "kid@kpu.example", "barcode": "21234000033333"}, "small one knows this phrase too")

	now := time.Now().UTC()
	status, body := admin.do("POST", "/v1/admin/users/"+kid+"/checkouts", map[string]any{
		"id": "L1", "title": "The Hobbit", "itemBarcode": "31234000000001",
		"checkedOutAt": now.AddDate(0, 0, -19).Format(time.RFC3339), "dueAt": now.AddDate(0, 0, 2).Format(time.RFC3339),
	})
	want(t, "feed a checkout", status, 201, body)
	for _, h := range []map[string]any{
		{"id": "H1", "title": "Matilda", "itemBarcode": "31234000000002", "status": "pending", "queuePosition": 3, "pickupLocation": "Main", "placedAt": now.AddDate(0, 0, -3).Format(time.RFC3339)},
		{"id": "H2", "title": "Holes", "itemBarcode": "31234000000003", "status": "pending", "queuePosition": 1, "pickupLocation": "Main", "placedAt": now.AddDate(0, 0, -2).Format(time.RFC3339)},
	} {
		status, body = admin.do("POST", "/v1/admin/users/"+kid+"/holds", h)
		want(t, "feed a hold", status, 201, body)
	}

	p := browser.New(t).Page(t)

	t.Log("step: the parent gets a one-way share phrase")
	portalSignIn(t, p, st.APIURL, "parent", "grown up knows this passphrase")
	p.Click(`#nav a[data-route="connected"]`)
	p.WaitText("#page-title", "Connected accounts")
	p.WaitText("#my-barcode", "21234000022222")
	p.Click("#phrase-get")
	p.WaitText(`[data-test="bar-ok"]`, "shown only this once")
	phrase := p.Text("#phrase-text")
	if len(strings.Fields(phrase)) != 6 {
		t.Fatalf("phrase %q, want six words", phrase)
	}
	p.WaitVisible("#phrase-copy")
	p.WaitVisible("#phrase-list")
	p.Click("#sign-out")
	p.WaitVisible("#signin-username")

	t.Log("step: the child connects; a wrong phrase first")
	p.Fill("#signin-username", "kid")
	p.Fill("#signin-password", "small one knows this phrase too")
	p.Click("#signin-submit")
	// Signed in again where the last one signed out: the same route.
	p.WaitText("#page-title", "Connected accounts")
	p.WaitVisible("#phrases-empty")
	p.Fill("#connect-barcode", "21234000022222")
	p.Fill("#connect-phrase", "not the right six words at all")
	p.Click("#connect-submit")
	p.WaitVisible(`[data-test="bar-error"]`)
	p.Fill("#connect-phrase", strings.ToUpper(phrase))
	p.Click("#connect-submit")
	p.WaitText(`[data-test="bar-ok"]`, "Connected: parent can now manage your account.")
	p.WaitText(`[data-test="managed-by"]`, "parent")
	p.Click("#sign-out")
	p.WaitVisible("#signin-username")

	t.Log("step: the parent renews, cancels, changes a pickup, and meets the fence")
	p.Fill("#signin-username", "parent")
	p.Fill("#signin-password", "grown up knows this passphrase")
	p.Click("#signin-submit")
	p.WaitText("#page-title", "Connected accounts")
	p.WaitText(`[data-test="manages"]`, "kid")
	p.Click(`#nav a[data-route="loans"]`)
	p.WaitText("#page-title", "Checkouts and holds")
	p.WaitText(`[data-test="account-kid"]`, "The Hobbit")
	p.WaitText(`[data-test="account-kid"] [data-test="fence"]`, "To borrow or place a request for kid, sign in to that account.")
	if n := count(t, p, `[data-test="account-kid"] #request-form`); n != 0 {
		t.Errorf("the child's section offers a request form")
	}
	p.WaitText(`[data-test="account-me"]`, "Nothing checked out.")
	p.WaitText(`[data-test="loan-L1"] [data-test="renewals"]`, "0 of 2 used")
	p.Click(`[data-test="loan-L1"] [data-test="renew"]`)
	p.WaitText(`[data-test="bar-ok"]`, `Renewed "The Hobbit" for kid`)
	p.WaitText(`[data-test="loan-L1"] [data-test="renewals"]`, "1 of 2 used")

	p.Click(`[data-test="hold-H1"] [data-test="cancel"]`)
	p.WaitVisible(`[data-test="dialog"]`)
	p.Click(`[data-test="dialog-cancel"]`) // thinking better of it keeps the hold
	p.WaitVisible(`[data-test="hold-H1"]`)
	p.Click(`[data-test="hold-H1"] [data-test="cancel"]`)
	p.Click(`[data-test="dialog-cancel-hold"]`)
	p.WaitText(`[data-test="bar-ok"]`, `Cancelled the hold on "Matilda" for kid.`)
	if n := count(t, p, `[data-test="hold-H1"]`); n != 0 {
		t.Errorf("the cancelled hold is still listed")
	}

	p.Click(`[data-test="hold-H2"] [data-test="more"]`)
	p.Fill(`[data-test="hold-H2"] [data-test="pickup-input"]`, "Branch East")
	p.Click(`[data-test="hold-H2"] [data-test="pickup-save"]`)
	p.WaitText(`[data-test="bar-ok"]`, `The hold on "Holes" will be ready at Branch East.`)
	p.WaitText(`[data-test="hold-H2"] [data-test="pickup"]`, "Branch East")

	// The fence is the API's, not only the page's: a request for the
	// child from this session is refused with the reason the page states.
	var fence struct {
		Status  int
		Message string
	}
	p.Eval(`(async () => {
		const csrf = (document.cookie.match(/(?:^|; )__Host-csrf=([^;]*)/) || [])[1] || '';
		const r = await fetch('/v1/patrons/`+kid+`/holds', {method: 'POST', credentials: 'same-origin',
			headers: {'content-type': 'application/json', 'X-CSRF-Token': csrf},
			body: JSON.stringify({title: 'Dune', itemBarcode: '31234000000009', pickupLocation: 'Main'})});
		const b = await r.json();
		return {Status: r.status, Message: (b.error || {}).message || ''};
	})()`, &fence)
	if fence.Status != 403 || fence.Message != "sign in to that account to place a request" {
		t.Errorf("a request for the managed account: %+v", fence)
	}

	t.Log("step: the child sees who acted, and unlinks")
	p.Click("#sign-out")
	p.WaitVisible("#signin-username")
	p.Fill("#signin-username", "kid")
	p.Fill("#signin-password", "small one knows this phrase too")
	p.Click("#signin-submit")
	p.WaitText("#page-title", "Checkouts and holds")
	p.WaitText(`[data-test="account-me"]`, "The Hobbit") // the renewal shows on the child's own page
	p.Click(`#nav a[data-route="activity"]`)
	p.WaitText("#activity", "parent")
	p.Click(`#nav a[data-route="connected"]`)
	p.WaitText(`[data-test="link-parent"]`, "Active")
	p.Click(`[data-test="link-parent"] [data-test="unlink"]`)
	p.Click(`[data-test="dialog-unlink"]`)
	p.WaitText(`[data-test="bar-ok"]`, "Unlinked parent.")
	p.WaitVisible(`[data-test="managed-by-empty"]`)
}
