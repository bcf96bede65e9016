package stack_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The end-to-end tests check every exchange they make through client.do
// against docs/openapi.yaml with a validator nobody here wrote, so that the
// spec cannot drift from what the gateway and the handlers answer.
var spec struct {
	once   sync.Once
	doc    *openapi3.T
	err    error
	mu     sync.Mutex
	byBase map[string]routers.Router
}

func specRouter(tb testing.TB, base string) routers.Router {
	tb.Helper()
	spec.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		loader := openapi3.NewLoader()
		spec.doc, spec.err = loader.LoadFromFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "openapi.yaml"))
		if spec.err == nil {
			spec.err = spec.doc.Validate(context.Background())
		}
		spec.byBase = map[string]routers.Router{}
	})
	if spec.err != nil {
		tb.Fatalf("docs/openapi.yaml: %v", spec.err)
	}
	spec.mu.Lock()
	defer spec.mu.Unlock()
	if r, ok := spec.byBase[base]; ok {
		return r
	}
	// Each local stack listens on its own port: route against it.
	doc := *spec.doc
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := legacy.NewRouter(&doc)
	if err != nil {
		tb.Fatalf("docs/openapi.yaml router: %v", err)
	}
	spec.byBase[base] = r
	return r
}

// checkSpec validates one exchange: the request as the spec describes it,
// and the response's status, headers and body. A request the spec does not
// know is an error too, unless it is to the local stack's own /_local/.
func checkSpec(tb testing.TB, base string, req *http.Request, body []byte, status int, header http.Header, respBody []byte) {
	tb.Helper()
	u, _ := url.Parse(req.URL.String())
	if len(u.Path) >= 8 && u.Path[:8] == "/_local/" {
		return
	}
	route, params, err := specRouter(tb, base).FindRoute(req)
	if err != nil {
		tb.Errorf("%s %s is not in docs/openapi.yaml: %v", req.Method, u.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	if status < 400 {
		// A refused request may be refused for breaking the spec; an
		// accepted one must keep to it.
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			tb.Errorf("%s %s: request accepted with %d but not valid by docs/openapi.yaml: %v", req.Method, u.Path, status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tb.Errorf("%s %s: response %d does not match docs/openapi.yaml: %v\nbody: %.300s", req.Method, u.Path, status, err, respBody)
	}
}
