package passhash_test

import (
	"errors"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// fastParams keep the tests quick; only the tests about defaults use the
// real (19 MiB, 2 pass) parameters.
var fastParams = passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newFast(tb testing.TB) *passhash.Hasher {
	tb.Helper()
	return passhash.New(fastParams)
}

// mustHash hashes password or fails the test.
func mustHash(tb testing.TB, h *passhash.Hasher, password string) string {
	tb.Helper()
	encoded, err := h.Hash(password)
	if err != nil {
		tb.Fatalf("Hash(%q): %v", password, err)
	}
	return encoded
}

// assertVerify checks Verify's three results.
func assertVerify(tb testing.TB, h *passhash.Hasher, password, encoded string, wantOK, wantRehash bool) {
	tb.Helper()
	ok, rehash, err := h.Verify(password, encoded)
	if err != nil {
		tb.Fatalf("Verify(%q, %q): unexpected error %v", password, encoded, err)
	}
	if ok != wantOK || rehash != wantRehash {
		tb.Errorf("Verify(%q, %q) = ok %v, needsRehash %v; want %v, %v", password, encoded, ok, rehash, wantOK, wantRehash)
	}
}

// assertMalformed checks that Verify refuses encoded with an error in the
// ErrMalformedHash chain, coded internal (a bad stored hash is not the
// caller's fault and its detail must not be shown), and reports no match.
func assertMalformed(tb testing.TB, h *passhash.Hasher, encoded string) {
	tb.Helper()
	ok, rehash, err := h.Verify("password", encoded)
	if err == nil {
		tb.Fatalf("Verify(%q) error = nil, want malformed", encoded)
	}
	if !errors.Is(err, passhash.ErrMalformedHash) {
		tb.Errorf("Verify(%q) error %v is not ErrMalformedHash", encoded, err)
	}
	if code := accounts.ErrorCode(err); code != accounts.CodeInternal {
		tb.Errorf("Verify(%q) error code = %q, want %q", encoded, code, accounts.CodeInternal)
	}
	if ok || rehash {
		tb.Errorf("Verify(%q) = ok %v, needsRehash %v alongside an error; want false, false", encoded, ok, rehash)
	}
}

func TestRoundTrip(t *testing.T) {
	h := newFast(t)
	for _, pw := range []string{
		"correct horse battery staple",
		"",                 // the hasher does not judge; the policy does
		"Пароль 🐉 漢字 hieß", // any UTF-8
		"nul\x00inside",    // bytes are bytes
		strings.Repeat("x", passhash.MaxPasswordBytes), // the longest accepted
	} {
		encoded := mustHash(t, h, pw)
		assertVerify(t, h, pw, encoded, true, false)
	}
}

func TestWrongPassword(t *testing.T) {
	h := newFast(t)
	encoded := mustHash(t, h, "correct horse battery staple")
	for _, pw := range []string{
		"",
		"correct horse battery stapl",
		"correct horse battery staple ",
		"Correct horse battery staple",
	} {
		// A wrong password must never ask for a rehash: a caller that
		// rehashed on it would replace the user's password.
		assertVerify(t, h, pw, encoded, false, false)
	}
}

// The exact shape the reference implementation writes, so that other
// argon2 libraries can read our hashes and we can read theirs.
var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestPHCFormat(t *testing.T) {
	tests := []struct {
		name        string
		params      passhash.Params
		wantPrefix  string
		wantSaltB64 int // unpadded base64 length of the salt
		wantHashB64 int
	}{
		{"fast", fastParams, "$argon2id$v=19$m=64,t=1,p=1$", 22, 43},
		// The default parameters, as the OWASP cheat sheet gives them.
		{"default", passhash.DefaultParams(), "$argon2id$v=19$m=19456,t=2,p=1$", 22, 43},
		{"other lengths", passhash.Params{MemoryKiB: 64, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 64}, "$argon2id$v=19$m=64,t=1,p=2$", 11, 86},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := mustHash(t, passhash.New(tt.params), "pw")
			m := phcPattern.FindStringSubmatch(encoded)
			if m == nil {
				t.Fatalf("%q does not match %v", encoded, phcPattern)
			}
			if !strings.HasPrefix(encoded, tt.wantPrefix) {
				t.Errorf("%q does not start with %q", encoded, tt.wantPrefix)
			}
			if len(m[4]) != tt.wantSaltB64 || len(m[5]) != tt.wantHashB64 {
				t.Errorf("%q: salt/hash base64 lengths %d/%d, want %d/%d", encoded, len(m[4]), len(m[5]), tt.wantSaltB64, tt.wantHashB64)
			}
		})
	}
	// Salts are random: the same password never hashes the same twice.
	h := newFast(t)
	if a, b := mustHash(t, h, "same"), mustHash(t, h, "same"); a == b {
		t.Errorf("two hashes of the same password are equal: %q", a)
	}
}

func TestDefaultParams(t *testing.T) {
	want := passhash.Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := passhash.DefaultParams(); got != want {
		t.Errorf("DefaultParams() = %+v, want %+v", got, want)
	}
	if got := passhash.New(want).Params(); got != want {
		t.Errorf("New(p).Params() = %+v, want %+v", got, want)
	}
}

func TestNeedsRehash(t *testing.T) {
	current := newFast(t)
	with := func(change func(*passhash.Params)) passhash.Params {
		p := fastParams
		change(&p)
		return p
	}
	tests := []struct {
		name       string
		madeWith   passhash.Params
		wantRehash bool
	}{
		{"same params", fastParams, false},
		{"memory", with(func(p *passhash.Params) { p.MemoryKiB = 128 }), true},
		{"time", with(func(p *passhash.Params) { p.Time = 2 }), true},
		{"threads", with(func(p *passhash.Params) { p.Threads = 2 }), true},
		{"key length", with(func(p *passhash.Params) { p.KeyLen = 16 }), true},
		// A shorter salt than we now use is worth replacing too.
		{"salt length", with(func(p *passhash.Params) { p.SaltLen = 8 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := mustHash(t, passhash.New(tt.madeWith), "hunter2 hunter2")
			assertVerify(t, current, "hunter2 hunter2", encoded, true, tt.wantRehash)
			// Only a proven password may trigger a rehash.
			assertVerify(t, current, "wrong", encoded, false, false)
		})
	}
}

// TestReferenceVectors verifies hashes written by the reference
// implementation (phc-winner-argon2, src/test.c; password "password", salt
// "somesalt"), i.e. PHC strings we did not produce, with other parameters.
func TestReferenceVectors(t *testing.T) {
	h := newFast(t)
	for _, encoded := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		assertVerify(t, h, "password", encoded, true, true)
		assertVerify(t, h, "passwore", encoded, false, false)
	}
}

func TestBcrypt(t *testing.T) {
	h := newFast(t)
	const pw = "legacy library password"
	hashed, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := string(hashed)
	if !strings.HasPrefix(a, "$2a$") {
		t.Fatalf("bcrypt produced %q, want a $2a$ hash", a)
	}
	// $2b$ and $2y$ are the same algorithm under other names (OpenBSD's fix
	// of a length bug, and PHP's); legacy systems store all three.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		encoded := prefix + a[4:]
		t.Run(prefix, func(t *testing.T) {
			// Every bcrypt match asks to be replaced by argon2id.
			assertVerify(t, h, pw, encoded, true, true)
			assertVerify(t, h, pw+"x", encoded, false, false)
		})
	}
	// The example from PHP's password_verify documentation: a $2y$ hash
	// from another implementation.
	assertVerify(t, h, "rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", true, true)
}

func TestMalformed(t *testing.T) {
	h := newFast(t)
	valid := mustHash(t, h, "password")
	ref := "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	bc, err := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	validBcrypt := string(bc)
	sub := func(old, new string) string { return strings.Replace(ref, old, new, 1) }
	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"plain text", "password"},
		{"only dollars", "$$$$$"},
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(valid, "argon2id", "argon2d", 1)},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"},
		{"md5 crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"},
		{"bcrypt 2x", "$2x$" + validBcrypt[4:]},
		{"version 16", sub("v=19", "v=16")},
		{"missing version", sub("$v=19", "")},
		{"missing params", sub("$m=256,t=2,p=1", "")},
		{"missing hash", strings.TrimSuffix(ref, "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")},
		{"empty hash", strings.TrimSuffix(ref, "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")},
		{"extra field", ref + "$abcd"},
		{"keyid field", sub("p=1", "p=1,keyid=abc")},
		{"params out of order", sub("m=256,t=2", "t=2,m=256")},
		{"param missing", sub("m=256,t=2,p=1", "m=256,t=2")},
		{"param not a number", sub("t=2", "t=two")},
		{"param signed", sub("t=2", "t=+2")},
		{"param leading zero", sub("t=2", "t=02")},
		{"param overflow", sub("m=256", "m=4294967296")},
		{"param huge", sub("m=256", "m=99999999999999999999")},
		{"bad base64 salt", sub("c29tZXNhbHQ", "c29t*XNhbHQ")},
		{"padded base64", sub("c29tZXNhbHQ", "c29tZXNhbHQ=")},
		{"non-zero trailing bits", sub("c29tZXNhbHQ", "c29tZXNhbHR")},
		{"bad base64 hash", sub("nf65EOgLrQMR", "nf65EOgL_QMR")},
		{"newline in base64", sub("c29tZXNh", "c29t\nZXNh")},
		{"space", " " + ref},
		{"non-ASCII", sub("c29t", "c29tü")},
		{"too long", ref + strings.Repeat("A", 600)},
		// Hostile parameters: a planted hash must not stall or exhaust a Lambda.
		{"memory over 4 GiB", sub("m=256", "m=4194305")},
		{"memory max uint32", sub("m=256", "m=4294967295")},
		{"memory below 8 per thread", sub("m=256,t=2,p=1", "m=15,t=2,p=2")},
		{"time zero", sub("t=2", "t=0")},
		{"time over 100", sub("t=2", "t=101")},
		{"threads zero", sub("p=1", "p=0")},
		{"threads over 255", sub("p=1", "p=256")},
		{"salt under 8 bytes", sub("c29tZXNhbHQ", "c29tZXNhbA")},
		{"salt over 64 bytes", sub("c29tZXNhbHQ", strings.Repeat("A", 88))},
		{"key under 16 bytes", sub("nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "nf65EOgLrQMR/uIPnA4r")},
		{"key over 64 bytes", sub("nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", strings.Repeat("A", 88))},
		// bcrypt shapes.
		{"bcrypt truncated", validBcrypt[:59]},
		{"bcrypt too long", validBcrypt + "A"},
		{"bcrypt cost 31", validBcrypt[:4] + "31" + validBcrypt[6:]},
		{"bcrypt cost 17", validBcrypt[:4] + "17" + validBcrypt[6:]},
		{"bcrypt cost 03", validBcrypt[:4] + "03" + validBcrypt[6:]},
		{"bcrypt cost signed", validBcrypt[:4] + "+9" + validBcrypt[6:]},
		{"bcrypt bad char", validBcrypt[:20] + "*" + validBcrypt[21:]},
		{"bcrypt no separator", validBcrypt[:6] + "x" + validBcrypt[7:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertMalformed(t, h, tt.encoded)
		})
	}
}

// A password over MaxPasswordBytes never reaches the KDF: Hash refuses it
// as invalid input and Verify reports no match without an error.
func TestPasswordTooLong(t *testing.T) {
	h := newFast(t)
	maxPw := strings.Repeat("a", passhash.MaxPasswordBytes)
	tooLong := maxPw + "a"

	if _, err := h.Hash(tooLong); !accounts.IsCode(err, accounts.CodeInvalid) || accounts.PublicField(err) != "password" {
		t.Errorf("Hash(%d bytes) error = %v, want invalid on field password", len(tooLong), err)
	}
	encoded := mustHash(t, h, maxPw)
	assertVerify(t, h, tooLong, encoded, false, false)

	bc, err := bcrypt.GenerateFromPassword([]byte(maxPw[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// bcrypt itself would ignore everything past 72 bytes and say yes.
	assertVerify(t, h, tooLong, string(bc), false, false)
}

// Hash refuses parameters it could not verify later, rather than writing
// hashes that Verify would call malformed.
func TestHashInvalidParams(t *testing.T) {
	with := func(change func(*passhash.Params)) passhash.Params {
		p := fastParams
		change(&p)
		return p
	}
	for name, p := range map[string]passhash.Params{
		"zero":         {},
		"time 0":       with(func(p *passhash.Params) { p.Time = 0 }),
		"time 101":     with(func(p *passhash.Params) { p.Time = 101 }),
		"threads 0":    with(func(p *passhash.Params) { p.Threads = 0 }),
		"memory 7":     with(func(p *passhash.Params) { p.MemoryKiB = 7 }),
		"salt 4":       with(func(p *passhash.Params) { p.SaltLen = 4 }),
		"key 128":      with(func(p *passhash.Params) { p.KeyLen = 128 }),
		"memory 4GiB+": with(func(p *passhash.Params) { p.MemoryKiB = 4<<20 + 1 }),
	} {
		if _, err := passhash.New(p).Hash("pw"); !accounts.IsCode(err, accounts.CodeInternal) {
			t.Errorf("%s: Hash error = %v, want internal", name, err)
		}
	}
}

// heapBytes is the least heap fn allocates over a few runs: other goroutines
// can only add to a run's count, never take from it. argon2id allocates its
// m KiB of memory blocks on every run, so for the KDF this measures the work
// itself, without timing anything.
func heapBytes(tb testing.TB, fn func()) uint64 {
	tb.Helper()
	fn() // warm up: lazily built state (the dummy hash) is not the cost
	least := uint64(math.MaxUint64)
	var before, after runtime.MemStats
	for range 3 {
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// phcParams is the parameter part of an argon2id PHC string and the length
// of its encoded key: "m=19456,t=2,p=1 key 43".
func phcParams(encoded string) string {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 {
		return "not a PHC string: " + encoded
	}
	return parts[3] + " key " + strconv.Itoa(len(parts[5]))
}

// TestDummyVerifyDoesTheWorkOfAVerify: the port promises that a login for
// an unknown username costs what a failed login for a known one costs. The
// cost of argon2id is its memory, m KiB per run, so a dummy verify must
// allocate what a real verify with the same parameters does (within 5%,
// for the few small allocations around the KDF), with the hasher's
// parameters or, when those are out of bounds, with the defaults.
func TestDummyVerifyDoesTheWorkOfAVerify(t *testing.T) {
	// 4 MiB: far above anything else either call allocates.
	sized := passhash.Params{MemoryKiB: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cases := []struct {
		name   string
		dummy  *passhash.Hasher
		real   passhash.Params // what a real verify is made with
		wantKB uint32
	}{
		{"the hasher's parameters", passhash.New(sized), sized, sized.MemoryKiB},
		{"out-of-bounds parameters fall back to the defaults", passhash.New(passhash.Params{}), passhash.DefaultParams(), passhash.DefaultParams().MemoryKiB},
		{"a zero Hasher uses the defaults", new(passhash.Hasher), passhash.DefaultParams(), passhash.DefaultParams().MemoryKiB},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := passhash.New(tc.real)
			encoded := mustHash(t, h, "correct horse battery staple")
			real := heapBytes(t, func() { _, _, _ = h.Verify("wrong horse battery staple", encoded) })
			dummy := heapBytes(t, func() { tc.dummy.DummyVerify("wrong horse battery staple") })
			if want := uint64(tc.wantKB) << 10; real < want {
				t.Fatalf("a real verify allocated %d bytes, less than its %d KiB of argon2id memory: the measure is broken", real, tc.wantKB)
			}
			if dummy < real*95/100 || dummy > real*105/100 {
				t.Errorf("a dummy verify allocates %d bytes, a real one %d: not the same argon2id work", dummy, real)
			}
			// Memory shows the KDF ran with m; the passes, lanes and key
			// length, which allocate nothing, are read off the dummy hash.
			if got, want := phcParams(tc.dummy.DummyHash()), phcParams(encoded); got != want {
				t.Errorf("a dummy verify runs with %s, a real one with %s", got, want)
			}
		})
	}
	// A password over the limit costs nothing in either, and nothing panics
	// whatever the password.
	h := newFast(t)
	long := strings.Repeat("x", passhash.MaxPasswordBytes+1)
	if got := heapBytes(t, func() { h.DummyVerify(long) }); got > 64<<10 {
		t.Errorf("a dummy verify of an over-long password allocates %d bytes; Verify runs no KDF for it", got)
	}
	for _, pw := range []string{"", "password"} {
		h.DummyVerify(pw)
	}
}

func TestParamsFromEnv(t *testing.T) {
	def := passhash.DefaultParams()
	tests := []struct {
		name      string
		env       map[string]string
		want      passhash.Params
		wantField string // non-empty: an invalid error naming this variable
	}{
		{name: "unset", env: nil, want: def},
		{name: "empty values", env: map[string]string{"ARGON2_MEMORY_KIB": "", "ARGON2_TIME": "", "ARGON2_THREADS": ""}, want: def},
		{name: "all set", env: map[string]string{"ARGON2_MEMORY_KIB": "47104", "ARGON2_TIME": "1", "ARGON2_THREADS": "1"},
			want: passhash.Params{MemoryKiB: 47104, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{name: "surrounding spaces", env: map[string]string{"ARGON2_TIME": " 3 "}, want: passhash.Params{MemoryKiB: 19456, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{name: "4 GiB is the limit", env: map[string]string{"ARGON2_MEMORY_KIB": "4194304"}, want: passhash.Params{MemoryKiB: 4194304, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{name: "8 KiB per thread", env: map[string]string{"ARGON2_MEMORY_KIB": "32", "ARGON2_THREADS": "4"}, want: passhash.Params{MemoryKiB: 32, Time: 2, Threads: 4, SaltLen: 16, KeyLen: 32}},
		{name: "memory not a number", env: map[string]string{"ARGON2_MEMORY_KIB": "19MiB"}, wantField: "ARGON2_MEMORY_KIB"},
		{name: "memory negative", env: map[string]string{"ARGON2_MEMORY_KIB": "-1"}, wantField: "ARGON2_MEMORY_KIB"},
		{name: "memory over 4 GiB", env: map[string]string{"ARGON2_MEMORY_KIB": "4194305"}, wantField: "ARGON2_MEMORY_KIB"},
		{name: "memory under 8 per thread", env: map[string]string{"ARGON2_MEMORY_KIB": "31", "ARGON2_THREADS": "4"}, wantField: "ARGON2_MEMORY_KIB"},
		{name: "memory zero", env: map[string]string{"ARGON2_MEMORY_KIB": "0"}, wantField: "ARGON2_MEMORY_KIB"},
		{name: "time zero", env: map[string]string{"ARGON2_TIME": "0"}, wantField: "ARGON2_TIME"},
		{name: "time over 100", env: map[string]string{"ARGON2_TIME": "101"}, wantField: "ARGON2_TIME"},
		{name: "time not a number", env: map[string]string{"ARGON2_TIME": "two"}, wantField: "ARGON2_TIME"},
		{name: "time blank", env: map[string]string{"ARGON2_TIME": "  "}, wantField: "ARGON2_TIME"},
		{name: "threads zero", env: map[string]string{"ARGON2_THREADS": "0"}, wantField: "ARGON2_THREADS"},
		{name: "threads over 255", env: map[string]string{"ARGON2_THREADS": "256"}, wantField: "ARGON2_THREADS"},
		{name: "threads fraction", env: map[string]string{"ARGON2_THREADS": "1.5"}, wantField: "ARGON2_THREADS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := passhash.ParamsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ParamsFromEnv: %v", err)
				}
				if got != tt.want {
					t.Errorf("ParamsFromEnv = %+v, want %+v", got, tt.want)
				}
				return
			}
			if !accounts.IsCode(err, accounts.CodeInvalid) || accounts.PublicField(err) != tt.wantField {
				t.Fatalf("ParamsFromEnv error = %v (field %q), want invalid on %s", err, accounts.PublicField(err), tt.wantField)
			}
			// The message must say what is wrong and with which variable.
			if msg := accounts.PublicMessage(err); !strings.Contains(msg, tt.wantField) {
				t.Errorf("message %q does not name %s", msg, tt.wantField)
			}
		})
	}
}

// costlyEncoding reports whether encoded names cost parameters that are
// within the accepted bounds but too slow for a fuzz loop (up to 4 GiB of
// memory, 100 passes, bcrypt cost 16). Such inputs are skipped, not failed:
// the bounds themselves are tested in TestMalformed.
var costlyParam = regexp.MustCompile(`[mt]=(\d+)`)

func costlyEncoding(encoded string) bool {
	for _, m := range costlyParam.FindAllStringSubmatch(encoded, -1) {
		n, err := strconv.ParseUint(m[1], 10, 64)
		if err == nil && ((m[0][0] == 'm' && n > 4096) || (m[0][0] == 't' && n > 4)) {
			return true
		}
	}
	if len(encoded) >= 6 && strings.HasPrefix(encoded, "$2") {
		if cost, err := strconv.Atoi(encoded[4:6]); err == nil && cost > 6 {
			return true
		}
	}
	return false
}

// FuzzVerify feeds Verify arbitrary passwords and encodings. It must never
// panic, and its results must be consistent: an error means no match and no
// rehash, and a rehash is only ever asked for alongside a match.
func FuzzVerify(f *testing.F) {
	h := newFast(f)
	f.Add("password", mustHash(f, h, "password"))
	f.Add("password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	f.Add("password", "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	bc, err := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("password", string(bc))
	f.Add("", "")
	f.Add("x", "$argon2id$")
	f.Add("x", "$argon2id$v=19$m=,t=,p=$$")
	f.Add("x", "$2a$04$")
	f.Fuzz(func(t *testing.T, password, encoded string) {
		if costlyEncoding(encoded) {
			t.Skip("valid but slow parameters")
		}
		ok, rehash, err := h.Verify(password, encoded)
		if err != nil && (ok || rehash) {
			t.Errorf("Verify returned ok %v, needsRehash %v with error %v", ok, rehash, err)
		}
		if err != nil && !errors.Is(err, passhash.ErrMalformedHash) {
			t.Errorf("Verify error %v is not ErrMalformedHash", err)
		}
		if rehash && !ok {
			t.Errorf("Verify asked for a rehash without a match")
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := passhash.New(passhash.DefaultParams())
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify and BenchmarkDummyVerify should report about the same
// time: that is what hides whether a username exists.
func BenchmarkVerify(b *testing.B) {
	h := passhash.New(passhash.DefaultParams())
	encoded := mustHash(b, h, "correct horse battery staple")
	for b.Loop() {
		_, _, _ = h.Verify("wrong horse battery staple", encoded)
	}
}

func BenchmarkDummyVerify(b *testing.B) {
	h := passhash.New(passhash.DefaultParams())
	for b.Loop() {
		h.DummyVerify("wrong horse battery staple")
	}
}
