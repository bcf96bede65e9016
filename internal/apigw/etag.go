package apigw

import (
	"strconv"
	"strings"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// Optimistic locking over HTTP: a user's and a tenant's settings' version is
// their ETag ("3"), and an edit names the version it read in If-Match or in
// the body's "version".

// etag is the strong ETag of a version.
func etag(version int64) map[string]string {
	return map[string]string{"ETag": `"` + strconv.FormatInt(version, 10) + `"`}
}

// ifMatch reads If-Match as a version: "3", 3 or W/"3". ok is false when the
// header is absent.
func ifMatch(req Request) (version int64, ok bool, err error) {
	raw, present := lookupHeader(req, "if-match")
	if !present {
		return 0, false, nil
	}
	bad := accounts.FieldError("If-Match", `If-Match must be the one ETag you read, such as "3"`)
	v := strings.TrimSpace(raw)
	v = strings.TrimPrefix(v, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" || len(v) > 19 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false, bad
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, false, bad
	}
	return n, true, nil
}

// versionOf combines If-Match and the body's "version" (nil when absent or
// null). Either may be given, or both when they agree; 0 means neither.
func versionOf(req Request, body *int64) (int64, error) {
	h, hasHeader, err := ifMatch(req)
	if err != nil {
		return 0, err
	}
	if body == nil {
		return h, nil
	}
	if *body < 1 {
		return 0, accounts.FieldError("version", "version must be the positive version you read")
	}
	if hasHeader && h != *body {
		return 0, accounts.FieldError("version", "the version in the body (%d) and in If-Match (%d) disagree; send one", *body, h)
	}
	return *body, nil
}
