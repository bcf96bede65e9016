package apigw_test

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

type recoveryRefs struct {
	mu   sync.Mutex
	refs []accounts.RecoveryRef
}

func (q *recoveryRefs) EnqueueRecovery(_ context.Context, ref accounts.RecoveryRef) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refs = append(q.refs, ref)
	return nil
}

func TestRecoveryRoutesAnswerByShapeOnly(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	store := dynamostore.New(client, table)
	q := &recoveryRefs{}
	svc := accounts.NewService(accounts.Deps{
		Store: store, Throttle: store, Recovery: q, Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Logger: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)),
	}, accounts.Config{ResetPageURL: resetPage})
	if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: adminPassword, AdminEmail: "admin@kpu.example"}); err != nil {
		t.Fatal(err)
	}
	api := apigw.New(svc, slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	password := func(body string) apigw.Response {
		return do(t, api.ForgotPassword, jsonReq("POST /v1/auth/forgot-password", body))
	}
	username := func(body string) apigw.Response {
		return do(t, api.ForgotUsername, jsonReq("POST /v1/auth/forgot-username", body))
	}

	// What exists, what does not, and a library that does not exist: one
	// answer.
	var first apigw.Response
	for i, resp := range []apigw.Response{
		password(`{"tenant":"kpu","identifier":"admin"}`),
		password(`{"tenant":"kpu","identifier":"nobody"}`),
		password(`{"tenant":"kpu","identifier":"admin@kpu.example"}`),
		password(`{"tenant":"elsewhere","identifier":"admin"}`),
		username(`{"tenant":"kpu","email":"admin@kpu.example"}`),
		username(`{"tenant":"kpu","email":"nobody@kpu.example"}`),
	} {
		if resp.StatusCode != 202 || resp.Body != `{"message":"If an account matches, we have sent an e-mail with what to do next."}` {
			t.Errorf("request %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		if i == 0 {
			first = resp
		} else if !maps.Equal(resp.Headers, first.Headers) {
			t.Errorf("request %d: headers %v, want %v", i, resp.Headers, first.Headers)
		}
	}
	if len(q.refs) != 6 {
		t.Errorf("%d requests queued, want 6", len(q.refs))
	}

	for name, tc := range map[string]struct {
		resp  apigw.Response
		field string
	}{
		"no tenant":             {password(`{"identifier":"admin"}`), "tenant"},
		"bad tenant":            {password(`{"tenant":"K P U","identifier":"admin"}`), "tenant"},
		"no identifier":         {password(`{"tenant":"kpu"}`), "identifier"},
		"long identifier":       {password(`{"tenant":"kpu","identifier":"` + strings.Repeat("a", 321) + `"}`), "identifier"},
		"unknown field":         {password(`{"tenant":"kpu","identifier":"admin","email":"x"}`), "email"},
		"no e-mail":             {username(`{"tenant":"kpu"}`), "email"},
		"identifier for e-mail": {username(`{"tenant":"kpu","identifier":"admin"}`), "identifier"},
	} {
		want(t, name, tc.resp, 400, tc.field)
	}
}
