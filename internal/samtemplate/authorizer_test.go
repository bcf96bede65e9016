package samtemplate_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

func TestAuthorizerIdentity(t *testing.T) {
	// What the local gateway is built from: the identity source it
	// requires and how long it caches, and the combination API Gateway
	// refuses (a cache with nothing to key it by).
	tests := []struct {
		name       string
		identity   string // the Identity block's lines, indented 14
		wantHeader string
		wantTTL    time.Duration
		wantErr    bool
	}{
		{"header and cache", "              Headers: [Authorization]\n              ReauthorizeEvery: 30\n", "Authorization", 30 * time.Second, false},
		{"header, no cache", "              Headers: [Authorization]\n              ReauthorizeEvery: 0\n", "Authorization", 0, false},
		{"no identity source, no cache", "              ReauthorizeEvery: 0\n", "", 0, false},
		{"no identity source but a cache", "              ReauthorizeEvery: 30\n", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := "Transform: AWS::Serverless-2016-10-31\nResources:\n" +
				"  AuthorizerFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n" +
				"  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        DefaultAuthorizer: A\n        Authorizers:\n" +
				"          A:\n            FunctionArn: !GetAtt AuthorizerFunction.Arn\n            Identity:\n" + tt.identity
			p := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(p, []byte(tpl), 0o600); err != nil {
				t.Fatal(err)
			}
			loaded, err := samtemplate.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := loaded.Authorizer()
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("accepted as %+v, want an error", got)
			case !tt.wantErr && err != nil:
				t.Fatal(err)
			case tt.wantErr:
				return
			}
			want := samtemplate.Authorizer{Function: "AuthorizerFunction", IdentityHeader: tt.wantHeader, TTL: tt.wantTTL}
			if got != want {
				t.Errorf("Authorizer = %+v, want %+v", got, want)
			}
		})
	}
}
