package accounts_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// checkRefused asserts that Check refuses password with an invalid-input
// error on the "password" field whose message contains wantMsg and never
// the password itself (error messages are shown and logged).
func checkRefused(tb testing.TB, p accounts.PasswordPolicy, password, wantMsg string, audience accounts.Audience, contextWords ...accounts.ContextWord) {
	tb.Helper()
	got, err := p.Check(password, audience, contextWords...)
	if err == nil {
		tb.Fatalf("Check(%q) = %q, nil; want refusal %q", password, got, wantMsg)
	}
	if got != "" {
		tb.Errorf("Check(%q) returned %q alongside an error; want empty", password, got)
	}
	if code := accounts.ErrorCode(err); code != accounts.CodeInvalid {
		tb.Errorf("Check(%q) code = %q, want %q", password, code, accounts.CodeInvalid)
	}
	if field := accounts.PublicField(err); field != "password" {
		tb.Errorf("Check(%q) field = %q, want %q", password, field, "password")
	}
	msg := accounts.PublicMessage(err)
	if !strings.Contains(msg, wantMsg) {
		tb.Errorf("Check(%q) message = %q, want it to contain %q", password, msg, wantMsg)
	}
	if password != "" && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(password)) {
		tb.Errorf("Check(%q) error %q repeats the password", password, err.Error())
	}
	for _, w := range contextWords {
		if len(w.Value) >= 4 && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w.Value)) {
			tb.Errorf("Check(%q) error %q repeats the context word %q", password, err.Error(), w.Value)
		}
	}
}

// checkAccepted asserts that Check accepts password and returns want, the
// normalised form to hash.
func checkAccepted(tb testing.TB, p accounts.PasswordPolicy, password, want string, contextWords ...accounts.ContextWord) {
	tb.Helper()
	got, err := p.Check(password, accounts.AudienceStaff, contextWords...)
	if err != nil {
		tb.Fatalf("Check(%q) error: %v", password, err)
	}
	if got != want {
		tb.Errorf("Check(%q) = %q, want %q", password, got, want)
	}
}

// words builds context words from kind, value pairs.
func words(pairs ...any) []accounts.ContextWord {
	var out []accounts.ContextWord
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, accounts.ContextWord{Kind: pairs[i].(accounts.ContextKind), Value: pairs[i+1].(string)})
	}
	return out
}

func TestCheckAccepts(t *testing.T) {
	def := accounts.DefaultPasswordPolicy()
	long64 := strings.Repeat("abcdefgh", 8)
	long256 := strings.Repeat("🙂漢字é", 64) // 256 runes, multi-byte, 768 bytes
	tests := []struct {
		name     string
		policy   accounts.PasswordPolicy
		password string
		want     string // normalised form; "" means unchanged
		context  []accounts.ContextWord
	}{
		{name: "passphrase with spaces", policy: def, password: "blue horse staple battery"},
		{name: "exactly the default minimum", policy: def, password: "tulip-anchor-9x"},
		// No composition rules: all lower-case letters is fine.
		{name: "letters only", policy: def, password: "quietlyorangeriver"},
		{name: "tenant minimum 8", policy: accounts.PasswordPolicy{MinLength: 8}, password: "zq7w-mxr"},
		// SP 800-63B-4 requires at least 64 characters to be accepted.
		{name: "64 characters", policy: def, password: long64},
		{name: "256 runes of any script", policy: def, password: long256},
		{name: "emoji and other scripts", policy: def, password: "Пароль на 🐉 и 漢字 hieß"},
		// A zero policy (never set) falls back to the default minimum.
		{name: "zero policy uses default", policy: accounts.PasswordPolicy{}, password: "fifteen-chars-x"},
		// NFKC folds fullwidth letters to ASCII; the normalised form is returned.
		{name: "fullwidth normalised", policy: def, password: "ｗｉｎｔｅｒ ｇａｒｄｅｎ ４２ ｗｅｓｔ", want: "winter garden 42 west"},
		// Combining sequences compose under NFKC.
		{name: "combining accent composed", policy: def, password: "cafe\u0301 au lait et croissant", want: "café au lait et croissant"},
		// Context words under 4 runes and empty ones are ignored.
		{name: "short context word ignored", policy: def, password: "kpu reading room pass", context: words(accounts.ContextLibraryID, "kpu", accounts.ContextBarcode, "", accounts.ContextUsername, "  ")},
		{name: "context word absent", policy: def, password: "maple syrup pancakes", context: words(accounts.ContextUsername, "jsmith", accounts.ContextLibraryName, "Springfield Library", accounts.ContextBarcode, "21234000123456")},
		// Zero-width joiners in emoji are format characters, not control ones.
		{name: "emoji ZWJ sequence", policy: def, password: "family 👨\u200d👩\u200d👧 picnic day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.password
			}
			checkAccepted(t, tt.policy, tt.password, want, tt.context...)
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	def := accounts.DefaultPasswordPolicy()
	// One account's words, none inside another, so each case matches one.
	account := words(accounts.ContextUsername, "jsmith", accounts.ContextBarcode, "21234000123456", accounts.ContextEmail, "jane.smith99",
		accounts.ContextLibraryName, "Springfield Library", accounts.ContextLibraryID, "springfield-pl")
	tests := []struct {
		name     string
		policy   accounts.PasswordPolicy
		password string
		wantMsg  string
		audience accounts.Audience // staff unless set
		context  []accounts.ContextWord
	}{
		{name: "empty", policy: def, password: "", wantMsg: "at least 15 characters"},
		{name: "one short of default", policy: def, password: "tulip-anchor-9", wantMsg: "at least 15 characters"},
		{name: "tenant minimum 20", policy: accounts.PasswordPolicy{MinLength: 20}, password: "nineteen-characters", wantMsg: "at least 20 characters"},
		// A bad stored policy must not weaken the floor of 8.
		{name: "policy below floor clamps to 8", policy: accounts.PasswordPolicy{MinLength: 3}, password: "zq7w-mx", wantMsg: "at least 8 characters"},
		// Length counts runes after NFKC, not bytes: 14 multi-byte runes are too short.
		{name: "runes not bytes", policy: def, password: "漢字漢字漢字漢字漢字漢字漢字", wantMsg: "at least 15 characters"},
		{name: "257 runes", policy: def, password: strings.Repeat("ab", 128) + "c", wantMsg: "at most 256 characters"},
		{name: "over 1024 bytes", policy: def, password: strings.Repeat("🙂x", 205), wantMsg: "too long"},
		{name: "invalid UTF-8", policy: def, password: "valid prefix then \xff\xfe bytes", wantMsg: "not valid UTF-8"},
		{name: "newline", policy: def, password: "first line of it\nsecond", wantMsg: "control characters"},
		{name: "tab", policy: def, password: "tabbed\tpassword here", wantMsg: "control characters"},
		{name: "NUL", policy: def, password: "null byte \x00 inside it", wantMsg: "control characters"},
		{name: "C1 control", policy: def, password: "c1 control \u0085 inside it", wantMsg: "control characters"},
		{name: "one character repeated", policy: def, password: strings.Repeat("a", 20), wantMsg: "one character repeated"},
		{name: "one emoji repeated", policy: def, password: strings.Repeat("🙂", 16), wantMsg: "one character repeated"},
		// Repetition is judged after NFKC: fullwidth and ASCII 'a' are the same.
		{name: "repeated after NFKC", policy: def, password: strings.Repeat("aａ", 8), wantMsg: "one character repeated"},
		// These are on the shipped list (checked by TestBlocklist).
		{name: "blocklisted", policy: accounts.PasswordPolicy{MinLength: 8}, password: "password1234", wantMsg: "commonly used passwords"},
		{name: "blocklisted any case", policy: accounts.PasswordPolicy{MinLength: 8}, password: "PassWord1234", wantMsg: "commonly used passwords"},
		{name: "blocklisted fullwidth", policy: accounts.PasswordPolicy{MinLength: 8}, password: "ｐａｓｓｗｏｒｄ１２３４", wantMsg: "commonly used passwords"},
		{name: "blocklisted long", policy: def, password: "qwertyuiopasdfgh", wantMsg: "commonly used passwords"},
		// A context word refusal names the rule that matched, worded for
		// who reads it: staff setting someone's password, or the person
		// choosing their own.
		{name: "contains username, staff", policy: def, password: "my name is JSmith, ok?", wantMsg: "password must not contain the username", context: account},
		{name: "contains username, self", policy: def, password: "my name is JSmith, ok?", wantMsg: "password must not contain your username", audience: accounts.AudienceSelf, context: account},
		{name: "contains library name", policy: def, password: "i love springfield library", wantMsg: "password must not contain the library's name", context: account},
		{name: "contains library name, self", policy: def, password: "i love springfield library", wantMsg: "password must not contain the library's name", audience: accounts.AudienceSelf, context: account},
		{name: "contains library ID", policy: def, password: "reading at springfield-pl today", wantMsg: "password must not contain the library's ID", context: account},
		{name: "contains barcode, staff", policy: def, password: "card 21234000123456!", wantMsg: "password must not contain the barcode", context: account},
		{name: "contains barcode, self", policy: def, password: "card 21234000123456!", wantMsg: "password must not contain your barcode", audience: accounts.AudienceSelf, context: account},
		{name: "contains e-mail name, staff", policy: def, password: "hello jane.smith99 here", wantMsg: "password must not contain the part of the e-mail address before the @", context: account},
		{name: "contains e-mail name, self", policy: def, password: "hello jane.smith99 here", wantMsg: "password must not contain the part of your e-mail address before the @", audience: accounts.AudienceSelf, context: account},
		// The context word is normalised too: a fullwidth username still matches.
		{name: "fullwidth context word", policy: def, password: "jsmith-reads-a-lot", wantMsg: "the username", context: words(accounts.ContextUsername, "ＪＳｍｉｔｈ")},
		{name: "exactly 4-rune context word", policy: def, password: "the anne of green gables", wantMsg: "the username", context: words(accounts.ContextUsername, "Anne")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRefused(t, tt.policy, tt.password, tt.wantMsg, tt.audience, tt.context...)
		})
	}
}

// TestBlocklist pins the entries the other tests rely on, so that a changed
// list fails here with a clear message rather than elsewhere.
func TestBlocklist(t *testing.T) {
	tests := []struct {
		password string
		want     bool
	}{
		{"password", true}, // the most common entry
		{"password1234", true},
		{"qwertyuiopasdfgh", true},
		{"PASSWORD1234", true}, // lookup is case-insensitive
		{"blue horse staple battery", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := accounts.IsCommonPassword(tt.password); got != tt.want {
			t.Errorf("IsCommonPassword(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestPasswordPolicyValidate(t *testing.T) {
	tests := []struct {
		minLength int
		ok        bool
	}{
		{0, false}, {7, false}, {8, true}, {15, true}, {64, true}, {65, false}, {-1, false},
	}
	for _, tt := range tests {
		err := accounts.PasswordPolicy{MinLength: tt.minLength}.Validate()
		if tt.ok {
			if err != nil {
				t.Errorf("Validate(minLength=%d) = %v, want nil", tt.minLength, err)
			}
			continue
		}
		if !accounts.IsCode(err, accounts.CodeInvalid) || accounts.PublicField(err) != "passwordPolicy.minLength" {
			t.Errorf("Validate(minLength=%d) = %v (field %q), want invalid on passwordPolicy.minLength",
				tt.minLength, err, accounts.PublicField(err))
		}
	}
	if def := accounts.DefaultPasswordPolicy(); def.MinLength != 15 || def.Validate() != nil {
		t.Errorf("DefaultPasswordPolicy() = %+v (Validate %v), want MinLength 15 and valid", def, def.Validate())
	}
}

func TestGeneratePassword(t *testing.T) {
	for _, minLength := range []int{8, 15, 16, 20, 64} {
		p := accounts.PasswordPolicy{MinLength: minLength}
		seen := map[string]bool{}
		for range 20 {
			pw, err := accounts.GeneratePassword(p)
			if err != nil {
				t.Fatalf("GeneratePassword(%d): %v", minLength, err)
			}
			assertGeneratedShape(t, pw, minLength)
			// What it generates, Check accepts unchanged (it is already NFKC).
			checkAccepted(t, p, pw, pw)
			if seen[pw] {
				t.Fatalf("GeneratePassword(%d) repeated %q", minLength, pw)
			}
			seen[pw] = true
		}
	}
}

// assertGeneratedShape checks the documented form: groups of four from the
// unambiguous alphabet joined by '-', at least five groups (>= 90 bits: each
// symbol carries log2(31) ~ 4.95 bits) and at least minLength long.
func assertGeneratedShape(tb testing.TB, pw string, minLength int) {
	tb.Helper()
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	groups := strings.Split(pw, "-")
	if len(groups) < 5 {
		tb.Errorf("%q has %d groups, want at least 5", pw, len(groups))
	}
	for _, g := range groups {
		if len(g) != 4 {
			tb.Errorf("%q: group %q is not 4 characters", pw, g)
		}
		for _, r := range g {
			if !strings.ContainsRune(alphabet, r) {
				tb.Errorf("%q: character %q is not in the unambiguous alphabet", pw, r)
			}
		}
	}
	if strings.ContainsAny(pw, "0o1li") {
		tb.Errorf("%q contains an ambiguous character", pw)
	}
	if n := utf8.RuneCountInString(pw); n < minLength {
		tb.Errorf("%q is %d characters, want at least %d", pw, n, minLength)
	}
}

// TestRefusedPasswordsAreWordedForTheirReader: staff setting a password read
// "the username", a person choosing their own reads "your username".
func TestRefusedPasswordsAreWordedForTheirReader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tenant(t, "kpu")
	_, err := f.svc.CreateUser(ctx, admin, accounts.CreateUserInput{Username: "patron9", Password: "patron9 has a long passphrase"})
	if msg := accounts.PublicMessage(err); msg != "password must not contain the username" {
		t.Errorf("staff creating an account read %q", msg)
	}
	u := f.user(t, admin, accounts.CreateUserInput{Username: "patron9", Barcode: "21234000999", Password: "temporary passphrase 9"})
	_, err = f.svc.ResetPassword(ctx, admin, u.ID, accounts.ResetPasswordInput{Password: "card 21234000999 forever", PasswordConfirmation: "card 21234000999 forever"})
	if msg := accounts.PublicMessage(err); msg != "password must not contain the barcode" {
		t.Errorf("staff resetting a password read %q", msg)
	}
	me := f.login(t, "kpu", "patron9", "temporary passphrase 9")
	err = f.svc.ChangePassword(ctx, me, accounts.ChangePasswordInput{CurrentPassword: "temporary passphrase 9", NewPassword: "card 21234000999 forever"})
	if msg := accounts.PublicMessage(err); msg != "password must not contain your barcode" {
		t.Errorf("a patron changing their own password read %q", msg)
	}
}
