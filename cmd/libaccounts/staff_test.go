package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

var createdID = regexp.MustCompile(`created \(id ([a-z0-9]+)\)`)

// create makes a user through the CLI and returns its id.
func create(h *harness, stdin string, args ...string) string {
	h.t.Helper()
	out := h.must(stdin, append([]string{"users", "create"}, args...)...)
	m := createdID.FindStringSubmatch(out)
	if m == nil {
		h.t.Fatalf("users create %v: no id in:\n%s", args, out)
	}
	return m[1]
}

// lines is the output's lines but the header of a table.
func rows(out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[1:]
}

func TestUsersCommands(t *testing.T) {
	h, _ := newStaffHarness(t)
	out := h.must("temporary passphrase 1\n", "users", "create", "sadie.p", "--email", "sadie@example.org", "--barcode", "21234", "--primary-id", "0012345")
	if !strings.Contains(out, "user sadie.p created (id ") || !strings.Contains(out, "must change the password at their first sign-in") {
		t.Errorf("create:\n%s", out)
	}
	sadie := createdID.FindStringSubmatch(out)[1]
	out = h.must("", "users", "create", "bob", "--generate-password")
	if !strings.Contains(out, "password (shown once, store it now): ") {
		t.Errorf("create --generate-password:\n%s", out)
	}
	create(h, "a perfectly fine passphrase\n", "desk.template", "--queues", "circulation,ill", "--canned-message-pools", "desk")
	// The template is named by username: the CLI finds its id.
	create(h, "a perfectly fine passphrase\n", "desk.two", "--copy-settings-from", "Desk.Template")
	if out := h.must("", "users", "get", "desk.two"); !regexp.MustCompile(`queues\s+circulation, ill`).MatchString(out) {
		t.Errorf("copy-settings-from did not copy the queues:\n%s", out)
	}

	list := []struct {
		args []string
		want []string // usernames, in order
	}{
		{args: nil, want: []string{"admin", "bob", "desk.template", "desk.two", "sadie.p"}},
		{args: []string{"--prefix", "DESK"}, want: []string{"desk.template", "desk.two"}},
		{args: []string{"--email", "SADIE@example.org"}, want: []string{"sadie.p"}},
		{args: []string{"--barcode", "21234"}, want: []string{"sadie.p"}},
		{args: []string{"--primary-id", "0012345"}, want: []string{"sadie.p"}},
		{args: []string{"--primary-id", "12345"}, want: nil}, // leading zeros count
		{args: []string{"--role", "admin"}, want: []string{"admin"}},
		{args: []string{"--no-role", "--prefix", "b"}, want: []string{"bob"}},
	}
	for _, tt := range list {
		t.Run("list "+strings.Join(tt.args, " "), func(t *testing.T) {
			out := h.must("", append([]string{"users", "list"}, tt.args...)...)
			if tt.want == nil {
				if out != "no users\n" {
					t.Fatalf("want no users:\n%s", out)
				}
				return
			}
			var got []string
			for _, l := range rows(out) {
				got = append(got, strings.Fields(l)[0])
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("users %v, want %v:\n%s", got, tt.want, out)
			}
		})
	}

	// Pages: the hint on standard error is the next command to run.
	r := h.run("", "users", "list", "--limit", "2", "--prefix", "d")
	if r.code != 0 || len(rows(r.stdout)) != 2 || strings.Contains(r.stderr, "more:") {
		t.Fatalf("two users, a page of two: exit %d:\n%s", r.code, r.all())
	}
	r = h.run("", "users", "list", "--limit", "1", "--prefix", "d")
	hint := regexp.MustCompile(`more: libaccounts users list --limit 1 --prefix d --cursor (\S+)`).FindStringSubmatch(r.stderr)
	if r.code != 0 || hint == nil || !strings.Contains(r.stdout, "desk.template") {
		t.Fatalf("first page of one: exit %d:\n%s", r.code, r.all())
	}
	cursor := strings.Trim(hint[1], "'")
	if out := h.must("", "users", "list", "--limit", "1", "--prefix", "d", "--cursor", cursor); !strings.Contains(out, "desk.two") {
		t.Errorf("second page:\n%s", out)
	}

	// get by username (any case) or by id.
	for _, who := range []string{"Sadie.P", sadie} {
		out := h.must("", "users", "get", who)
		for _, want := range []string{"username", "sadie.p", "id", sadie, "status", "active", "barcode", "21234", "primary ID", "0012345", "must change password  yes"} {
			if !strings.Contains(out, want) {
				t.Errorf("get %s lacks %q:\n%s", who, want, out)
			}
		}
	}

	if out := h.must("", "users", "deactivate", "sadie.p"); !strings.Contains(out, "user sadie.p deactivated") || !strings.Contains(out, "libaccounts users reactivate sadie.p") {
		t.Errorf("deactivate:\n%s", out)
	}
	if out := h.must("", "users", "list", "--status", "inactive"); len(rows(out)) != 1 || !strings.HasPrefix(rows(out)[0], "sadie.p ") {
		t.Errorf("list --status inactive:\n%s", out)
	}
	if out := h.must("", "users", "reactivate", sadie); !strings.Contains(out, "user sadie.p reactivated") {
		t.Errorf("reactivate:\n%s", out)
	}

	refused := []struct {
		name string
		args []string
		want string
	}{
		{name: "delete without --confirm", args: []string{"users", "delete", "sadie.p"}, want: "cannot be undone: repeat the username with --confirm USERNAME"},
		{name: "delete with another name", args: []string{"users", "delete", "sadie.p", "--confirm", "bob"}, want: "user sadie.p not deleted: "},
		{name: "no such user", args: []string{"users", "get", "nobody"}, want: `no user "nobody" in demo`},
		{name: "taken username", args: []string{"users", "create", "SADIE.P", "--generate-password"}, want: "user SADIE.P not created: username is already taken (HTTP 409"},
		{name: "bad status", args: []string{"users", "list", "--status", "gone"}, want: "--status must be active or inactive"},
		{name: "role and no-role", args: []string{"users", "list", "--role", "admin", "--no-role"}, want: "exclude each other"},
		{name: "no verb", args: []string{"users"}, want: "users needs a subcommand: create, deactivate, delete, get, list, reactivate"},
		{name: "two arguments", args: []string{"users", "get", "a", "b"}, want: "users get needs USER"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run("", tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, want 2 with %q:\n%s", r.code, tt.want, r.all())
			}
		})
	}
	if out := h.must("", "users", "get", "sadie.p"); !strings.Contains(out, sadie) {
		t.Fatalf("a refused delete deleted:\n%s", out)
	}
	if out := h.must("", "users", "delete", "sadie.p", "--confirm", "Sadie.P"); !strings.Contains(out, "user sadie.p deleted for good") {
		t.Errorf("delete:\n%s", out)
	}
	if r := h.run("", "users", "get", sadie); r.code != 2 || !strings.Contains(r.stderr, "no user") {
		t.Errorf("get after delete: exit %d:\n%s", r.code, r.all())
	}
}

func TestSetsCommands(t *testing.T) {
	h, api := newStaffHarness(t)
	if out := h.must("", "sets", "list"); !strings.Contains(out, "no sets") {
		t.Errorf("empty list:\n%s", out)
	}
	// A set import needs the bucket and the workers; the store makes the
	// set they would.
	ctx := context.Background()
	ids := map[string]string{}
	for _, u := range []string{"ann", "ben", "cy"} {
		ids[u] = create(h, "a perfectly fine passphrase\n", u, "--primary-id", "P-"+u)
	}
	const setID = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	set := accounts.Set{TenantID: "demo", ID: setID, Name: "Spring password resets", JobID: "imp1", Status: accounts.SetReady, Members: 3, CreatedBy: "admin", CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	if err := api.store.CreateSet(ctx, set); err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"ann", "ben", "cy"} {
		if _, err := api.store.AddSetMember(ctx, "demo", setID, "imp1", accounts.SetMember{UserID: ids[u], Username: u, PrimaryID: "P-" + u, Row: i + 2}); err != nil {
			t.Fatal(err)
		}
	}
	out := h.must("", "sets", "list")
	if len(rows(out)) != 1 || !regexp.MustCompile(setID+`\s+Spring password resets\s+ready\s+3\s+2026-03-01 09:00 UTC\s+imp1`).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
	out = h.must("", "sets", "get", setID)
	if !strings.Contains(out, `set "Spring password resets" (id `+setID+`): ready, 3 members`) || len(rows(out)) != 4 {
		t.Errorf("get:\n%s", out)
	}
	if !regexp.MustCompile(`2\s+ann\s+P-ann\s+` + ids["ann"]).MatchString(out) {
		t.Errorf("get lacks ann's row:\n%s", out)
	}
	r := h.run("", "sets", "get", setID, "--limit", "2")
	hint := regexp.MustCompile(`more: libaccounts sets get ` + setID + ` --limit 2 --cursor (\S+)`).FindStringSubmatch(r.stderr)
	if r.code != 0 || hint == nil || len(rows(r.stdout)) != 3 { // the set's line, the header, two members
		t.Fatalf("first page: exit %d:\n%s", r.code, r.all())
	}
	next := h.must("", "sets", "get", setID, "--limit", "2", "--cursor", strings.Trim(hint[1], "'"))
	if len(rows(next)) != 2 {
		t.Fatalf("second page:\n%s", next)
	}
	for _, u := range []string{"ann", "ben", "cy"} {
		if strings.Contains(r.stdout, " "+u+" ") == strings.Contains(next, " "+u+" ") {
			t.Errorf("%s is on neither or both pages:\n%s\n%s", u, r.stdout, next)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{args: []string{"sets", "get", "../users"}, want: "is not a set ID"},
		{args: []string{"sets", "get", "bbbbbbbbbbbbbbbbbbbbbbbbbb"}, want: "(HTTP 404"},
		{args: []string{"sets", "get", setID, "--limit", "1001"}, want: "--limit must be between 1 and 1000"},
		{args: []string{"sets", "list", "extra"}, want: "sets list takes no arguments"},
	} {
		if r := h.run("", tt.args...); r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tt.args, r.code, tt.want, r.all())
		}
	}
}

func TestAuditCommand(t *testing.T) {
	h, _ := newStaffHarness(t)
	sadie := create(h, "temporary passphrase 1\n", "sadie.p")
	h.must("", "users", "deactivate", "sadie.p")

	tests := []struct {
		name    string
		args    []string
		actions []string // the ACTION column, newest first
	}{
		{name: "all", actions: []string{"user.deactivate", "user.create", "tenant.bootstrap"}},
		{name: "by target username", args: []string{"--target", "sadie.p"}, actions: []string{"user.deactivate", "user.create"}},
		{name: "by target id", args: []string{"--target", sadie, "--action", "user.create"}, actions: []string{"user.create"}},
		{name: "by the operator", args: []string{"--actor", "operator"}, actions: []string{"tenant.bootstrap"}},
		{name: "long ago", args: []string{"--to", "2000-01-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.must("", append([]string{"audit"}, tt.args...)...)
			if len(tt.actions) == 0 {
				if out != "no events\n" {
					t.Fatalf("want no events:\n%s", out)
				}
				return
			}
			var got []string
			for _, l := range rows(out) {
				got = append(got, strings.Fields(l)[4]) // AT is three words
			}
			if strings.Join(got, " ") != strings.Join(tt.actions, " ") {
				t.Errorf("actions %v, want %v:\n%s", got, tt.actions, out)
			}
		})
	}
	if out := h.must("", "audit", "--action", "user.create"); !regexp.MustCompile(`admin\s+user.create\s+sadie.p`).MatchString(out) {
		t.Errorf("actor and target are not named:\n%s", out)
	}

	r := h.run("", "audit", "--limit", "1")
	if r.code != 0 || len(rows(r.stdout)) != 1 || !strings.Contains(r.stderr, "more: libaccounts audit --limit 1 --cursor ") {
		t.Errorf("--limit 1: exit %d:\n%s", r.code, r.all())
	}

	file := filepath.Join(h.wd, "audit.csv")
	if r := h.run("", "audit", "--format", "csv", "-o", file); r.code != 0 || !strings.Contains(r.stderr, "audit export written to "+file) {
		t.Fatalf("csv: exit %d:\n%s", r.code, r.all())
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(file)
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "id" || recs[1][4] != "user.deactivate" {
		t.Errorf("csv (%v):\n%s", err, data)
	}

	// --limit caps an export; without it the export holds every event.
	out := h.must("", "audit", "--format", "csv", "--limit", "1")
	recs, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	events := 0
	for _, rec := range recs[1:] {
		if !strings.HasPrefix(rec[0], "#") { // the API's note that more match
			events++
		}
	}
	if err != nil || events != 1 {
		t.Errorf("csv --limit 1 (%v):\n%s", err, out)
	}
	out = h.must("", "audit", "--format", "json", "--target", "sadie.p")
	var page apiwire.AuditList
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Events) != 2 || page.Events[0].TargetUsername != "sadie.p" {
		t.Errorf("json (%v):\n%s", err, out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{args: []string{"audit", "--from", "yesterday"}, want: "--from: \"yesterday\" is neither an RFC 3339 time"},
		{args: []string{"audit", "--format", "xml"}, want: "--format must be table, csv or json"},
		{args: []string{"audit", "-o", "x.csv"}, want: "-o goes with --format csv or json"},
		{args: []string{"audit", "--limit", "0"}, want: "--limit must be between 1 and 1000"},
		{args: []string{"audit", "--actor", "nobody"}, want: `no user "nobody"`},
	} {
		if r := h.run("", tt.args...); r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tt.args, r.code, tt.want, r.all())
		}
	}
}

func TestSettingsCommands(t *testing.T) {
	h, _ := newStaffHarness(t)
	out := h.must("", "settings", "get")
	for _, want := range []string{"library", "demo (Demo library)", "password min length", "username format", "any", "version"} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %q:\n%s", want, out)
		}
	}
	out = h.must("", "settings", "set", "--password-min-length", "20", "--username-format", "demo-{first}-{last1}", "--staff-passwords-must-change=false", "--sender-name", "Demo Library")
	for _, re := range []string{`settings changed:`, `password min length\s+20`, `username format\s+demo-\{first\}-\{last1\} \(e\.g\. `, `staff passwords must change\s+no`, `sender name\s+Demo Library`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("set lacks %s:\n%s", re, out)
		}
	}
	// What was not given stays.
	if out := h.must("", "settings", "set", "--reset-link-ttl", "30m"); !regexp.MustCompile(`password min length\s+20`).MatchString(out) || !regexp.MustCompile(`reset link lasts\s+30m`).MatchString(out) {
		t.Errorf("a second set changed more than it named:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{args: []string{"settings", "set"}, want: "settings set needs at least one setting"},
		{args: []string{"settings", "set", "--reset-link-ttl", "a while"}, want: "resetLinkTtl must be a duration"},
		{args: []string{"settings", "set", "--password-min-length", "3"}, want: "field passwordPolicy.minLength"},
	} {
		if r := h.run("", tt.args...); r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tt.args, r.code, tt.want, r.all())
		}
	}
}

// TestWireTypesMatchTheAPI decodes what the real handlers answer into the
// shared types with unknown fields refused, so that a field the API gains
// and apiwire lacks fails here rather than vanishing in the CLI.
func TestWireTypesMatchTheAPI(t *testing.T) {
	h, api := newStaffHarness(t)
	sadie := create(h, "temporary passphrase 1\n", "sadie.p", "--email", "s@example.org", "--barcode", "21234", "--primary-id", "0012345")
	ctx := context.Background()
	const setID = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	if err := api.store.CreateSet(ctx, accounts.Set{TenantID: "demo", ID: setID, Name: "S", JobID: "imp1", Status: accounts.SetReady, Members: 1, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.store.AddSetMember(ctx, "demo", setID, "imp1", accounts.SetMember{UserID: sadie, Username: "sadie.p", PrimaryID: "0012345", Row: 2}); err != nil {
		t.Fatal(err)
	}
	a, _, _ := h.newApp("")
	sess, err := a.loadSession()
	if err != nil || sess == nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		into               any
	}{
		{"POST", "/v1/auth/login", `{"tenant":"demo","username":"admin","password":"` + realAdminPassword + `"}`, &apiwire.LoginResponse{}},
		{"POST", "/v1/auth/login", `{"tenant":"demo","username":"admin","password":"wrong"}`, &apiwire.ErrorBody{}},
		{"GET", "/v1/admin/users?limit=5", "", &apiwire.UserList{}},
		{"GET", "/v1/admin/users/" + sadie, "", &apiwire.User{}},
		{"POST", "/v1/admin/users", `{"username":"bob","generatePassword":true,"roles":[]}`, &apiwire.CreateUserResponse{}},
		{"POST", "/v1/admin/users/" + sadie + "/deactivate", "", &apiwire.UserStatusResponse{}},
		{"GET", "/v1/admin/sets", "", &apiwire.SetList{}},
		{"GET", "/v1/admin/sets/" + setID, "", &apiwire.SetDetail{}},
		{"GET", "/v1/admin/audit", "", &apiwire.AuditList{}},
		{"GET", "/v1/admin/settings", "", &apiwire.Settings{}},
		{"PATCH", "/v1/admin/settings", `{"senderName":"Demo"}`, &apiwire.Settings{}},
		{"GET", "/v1/admin/imports", "", &apiwire.ImportList{}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, api.URL+tt.path, body)
			req.Header.Set("Authorization", "Bearer "+sess.Token)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.into); err != nil {
				t.Fatalf("HTTP %d: %v:\n%s", resp.StatusCode, err, data)
			}
		})
	}
}
