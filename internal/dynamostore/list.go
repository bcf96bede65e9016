package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// listCursor remembers, per shard, the last user a page returned: "" for a
// shard not read yet, shardDone for one read to its end. Q binds the cursor
// to the tenant and filters it was made for.
type listCursor struct {
	Q string             `json:"q"`
	P [userShards]string `json:"p"`
}

const shardDone = "~"

func queryHash(tenantID string, q accounts.UserQuery) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%t\x00%s", tenantID, q.Prefix, q.Role, q.NoRole, q.Status)))
	return hex.EncodeToString(sum[:8])
}

func badCursor() error {
	return accounts.FieldError("cursor", "cursor is not valid for this listing; start again without it")
}

func decodeCursor(raw, want string) (listCursor, error) {
	var c listCursor
	if raw == "" {
		c.Q = want
		return c, nil
	}
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(data) > 8192 || json.Unmarshal(data, &c) != nil || c.Q != want {
		return listCursor{}, badCursor()
	}
	for _, p := range c.P {
		if p == "" || p == shardDone {
			continue
		}
		if _, id, ok := strings.Cut(p, "\x1f"); !ok || !accounts.ValidUserID(id) {
			return listCursor{}, badCursor()
		}
	}
	return c, nil
}

func (c listCursor) encode() string {
	data, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(data)
}

type shardResult struct {
	users     []accounts.User
	exhausted bool
	err       error
}

// ListUsers reads every shard of the tenant's listing from where the cursor
// left it and merges them by username.
func (st *Store) ListUsers(ctx context.Context, tenantID string, q accounts.UserQuery) (accounts.UserPage, error) {
	cur, err := decodeCursor(q.Cursor, queryHash(tenantID, q))
	if err != nil {
		return accounts.UserPage{}, err
	}
	results := make([]shardResult, userShards)
	var wg sync.WaitGroup
	for i := range userShards {
		if cur.P[i] == shardDone {
			results[i].exhausted = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = st.readShard(ctx, tenantID, i, cur.P[i], q)
		}()
	}
	wg.Wait()
	var all []accounts.User
	for _, r := range results {
		if r.err != nil {
			return accounts.UserPage{}, r.err
		}
		all = append(all, r.users...)
	}
	slices.SortFunc(all, func(a, b accounts.User) int {
		return strings.Compare(accounts.UsernameKey(a.Username), accounts.UsernameKey(b.Username))
	})
	page := all[:min(q.Limit, len(all))]
	taken := make([]int, userShards)
	next := listCursor{Q: cur.Q, P: cur.P}
	for _, u := range page {
		sh := shardOf(u.ID)
		taken[sh]++
		next.P[sh] = accounts.UsernameKey(u.Username) + "\x1f" + u.ID
	}
	more := false
	for i, r := range results {
		if cur.P[i] == shardDone {
			continue
		}
		if r.exhausted && taken[i] == len(r.users) {
			next.P[i] = shardDone
			continue
		}
		more = true
	}
	out := accounts.UserPage{Users: page}
	if more {
		out.NextCursor = next.encode()
	}
	return out, nil
}

// readShard reads up to q.Limit matching users of one shard after pos.
func (st *Store) readShard(ctx context.Context, tenantID string, shard int, pos string, q accounts.UserQuery) shardResult {
	names := map[string]string{}
	values := map[string]av{":pk": s(userListPK(tenantID, shard))}
	cond := "gsi1pk = :pk"
	if q.Prefix != "" {
		cond += " AND begins_with(gsi1sk, :prefix)"
		values[":prefix"] = s(q.Prefix)
	}
	var filters []string
	if q.Status != "" {
		names["#status"] = "status"
		values[":status"] = s(string(q.Status))
		filters = append(filters, "#status = :status")
	}
	if q.Role != "" {
		values[":role"] = s(q.Role)
		filters = append(filters, "contains(#roles, :role)")
		names["#roles"] = "roles"
	}
	if q.NoRole {
		values[":zero"] = n(0)
		filters = append(filters, "roleCount = :zero")
	}
	in := &dynamodb.QueryInput{
		TableName: st.tableName(), IndexName: aws.String("gsi1"),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: values,
		Limit:                     aws.Int32(int32(max(q.Limit, 25))),
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if pos != "" {
		usernameKey, id, _ := strings.Cut(pos, "\x1f")
		in.ExclusiveStartKey = map[string]av{
			"gsi1pk": s(userListPK(tenantID, shard)), "gsi1sk": s(usernameKey),
			"pk": s(userPK(tenantID, id)), "sk": s(skUser),
		}
	}
	var res shardResult
	for {
		out, err := st.db.Query(ctx, in)
		if err != nil {
			res.err = classify("list users", err, "", "")
			return res
		}
		for _, it := range out.Items {
			u, err := userFromItem(it)
			if err != nil {
				res.err = err
				return res
			}
			res.users = append(res.users, u)
		}
		if out.LastEvaluatedKey == nil {
			res.exhausted = true
			return res
		}
		if len(res.users) >= q.Limit {
			// Keep only what the merge can use; the cursor will point at
			// the last user taken, so nothing is skipped.
			return res
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
