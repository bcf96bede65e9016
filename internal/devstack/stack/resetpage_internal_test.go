package stack

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestResetPageLeaksNoToken: the page a reset link opens holds the token in
// its address; it must not pass it on in a Referer or be kept in a cache.
func TestResetPageLeaksNoToken(t *testing.T) {
	rec := httptest.NewRecorder()
	resetPage(rec, httptest.NewRequest(http.MethodGet, "/_local/reset", nil))
	for k, v := range map[string]string{
		"Referrer-Policy": "no-referrer",
		"Cache-Control":   "no-store",
		"Content-Type":    "text/html; charset=utf-8",
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
