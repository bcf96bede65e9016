package apigw

import (
	"errors"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// The domain's messages speak of actions ("change your password first",
// "send the version you last read"); the HTTP adapter adds the routes and
// headers that do them over HTTP.

// passwordChangeHint is added to any refusal made while the caller's
// password change is pending.
const passwordChangeHint = " (POST /v1/me/password)"

// publicMessage is what the caller is shown for err over HTTP.
func publicMessage(err error) string {
	msg := accounts.PublicMessage(err)
	if errors.Is(err, accounts.ErrPasswordChangeRequired) {
		msg += passwordChangeHint
	}
	return msg
}

// withHint adds hint to the message of err when err is a coded error of
// code about field; anything else passes unchanged.
func withHint(err error, code accounts.Code, field, hint string) error {
	var e *accounts.Error
	if !errors.As(err, &e) || e.Code != code || e.Field != field {
		return err
	}
	c := *e
	c.Message += hint
	return &c
}
