package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const settingsUsage = `usage:
  libaccounts settings get
  libaccounts settings set [--password-min-length N] [--username-format F]
                           [--staff-passwords-must-change=true|false]
                           [--imported-passwords-must-change=true|false]
                           [--reset-link-ttl D] [--sender-name NAME]

set changes only the settings given and shows them all afterwards.
  --password-min-length N   the shortest password the library accepts
  --username-format F       e.g. kpu-{first}-{last1}; "" allows any username
  --staff-passwords-must-change=BOOL     a password staff set must be changed at first sign-in
  --imported-passwords-must-change=BOOL  so must a password from an import file
  --reset-link-ttl D        how long a reset link works, e.g. 30m or 24h
  --sender-name NAME        the name mails to users come from
Each takes --api URL, which must be the session's API (the default).
`

func (a *app) cmdSettings(ctx context.Context, args []string) error {
	return a.subcommands("settings", settingsUsage, args, map[string]func([]string) error{
		"get": func(args []string) error { return a.cmdSettingsGet(ctx, args) },
		"set": func(args []string) error { return a.cmdSettingsSet(ctx, args) },
	})
}

func (a *app) cmdSettingsGet(ctx context.Context, args []string) error {
	_, _, c, err := a.staffFlags("settings get", settingsUsage, args, nil, nil)
	if err != nil {
		return err
	}
	var s apiwire.Settings
	if err := c.do(ctx, http.MethodGet, "/v1/admin/settings", nil, &s); err != nil {
		return err
	}
	return a.showSettings(s)
}

func (a *app) showSettings(s apiwire.Settings) error {
	format := s.UsernameFormat
	switch {
	case format == "":
		format = "any"
	case s.UsernameFormatExample != "":
		format += " (e.g. " + s.UsernameFormatExample + ")"
	}
	return fields(a.stdout,
		"library", s.Tenant+" ("+s.Name+")",
		"password min length", strconv.Itoa(s.PasswordPolicy.MinLength),
		"username format", format,
		"staff passwords must change", yesNo(s.StaffPasswordsMustChange),
		"imported passwords must change", yesNo(s.ImportedPasswordsMustChange),
		"reset link lasts", s.ResetLinkTTL,
		"sender name", s.SenderName,
		"version", strconv.FormatInt(s.Version, 10),
	)
}

func (a *app) cmdSettingsSet(ctx context.Context, args []string) error {
	var minLength int
	var format, ttl, sender string
	var staffChange, importedChange bool
	fs, _, c, err := a.staffFlags("settings set", settingsUsage, args, nil, func(fs *flag.FlagSet) {
		fs.IntVar(&minLength, "password-min-length", 0, "shortest password accepted")
		fs.StringVar(&format, "username-format", "", "username format")
		fs.BoolVar(&staffChange, "staff-passwords-must-change", false, "staff-set passwords must be changed")
		fs.BoolVar(&importedChange, "imported-passwords-must-change", false, "imported passwords must be changed")
		fs.StringVar(&ttl, "reset-link-ttl", "", "reset link lifetime, e.g. 24h")
		fs.StringVar(&sender, "sender-name", "", "name mails come from")
	})
	if err != nil {
		return err
	}
	// Without a version the last write wins, which is what one staff
	// member changing one setting from a terminal wants.
	var patch apiwire.SettingsPatch
	given := false
	fs.Visit(func(f *flag.Flag) {
		given = given || f.Name != "api"
		switch f.Name {
		case "password-min-length":
			patch.PasswordPolicy = &apiwire.PasswordPolicyPatch{MinLength: &minLength}
		case "username-format":
			patch.UsernameFormat = &format
		case "staff-passwords-must-change":
			patch.StaffPasswordsMustChange = &staffChange
		case "imported-passwords-must-change":
			patch.ImportedPasswordsMustChange = &importedChange
		case "reset-link-ttl":
			patch.ResetLinkTTL = &ttl
		case "sender-name":
			patch.SenderName = &sender
		}
	})
	if !given {
		return fail("settings set needs at least one setting to change; see `libaccounts settings --help`")
	}
	var s apiwire.Settings
	if err := c.do(ctx, http.MethodPatch, "/v1/admin/settings", patch, &s); err != nil {
		return fmt.Errorf("settings not changed: %w", err)
	}
	fmt.Fprintln(a.stdout, "settings changed:")
	return a.showSettings(s)
}
