package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// session is what login keeps between commands. The token is a bearer
// credential: the file is readable by its owner only and the token is never
// printed.
type session struct {
	API                string    `json:"api"`
	Tenant             string    `json:"tenant"`
	Username           string    `json:"username"`
	Token              string    `json:"token"`
	ExpiresAt          time.Time `json:"expiresAt"`
	MustChangePassword bool      `json:"mustChangePassword,omitempty"`
}

// sessionPath is $XDG_CONFIG_HOME/libaccounts/session.json, by default
// ~/.config/libaccounts/session.json (on every system: staff follow one
// set of instructions).
func (a *app) sessionPath() (string, error) {
	base := a.getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) { // the XDG spec ignores relative paths
		home := a.getenv("HOME")
		if home == "" {
			return "", fail("cannot find your home directory to keep the session in: set HOME or XDG_CONFIG_HOME")
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "libaccounts", "session.json"), nil
}

// loadSession returns the stored session, or nil when there is none.
func (a *app) loadSession() (*session, error) {
	p, err := a.sessionPath()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fail("read the session: %v", err)
	}
	var s session
	if err := json.Unmarshal(data, &s); err != nil || s.Token == "" || s.API == "" {
		return nil, fail("the session in %s is damaged; run `libaccounts login` again", p)
	}
	return &s, nil
}

// saveSession writes the session atomically, 0600 in a 0700 directory.
func (a *app) saveSession(s session) error {
	p, err := a.sessionPath()
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail("keep the session: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // in case it existed, looser
		return fail("keep the session: %v", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fail("keep the session: %v", err)
	}
	f, err := os.CreateTemp(dir, ".session-*.json") // created 0600
	if err != nil {
		return fail("keep the session: %v", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fail("keep the session: %v", err)
	}
	return nil
}

func (a *app) deleteSession() error {
	p, err := a.sessionPath()
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail("forget the session: %v", err)
	}
	return nil
}

// stackInfo is the part of the local stack's stack.json the CLI reads.
type stackInfo struct {
	APIURL         string `json:"api_url"`
	Tenant         string `json:"tenant"`
	DynamoEndpoint string `json:"dynamodb_endpoint"`
	Table          string `json:"table"`
}

// apiTarget is an API base URL and where it came from.
type apiTarget struct {
	URL   string
	From  string     // "--api", "LIBACCOUNTS_API_URL" or the stack.json path
	Stack *stackInfo // when From is a stack.json
}

const noAPIHelp = "no API URL: pass --api URL, set LIBACCOUNTS_API_URL, or start the local stack with `make run` (its .local/stack.json names the API)"

// discoverAPI finds the API: the --api flag, else $LIBACCOUNTS_API_URL,
// else the local stack's stack.json.
func (a *app) discoverAPI(flagURL string) (apiTarget, error) {
	if flagURL != "" {
		u, err := normalizeAPI(flagURL, "--api")
		return apiTarget{URL: u, From: "--api"}, err
	}
	if v := a.getenv("LIBACCOUNTS_API_URL"); v != "" {
		u, err := normalizeAPI(v, "LIBACCOUNTS_API_URL")
		return apiTarget{URL: u, From: "LIBACCOUNTS_API_URL"}, err
	}
	p, info, err := a.readStack()
	if err != nil {
		return apiTarget{}, err
	}
	if info == nil {
		return apiTarget{}, fail(noAPIHelp)
	}
	if info.APIURL == "" {
		return apiTarget{}, fail("%s has no api_url; is the local stack (`make run`) up?", p)
	}
	u, err := normalizeAPI(info.APIURL, p)
	return apiTarget{URL: u, From: p, Stack: info}, err
}

// readStack reads the local stack's stack.json and says where it was; no
// stack.json is (nil, nil).
func (a *app) readStack() (string, *stackInfo, error) {
	p, ok := a.findStackJSON()
	if !ok {
		return "", nil, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return p, nil, fail("read %s: %v", p, err)
	}
	var info stackInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return p, nil, fail("%s is not valid JSON: %v", p, err)
	}
	return p, &info, nil
}

// findStackJSON looks for <data dir>/stack.json: an absolute
// $LIBACCOUNTS_DATA_DIR is taken as it is; a relative one, or the default
// .local, is looked for in the working directory and each of its parents,
// as `make run` puts it at the repository's root.
func (a *app) findStackJSON() (string, bool) {
	dataDir := a.getenv("LIBACCOUNTS_DATA_DIR")
	if dataDir == "" {
		dataDir = ".local"
	}
	if filepath.IsAbs(dataDir) {
		p := filepath.Join(dataDir, "stack.json")
		return p, isFile(p)
	}
	wd, err := a.getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		p := filepath.Join(dir, dataDir, "stack.json")
		if isFile(p) {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// normalizeAPI checks an API base URL and drops a trailing slash.
func normalizeAPI(raw, from string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fail("the API URL from %s (%q) is not an http(s) URL like https://api.example.org", from, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// isLoopback reports whether the API runs on this machine.
func isLoopback(apiURL string) bool {
	u, err := url.Parse(apiURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// signedIn returns the session for commands that need one, checks that an
// API named by --api or the environment is the session's (the token goes
// to no other server), and that it has not expired.
func (a *app) signedIn(flagURL string) (*client, error) {
	s, err := a.loadSession()
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fail("not signed in: run `libaccounts login` first")
	}
	want := ""
	switch {
	case flagURL != "":
		t, err := a.discoverAPI(flagURL)
		if err != nil {
			return nil, err
		}
		want = t.URL
	case a.getenv("LIBACCOUNTS_API_URL") != "":
		t, err := a.discoverAPI("")
		if err != nil {
			return nil, err
		}
		want = t.URL
	}
	if want != "" && want != s.API {
		return nil, fail("signed in to %s, not %s: run `libaccounts login --api %s`", s.API, want, want)
	}
	if !s.ExpiresAt.IsZero() && !a.now().Before(s.ExpiresAt) {
		return nil, fail("your session ended at %s; %s", a.clock(s.ExpiresAt), a.loginHint(s))
	}
	return &client{a: a, base: s.API, sess: s}, nil
}

// loginHint tells how to sign in again to the session's API.
func (a *app) loginHint(s *session) string {
	if t, err := a.discoverAPI(""); err == nil && t.URL == s.API {
		return "run `libaccounts login` again"
	}
	return fmt.Sprintf("run `libaccounts login --api %s` again", s.API)
}

func (a *app) clock(t time.Time) string { return t.In(a.loc).Format("2006-01-02 15:04 MST") }
