package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// CreateTenant stores a new tenant; an existing id is a conflict.
func (st *Store) CreateTenant(ctx context.Context, t accounts.Tenant) error {
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return accounts.Internal(fmt.Errorf("encode settings: %w", err))
	}
	item := key(tenantPK(t.ID), skTenant)
	item["id"], item["name"], item["settings"] = s(t.ID), s(t.Name), s(string(settings))
	item["createdAt"], item["updatedAt"], item["version"] = s(ts(t.CreatedAt)), s(ts(t.UpdatedAt)), n(t.Version)
	item["activeAdmins"] = n(0)
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: st.tableName(), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return classify("put tenant "+t.ID, err, accounts.CodeConflict, "tenant already exists")
}

// GetTenant reads a tenant.
func (st *Store) GetTenant(ctx context.Context, id string) (accounts.Tenant, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(tenantPK(id), skTenant)})
	if err != nil {
		return accounts.Tenant{}, classify("get tenant "+id, err, "", "")
	}
	if out.Item == nil {
		return accounts.Tenant{}, accounts.E(accounts.CodeNotFound, "tenant not found")
	}
	t := accounts.Tenant{
		ID: str(out.Item, "id"), Name: str(out.Item, "name"),
		CreatedAt: parseTS(out.Item, "createdAt"), UpdatedAt: parseTS(out.Item, "updatedAt"), Version: num(out.Item, "version"),
		Settings: accounts.DefaultSettings(),
	}
	// Settings are JSON so that new settings need no migration: what an old
	// item lacks keeps its default.
	if raw := str(out.Item, "settings"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &t.Settings); err != nil {
			return accounts.Tenant{}, accounts.Internal(fmt.Errorf("decode settings of tenant %s: %w", id, err))
		}
	}
	return t, nil
}

// UpdateSettings stores t's settings if the tenant is still at t.Version-1.
func (st *Store) UpdateSettings(ctx context.Context, t accounts.Tenant, audit *accounts.AuditEvent) error {
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return accounts.Internal(fmt.Errorf("encode settings: %w", err))
	}
	var tx txn
	tx.add(reason{accounts.CodeConflict, "version", "the settings were changed meanwhile; reload and retry"}, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(tenantPK(t.ID), skTenant),
		UpdateExpression:          aws.String("SET settings = :s, updatedAt = :at, version = :next"),
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]av{":s": s(string(settings)), ":at": s(ts(t.UpdatedAt)), ":next": n(t.Version), ":v": n(t.Version - 1)},
	}})
	tx.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "update settings of "+t.ID, tx)
}
