package dynamostore

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// A library's own letters sit in the tenant's partition, next to the tenant
// item (key layout in keys.go):
//
//	TENANT#<t>             LETTER#<kind>       the library's letter of a kind
//
// A kind without an item uses the shipped default, so a new default reaches
// every library that has not written its own.
const letterPrefix = "LETTER#"

func letterSK(kind accounts.NoticeKind) string { return letterPrefix + string(kind) }

var _ accounts.LetterStore = (*Store)(nil)

func letterItem(l accounts.Letter) map[string]av {
	item := key(tenantPK(l.TenantID), letterSK(l.Kind))
	item["tenant"], item["kind"], item["subject"], item["body"] = s(l.TenantID), s(string(l.Kind)), s(l.Subject), s(l.Body)
	item["updatedAt"], item["updatedBy"], item["version"] = s(ts(l.UpdatedAt)), s(l.UpdatedBy), n(l.Version)
	return item
}

func letterFromItem(m map[string]av) (accounts.Letter, error) {
	a := attrs{m: m}
	l := accounts.Letter{
		TenantID: str(m, "tenant"), Kind: accounts.NoticeKind(str(m, "kind")), Subject: str(m, "subject"), Body: str(m, "body"),
		UpdatedAt: parseTS(m, "updatedAt"), UpdatedBy: str(m, "updatedBy"), Version: a.num("version"),
	}
	return l, a.err
}

// GetLetter reads the tenant's letter of kind, strongly consistent so that
// a notice sent right after an edit uses the new text.
func (st *Store) GetLetter(ctx context.Context, tenantID string, kind accounts.NoticeKind) (accounts.Letter, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(tenantPK(tenantID), letterSK(kind)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Letter{}, classify("get letter "+string(kind)+" of "+tenantID, err, "", "")
	}
	if out.Item == nil {
		return accounts.Letter{}, accounts.E(accounts.CodeNotFound, "letter not found")
	}
	return letterFromItem(out.Item)
}

// ListLetters reads every letter the tenant wrote: a handful of items in
// one partition.
func (st *Store) ListLetters(ctx context.Context, tenantID string) ([]accounts.Letter, error) {
	in := &dynamodb.QueryInput{
		TableName:              st.tableName(),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]av{
			":pk": s(tenantPK(tenantID)), ":p": s(letterPrefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	var out []accounts.Letter
	for {
		page, err := st.db.Query(ctx, in)
		if err != nil {
			return nil, classify("list letters of "+tenantID, err, "", "")
		}
		for _, it := range page.Items {
			l, err := letterFromItem(it)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// PutLetter stores l over version l.Version-1 (none when l.Version is 1)
// with its audit event.
func (st *Store) PutLetter(ctx context.Context, l accounts.Letter, audit *accounts.AuditEvent) error {
	if l.TenantID == "" || l.Version < 1 || strings.TrimSpace(string(l.Kind)) == "" {
		return accounts.Internal(fmt.Errorf("put letter: no tenant, kind or version (%q, %q, %d)", l.TenantID, l.Kind, l.Version))
	}
	put := &ddb.Put{TableName: st.tableName(), Item: letterItem(l)}
	if l.Version == 1 {
		put.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		put.ConditionExpression = aws.String("version = :v")
		put.ExpressionAttributeValues = map[string]av{":v": n(l.Version - 1)}
	}
	var tx txn
	tx.add(reason{accounts.CodeConflict, "version", "the letter was changed meanwhile; reload and retry"}, ddb.TransactWriteItem{Put: put})
	tx.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "put letter "+string(l.Kind)+" of "+l.TenantID, tx)
}
