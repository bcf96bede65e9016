package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// The Circulation adapter keeps what an ILS reports in the patron's
// partition, so that deleting the account deletes its loans and holds:
//
//	T#<t>#USER#<id>  LOAN#<loan id>   a checkout
//	T#<t>#USER#<id>  HOLD#<hold id>   a hold
const (
	loanPrefix = "LOAN#"
	holdPrefix = "HOLD#"
)

var _ accounts.Circulation = (*Store)(nil)

func tsOpt(item map[string]av, name string, t time.Time) {
	if !t.IsZero() {
		item[name] = s(ts(t))
	}
}

func checkoutItem(c accounts.Checkout) map[string]av {
	item := key(userPK(c.TenantID, c.PatronID), loanPrefix+c.ID)
	item["tenant"], item["patron"], item["id"], item["title"] = s(c.TenantID), s(c.PatronID), s(c.ID), s(c.Title)
	if c.ItemBarcode != "" {
		item["itemBarcode"] = s(c.ItemBarcode)
	}
	item["checkedOutAt"], item["dueAt"], item["updatedAt"] = s(ts(c.CheckedOutAt)), s(ts(c.DueAt)), s(ts(c.UpdatedAt))
	item["renewalsUsed"], item["renewalsAllowed"], item["othersWaiting"] = n(int64(c.RenewalsUsed)), n(int64(c.RenewalsAllowed)), n(int64(c.OthersWaiting))
	return item
}

func checkoutFromItem(m map[string]av) (accounts.Checkout, error) {
	a := &attrs{m: m}
	c := accounts.Checkout{
		TenantID: str(m, "tenant"), PatronID: str(m, "patron"), ID: str(m, "id"), Title: str(m, "title"), ItemBarcode: str(m, "itemBarcode"),
		CheckedOutAt: parseTS(m, "checkedOutAt"), DueAt: parseTS(m, "dueAt"), UpdatedAt: parseTS(m, "updatedAt"),
		RenewalsUsed: a.integer("renewalsUsed"), RenewalsAllowed: a.integer("renewalsAllowed"), OthersWaiting: a.integer("othersWaiting"),
	}
	return c, a.err
}

func holdItem(h accounts.Hold) map[string]av {
	item := key(userPK(h.TenantID, h.PatronID), holdPrefix+h.ID)
	item["tenant"], item["patron"], item["id"], item["title"] = s(h.TenantID), s(h.PatronID), s(h.ID), s(h.Title)
	item["status"], item["placedAt"], item["updatedAt"], item["queuePosition"] = s(string(h.Status)), s(ts(h.PlacedAt)), s(ts(h.UpdatedAt)), n(int64(h.QueuePosition))
	if h.ItemBarcode != "" {
		item["itemBarcode"] = s(h.ItemBarcode)
	}
	if h.PickupLocation != "" {
		item["pickupLocation"] = s(h.PickupLocation)
	}
	tsOpt(item, "expiresAt", h.ExpiresAt)
	tsOpt(item, "suspendedUntil", h.SuspendedUntil)
	return item
}

func holdFromItem(m map[string]av) (accounts.Hold, error) {
	a := &attrs{m: m}
	h := accounts.Hold{
		TenantID: str(m, "tenant"), PatronID: str(m, "patron"), ID: str(m, "id"), Title: str(m, "title"), ItemBarcode: str(m, "itemBarcode"),
		Status: accounts.HoldStatus(str(m, "status")), PlacedAt: parseTS(m, "placedAt"), UpdatedAt: parseTS(m, "updatedAt"),
		QueuePosition: a.integer("queuePosition"), PickupLocation: str(m, "pickupLocation"),
		ExpiresAt: parseTS(m, "expiresAt"), SuspendedUntil: parseTS(m, "suspendedUntil"),
	}
	return h, a.err
}

func (st *Store) getItem(ctx context.Context, pk, sk, what string) (map[string]av, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify("get "+what, err, "", "")
	}
	if out.Item == nil {
		return nil, accounts.E(accounts.CodeNotFound, "%s not found", what)
	}
	return out.Item, nil
}

// ListCheckouts reads a patron's loans.
func (st *Store) ListCheckouts(ctx context.Context, tenantID, patronID string) ([]accounts.Checkout, error) {
	items, err := st.queryPrefix(ctx, userPK(tenantID, patronID), loanPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]accounts.Checkout, 0, len(items))
	for _, it := range items {
		c, err := checkoutFromItem(it)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// GetCheckout reads one loan.
func (st *Store) GetCheckout(ctx context.Context, tenantID, patronID, id string) (accounts.Checkout, error) {
	it, err := st.getItem(ctx, userPK(tenantID, patronID), loanPrefix+id, "checkout")
	if err != nil {
		return accounts.Checkout{}, err
	}
	return checkoutFromItem(it)
}

// PutCheckout stores a loan as fed, for a patron that exists.
func (st *Store) PutCheckout(ctx context.Context, c accounts.Checkout) error {
	return st.putForPatron(ctx, "put checkout "+c.ID, c.TenantID, c.PatronID, checkoutItem(c), "")
}

// Renew stores next if the loan still has prev's due date and renewals.
func (st *Store) Renew(ctx context.Context, prev, next accounts.Checkout) error {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: st.tableName(), Item: checkoutItem(next),
		ConditionExpression:       aws.String("dueAt = :due AND renewalsUsed = :used"),
		ExpressionAttributeValues: map[string]av{":due": s(ts(prev.DueAt)), ":used": n(int64(prev.RenewalsUsed))},
	})
	return classify("renew "+prev.ID, err, accounts.CodeConflict, "the checkout was changed meanwhile; reload and retry")
}

// ListHolds reads a patron's holds.
func (st *Store) ListHolds(ctx context.Context, tenantID, patronID string) ([]accounts.Hold, error) {
	items, err := st.queryPrefix(ctx, userPK(tenantID, patronID), holdPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]accounts.Hold, 0, len(items))
	for _, it := range items {
		h, err := holdFromItem(it)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// GetHold reads one hold.
func (st *Store) GetHold(ctx context.Context, tenantID, patronID, id string) (accounts.Hold, error) {
	it, err := st.getItem(ctx, userPK(tenantID, patronID), holdPrefix+id, "hold")
	if err != nil {
		return accounts.Hold{}, err
	}
	return holdFromItem(it)
}

// PutHold stores a hold as fed.
func (st *Store) PutHold(ctx context.Context, h accounts.Hold) error {
	return st.putForPatron(ctx, "put hold "+h.ID, h.TenantID, h.PatronID, holdItem(h), "")
}

// PlaceHold stores a new request.
func (st *Store) PlaceHold(ctx context.Context, h accounts.Hold) error {
	return st.putForPatron(ctx, "place hold "+h.ID, h.TenantID, h.PatronID, holdItem(h), "attribute_not_exists(pk)")
}

// UpdateHold stores next if the hold is as prev was read.
func (st *Store) UpdateHold(ctx context.Context, prev, next accounts.Hold) error {
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: st.tableName(), Item: holdItem(next),
		ConditionExpression:       aws.String("updatedAt = :u AND #st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]av{":u": s(ts(prev.UpdatedAt)), ":st": s(string(prev.Status))},
	})
	return classify("update hold "+prev.ID, err, accounts.CodeConflict, "the hold was changed meanwhile; reload and retry")
}

// CancelHold removes a hold that is still as it was read.
func (st *Store) CancelHold(ctx context.Context, h accounts.Hold) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: st.tableName(), Key: key(userPK(h.TenantID, h.PatronID), holdPrefix+h.ID),
		ConditionExpression:       aws.String("updatedAt = :u"),
		ExpressionAttributeValues: map[string]av{":u": s(ts(h.UpdatedAt))},
	})
	return classify("cancel hold "+h.ID, err, accounts.CodeConflict, "the hold was changed meanwhile; reload and retry")
}

// putForPatron writes item only while its patron exists, so a feed racing
// a deletion leaves no record in a partition nobody owns.
func (st *Store) putForPatron(ctx context.Context, op, tenantID, patronID string, item map[string]av, cond string) error {
	put := &ddb.Put{TableName: st.tableName(), Item: item}
	if cond != "" {
		put.ConditionExpression = aws.String(cond)
	}
	var t txn
	t.add(reason{accounts.CodeConflict, "id", "a record with this id exists"}, ddb.TransactWriteItem{Put: put})
	t.add(reason{accounts.CodeNotFound, "", "user not found"}, ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{
		TableName: st.tableName(), Key: key(userPK(tenantID, patronID), skUser), ConditionExpression: aws.String("attribute_exists(pk)"),
	}})
	return st.run(ctx, op, t)
}
