package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const loginUsage = `usage: libaccounts login [--api URL] [--tenant T] [--username U] [--password-stdin]

Signs in and keeps the session in $XDG_CONFIG_HOME/libaccounts/session.json
(default ~/.config/libaccounts/session.json, readable by you only). Later
commands use that session and its API until it ends; then sign in again.

On a terminal the library, username and password are asked for (the password
without echo). Otherwise standard input answers the same questions, one line
each: the username (unless --username is given; an empty line keeps the
previous session's), then the password:

  printf 'admin\n%s\n' "$PASSWORD" | libaccounts login

With --password-stdin only the password is read, as the first line; the
username is then --username or the previous session's. --tenant is needed
unless the previous session or the local stack names the library.

The API is --api URL, else $LIBACCOUNTS_API_URL, else the local stack's
.local/stack.json (from this directory upwards, or in $LIBACCOUNTS_DATA_DIR).
`

const logoutUsage = `usage: libaccounts logout

Ends the session at the API and forgets it on this machine.
`

const passwordUsage = `usage: libaccounts password

Changes your password (POST /v1/me/password): asks for the current password
and the new one twice, without echo; when standard input is not a terminal,
reads them as three lines. Your other sessions are signed out; this one stays.
`

const mustChangeNote = "your password must be changed before you can do anything else: run `libaccounts password` " +
	"(it sends your current and a new password to POST /v1/me/password)"

func (a *app) cmdLogin(ctx context.Context, args []string) error {
	fs := newFlagSet("login")
	apiFlag := fs.String("api", "", "API base URL")
	tenant := fs.String("tenant", "", "library (tenant) id")
	username := fs.String("username", "", "username")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	pos, err := a.parseFlags(fs, args, loginUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fail("login takes no arguments (got %q); see `libaccounts login --help`", pos[0])
	}
	target, err := a.discoverAPI(*apiFlag)
	if err != nil {
		return err
	}
	prev, _ := a.loadSession() // a damaged session is simply replaced
	defTenant, defUser := "", ""
	if prev != nil && prev.API == target.URL {
		defTenant, defUser = prev.Tenant, prev.Username
	}
	if defTenant == "" && target.Stack != nil {
		defTenant = target.Stack.Tenant
	}
	interactive := a.stdinTTY && !*pwStdin
	if *tenant == "" {
		*tenant = defTenant
		if interactive {
			if *tenant, err = a.prompt(ctx, "Library (tenant)", defTenant); err != nil {
				return err
			}
		}
	}
	if *tenant == "" {
		return fail("--tenant is required: the library's id, e.g. --tenant demo")
	}
	if *username == "" {
		if *tenant == defTenant {
			*username = defUser
		}
		switch {
		case interactive:
			if *username, err = a.prompt(ctx, "Username", *username); err != nil {
				return err
			}
		case !*pwStdin:
			// Piped: the lines answer what a terminal would be asked.
			if *username, err = a.pipedAnswer(ctx, "username", *username); err != nil {
				return err
			}
		}
	}
	if *username == "" {
		if *pwStdin {
			return fail("--username is required with --password-stdin, which reads only the password")
		}
		return fail("--username is required")
	}
	var password string
	if *pwStdin {
		password, err = a.readLine(ctx)
		if errors.Is(err, io.EOF) || (err == nil && password == "") {
			return fail("no password on standard input")
		}
	} else {
		password, err = a.readSecret(ctx, fmt.Sprintf("Password for %s/%s: ", *tenant, *username), "password")
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(target.URL, "http://") && !isLoopback(target.URL) {
		fmt.Fprintf(a.stderr, "warning: %s is plain HTTP; your password and session cross the network unencrypted\n", target.URL)
	}
	c := &client{a: a, base: target.URL}
	var out apiwire.LoginResponse
	err = c.do(ctx, http.MethodPost, "/v1/auth/login", apiwire.LoginRequest{Tenant: *tenant, Username: *username, Password: password}, &out)
	var ae *apiError
	if errors.As(err, &ae) {
		return fail("sign-in refused: %v", ae)
	}
	if err != nil {
		return err
	}
	if out.Token == "" {
		return fail("the API at %s answered the sign-in without a session token", target.URL)
	}
	s := session{API: target.URL, Tenant: *tenant, Username: *username, Token: out.Token, ExpiresAt: out.ExpiresAt, MustChangePassword: out.MustChangePassword}
	if err := a.saveSession(s); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "signed in to %s as %s/%s", target.URL, *tenant, *username)
	if !out.ExpiresAt.IsZero() {
		fmt.Fprintf(a.stdout, " until %s at the latest", a.clock(out.ExpiresAt))
	}
	fmt.Fprintln(a.stdout)
	if out.MustChangePassword {
		fmt.Fprintln(a.stdout, mustChangeNote)
	}
	return nil
}

func (a *app) cmdLogout(ctx context.Context, args []string) error {
	pos, err := a.parseFlags(newFlagSet("logout"), args, logoutUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fail("logout takes no arguments")
	}
	s, err := a.loadSession()
	if err != nil { // damaged: nothing to end at the API
		return a.deleteSession()
	}
	if s == nil {
		fmt.Fprintln(a.stdout, "not signed in")
		return nil
	}
	c := &client{a: a, base: s.API, sess: s}
	ctx2, cancel := context.WithTimeout(ctx, a.apiTimeout)
	resp, err := c.send(ctx2, http.MethodPost, "/v1/auth/logout", nil)
	cancel()
	switch {
	case err != nil:
		fmt.Fprintf(a.stderr, "warning: could not end the session at the API (%s); it ends by itself by %s\n", oneLine(err.Error()), a.clock(s.ExpiresAt))
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		resp.Body.Close() // 401/403: it had ended already
	default:
		fmt.Fprintf(a.stderr, "warning: the API did not end the session (HTTP %d); it ends by itself by %s\n", resp.StatusCode, a.clock(s.ExpiresAt))
		resp.Body.Close()
	}
	if err := a.deleteSession(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "signed out of %s (%s/%s)\n", s.API, s.Tenant, s.Username)
	return nil
}

func (a *app) cmdPassword(ctx context.Context, args []string) error {
	fs := newFlagSet("password")
	apiFlag := fs.String("api", "", "API base URL (must be the session's)")
	pos, err := a.parseFlags(fs, args, passwordUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fail("password takes no arguments; it asks for the passwords")
	}
	c, err := a.signedIn(*apiFlag)
	if err != nil {
		return err
	}
	if a.stdinTTY {
		fmt.Fprintf(a.stderr, "changing the password of %s/%s at %s\n", c.sess.Tenant, c.sess.Username, c.base)
	}
	current, err := a.readSecret(ctx, "Current password: ", "current password")
	if err != nil {
		return err
	}
	next, err := a.readSecret(ctx, "New password: ", "new password")
	if err != nil {
		return err
	}
	again, err := a.readSecret(ctx, "New password again: ", "repeated new password")
	if err != nil {
		return err
	}
	if next != again {
		return fail("the two new passwords differ; nothing was changed")
	}
	in := apiwire.ChangePasswordRequest{CurrentPassword: current, NewPassword: next}
	if err := c.do(ctx, http.MethodPost, "/v1/me/password", in, nil); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fail("password not changed: %v", ae)
		}
		return err
	}
	s := *c.sess
	s.MustChangePassword = false
	if err := a.saveSession(s); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "password changed for %s/%s; your other sessions were signed out\n", s.Tenant, s.Username)
	return nil
}
