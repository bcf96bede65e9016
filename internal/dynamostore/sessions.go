package dynamostore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// PutSession stores a new session. Its ttl attribute lets DynamoDB sweep it
// after the absolute expiry; reads still check expiry themselves, since the
// sweep can lag by days.
func (st *Store) PutSession(ctx context.Context, se accounts.Session) error {
	item := key(userPK(se.TenantID, se.UserID), sessionSK(se.ID))
	item["tenant"], item["userId"], item["sessionId"] = s(se.TenantID), s(se.UserID), s(se.ID)
	item["createdAt"], item["lastSeenAt"] = s(ts(se.CreatedAt)), s(ts(se.LastSeenAt))
	item["expiresAt"], item["idleExpiresAt"] = s(ts(se.ExpiresAt)), s(ts(se.IdleExpiresAt))
	item["ttl"] = n(se.ExpiresAt.Unix())
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: st.tableName(), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return classify("put session", err, accounts.CodeConflict, "session exists")
}

func sessionFromItem(m map[string]av) accounts.Session {
	return accounts.Session{
		TenantID: str(m, "tenant"), UserID: str(m, "userId"), ID: str(m, "sessionId"),
		CreatedAt: parseTS(m, "createdAt"), LastSeenAt: parseTS(m, "lastSeenAt"),
		ExpiresAt: parseTS(m, "expiresAt"), IdleExpiresAt: parseTS(m, "idleExpiresAt"),
	}
}

// GetSessionAndUser reads the session and its user in one strongly
// consistent batch: a session revoked a moment ago is gone here.
func (st *Store) GetSessionAndUser(ctx context.Context, tenantID, userID, sessionID string) (accounts.Session, accounts.User, error) {
	pk := userPK(tenantID, userID)
	keys := []map[string]av{key(pk, skUser), key(pk, sessionSK(sessionID))}
	var items []map[string]av
	pending := map[string]ddb.KeysAndAttributes{st.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return accounts.Session{}, accounts.User{}, err
			}
		}
		out, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return accounts.Session{}, accounts.User{}, classify("get session", err, "", "")
		}
		items = append(items, out.Responses[st.table]...)
		pending = out.UnprocessedKeys
	}
	var (
		se           accounts.Session
		u            accounts.User
		haveS, haveU bool
	)
	for _, it := range items {
		switch sk := str(it, "sk"); {
		case sk == skUser:
			var err error
			if u, err = userFromItem(it); err != nil {
				return accounts.Session{}, accounts.User{}, err
			}
			haveU = true
		case strings.HasPrefix(sk, sessionPrefix):
			se, haveS = sessionFromItem(it), true
		}
	}
	if !haveS || !haveU {
		return accounts.Session{}, accounts.User{}, accounts.E(accounts.CodeNotFound, "session not found")
	}
	return se, u, nil
}

// TouchSession slides the idle expiry of a session that still exists.
func (st *Store) TouchSession(ctx context.Context, se accounts.Session) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(se.TenantID, se.UserID), sessionSK(se.ID)),
		UpdateExpression:          aws.String("SET lastSeenAt = :seen, idleExpiresAt = :idle"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":seen": s(ts(se.LastSeenAt)), ":idle": s(ts(se.IdleExpiresAt))},
	})
	return classify("touch session", err, accounts.CodeNotFound, "session not found")
}

// DeleteSession removes one session.
func (st *Store) DeleteSession(ctx context.Context, tenantID, userID, sessionID string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: st.tableName(), Key: key(userPK(tenantID, userID), sessionSK(sessionID))})
	return classify("delete session", err, "", "")
}

// DeleteUserSessions removes every session in the user's partition but keep.
func (st *Store) DeleteUserSessions(ctx context.Context, tenantID, userID, keep string) error {
	skip := ""
	if keep != "" {
		skip = sessionSK(keep)
	}
	return st.deletePrefix(ctx, userPK(tenantID, userID), sessionPrefix, skip)
}

// deletePartition removes every item of a partition (but skip).
func (st *Store) deletePartition(ctx context.Context, pk, skip string) error {
	return st.deletePrefix(ctx, pk, "", skip)
}

// deletePrefix removes the items of partition pk whose sort key starts with
// prefix, but the one whose sort key is skip.
func (st *Store) deletePrefix(ctx context.Context, pk, prefix, skip string) error {
	in := &dynamodb.QueryInput{
		TableName:                 st.tableName(),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]av{":pk": s(pk)},
		ProjectionExpression:      aws.String("pk, sk"),
		ConsistentRead:            aws.Bool(true),
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :prefix)")
		in.ExpressionAttributeValues[":prefix"] = s(prefix)
	}
	var keys []map[string]av
	p := dynamodb.NewQueryPaginator(st.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return classify("list "+pk, err, "", "")
		}
		for _, it := range out.Items {
			if sk := str(it, "sk"); sk != skip {
				keys = append(keys, key(pk, sk))
			}
		}
	}
	return st.deleteKeys(ctx, keys)
}

// deleteKeys removes items 25 at a time, retrying what DynamoDB leaves
// unprocessed.
func (st *Store) deleteKeys(ctx context.Context, keys []map[string]av) error {
	for len(keys) > 0 {
		batch := keys[:min(25, len(keys))]
		keys = keys[len(batch):]
		reqs := make([]ddb.WriteRequest, len(batch))
		for i, k := range batch {
			reqs[i] = ddb.WriteRequest{DeleteRequest: &ddb.DeleteRequest{Key: k}}
		}
		pending := map[string][]ddb.WriteRequest{st.table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := st.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return classify("batch delete", err, "", "")
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// backoff waits before retrying unprocessed batch items, and gives up after
// a few tries so a request cannot hang on a throttled table.
func backoff(ctx context.Context, attempt int) error {
	if attempt > 8 {
		return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the service is busy; retry shortly", Err: fmt.Errorf("unprocessed batch items after %d attempts", attempt)}
	}
	d := time.Duration(1<<min(attempt, 6)) * 10 * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return accounts.Internal(ctx.Err())
	case <-t.C:
		return nil
	}
}
