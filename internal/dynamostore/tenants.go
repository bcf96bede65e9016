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
	item, err := tenantItem(t, 0)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: st.tableName(), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return classify("put tenant "+t.ID, err, accounts.CodeConflict, "tenant already exists")
}

// CreateTenantWithAdmin stores a new tenant, its first admin with the
// admin's guards, and the audit event in one transaction, so that a refusal
// of any part (an existing tenant, a taken username) leaves nothing behind.
func (st *Store) CreateTenantWithAdmin(ctx context.Context, t accounts.Tenant, admin accounts.User, audit *accounts.AuditEvent) error {
	if admin.TenantID != t.ID {
		return accounts.Internal(fmt.Errorf("admin %s belongs to tenant %s, not %s", admin.ID, admin.TenantID, t.ID))
	}
	// The admin count starts where the admin leaves it: one transaction
	// cannot both put the tenant and update it.
	admins := int64(0)
	if activeAdmin(admin) {
		admins = 1
	}
	item, err := tenantItem(t, admins)
	if err != nil {
		return err
	}
	var tx txn
	tx.add(reason{accounts.CodeConflict, "tenant", "tenant already exists"}, ddb.TransactWriteItem{Put: &ddb.Put{
		TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	st.addUserPuts(&tx, admin)
	tx.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "create tenant "+t.ID+" with admin "+admin.ID, tx)
}

func tenantItem(t accounts.Tenant, activeAdmins int64) (map[string]av, error) {
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return nil, accounts.Internal(fmt.Errorf("encode settings: %w", err))
	}
	item := key(tenantPK(t.ID), skTenant)
	item["id"], item["name"], item["settings"] = s(t.ID), s(t.Name), s(string(settings))
	item["createdAt"], item["updatedAt"], item["version"] = s(ts(t.CreatedAt)), s(ts(t.UpdatedAt)), n(t.Version)
	item["activeAdmins"] = n(activeAdmins)
	return item, nil
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
	version, err := num(out.Item, "version")
	if err != nil {
		return accounts.Tenant{}, fmt.Errorf("decode tenant %s: %w", id, err)
	}
	t := accounts.Tenant{
		ID: str(out.Item, "id"), Name: str(out.Item, "name"),
		CreatedAt: parseTS(out.Item, "createdAt"), UpdatedAt: parseTS(out.Item, "updatedAt"), Version: version,
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
