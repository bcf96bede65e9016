// Package browser drives a headless Debian Chromium for the browser tests of
// the web UIs: one browser per test, one tab per Page. Every Page fails its
// test on a console error, an uncaught exception or a refused resource
// (which is how a Content-Security-Policy violation shows), and when its test
// has failed it saves a screenshot under bin/screenshots/<TestName>/.
//
// It is test support for the dev stack: no function binary may link it.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// DefaultTimeout bounds one Page action (a navigation, a wait, a click). The
// test machines are small and shared, so it is generous; a test that needs
// less can set Page.Timeout.
const DefaultTimeout = 20 * time.Second

// launchTimeout bounds starting Chromium.
const launchTimeout = 60 * time.Second

// ExecPath is the Debian package's binary (`make tools` installs it).
const ExecPath = "/usr/bin/chromium"

// Browser is one Chromium process owned by one test.
type Browser struct {
	ctx  context.Context // the browser's first tab; pages are siblings of it
	name string          // the owning test's name, for the screenshot folder

	mu    sync.Mutex
	pages []*Page
	shots int
}

// New starts Chromium for tb and stops it when tb ends. Without Chromium the
// test is skipped with the reason, or fails under CI=true, where a skipped
// browser test would pass unnoticed.
func New(tb testing.TB) *Browser {
	tb.Helper()
	path, err := chromiumPath()
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			tb.Fatalf("browser tests need Chromium (make tools installs it): %v", err)
		}
		tb.Skipf("browser tests need Chromium (make tools installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners have no user namespaces for it
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// Nothing but the page under test may reach the network: no QUIC
		// probes, updates, sync or field trials.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Run binds the browser's life to ctx, so it must carry no
	// deadline; the launch is bounded from outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(launchTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		err = fmt.Errorf("no answer after %s", launchTimeout)
	}
	if err != nil {
		cancel()
		cancelAlloc()
		tb.Fatalf("start Chromium %s: %v", path, err)
	}
	b := &Browser{ctx: ctx, name: tb.Name()}
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Registered after the stop, so it runs before it: pages another test
	// (a parent) still holds are saved too.
	tb.Cleanup(func() {
		if tb.Failed() {
			b.screenshotAll(tb)
		}
	})
	return b
}

// chromiumPath is $LIBACCOUNTS_CHROMIUM when set (another build, or a
// test of the missing-browser rule), else ExecPath, else chromium on PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("LIBACCOUNTS_CHROMIUM"); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			return "", fmt.Errorf("LIBACCOUNTS_CHROMIUM=%s is not a program", p)
		}
		return p, nil
	}
	if fi, err := os.Stat(ExecPath); err == nil && !fi.IsDir() {
		return ExecPath, nil
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("no %s and no chromium on PATH", ExecPath)
	}
	return p, nil
}

// Page is one tab. Its methods fail the test (Fatal) when an action fails or
// times out, and when the page has logged an error since the last action.
type Page struct {
	b       *Browser
	tb      testing.TB
	ctx     context.Context
	close   context.CancelFunc
	n       int
	Timeout time.Duration // per action; DefaultTimeout unless set

	mu       sync.Mutex
	problems []string
	reported int
	closed   bool
	fetches  map[network.RequestID]bool // the page's own fetch/XHR requests
}

// Page opens a new tab owned by tb and closes it when tb ends.
func (b *Browser) Page(tb testing.TB) *Page {
	tb.Helper()
	p := &Page{b: b, tb: tb, Timeout: DefaultTimeout}
	// The listener is in place before the tab exists, so nothing the first
	// document logs is missed.
	p.ctx, p.close = chromedp.NewContext(b.ctx, chromedp.WithListener(p.observe))
	// The first Run opens the tab and ties it to p.ctx: no deadline here
	// either, but the browser is already running, so this is quick.
	if err := chromedp.Do(p.ctx); err != nil {
		p.close()
		tb.Fatalf("open a tab: %v", err)
	}
	b.mu.Lock()
	b.pages = append(b.pages, p)
	p.n = len(b.pages)
	b.mu.Unlock()
	tb.Cleanup(func() {
		p.mu.Lock()
		fresh := p.problems[p.reported:]
		p.reported = len(p.problems)
		p.mu.Unlock()
		if len(fresh) > 0 {
			tb.Errorf("page %d logged errors:\n%s", p.n, strings.Join(fresh, "\n"))
		}
		if tb.Failed() {
			p.save(tb, fmt.Sprintf("page%d", p.n))
		}
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.close()
	})
	return p
}

// observe runs in the tab's message loop: it must return at once and send
// no command.
func (p *Page) observe(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			problem = "console." + string(ev.Type) + ": " + argsText(ev.Args)
		}
	case *runtime.EventExceptionThrown:
		problem = "uncaught exception: " + exceptionText(ev.ExceptionDetails)
	case *log.EventEntryAdded:
		e := ev.Entry
		// A fetch the page makes may well answer 4xx (a 401 shows the
		// sign-in screen); the app reports those itself. A resource the
		// document itself needs failing, a CSP refusal, a blocked mixed
		// request: those the browser logs with another source.
		if e != nil && e.Level == log.EntryLevelError && !(e.Source == log.EntrySourceNetwork && (p.isFetch(e.NetworkRequestID) || isFavicon(e.URL))) {
			problem = fmt.Sprintf("browser log (%s): %s", e.Source, e.Text)
			if e.URL != "" {
				problem += " [" + e.URL + "]"
			}
		}
	case *network.EventRequestWillBeSent:
		if ev.Type == network.ResourceTypeFetch || ev.Type == network.ResourceTypeXHR {
			p.mu.Lock()
			if p.fetches == nil {
				p.fetches = map[network.RequestID]bool{}
			}
			p.fetches[ev.RequestID] = true
			p.mu.Unlock()
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

// isFavicon: Chromium asks every origin for /favicon.ico by itself; a
// page that names no icon did not ask for it.
func isFavicon(u string) bool {
	pu, err := url.Parse(u)
	return err == nil && pu.Path == "/favicon.ico"
}

func (p *Page) isFetch(id network.RequestID) bool {
	if id == "" {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches[id]
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a == nil:
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			s := string(a.Value)
			if u, err := strconv.Unquote(s); err == nil {
				s = u
			}
			parts = append(parts, s)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	if d.URL != "" {
		s += fmt.Sprintf(" at %s:%d", d.URL, d.LineNumber+1)
	}
	return s
}

// run runs steps within the action timeout and fails the test with what
// went wrong, and with anything the page has logged meanwhile.
func (p *Page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(what, err)
	}
	p.checkLog(what)
}

func (p *Page) fail(what string, err error) {
	p.tb.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("not done within %s: %w", p.Timeout, err)
	}
	p.mu.Lock()
	fresh := p.problems[p.reported:]
	p.reported = len(p.problems)
	p.mu.Unlock()
	msg := fmt.Sprintf("page %d: %s: %v", p.n, what, err)
	if len(fresh) > 0 {
		msg += "\nthe page logged:\n" + strings.Join(fresh, "\n")
	}
	p.tb.Fatal(msg)
}

// checkLog fails the test when the page logged an error since the last
// check.
func (p *Page) checkLog(what string) {
	p.tb.Helper()
	p.mu.Lock()
	fresh := p.problems[p.reported:]
	p.reported = len(p.problems)
	p.mu.Unlock()
	if len(fresh) > 0 {
		p.tb.Fatalf("page %d: during %s the page logged errors:\n%s", p.n, what, strings.Join(fresh, "\n"))
	}
}

// Keys types keys into whatever has the focus, as a keyboard would: "\t" is
// Tab, "\r" is Enter (chromedp/kb names the others). Keyboard-only tests
// use it to prove the pages need no mouse.
func (p *Page) Keys(keys string) {
	p.tb.Helper()
	p.run("press keys", chromedp.KeyEvent(keys))
}

// Viewport resizes the page's viewport (a phone is 320 px wide).
func (p *Page) Viewport(width, height int64) {
	p.tb.Helper()
	p.run(fmt.Sprintf("set the viewport to %dx%d", width, height), chromedp.EmulateViewport(width, height))
}

// Go navigates to url and waits for its load event.
func (p *Page) Go(url string) {
	p.tb.Helper()
	p.run("go to "+url, chromedp.Navigate(url))
}

// Click clicks the first visible element matching the CSS selector.
func (p *Page) Click(sel string) {
	p.tb.Helper()
	p.run("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// fillJS empties a field the way a user selecting all and deleting would
// (input events fire), or picks a <select>'s option by value.
const fillJS = `(el, text) => {
	if (el.tagName === 'SELECT') {
		el.value = text;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
		return 'select';
	}
	el.focus();
	el.value = '';
	el.dispatchEvent(new Event('input', {bubbles: true}));
	return 'text';
}`

// Fill replaces the text of the input or textarea matching sel by typing
// text, or chooses the option with value text of a <select>.
func (p *Page) Fill(sel, text string) {
	p.tb.Helper()
	var kind string
	p.run("fill "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			var err error
			kind, err = callOn[string](ctx, t, sel, fillJS, text)
			return err
		}),
	)
	if kind != "select" && text != "" {
		p.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
	}
}

// callOn calls fn(element, args...) on the first element matching sel.
func callOn[T any](ctx context.Context, t *chromedp.Target, sel, fn string, args ...any) (T, error) {
	all := append([]any{sel}, args...)
	return chromedp.PollFunction[T](`(sel, ...args) => { const el = document.querySelector(sel); return el && (`+fn+`)(el, ...args); }`,
		chromedp.WithPollingArgs(all...), chromedp.WithPollingMutation())(ctx, t)
}

// Text returns the visible text (innerText) of the first element matching
// sel, once it is visible.
func (p *Page) Text(sel string) string {
	p.tb.Helper()
	var s string
	p.run("read the text of "+sel, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		s, err = chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)(ctx, t)
		return err
	}))
	return s
}

// waitTextJS is true once an element matching sel shows substring.
const waitTextJS = `(sel, sub) => {
	for (const el of document.querySelectorAll(sel)) {
		if (el.innerText.includes(sub)) return true;
	}
	return false;
}`

// WaitText waits until an element matching sel shows substring, watching the
// DOM for changes (no polling interval).
func (p *Page) WaitText(sel, substring string) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](waitTextJS,
		chromedp.WithPollingArgs(sel, substring), chromedp.WithPollingMutation()))
	if err != nil {
		p.fail(fmt.Sprintf("wait for %q in %s (it shows %q)", substring, sel, p.peek(sel)), err)
	}
	p.checkLog("wait for text in " + sel)
}

// peek is what sel shows now, for a failure message; it never fails.
func (p *Page) peek(sel string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { const el = document.querySelector(%s); return el ? el.innerText : '(no such element)'; })()`, strconv.Quote(sel))))
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

// WaitVisible waits until an element matching sel is visible.
func (p *Page) WaitVisible(sel string) {
	p.tb.Helper()
	p.run("wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Upload puts the file at path into the file input matching sel (the
// input and change events fire as if the user had picked it).
func (p *Page) Upload(sel, path string) {
	p.tb.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		p.tb.Fatalf("upload %s: %v", path, err)
	}
	p.run("upload "+path+" into "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), []string{abs}, chromedp.NodeReady))
}

// Eval evaluates a JavaScript expression in the page, awaiting it when it is
// a promise, and decodes its JSON value into out (nil: ignore it). A thrown
// error or a rejected promise fails the test.
func (p *Page) Eval(expression string, out any) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expression, chromedp.EvalAwaitPromise, chromedp.EvalAsValue))
	if err != nil {
		p.fail("evaluate "+abbrev(expression), err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.tb.Fatalf("page %d: evaluate %s: decode %s: %v", p.n, abbrev(expression), abbrev(string(raw)), err)
		}
	}
	p.checkLog("evaluate " + abbrev(expression))
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Screenshot saves the whole page as <name>.png in the test's screenshot
// folder and logs where.
func (p *Page) Screenshot(name string) {
	p.tb.Helper()
	p.save(p.tb, name)
}

func (p *Page) save(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Logf("page %d: no screenshot: %v", p.n, err)
		return
	}
	dir, err := screenshotDir(tb.Name())
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	// FullScreenshot at quality 100 is a PNG (below it, a JPEG).
	file := filepath.Join(dir, fileName.ReplaceAllString(name, "_")+".png")
	if err == nil {
		err = os.WriteFile(file, buf, 0o644)
	}
	if err != nil {
		tb.Logf("page %d: screenshot not saved: %v", p.n, err)
		return
	}
	tb.Logf("page %d (%s): screenshot %s", p.n, p.location(), file)
}

func (p *Page) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return u
}

// screenshotAll saves every page still open (those of a parent test whose
// subtest failed).
func (b *Browser) screenshotAll(tb testing.TB) {
	b.mu.Lock()
	pages := append([]*Page(nil), b.pages...)
	b.mu.Unlock()
	for _, p := range pages {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			p.save(tb, fmt.Sprintf("page%d", p.n))
		}
	}
}

var fileName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshotDir is $LIBACCOUNTS_SCREENSHOTS/<test>, or
// <repo>/bin/screenshots/<test>: outside the test's temporary directory,
// which is gone by the time someone looks.
func screenshotDir(test string) (string, error) {
	base := os.Getenv("LIBACCOUNTS_SCREENSHOTS")
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		root, err := samtemplate.FindRepoRoot(wd)
		if err != nil {
			return "", err
		}
		base = filepath.Join(root, "bin", "screenshots")
	}
	return filepath.Join(base, fileName.ReplaceAllString(test, "_")), nil
}
