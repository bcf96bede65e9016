package stack_test

import (
	"testing"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// TestConsoleSignInInTheBrowser: a patron's account is turned away from
// the staff console with the reason, and staff whose password the library
// set must choose their own before the console opens.
func TestConsoleSignInInTheBrowser(t *testing.T) {
	t.Parallel()
	st, _ := startStack(t)
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	patronReady(t, admin, map[string]any{"username": "reader", "email": "reader@kpu.example"}, "a patron picked these words")
	newPatron(t, admin, map[string]any{"username": "clerk", "password": "temporary passphrase from staff", "roles": []string{"admin"}})

	p := browser.New(t).Page(t)
	p.Go(st.APIURL + "/console#/users")
	p.WaitText("#page-title", "Staff sign-in")
	p.Fill("#signin-tenant", "kpu")
	p.Fill("#signin-username", "reader")
	p.Fill("#signin-password", "a patron picked these words")
	p.Click("#signin-submit")
	p.WaitText(`[data-test="bar-error"]`, "This account is not a library staff account")
	p.WaitVisible("#signin-username")
	if n := count(t, p, `#nav:not([hidden])`); n != 0 {
		t.Errorf("the console's navigation shows for a patron")
	}

	p.Fill("#signin-username", "clerk")
	p.Fill("#signin-password", "temporary passphrase from staff")
	p.Click("#signin-submit")
	p.WaitText("#page-title", "Choose a new password")
	p.Fill("#change-new", "clerk chose words of her own")
	p.Fill("#change-again", "clerk chose words of her own")
	p.Click("#change-submit")
	p.WaitVisible(`[data-test="bar-error"]`) // the policy refuses the username in it, with its reason
	p.Fill("#change-new", "orchard lamp seventeen window")
	p.Fill("#change-again", "orchard lamp seventeen window")
	p.Click("#change-submit")
	p.WaitText("#page-title", "Users")
	p.WaitText(`[data-test="bar-ok"]`, "Your password was changed.")
	p.WaitText("#who", "clerk")
}
