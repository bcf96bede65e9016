package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// Sets:
//
//	T#<t>#SET#<id>            SET          the set (gsi1: T#<t>#SETS, newest first)
//	T#<t>#SETM#<id>#<shard>   <user id>    a member, spread over userShards partitions
//	T#<t>#USER#<user id>      SETREF#<id>  the user's side, so deleting a user finds its sets
//
// A 100,000-member set is written across 16 partitions, not one.
const (
	skSet        = "SET"
	setRefPrefix = "SETREF#"
)

func setPK(t, id string) string  { return "T#" + t + "#SET#" + id }
func setsListPK(t string) string { return "T#" + t + "#SETS" }
func setMemberPK(t, id string, shard int) string {
	return fmt.Sprintf("T#%s#SETM#%s#%02d", t, id, shard)
}
func setRefSK(id string) string { return setRefPrefix + id }

func setFromItem(m map[string]av) (accounts.Set, error) {
	a := &attrs{m: m}
	set := accounts.Set{
		TenantID: str(m, "tenant"), ID: str(m, "id"), Name: str(m, "name"), JobID: str(m, "jobId"),
		Status: accounts.SetStatus(str(m, "status")), Members: a.integer("members"), CreatedBy: str(m, "createdBy"), CreatedAt: parseTS(m, "createdAt"),
	}
	if a.err != nil {
		return accounts.Set{}, fmt.Errorf("decode set %s: %w", set.ID, a.err)
	}
	return set, nil
}

// CreateSet stores a new set.
func (st *Store) CreateSet(ctx context.Context, set accounts.Set) error {
	item := key(setPK(set.TenantID, set.ID), skSet)
	item["tenant"], item["id"], item["name"], item["jobId"] = s(set.TenantID), s(set.ID), s(set.Name), s(set.JobID)
	item["status"], item["members"], item["createdBy"], item["createdAt"] = s(string(set.Status)), n(int64(set.Members)), s(set.CreatedBy), s(ts(set.CreatedAt))
	item["gsi1pk"], item["gsi1sk"] = s(setsListPK(set.TenantID)), s(listSK(set.CreatedAt, set.ID))
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	return classify("create set "+set.ID, err, accounts.CodeConflict, "set exists")
}

// GetSet reads a set.
func (st *Store) GetSet(ctx context.Context, tenantID, id string) (accounts.Set, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(setPK(tenantID, id), skSet), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Set{}, classify("get set "+id, err, "", "")
	}
	if out.Item == nil {
		return accounts.Set{}, accounts.E(accounts.CodeNotFound, "set not found")
	}
	return setFromItem(out.Item)
}

// ListSets returns a tenant's sets, newest first (at most 1,000).
func (st *Store) ListSets(ctx context.Context, tenantID string) ([]accounts.Set, error) {
	items, _, err := st.listNewest(ctx, setsListPK(tenantID), tenantID, 1000, "")
	if err != nil {
		return nil, err
	}
	sets := make([]accounts.Set, len(items))
	for i, it := range items {
		if sets[i], err = setFromItem(it); err != nil {
			return nil, err
		}
	}
	return sets, nil
}

// UpdateSet stores a set's status and member count.
func (st *Store) UpdateSet(ctx context.Context, set accounts.Set) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(setPK(set.TenantID, set.ID), skSet),
		UpdateExpression:          aws.String("SET #status = :s, members = :m"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]av{":s": s(string(set.Status)), ":m": n(int64(set.Members))},
	})
	return classify("update set "+set.ID, err, accounts.CodeNotFound, "set not found")
}

// AddSetMember writes the member and the user's reference to the set
// together, unless the user is a member already.
func (st *Store) AddSetMember(ctx context.Context, tenantID, setID, jobID string, m accounts.SetMember) (bool, error) {
	pk := setMemberPK(tenantID, setID, shardOf(m.UserID))
	item := key(pk, m.UserID)
	item["tenant"], item["userId"], item["username"], item["jobId"], item["row"] = s(tenantID), s(m.UserID), s(m.Username), s(jobID), n(int64(m.Row))
	if m.PrimaryID != "" {
		item["primaryId"] = s(m.PrimaryID)
	}
	ref := key(userPK(tenantID, m.UserID), setRefSK(setID))
	ref["setId"] = s(setID)
	var t txn
	t.add(reason{accounts.CodeConflict, "", "already a member"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	// The user must still exist: a member without its user would outlive a
	// deletion.
	t.add(reason{accounts.CodeNotFound, "", "user not found"}, ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{
		TableName: st.tableName(), Key: key(userPK(tenantID, m.UserID), skUser), ConditionExpression: aws.String("attribute_exists(pk)"),
	}})
	t.add(reason{}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: ref}})
	err := st.run(ctx, "add set member", t)
	if err == nil {
		return true, nil
	}
	if !accounts.IsCode(err, accounts.CodeConflict) {
		return false, err
	}
	// Already a member: added by this very row in an earlier delivery, or
	// by another row or job.
	out, gerr := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(pk, m.UserID), ConsistentRead: aws.Bool(true)})
	if gerr != nil {
		return false, classify("get set member", gerr, "", "")
	}
	if out.Item == nil {
		return false, nil
	}
	row, err := num(out.Item, "row")
	if err != nil {
		return false, fmt.Errorf("get set member: %w", err)
	}
	return str(out.Item, "jobId") == jobID && row == int64(m.Row), nil
}

type memberCursor struct {
	Shard int    `json:"s"`
	After string `json:"a,omitempty"`
}

// ListSetMembers pages through a set shard by shard.
func (st *Store) ListSetMembers(ctx context.Context, tenantID, setID string, limit int, cursor string) ([]accounts.SetMember, string, error) {
	var cur memberCursor
	if cursor != "" {
		data, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(data) > 256 || json.Unmarshal(data, &cur) != nil || cur.Shard < 0 || cur.Shard >= userShards || (cur.After != "" && !accounts.ValidUserID(cur.After)) {
			return nil, "", accounts.FieldError("cursor", "cursor is not valid for this set; start again without it")
		}
	}
	var members []accounts.SetMember
	for ; cur.Shard < userShards; cur.Shard, cur.After = cur.Shard+1, "" {
		pk := setMemberPK(tenantID, setID, cur.Shard)
		in := &dynamodb.QueryInput{
			TableName: st.tableName(), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]av{":pk": s(pk)},
		}
		if cur.After != "" {
			in.ExclusiveStartKey = key(pk, cur.After)
		}
		for {
			in.Limit = aws.Int32(int32(limit - len(members)))
			out, err := st.db.Query(ctx, in)
			if err != nil {
				return nil, "", classify("list set members", err, "", "")
			}
			for _, it := range out.Items {
				row, err := num(it, "row")
				if err != nil {
					return nil, "", fmt.Errorf("list set members: %w", err)
				}
				members = append(members, accounts.SetMember{UserID: str(it, "userId"), Username: str(it, "username"), PrimaryID: str(it, "primaryId"), Row: int(row)})
				cur.After = str(it, "userId")
			}
			if len(members) >= limit {
				if out.LastEvaluatedKey == nil {
					cur.Shard, cur.After = cur.Shard+1, ""
				}
				if cur.Shard >= userShards {
					return members, "", nil
				}
				data, _ := json.Marshal(cur)
				return members, base64.RawURLEncoding.EncodeToString(data), nil
			}
			if out.LastEvaluatedKey == nil {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return members, "", nil
}

// DeleteSet removes the set first, so it disappears at once, then its
// members and the users' references to it.
func (st *Store) DeleteSet(ctx context.Context, tenantID, id string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: st.tableName(), Key: key(setPK(tenantID, id), skSet), ConditionExpression: aws.String("attribute_exists(pk)")})
	if err := classify("delete set "+id, err, accounts.CodeNotFound, "set not found"); err != nil {
		return err
	}
	for shard := range userShards {
		pk := setMemberPK(tenantID, id, shard)
		var keys []map[string]av
		p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
			TableName: st.tableName(), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]av{":pk": s(pk)}, ProjectionExpression: aws.String("pk, sk"),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return classify("list set members", err, "", "")
			}
			for _, it := range out.Items {
				uid := str(it, "sk")
				keys = append(keys, key(pk, uid), key(userPK(tenantID, uid), setRefSK(id)))
			}
		}
		if err := st.deleteKeys(ctx, keys); err != nil {
			return err
		}
	}
	return nil
}

// removeFromSets deletes a user's memberships (before the user's partition
// goes) and lowers each set's count.
func (st *Store) removeFromSets(ctx context.Context, tenantID, userID string) error {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: st.tableName(), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]av{":pk": s(userPK(tenantID, userID)), ":p": s(setRefPrefix)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return classify("list sets of user", err, "", "")
	}
	for _, it := range out.Items {
		setID := str(it, "setId")
		_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: st.tableName(), Key: key(setMemberPK(tenantID, setID, shardOf(userID)), userID),
			ConditionExpression: aws.String("attribute_exists(pk)"),
		})
		if classify("remove set member", err, accounts.CodeNotFound, "gone") != nil {
			continue // already removed, e.g. by a retry
		}
		_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: st.tableName(), Key: key(setPK(tenantID, setID), skSet),
			UpdateExpression: aws.String("ADD members :minus"), ConditionExpression: aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]av{":minus": &ddb.AttributeValueMemberN{Value: strconv.Itoa(-1)}},
		})
		_ = err // a deleted set has no count to lower
	}
	return nil
}
