package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// A recovery request waits in its own partition (key layout in keys.go)
// between the API that took it and the worker that answers it:
//
//	T#<t>#RECOVERY#<id>    RECOVERY            one patron's request
//
// It holds the identifier the patron typed (needed to answer) and expires
// after a day whether or not it was answered.
const skRecovery = "RECOVERY"

func recoveryPK(t, id string) string { return "T#" + t + "#RECOVERY#" + id }

var _ accounts.RecoveryStore = (*Store)(nil)

var reasonRequest = reason{accounts.CodeConflict, "request", "the recovery request was answered by another delivery"}

// PutRecoveryRequest stores a new request.
func (st *Store) PutRecoveryRequest(ctx context.Context, r accounts.RecoveryRequest) error {
	item := key(recoveryPK(r.TenantID, r.ID), skRecovery)
	item["tenant"], item["id"], item["kind"], item["identifier"] = s(r.TenantID), s(r.ID), s(string(r.Kind)), s(r.Identifier)
	item["createdAt"], item["ttl"] = s(ts(r.CreatedAt)), n(r.CreatedAt.Add(accounts.RecoveryRequestTTL).Unix())
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	return classify("put recovery request", err, accounts.CodeConflict, "recovery request id collision")
}

// GetRecoveryRequest reads a request with strong consistency: the worker
// decides on whether it already raised a notice.
func (st *Store) GetRecoveryRequest(ctx context.Context, tenantID, id string) (accounts.RecoveryRequest, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(recoveryPK(tenantID, id), skRecovery), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.RecoveryRequest{}, classify("get recovery request", err, "", "")
	}
	if out.Item == nil {
		return accounts.RecoveryRequest{}, accounts.E(accounts.CodeNotFound, "recovery request not found")
	}
	m := out.Item
	return accounts.RecoveryRequest{
		TenantID: str(m, "tenant"), ID: str(m, "id"), Kind: accounts.RecoveryKind(str(m, "kind")), Identifier: str(m, "identifier"),
		CreatedAt: parseTS(m, "createdAt"), NoticeUserID: str(m, "noticeUser"), NoticeID: str(m, "noticeId"),
	}, nil
}

// RecordRecoveryNotice stores the notice, its audit event and the notice's
// id on the request in one transaction, if the request has none yet.
func (st *Store) RecordRecoveryNotice(ctx context.Context, r accounts.RecoveryRequest, nt accounts.Notice, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reasonRequest, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(recoveryPK(r.TenantID, r.ID), skRecovery),
		UpdateExpression:          aws.String("SET noticeUser = :u, noticeId = :n"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(noticeId)"),
		ExpressionAttributeValues: map[string]av{":u": s(nt.UserID), ":n": s(nt.ID)},
	}})
	t.add(reason{accounts.CodeConflict, "", "notice id collision"}, ddb.TransactWriteItem{Put: &ddb.Put{
		TableName: st.tableName(), Item: noticeItem(nt), ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "record recovery notice "+nt.ID, t)
}

// FinishRecoveryRequest deletes the request, with its audit event when
// given; the condition makes a second finish (a redelivery) write no
// second event.
func (st *Store) FinishRecoveryRequest(ctx context.Context, tenantID, id string, audit *accounts.AuditEvent) error {
	del := &ddb.Delete{TableName: st.tableName(), Key: key(recoveryPK(tenantID, id), skRecovery), ConditionExpression: aws.String("attribute_exists(pk)")}
	if audit == nil {
		_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: del.TableName, Key: del.Key, ConditionExpression: del.ConditionExpression})
		return classify("finish recovery request", err, accounts.CodeNotFound, "recovery request not found")
	}
	var t txn
	t.add(reason{accounts.CodeNotFound, "", "recovery request not found"}, ddb.TransactWriteItem{Delete: del})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "finish recovery request", t)
}
