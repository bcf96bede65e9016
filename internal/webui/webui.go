// Package webui serves the staff console and the patron portal: static
// HTML, CSS and ES modules embedded in the binary, answered through the same
// HTTP API as every other route, so the pages and the API share one origin
// and the browser needs no CORS for the API.
package webui

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

//go:embed assets
var assets embed.FS

// Site answers GET requests for the embedded pages.
type Site struct {
	files fs.FS
	etags map[string]string
	csp   string
}

// New serves the embedded assets. uploadOrigin is the import bucket's
// origin (scheme://host[:port]): the console PUTs CSV files there, so the
// page's connect-src must name it; empty when uploads are not configured.
func New(uploadOrigin string) *Site {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return NewFS(sub, uploadOrigin)
}

// NewFS serves the files of files as New serves the embedded ones. go:embed
// leaves out dotfiles by itself; the handler refuses them anyway, so a tree
// served from elsewhere cannot leak one.
func NewFS(files fs.FS, uploadOrigin string) *Site {
	s := &Site{files: files, etags: map[string]string{}}
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.etags[p] = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		return nil
	})
	connect := "'self'"
	if uploadOrigin != "" {
		connect += " " + uploadOrigin
	}
	// No inline script or style anywhere: a page that injected markup could
	// still not run code or restyle the page, and no other site may frame it.
	s.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return s
}

// Handle is the Lambda handler of GET /, /console, /console/{proxy+},
// /portal and /portal/{proxy+}.
func (s *Site) Handle(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p := req.RawPath
	if p == "" {
		p = req.RequestContext.HTTP.Path
	}
	switch p {
	case "/console/", "/portal/":
		// The apps live at /console and /portal: a greedy route such as
		// /console/{proxy+} needs at least one character after the slash,
		// so the gateway may not even route this address. Every page
		// names its scripts and styles by absolute path and modules
		// resolve against their own URL, so no trailing slash is needed.
		return s.redirect(strings.TrimSuffix(p, "/")), nil
	}
	name := resolve(p)
	if name == "" {
		return s.notFound(), nil
	}
	body, err := fs.ReadFile(s.files, name)
	if err != nil {
		return s.notFound(), nil
	}
	etag := s.etags[name]
	h := s.headers(contentType(name))
	h["ETag"] = etag
	if name == resetPage {
		// Its address held a live reset token a moment ago: no cache may
		// keep anything of it.
		h["Cache-Control"] = "no-store"
	}
	if inm := req.Headers["if-none-match"]; inm != "" && inm == etag {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: h}, nil
	}
	if req.RequestContext.HTTP.Method == http.MethodHead {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h}, nil
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h, Body: string(body)}, nil
}

// resetPage is the page e-mailed reset links open.
const resetPage = "portal/reset.html"

// resolve maps a request path to an embedded file name, or "" when the path
// cannot name one (traversal, hidden files, directories other than the
// apps' roots).
func resolve(p string) string {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
		return ""
	}
	clean := path.Clean(p)
	if clean != p && clean+"/" != p {
		return ""
	}
	switch p {
	case "/":
		return "index.html"
	case "/console":
		return "console/index.html"
	case "/portal":
		return "portal/index.html"
	case "/portal/reset":
		// The e-mailed link's page: /portal/reset#token=…
		return resetPage
	}
	name := strings.TrimPrefix(clean, "/")
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return ""
		}
	}
	top, rest, _ := strings.Cut(name, "/")
	if top != "console" && top != "portal" {
		return ""
	}
	// Each app has the shared modules under its own path: the template's
	// routes are the two apps and the landing page, nothing else.
	if shared, ok := strings.CutPrefix(rest, "shared/"); ok {
		name = "shared/" + shared
	}
	if !strings.Contains(path.Base(name), ".") {
		return ""
	}
	return name
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (s *Site) headers(ct string) map[string]string {
	return map[string]string{
		"Content-Type":               ct,
		"Content-Security-Policy":    s.csp,
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
		// Revalidate every time (an ETag makes that cheap), so a deploy is
		// seen at once and the reset page is never served from a cache.
		"Cache-Control": "no-cache",
	}
}

func (s *Site) redirect(to string) events.APIGatewayV2HTTPResponse {
	h := s.headers("text/plain; charset=utf-8")
	h["Location"] = to
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusMovedPermanently, Headers: h, Body: "moved to " + to + "\n"}
}

func (s *Site) notFound() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotFound, Headers: s.headers("text/plain; charset=utf-8"), Body: "not found\n"}
}
