package lambdaenv_test

import (
	"context"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/lambdaenv"
)

func TestRecoverySettings(t *testing.T) {
	key := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		wantErr bool
		check   func(lambdaenv.Env) bool
	}{
		{"unset", nil, false, func(e lambdaenv.Env) bool { return e.RecoveryQueueURL == "" && e.Accounts.LookupKey == nil }},
		{"set", map[string]string{"RECOVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/recovery", "LOOKUP_KEY": key}, false, func(e lambdaenv.Env) bool {
			return e.RecoveryQueueURL == "https://sqs.us-east-1.amazonaws.com/1/recovery" && string(e.Accounts.LookupKey) == key
		}},
		{"queue URL not a URL", map[string]string{"RECOVERY_QUEUE_URL": "recovery"}, true, nil},
		{"lookup key too short", map[string]string{"LOOKUP_KEY": key[1:]}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"TABLE_NAME": "t"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			e, err := lambdaenv.Load(context.Background(), func(k string) string { return vars[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("Load = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !tc.check(e) {
				t.Errorf("env %+v", e)
			}
			if err != nil && strings.Contains(err.Error(), key[1:]) {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
}
