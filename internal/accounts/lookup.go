package accounts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// fallbackLookupKey is used only when no key is configured; counters keyed
// with it are as good as the key is secret, i.e. they throttle but can be
// linked to names by anyone who reads this file.
var fallbackLookupKey = []byte("libaccounts-lookup-key-unset")

// lookupHash is the keyed hash (HMAC-SHA-256, hex) of what a counter is
// about: purpose ("login", "recover-id", "recover-src", ...), the tenant and
// the value, case-folded and NFKC-normalised so that "Ann" and "ann" share a
// counter. The raw value never reaches the store.
func (s *Service) lookupHash(purpose, tenantID, value string) string {
	key := s.cfg.LookupKey
	if len(key) == 0 {
		key = fallbackLookupKey
	}
	m := hmac.New(sha256.New, key)
	for _, part := range []string{purpose, tenantID, foldLookup(value)} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

func foldLookup(v string) string { return UsernameKey(v) }
