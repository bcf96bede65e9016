package accounts

// PasswordHasher turns passwords into PHC strings and checks them. The
// adapter (internal/passhash) owns algorithms and parameters; the domain only
// learns whether a stored hash should be upgraded.
type PasswordHasher interface {
	// Hash returns a PHC string for password with the current parameters.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// was made with other parameters or another algorithm and should be
	// replaced by Hash(password) now that the plaintext is at hand. err is
	// non-nil only when encoded cannot be parsed.
	Verify(password, encoded string) (ok, needsRehash bool, err error)
	// DummyVerify costs what a real Verify costs, so that a login for an
	// unknown username takes as long as one for a known username.
	DummyVerify(password string)
	// CheckEncoded reports whether encoded is a hash Verify can use (an
	// argon2id PHC string or a bcrypt hash with sane parameters), without
	// the cost of a verification. Imports of migrated hashes use it.
	CheckEncoded(encoded string) error
}
