package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// Linked accounts live in their accounts' partitions:
//
//	T#<t>#USER#<owner>  PHRASE#<id>           an active share phrase (its hash)
//	T#<t>#USER#<a>      LINK#<b>              a's side of the link of a and b
//	T#<t>#USER#<b>      LINK#<a>              b's side, written in the same transaction
//	T#<t>#USER#<id>     ACT#<time>#<id>       what was done on the account, by whom
//
// Keying a side by the other account makes "does a manage b" one GetItem,
// and two links between one pair impossible. Deleting an account deletes its
// partition, and DeleteUser deletes the other sides first (deleteLinkMirrors).
const (
	phrasePrefix   = "PHRASE#"
	linkPrefix     = "LINK#"
	activityPrefix = "ACT#"
)

var _ accounts.LinkStore = (*Store)(nil)

func linkSK(other string) string { return linkPrefix + other }

func phraseItem(p accounts.SharePhrase) map[string]av {
	item := key(userPK(p.TenantID, p.OwnerID), phrasePrefix+p.ID)
	item["tenant"], item["owner"], item["id"] = s(p.TenantID), s(p.OwnerID), s(p.ID)
	item["direction"], item["hash"], item["createdAt"] = s(string(p.Direction)), s(p.Hash), s(ts(p.CreatedAt))
	return item
}

func phraseFromItem(m map[string]av) accounts.SharePhrase {
	return accounts.SharePhrase{
		TenantID: str(m, "tenant"), OwnerID: str(m, "owner"), ID: str(m, "id"),
		Direction: accounts.LinkDirection(str(m, "direction")), Hash: str(m, "hash"), CreatedAt: parseTS(m, "createdAt"),
	}
}

// PutSharePhrase stores a new phrase with its audit event.
func (st *Store) PutSharePhrase(ctx context.Context, p accounts.SharePhrase, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reason{accounts.CodeConflict, "id", "share phrase id collision"}, ddb.TransactWriteItem{Put: &ddb.Put{
		TableName: st.tableName(), Item: phraseItem(p), ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "put share phrase "+p.ID, t)
}

// ListSharePhrases reads the owner's phrases with strong consistency: a
// phrase revoked a moment ago must not connect.
func (st *Store) ListSharePhrases(ctx context.Context, tenantID, ownerID string) ([]accounts.SharePhrase, error) {
	items, err := st.queryPrefix(ctx, userPK(tenantID, ownerID), phrasePrefix)
	if err != nil {
		return nil, err
	}
	out := make([]accounts.SharePhrase, 0, len(items))
	for _, it := range items {
		out = append(out, phraseFromItem(it))
	}
	return out, nil
}

// DeleteSharePhrase revokes a phrase of its owner.
func (st *Store) DeleteSharePhrase(ctx context.Context, tenantID, ownerID, id string, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reason{accounts.CodeNotFound, "", "share phrase not found"}, ddb.TransactWriteItem{Delete: &ddb.Delete{
		TableName: st.tableName(), Key: key(userPK(tenantID, ownerID), phrasePrefix+id),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	}})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "revoke share phrase "+id, t)
}

func linkItem(l accounts.Link, side string) map[string]av {
	item := key(userPK(l.TenantID, side), linkSK(l.Other(side)))
	item["tenant"], item["linkId"], item["owner"], item["connector"] = s(l.TenantID), s(l.ID), s(l.OwnerID), s(l.ConnectorID)
	item["direction"], item["phraseId"], item["createdAt"] = s(string(l.Direction)), s(l.PhraseID), s(ts(l.CreatedAt))
	if !l.ConfirmedAt.IsZero() {
		item["confirmedAt"] = s(ts(l.ConfirmedAt))
	}
	return item
}

func linkFromItem(m map[string]av) accounts.Link {
	return accounts.Link{
		TenantID: str(m, "tenant"), ID: str(m, "linkId"), OwnerID: str(m, "owner"), ConnectorID: str(m, "connector"),
		Direction: accounts.LinkDirection(str(m, "direction")), PhraseID: str(m, "phraseId"),
		CreatedAt: parseTS(m, "createdAt"), ConfirmedAt: parseTS(m, "confirmedAt"),
	}
}

// CreateLink writes both sides; either side existing means the two
// accounts are linked already.
func (st *Store) CreateLink(ctx context.Context, l accounts.Link, audit *accounts.AuditEvent) error {
	var t txn
	linked := reason{accounts.CodeConflict, "", "these accounts are already linked"}
	for _, side := range []string{l.OwnerID, l.ConnectorID} {
		t.add(linked, ddb.TransactWriteItem{Put: &ddb.Put{
			TableName: st.tableName(), Item: linkItem(l, side), ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
	}
	// Both users must still exist: a link to an account deleted meanwhile
	// would be a mirror nobody removes.
	gone := reason{accounts.CodeNotFound, "", "user not found"}
	for _, id := range []string{l.OwnerID, l.ConnectorID} {
		t.add(gone, ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{
			TableName: st.tableName(), Key: key(userPK(l.TenantID, id), skUser), ConditionExpression: aws.String("attribute_exists(pk)"),
		}})
	}
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "create link "+l.ID, t)
}

// GetLinkBetween reads userID's side of its link with otherID.
func (st *Store) GetLinkBetween(ctx context.Context, tenantID, userID, otherID string) (accounts.Link, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(userPK(tenantID, userID), linkSK(otherID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Link{}, classify("get link", err, "", "")
	}
	if out.Item == nil {
		return accounts.Link{}, accounts.E(accounts.CodeNotFound, "link not found")
	}
	return linkFromItem(out.Item), nil
}

// ListLinks reads userID's sides of its links.
func (st *Store) ListLinks(ctx context.Context, tenantID, userID string) ([]accounts.Link, error) {
	items, err := st.queryPrefix(ctx, userPK(tenantID, userID), linkPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]accounts.Link, 0, len(items))
	for _, it := range items {
		out = append(out, linkFromItem(it))
	}
	return out, nil
}

// ConfirmLink sets confirmedAt on both sides of the same, unconfirmed link.
func (st *Store) ConfirmLink(ctx context.Context, l accounts.Link, audit *accounts.AuditEvent) error {
	var t txn
	gone := reason{accounts.CodeNotFound, "", "link not found"}
	for _, side := range []string{l.OwnerID, l.ConnectorID} {
		t.add(gone, ddb.TransactWriteItem{Update: &ddb.Update{
			TableName: st.tableName(), Key: key(userPK(l.TenantID, side), linkSK(l.Other(side))),
			UpdateExpression:          aws.String("SET confirmedAt = :at"),
			ConditionExpression:       aws.String("linkId = :id AND attribute_not_exists(confirmedAt)"),
			ExpressionAttributeValues: map[string]av{":at": s(ts(l.ConfirmedAt)), ":id": s(l.ID)},
		}})
	}
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "confirm link "+l.ID, t)
}

// DeleteLink removes both sides of l, and never a newer link of the same
// pair; a side already gone is fine.
func (st *Store) DeleteLink(ctx context.Context, l accounts.Link, audit *accounts.AuditEvent) error {
	var t txn
	newer := reason{accounts.CodeConflict, "", "the link was changed meanwhile; reload and retry"}
	for _, side := range []string{l.OwnerID, l.ConnectorID} {
		t.add(newer, ddb.TransactWriteItem{Delete: &ddb.Delete{
			TableName: st.tableName(), Key: key(userPK(l.TenantID, side), linkSK(l.Other(side))),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR linkId = :id"),
			ExpressionAttributeValues: map[string]av{":id": s(l.ID)},
		}})
	}
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "delete link "+l.ID, t)
}

// deleteLinkMirrors removes the other accounts' sides of u's links; u's
// own sides go with its partition. The domain also ignores a side whose
// other account is gone, so a mirror a failure leaves behind grants nothing.
func (st *Store) deleteLinkMirrors(ctx context.Context, u accounts.User) error {
	links, err := st.ListLinks(ctx, u.TenantID, u.ID)
	if err != nil {
		return err
	}
	for _, l := range links {
		_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: st.tableName(), Key: key(userPK(u.TenantID, l.Other(u.ID)), linkSK(u.ID)),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR linkId = :id"),
			ExpressionAttributeValues: map[string]av{":id": s(l.ID)},
		})
		// A failed condition is a newer link of the pair, which is not u's.
		if err := classify("delete link mirror "+l.ID, err, accounts.CodeConflict, "newer link"); err != nil && !accounts.IsCode(err, accounts.CodeConflict) {
			return err
		}
	}
	return nil
}

// PutActivity records one line of an account's activity.
func (st *Store) PutActivity(ctx context.Context, a accounts.Activity) error {
	item := key(userPK(a.TenantID, a.UserID), activityPrefix+auditSK(a.At, a.ID))
	item["tenant"], item["user"], item["id"], item["at"] = s(a.TenantID), s(a.UserID), s(a.ID), s(ts(a.At))
	item["actor"], item["actorUsername"], item["action"], item["subject"] = s(a.ActorID), s(a.ActorUsername), s(a.Action), s(a.Subject)
	item["ttl"] = n(a.At.Add(accounts.ActivityRetention).Unix())
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.tableName(), Item: item})
	return classify("put activity", err, "", "")
}

// ListActivity reads an account's newest activity first.
func (st *Store) ListActivity(ctx context.Context, tenantID, userID string, limit int) ([]accounts.Activity, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: st.tableName(), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]av{":pk": s(userPK(tenantID, userID)), ":p": s(activityPrefix)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, classify("list activity", err, "", "")
	}
	acts := make([]accounts.Activity, 0, len(out.Items))
	for _, m := range out.Items {
		acts = append(acts, accounts.Activity{
			TenantID: str(m, "tenant"), UserID: str(m, "user"), ID: str(m, "id"), At: parseTS(m, "at"),
			ActorID: str(m, "actor"), ActorUsername: str(m, "actorUsername"), Action: str(m, "action"), Subject: str(m, "subject"),
		})
	}
	return acts, nil
}

// queryPrefix reads every item of partition pk whose sort key starts with
// prefix, with strong consistency.
func (st *Store) queryPrefix(ctx context.Context, pk, prefix string) ([]map[string]av, error) {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: st.tableName(), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]av{":pk": s(pk), ":p": s(prefix)}, ConsistentRead: aws.Bool(true),
	})
	var items []map[string]av
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(fmt.Sprintf("list %s in %s", prefix, pk), err, "", "")
		}
		items = append(items, out.Items...)
	}
	return items, nil
}
