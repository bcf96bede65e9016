package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// PutResetToken stores a reset link's hash with its audit event.
func (st *Store) PutResetToken(ctx context.Context, rt accounts.ResetToken, audit *accounts.AuditEvent) error {
	item := key(userPK(rt.TenantID, rt.UserID), resetSK(rt.ID))
	item["tenant"], item["userId"], item["tokenId"] = s(rt.TenantID), s(rt.UserID), s(rt.ID)
	item["createdAt"], item["expiresAt"], item["ttl"] = s(ts(rt.CreatedAt)), s(ts(rt.ExpiresAt)), n(rt.ExpiresAt.Unix())
	var t txn
	t.add(reason{accounts.CodeConflict, "", "reset token exists"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
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
	return accounts.ResetToken{
		TenantID: str(out.Item, "tenant"), UserID: str(out.Item, "userId"), ID: str(out.Item, "tokenId"),
		CreatedAt: parseTS(out.Item, "createdAt"), ExpiresAt: parseTS(out.Item, "expiresAt"),
	}, nil
}

// ConsumeResetToken deletes a reset link that still exists: of two
// concurrent uses, exactly one succeeds.
func (st *Store) ConsumeResetToken(ctx context.Context, tenantID, userID, id string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), resetSK(id)),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	return classify("consume reset token", err, accounts.CodeNotFound, "reset token not found")
}

// DeleteUserResetTokens removes every reset link of the user.
func (st *Store) DeleteUserResetTokens(ctx context.Context, tenantID, userID string) error {
	return st.deletePrefix(ctx, userPK(tenantID, userID), resetPrefix, "")
}
