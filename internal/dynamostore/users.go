package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

func userItem(u accounts.User) map[string]av {
	item := key(userPK(u.TenantID, u.ID), skUser)
	item["tenant"], item["id"] = s(u.TenantID), s(u.ID)
	item["username"], item["usernameKey"] = s(u.Username), s(accounts.UsernameKey(u.Username))
	item["roles"], item["queues"], item["cannedMessagePools"] = strList(u.Roles), strList(u.Queues), strList(u.CannedMessagePools)
	item["roleCount"] = n(int64(len(u.Roles)))
	item["status"], item["passwordHash"], item["mustChangePassword"] = s(string(u.Status)), s(u.PasswordHash), b(u.MustChangePassword)
	item["failedLogins"], item["version"] = n(int64(u.FailedLogins)), n(u.Version)
	item["createdAt"], item["updatedAt"], item["passwordChangedAt"] = s(ts(u.CreatedAt)), s(ts(u.UpdatedAt)), s(ts(u.PasswordChangedAt))
	item["gsi1pk"], item["gsi1sk"] = s(userListPK(u.TenantID, shardOf(u.ID))), s(accounts.UsernameKey(u.Username))
	if u.Email != "" {
		item["email"] = s(u.Email)
		item["gsi2pk"], item["gsi2sk"] = s(emailPK(u.TenantID, accounts.EmailKey(u.Email))), s(u.ID)
	}
	if u.Barcode != "" {
		item["barcode"] = s(u.Barcode)
	}
	if u.PrimaryID != "" {
		item["primaryId"] = s(u.PrimaryID)
	}
	if !u.LastLoginAt.IsZero() {
		item["lastLoginAt"] = s(ts(u.LastLoginAt))
	}
	if !u.LockedUntil.IsZero() {
		item["lockedUntil"] = s(ts(u.LockedUntil))
	}
	if !u.LastFailureAt.IsZero() {
		item["lastFailureAt"] = s(ts(u.LastFailureAt))
	}
	if u.CredentialEpoch != 0 {
		item["credEpoch"] = n(u.CredentialEpoch)
	}
	if u.ImportJob != "" {
		item["importJob"], item["importRow"] = s(u.ImportJob), n(int64(u.ImportRow))
	}
	if u.ResetJob != "" {
		item["resetJob"], item["resetNotice"] = s(u.ResetJob), s(u.ResetNotice)
	}
	if u.EmailStatus != "" {
		item["emailStatus"], item["emailStatusAt"] = s(string(u.EmailStatus)), s(ts(u.EmailStatusAt))
	}
	return item
}

func userFromItem(m map[string]av) (accounts.User, error) {
	a := &attrs{m: m}
	u := accounts.User{
		TenantID: str(m, "tenant"), ID: str(m, "id"), Username: str(m, "username"),
		Email: str(m, "email"), Barcode: str(m, "barcode"), PrimaryID: str(m, "primaryId"),
		Roles: list(m, "roles"), Status: accounts.Status(str(m, "status")),
		Queues: list(m, "queues"), CannedMessagePools: list(m, "cannedMessagePools"),
		PasswordHash: str(m, "passwordHash"), MustChangePassword: boolean(m, "mustChangePassword"),
		FailedLogins: a.integer("failedLogins"), LockedUntil: parseTS(m, "lockedUntil"),
		LastFailureAt: parseTS(m, "lastFailureAt"), CredentialEpoch: a.num("credEpoch"),
		CreatedAt: parseTS(m, "createdAt"), UpdatedAt: parseTS(m, "updatedAt"),
		LastLoginAt: parseTS(m, "lastLoginAt"), PasswordChangedAt: parseTS(m, "passwordChangedAt"),
		Version:   a.num("version"),
		ImportJob: str(m, "importJob"), ImportRow: a.integer("importRow"),
		EmailStatus: accounts.EmailStatus(str(m, "emailStatus")), EmailStatusAt: parseTS(m, "emailStatusAt"),
		ResetJob: str(m, "resetJob"), ResetNotice: str(m, "resetNotice"),
	}
	if a.err != nil {
		return accounts.User{}, fmt.Errorf("decode user %s: %w", u.ID, a.err)
	}
	return u, nil
}

func guardPut(pk, tenant, userID string) ddb.TransactWriteItem {
	item := key(pk, skGuard)
	item["userId"], item["tenant"] = s(userID), s(tenant)
	return ddb.TransactWriteItem{Put: &ddb.Put{Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}}
}

func activeAdmin(u accounts.User) bool { return u.Status == accounts.StatusActive && u.IsAdmin() }

// adminCount is the transaction item that moves the tenant's count of active
// admins by delta; taking it down is refused when it would reach zero.
func (st *Store) adminCount(tenantID string, delta int) []ddb.TransactWriteItem {
	if delta == 0 {
		return nil
	}
	up := &ddb.Update{
		TableName: st.tableName(), Key: key(tenantPK(tenantID), skTenant),
		UpdateExpression:          aws.String("ADD activeAdmins :d"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":d": n(int64(delta))},
	}
	if delta < 0 {
		up.ConditionExpression = aws.String("attribute_exists(pk) AND activeAdmins > :one")
		up.ExpressionAttributeValues[":one"] = n(1)
	}
	return []ddb.TransactWriteItem{{Update: up}}
}

func adminDelta(prev, next accounts.User) int {
	switch a, b := activeAdmin(prev), activeAdmin(next); {
	case a && !b:
		return -1
	case !a && b:
		return 1
	}
	return 0
}

func (st *Store) guardPut(pk, tenant, userID string) ddb.TransactWriteItem {
	item := key(pk, skGuard)
	item["userId"], item["tenant"] = s(userID), s(tenant)
	return ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}}
}

// guardDelete removes a guard only if it still names the user, so a
// concurrent owner's guard is never taken away.
func (st *Store) guardDelete(pk, userID string) ddb.TransactWriteItem {
	return ddb.TransactWriteItem{Delete: &ddb.Delete{
		TableName: st.tableName(), Key: key(pk, skGuard),
		ConditionExpression:       aws.String("userId = :u"),
		ExpressionAttributeValues: map[string]av{":u": s(userID)},
	}}
}

// lookalikeGuardDelete removes u's skeleton guard, or nothing if u was
// stored before skeleton guards were kept: the condition only asks that no
// one else holds it.
func (st *Store) lookalikeGuardDelete(u accounts.User) ddb.TransactWriteItem {
	return ddb.TransactWriteItem{Delete: &ddb.Delete{
		TableName: st.tableName(), Key: key(lookalikeGuardPK(u.TenantID, accounts.UsernameSkeleton(u.Username)), skGuard),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR userId = :u"),
		ExpressionAttributeValues: map[string]av{":u": s(u.ID)},
	}}
}

// reason says what a failed transaction item means to the caller.
type reason struct {
	code           accounts.Code
	field, message string
}

var (
	reasonVersion   = reason{accounts.CodeConflict, "version", "the account was changed meanwhile; reload and retry"}
	reasonUsername  = reason{accounts.CodeConflict, "username", "username is already taken"}
	reasonBarcode   = reason{accounts.CodeConflict, "barcode", "barcode is already in use"}
	reasonLookalike = reason{accounts.CodeConflict, "username", "username looks too much like one already taken (letters from another script, or a look-alike such as rn for m)"}
	reasonPrimaryID = reason{accounts.CodeConflict, "primaryId", "primary ID is already in use"}
	reasonLastAdmin = reason{accounts.CodeConflict, "roles", "the library must keep at least one active admin"}
	reasonGuardGone = reason{accounts.CodeConflict, "version", "the account was changed meanwhile; reload and retry"}
	reasonAudit     = reason{accounts.CodeInternal, "", "audit event collision"}
)

// txn collects transaction items with what each one's failed condition
// means, so the two can never fall out of step.
type txn struct {
	items   []ddb.TransactWriteItem
	reasons []reason
}

func (t *txn) add(r reason, items ...ddb.TransactWriteItem) {
	for _, it := range items {
		t.items = append(t.items, it)
		t.reasons = append(t.reasons, r)
	}
}

func (st *Store) run(ctx context.Context, op string, t txn) error {
	return st.transact(ctx, op, t.items, t.reasons)
}

// transact runs items and turns a cancellation into the reason of the first
// item whose condition failed. A transaction cancelled because another one
// held the same item (TransactionConflict) applied nothing, so it is tried
// again: the retry either succeeds or meets the condition the winner broke,
// which is the answer the caller should get (e.g. a stale version).
func (st *Store) transact(ctx context.Context, op string, items []ddb.TransactWriteItem, reasons []reason) error {
	for attempt := 0; ; attempt++ {
		contended, err := st.transactOnce(ctx, op, items, reasons)
		if !contended || attempt >= 4 {
			return err
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return err
		}
	}
}

func (st *Store) transactOnce(ctx context.Context, op string, items []ddb.TransactWriteItem, reasons []reason) (contended bool, err error) {
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *ddb.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" && i < len(reasons) {
				if reasons[i].code == accounts.CodeInternal {
					return false, accounts.Internal(fmt.Errorf("%s: %s: %w", op, reasons[i].message, err))
				}
				return false, &accounts.Error{Code: reasons[i].code, Field: reasons[i].field, Message: reasons[i].message, Err: err}
			}
		}
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict":
				return true, &accounts.Error{Code: accounts.CodeUnavailable, Message: "the service is busy; retry shortly", Err: err}
			case "ThrottlingError", "ProvisionedThroughputExceeded":
				return false, &accounts.Error{Code: accounts.CodeUnavailable, Message: "the service is busy; retry shortly", Err: err}
			}
		}
	}
	var tcx *ddb.TransactionConflictException
	if errors.As(err, &tcx) {
		return true, &accounts.Error{Code: accounts.CodeUnavailable, Message: "the service is busy; retry shortly", Err: err}
	}
	return false, classify(op, err, "", "")
}

// CreateUser writes the user and its uniqueness guards in one transaction:
// uniqueness never rests on a read that a concurrent writer could overtake.
func (st *Store) CreateUser(ctx context.Context, u accounts.User, audit *accounts.AuditEvent) error {
	var t txn
	st.addUserPuts(&t, u)
	if activeAdmin(u) {
		t.add(reason{accounts.CodeNotFound, "tenant", "tenant not found"}, st.adminCount(u.TenantID, 1)...)
	}
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "create user "+u.ID, t)
}

// addUserPuts adds a new user and its uniqueness guards to t; every way of
// creating a user goes through it, so none can miss a guard.
func (st *Store) addUserPuts(t *txn, u accounts.User) {
	t.add(reason{accounts.CodeConflict, "id", "user id collision"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: userItem(u), ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	t.add(reasonUsername, st.guardPut(usernameGuardPK(u.TenantID, accounts.UsernameKey(u.Username)), u.TenantID, u.ID))
	t.add(reasonLookalike, st.guardPut(lookalikeGuardPK(u.TenantID, accounts.UsernameSkeleton(u.Username)), u.TenantID, u.ID))
	if u.Barcode != "" {
		t.add(reasonBarcode, st.guardPut(barcodeGuardPK(u.TenantID, accounts.IdentifierKey(u.Barcode)), u.TenantID, u.ID))
	}
	if u.PrimaryID != "" {
		t.add(reasonPrimaryID, st.guardPut(primaryIDGuardPK(u.TenantID, accounts.IdentifierKey(u.PrimaryID)), u.TenantID, u.ID))
	}
}

// UpdateUser writes next over prev if the stored user is still at
// prev.Version, and moves the guards of changed identifiers.
func (st *Store) UpdateUser(ctx context.Context, prev, next accounts.User, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reasonVersion, ddb.TransactWriteItem{Update: st.userUpdate(prev, next)})
	move := func(oldV, newV string, pk func(t, k string) string, r reason, keyOf func(string) string) {
		if keyOf(oldV) == keyOf(newV) {
			return
		}
		if oldV != "" {
			t.add(reasonGuardGone, st.guardDelete(pk(prev.TenantID, keyOf(oldV)), prev.ID))
		}
		if newV != "" {
			t.add(r, st.guardPut(pk(prev.TenantID, keyOf(newV)), prev.TenantID, prev.ID))
		}
	}
	move(prev.Username, next.Username, usernameGuardPK, reasonUsername, accounts.UsernameKey)
	if a, b := accounts.UsernameSkeleton(prev.Username), accounts.UsernameSkeleton(next.Username); a != b {
		t.add(reasonGuardGone, st.lookalikeGuardDelete(prev))
		t.add(reasonLookalike, st.guardPut(lookalikeGuardPK(prev.TenantID, b), prev.TenantID, prev.ID))
	}
	move(prev.Barcode, next.Barcode, barcodeGuardPK, reasonBarcode, accounts.IdentifierKey)
	move(prev.PrimaryID, next.PrimaryID, primaryIDGuardPK, reasonPrimaryID, accounts.IdentifierKey)
	t.add(reasonLastAdmin, st.adminCount(prev.TenantID, adminDelta(prev, next))...)
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "update user "+prev.ID, t)
}

// loginBookkeeping are the attributes sign-in writes without a version bump;
// a staff edit keeps what is stored rather than what it read. The
// credential epoch is never set from what was read either: it only moves
// on (ADD), so that a link issued meanwhile is ended too.
var loginBookkeeping = map[string]bool{
	"failedLogins": true, "lockedUntil": true, "lastFailureAt": true, "lastLoginAt": true, "passwordHash": true, "credEpoch": true,
}

// userUpdate sets every attribute of next (removing those next lacks) on the
// user at prev.Version.
func (st *Store) userUpdate(prev, next accounts.User) *ddb.Update {
	item := userItem(next)
	var sets, removes []string
	names := map[string]string{}
	values := map[string]av{":v": n(prev.Version)}
	for i, a := range userAttributes {
		if a == "pk" || a == "sk" || loginBookkeeping[a] && !(a == "passwordHash" && next.PasswordHash != prev.PasswordHash) {
			continue
		}
		nk := fmt.Sprintf("#a%d", i)
		names[nk] = a
		if v, ok := item[a]; ok {
			vk := fmt.Sprintf(":a%d", i)
			values[vk] = v
			sets = append(sets, nk+" = "+vk)
		} else {
			removes = append(removes, nk)
		}
	}
	if accounts.EmailKey(prev.Email) != accounts.EmailKey(next.Email) {
		// The e-mail status is SES's word on the old address, written by
		// SetUserEmailStatus rather than by edits; a new address starts
		// clean even if a bounce landed after prev was read.
		names["#es"], names["#esat"] = "emailStatus", "emailStatusAt"
		removes = append(removes, "#es", "#esat")
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	if accounts.CredentialsEnded(prev, next) {
		names["#epoch"], values[":one"] = "credEpoch", n(1)
		expr += " ADD #epoch :one"
	}
	return &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(prev.TenantID, prev.ID), skUser),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}
}

// userAttributes are every attribute userItem may write.
var userAttributes = []string{
	"pk", "sk", "tenant", "id", "username", "usernameKey", "roles", "queues", "cannedMessagePools", "roleCount",
	"status", "passwordHash", "mustChangePassword", "failedLogins", "version", "createdAt", "updatedAt",
	"passwordChangedAt", "gsi1pk", "gsi1sk", "email", "gsi2pk", "gsi2sk", "barcode", "primaryId", "lastLoginAt", "lockedUntil",
	"importJob", "importRow", "resetJob", "resetNotice", "lastFailureAt", "credEpoch",
}

// DeleteUser removes the user at u.Version with its guards in one
// transaction, then everything else in its partition. A session or link left
// behind by a failure in the second step is harmless: it cannot be used
// without the user item, and its TTL removes it.
func (st *Store) DeleteUser(ctx context.Context, u accounts.User, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reasonVersion, ddb.TransactWriteItem{Delete: &ddb.Delete{
		TableName: st.tableName(), Key: key(userPK(u.TenantID, u.ID), skUser),
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]av{":v": n(u.Version)},
	}})
	t.add(reasonGuardGone, st.guardDelete(usernameGuardPK(u.TenantID, accounts.UsernameKey(u.Username)), u.ID))
	t.add(reasonGuardGone, st.lookalikeGuardDelete(u))
	if u.Barcode != "" {
		t.add(reasonGuardGone, st.guardDelete(barcodeGuardPK(u.TenantID, accounts.IdentifierKey(u.Barcode)), u.ID))
	}
	if u.PrimaryID != "" {
		t.add(reasonGuardGone, st.guardDelete(primaryIDGuardPK(u.TenantID, accounts.IdentifierKey(u.PrimaryID)), u.ID))
	}
	if activeAdmin(u) {
		t.add(reasonLastAdmin, st.adminCount(u.TenantID, -1)...)
	}
	t.add(reasonAudit, st.auditPut(audit)...)
	if err := st.run(ctx, "delete user "+u.ID, t); err != nil {
		return err
	}
	if err := st.removeFromSets(ctx, u.TenantID, u.ID); err != nil {
		return err
	}
	// Before the partition: its link sides name the others' mirrors.
	if err := st.deleteLinkMirrors(ctx, u); err != nil {
		return err
	}
	return st.deletePartition(ctx, userPK(u.TenantID, u.ID), "")
}

// GetUserByBarcode follows the barcode guard to the user.
func (st *Store) GetUserByBarcode(ctx context.Context, tenantID, barcode string) (accounts.User, error) {
	return st.viaGuard(ctx, tenantID, barcodeGuardPK(tenantID, barcode))
}

// GetUserByPrimaryID follows the primary-ID guard to the user.
func (st *Store) GetUserByPrimaryID(ctx context.Context, tenantID, primaryID string) (accounts.User, error) {
	return st.viaGuard(ctx, tenantID, primaryIDGuardPK(tenantID, primaryID))
}

// FindUsersByEmail lists the users sharing an e-mail address (families
// often do).
func (st *Store) FindUsersByEmail(ctx context.Context, tenantID, email string) ([]accounts.User, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: st.tableName(), IndexName: aws.String("gsi2"),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]av{":pk": s(emailPK(tenantID, email))},
		Limit:                     aws.Int32(100),
	})
	if err != nil {
		return nil, classify("find users by e-mail", err, "", "")
	}
	users := make([]accounts.User, 0, len(out.Items))
	for _, it := range out.Items {
		u, err := userFromItem(it)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

// GetUser reads a user by id.
func (st *Store) GetUser(ctx context.Context, tenantID, userID string) (accounts.User, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.User{}, classify("get user "+userID, err, "", "")
	}
	if out.Item == nil {
		return accounts.User{}, accounts.E(accounts.CodeNotFound, "user not found")
	}
	return userFromItem(out.Item)
}

// GetUserByUsername follows the username guard to the user.
func (st *Store) GetUserByUsername(ctx context.Context, tenantID, usernameKey string) (accounts.User, error) {
	return st.viaGuard(ctx, tenantID, usernameGuardPK(tenantID, usernameKey))
}

// UserIDByUsername reads the username guard only.
func (st *Store) UserIDByUsername(ctx context.Context, tenantID, usernameKey string) (string, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(usernameGuardPK(tenantID, usernameKey), skGuard), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", classify("get username guard", err, "", "")
	}
	if out.Item == nil {
		return "", accounts.E(accounts.CodeNotFound, "user not found")
	}
	return str(out.Item, "userId"), nil
}

func (st *Store) viaGuard(ctx context.Context, tenantID, guardPK string) (accounts.User, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(guardPK, skGuard), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.User{}, classify("get username guard", err, "", "")
	}
	if out.Item == nil {
		return accounts.User{}, accounts.E(accounts.CodeNotFound, "user not found")
	}
	return st.GetUser(ctx, tenantID, str(out.Item, "userId"))
}

// A name no account has counts its sign-in failures in a ghost item of its
// own (the name is the domain's keyed hash, never the name itself):
//
//	T#<t>#LOGINFAIL#<hash>  LOGINFAIL  failedLogins, lastFailureAt, lockedUntil, ttl
//
// with the same attributes and the same conditional update as a user's
// counter, so a sign-in does the same store work whether or not the name
// exists.
const skLoginGhost = "LOGINFAIL"

func loginGhostPK(t, hash string) string { return "T#" + t + "#LOGINFAIL#" + hash }

var _ accounts.LoginCounterStore = (*Store)(nil)

func loginCounterKey(ref accounts.LoginCounterRef) map[string]av {
	if ref.Ghost != "" {
		return key(loginGhostPK(ref.TenantID, ref.Ghost), skLoginGhost)
	}
	return key(userPK(ref.TenantID, ref.UserID), skUser)
}

// GetLoginCounter reads a user's or a ghost's counter.
func (st *Store) GetLoginCounter(ctx context.Context, ref accounts.LoginCounterRef) (accounts.LoginCounter, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: st.tableName(), Key: loginCounterKey(ref), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("pk, failedLogins, lastFailureAt, lockedUntil"),
	})
	if err != nil {
		return accounts.LoginCounter{}, classify("get sign-in counter", err, "", "")
	}
	if out.Item == nil {
		if ref.Ghost != "" {
			return accounts.LoginCounter{}, nil
		}
		return accounts.LoginCounter{}, accounts.E(accounts.CodeNotFound, "user not found")
	}
	a := &attrs{m: out.Item}
	c := accounts.LoginCounter{Failures: a.integer("failedLogins"), LastFailureAt: parseTS(out.Item, "lastFailureAt"), LockedUntil: parseTS(out.Item, "lockedUntil")}
	if a.err != nil {
		return accounts.LoginCounter{}, fmt.Errorf("decode sign-in counter: %w", a.err)
	}
	return c, nil
}

// CountLoginAttempt is a compare-and-set on the counter: of concurrent
// attempts that read the same counter, one writes and the others are told
// to read again, so every attempt is counted once and in turn.
func (st *Store) CountLoginAttempt(ctx context.Context, ref accounts.LoginCounterRef, prev, next accounts.LoginCounter, expires time.Time) error {
	cond := []string{"failedLogins = :pf"}
	if prev.Failures == 0 {
		cond[0] = "(attribute_not_exists(failedLogins) OR failedLogins = :pf)"
	}
	values := map[string]av{":pf": n(int64(prev.Failures)), ":f": n(int64(next.Failures)), ":at": s(ts(next.LastFailureAt))}
	if prev.LastFailureAt.IsZero() {
		cond = append(cond, "attribute_not_exists(lastFailureAt)")
	} else {
		cond, values[":pat"] = append(cond, "lastFailureAt = :pat"), s(ts(prev.LastFailureAt))
	}
	expr := "SET failedLogins = :f, lastFailureAt = :at"
	if next.LockedUntil.IsZero() {
		expr += " REMOVE lockedUntil"
	} else {
		expr, values[":lu"] = "SET failedLogins = :f, lastFailureAt = :at, lockedUntil = :lu", s(ts(next.LockedUntil))
	}
	names := map[string]string(nil)
	if ref.Ghost != "" {
		names = map[string]string{"#ttl": "ttl"}
		values[":ttl"] = n(expires.Unix())
		expr = strings.Replace(expr, "SET ", "SET #ttl = :ttl, ", 1)
	} else {
		cond = append(cond, "attribute_exists(pk)")
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: loginCounterKey(ref),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	return classify("count sign-in attempt", err, accounts.CodeConflict, "the sign-in counter changed meanwhile")
}

// ClearLoginFailures ends a user's lock and failure count, with its audit
// event.
func (st *Store) ClearLoginFailures(ctx context.Context, tenantID, userID string, audit *accounts.AuditEvent) error {
	var t txn
	t.add(reason{accounts.CodeNotFound, "", "user not found"}, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("SET failedLogins = :zero REMOVE lockedUntil, lastFailureAt"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":zero": n(0)},
	}})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "unlock user "+userID, t)
}

// RecordLoginSuccess resets the failure count and, when asked, upgrades the
// hash unless it changed meanwhile.
func (st *Store) RecordLoginSuccess(ctx context.Context, tenantID, userID string, at time.Time, oldHash, upgradedHash string) error {
	in := &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("SET failedLogins = :zero, lastLoginAt = :at REMOVE lockedUntil, lastFailureAt"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":zero": n(0), ":at": s(ts(at))},
	}
	if upgradedHash != "" {
		in.UpdateExpression = aws.String("SET failedLogins = :zero, lastLoginAt = :at, passwordHash = :new REMOVE lockedUntil, lastFailureAt")
		in.ConditionExpression = aws.String("attribute_exists(pk) AND passwordHash = :old")
		in.ExpressionAttributeValues[":new"], in.ExpressionAttributeValues[":old"] = s(upgradedHash), s(oldHash)
	}
	_, err := st.db.UpdateItem(ctx, in)
	var ccf *ddb.ConditionalCheckFailedException
	if upgradedHash != "" && errors.As(err, &ccf) {
		// The password changed while this login ran: keep the new hash and
		// record only the login.
		return st.RecordLoginSuccess(ctx, tenantID, userID, at, "", "")
	}
	return classify("record login "+userID, err, accounts.CodeNotFound, "user not found")
}

// setPasswordExpr writes a new password: the version and the credential
// epoch move on (ending every outstanding link), the lock and count clear.
const setPasswordExpr = "SET passwordHash = :h, mustChangePassword = :mc, passwordChangedAt = :at, updatedAt = :at, failedLogins = :zero, version = :next " +
	"REMOVE lockedUntil, lastFailureAt ADD credEpoch :one"

// SetPassword replaces the hash if the user is still at version, with the
// audit event in the same transaction when there is one.
func (st *Store) SetPassword(ctx context.Context, tenantID, userID string, version int64, hash string, mustChange bool, at time.Time, audit *accounts.AuditEvent) error {
	up := &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:    aws.String(setPasswordExpr),
		ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]av{
			":h": s(hash), ":mc": b(mustChange), ":at": s(ts(at)), ":zero": n(0), ":one": n(1),
			":v": n(version), ":next": &ddb.AttributeValueMemberN{Value: strconv.FormatInt(version+1, 10)},
		},
	}
	if audit == nil {
		_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: up.TableName, Key: up.Key, UpdateExpression: up.UpdateExpression,
			ConditionExpression: up.ConditionExpression, ExpressionAttributeValues: up.ExpressionAttributeValues,
		})
		return classify("set password "+userID, err, accounts.CodeConflict, "the account was changed meanwhile; reload and retry")
	}
	var t txn
	t.add(reasonVersion, ddb.TransactWriteItem{Update: up})
	t.add(reasonAudit, st.auditPut(audit)...)
	return st.run(ctx, "set password "+userID, t)
}
