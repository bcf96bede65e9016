package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const auditUsage = `usage: libaccounts audit [--actor USER] [--target USER] [--action A] [--from T] [--to T]
                       [--limit N] [--cursor C] [--format table|csv|json] [-o FILE]

The library's audit trail, newest first: who did what to whom, when, and
which fields changed (their names only, never values).

  --actor USER    events by this user (a username, a user id, or operator
                  for the operator's command line)
  --target USER   events on this user
  --action A      one action, e.g. user.create, user.delete, settings.update
  --from T, --to T  a time range: RFC 3339 (2026-01-31T09:00:00Z) or a date
                  (2026-01-31, midnight here); the API's default is the year
                  before --to (default now)
  --limit N       events per page (1-1000, default 50); with --format csv,
                  the most events to export (default all, up to 10,000)
  --cursor C      the next page, as printed after a page
  --format csv    the matching events as CSV, as the API exports them;
                  --format json the page as the API answers it
  -o FILE         write the CSV or JSON to FILE (mode 0600: it names users)
  --api URL       the session's API (the default)
`

func (a *app) cmdAudit(ctx context.Context, args []string) error {
	var actor, target, action, from, to, cursor, format, out string
	var limit int
	fs, _, c, err := a.staffFlags("audit", auditUsage, args, nil, func(fs *flag.FlagSet) {
		fs.StringVar(&actor, "actor", "", "events by this user")
		fs.StringVar(&target, "target", "", "events on this user")
		fs.StringVar(&action, "action", "", "only this action")
		fs.StringVar(&from, "from", "", "from this time")
		fs.StringVar(&to, "to", "", "up to this time")
		fs.IntVar(&limit, "limit", 0, "events per page, or in the CSV export (1-1000)")
		fs.StringVar(&cursor, "cursor", "", "continue where an earlier page stopped")
		fs.StringVar(&format, "format", "table", "table, csv or json")
		fs.StringVar(&out, "o", "", "write the CSV or JSON to this file")
	})
	if err != nil {
		return err
	}
	switch {
	case isSet(fs, "limit") && (limit < 1 || limit > 1000):
		return fail("--limit must be between 1 and 1000 (got %d)", limit)
	case format != "table" && format != "csv" && format != "json":
		return fail("--format must be table, csv or json (got %q)", format)
	case out != "" && format == "table":
		return fail("-o goes with --format csv or json")
	}
	// Without --limit the API's defaults hold: a page of 50, an export of
	// everything up to its cap.
	q := url.Values{}
	if isSet(fs, "limit") {
		q.Set("limit", strconv.Itoa(limit))
	}
	for name, t := range map[string]string{"from": from, "to": to} {
		if t == "" {
			continue
		}
		v, err := a.parseWhen(t)
		if err != nil {
			return fail("--%s: %v", name, err)
		}
		q.Set(name, v)
	}
	for name, who := range map[string]string{"actor": actor, "target": target} {
		if who == "" {
			continue
		}
		id, err := a.auditUserID(ctx, c, who)
		if err != nil {
			return err
		}
		q.Set(name, id)
	}
	if action != "" {
		q.Set("action", action)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	path := "/v1/admin/audit?"
	switch format {
	case "csv":
		q.Set("format", "csv")
		resp, err := c.sendAccept(ctx, http.MethodGet, path+q.Encode(), nil, "text/csv")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return c.refusal(resp)
		}
		return a.writeOutput(out, resp.Body, "audit export")
	case "json":
		var raw json.RawMessage
		if err := c.do(ctx, http.MethodGet, path+q.Encode(), nil, &raw); err != nil {
			return err
		}
		var page apiwire.AuditList
		_ = json.Unmarshal(raw, &page) // for the next cursor only
		if err := a.writeOutput(out, bytes.NewReader(append(raw, '\n')), "audit page"); err != nil {
			return err
		}
		if page.NextCursor != "" {
			fmt.Fprintln(a.stderr, moreHint("audit", fs, page.NextCursor))
		}
		return nil
	}
	var page apiwire.AuditList
	if err := c.do(ctx, http.MethodGet, path+q.Encode(), nil, &page); err != nil {
		return err
	}
	if len(page.Events) == 0 {
		fmt.Fprintln(a.stdout, "no events")
		return nil
	}
	t := newTable(a.stdout, "AT", "ACTOR", "ACTION", "TARGET", "FIELDS", "DETAIL")
	for _, e := range page.Events {
		t.row(a.when(e.At), orID(e.ActorUsername, e.ActorID), e.Action, orID(e.TargetUsername, e.TargetID), strings.Join(e.Fields, " "), e.Detail)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintln(a.stderr, moreHint("audit", fs, page.NextCursor))
	}
	return nil
}

// orID names a user by username, or by id when the event has none (the
// user was deleted since, or it is the operator).
func orID(username, id string) string {
	if username != "" {
		return username
	}
	return id
}

// auditUserID is the id the trail is filtered by: ids (also of users
// deleted since) and the operator pass as they are, a username is looked up.
func (a *app) auditUserID(ctx context.Context, c *client, who string) (string, error) {
	if who == accounts.OperatorActor || accounts.ValidUserID(who) {
		return who, nil
	}
	u, err := a.findUser(ctx, c, who)
	return u.ID, err
}

// parseWhen reads an RFC 3339 time, or a date as midnight in the local
// zone, and writes it as the API wants it.
func (a *app) parseWhen(s string) (string, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Format(time.RFC3339), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, a.loc); err == nil {
		return t.Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("%q is neither an RFC 3339 time (2026-01-31T09:00:00Z) nor a date (2026-01-31)", s)
}
