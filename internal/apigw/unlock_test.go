package apigw_test

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

type lockView struct {
	FailedLogins int        `json:"failedLogins"`
	LockedUntil  *time.Time `json:"lockedUntil"`
}

func loginFrom(ip, tenant, username, password string) apigw.Request {
	r := jsonReq("POST /v1/auth/login", `{"tenant":"`+tenant+`","username":"`+username+`","password":"`+password+`"}`)
	r.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{SourceIP: ip}
	return r
}

// TestStaffSeeAndClearALock: the lock shows on the staff view only, and
// the unlock route ends it.
func TestStaffSeeAndClearALock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu", "ubc")
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	_, ubc := e.login(t, "ubc", "admin", adminPassword)
	u := e.createUser(t, kpu, `{"username":"sadie","password":"a fine long passphrase"}`)
	_, sadie := e.login(t, "kpu", "sadie", "a fine long passphrase")
	for range 5 {
		want(t, "wrong password", do(t, e.api.Login, loginFrom("192.0.2.1", "kpu", "sadie", "not her password at all")), 401, "")
	}
	want(t, "locked", do(t, e.api.Login, loginFrom("192.0.2.1", "kpu", "sadie", "a fine long passphrase")), 401, "")

	seen := decode[lockView](t, e.getUser(t, kpu, u.ID))
	if seen.FailedLogins != 5 || seen.LockedUntil == nil || !seen.LockedUntil.After(time.Now()) {
		t.Fatalf("staff see %+v", seen)
	}
	if me := do(t, e.api.Me, sadie("GET /v1/me", "")); strings.Contains(me.Body, "failedLogins") || strings.Contains(me.Body, "lockedUntil") {
		t.Errorf("the user's own view shows the lock state: %s", me.Body)
	}

	unlock := "POST /v1/admin/users/{id}/unlock"
	want(t, "other library", do(t, e.api.UnlockUser, withID(ubc(unlock, ""), u.ID)), 404, "")
	want(t, "patron", do(t, e.api.UnlockUser, withID(sadie(unlock, ""), u.ID)), 403, "")
	want(t, "no authorizer", do(t, e.api.UnlockUser, withID(jsonReq(unlock, ""), u.ID)), 401, "")
	want(t, "a body", do(t, e.api.UnlockUser, withID(kpu(unlock, `{"force":true}`), u.ID)), 400, "")
	for i := range 2 {
		resp := do(t, e.api.UnlockUser, withID(kpu(unlock, ""), u.ID))
		want(t, "unlock", resp, 200, "")
		out := decode[struct {
			Message string
			User    lockView
		}](t, resp)
		if out.User.FailedLogins != 0 || out.User.LockedUntil != nil || !strings.Contains(out.Message, "Unlocked") {
			t.Errorf("unlock %d answered %s", i+1, resp.Body)
		}
	}
	want(t, "after unlock", do(t, e.api.Login, loginFrom("192.0.2.1", "kpu", "sadie", "a fine long passphrase")), 200, "")
}

// TestASourceOverItsLimitGets429 wires the store's throttle, as every
// function gets it.
func TestASourceOverItsLimitGets429(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	svc := accounts.NewService(accounts.Deps{
		Store: st, Throttle: st, Logger: slog.New(slog.DiscardHandler),
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
	}, accounts.Config{})
	if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: "kpu", AdminUsername: "admin", AdminPassword: adminPassword}); err != nil {
		t.Fatal(err)
	}
	api := apigw.New(svc, slog.New(slog.DiscardHandler))
	for i := range 100 {
		want(t, "spray", do(t, api.Login, loginFrom("198.51.100.20", "kpu", "name"+strconv.Itoa(i), "a guess of a password")), 401, "")
	}
	resp := do(t, api.Login, loginFrom("198.51.100.20", "kpu", "admin", adminPassword))
	b := want(t, "over the limit", resp, http.StatusTooManyRequests, "")
	if b.Error.Code != "too_many_requests" {
		t.Errorf("code %q", b.Error.Code)
	}
	if s, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || s < 1 || s > 900 {
		t.Errorf("Retry-After %q", resp.Headers["Retry-After"])
	}
	want(t, "another address", do(t, api.Login, loginFrom("198.51.100.21", "kpu", "admin", adminPassword)), 200, "")
}
