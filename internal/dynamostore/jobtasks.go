package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// A reset job keeps, in its own partition (see jobs.go):
//
//	T#<t>#JOB#<id>   CHUNK#S<shard>-<page>   a scan task's record (no outcomes)
//	T#<t>#JOB#<id>   CHUNK#B<shard>-<page>   a batch's record with its report rows
//	T#<t>#JOB#<id>   EXCEPT                  the users an all_except job leaves alone
//	T#<t>#JOB#<id>   NCOUNT#<00..15>         notice outcomes, one of 16 counters
//
// Batch records share the chunk prefix so that one query reads a report of
// either kind. The notice counters are sharded by notice id: 100,000
// notices ending within minutes spread over 16 items, not one.
const (
	skExcept      = "EXCEPT"
	noticeCounter = "NCOUNT#"
	counterShards = 16
)

var _ accounts.ResetStore = (*Store)(nil)

func counterSK(noticeID string) string {
	h := fnv.New32a()
	h.Write([]byte(noticeID))
	return fmt.Sprintf("%s%02d", noticeCounter, h.Sum32()%counterShards)
}

type pageCursor map[string]string

// ScopeShardPage reads one page of user ids of one shard.
func (st *Store) ScopeShardPage(ctx context.Context, tenantID, setID string, shard, limit int, cursor string) ([]string, string, error) {
	in := &dynamodb.QueryInput{TableName: st.tableName(), Limit: aws.Int32(int32(limit))}
	var pkName, pk, idAttr string
	if setID == "" {
		pkName, pk, idAttr = "gsi1pk", userListPK(tenantID, shard), "id"
		in.IndexName = aws.String("gsi1")
	} else {
		pkName, pk, idAttr = "pk", setMemberPK(tenantID, setID, shard), "userId"
	}
	in.KeyConditionExpression = aws.String(pkName + " = :pk")
	in.ExpressionAttributeValues = map[string]av{":pk": s(pk)}
	in.ProjectionExpression = aws.String(idAttr)
	if cursor != "" {
		data, err := base64.RawURLEncoding.DecodeString(cursor)
		var c pageCursor
		if err != nil || len(data) > 2048 || json.Unmarshal(data, &c) != nil || c[pkName] != pk {
			return nil, "", accounts.E(accounts.CodeInvalid, "the task's cursor is not valid for its shard")
		}
		in.ExclusiveStartKey = map[string]av{}
		for k, v := range c {
			in.ExclusiveStartKey[k] = s(v)
		}
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return nil, "", classify("read shard", err, "", "")
	}
	ids := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		ids = append(ids, str(it, idAttr))
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		c := pageCursor{}
		for k := range out.LastEvaluatedKey {
			c[k] = str(out.LastEvaluatedKey, k)
		}
		data, _ := json.Marshal(c)
		next = base64.RawURLEncoding.EncodeToString(data)
	}
	return ids, next, nil
}

// JobExceptIDs reads an all_except job's list.
func (st *Store) JobExceptIDs(ctx context.Context, tenantID, jobID string) ([]string, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(jobPK(tenantID, jobID), skExcept), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, classify("read except list", err, "", "")
	}
	return list(out.Item, "ids"), nil
}

// ApplyUserReset stamps the job on the user, with the new hash, and stores
// the notice, in one transaction.
func (st *Store) ApplyUserReset(ctx context.Context, u accounts.User, jobID, hash string, mustChange bool, at time.Time, nt *accounts.Notice) error {
	expr := "SET resetJob = :job, resetNotice = :nid, updatedAt = :at, version = :next"
	values := map[string]av{
		":job": s(jobID), ":at": s(ts(at)), ":v": n(u.Version), ":nid": s(""),
		":next": &ddb.AttributeValueMemberN{Value: strconv.FormatInt(u.Version+1, 10)},
	}
	if nt != nil {
		values[":nid"] = s(nt.ID)
	}
	if hash != "" {
		// A new hash ends every outstanding link (the credential epoch).
		expr += ", passwordHash = :h, mustChangePassword = :mc, passwordChangedAt = :at, failedLogins = :zero REMOVE lockedUntil, lastFailureAt ADD credEpoch :one"
		values[":h"], values[":mc"], values[":zero"], values[":one"] = s(hash), b(mustChange), n(0), n(1)
	}
	var t txn
	t.add(reason{accounts.CodeConflict, "resetJob", "the account was changed meanwhile"}, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(userPK(u.TenantID, u.ID), skUser),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("version = :v AND (attribute_not_exists(resetJob) OR resetJob <> :job)"),
		ExpressionAttributeValues: values,
	}})
	if nt != nil {
		t.add(reason{accounts.CodeConflict, "", "notice exists"}, ddb.TransactWriteItem{Put: &ddb.Put{
			TableName: st.tableName(), Item: noticeItem(*nt), ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
	}
	return st.run(ctx, "reset user "+u.ID, t)
}

// GetUsers reads users by id, 100 keys a round trip, strongly consistent.
func (st *Store) GetUsers(ctx context.Context, tenantID string, ids []string) (map[string]accounts.User, error) {
	users := make(map[string]accounts.User, len(ids))
	for k := 0; k < len(ids); k += 100 {
		var keys []map[string]av
		seen := map[string]bool{}
		for _, id := range ids[k:min(k+100, len(ids))] {
			if !seen[id] { // BatchGetItem refuses a key twice
				seen[id] = true
				keys = append(keys, key(userPK(tenantID, id), skUser))
			}
		}
		pending := map[string]ddb.KeysAndAttributes{st.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, classify("get users", err, "", "")
			}
			for _, it := range out.Responses[st.table] {
				u, err := userFromItem(it)
				if err != nil {
					return nil, err
				}
				users[u.ID] = u
			}
			pending = out.UnprocessedKeys
		}
	}
	return users, nil
}

// ApplyUserStamps stamps the job on several users, with their notices, in
// one transaction: the write of ApplyUserReset without a hash, for each.
func (st *Store) ApplyUserStamps(ctx context.Context, jobID string, at time.Time, stamps []accounts.UserStamp) error {
	if len(stamps) > accounts.MaxStampsPerWrite {
		return accounts.Internal(fmt.Errorf("%d stamps in one write, at most %d", len(stamps), accounts.MaxStampsPerWrite))
	}
	var t txn
	for _, sp := range stamps {
		u := sp.User
		values := map[string]av{
			":job": s(jobID), ":at": s(ts(at)), ":v": n(u.Version), ":nid": s(""),
			":next": &ddb.AttributeValueMemberN{Value: strconv.FormatInt(u.Version+1, 10)},
		}
		if sp.Notice != nil {
			values[":nid"] = s(sp.Notice.ID)
		}
		t.add(reason{accounts.CodeConflict, "resetJob", "the account was changed meanwhile"}, ddb.TransactWriteItem{Update: &ddb.Update{
			TableName: st.tableName(), Key: key(userPK(u.TenantID, u.ID), skUser),
			UpdateExpression:          aws.String("SET resetJob = :job, resetNotice = :nid, updatedAt = :at, version = :next"),
			ConditionExpression:       aws.String("version = :v AND (attribute_not_exists(resetJob) OR resetJob <> :job)"),
			ExpressionAttributeValues: values,
		}})
		if sp.Notice != nil {
			t.add(reason{accounts.CodeConflict, "", "notice exists"}, ddb.TransactWriteItem{Put: &ddb.Put{
				TableName: st.tableName(), Item: noticeItem(*sp.Notice), ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}})
		}
	}
	if len(t.items) == 0 {
		return nil
	}
	return st.run(ctx, fmt.Sprintf("stamp %d users with %s", len(stamps), jobID), t)
}

// CompleteJobTask writes a task's record and adds its counts to the job in
// one transaction that fails as a whole when the record is there already.
func (st *Store) CompleteJobTask(ctx context.Context, tenantID, jobID string, r accounts.JobTaskResult) (accounts.Job, bool, error) {
	rec := key(jobPK(tenantID, jobID), chunkPrefix+r.Key)
	if len(r.Outcomes) > 0 {
		blob, err := encodeOutcomes(r.Outcomes)
		if err != nil {
			return accounts.Job{}, false, accounts.Internal(err)
		}
		rec["outcomes"] = &ddb.AttributeValueMemberB{Value: blob}
	}
	// Kept as long as the job is listed (the job's own ttl is from its
	// creation; a record's from its task, a little later).
	rec["rows"], rec["ttl"] = n(int64(len(r.Outcomes))), n(r.At.Add(jobRetention).Unix())
	shardDone := 0
	if r.ShardDone {
		shardDone = 1
	}
	var t txn
	t.add(reason{accounts.CodeConflict, "", "task recorded"}, ddb.TransactWriteItem{Put: &ddb.Put{
		TableName: st.tableName(), Item: rec, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	t.add(reason{accounts.CodeNotFound, "", "job not found"}, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(jobPK(tenantID, jobID), skJob),
		UpdateExpression: aws.String("SET lastProgressAt = :at ADD matched :m, changed :c, skipped :s, noEmail :ne, failed :f, " +
			"noticesRaised :nr, tasksDone :one, tasksTotal :added, shardsDone :sd"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{
			":m": n(int64(r.Matched)), ":c": n(int64(r.Changed)), ":s": n(int64(r.Skipped)), ":ne": n(int64(r.NoEmail)),
			":f": n(int64(r.Failed)), ":nr": n(int64(r.Notices)), ":one": n(1), ":added": n(int64(r.TasksAdded)),
			":sd": n(int64(shardDone)), ":at": s(ts(r.At)),
		},
	}})
	first := true
	if err := st.run(ctx, "complete job task", t); err != nil {
		if !accounts.IsCode(err, accounts.CodeConflict) {
			return accounts.Job{}, false, err
		}
		first = false
	}
	j, err := st.GetJob(ctx, tenantID, jobID)
	return j, first, err
}

// RaiseJobPercent stores p if it is higher than the stored progress.
func (st *Store) RaiseJobPercent(ctx context.Context, tenantID, jobID string, p int) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(jobPK(tenantID, jobID), skJob),
		UpdateExpression:          aws.String("SET percentSeen = :p"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (attribute_not_exists(percentSeen) OR percentSeen < :p)"),
		ExpressionAttributeValues: map[string]av{":p": n(int64(p))},
	})
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return classify("raise job percent", err, "", "")
}

// JobNoticeCounts sums the job's 16 counters.
func (st *Store) JobNoticeCounts(ctx context.Context, tenantID, jobID string) (map[accounts.NoticeStatus]int, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: st.tableName(), KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :c)"),
		ExpressionAttributeValues: map[string]av{":pk": s(jobPK(tenantID, jobID)), ":c": s(noticeCounter)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, classify("read job notice counts", err, "", "")
	}
	counts := map[accounts.NoticeStatus]int{}
	for _, it := range out.Items {
		a := &attrs{m: it}
		for _, st := range accounts.NoticeStatuses() {
			if _, ok := it[string(st)]; ok {
				counts[st] += a.integer(string(st))
			}
		}
		if a.err != nil {
			return nil, fmt.Errorf("decode job notice counts: %w", a.err)
		}
	}
	return counts, nil
}

// noticeCount is the counter update that goes with a job's notice moving
// from one status to another: a notice reaching a final status counts
// there, and one moving between final ones (sent, then bounced) moves its
// count. Nothing counts while it is queued or sending.
func (st *Store) noticeCount(nt accounts.Notice, from accounts.NoticeStatus) *ddb.TransactWriteItem {
	// The starter's job-finished notice reports on the job; it is not
	// one of the job's own.
	if nt.JobID == "" || nt.Kind == accounts.NoticeJobFinished || !nt.Status.Final() || nt.Status == from {
		return nil
	}
	expr := "SET #ttl = if_not_exists(#ttl, :ttl) ADD #to :one"
	names := map[string]string{"#to": string(nt.Status), "#ttl": "ttl"}
	values := map[string]av{":one": n(1), ":ttl": n(nt.CreatedAt.Add(jobRetention).Unix())}
	if from.Final() {
		expr += ", #from :minus"
		names["#from"], values[":minus"] = string(from), n(-1)
	}
	return &ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(jobPK(nt.TenantID, nt.JobID), counterSK(nt.ID)),
		UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}
