// Package passhash turns passwords into argon2id PHC strings and checks them.
//
// New hashes are argon2id (RFC 9106) in the PHC string format written by the
// reference implementation (phc-winner-argon2):
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// where salt and hash are standard base64 without padding. Verify also accepts
// bcrypt hashes ($2a$, $2b$, $2y$) so that libraries can bring the password
// hashes of their old systems along; those always report needsRehash, so the
// login that proves the password replaces them with argon2id.
//
// Stored hashes are treated as untrusted input: their cost parameters are
// bounded before any work is done, so a planted or corrupted hash cannot make
// a Lambda allocate gigabytes or spin for minutes.
package passhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// MaxPasswordBytes is the largest plaintext that ever reaches the KDF.
//
// Argon2 pre-hashes the password with BLAKE2b, so the cost of a long
// password is small per byte, but it is still work an unauthenticated caller
// chooses; bcrypt silently ignores everything after 72 bytes. Capping the
// input keeps the cost of a login attempt bounded and independent of what a
// client sends. The password policy (accounts.PasswordPolicy) allows far
// less than this (1024 bytes), so no real password is affected: Hash refuses a
// longer one and Verify simply reports no match.
const MaxPasswordBytes = 4096

// Bounds on parameters, both for our own configuration and for parameters
// read out of stored hashes.
const (
	maxMemoryKiB  = 4 << 20 // 4 GiB expressed in KiB
	maxTime       = 100
	maxThreads    = 255
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	maxEncodedLen = 512 // far above any valid encoding (about 200 bytes at most)

	// bcrypt costs above this would take many seconds per attempt (cost 16 is
	// about 5 s); no real system uses them, so a higher cost is a planted hash.
	maxBcryptCost = 16
	bcryptLen     = 60
)

const (
	envMemory  = "ARGON2_MEMORY_KIB"
	envTime    = "ARGON2_TIME"
	envThreads = "ARGON2_THREADS"
)

// ErrMalformedHash is in the chain of every error Verify returns: the stored
// encoding is not something this package can (or is willing to) check. The
// returned errors carry code accounts.CodeInternal: a bad stored hash is never
// the caller's fault, and its detail belongs in the log only.
var ErrMalformedHash = errors.New("passhash: malformed or unsupported password hash")

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB uint32 // m, in KiB
	Time      uint32 // t, number of passes
	Threads   uint8  // p, degree of parallelism
	SaltLen   uint32 // bytes of random salt
	KeyLen    uint32 // bytes of derived key
}

// DefaultParams are the OWASP Password Storage Cheat Sheet's argon2id
// minimum: 19 MiB of memory, 2 passes, 1 thread, 16-byte salt, 32-byte key.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// ParamsFromEnv reads ARGON2_MEMORY_KIB, ARGON2_TIME and ARGON2_THREADS via
// getenv (os.Getenv when nil). An unset (empty) variable keeps the default.
// Values that are not decimal integers, or that make no sense (time 0,
// threads 0, memory below 8 KiB per thread or above 4 GiB, time above 100),
// are refused with an error naming the variable.
func ParamsFromEnv(getenv func(string) string) (Params, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	p := DefaultParams()
	if v := getenv(envMemory); v != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return Params{}, accounts.FieldError(envMemory, "%s must be a whole number of KiB between 8 and %d, got %q", envMemory, maxMemoryKiB, v)
		}
		p.MemoryKiB = uint32(n)
	}
	if v := getenv(envTime); v != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return Params{}, accounts.FieldError(envTime, "%s must be a whole number between 1 and %d, got %q", envTime, maxTime, v)
		}
		p.Time = uint32(n)
	}
	if v := getenv(envThreads); v != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8)
		if err != nil {
			return Params{}, accounts.FieldError(envThreads, "%s must be a whole number between 1 and %d, got %q", envThreads, maxThreads, v)
		}
		p.Threads = uint8(n)
	}
	if err := p.validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// validate checks p against the same bounds Verify applies to stored
// hashes, so that every hash we write can be read back.
func (p Params) validate() *accounts.Error {
	if err := checkCost(p.MemoryKiB, p.Time, uint32(p.Threads)); err != nil {
		return err
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		return accounts.FieldError("saltLen", "salt length must be between %d and %d bytes, got %d", minSaltLen, maxSaltLen, p.SaltLen)
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return accounts.FieldError("keyLen", "key length must be between %d and %d bytes, got %d", minKeyLen, maxKeyLen, p.KeyLen)
	}
	return nil
}

// checkCost bounds argon2 cost parameters, named by their environment
// variables.
func checkCost(memoryKiB, time, threads uint32) *accounts.Error {
	switch {
	case time == 0 || time > maxTime:
		return accounts.FieldError(envTime, "%s must be between 1 and %d, got %d", envTime, maxTime, time)
	case threads == 0 || threads > maxThreads:
		return accounts.FieldError(envThreads, "%s must be between 1 and %d, got %d", envThreads, maxThreads, threads)
	case uint64(memoryKiB) < 8*uint64(threads):
		return accounts.FieldError(envMemory, "%s must be at least 8 KiB per thread (%d KiB for %d threads), got %d", envMemory, 8*threads, threads, memoryKiB)
	case memoryKiB > maxMemoryKiB:
		return accounts.FieldError(envMemory, "%s must be at most %d KiB (4 GiB), got %d", envMemory, maxMemoryKiB, memoryKiB)
	}
	return nil
}

// Hasher hashes and verifies passwords with fixed argon2id parameters. It is
// safe for concurrent use. Build it with New.
type Hasher struct {
	p Params

	dummyOnce sync.Once
	dummy     string
}

var _ accounts.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher that writes hashes with p. Parameters are not
// checked here; Hash returns an error if they are out of bounds (get them
// from DefaultParams or ParamsFromEnv to be sure).
func New(p Params) *Hasher { return &Hasher{p: p} }

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.p }

// Hash returns the argon2id PHC string of password with a fresh random salt.
// A password over MaxPasswordBytes is refused (code invalid, field
// "password").
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", accounts.FieldError("password", "password must be at most %d bytes", MaxPasswordBytes)
	}
	if err := h.p.validate(); err != nil {
		return "", accounts.Internal(fmt.Errorf("passhash: invalid hasher parameters: %w", err))
	}
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", accounts.Internal(fmt.Errorf("passhash: reading salt: %w", err))
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, h.p.KeyLen)
	return encodePHC(h.p.MemoryKiB, h.p.Time, h.p.Threads, salt, key), nil
}

func encodePHC(m, t uint32, p uint8, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// Verify reports whether password matches encoded, an argon2id PHC string or
// a bcrypt hash. needsRehash is true only together with ok, when encoded was
// made with other argon2id parameters (memory, time, threads, key or salt
// length) than h's, or with bcrypt: the caller should then store
// h.Hash(password). err is non-nil only when encoded cannot be parsed, uses
// an unsupported algorithm or version, or carries cost parameters outside
// sane bounds; it wraps ErrMalformedHash and has code internal. A password
// longer than MaxPasswordBytes never matches and is not an error.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	if err := checkBytes(encoded); err != nil {
		return false, false, err
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(password, encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return verifyBcrypt(password, encoded)
	default:
		return false, false, malformed("unsupported algorithm")
	}
}

// CheckEncoded reports whether encoded is a hash Verify can use, with the
// same checks Verify makes, but without running the KDF: imports of hashes
// migrated from other systems are checked row by row with it. It also
// refuses a readable hash below the import floor (bcrypt cost below 10,
// argon2id below OWASP's minimums) with a CodeInvalid error that says why;
// a malformed one is CodeInternal, as from Verify.
func (h *Hasher) CheckEncoded(encoded string) error {
	if err := checkBytes(encoded); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		a, err := parseArgon2id(encoded)
		if err != nil {
			return err
		}
		return argon2idFloor(a.memoryKiB, a.time)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if err := checkBcrypt(encoded); err != nil {
			return err
		}
		if cost := int(encoded[4]-'0')*10 + int(encoded[5]-'0'); cost < MinImportBcryptCost {
			return accounts.FieldError("passwordHash", "bcrypt cost %d is below the floor of %d: such a hash is cheap to crack; have the user set a new password instead", cost, MinImportBcryptCost)
		}
		return nil
	}
	return malformed("unsupported algorithm")
}

// MinImportBcryptCost is the lowest bcrypt cost an import accepts (OWASP's
// minimum for bcrypt). Verify still reads lower costs already stored.
const MinImportBcryptCost = 10

// argon2idMinimums are the OWASP Password Storage Cheat Sheet's equivalent
// argon2id minimums (memory in KiB, passes), for one thread; more threads
// do not lower the cost of an attack.
var argon2idMinimums = []struct{ memoryKiB, time uint32 }{
	{47104, 1}, {19456, 2}, {12288, 3}, {9216, 4}, {7168, 5},
}

// argon2idFloor refuses an imported argon2id hash weaker than every one of
// OWASP's minimum configurations.
func argon2idFloor(memoryKiB, time uint32) error {
	for _, m := range argon2idMinimums {
		if memoryKiB >= m.memoryKiB && time >= m.time {
			return nil
		}
	}
	return accounts.FieldError("passwordHash", "argon2id with m=%d KiB and t=%d is below OWASP's minimum (m=19456 KiB with t=2, or an equivalent such as m=47104 with t=1 or m=12288 with t=3); have the user set a new password instead", memoryKiB, time)
}

// checkBytes bounds the encoding's size and alphabet. Only printable ASCII
// appears in either format; refusing anything else up front also stops the
// base64 decoder from skipping \r and \n.
func checkBytes(encoded string) error {
	if len(encoded) > maxEncodedLen {
		return malformed("encoding is %d bytes long", len(encoded))
	}
	for i := 0; i < len(encoded); i++ {
		if c := encoded[i]; c < 0x21 || c > 0x7e {
			return malformed("byte %d is not printable ASCII", i)
		}
	}
	return nil
}

func (h *Hasher) verifyArgon2id(password, encoded string) (ok, needsRehash bool, err error) {
	a, err := parseArgon2id(encoded)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	key := argon2.IDKey([]byte(password), a.salt, a.time, a.memoryKiB, a.threads, uint32(len(a.key)))
	if subtle.ConstantTimeCompare(key, a.key) != 1 {
		return false, false, nil
	}
	needsRehash = a.memoryKiB != h.p.MemoryKiB ||
		a.time != h.p.Time ||
		a.threads != h.p.Threads ||
		uint32(len(a.key)) != h.p.KeyLen ||
		uint32(len(a.salt)) != h.p.SaltLen
	return true, needsRehash, nil
}

type argon2idHash struct {
	memoryKiB, time uint32
	threads         uint8
	salt, key       []byte
}

// parseArgon2id reads "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" exactly as the
// reference implementation writes it: fields in that order, decimal numbers
// without signs or leading zeros, unpadded standard base64 with zero
// trailing bits. Optional PHC fields (keyid, data) are not supported.
func parseArgon2id(encoded string) (*argon2idHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, malformed("argon2id: want 6 '$'-separated fields")
	}
	if parts[2] != "v=19" {
		return nil, malformed("argon2id: unsupported version field")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return nil, malformed("argon2id: want parameters m,t,p")
	}
	var nums [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(kv[i], name)
		if !found {
			return nil, malformed("argon2id: parameter %d is not %q", i+1, name)
		}
		n, ok := parseDecimal(digits)
		if !ok {
			return nil, malformed("argon2id: parameter %s is not a decimal number", name)
		}
		nums[i] = n
	}
	m, t, p := nums[0], nums[1], nums[2]
	if err := checkCost(m, t, p); err != nil {
		return nil, malformed("argon2id: cost out of bounds: %s", err.Message)
	}
	salt, err := decodeB64(parts[4], minSaltLen, maxSaltLen)
	if err != nil {
		return nil, malformed("argon2id: salt: %v", err)
	}
	key, err := decodeB64(parts[5], minKeyLen, maxKeyLen)
	if err != nil {
		return nil, malformed("argon2id: hash: %v", err)
	}
	return &argon2idHash{memoryKiB: m, time: t, threads: uint8(p), salt: salt, key: key}, nil
}

// parseDecimal accepts 1 to 10 ASCII digits without a leading zero and
// returns their value if it fits in 32 bits.
func parseDecimal(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

var b64 = base64.RawStdEncoding.Strict()

func decodeB64(s string, minLen, maxLen int) ([]byte, error) {
	if len(s) < b64.EncodedLen(minLen) || len(s) > b64.EncodedLen(maxLen) {
		return nil, fmt.Errorf("encoded length %d out of range", len(s))
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid base64")
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, fmt.Errorf("%d bytes out of range %d..%d", len(b), minLen, maxLen)
	}
	return b, nil
}

// verifyBcrypt checks a "$2a$", "$2b$" or "$2y$" hash. Its shape and cost are
// checked first, so that only well-formed hashes of bounded cost reach
// bcrypt. A match always needs a rehash: bcrypt is only read, never written.
func verifyBcrypt(password, encoded string) (ok, needsRehash bool, err error) {
	if err := checkBcrypt(encoded); err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, malformed("bcrypt: %v", err)
	}
}

// checkBcrypt validates a bcrypt hash's layout and cost without running it.
func checkBcrypt(encoded string) error {
	// $2b$CC$ + 22 characters of salt + 31 of hash.
	if len(encoded) != bcryptLen || encoded[6] != '$' {
		return malformed("bcrypt: wrong length or layout")
	}
	c1, c2 := encoded[4], encoded[5]
	if c1 < '0' || c1 > '9' || c2 < '0' || c2 > '9' {
		return malformed("bcrypt: cost is not two digits")
	}
	cost := int(c1-'0')*10 + int(c2-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return malformed("bcrypt: cost %d out of range %d..%d", cost, bcrypt.MinCost, maxBcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if !isBcryptB64(encoded[i]) {
			return malformed("bcrypt: invalid character in salt or hash")
		}
	}
	return nil
}

func isBcryptB64(c byte) bool {
	return c == '.' || c == '/' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

func malformed(format string, args ...any) error {
	return accounts.Internal(fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...)))
}

// DummyVerify does the work of a Verify that fails, with h's parameters, so
// that a login for an unknown username takes as long as one for a known
// username with a current hash. It verifies password against a fixed hash
// that is built once, lazily, from a random salt and a random key: no password
// matches it, and building it costs no KDF run, so the first call is not
// slower than later ones. If h's parameters are out of bounds (Hash would
// fail), the defaults are used instead.
//
// A password longer than MaxPasswordBytes returns at once, as Verify does.
func (h *Hasher) DummyVerify(password string) {
	h.dummyOnce.Do(func() {
		p := h.p
		if p.validate() != nil {
			p = DefaultParams()
		}
		salt := make([]byte, p.SaltLen)
		key := make([]byte, p.KeyLen)
		_, _ = rand.Read(salt) // never fails since Go 1.24; a zero salt would do anyway
		_, _ = rand.Read(key)
		h.dummy = encodePHC(p.MemoryKiB, p.Time, p.Threads, salt, key)
	})
	_, _, _ = h.Verify(password, h.dummy)
}
