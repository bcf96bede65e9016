package sqsemu

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// attrValue is a message attribute as the SQS JSON protocol writes it (and
// as the log stores it).
type attrValue struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

const maxMessageAttributes = 10

// validText reports whether s holds only the characters SQS accepts in a
// message: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validText(s string) (bad rune, ok bool) {
	if !utf8.ValidString(s) {
		return utf8.RuneError, false
	}
	for _, r := range s {
		switch {
		case r == 0x9, r == 0xA, r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
		default:
			return r, false
		}
	}
	return 0, true
}

func invalidContents(bad rune) *apiError {
	return &apiError{status: 400, typ: "InvalidMessageContents", query: "InvalidMessageContents",
		msg: fmt.Sprintf("Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", bad)}
}

// checkAttributes validates message attributes as SQS does and returns
// their size as SQS counts it towards the message size quota (name, data
// type and value), with the values reduced to what is stored.
func checkAttributes(in map[string]attrValue) (map[string]attrValue, int, *apiError) {
	if len(in) == 0 {
		return nil, 0, nil
	}
	if len(in) > maxMessageAttributes {
		return nil, 0, invalidParameter("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(in), maxMessageAttributes)
	}
	out := make(map[string]attrValue, len(in))
	size := 0
	for name, v := range in {
		if err := checkAttributeName(name); err != nil {
			return nil, 0, err
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		if v.DataType == "" {
			return nil, 0, invalidParameter("The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		if len(v.DataType) > 256 {
			return nil, 0, invalidParameter("Message attribute type of '%s' exceeds 256 characters.", name)
		}
		stored := attrValue{DataType: v.DataType}
		switch base {
		case "String", "Number":
			if v.StringValue == nil || *v.StringValue == "" {
				return nil, 0, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, base)
			}
			if bad, ok := validText(*v.StringValue); !ok {
				return nil, 0, invalidParameter("The message attribute '%s' contains the invalid character '#x%X'.", name, bad)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(strings.TrimSpace(*v.StringValue), 64); err != nil {
					return nil, 0, invalidParameter("Can't cast the value of message (user) attribute '%s' to a number.", name)
				}
			}
			sv := *v.StringValue
			stored.StringValue = &sv
			size += len(sv)
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return nil, 0, invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", name)
			}
			stored.BinaryValue = slices.Clone(v.BinaryValue)
			size += len(v.BinaryValue)
		default:
			return nil, 0, invalidParameter("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		}
		size += len(name) + len(v.DataType)
		out[name] = stored
	}
	return out, size, nil
}

func checkAttributeName(name string) *apiError {
	if name == "" {
		return invalidParameter("The request must contain non-empty message attribute name.")
	}
	if len(name) > 256 {
		return invalidParameter("Message (user) attribute name '%s' exceeds 256 characters.", name)
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return invalidParameter("You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use. Additionally, they cannot be used as custom message attribute names. (Name: %s)", name)
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return invalidParameter("Message (user) attribute name '%s' is invalid: it can't start or end with a period or have two periods in a row.", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return invalidParameter("Message (user) attribute name '%s' is invalid. The attribute name can contain only A-Z, a-z, 0-9, underscore (_), hyphen (-) and period (.) characters.", name)
		}
	}
	return nil
}

// attributesMD5 is the digest SQS returns as MD5OfMessageAttributes (and
// MD5OfMessageSystemAttributes): over the attributes sorted by name, each
// encoded as length-prefixed name, length-prefixed data type, a transport
// byte (1 string, 2 binary) and the length-prefixed value. "" if none.
func attributesMD5(attrs map[string]attrValue) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	var n [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[name]
		put([]byte(name))
		put([]byte(v.DataType))
		if v.StringValue != nil {
			h.Write([]byte{1})
			put([]byte(*v.StringValue))
		} else {
			h.Write([]byte{2})
			put(v.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// selectAttributes returns the attributes that ReceiveMessage's
// MessageAttributeNames ask for: "All" or ".*", a name, or "prefix.*".
func selectAttributes(attrs map[string]attrValue, names []string) map[string]attrValue {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	out := make(map[string]attrValue)
	for _, want := range names {
		switch {
		case want == "All" || want == ".*":
			return attrs
		case strings.HasSuffix(want, ".*"):
			prefix := strings.TrimSuffix(want, "*")
			for k, v := range attrs {
				if strings.HasPrefix(k, prefix) {
					out[k] = v
				}
			}
		default:
			if v, ok := attrs[want]; ok {
				out[want] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
