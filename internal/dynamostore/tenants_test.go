package dynamostore_test

import (
	"context"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

// TestCreateTenantWithAdminIsAllOrNothing: whichever part is refused, neither
// the tenant nor its admin is stored.
func TestCreateTenantWithAdminIsAllOrNothing(t *testing.T) {
	t.Parallel()
	tenant := accounts.Tenant{ID: "kpu", Name: "KPU", Settings: accounts.DefaultSettings(), CreatedAt: t0, UpdatedAt: t0, Version: 1}
	admin := newUser("kpu", id(10), "admin")
	admin.Roles = []string{accounts.RoleAdmin}
	tests := []struct {
		name       string
		before     func(ctx context.Context, st *dynamostore.Store) error
		wantField  string
		wantTenant bool // the tenant exists afterwards (made by before)
	}{
		{name: "both stored"},
		{name: "username taken", wantField: "username", before: func(ctx context.Context, st *dynamostore.Store) error {
			// A user of that tenant id without the tenant: only a store can
			// make one, which is what makes the guard a fair test.
			return st.CreateUser(ctx, newUser("kpu", id(11), "Admin"), nil)
		}},
		{name: "tenant exists", wantField: "tenant", wantTenant: true, before: func(ctx context.Context, st *dynamostore.Store) error {
			return st.CreateTenant(ctx, tenant)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, table := ddbtest.TestTable(t)
			st := dynamostore.New(client, table)
			ctx := context.Background()
			if tt.before != nil {
				if err := tt.before(ctx, st); err != nil {
					t.Fatal(err)
				}
			}
			err := st.CreateTenantWithAdmin(ctx, tenant, admin, &accounts.AuditEvent{TenantID: "kpu", ID: "evt1", At: t0, ActorID: accounts.OperatorActor, Action: accounts.ActionTenantBootstrap, TargetID: admin.ID})
			_, tenantErr := st.GetTenant(ctx, "kpu")
			_, adminErr := st.GetUser(ctx, "kpu", admin.ID)
			if tt.wantField == "" {
				if err != nil || tenantErr != nil || adminErr != nil {
					t.Fatalf("create: %v; tenant: %v; admin: %v", err, tenantErr, adminErr)
				}
				return
			}
			if accounts.ErrorCode(err) != accounts.CodeConflict || accounts.PublicField(err) != tt.wantField {
				t.Fatalf("create: %v, want a conflict on %s", err, tt.wantField)
			}
			if tt.wantTenant != (tenantErr == nil) {
				t.Errorf("tenant after a refused create: %v", tenantErr)
			}
			if accounts.ErrorCode(adminErr) != accounts.CodeNotFound {
				t.Errorf("admin after a refused create: %v", adminErr)
			}
		})
	}
}
