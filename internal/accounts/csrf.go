package accounts

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// csrfLabel separates the anti-forgery value from every other use of the
// token (its stored id is a plain SHA-256 of it).
const csrfLabel = "libaccounts session csrf v1"

// SessionCSRF is the anti-forgery value of a browser session: an HMAC keyed
// by the session token, so it needs no storage, dies with the session, and
// tells nothing about the token to a script that can read it.
func SessionCSRF(rawToken string) string {
	m := hmac.New(sha256.New, []byte(rawToken))
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ValidSessionCSRF reports, in constant time, whether got is the
// anti-forgery value of rawToken.
func ValidSessionCSRF(rawToken, got string) bool {
	return subtle.ConstantTimeCompare([]byte(SessionCSRF(rawToken)), []byte(got)) == 1
}
