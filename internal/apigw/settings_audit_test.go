package apigw_test

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/apigw"
)

type settingsOut struct {
	Tenant, Name             string
	PasswordPolicy           struct{ MinLength int }
	UsernameFormat           string
	UsernameFormatExample    *string
	StaffPasswordsMustChange bool
	ResetLinkTTL             string `json:"resetLinkTtl"`
	SenderName               string
	Version                  int64
}

func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)

	resp := do(t, e.api.GetSettings, kpu("GET /v1/admin/settings", ""))
	want(t, "get", resp, 200, "")
	s := decode[settingsOut](t, resp)
	if s.Tenant != "kpu" || s.Name != "kpu" || s.PasswordPolicy.MinLength != 15 || s.UsernameFormat != "" || s.UsernameFormatExample != nil ||
		!s.StaffPasswordsMustChange || s.ResetLinkTTL != "24h" || s.Version != 1 || resp.Headers["ETag"] != `"1"` {
		t.Fatalf("defaults: %s (ETag %s)", resp.Body, resp.Headers["ETag"])
	}

	patch := func(body, ifMatch string) apigw.Response {
		r := kpu("PATCH /v1/admin/settings", body)
		if ifMatch != "" {
			r = withHeader(r, "if-match", ifMatch)
		}
		return do(t, e.api.UpdateSettings, r)
	}
	for name, tc := range map[string]struct{ body, ifMatch, field string }{
		"min length low":      {`{"passwordPolicy":{"minLength":7}}`, "", "passwordPolicy.minLength"},
		"min length high":     {`{"passwordPolicy":{"minLength":65}}`, "", "passwordPolicy.minLength"},
		"min length type":     {`{"passwordPolicy":{"minLength":"15"}}`, "", "passwordPolicy.minLength"},
		"min length fraction": {`{"passwordPolicy":{"minLength":15.5}}`, "", "passwordPolicy.minLength"},
		"policy unknown":      {`{"passwordPolicy":{"maxLength":64}}`, "", "maxLength"},
		"format":              {`{"usernameFormat":"kpu-staff"}`, "", "usernameFormat"},
		"format chars":        {`{"usernameFormat":"KPU {first}"}`, "", "usernameFormat"},
		"ttl short":           {`{"resetLinkTtl":"1m"}`, "", "resetLinkTtl"},
		"ttl long":            {`{"resetLinkTtl":"169h"}`, "", "resetLinkTtl"},
		"ttl words":           {`{"resetLinkTtl":"a day"}`, "", "resetLinkTtl"},
		"ttl number":          {`{"resetLinkTtl":3600}`, "", "resetLinkTtl"},
		"sender":              {`{"senderName":"KPU <library@kpu.ca>"}`, "", "senderName"},
		"sender newline":      {`{"senderName":"KPU\r\nBcc: x@y.z"}`, "", "senderName"},
		"must change type":    {`{"staffPasswordsMustChange":"no"}`, "", "staffPasswordsMustChange"},
		"unknown":             {`{"tenant":"ubc"}`, "", "tenant"},
		"bad if-match":        {`{}`, `"v1"`, "If-Match"},
		"disagree":            {`{"version":1}`, `"2"`, "version"},
	} {
		t.Run(name, func(t *testing.T) {
			want(t, name, patch(tc.body, tc.ifMatch), 400, tc.field)
		})
	}

	resp = patch(`{"passwordPolicy":{"minLength":12},"usernameFormat":" kpu-{first}-{last1} ","staffPasswordsMustChange":false,"resetLinkTtl":"90m","senderName":"KPU Library"}`, `"1"`)
	want(t, "patch", resp, 200, "")
	s = decode[settingsOut](t, resp)
	if s.PasswordPolicy.MinLength != 12 || s.UsernameFormat != "kpu-{first}-{last1}" || s.UsernameFormatExample == nil || *s.UsernameFormatExample != "kpu-sadie-p" ||
		s.StaffPasswordsMustChange || s.ResetLinkTTL != "1h30m" || s.SenderName != "KPU Library" || s.Version != 2 || resp.Headers["ETag"] != `"2"` {
		t.Fatalf("patched: %s (ETag %s)", resp.Body, resp.Headers["ETag"])
	}
	want(t, "stale", patch(`{"senderName":"Old"}`, `"1"`), 409, "version")
	want(t, "stale body", patch(`{"version":1,"senderName":"Old"}`, ""), 409, "version")
	// The version is optional here; null and absent leave settings alone.
	resp = patch(`{"senderName":"","passwordPolicy":null,"usernameFormat":null}`, "")
	want(t, "no version", resp, 200, "")
	if s = decode[settingsOut](t, resp); s.SenderName != "" || s.PasswordPolicy.MinLength != 12 || s.UsernameFormat != "kpu-{first}-{last1}" || s.Version != 3 {
		t.Errorf("partial patch: %s", resp.Body)
	}
	resp = patch(`{"passwordPolicy":{}}`, `W/"3"`)
	if want(t, "no-op", resp, 200, ""); resp.Headers["ETag"] != `"3"` {
		t.Errorf("no-op ETag %q", resp.Headers["ETag"])
	}

	// The format now binds new usernames.
	resp = do(t, e.api.CreateUser, kpu("POST /v1/admin/users", `{"username":"sadie","password":"a fine long passphrase"}`))
	if b := want(t, "off-format username", resp, 400, "username"); !strings.Contains(b.Error.Message, "kpu-sadie-p") {
		t.Errorf("format message %q lacks the example", b.Error.Message)
	}

	// Staff only.
	e.createUser(t, kpu, `{"username":"kpu-pat-r","password":"a fine long passphrase"}`)
	_, patron := e.login(t, "kpu", "kpu-pat-r", "a fine long passphrase")
	want(t, "patron reads", do(t, e.api.GetSettings, patron("GET /v1/admin/settings", "")), 403, "")
	want(t, "patron writes", do(t, e.api.UpdateSettings, patron("PATCH /v1/admin/settings", `{"senderName":"x"}`)), 403, "")
}

func TestSuggestUsername(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	suggest := func(body string) apigw.Response {
		return do(t, e.api.SuggestUsername, kpu("POST /v1/admin/usernames:suggest", body))
	}
	name := func(resp apigw.Response) string {
		want(t, "suggest", resp, 200, "")
		return decode[struct{ Username string }](t, resp).Username
	}
	if got := name(suggest(`{"firstName":"Zoë","lastName":"Park"}`)); got != "zoe-p" {
		t.Errorf("no format: %q", got)
	}
	want(t, "format", do(t, e.api.UpdateSettings, kpu("PATCH /v1/admin/settings", `{"usernameFormat":"kpu-{first}-{last1}"}`)), 200, "")
	if got := name(suggest(`{"firstName":"Sadie","lastName":"Park"}`)); got != "kpu-sadie-p" {
		t.Errorf("with format: %q", got)
	}
	e.createUser(t, kpu, `{"username":"kpu-sadie-p","password":"a fine long passphrase"}`)
	if got := name(suggest(`{"firstName":"Sadie","lastName":"Pearson"}`)); got != "kpu-sadie-p2" {
		t.Errorf("namesake: %q", got)
	}
	want(t, "no letters", suggest(`{"firstName":"李","lastName":"Park"}`), 400, "firstName")
	want(t, "missing last", suggest(`{"firstName":"Sadie"}`), 400, "lastName")
	want(t, "unknown field", suggest(`{"firstName":"Sadie","lastName":"Park","middleName":"Q"}`), 400, "middleName")
	want(t, "wrong type", suggest(`{"firstName":["Sadie"],"lastName":"Park"}`), 400, "firstName")
}

type auditOut struct {
	Events []struct {
		ID, ActorID, ActorUsername, Action, TargetID, TargetUsername, RequestID, Detail string
		At                                                                              time.Time
		Fields                                                                          []string
	}
	NextCursor string
}

func TestAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	token, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	me := decode[userOut](t, do(t, e.api.Me, kpu("GET /v1/me", ""))).ID
	const pw = "a fine long passphrase"

	// Usernames a spreadsheet would run as formulas are valid usernames.
	cmd := e.createUser(t, kpu, `{"username":"=cmd|'/C.calc'!A0","password":"`+pw+`","email":"cmd@kpu.ca"}`)
	sum := e.createUser(t, kpu, `{"username":"@sum","password":"`+pw+`"}`)
	plus := e.createUser(t, kpu, `{"username":"+plus","password":"`+pw+`"}`)
	minus := e.createUser(t, kpu, `{"username":"-minus","password":"`+pw+`"}`)
	resp := do(t, e.api.UpdateUser, withHeader(withID(kpu("PATCH /v1/admin/users/{id}", `{"email":"new@kpu.ca","roles":["circulation"]}`), cmd.ID), "if-match", `"1"`))
	want(t, "update", resp, 200, "")
	resp = do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", `{"generate":true}`), sum.ID))
	generated := *decode[resetOut](t, resp).GeneratedPassword
	do(t, e.api.ResetPassword, withID(kpu("POST /v1/admin/users/{id}/password", `{"sendResetLink":true}`), cmd.ID))
	link := resetToken(t, e.mail.last(t))
	do(t, e.api.DeactivateUser, withID(kpu("POST /v1/admin/users/{id}/deactivate", ""), minus.ID))
	secrets := []string{token, pw, adminPassword, generated, link}

	list := func(as authedReq, q map[string]string) apigw.Response {
		return do(t, e.api.ListAudit, withQuery(as("GET /v1/admin/audit", ""), q))
	}

	// JSON: newest first, names of fields, never values.
	resp = list(kpu, nil)
	want(t, "list", resp, 200, "")
	all := decode[auditOut](t, resp)
	if len(all.Events) != 9 || all.NextCursor != "" || strings.Contains(resp.Body, "nextCursor") {
		t.Fatalf("%d events: %s", len(all.Events), resp.Body)
	}
	actions := map[string]int{}
	for i, ev := range all.Events {
		actions[ev.Action]++
		if ev.Fields == nil || ev.ID == "" || ev.At.IsZero() || (ev.RequestID != "req-1") != (ev.Action == "tenant.bootstrap") {
			t.Errorf("event %d: %+v", i, ev)
		}
		if i > 0 && ev.At.After(all.Events[i-1].At) {
			t.Errorf("not newest first at %d", i)
		}
		if ev.Action == "user.update" && (strings.Join(ev.Fields, ",") != "email,roles" || ev.ActorID != me || ev.ActorUsername != "admin" || ev.TargetUsername != cmd.Username) {
			t.Errorf("update event: %+v", ev)
		}
	}
	if actions["user.create"] != 4 || actions["tenant.bootstrap"] != 1 || actions["user.password_reset"] != 1 || actions["user.password_reset_link"] != 1 || actions["user.deactivate"] != 1 || actions["user.update"] != 1 {
		t.Errorf("actions: %v", actions)
	}
	noSecrets(t, "audit JSON", resp.Body, secrets...)
	if strings.Contains(resp.Body, "new@kpu.ca") || strings.Contains(resp.Body, "circulation") {
		t.Error("the trail holds the values of changed fields")
	}

	// Filters and paging.
	page := decode[auditOut](t, list(kpu, map[string]string{"target": cmd.ID}))
	if len(page.Events) != 3 {
		t.Errorf("by target: %d events", len(page.Events))
	}
	page = decode[auditOut](t, list(kpu, map[string]string{"actor": me, "action": "user.create"}))
	if len(page.Events) != 4 {
		t.Errorf("by actor and action: %d events", len(page.Events))
	}
	page = decode[auditOut](t, list(kpu, map[string]string{"actor": "operator"}))
	if len(page.Events) != 1 || page.Events[0].Action != "tenant.bootstrap" {
		t.Errorf("by operator: %+v", page.Events)
	}
	from := all.Events[2].At.Format(time.RFC3339Nano)
	if page = decode[auditOut](t, list(kpu, map[string]string{"from": from})); len(page.Events) != 3 {
		t.Errorf("from %s: %d events", from, len(page.Events))
	}
	// A "+" offset that arrived as a space.
	to := all.Events[0].At.In(time.FixedZone("", 3600)).Add(time.Second).Format(time.RFC3339)
	if page = decode[auditOut](t, list(kpu, map[string]string{"to": strings.Replace(to, "+", " ", 1)})); len(page.Events) != 9 {
		t.Errorf("to %s: %d events", to, len(page.Events))
	}
	var seen []string
	q := map[string]string{"limit": "4"}
	for range 5 {
		page = decode[auditOut](t, list(kpu, q))
		for _, ev := range page.Events {
			seen = append(seen, ev.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q["cursor"] = page.NextCursor
	}
	if len(seen) != 9 || seen[8] != all.Events[8].ID {
		t.Errorf("paging saw %d events", len(seen))
	}
	want(t, "cursor of another query", list(kpu, map[string]string{"cursor": q["cursor"], "action": "user.create"}), 400, "cursor")

	for name, tc := range map[string]struct {
		q     map[string]string
		field string
	}{
		"unknown param": {map[string]string{"user": me}, "user"},
		"limit zero":    {map[string]string{"limit": "0"}, "limit"},
		"limit high":    {map[string]string{"limit": "1001"}, "limit"},
		"limit text":    {map[string]string{"limit": "ten"}, "limit"},
		"from":          {map[string]string{"from": "yesterday"}, "from"},
		"to date only":  {map[string]string{"to": "2025-01-31"}, "to"},
		"reversed":      {map[string]string{"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, "from"},
		"format":        {map[string]string{"format": "xlsx"}, "format"},
		"actor":         {map[string]string{"actor": "admin"}, "actor"},
		"target":        {map[string]string{"target": "../x"}, "target"},
	} {
		t.Run(name, func(t *testing.T) { want(t, name, list(kpu, tc.q), 400, tc.field) })
	}

	// CSV: a file, every formula neutralised.
	resp = list(kpu, map[string]string{"format": "csv"})
	want(t, "csv", resp, 200, "")
	if resp.Headers["Content-Type"] != "text/csv; charset=utf-8" || resp.Headers["Content-Disposition"] != `attachment; filename="audit.csv"` || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("csv headers: %v", resp.Headers)
	}
	rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if strings.Join(rows[0], ",") != "id,at,actorId,actorUsername,action,targetId,targetUsername,requestId,fields,detail" || len(rows) != 10 {
		t.Fatalf("csv has %d rows, header %v", len(rows), rows[0])
	}
	targets := map[string]bool{}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q can run as a formula", cell)
			}
		}
		targets[row[6]] = true
	}
	for _, u := range []userOut{cmd, sum, plus, minus} {
		if !targets["'"+u.Username] {
			t.Errorf("no neutralised cell for %q in\n%s", u.Username, resp.Body)
		}
	}
	if !strings.Contains(resp.Body, "\r\n") {
		t.Error("csv lines do not end in CRLF")
	}
	noSecrets(t, "audit CSV", resp.Body, secrets...)

	// Another library sees none of this.
	page = decode[auditOut](t, list(ubc, map[string]string{"target": cmd.ID}))
	if len(page.Events) != 0 {
		t.Errorf("ubc sees kpu's trail: %+v", page.Events)
	}
	resp = list(ubc, map[string]string{"format": "csv"})
	if strings.Contains(resp.Body, "cmd") || strings.Count(resp.Body, "\r\n") != 2 {
		t.Errorf("ubc's export:\n%s", resp.Body)
	}
	// Staff only.
	_, patron := e.login(t, "kpu", "+plus", pw)
	want(t, "patron", list(patron, nil), 403, "")

	noSecrets(t, "logs", e.logs.String(), secrets...)
}

func TestAuditExportTruncates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	e.api.SetExportLimit(3)
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	export := func(q map[string]string) [][]string {
		q["format"] = "csv"
		resp := do(t, e.api.ListAudit, withQuery(kpu("GET /v1/admin/audit", ""), q))
		want(t, "export", resp, 200, "")
		// Every row, the truncation note included, has the header's cells.
		rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	// Exactly at the limit (bootstrap + 2 users): complete, no note.
	for _, n := range []string{"one", "two"} {
		e.createUser(t, kpu, `{"username":"`+n+`","password":"a fine long passphrase"}`)
	}
	if rows := export(map[string]string{}); len(rows) != 4 {
		t.Errorf("at the limit: %d rows: %v", len(rows), rows)
	}
	// One more: three events, then the note.
	e.createUser(t, kpu, `{"username":"three","password":"a fine long passphrase"}`)
	if rows := export(map[string]string{}); len(rows) != 5 || rows[4][1] != "" || !strings.HasPrefix(rows[4][0], "# export truncated after 3 events") || !strings.Contains(rows[4][0], "from") {
		t.Errorf("over the limit: %v", rows)
	}
	// limit caps the export as it caps a page: the newest events, then a
	// note that says limit stopped it. A limit that leaves nothing out, or
	// is above the export limit, changes nothing.
	for _, tc := range []struct {
		limit  string
		events int
		note   string
	}{
		{"1", 1, "# export stopped at limit=1"},
		{"2", 2, "# export stopped at limit=2"},
		{"3", 3, "# export truncated after 3 events"},
		{"1000", 3, "# export truncated after 3 events"},
	} {
		rows := export(map[string]string{"limit": tc.limit})
		if len(rows) != tc.events+2 || !strings.HasPrefix(rows[len(rows)-1][0], tc.note) {
			t.Errorf("limit=%s: want %d events and %q: %v", tc.limit, tc.events, tc.note, rows)
			continue
		}
		if rows[1][6] != "three" {
			t.Errorf("limit=%s: the first event is not the newest: %v", tc.limit, rows[1])
		}
	}
	e.api.SetExportLimit(10)
	if rows := export(map[string]string{"limit": "4"}); len(rows) != 5 || strings.HasPrefix(rows[4][0], "#") {
		t.Errorf("limit=4 of 4 events: %v", rows)
	}
	e.api.SetExportLimit(3)
	// A narrower export fits again.
	if rows := export(map[string]string{"action": "user.create"}); len(rows) != 4 {
		t.Errorf("narrowed: %v", rows)
	}
}
