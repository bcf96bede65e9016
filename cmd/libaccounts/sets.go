package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const setsUsage = `usage:
  libaccounts sets list                            the library's sets, newest first
  libaccounts sets get ID [--limit N] [--cursor C] a set and a page of its members

A set is built by a set import (libaccounts import FILE --set NAME). get
shows up to --limit members (1-1000, default 50); --cursor continues where
an earlier page stopped. Each takes --api URL, which must be the session's.
`

func (a *app) cmdSets(ctx context.Context, args []string) error {
	return a.subcommands("sets", setsUsage, args, map[string]func([]string) error{
		"list": func(args []string) error { return a.cmdSetsList(ctx, args) },
		"get":  func(args []string) error { return a.cmdSetsGet(ctx, args) },
	})
}

func (a *app) cmdSetsList(ctx context.Context, args []string) error {
	_, _, c, err := a.staffFlags("sets list", setsUsage, args, nil, nil)
	if err != nil {
		return err
	}
	var out apiwire.SetList
	if err := c.do(ctx, http.MethodGet, "/v1/admin/sets", nil, &out); err != nil {
		return err
	}
	if len(out.Sets) == 0 {
		fmt.Fprintln(a.stdout, "no sets; build one with `libaccounts import FILE --set NAME`")
		return nil
	}
	t := newTable(a.stdout, "ID", "NAME", "STATUS", "MEMBERS", "CREATED", "IMPORT")
	for _, s := range out.Sets {
		t.row(s.ID, s.Name, s.Status, num(s.Members), a.when(s.CreatedAt), s.ImportID)
	}
	return t.flush()
}

func (a *app) cmdSetsGet(ctx context.Context, args []string) error {
	var limit int
	var cursor string
	fs, pos, c, err := a.staffFlags("sets get", setsUsage, args, []string{"a set ID"}, func(fs *flag.FlagSet) {
		fs.IntVar(&limit, "limit", 50, "how many members to show (1-1000)")
		fs.StringVar(&cursor, "cursor", "", "continue where an earlier page stopped")
	})
	if err != nil {
		return err
	}
	id := pos[0]
	switch {
	case !importIDPattern.MatchString(id):
		return fail("%q is not a set ID (see `libaccounts sets list`)", id)
	case limit < 1 || limit > 1000:
		return fail("--limit must be between 1 and 1000 (got %d)", limit)
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out apiwire.SetDetail
	if err := c.do(ctx, http.MethodGet, "/v1/admin/sets/"+url.PathEscape(id)+"?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	s := out.Set
	fmt.Fprintf(a.stdout, "set %s (id %s): %s, %s, created %s by import %s\n", strconv.Quote(s.Name), s.ID, s.Status, plural(s.Members, "member", "members"), a.when(s.CreatedAt), s.ImportID)
	if len(out.Members) == 0 {
		if cursor == "" {
			fmt.Fprintln(a.stdout, "no members")
		}
		return nil
	}
	t := newTable(a.stdout, "ROW", "USERNAME", "PRIMARY ID", "USER ID")
	for _, m := range out.Members {
		t.row(strconv.Itoa(m.Row), m.Username, m.PrimaryID, m.UserID)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if out.NextCursor != "" {
		fmt.Fprintln(a.stderr, moreHint("sets get "+id, fs, out.NextCursor))
	}
	return nil
}
