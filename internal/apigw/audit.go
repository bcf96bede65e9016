package apigw

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// auditEventView is one event of the trail (apiwire.AuditEvent): names of
// changed fields, never their values.
type auditEventView = apiwire.AuditEvent

func auditViewOf(e accounts.AuditEvent) auditEventView {
	return auditEventView{
		ID: e.ID, At: e.At.UTC(), ActorID: e.ActorID, ActorUsername: e.ActorUsername, Action: e.Action,
		TargetID: e.TargetID, TargetUsername: e.TargetUsername, RequestID: e.RequestID,
		Fields: nonNil(e.Fields), Detail: e.Detail,
	}
}

type auditListResponse = apiwire.AuditList

var auditParams = []string{"actor", "target", "action", "from", "to", "limit", "cursor", "format"}

const (
	// maxExportEvents is the most events one CSV export holds.
	maxExportEvents = 10000
	// maxExportBytes keeps an export well inside Lambda's 6 MB response
	// payload, which also carries the JSON escaping of the body.
	maxExportBytes = 4 << 20
	// exportPageSize is the page size an export reads with.
	exportPageSize = 1000
)

// ListAudit is GET /v1/admin/audit: a page of the trail as JSON, or with
// format=csv every matching event (from cursor on) up to limit, or up to the
// export limit without one.
func (a *API) ListAudit(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		q, format, err := auditQuery(req.QueryStringParameters)
		if err != nil {
			return reply{}, err
		}
		if format == "csv" {
			return a.exportAudit(ctx, c, q)
		}
		page, err := a.svc.ListAudit(ctx, c, q)
		if err != nil {
			return reply{}, err
		}
		out := auditListResponse{Events: make([]auditEventView, len(page.Events)), NextCursor: page.NextCursor}
		for i, e := range page.Events {
			out.Events[i] = auditViewOf(e)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

func auditQuery(p map[string]string) (accounts.AuditQuery, string, error) {
	if err := knownParams(p, auditParams...); err != nil {
		return accounts.AuditQuery{}, "", err
	}
	q := accounts.AuditQuery{ActorID: p["actor"], TargetID: p["target"], Action: p["action"], Cursor: p["cursor"]}
	var err error
	if q.From, err = queryTime(p, "from"); err != nil {
		return q, "", err
	}
	if q.To, err = queryTime(p, "to"); err != nil {
		return q, "", err
	}
	if v, ok := p["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return q, "", accounts.FieldError("limit", "limit must be a whole number between 1 and 1000")
		}
		q.Limit = n
	}
	format := p["format"]
	switch format {
	case "", "json":
		format = "json"
	case "csv":
	default:
		return q, "", accounts.FieldError("format", "format must be json or csv")
	}
	return q, format, nil
}

// queryTime reads an RFC 3339 time. A "+" in a query string often arrives
// as a space, so a space before the offset is read as "+".
func queryTime(p map[string]string, name string) (time.Time, error) {
	v, ok := p[name]
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil && strings.Contains(v, " ") {
		t, err = time.Parse(time.RFC3339, strings.Replace(v, " ", "+", 1))
	}
	if err != nil {
		return time.Time{}, accounts.FieldError(name, "%s must be an RFC 3339 time such as 2025-01-31T00:00:00Z", name)
	}
	return t, nil
}

var auditCSVHeader = []string{"id", "at", "actorId", "actorUsername", "action", "targetId", "targetUsername", "requestId", "fields", "detail"}

// exportAudit follows the listing's cursors and writes the events as CSV.
// Past the export limit it stops and says so in a last line.
func (a *API) exportAudit(ctx context.Context, c accounts.Caller, q accounts.AuditQuery) (reply, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	write := func(cells []string) {
		for i, s := range cells {
			cells[i] = csvCell(s)
		}
		_ = w.Write(cells) // a bytes.Buffer does not fail
	}
	write(slices.Clone(auditCSVHeader))
	// limit caps the export as it caps a page; the export limit caps both.
	most := a.exportLimit
	if q.Limit != 0 {
		most = min(q.Limit, most)
	}
	rows, truncated := 0, false
	for {
		q.Limit = min(exportPageSize, most-rows)
		if q.Limit == 0 {
			// At the limit: look one event further to tell a full export
			// from a cut one.
			q.Limit = 1
		}
		page, err := a.svc.ListAudit(ctx, c, q)
		if err != nil {
			return reply{}, err
		}
		if rows == most {
			truncated = len(page.Events) > 0
			break
		}
		for _, e := range page.Events {
			w.Flush()
			if buf.Len() > maxExportBytes {
				truncated = true
				break
			}
			write([]string{
				e.ID, e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.ActorUsername, e.Action,
				e.TargetID, e.TargetUsername, e.RequestID, strings.Join(e.Fields, " "), e.Detail,
			})
			rows++
		}
		if truncated || page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if truncated {
		// A whole row (the note in its first cell), so that the file stays
		// rectangular for strict CSV readers.
		note := make([]string, len(auditCSVHeader))
		note[0] = fmt.Sprintf("# export truncated after %d events: more events match. Narrow it with from and to (RFC 3339) or actor or target or action", rows)
		if rows == most && most < a.exportLimit {
			note[0] = fmt.Sprintf("# export stopped at limit=%d: more events match. Raise limit (up to 1000), leave it out (up to %d events), or narrow it with from and to (RFC 3339) or actor or target or action", most, a.exportLimit)
		}
		write(note)
	}
	w.Flush()
	return reply{
		status: http.StatusOK,
		raw:    &rawBody{contentType: "text/csv; charset=utf-8", data: buf.String()},
		header: map[string]string{"Content-Disposition": `attachment; filename="audit.csv"`},
	}, nil
}

// csvCell neutralises a cell that a spreadsheet would run as a formula
// (CSV injection): one starting with = + - @, a tab or a carriage return
// gets a leading single quote.
func csvCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
