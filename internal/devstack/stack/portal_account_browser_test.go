package stack_test

import (
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// TestPortalAccountInTheBrowser: a patron staff just added signs in with the
// keyboard alone, must choose a password first, sees the account, changes
// the password again, and the portal fits a 320 px phone.
func TestPortalAccountInTheBrowser(t *testing.T) {
	t.Parallel()
	st, _ := startStack(t)
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	newPatron(t, admin, map[string]any{"username": "ann", "password": "staff chose this passphrase", "email": "ann@kpu.example", "barcode": "21234000011111"})

	b := browser.New(t)
	p := b.Page(t)
	p.Go(st.APIURL + "/")
	// Followed with Go: a click that navigates can race the next wait's
	// script context.
	var portal string
	p.Eval(`document.getElementById('to-portal').getAttribute('href')`, &portal)
	if portal != "/portal" {
		t.Fatalf("the landing page links the portal as %q", portal)
	}
	p.Go(st.APIURL + portal)
	p.WaitText("#page-title", "Sign in")

	t.Log("step: keyboard-only sign-in, then the forced change")
	// The library code field has the focus (nothing remembered yet).
	var focused string
	p.Eval(`document.activeElement.id`, &focused)
	if focused != "signin-tenant" {
		t.Fatalf("focus on %q, want the library code", focused)
	}
	p.Keys("kpu\tann\tstaff chose the wrong passphrase\r")
	// The API's own message, verbatim, in the red bar.
	p.WaitText(`[data-test="bar-error"]`, "invalid username or password")
	p.Eval(`document.activeElement.id`, &focused)
	if focused != "signin-password" {
		t.Errorf("after a failed sign-in the focus is on %q, want the password", focused)
	}
	p.Keys("staff chose this passphrase\r")
	p.WaitText("#page-title", "Choose a new password")
	if n := count(t, p, "#change-current"); n != 0 {
		t.Errorf("the forced change asks again for the password just typed")
	}
	p.Keys("short\tshort\r")
	p.WaitVisible(`[data-test="bar-error"]`)
	p.Fill("#change-new", "lantern meadow copper violin")
	p.Fill("#change-again", "lantern meadow copper violin")
	p.Click("#change-submit")
	p.WaitText("#page-title", "My account")
	p.WaitText(`[data-test="bar-ok"]`, "Your password was changed.")
	p.WaitText(`[data-test="barcode"]`, "21234000011111")
	p.WaitText(`[data-test="email"]`, "ann@kpu.example")
	p.WaitText(`[data-test="username"]`, "ann")

	t.Log("step: change password, wrong current first")
	p.Click(`#nav a[data-route="password"]`)
	p.WaitText("#page-title", "Change password")
	p.Fill("#password-current", "not my password at all")
	p.Fill("#password-new", "second choice of four words")
	p.Fill("#password-again", "second choice of four words")
	p.Click("#password-submit")
	p.WaitVisible(`[data-test="bar-error"]`)
	p.WaitText("#page-title", "Change password") // still signed in: a wrong password is not a lost session
	p.Fill("#password-current", "lantern meadow copper violin")
	p.Fill("#password-new", "second choice of four words")
	p.Fill("#password-again", "second choice of four words")
	p.Click("#password-submit")
	p.WaitText(`[data-test="bar-ok"]`, "Your password was changed.")

	t.Log("step: sign out, the library code is remembered, sign in with the new password")
	p.Click("#sign-out")
	p.WaitText(`[data-test="bar-ok"]`, "You are signed out.")
	p.WaitVisible("#signin-username")
	if v := value(t, p, "#signin-tenant"); v != "kpu" {
		t.Errorf("library code %q, want it remembered", v)
	}
	p.Fill("#signin-username", "ann")
	p.Fill("#signin-password", "second choice of four words")
	p.Click("#signin-submit")
	p.WaitText("#page-title", "Change password") // back where the patron signed out
	var href string
	p.Eval(`location.href`, &href)
	if strings.Contains(href, "ann") || strings.Contains(href, "?") {
		t.Errorf("the address %s carries more than the route", href)
	}

	t.Log("step: 320 px wide")
	p.Viewport(320, 640)
	for _, route := range []string{"account", "loans", "connected", "password", "activity"} {
		p.Click(`#nav a[data-route="` + route + `"]`)
		p.WaitVisible("#page-title")
		portalFits(t, p, route, 320)
	}
	p.Click("#sign-out")
	p.WaitVisible("#signin-username")
	portalFits(t, p, "sign-in", 320)
	p.Click("#to-forgot-password")
	p.WaitText("#page-title", "Forgot your password?")
	portalFits(t, p, "forgot password", 320)
}
