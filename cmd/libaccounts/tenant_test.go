package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

// noAWSSetup leaves the process with no AWS credentials, region or
// profile, as on a newcomer's machine.
func noAWSSetup(t *testing.T) {
	t.Helper()
	missing := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_DYNAMODB": "",
		"AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing,
		// Without this the SDK would wait for an EC2 metadata service.
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

// TestTenantCreateOnTheLocalStack: with the local stack's stack.json and
// nothing else, the operator command writes to the stack's table; a refused
// admin leaves no tenant behind.
func TestTenantCreateOnTheLocalStack(t *testing.T) {
	noAWSSetup(t)
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		want       []string
		wantTenant bool
	}{
		{name: "chosen password", stdin: "correct horse battery staple\n", args: []string{"--admin-password-stdin", "--name", "KPU Library"},
			want: []string{"tenant kpu created", "admin admin created"}, wantTenant: true},
		{name: "generated password", want: []string{"tenant kpu created", "admin password (shown once, store it now): "}, wantTenant: true},
		{name: "refused password", stdin: "short\n", args: []string{"--admin-password-stdin"}, wantCode: 2,
			want: []string{"tenant kpu: ", "nothing was written"}},
		{name: "refused e-mail", args: []string{"--admin-email", "not an address"}, wantCode: 2, want: []string{"nothing was written"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, table := ddbtest.TestTable(t)
			h := newHarness(t)
			dir := filepath.Join(h.wd, ".local")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			// The stack's own type, so that a renamed field fails here.
			data, _ := json.Marshal(stack.Info{APIURL: "http://127.0.0.1:1", DynamoEndpoint: aws.ToString(client.Options().BaseEndpoint), Table: table, Tenant: "demo"})
			if err := os.WriteFile(filepath.Join(dir, "stack.json"), data, 0o600); err != nil {
				t.Fatal(err)
			}
			h.wd = filepath.Join(h.wd, "cmd") // found from a subdirectory too
			os.MkdirAll(h.wd, 0o755)
			r := h.run(tt.stdin, append([]string{"tenant", "create", "--tenant", "kpu"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tt.wantCode, r.all())
			}
			for _, w := range tt.want {
				if !strings.Contains(r.all(), w) {
					t.Errorf("output lacks %q:\n%s", w, r.all())
				}
			}
			if !strings.Contains(r.stderr, "using the local stack") || !strings.Contains(r.stderr, "table "+table) {
				t.Errorf("does not say it uses the local stack:\n%s", r.stderr)
			}
			st := dynamostore.New(client, table)
			ctx := context.Background()
			_, err := st.GetTenant(ctx, "kpu")
			if tt.wantTenant != (err == nil) {
				t.Fatalf("tenant: %v (want it: %v)", err, tt.wantTenant)
			}
			if !tt.wantTenant {
				return
			}
			if _, err := st.GetUserByUsername(ctx, "kpu", accounts.UsernameKey("admin")); err != nil {
				t.Errorf("admin: %v", err)
			}
			// A second run finds both and changes nothing.
			r = h.run("", "tenant", "create", "--tenant", "kpu")
			if r.code != 0 || !strings.Contains(r.stdout, "tenant kpu exists") || !strings.Contains(r.stdout, "admin admin exists") {
				t.Errorf("second run: exit %d:\n%s", r.code, r.all())
			}
		})
	}
}
