package dynamostore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// A notice sits in its recipient's partition (key layout in keys.go):
//
//	T#<t>#USER#<id>        NOTICE#<notice id>  a notice to that user
//
// so that a job sending 100,000 notices writes 100,000 partitions rather
// than one, and deleting the user deletes its notices. Notice ids sort by
// creation time, so the user's newest notices are the partition's last.
const noticePrefix = "NOTICE#"

func noticeSK(id string) string { return noticePrefix + id }

var _ accounts.NoticeStore = (*Store)(nil)

// reasonClaim is a notice write refused because another delivery moved the
// notice on; the domain reads the "notice" field as a lost claim.
var reasonClaim = reason{accounts.CodeConflict, "notice", "the notice was changed by another delivery"}

func noticeItem(nt accounts.Notice) map[string]av {
	item := key(userPK(nt.TenantID, nt.UserID), noticeSK(nt.ID))
	item["tenant"], item["userId"], item["id"] = s(nt.TenantID), s(nt.UserID), s(nt.ID)
	item["kind"], item["status"], item["attempts"] = s(string(nt.Kind)), s(string(nt.Status)), n(int64(nt.Attempts))
	item["createdAt"], item["updatedAt"] = s(ts(nt.CreatedAt)), s(ts(nt.UpdatedAt))
	item["ttl"] = n(nt.CreatedAt.Add(accounts.NoticeRetention).Unix())
	for name, v := range map[string]string{"reason": nt.Reason, "to": nt.To, "jobId": nt.JobID, "providerMessageId": nt.ProviderMessageID} {
		if v != "" {
			item[name] = s(v)
		}
	}
	for name, t := range map[string]time.Time{"sentAt": nt.SentAt, "leaseUntil": nt.LeaseUntil, "nextAttemptAt": nt.NextAttemptAt} {
		if !t.IsZero() {
			item[name] = s(ts(t))
		}
	}
	if nt.Delivered {
		item["delivered"] = b(true)
	}
	if len(nt.Also) > 0 {
		item["also"] = strList(nt.Also)
	}
	if len(nt.Params) > 0 {
		params := make(map[string]av, len(nt.Params))
		for k, v := range nt.Params {
			params[k] = s(v)
		}
		item["params"] = &ddb.AttributeValueMemberM{Value: params}
	}
	return item
}

func noticeFromItem(m map[string]av) (accounts.Notice, error) {
	a := &attrs{m: m}
	nt := accounts.Notice{
		TenantID: str(m, "tenant"), UserID: str(m, "userId"), ID: str(m, "id"),
		Kind: accounts.NoticeKind(str(m, "kind")), Status: accounts.NoticeStatus(str(m, "status")),
		Attempts: a.integer("attempts"), Reason: str(m, "reason"), To: str(m, "to"), JobID: str(m, "jobId"),
		CreatedAt: parseTS(m, "createdAt"), UpdatedAt: parseTS(m, "updatedAt"), SentAt: parseTS(m, "sentAt"),
		LeaseUntil: parseTS(m, "leaseUntil"), NextAttemptAt: parseTS(m, "nextAttemptAt"),
		ProviderMessageID: str(m, "providerMessageId"), Delivered: boolean(m, "delivered"),
	}
	if _, ok := m["also"]; ok {
		nt.Also = list(m, "also")
	}
	if pm, ok := m["params"].(*ddb.AttributeValueMemberM); ok {
		nt.Params = make(map[string]string, len(pm.Value))
		for k, v := range pm.Value {
			if x, ok := v.(*ddb.AttributeValueMemberS); ok {
				nt.Params[k] = x.Value
			}
		}
	}
	if a.err != nil {
		return accounts.Notice{}, fmt.Errorf("decode notice %s: %w", nt.ID, a.err)
	}
	return nt, nil
}

// PutNotice stores a new notice, in one transaction with audit when given.
func (st *Store) PutNotice(ctx context.Context, nt accounts.Notice, audit *accounts.AuditEvent) error {
	put := &ddb.Put{TableName: st.tableName(), Item: noticeItem(nt), ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if audit == nil {
		_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression})
		return classify("put notice "+nt.ID, err, accounts.CodeConflict, "notice id collision")
	}
	var t txn
	t.add(reason{accounts.CodeConflict, "", "notice id collision"}, ddb.TransactWriteItem{Put: put})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "put notice "+nt.ID, t)
}

// GetNotice reads a notice with strong consistency: a delivery decides on
// what it reads.
func (st *Store) GetNotice(ctx context.Context, tenantID, userID, noticeID string) (accounts.Notice, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(userPK(tenantID, userID), noticeSK(noticeID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Notice{}, classify("get notice "+noticeID, err, "", "")
	}
	if out.Item == nil {
		return accounts.Notice{}, accounts.E(accounts.CodeNotFound, "notice not found")
	}
	return noticeFromItem(out.Item)
}

// claimCondition holds a write to the notice as it was read.
func claimCondition(from accounts.NoticeStatus, attempts int) (string, map[string]string, map[string]av) {
	return "attribute_exists(pk) AND #st = :from AND attempts = :att",
		map[string]string{"#st": "status"},
		map[string]av{":from": s(string(from)), ":att": n(int64(attempts))}
}

// UpdateNotice replaces the notice if it is still in status from after
// fromAttempts attempts.
func (st *Store) UpdateNotice(ctx context.Context, nt accounts.Notice, from accounts.NoticeStatus, fromAttempts int) error {
	cond, names, values := claimCondition(from, fromAttempts)
	if count := st.noticeCount(nt, from); count != nil {
		// The job's count moves with the notice, once.
		var t txn
		t.add(reasonClaim, ddb.TransactWriteItem{Put: &ddb.Put{
			TableName: st.tableName(), Item: noticeItem(nt),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}})
		t.add(reason{accounts.CodeInternal, "", "notice counter"}, *count)
		return st.run(ctx, "update notice "+nt.ID, t)
	}
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: st.tableName(), Item: noticeItem(nt),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return &accounts.Error{Code: reasonClaim.code, Field: reasonClaim.field, Message: reasonClaim.message, Err: err}
	}
	return classify("update notice "+nt.ID, err, "", "")
}

// claimCheck is the transaction item that holds a credential write to the
// delivery that claimed the notice.
func (st *Store) claimCheck(claim accounts.Notice) ddb.TransactWriteItem {
	cond, names, values := claimCondition(accounts.NoticeSending, claim.Attempts)
	return ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{
		TableName: st.tableName(), Key: key(userPK(claim.TenantID, claim.UserID), noticeSK(claim.ID)),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}

// PutClaimedResetToken stores a new link under the claim and moves the
// user's credential epoch to the link's, so that the newest mail is the
// only one that works; then it removes the older links (tidy-up: their
// epoch is gone).
func (st *Store) PutClaimedResetToken(ctx context.Context, claim accounts.Notice, rt accounts.ResetToken) error {
	var t txn
	t.add(reasonClaim, st.claimCheck(claim))
	t.add(reason{accounts.CodeConflict, "", "reset token exists"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: resetTokenItem(rt), ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	t.add(reasonVersion, st.epochStep(rt.TenantID, rt.UserID, rt.Epoch-1))
	if err := st.run(ctx, "put reset token", t); err != nil {
		return err
	}
	return st.deletePrefix(ctx, userPK(rt.TenantID, rt.UserID), resetPrefix, resetSK(rt.ID))
}

// SetClaimedPassword sets a generated password under the claim.
func (st *Store) SetClaimedPassword(ctx context.Context, claim accounts.Notice, version int64, hash string, mustChange bool, at time.Time) error {
	var t txn
	t.add(reasonClaim, st.claimCheck(claim))
	t.add(reasonVersion, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(claim.TenantID, claim.UserID), skUser),
		UpdateExpression:    aws.String(setPasswordExpr),
		ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]av{
			":h": s(hash), ":mc": b(mustChange), ":at": s(ts(at)), ":zero": n(0), ":one": n(1),
			":v": n(version), ":next": &ddb.AttributeValueMemberN{Value: strconv.FormatInt(version+1, 10)},
		},
	}})
	return st.run(ctx, "set password "+claim.UserID, t)
}

// ListNotices pages through a user's notices, newest first. The cursor is
// the last notice id returned.
func (st *Store) ListNotices(ctx context.Context, tenantID, userID string, limit int, cursor string) (accounts.NoticePage, error) {
	in := &dynamodb.QueryInput{
		TableName:                 st.tableName(),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]av{":pk": s(userPK(tenantID, userID)), ":p": s(noticePrefix)},
		ScanIndexForward:          aws.Bool(false),
		// One more than asked tells whether another page exists.
		Limit: aws.Int32(int32(limit + 1)),
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !accounts.ValidNoticeID(string(raw)) {
			return accounts.NoticePage{}, badCursor()
		}
		in.ExclusiveStartKey = key(userPK(tenantID, userID), noticeSK(string(raw)))
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return accounts.NoticePage{}, classify("list notices", err, "", "")
	}
	var page accounts.NoticePage
	for i, it := range out.Items {
		if i == limit {
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Notices[limit-1].ID))
			break
		}
		nt, err := noticeFromItem(it)
		if err != nil {
			return accounts.NoticePage{}, err
		}
		page.Notices = append(page.Notices, nt)
	}
	return page, nil
}

// SetUserEmailStatus flags the user's address if it is still address; the
// flag is bookkeeping, like a lockout, and does not bump the version.
func (st *Store) SetUserEmailStatus(ctx context.Context, tenantID, userID, address string, es accounts.EmailStatus, at time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("SET emailStatus = :st, emailStatusAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND email = :addr"),
		ExpressionAttributeValues: map[string]av{":st": s(string(es)), ":at": s(ts(at)), ":addr": s(address)},
	})
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Gone, or another address now: what SES said is not about it.
		return nil
	}
	return classify("set e-mail status of "+userID, err, "", "")
}
