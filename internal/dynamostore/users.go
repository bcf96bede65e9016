package dynamostore

import (
	"context"
	"errors"
	"strconv"
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
	return item
}

func userFromItem(m map[string]av) accounts.User {
	return accounts.User{
		TenantID: str(m, "tenant"), ID: str(m, "id"), Username: str(m, "username"),
		Email: str(m, "email"), Barcode: str(m, "barcode"), PrimaryID: str(m, "primaryId"),
		Roles: list(m, "roles"), Status: accounts.Status(str(m, "status")),
		Queues: list(m, "queues"), CannedMessagePools: list(m, "cannedMessagePools"),
		PasswordHash: str(m, "passwordHash"), MustChangePassword: boolean(m, "mustChangePassword"),
		FailedLogins: int(num(m, "failedLogins")), LockedUntil: parseTS(m, "lockedUntil"),
		CreatedAt: parseTS(m, "createdAt"), UpdatedAt: parseTS(m, "updatedAt"),
		LastLoginAt: parseTS(m, "lastLoginAt"), PasswordChangedAt: parseTS(m, "passwordChangedAt"),
		Version: num(m, "version"),
	}
}

func guardPut(pk, tenant, userID string) ddb.TransactWriteItem {
	item := key(pk, skGuard)
	item["userId"], item["tenant"] = s(userID), s(tenant)
	return ddb.TransactWriteItem{Put: &ddb.Put{Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}}
}

// CreateUser writes the user and its uniqueness guards in one transaction:
// uniqueness never rests on a read that a concurrent writer could overtake.
func (st *Store) CreateUser(ctx context.Context, u accounts.User) error {
	type guard struct{ field, message string }
	items := []ddb.TransactWriteItem{
		{Put: &ddb.Put{Item: userItem(u), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		guardPut(usernameGuardPK(u.TenantID, accounts.UsernameKey(u.Username)), u.TenantID, u.ID),
	}
	guards := []guard{{"id", "user id collision"}, {"username", "username is already taken"}}
	if u.Barcode != "" {
		items = append(items, guardPut(barcodeGuardPK(u.TenantID, accounts.IdentifierKey(u.Barcode)), u.TenantID, u.ID))
		guards = append(guards, guard{"barcode", "barcode is already in use"})
	}
	if u.PrimaryID != "" {
		items = append(items, guardPut(primaryIDGuardPK(u.TenantID, accounts.IdentifierKey(u.PrimaryID)), u.TenantID, u.ID))
		guards = append(guards, guard{"primaryId", "primary ID is already in use"})
	}
	for i := range items {
		items[i].Put.TableName = st.tableName()
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *ddb.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" && i < len(guards) {
				return &accounts.Error{Code: accounts.CodeConflict, Field: guards[i].field, Message: guards[i].message, Err: err}
			}
		}
		for _, r := range tce.CancellationReasons {
			if c := aws.ToString(r.Code); c == "ThrottlingError" || c == "TransactionConflict" || c == "ProvisionedThroughputExceeded" {
				return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the service is busy; retry shortly", Err: err}
			}
		}
	}
	return classify("create user "+u.ID, err, "", "")
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
	return userFromItem(out.Item), nil
}

// GetUserByUsername follows the username guard to the user.
func (st *Store) GetUserByUsername(ctx context.Context, tenantID, usernameKey string) (accounts.User, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(usernameGuardPK(tenantID, usernameKey), skGuard), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.User{}, classify("get username guard", err, "", "")
	}
	if out.Item == nil {
		return accounts.User{}, accounts.E(accounts.CodeNotFound, "user not found")
	}
	return st.GetUser(ctx, tenantID, str(out.Item, "userId"))
}

// RecordLoginFailure adds one to the user's failure count atomically.
func (st *Store) RecordLoginFailure(ctx context.Context, tenantID, userID string) (int, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("ADD failedLogins :one"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":one": n(1)},
		ReturnValues:              ddb.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, classify("record login failure "+userID, err, accounts.CodeNotFound, "user not found")
	}
	return int(num(out.Attributes, "failedLogins")), nil
}

// SetLockout locks the user until the given time.
func (st *Store) SetLockout(ctx context.Context, tenantID, userID string, until time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("SET lockedUntil = :u"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":u": s(ts(until))},
	})
	return classify("set lockout "+userID, err, accounts.CodeNotFound, "user not found")
}

// RecordLoginSuccess resets the failure count and, when asked, upgrades the
// hash unless it changed meanwhile.
func (st *Store) RecordLoginSuccess(ctx context.Context, tenantID, userID string, at time.Time, oldHash, upgradedHash string) error {
	in := &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:          aws.String("SET failedLogins = :zero, lastLoginAt = :at REMOVE lockedUntil"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{":zero": n(0), ":at": s(ts(at))},
	}
	if upgradedHash != "" {
		in.UpdateExpression = aws.String("SET failedLogins = :zero, lastLoginAt = :at, passwordHash = :new REMOVE lockedUntil")
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

// SetPassword replaces the hash if the user is still at version.
func (st *Store) SetPassword(ctx context.Context, tenantID, userID string, version int64, hash string, mustChange bool, at time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(userPK(tenantID, userID), skUser),
		UpdateExpression:    aws.String("SET passwordHash = :h, mustChangePassword = :mc, passwordChangedAt = :at, updatedAt = :at, failedLogins = :zero, version = :next REMOVE lockedUntil"),
		ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]av{
			":h": s(hash), ":mc": b(mustChange), ":at": s(ts(at)), ":zero": n(0),
			":v": n(version), ":next": &ddb.AttributeValueMemberN{Value: strconv.FormatInt(version+1, 10)},
		},
	})
	return classify("set password "+userID, err, accounts.CodeConflict, "the account was changed meanwhile; reload and retry")
}
