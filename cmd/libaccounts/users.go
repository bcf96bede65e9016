package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const usersUsage = `usage:
  libaccounts users list [--prefix P | --email E | --barcode B | --primary-id ID]
                         [--role R | --no-role] [--status active|inactive] [--limit N] [--cursor C]
  libaccounts users get USER
  libaccounts users create USERNAME [--email E] [--barcode B] [--primary-id ID]
                         [--roles LIST] [--queues LIST] [--canned-message-pools LIST]
                         [--copy-settings-from USER] [--generate-password | --password-stdin]
  libaccounts users deactivate USER     they can no longer sign in; reactivate undoes it
  libaccounts users reactivate USER
  libaccounts users unlock USER         end a sign-in lock after failed attempts
  libaccounts users delete USER --confirm USERNAME   for good: the account, its sessions and links

USER is a username (any case) or a user id as the list shows it.

list: --prefix matches the start of usernames; --email, --barcode and
--primary-id are exact searches (each ignores the other filters); --role
keeps users holding that role, --no-role end users only; --limit 1-200
(default 50); --cursor continues where an earlier list stopped.

create: LIST is comma-separated (--roles "" for none). Without --roles,
--queues or --canned-message-pools the new user copies them from
--copy-settings-from, if given. The password is asked twice on a terminal,
else read from the first line of standard input (--password-stdin reads it
there even on a terminal); --generate-password has one made and printed once.
A password staff choose must be changed at the user's first sign-in.

Each takes --api URL, which must be the session's API (the default).
`

func (a *app) cmdUsers(ctx context.Context, args []string) error {
	return a.subcommands("users", usersUsage, args, map[string]func([]string) error{
		"list":       func(args []string) error { return a.cmdUsersList(ctx, args) },
		"get":        func(args []string) error { return a.cmdUsersGet(ctx, args) },
		"create":     func(args []string) error { return a.cmdUsersCreate(ctx, args) },
		"deactivate": func(args []string) error { return a.cmdUsersStatus(ctx, args, "deactivate") },
		"reactivate": func(args []string) error { return a.cmdUsersStatus(ctx, args, "reactivate") },
		"unlock":     func(args []string) error { return a.cmdUsersUnlock(ctx, args) },
		"delete":     func(args []string) error { return a.cmdUsersDelete(ctx, args) },
	})
}

func userPath(id, action string) string {
	p := "/v1/admin/users/" + url.PathEscape(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// findUser resolves USER: a user id is looked up as one, anything else (or
// an id that is no user's) as a username.
func (a *app) findUser(ctx context.Context, c *client, who string) (apiwire.User, error) {
	if accounts.ValidUserID(who) {
		var u apiwire.User
		err := c.do(ctx, http.MethodGet, userPath(who, ""), nil, &u)
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
			return u, err
		}
	}
	key := accounts.UsernameKey(who)
	if key == "" {
		return apiwire.User{}, fail("give a username or a user id")
	}
	// Usernames sort by their lower-case form, so an exact match is among
	// the first that start with it.
	q := url.Values{"prefix": {who}, "limit": {"20"}}
	var page apiwire.UserList
	if err := c.do(ctx, http.MethodGet, "/v1/admin/users?"+q.Encode(), nil, &page); err != nil {
		return apiwire.User{}, err
	}
	for _, u := range page.Users {
		if accounts.UsernameKey(u.Username) == key {
			return u, nil
		}
	}
	return apiwire.User{}, fail("no user %q in %s (see `libaccounts users list --prefix %s`)", who, c.sess.Tenant, shellQuote(who))
}

func (a *app) cmdUsersList(ctx context.Context, args []string) error {
	var prefix, email, barcode, primaryID, role, status, cursor string
	var noRole bool
	var limit int
	fs, _, c, err := a.staffFlags("users list", usersUsage, args, nil, func(fs *flag.FlagSet) {
		fs.StringVar(&prefix, "prefix", "", "usernames starting with this")
		fs.StringVar(&email, "email", "", "exact e-mail address")
		fs.StringVar(&barcode, "barcode", "", "exact barcode")
		fs.StringVar(&primaryID, "primary-id", "", "exact primary ID")
		fs.StringVar(&role, "role", "", "users holding this role")
		fs.BoolVar(&noRole, "no-role", false, "end users only (no role)")
		fs.StringVar(&status, "status", "", "active or inactive")
		fs.IntVar(&limit, "limit", 50, "how many users to show (1-200)")
		fs.StringVar(&cursor, "cursor", "", "continue where an earlier list stopped")
	})
	if err != nil {
		return err
	}
	switch {
	case limit < 1 || limit > 200:
		return fail("--limit must be between 1 and 200 (got %d)", limit)
	case role != "" && noRole:
		return fail("--role and --no-role exclude each other")
	case status != "" && status != string(accounts.StatusActive) && status != string(accounts.StatusInactive):
		return fail("--status must be active or inactive (got %q)", status)
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	for k, v := range map[string]string{"prefix": prefix, "email": email, "barcode": barcode, "primaryId": primaryID, "role": role, "status": status, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if noRole {
		q.Set("noRole", "true")
	}
	var page apiwire.UserList
	if err := c.do(ctx, http.MethodGet, "/v1/admin/users?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	if len(page.Users) == 0 {
		fmt.Fprintln(a.stdout, "no users")
		return nil
	}
	t := newTable(a.stdout, "USERNAME", "STATUS", "ROLES", "EMAIL", "BARCODE", "PRIMARY ID", "LAST LOGIN", "ID")
	for _, u := range page.Users {
		t.row(u.Username, u.Status, list(u.Roles), u.Email, u.Barcode, u.PrimaryID, a.whenPtr(u.LastLoginAt), u.ID)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintln(a.stderr, moreHint("users list", fs, page.NextCursor))
	}
	return nil
}

func (a *app) cmdUsersGet(ctx context.Context, args []string) error {
	_, pos, c, err := a.staffFlags("users get", usersUsage, args, []string{"USER"}, nil)
	if err != nil {
		return err
	}
	u, err := a.findUser(ctx, c, pos[0])
	if err != nil {
		return err
	}
	return a.showUser(u)
}

func (a *app) showUser(u apiwire.User) error {
	roles := list(u.Roles)
	if roles == "" {
		roles = "none (an end user)"
	}
	return fields(a.stdout,
		"username", u.Username,
		"id", u.ID,
		"status", u.Status,
		"roles", roles,
		"email", u.Email,
		"barcode", u.Barcode,
		"primary ID", u.PrimaryID,
		"queues", list(u.Queues),
		"canned message pools", list(u.CannedMessagePools),
		"must change password", yesNo(u.MustChangePassword),
		"sign-in lock", a.lockText(u),
		"last login", a.whenPtr(u.LastLoginAt),
		"created", a.when(u.CreatedAt),
		"updated", a.when(u.UpdatedAt),
		"version", strconv.FormatInt(u.Version, 10),
	)
}

func (a *app) cmdUsersCreate(ctx context.Context, args []string) error {
	var in apiwire.CreateUserRequest
	var roles, queues, pools, copyFrom string
	var pwStdin bool
	fs, pos, c, err := a.staffFlags("users create", usersUsage, args, []string{"USERNAME"}, func(fs *flag.FlagSet) {
		fs.StringVar(&in.Email, "email", "", "e-mail address")
		fs.StringVar(&in.Barcode, "barcode", "", "library card barcode")
		fs.StringVar(&in.PrimaryID, "primary-id", "", "primary ID")
		fs.StringVar(&roles, "roles", "", "comma-separated roles")
		fs.StringVar(&queues, "queues", "", "comma-separated queues")
		fs.StringVar(&pools, "canned-message-pools", "", "comma-separated canned message pools")
		fs.StringVar(&copyFrom, "copy-settings-from", "", "user whose roles, queues and pools to copy")
		fs.BoolVar(&in.GeneratePassword, "generate-password", false, "have a password generated and shown once")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	in.Username = pos[0]
	if in.GeneratePassword && pwStdin {
		return fail("give --generate-password or --password-stdin, not both")
	}
	for name, dst := range map[string]*[]string{"roles": &in.Roles, "queues": &in.Queues, "canned-message-pools": &in.CannedMessagePools} {
		if isSet(fs, name) {
			*dst = splitList(fs.Lookup(name).Value.String())
		}
	}
	if copyFrom != "" {
		from, err := a.findUser(ctx, c, copyFrom)
		if err != nil {
			return err
		}
		in.CopySettingsFrom = from.ID
	}
	if !in.GeneratePassword {
		if in.Password, err = a.newPassword(ctx, in.Username, pwStdin); err != nil {
			return err
		}
	}
	var out apiwire.CreateUserResponse
	if err := c.do(ctx, http.MethodPost, "/v1/admin/users", in, &out); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fail("user %s not created: %v", in.Username, ae)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "user %s created (id %s)\n", out.User.Username, out.User.ID)
	if out.GeneratedPassword != "" {
		fmt.Fprintf(a.stdout, "password (shown once, store it now): %s\n", out.GeneratedPassword)
	}
	if out.User.MustChangePassword {
		fmt.Fprintln(a.stdout, "they must change the password at their first sign-in")
	}
	return nil
}

// newPassword reads the password staff choose for a new user: twice on a
// terminal, as they would type it in a form, else one line.
func (a *app) newPassword(ctx context.Context, username string, fromStdin bool) (string, error) {
	if fromStdin || !a.stdinTTY {
		pw, err := a.readLine(ctx)
		if errors.Is(err, io.EOF) || (err == nil && pw == "") {
			return "", fail("no password on standard input (or use --generate-password)")
		}
		return pw, err
	}
	pw, err := a.readSecret(ctx, fmt.Sprintf("Password for %s: ", username), "password")
	if err != nil {
		return "", err
	}
	again, err := a.readSecret(ctx, "Password again: ", "repeated password")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", fail("the two passwords differ; nothing was created")
	}
	return pw, nil
}

func (a *app) cmdUsersStatus(ctx context.Context, args []string, action string) error {
	_, pos, c, err := a.staffFlags("users "+action, usersUsage, args, []string{"USER"}, nil)
	if err != nil {
		return err
	}
	u, err := a.findUser(ctx, c, pos[0])
	if err != nil {
		return err
	}
	var out apiwire.UserStatusResponse
	if err := c.do(ctx, http.MethodPost, userPath(u.ID, action), nil, &out); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fail("user %s not %sd: %v", u.Username, action, ae)
		}
		return err
	}
	if action == "deactivate" {
		fmt.Fprintf(a.stdout, "user %s deactivated: they cannot sign in, and their sessions ended; `libaccounts users reactivate %s` undoes it\n", u.Username, shellQuote(u.Username))
		return nil
	}
	fmt.Fprintf(a.stdout, "user %s reactivated: they can sign in again\n", u.Username)
	return nil
}

// lockText says whether failed sign-ins lock the user, and for how long.
func (a *app) lockText(u apiwire.User) string {
	switch {
	case u.LockedUntil != nil && u.LockedUntil.Year() == 9999:
		return fmt.Sprintf("locked until unlocked (%d failed sign-ins in a row)", u.FailedLogins)
	case u.LockedUntil != nil:
		return fmt.Sprintf("locked until %s (%d failed sign-ins in a row)", a.when(*u.LockedUntil), u.FailedLogins)
	case u.FailedLogins > 0:
		return fmt.Sprintf("not locked (%d failed sign-ins in a row)", u.FailedLogins)
	}
	return "not locked"
}

func (a *app) cmdUsersUnlock(ctx context.Context, args []string) error {
	_, pos, c, err := a.staffFlags("users unlock", usersUsage, args, []string{"USER"}, nil)
	if err != nil {
		return err
	}
	u, err := a.findUser(ctx, c, pos[0])
	if err != nil {
		return err
	}
	var out apiwire.UserStatusResponse
	if err := c.do(ctx, http.MethodPost, userPath(u.ID, "unlock"), nil, &out); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fail("user %s not unlocked: %v", u.Username, ae)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "user %s unlocked: they can sign in again, and their failed sign-ins are forgotten\n", u.Username)
	return nil
}

func (a *app) cmdUsersDelete(ctx context.Context, args []string) error {
	var confirm string
	_, pos, c, err := a.staffFlags("users delete", usersUsage, args, []string{"USER"}, func(fs *flag.FlagSet) {
		fs.StringVar(&confirm, "confirm", "", "the username again: deleting cannot be undone")
	})
	if err != nil {
		return err
	}
	if confirm == "" {
		return fail("deleting %s cannot be undone: repeat the username with --confirm USERNAME, or use `libaccounts users deactivate %s`, which can be", pos[0], shellQuote(pos[0]))
	}
	u, err := a.findUser(ctx, c, pos[0])
	if err != nil {
		return err
	}
	// The API compares confirm with the username itself: the CLI does not
	// fill it in for the user.
	if err := c.do(ctx, http.MethodDelete, userPath(u.ID, "")+"?"+url.Values{"confirm": {confirm}}.Encode(), nil, nil); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fail("user %s not deleted: %v", u.Username, ae)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "user %s deleted for good (id %s)\n", u.Username, u.ID)
	return nil
}
