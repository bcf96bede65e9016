package stack_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/browser"
)

// TestConsoleJobsInTheBrowser walks the console's job screens as a
// librarian would, in Chromium against a whole local stack: a
// LibraryPass-style two-column upload checked by a dry run (its report names
// the bad row) and then imported, the file crossing to the local S3 through
// its CORS rule as it crosses to the bucket on AWS; a letter edited and
// previewed; the Alma-style set of primary IDs and Update/Notify Users on
// it, down to the mails in the outbox; a bulk reset with each filter; a job
// stopped from the task centre; a setting changed; the audit trail and its
// CSV export. It asserts on what the page shows.
func TestConsoleJobsInTheBrowser(t *testing.T) {
	t.Parallel()
	st, logs := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)
	defer func() {
		if t.Failed() {
			t.Logf("stack logs:\n%s", logs.String())
		}
	}()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	b := browser.New(t)
	consoleSignInScreen(t, b.Page(t), st.APIURL)
	// A tab per step, so that a step's failure ends only that step; the
	// browser keeps the session's cookie for them all.
	open := func(t *testing.T, route, title string) *browser.Page {
		p := b.Page(t)
		p.Go(st.APIURL + "/console/index.html#" + route)
		p.WaitText("#page-title", title)
		return p
	}

	t.Run("upload a two-column file: dry run, then for real", func(t *testing.T) {
		p := open(t, "/upload", "Upload a CSV file")
		// A row whose password the policy refuses: the dry run's report
		// says which row and why, and nothing is written.
		p.Upload("#upload-file", write("bad.csv", "lp.ann,ann long first passphrase\nlp.bob,short\n"))
		p.Click("#upload-check")
		p.WaitText("main", "Dry run finished")
		p.WaitText("#report-table", "lp.bob")
		row := p.Text("#report-table tr.jk-outcome-failed")
		if !strings.Contains(row, "2") || !strings.Contains(row, "failed") {
			t.Errorf("the refused row reads %q, want its row number 2 and failed", row)
		}
		if userCount(t, admin, "prefix=lp.") != 0 {
			t.Fatal("a dry run created users")
		}

		good := write("patrons.csv", "lp.ann,ann long first passphrase\nlp.bob,bob long first passphrase\nlp.cy,\"cy, long \"\"first\"\" passphrase\"\n")
		p.Upload("#upload-file", good)
		p.Click("#upload-check")
		p.WaitText(`[data-test="bar-ok"]`, "Dry run finished: 3 rows, 3 would be created")
		p.WaitText("#report-table", "would_create")
		p.Click("#upload-import")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully imported the file: 3 rows, 3 created, 0 updated, 0 skipped, 0 failed")
		p.WaitText("#upload-progress-label", "Done · 100%")
		p.WaitText("#report-table", "created")
		p.Click("#report-download")
		p.WaitText(`[data-test="report-note"]`, "Downloaded import-")
		p.WaitText(`[data-test="report-note"]`, ": 3 lines.")
		if n := userCount(t, admin, "prefix=lp."); n != 3 {
			_, all := admin.do("GET", "/v1/admin/users?limit=200", nil)
			t.Errorf("%d lp. users after the import, want 3; all: %v", n, all)
		}
		p.Click("#upload-task-link")
		p.WaitText("#page-title", "User upload")
		p.WaitText(`[data-test="job-status-fact"]`, "Done")
		p.WaitText("#report-table", "lp.cy")
	})

	t.Run("edit a letter and preview it", func(t *testing.T) {
		p := open(t, "/letters", "Letters")
		p.Fill("#letter-kind", "password-temporary")
		p.WaitText("#letter-form h2", "Temporary password")
		// A secret in the subject is refused with the API's reason.
		p.Fill("#letter-subject", "Your password is {{temporaryPassword}}")
		p.Click("#letter-preview-btn")
		p.WaitText(`[data-test="bar-error"]`, "subject")
		if v := attr(t, p, "#letter-subject", "aria-invalid"); v != "true" {
			t.Errorf("subject aria-invalid = %q after a refused preview", v)
		}
		p.Fill("#letter-subject", "Your new {{libraryName}} password")
		p.Fill("#letter-body", "Hello {{username}},\n\nstaff set a temporary password for you: {{temporaryPassword}}\nSign in at {{signInUrl}} with library code {{libraryCode}}.\n")
		p.Click("#letter-preview-btn")
		p.WaitText("main", "Preview with sample data")
		p.WaitText(`[data-test="preview-body"]`, "staff set a temporary password for you: SAMPLE-not-a-real-password")
		p.WaitText(`[data-test="preview-body"]`, "Hello sample.patron")
		p.Click("#letter-save")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated Letter")
		p.WaitText(`[data-test="letter-state"]`, "version 1, last edited by admin")
		status, body := admin.do("GET", "/v1/admin/letters/password-temporary", nil)
		want(t, "the letter", status, 200, body)
		if body["subject"] != "Your new {{libraryName}} password" || body["custom"] != true {
			t.Errorf("the API has %v", body)
		}
	})

	var setID string
	t.Run("a set from an ID file, then Update/Notify Users", func(t *testing.T) {
		for _, u := range []map[string]any{
			{"username": "set.ann", "password": "set ann first passphrase", "primaryId": "0012345", "email": "set.ann@kpu.example"},
			{"username": "set.bob", "password": "set bob first passphrase", "primaryId": "0000789", "email": "set.bob@kpu.example"},
			{"username": "set.cy", "password": "set cy first passphrase", "primaryId": "00042"},
		} {
			status, body := admin.do("POST", "/v1/admin/users", u)
			want(t, "create "+u["username"].(string), status, 201, body)
		}
		p := open(t, "/sets", "Sets")
		p.Click("#sets-add")
		p.WaitText("#page-title", "Upload a CSV file")
		var isSet bool
		p.Eval(`document.querySelector('#upload-kind-set').checked`, &isSet)
		if !isSet {
			t.Error("Add a set did not open the upload as a set")
		}
		p.Fill("#upload-set-name", "Spring password resets")
		p.Upload("#upload-file", write("ids.csv", "User name\n0012345\n'0000789\n00042\n0999999\n"))
		p.Click("#upload-check")
		p.WaitText("#upload-counts", "4 rows, 3 would be added, 0 duplicates, 1 not found")
		p.WaitText("#report-table", "0999999")
		p.Click("#upload-import")
		p.WaitText("#upload-counts", "4 rows, 3 added, 0 duplicates, 1 not found")
		p.Click(`#nav a[href="#/sets"]`)
		p.Click(`[data-test="set-Spring password resets"]`)
		p.WaitText("#page-title", `Set "Spring password resets"`)
		p.WaitText(`[data-test="set-members"]`, "3")
		p.WaitText("#set-members-table", "set.bob")
		p.WaitText("#set-members-table", "0000789")
		p.Eval(`decodeURIComponent(location.hash.slice('#/sets/'.length))`, &setID)

		p.Fill("#notify-mode", "temporary")
		p.Click("#notify-start")
		p.Click(`[data-test="dialog-run"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Successfully started Update/Notify Users on \"Spring password resets\"")
		p.WaitText("#page-title", "Password reset: the members of a set")
		p.WaitText(`[data-test="job-status-fact"]`, "Done")
		p.WaitText(`[data-test="job-counts"]`, "3 matched, 2 changed, 0 skipped, 1 without e-mail, 0 failed")
		p.WaitText(`[data-test="job-notices"]`, "2 sent, 0 waiting, 0 failed")
		p.WaitText("#report-table", "no_email")

		awaitQueueEmpty(t, st.QueueStats, "NoticeQueue", time.Minute)
		counts := mailCounts(t, anon, "@kpu.example")
		for _, addr := range []string{"set.ann@kpu.example", "set.bob@kpu.example"} {
			if counts[addr] != 1 {
				t.Errorf("%s: %d mails, want 1 (outbox %v)", addr, counts[addr], counts)
			}
		}
		if subject, text := lastMail(t, anon, "set.bob@kpu.example"); !strings.Contains(subject, "password") || !strings.Contains(text, "Hello set.bob,") {
			t.Errorf("set.bob's mail is not the library's edited letter: %q\n%s", subject, text)
		}
	})

	t.Run("bulk reset with each filter", func(t *testing.T) {
		for _, u := range []map[string]any{
			{"username": "r.pat1", "password": "reset pat one passphrase"},
			{"username": "r.pat2", "password": "reset pat two passphrase"},
			{"username": "r.staff", "password": "reset staff passphrase", "roles": []string{"staff"}},
		} {
			status, body := admin.do("POST", "/v1/admin/users", u)
			want(t, "create "+u["username"].(string), status, 201, body)
		}
		// Who each filter reaches, counted from the API's user list (the
		// admin running the job is never reset by it).
		total := userCount(t, admin, "")
		noRole := userCount(t, admin, "noRole=true")
		cases := []struct {
			filter string
			pick   []string
			change int
		}{
			{"selected", []string{"r.pat1", "r.staff"}, 2},
			{"all_except", []string{"r.pat1", "r.staff"}, total - 1 - 2},
			{"no_role", nil, noRole},
			{"all", nil, total - 1},
			{"set", nil, 3},
		}
		p := open(t, "/resets", "Bulk password reset")
		for _, tc := range cases {
			p.Click(`#nav a[href="#/resets"]`)
			p.WaitText("#page-title", "Bulk password reset")
			p.WaitText("#reset-results", "r.pat1")
			p.Click("#reset-filter-" + tc.filter)
			for _, name := range tc.pick {
				p.Fill("#reset-search-q", name)
				p.Click("#reset-search")
				p.WaitText("#reset-results", name)
				p.Click(`[data-test="select-` + name + `"]`)
				p.WaitText("#reset-selected", name)
			}
			if tc.filter == "set" {
				p.Fill("#reset-set", setID)
			}
			p.Click("#reset-mode-default")
			p.Fill("#reset-default-password", "a shared default passphrase 2026")
			if tc.filter == "no_role" {
				// The preview is a dry run: it counts and changes nothing.
				p.Click("#reset-preview-btn")
				p.WaitText("#reset-preview", fmt.Sprintf("This reset would change %d user", tc.change))
			}
			p.Click("#reset-start")
			p.WaitText(`[data-test="bar-ok"]`, "Successfully started the password reset")
			p.WaitText(`[data-test="job-status-fact"]`, "Done")
			p.WaitText(`[data-test="job-counts"]`, fmt.Sprintf(", %d changed,", tc.change))
		}
		// The default password now signs r.pat2 in (they must change it).
		status, _ := anon.do("POST", "/v1/auth/login", map[string]string{"tenant": "kpu", "username": "r.pat2", "password": "a shared default passphrase 2026"})
		if status != 200 {
			t.Errorf("r.pat2 with the default password: %d", status)
		}
		// A default password the policy refuses: the API's reason, in red.
		p.Click(`#nav a[href="#/resets"]`)
		p.WaitText("#reset-results", "r.pat1")
		p.Click("#reset-filter-no_role")
		p.Click("#reset-mode-default")
		p.Fill("#reset-default-password", "short")
		p.Click("#reset-start")
		p.WaitVisible(`[data-test="bar-error"]`)
		if v := attr(t, p, "#reset-default-password", "aria-invalid"); v != "true" {
			t.Errorf("default password aria-invalid = %q after a refusal (bar: %q)", v, p.Text(`[data-test="bar-error"]`))
		}
	})

	t.Run("stop a job from the task centre", func(t *testing.T) {
		// An upload whose file never comes waits until it is stopped.
		status, started := admin.do("POST", "/v1/admin/imports", map[string]any{"kind": "users"})
		want(t, "start an import", status, 201, started)
		id := started["importId"].(string)
		p := open(t, "/tasks", "Task centre")
		p.WaitText("#tasks-table", "Waiting for its file")
		p.Click(`[data-test="task-` + id + `"]`)
		p.WaitText(`[data-test="job-status-fact"]`, "Waiting for its file")
		p.Click("#job-cancel")
		p.Click(`[data-test="dialog-stop"]`)
		p.WaitText(`[data-test="bar-ok"]`, "Successfully cancelled the job.")
		p.WaitText(`[data-test="job-status-fact"]`, "Cancelled")
		status, job := admin.do("GET", "/v1/admin/jobs/"+id, nil)
		if status != 200 || job["status"] != "cancelled" {
			t.Errorf("the API has %d %v", status, job)
		}
	})

	t.Run("change a setting", func(t *testing.T) {
		p := open(t, "/settings", "Settings")
		p.Fill("#settings-min-length", "5")
		p.Click("#settings-save")
		p.WaitVisible(`[data-test="bar-error"]`)
		if v := attr(t, p, "#settings-min-length", "aria-invalid"); v != "true" {
			t.Errorf("min length aria-invalid = %q after a refusal", v)
		}
		p.Fill("#settings-min-length", "12")
		p.Fill("#settings-sender-name", "KPU Library desk")
		p.Click("#settings-save")
		p.WaitText(`[data-test="bar-ok"]`, "Successfully Updated Settings")
		status, body := admin.do("GET", "/v1/admin/settings", nil)
		want(t, "settings", status, 200, body)
		if body["senderName"] != "KPU Library desk" || body["passwordPolicy"].(map[string]any)["minLength"] != float64(12) {
			t.Errorf("the API has %v", body)
		}
		if value(t, p, "#settings-sender-name") != "KPU Library desk" {
			t.Error("the form does not show the saved sender name")
		}
	})

	t.Run("the audit trail and its CSV export", func(t *testing.T) {
		p := open(t, "/audit", "Audit trail")
		for _, a := range []string{"settings.update", "letter.update", "job.password_reset", "user.create"} {
			p.WaitText("#audit-table", a)
		}
		p.Fill("#audit-action", "settings.update")
		p.Fill("#audit-actor", "admin")
		p.Click("#audit-search")
		p.WaitText("#audit-summary", "Showing 1 event.")
		p.WaitText("#audit-table", "passwordPolicy.minLength, senderName")
		if n := count(t, p, "#audit-table tbody tr"); n != 1 {
			t.Errorf("%d settings.update events shown, want 1", n)
		}
		p.Click("#audit-export")
		p.WaitText("#audit-export-note", "Downloaded audit.csv: 1 event.")
		p.Fill("#audit-action", "")
		p.Fill("#audit-actor", "nobody-by-that-name")
		p.Click("#audit-search")
		p.WaitText(`[data-test="bar-error"]`, `No user is named "nobody-by-that-name".`)
	})

	t.Run("every job screen fits 320 px and is worked by keyboard", func(t *testing.T) {
		p := b.Page(t)
		p.Viewport(320, 800)
		for _, s := range []struct{ route, title string }{
			{"/upload", "Upload a CSV file"}, {"/tasks", "Task centre"}, {"/resets", "Bulk password reset"},
			{"/sets", "Sets"}, {"/sets/" + url.PathEscape(setID), "Set"}, {"/settings", "Settings"},
			{"/letters", "Letters"}, {"/audit", "Audit trail"},
		} {
			p.Go(st.APIURL + "/console/index.html#" + s.route)
			p.WaitText("#page-title", s.title)
			noSideScroll(t, p, s.route)
		}
		// The letter editor by keys alone: Tab from the body to Preview,
		// Enter presses it.
		p.Go(st.APIURL + "/console/index.html#/letters")
		p.WaitText("#letter-form h2", "Reset link sent by staff")
		p.Eval(`document.querySelector('#letter-body').focus()`, nil)
		p.Keys("\t")
		var focused string
		p.Eval(`document.activeElement.id`, &focused)
		if focused != "letter-preview-btn" {
			t.Fatalf("Tab from the body went to #%s, want the Preview button", focused)
		}
		p.Keys("\r")
		p.WaitText(`[data-test="preview-body"]`, "#token=example")
	})
}

// consoleSignInScreen signs in as the library's admin through the
// console's own sign-in screen.
func consoleSignInScreen(tb testing.TB, p *browser.Page, base string) {
	tb.Helper()
	// index.html by name: the local gateway's /console/{proxy+} does not
	// take the empty proxy of /console/ yet.
	signInOn(tb, p, base+"/console/index.html#/tasks", "admin", adminPassword, "Task centre")
}

// userCount counts the users a listing with the query q returns, page by
// page.
func userCount(tb testing.TB, c client, q string) int {
	tb.Helper()
	n, cursor := 0, ""
	for {
		path := "/v1/admin/users?limit=200"
		if q != "" {
			path += "&" + q
		}
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body := c.do("GET", path, nil)
		want(tb, "list users", status, 200, body)
		n += len(body["users"].([]any))
		next, _ := body["nextCursor"].(string)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// attr is an element's attribute, "" when absent.
func attr(tb testing.TB, p *browser.Page, sel, name string) string {
	tb.Helper()
	var v string
	p.Eval(`document.querySelector(`+jsValue(sel)+`).getAttribute(`+jsValue(name)+`) || ''`, &v)
	return v
}
