package apigw

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// checkJSONText refuses what encoding/json would silently turn into U+FFFD:
// bytes that are not UTF-8, and \u escapes of a surrogate that is not half
// of a pair. A name stored with a replacement character is not the name the
// caller typed, and two different inputs would become one account.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		for i := 0; i < len(body); {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				return accounts.E(accounts.CodeInvalid, "request body is not valid UTF-8 (at byte %d)", i)
			}
			i += n
		}
	}
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(body) {
				return nil // the decoder reports the truncation
			}
			if body[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hexRune(body, i+2)
			if !ok {
				return nil // malformed escape: the decoder says where
			}
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00:
				// A high surrogate must be followed by \u and a low one.
				lo, ok := rune(0), false
				if i+7 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
					lo, ok = hexRune(body, i+8)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return accounts.E(accounts.CodeInvalid, "request body has a lone surrogate \\u%04X (at byte %d): send the character itself, or a complete surrogate pair", r, i)
				}
				i += 11
			case utf16.IsSurrogate(r):
				return accounts.E(accounts.CodeInvalid, "request body has a lone surrogate \\u%04X (at byte %d): send the character itself, or a complete surrogate pair", r, i)
			default:
				i += 5
			}
		}
	}
	return nil
}

// hexRune reads the four hex digits at body[at:].
func hexRune(body []byte, at int) (rune, bool) {
	if at+4 > len(body) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(body[at:at+4]), 16, 16)
	return rune(v), err == nil
}
