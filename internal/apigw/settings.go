package apigw

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// settingsView is a tenant's settings as staff see them.
type (
	settingsView       = apiwire.Settings
	passwordPolicyView = apiwire.PasswordPolicy
)

func settingsOf(t accounts.Tenant) settingsView {
	v := settingsView{
		Tenant: t.ID, Name: t.Name,
		PasswordPolicy:              passwordPolicyView{MinLength: t.Settings.PasswordPolicy.MinLength},
		UsernameFormat:              string(t.Settings.UsernameFormat),
		StaffPasswordsMustChange:    t.Settings.StaffPasswordsMustChange,
		ImportedPasswordsMustChange: t.Settings.ImportedPasswordsMustChange,
		ResetLinkTTL:                shortDuration(time.Duration(t.Settings.ResetLinkTTL)),
		RecoveryLinkTTL:             shortDuration(time.Duration(t.Settings.RecoveryLinkTTL)),
		SenderName:                  t.Settings.SenderName,
		LinkingDisabled:             t.Settings.LinkingDisabled,
		RenewalLimit:                t.Settings.RenewalLimit,
		RenewalWindowDays:           t.Settings.RenewalWindowDays,
		Version:                     t.Version,
	}
	if t.Settings.UsernameFormat != "" {
		v.UsernameFormatExample = t.Settings.UsernameFormat.Example()
	}
	return v
}

// shortDuration writes 24h rather than Go's 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// GetSettings is GET /v1/admin/settings.
func (a *API) GetSettings(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		t, err := a.svc.Settings(ctx, c)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: settingsOf(t), header: etag(t.Version)}, nil
	})
}

// settingsPatchRequest changes some settings; absent or null leaves one as
// it is.
type settingsPatchRequest = apiwire.SettingsPatch

// UpdateSettings is PATCH /v1/admin/settings. The version (If-Match or
// "version") is optional here: without it the last write wins.
func (a *API) UpdateSettings(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in settingsPatchRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		version, err := versionOf(req, in.Version)
		if err != nil {
			return reply{}, err
		}
		patch := accounts.SettingsPatch{UsernameFormat: in.UsernameFormat, StaffPasswordsMustChange: in.StaffPasswordsMustChange, ImportedPasswordsMustChange: in.ImportedPasswordsMustChange, SenderName: in.SenderName}
		if in.PasswordPolicy != nil {
			patch.PasswordMinLength = in.PasswordPolicy.MinLength
		}
		if in.ResetLinkTTL != nil {
			d, err := time.ParseDuration(strings.TrimSpace(*in.ResetLinkTTL))
			if err != nil {
				return reply{}, accounts.FieldError("resetLinkTtl", "resetLinkTtl must be a duration such as 30m or 24h")
			}
			ttl := accounts.Duration(d)
			patch.ResetLinkTTL = &ttl
		}
		if in.RecoveryLinkTTL != nil {
			d, err := time.ParseDuration(strings.TrimSpace(*in.RecoveryLinkTTL))
			if err != nil {
				return reply{}, accounts.FieldError("recoveryLinkTtl", "recoveryLinkTtl must be a duration such as 30m or 1h")
			}
			ttl := accounts.Duration(d)
			patch.RecoveryLinkTTL = &ttl
		}
		patch.LinkingDisabled, patch.RenewalLimit, patch.RenewalWindowDays = in.LinkingDisabled, in.RenewalLimit, in.RenewalWindowDays
		t, err := a.svc.UpdateSettings(ctx, c, version, patch)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: settingsOf(t), header: etag(t.Version)}, nil
	})
}
