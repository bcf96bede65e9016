package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// site serves the pages the harness tests use, under the same CSP the web
// UI sends.
func site(tb testing.TB) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html><head><title>t</title>`+body)
		}
	}
	script := func(js string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, js)
		}
	}
	mux.Handle("GET /ok", page(`<script type="module" src="/ok.js"></script></head><body>
		<label for="name">Name</label><input id="name" value="old">
		<label for="kind">Kind</label><select id="kind"><option value="a">First</option><option value="b">Second</option></select>
		<label for="file">File</label><input id="file" type="file">
		<button id="go" type="button">Go</button><p id="out"></p><p id="later" hidden>done</p></body></html>`))
	mux.Handle("GET /ok.js", script(`
		const out = document.getElementById('out');
		document.getElementById('go').addEventListener('click', () => {
			const f = document.getElementById('file').files[0];
			out.textContent = 'name=' + document.getElementById('name').value +
				' kind=' + document.getElementById('kind').value + ' file=' + (f ? f.name : '');
			// A change after an await: WaitText must see it without polling.
			fetch('/api/401').then(() => { document.getElementById('later').hidden = false; });
		});`))
	mux.HandleFunc("GET /api/401", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) })
	mux.Handle("GET /console-error", page(`<script src="/console-error.js"></script></head><body></body></html>`))
	mux.Handle("GET /console-error.js", script(`console.error("boom from the page")`))
	mux.Handle("GET /exception", page(`<script src="/exception.js"></script></head><body></body></html>`))
	mux.Handle("GET /exception.js", script(`throw new Error("uncaught in the page")`))
	mux.Handle("GET /inline-script", page(`<script>document.title = "ran"</script></head><body></body></html>`))
	mux.Handle("GET /inline-style", page(`</head><body><p style="color: red">x</p></body></html>`))
	mux.Handle("GET /missing-script", page(`<script src="/nope.js"></script></head><body></body></html>`))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// recorder stands in for a test whose failure is the expected outcome.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	msgs     []string
	logs     []string
	skipped  string
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs) > 0
}
func (r *recorder) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

// inGoroutine runs f with rec as its test, as the testing package would: a
// Fatal ends only that goroutine, and then the cleanups run, last first.
func inGoroutine(rec *recorder, f func(tb testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(rec.cleanups) - 1; i >= 0; i-- {
				rec.cleanups[i]()
			}
		}()
		f(rec)
	}()
	<-done
}

func TestPageActions(t *testing.T) {
	t.Parallel()
	srv := site(t)
	p := browser.New(t).Page(t)
	file := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(file, []byte("a,b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Go(srv.URL + "/ok")
	p.Fill("#name", "Ada Lovelace")
	p.Fill("#kind", "b")
	p.Upload("#file", file)
	p.Click("#go")
	p.WaitText("#out", "file=users.csv")
	if got, want := p.Text("#out"), "name=Ada Lovelace kind=b file=users.csv"; got != want {
		t.Errorf("Text(#out) = %q, want %q", got, want)
	}
	// A fetch answered 401 is the page's business, not a logged error.
	p.WaitVisible("#later")
	var sum int
	p.Eval(`Promise.resolve(40 + 2)`, &sum)
	if sum != 42 {
		t.Errorf("Eval = %d, want 42", sum)
	}
}

// TestWithoutChromium: a machine without the browser skips, saying why; CI
// fails, where a skip would pass unnoticed.
func TestWithoutChromium(t *testing.T) {
	t.Setenv("LIBACCOUNTS_CHROMIUM", filepath.Join(t.TempDir(), "no-chromium"))
	for _, c := range []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"", false}, {"false", false}} {
		t.Run("CI="+c.ci, func(t *testing.T) {
			t.Setenv("CI", c.ci)
			rec := &recorder{TB: t}
			inGoroutine(rec, func(tb testing.TB) {
				browser.New(tb)
				tb.Errorf("New returned without a browser")
			})
			failed, skipped := rec.failures(), rec.skipped
			switch {
			case c.wantFail && (failed == "" || skipped != ""):
				t.Errorf("failed %q, skipped %q; want a failure", failed, skipped)
			case !c.wantFail && (failed != "" || skipped == ""):
				t.Errorf("failed %q, skipped %q; want a skip", failed, skipped)
			case !strings.Contains(failed+skipped, "no-chromium is not a program"):
				t.Errorf("the reason %q does not name the missing program", failed+skipped)
			}
		})
	}
}

// TestSecureCookiesOnLoopback settles whether Chromium keeps __Host- (so
// Secure) cookies that a plain-http server on 127.0.0.1 sets, as the local
// stack's API does: loopback is a secure context, so it should.
func TestSecureCookiesOnLoopback(t *testing.T) {
	t.Parallel()
	srv := site(t)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want http://127.0.0.1", srv.URL)
	}
	srv.Config.Handler.(*http.ServeMux).HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "__Host-session=s3cret; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=600")
		w.Header().Add("Set-Cookie", "__Host-csrf=c5rf; Path=/; Secure; SameSite=Strict; Max-Age=600")
		w.WriteHeader(http.StatusNoContent)
	})
	srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Cookie"))
	})
	p := browser.New(t).Page(t)
	p.Go(srv.URL + "/ok")
	var got struct{ Doc, Sent string }
	p.Eval(`(async () => {
		await fetch('/login', {method: 'POST'});
		const sent = await (await fetch('/echo')).text();
		return {Doc: document.cookie, Sent: sent};
	})()`, &got)
	if got.Doc != "__Host-csrf=c5rf" {
		t.Errorf("document.cookie = %q, want only __Host-csrf=c5rf (the session cookie is HttpOnly)", got.Doc)
	}
	if !strings.Contains(got.Sent, "__Host-session=s3cret") || !strings.Contains(got.Sent, "__Host-csrf=c5rf") {
		t.Errorf("the browser sent Cookie %q, want both cookies", got.Sent)
	}
}

func TestPageFailsTheTest(t *testing.T) {
	t.Parallel()
	srv := site(t)
	b := browser.New(t)
	for _, c := range []struct {
		name string
		run  func(p *browser.Page)
		want string // in the failure
	}{
		{"console error", func(p *browser.Page) { p.Go(srv.URL + "/console-error") }, "boom from the page"},
		{"uncaught exception", func(p *browser.Page) { p.Go(srv.URL + "/exception") }, "uncaught in the page"},
		{"inline script refused by CSP", func(p *browser.Page) { p.Go(srv.URL + "/inline-script") }, "Content Security Policy"},
		{"inline style refused by CSP", func(p *browser.Page) { p.Go(srv.URL + "/inline-style") }, "Content Security Policy"},
		{"missing script", func(p *browser.Page) { p.Go(srv.URL + "/missing-script") }, "404"},
		{"wait text times out", func(p *browser.Page) {
			p.Timeout = 500e6
			p.Go(srv.URL + "/ok")
			p.WaitText("#out", "never")
		}, `wait for "never"`},
		{"eval rejects", func(p *browser.Page) { p.Eval(`Promise.reject(new Error("nope"))`, nil) }, "nope"},
		{"click finds nothing", func(p *browser.Page) {
			p.Timeout = 500e6
			p.Go(srv.URL + "/ok")
			p.Click("#absent")
		}, "click #absent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			inGoroutine(rec, func(tb testing.TB) {
				p := b.Page(tb)
				c.run(p)
				// An error logged late surfaces at the next action.
				p.Eval(`1`, nil)
			})
			got := rec.failures()
			if got == "" {
				t.Fatalf("the test did not fail, want a failure mentioning %q", c.want)
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("failure %q does not mention %q", got, c.want)
			}
			// The failed page left a screenshot, and said where.
			shot := ""
			for _, l := range rec.logs {
				if _, f, ok := strings.Cut(l, "screenshot "); ok {
					shot = f
				}
			}
			if shot == "" {
				t.Fatalf("no screenshot logged; logs: %q", rec.logs)
			}
			if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
				t.Errorf("screenshot %s: %v", shot, err)
			}
			if !strings.Contains(filepath.ToSlash(shot), "/bin/screenshots/"+strings.ReplaceAll(t.Name(), "/", "_")+"/") {
				t.Errorf("screenshot %s is not in bin/screenshots/<TestName>/", shot)
			}
			// It is expected; leave no confusing file behind.
			os.RemoveAll(filepath.Dir(shot))
		})
	}
}
