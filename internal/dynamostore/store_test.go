package dynamostore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newUser(tenant, id, username string) accounts.User {
	return accounts.User{TenantID: tenant, ID: id, Username: username, Status: accounts.StatusActive, PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0, Version: 1, Roles: []string{}}
}

func id(i int) string { return fmt.Sprintf("user%022d", i) }

func TestSetPasswordRefusesAStaleVersion(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	u := newUser("kpu", id(1), "a")
	if err := st.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, "kpu", u.ID, 1, "$argon2id$new", false, t0, nil); err != nil {
		t.Fatal(err)
	}
	err := st.SetPassword(ctx, "kpu", u.ID, 1, "$argon2id$lost", false, t0, nil)
	if accounts.ErrorCode(err) != accounts.CodeConflict {
		t.Fatalf("stale write: %v, want conflict", err)
	}
	got, _ := st.GetUser(ctx, "kpu", u.ID)
	if got.PasswordHash != "$argon2id$new" || got.Version != 2 {
		t.Errorf("after conflict: hash %q version %d", got.PasswordHash, got.Version)
	}
}

func TestRevokingManySessions(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	u := newUser("kpu", id(2), "b")
	if err := st.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	// More than one BatchWriteItem's worth, so the batching is exercised.
	var ids []string
	for i := range 60 {
		sid := fmt.Sprintf("%064x", i)
		ids = append(ids, sid)
		s := accounts.Session{TenantID: "kpu", UserID: u.ID, ID: sid, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour), IdleExpiresAt: t0.Add(time.Hour)}
		if err := st.PutSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteUserSessions(ctx, "kpu", u.ID, ids[7]); err != nil {
		t.Fatal(err)
	}
	for i, sid := range ids {
		_, _, err := st.GetSessionAndUser(ctx, "kpu", u.ID, sid)
		if i == 7 && err != nil {
			t.Errorf("kept session gone: %v", err)
		}
		if i != 7 && accounts.ErrorCode(err) != accounts.CodeNotFound {
			t.Fatalf("session %d survived: %v", i, err)
		}
	}
	if _, err := st.GetUser(ctx, "kpu", u.ID); err != nil {
		t.Errorf("user removed with its sessions: %v", err)
	}
}

// throttling wraps the real client and fails chosen calls as DynamoDB does
// under load.
type throttling struct {
	dynamostore.API
	getItem func() error
}

func (t throttling) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := t.getItem(); err != nil {
		return nil, err
	}
	return t.API.GetItem(ctx, in, o...)
}

func TestThrottlingIsUnavailableNotInternal(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(throttling{API: client, getItem: func() error {
		return &ddb.ProvisionedThroughputExceededException{Message: new(string)}
	}}, table)
	_, err := st.GetTenant(context.Background(), "kpu")
	if accounts.ErrorCode(err) != accounts.CodeUnavailable {
		t.Fatalf("throttled read: %v, want unavailable", err)
	}
	_, err = st.GetUser(context.Background(), "kpu", id(3))
	if accounts.ErrorCode(err) != accounts.CodeUnavailable {
		t.Fatalf("throttled read: %v, want unavailable", err)
	}
}

func TestUserRoundTripKeepsEveryField(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	// An admin counts towards the tenant's admins, so the tenant must exist.
	if err := st.CreateTenant(ctx, accounts.Tenant{ID: "kpu", Name: "KPU", Settings: accounts.DefaultSettings(), Version: 1}); err != nil {
		t.Fatal(err)
	}
	u := newUser("kpu", id(4), "Kpu-Sadie-P")
	u.Email, u.Barcode, u.PrimaryID = "sadie@kpu.ca", "21234", "000123"
	u.Roles, u.Queues, u.CannedMessagePools = []string{"admin", "agent"}, []string{"q1", "q2"}, []string{"pool"}
	u.MustChangePassword = true
	u.LastLoginAt, u.LockedUntil, u.PasswordChangedAt = t0.Add(time.Minute), t0.Add(time.Hour), t0
	if err := st.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetUserByUsername(ctx, "kpu", "kpu-sadie-p")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", u) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, u)
	}
	if _, err := st.GetUserByUsername(ctx, "ubc", "kpu-sadie-p"); accounts.ErrorCode(err) != accounts.CodeNotFound {
		t.Errorf("other tenant lookup: %v", err)
	}
}

func TestEditsKeepSignInBookkeeping(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	prev := newUser("kpu", id(5), "c")
	if err := st.CreateUser(ctx, prev, nil); err != nil {
		t.Fatal(err)
	}
	// Sign-in writes without bumping the version; an edit made from an
	// older read must not roll those writes back.
	ref := accounts.LoginCounterRef{TenantID: "kpu", UserID: prev.ID}
	var c accounts.LoginCounter
	for i := range 3 {
		next := accounts.LoginCounter{Failures: i + 1, LastFailureAt: t0.Add(time.Duration(i) * time.Second)}
		if err := st.CountLoginAttempt(ctx, ref, c, next, time.Time{}); err != nil {
			t.Fatal(err)
		}
		c = next
	}
	next := prev
	next.Email, next.Version = "c@kpu.ca", prev.Version+1
	if err := st.UpdateUser(ctx, prev, next, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetUser(ctx, "kpu", prev.ID)
	if got.FailedLogins != 3 || got.Email != "c@kpu.ca" || got.PasswordHash != prev.PasswordHash {
		t.Errorf("after edit: failures %d, email %q", got.FailedLogins, got.Email)
	}
	// Clearing the e-mail removes the user from the e-mail index.
	cleared := got
	cleared.Email, cleared.Version = "", got.Version+1
	if err := st.UpdateUser(ctx, got, cleared, nil); err != nil {
		t.Fatal(err)
	}
	if users, _ := st.FindUsersByEmail(ctx, "kpu", "c@kpu.ca"); len(users) != 0 {
		t.Errorf("still found by the old e-mail: %d", len(users))
	}
}

func TestAChangeAndItsAuditEventStandOrFallTogether(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	u := newUser("kpu", id(6), "d")
	ev := &accounts.AuditEvent{TenantID: "kpu", ID: "e1", At: t0, ActorID: "operator", Action: accounts.ActionUserCreate, TargetID: u.ID}
	if err := st.CreateUser(ctx, u, ev); err != nil {
		t.Fatal(err)
	}
	// Re-using the event id makes the audit write fail: the edit must not
	// happen without its trail.
	next := u
	next.Email, next.Version = "d@kpu.ca", u.Version+1
	if err := st.UpdateUser(ctx, u, next, ev); accounts.ErrorCode(err) != accounts.CodeInternal {
		t.Fatalf("edit with a clashing audit event: %v", err)
	}
	if got, _ := st.GetUser(ctx, "kpu", u.ID); got.Email != "" || got.Version != u.Version {
		t.Errorf("the edit happened without its audit event: %+v", got)
	}
}

// TestACorruptStoredNumberIsAnInternalError: a number that is not a whole
// int64 must not read as 0 (a version 0 or a failure count 0 would pass
// checks it should fail); the read fails as internal, which callers log and
// never show.
func TestACorruptStoredNumberIsAnInternalError(t *testing.T) {
	t.Parallel()
	client, table := ddbtest.TestTable(t)
	st := dynamostore.New(client, table)
	ctx := context.Background()
	if err := st.CreateTenant(ctx, accounts.Tenant{ID: "kpu", Name: "KPU", Settings: accounts.DefaultSettings(), Version: 1}); err != nil {
		t.Fatal(err)
	}
	u := newUser("kpu", id(7), "e")
	if err := st.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	job := accounts.Job{TenantID: "kpu", ID: id(8), Kind: accounts.JobSet, Mode: accounts.ModeCreate, Status: accounts.JobPending, CreatedAt: t0}
	if err := st.CreateJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSet(ctx, accounts.Set{TenantID: "kpu", ID: id(8), Name: "s", JobID: id(8), Status: accounts.SetBuilding, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pk, sk, attr, value string
		read                      func() error
	}{
		{"user version, a decimal", "T#kpu#USER#" + u.ID, "USER", "version", "1.5", func() error { _, err := st.GetUser(ctx, "kpu", u.ID); return err }},
		{"user failures, past int64", "T#kpu#USER#" + u.ID, "USER", "failedLogins", "99999999999999999999", func() error { _, err := st.GetUser(ctx, "kpu", u.ID); return err }},
		{"user by username", "T#kpu#USER#" + u.ID, "USER", "importRow", "2.5", func() error { _, err := st.GetUserByUsername(ctx, "kpu", "e"); return err }},
		{"tenant version", "TENANT#kpu", "TENANT", "version", "1e3", func() error { _, err := st.GetTenant(ctx, "kpu"); return err }},
		{"job counter", "T#kpu#JOB#" + job.ID, "JOB", "rows", "0.1", func() error { _, err := st.GetJob(ctx, "kpu", job.ID); return err }},
		{"set members", "T#kpu#SET#" + job.ID, "SET", "members", "-0.5", func() error { _, err := st.GetSet(ctx, "kpu", job.ID); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case corrupts one attribute and puts it back after.
			corrupt := func(v string) {
				t.Helper()
				_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName: &table, Key: map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: tc.pk}, "sk": &ddb.AttributeValueMemberS{Value: tc.sk}},
					UpdateExpression:          aws.String("SET #a = :v"),
					ExpressionAttributeNames:  map[string]string{"#a": tc.attr},
					ExpressionAttributeValues: map[string]ddb.AttributeValue{":v": &ddb.AttributeValueMemberN{Value: v}},
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			corrupt(tc.value)
			defer corrupt("1")
			err := tc.read()
			if accounts.ErrorCode(err) != accounts.CodeInternal {
				t.Fatalf("read with %s = %s: %v, want an internal error", tc.attr, tc.value, err)
			}
			if msg := accounts.PublicMessage(err); msg != "internal error" {
				t.Errorf("shown to the caller: %q", msg)
			}
			if !strings.Contains(err.Error(), tc.attr) {
				t.Errorf("the logged error does not name the attribute %s: %v", tc.attr, err)
			}
		})
	}
}
