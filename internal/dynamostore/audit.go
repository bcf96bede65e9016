package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

func auditItem(e accounts.AuditEvent) map[string]av {
	sk := auditSK(e.At, e.ID)
	item := key(auditPK(e.TenantID, e.At), sk)
	item["tenant"], item["id"], item["at"] = s(e.TenantID), s(e.ID), s(ts(e.At))
	item["actorId"], item["actorUsername"], item["action"] = s(e.ActorID), s(e.ActorUsername), s(e.Action)
	item["requestId"], item["fields"], item["detail"] = s(e.RequestID), strList(e.Fields), s(e.Detail)
	item["gsi1pk"], item["gsi1sk"] = s(auditByPK(e.TenantID, e.ActorID)), s(sk)
	if e.TargetID != "" {
		item["targetId"], item["targetUsername"] = s(e.TargetID), s(e.TargetUsername)
		item["gsi2pk"], item["gsi2sk"] = s(auditOnPK(e.TenantID, e.TargetID)), s(sk)
	}
	item["ttl"] = n(e.At.Add(accounts.AuditRetention).Unix())
	return item
}

func auditFromItem(m map[string]av) accounts.AuditEvent {
	return accounts.AuditEvent{
		TenantID: str(m, "tenant"), ID: str(m, "id"), At: parseTS(m, "at"),
		ActorID: str(m, "actorId"), ActorUsername: str(m, "actorUsername"), Action: str(m, "action"),
		TargetID: str(m, "targetId"), TargetUsername: str(m, "targetUsername"),
		RequestID: str(m, "requestId"), Fields: list(m, "fields"), Detail: str(m, "detail"),
	}
}

// auditPut is the transaction item that records e; nil when there is none.
func (st *Store) auditPut(e *accounts.AuditEvent) []ddb.TransactWriteItem {
	if e == nil {
		return nil
	}
	return []ddb.TransactWriteItem{{Put: &ddb.Put{TableName: st.tableName(), Item: auditItem(*e), ConditionExpression: aws.String("attribute_not_exists(pk)")}}}
}

// auditCursor resumes a listing: the month being walked (for the
// tenant-wide listing) and the last key returned, bound to the query.
//
// The cursor also carries the time window of the first page: a listing
// without an explicit end runs up to "now" as of its first page, so later
// events do not shift its pages.
type auditCursor struct {
	Q     string            `json:"q"`
	From  int64             `json:"f"`
	To    int64             `json:"t"`
	Month string            `json:"m,omitempty"`
	Key   map[string]string `json:"k,omitempty"`
}

func auditQueryHash(tenantID string, q accounts.AuditQuery) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", tenantID, q.ActorID, q.TargetID, q.Action))
	return hex.EncodeToString(sum[:8])
}

// ListAudit pages through a tenant's trail, newest first: by target or actor
// through their index, otherwise month by month backwards.
func (st *Store) ListAudit(ctx context.Context, tenantID string, q accounts.AuditQuery) (accounts.AuditPage, error) {
	cur := auditCursor{Q: auditQueryHash(tenantID, q), From: q.From.UnixNano(), To: q.To.UnixNano()}
	if q.Cursor != "" {
		data, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		var c auditCursor
		if err != nil || len(data) > 4096 || json.Unmarshal(data, &c) != nil || c.Q != cur.Q || !cursorKeyOK(tenantID, c.Key) || c.From > c.To {
			return accounts.AuditPage{}, accounts.FieldError("cursor", "cursor is not valid for this listing; start again without it")
		}
		cur = c
		q.From, q.To = time.Unix(0, c.From).UTC(), time.Unix(0, c.To).UTC()
	}
	values := map[string]av{":from": s(q.From.UTC().Format(auditTime)), ":to": s(q.To.UTC().Format(auditTime) + "#~")}
	in := &dynamodb.QueryInput{TableName: st.tableName(), ScanIndexForward: aws.Bool(false), ExpressionAttributeValues: values}
	var filters []string
	names := map[string]string{}
	if q.Action != "" {
		filters = append(filters, "#action = :action")
		names["#action"], values[":action"] = "action", s(q.Action)
	}
	switch {
	case q.TargetID != "":
		in.IndexName = aws.String("gsi2")
		in.KeyConditionExpression = aws.String("gsi2pk = :pk AND gsi2sk BETWEEN :from AND :to")
		values[":pk"] = s(auditOnPK(tenantID, q.TargetID))
		if q.ActorID != "" {
			filters = append(filters, "actorId = :actor")
			values[":actor"] = s(q.ActorID)
		}
	case q.ActorID != "":
		in.IndexName = aws.String("gsi1")
		in.KeyConditionExpression = aws.String("gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to")
		values[":pk"] = s(auditByPK(tenantID, q.ActorID))
	default:
		in.KeyConditionExpression = aws.String("pk = :pk AND sk BETWEEN :from AND :to")
		if cur.Month == "" {
			cur.Month = q.To.UTC().Format("2006-01")
		}
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
		in.ExpressionAttributeNames = names
	}
	firstMonth := q.From.UTC().Format("2006-01")
	page := accounts.AuditPage{Events: []accounts.AuditEvent{}}
	done := false
	for len(page.Events) < q.Limit && !done {
		if in.IndexName == nil {
			values[":pk"] = s("T#" + tenantID + "#AUDIT#" + cur.Month)
		}
		in.ExclusiveStartKey = nil
		if cur.Key != nil {
			in.ExclusiveStartKey = map[string]av{}
			for k, v := range cur.Key {
				in.ExclusiveStartKey[k] = s(v)
			}
		}
		// Asking for no more than is still wanted means the last item read
		// is the last item returned, so the cursor skips nothing.
		in.Limit = aws.Int32(int32(q.Limit - len(page.Events)))
		out, err := st.db.Query(ctx, in)
		if err != nil {
			return accounts.AuditPage{}, classify("list audit", err, "", "")
		}
		for _, it := range out.Items {
			page.Events = append(page.Events, auditFromItem(it))
		}
		if out.LastEvaluatedKey != nil {
			cur.Key = map[string]string{}
			for k, v := range out.LastEvaluatedKey {
				cur.Key[k] = str(map[string]av{k: v}, k)
			}
			continue
		}
		cur.Key = nil
		if in.IndexName != nil || cur.Month <= firstMonth {
			done = true
			continue
		}
		cur.Month = previousMonth(cur.Month)
	}
	if !done {
		data, _ := json.Marshal(cur)
		page.NextCursor = base64.RawURLEncoding.EncodeToString(data)
	}
	return page, nil
}

func previousMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return "0000-00"
	}
	return t.AddDate(0, -1, 0).Format("2006-01")
}

// cursorKeyOK refuses a cursor whose keys point outside the tenant.
func cursorKeyOK(tenantID string, k map[string]string) bool {
	prefix := "T#" + tenantID + "#"
	for name, v := range k {
		switch name {
		case "pk", "gsi1pk", "gsi2pk":
			if !strings.HasPrefix(v, prefix) {
				return false
			}
		case "sk", "gsi1sk", "gsi2sk":
		default:
			return false
		}
	}
	return true
}
