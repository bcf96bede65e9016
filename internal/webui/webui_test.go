package webui_test

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/webui"
)

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func get(tb testing.TB, s *webui.Site, method, p string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: p, Headers: headers}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = p
	resp, err := s.Handle(context.Background(), req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, p, err)
	}
	return resp
}

// TestPaths: what each request path answers, with the headers every answer
// must carry whatever its status.
func TestPaths(t *testing.T) {
	s := webui.New("")
	cases := []struct {
		path, status, ctype, location, cache string
	}{
		{"/", "200", "text/html; charset=utf-8", "", "no-cache"},
		{"/console/", "301", "text/plain; charset=utf-8", "/console", "no-cache"},
		{"/portal/", "301", "text/plain; charset=utf-8", "/portal", "no-cache"},
		{"/console", "200", "text/html; charset=utf-8", "", "no-cache"},
		{"/portal", "200", "text/html; charset=utf-8", "", "no-cache"},
		{"/console/index.html", "200", "text/html; charset=utf-8", "", "no-cache"},
		{"/portal/reset", "200", "text/html; charset=utf-8", "", "no-store"},
		{"/portal/reset.html", "200", "text/html; charset=utf-8", "", "no-store"},
		{"/console/main.js", "200", "text/javascript; charset=utf-8", "", "no-cache"},
		{"/portal/main.js", "200", "text/javascript; charset=utf-8", "", "no-cache"},
		{"/console/shared/api.js", "200", "text/javascript; charset=utf-8", "", "no-cache"},
		{"/portal/shared/app.css", "200", "text/css; charset=utf-8", "", "no-cache"},
		{"/console/screens/signin.js", "200", "text/javascript; charset=utf-8", "", "no-cache"},
		// Refused: traversal, hidden files, directories, outside the apps.
		{"/console/../portal/main.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/shared/../../index.html", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/%2e%2e/index.html", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console//main.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/./main.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console\\main.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/main.js\x00", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/.env", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/portal/.git/config", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/screens", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/screens/", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/shared/api.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/index.html", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/assets/index.html", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/console/nope.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"/portal/shared/nope.css", "404", "text/plain; charset=utf-8", "", "no-cache"},
		{"console/main.js", "404", "text/plain; charset=utf-8", "", "no-cache"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp := get(t, s, http.MethodGet, tc.path, nil)
			if got := http.StatusText(resp.StatusCode); resp.StatusCode != atoi(tc.status) {
				t.Fatalf("status %d (%s), want %s; body %q", resp.StatusCode, got, tc.status, resp.Body[:min(len(resp.Body), 60)])
			}
			for k, v := range map[string]string{
				"Content-Type":               tc.ctype,
				"Content-Security-Policy":    wantCSP,
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "no-referrer",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Cache-Control":              tc.cache,
				"Location":                   tc.location,
			} {
				if resp.Headers[k] != v {
					t.Errorf("%s: %q, want %q", k, resp.Headers[k], v)
				}
			}
			if resp.StatusCode == 200 && (resp.Body == "" || resp.Headers["ETag"] == "") {
				t.Errorf("200 with body %d bytes, ETag %q", len(resp.Body), resp.Headers["ETag"])
			}
		})
	}
}

// TestHiddenAndOutsideFilesRefused: a tree that does hold dotfiles and
// files beside the apps (go:embed would have left them out) still serves
// only the apps' own visible files.
func TestHiddenAndOutsideFilesRefused(t *testing.T) {
	s := webui.NewFS(fstest.MapFS{
		"index.html":               {Data: []byte("landing")},
		"secret.txt":               {Data: []byte("secret")},
		"console/index.html":       {Data: []byte("console")},
		"console/.env":             {Data: []byte("SECRET=1")},
		"console/.hidden/x.js":     {Data: []byte("x")},
		"console/ok.js":            {Data: []byte("ok")},
		"portal/.DS_Store":         {Data: []byte("x")},
		"shared/.secret.js":        {Data: []byte("x")},
		"shared/app.css":           {Data: []byte("css")},
		"other/file.js":            {Data: []byte("x")},
		"console/shared/inside.js": {Data: []byte("x")},
	}, "")
	for p, status := range map[string]int{
		"/":                          200,
		"/console/ok.js":             200,
		"/console/shared/app.css":    200,
		"/portal/shared/app.css":     200,
		"/console/.env":              404,
		"/console/.hidden/x.js":      404,
		"/portal/.DS_Store":          404,
		"/console/shared/.secret.js": 404,
		"/secret.txt":                404,
		"/console/../secret.txt":     404,
		"/other/file.js":             404,
		"/console/shared/inside.js":  404, // "shared/" under an app always means the shared tree
	} {
		if resp := get(t, s, http.MethodGet, p, nil); resp.StatusCode != status {
			t.Errorf("%s: %d %q, want %d", p, resp.StatusCode, resp.Body, status)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestUploadOriginInConnectSrc(t *testing.T) {
	resp := get(t, webui.New("http://127.0.0.1:9000"), http.MethodGet, "/console", nil)
	if csp := resp.Headers["Content-Security-Policy"]; !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:9000;") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestRevalidation: a page a browser has is answered 304 without a body;
// any other version is sent whole.
func TestRevalidation(t *testing.T) {
	s := webui.New("")
	first := get(t, s, http.MethodGet, "/portal/main.js", nil)
	etag := first.Headers["ETag"]
	other := get(t, s, http.MethodGet, "/console/main.js", nil).Headers["ETag"]
	if etag == "" || etag == other {
		t.Fatalf("ETags %q and %q", etag, other)
	}
	for _, tc := range []struct {
		name, inm string
		status    int
		body      bool
	}{
		{"same version", etag, 304, false},
		{"another version", other, 200, true},
		{"garbage", `"x"`, 200, true},
		{"none", "", 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, s, http.MethodGet, "/portal/main.js", map[string]string{"if-none-match": tc.inm})
			if resp.StatusCode != tc.status || (resp.Body != "") != tc.body {
				t.Errorf("status %d, body %d bytes; want %d, body %v", resp.StatusCode, len(resp.Body), tc.status, tc.body)
			}
			if resp.Headers["ETag"] != etag || resp.Headers["Content-Security-Policy"] != wantCSP {
				t.Errorf("headers %v", resp.Headers)
			}
		})
	}
	if head := get(t, s, http.MethodHead, "/portal/main.js", nil); head.StatusCode != 200 || head.Body != "" {
		t.Errorf("HEAD: %d with %d bytes", head.StatusCode, len(head.Body))
	}
}

// assetFiles reads the embedded tree from the source directory (the same
// files go:embed takes; the handler test above proves they are served).
func assetFiles(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	root := os.DirFS("assets")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		out[p] = string(b)
		return err
	})
	if err != nil || len(out) == 0 {
		tb.Fatalf("read assets: %v (%d files)", err, len(out))
	}
	return out
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	styleAttr   = regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	styleTag    = regexp.MustCompile(`(?i)<style\b`)
	eventAttr   = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURL       = regexp.MustCompile(`(?i)javascript:`)
	controlTag  = regexp.MustCompile(`(?is)<(input|select|textarea)\b([^>]*)>`)
	idAttr      = regexp.MustCompile(`(?i)\sid\s*=\s*"([^"]+)"`)
	typeHidden  = regexp.MustCompile(`(?i)\stype\s*=\s*"?(hidden|submit|button|reset)`)
	ariaLabel   = regexp.MustCompile(`(?i)\saria-label(ledby)?\s*=`)
	unsafeSinks = regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\s*\(|setAttribute\(\s*['"](style|on[a-z]+)['"]|\.srcdoc|\bstyle\s*:|setTimeout\(\s*['"]|setInterval\(\s*['"]`)
)

// TestNoInlineCodeOrStyle: the CSP forbids inline script and style; a page
// that used them would silently break in the browser. And nothing may turn
// data into markup.
func TestNoInlineCodeOrStyle(t *testing.T) {
	for name, text := range assetFiles(t) {
		switch path.Ext(name) {
		case ".html":
			for _, m := range scriptTag.FindAllStringSubmatch(text, -1) {
				if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s: inline <script>: %q", name, m[0])
				}
			}
			for what, re := range map[string]*regexp.Regexp{"style attribute": styleAttr, "<style> element": styleTag, "event handler attribute": eventAttr, "javascript: URL": jsURL} {
				if loc := re.FindStringIndex(text); loc != nil {
					t.Errorf("%s: %s at byte %d: %q", name, what, loc[0], text[loc[0]:min(len(text), loc[1]+20)])
				}
			}
		case ".js":
			for _, m := range unsafeSinks.FindAllString(text, -1) {
				t.Errorf("%s: %q (builds markup or code from strings, or an inline style the CSP refuses)", name, m)
			}
			if jsURL.MatchString(text) {
				t.Errorf("%s: a javascript: URL", name)
			}
		}
	}
}

// TestEveryControlHasALabel: each <input>, <select> and <textarea> written
// in a page has a <label for> (or an aria label).
func TestEveryControlHasALabel(t *testing.T) {
	for name, text := range assetFiles(t) {
		if path.Ext(name) != ".html" {
			continue
		}
		for _, m := range controlTag.FindAllStringSubmatch(text, -1) {
			attrs := m[2]
			if typeHidden.MatchString(attrs) || ariaLabel.MatchString(attrs) {
				continue
			}
			id := idAttr.FindStringSubmatch(attrs)
			if id == nil || !regexp.MustCompile(`(?i)<label\b[^>]*\sfor\s*=\s*"`+regexp.QuoteMeta(id[1])+`"`).MatchString(text) {
				t.Errorf("%s: %s has no <label for>", name, m[0])
			}
		}
		if !strings.Contains(text, `<html lang="`) || !strings.Contains(text, `name="viewport"`) {
			t.Errorf("%s: no lang or viewport", name)
		}
	}
}

var (
	staticImport  = regexp.MustCompile(`(?m)^\s*import\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'`)
	dynamicImport = regexp.MustCompile(`import\(\s*'([^']+)'\s*\)`)
	htmlRef       = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*"([^"#][^"]*)"`)
)

// servedAt is where a file is served: the shared files under each app.
func servedAt(name string) []string {
	if rest, ok := strings.CutPrefix(name, "shared/"); ok {
		return []string{"/console/shared/" + rest, "/portal/shared/" + rest}
	}
	return []string{"/" + name}
}

// TestEveryReferenceResolves: each module import and each src/href in a
// page names a file the handler serves, from every place the file is
// served at (a relative import in a shared module must work in both apps).
func TestEveryReferenceResolves(t *testing.T) {
	s := webui.New("")
	checked := 0
	for name, text := range assetFiles(t) {
		var refs []string
		switch path.Ext(name) {
		case ".js":
			for _, m := range staticImport.FindAllStringSubmatch(text, -1) {
				refs = append(refs, m[1]+m[2])
			}
			for _, m := range dynamicImport.FindAllStringSubmatch(text, -1) {
				refs = append(refs, m[1])
			}
		case ".html":
			for _, m := range htmlRef.FindAllStringSubmatch(text, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					refs = append(refs, m[1])
				}
			}
		}
		for _, at := range servedAt(name) {
			for _, ref := range refs {
				target := ref
				if !strings.HasPrefix(ref, "/") {
					target = path.Join(path.Dir(at), ref)
					if strings.HasSuffix(ref, "/") {
						target += "/"
					}
				}
				checked++
				if resp := get(t, s, http.MethodGet, target, nil); resp.StatusCode != 200 {
					t.Errorf("%s (served at %s) refers to %q = %s: %d", name, at, ref, target, resp.StatusCode)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d references checked: the patterns above match nothing", checked)
	}
}
