package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

func resetTokenItem(rt accounts.ResetToken) map[string]av {
	item := key(userPK(rt.TenantID, rt.UserID), resetSK(rt.ID))
	item["tenant"], item["userId"], item["tokenId"] = s(rt.TenantID), s(rt.UserID), s(rt.ID)
	item["createdAt"], item["expiresAt"], item["ttl"] = s(ts(rt.CreatedAt)), s(ts(rt.ExpiresAt)), n(rt.ExpiresAt.Unix())
	item["epoch"] = n(rt.Epoch)
	return item
}

// epochIs is the condition that the user's credential epoch is e; an
// account that never had a credential event has none (0).
func epochIs(e int64) string {
	if e == 0 {
		return "(attribute_not_exists(credEpoch) OR credEpoch = :epoch)"
	}
	return "credEpoch = :epoch"
}

// epochStep is the transaction item that moves the user's credential epoch
// from from to from+1.
func (st *Store) epochStep(tenantID, userID string, from int64) ddb.TransactWriteItem {
	return ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("SET credEpoch = :next"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND " + epochIs(from)),
		ExpressionAttributeValues: map[string]av{":epoch": n(from), ":next": n(from + 1)},
	}}
}

// PutResetToken stores a reset link's hash, moving the user's epoch to
// its, with its audit event.
func (st *Store) PutResetToken(ctx context.Context, rt accounts.ResetToken, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reason{accounts.CodeConflict, "", "reset token exists"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: resetTokenItem(rt), ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	t.add(reasonVersion, st.epochStep(rt.TenantID, rt.UserID, rt.Epoch-1))
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "put reset token", t)
}

// GetResetToken reads a reset link.
func (st *Store) GetResetToken(ctx context.Context, tenantID, userID, id string) (accounts.ResetToken, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(userPK(tenantID, userID), resetSK(id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.ResetToken{}, classify("get reset token", err, "", "")
	}
	if out.Item == nil {
		return accounts.ResetToken{}, accounts.E(accounts.CodeNotFound, "reset token not found")
	}
	a := &attrs{m: out.Item}
	rt := accounts.ResetToken{
		TenantID: str(out.Item, "tenant"), UserID: str(out.Item, "userId"), ID: str(out.Item, "tokenId"),
		CreatedAt: parseTS(out.Item, "createdAt"), ExpiresAt: parseTS(out.Item, "expiresAt"), Epoch: a.num("epoch"),
	}
	if a.err != nil {
		return accounts.ResetToken{}, fmt.Errorf("decode reset token: %w", a.err)
	}
	return rt, nil
}

// reasonLinkSpent is a link that was used, or whose user moved on: to the
// caller, both are a link that does not work.
var reasonLinkSpent = reason{accounts.CodeNotFound, "token", "reset token not found"}

// CompleteReset deletes the link and sets the password in one
// transaction: of two concurrent uses exactly one succeeds, and a link
// whose user changed credentials (or was deactivated) since it was sent
// sets nothing.
func (st *Store) CompleteReset(ctx context.Context, rt accounts.ResetToken, hash string, at time.Time) error {
	var t txn
	t.add(reasonLinkSpent, ddb.TransactWriteItem{Delete: &ddb.Delete{
		TableName: st.tableName(), Key: key(userPK(rt.TenantID, rt.UserID), resetSK(rt.ID)),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	}})
	t.add(reasonLinkSpent, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(rt.TenantID, rt.UserID), skUser),
		UpdateExpression: aws.String("SET passwordHash = :h, mustChangePassword = :no, passwordChangedAt = :at, updatedAt = :at, failedLogins = :zero " +
			"REMOVE lockedUntil, lastFailureAt ADD credEpoch :one, version :one"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #status = :active AND " + epochIs(rt.Epoch)),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]av{
			":h": s(hash), ":no": b(false), ":at": s(ts(at)), ":zero": n(0), ":one": n(1),
			":active": s(string(accounts.StatusActive)), ":epoch": n(rt.Epoch),
		},
	}})
	return st.run(ctx, "complete reset "+rt.UserID, t)
}

// DeleteUserResetTokens removes every reset link of the user.
func (st *Store) DeleteUserResetTokens(ctx context.Context, tenantID, userID string) error {
	return st.deletePrefix(ctx, userPK(tenantID, userID), resetPrefix, "")
}
