package dynamostore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// Jobs and their chunk results share the job's partition:
//
//	T#<t>#JOB#<id>   JOB              the job, with counters the chunks add to
//	T#<t>#JOB#<id>   CHUNK#<000042>   one chunk's outcomes, written once
//
// gsi1 lists a tenant's jobs newest first (T#<t>#JOBS). A job takes one
// write per chunk, not per row, so a 500,000-row import is about 2,000
// writes to its partition; the rows themselves spread over the users'.
const (
	skJob         = "JOB"
	chunkPrefix   = "CHUNK#"
	jobRetention  = 400 * 24 * time.Hour
	maxJobsCursor = 2048
)

func jobPK(t, id string) string             { return "T#" + t + "#JOB#" + id }
func jobsListPK(t string) string            { return "T#" + t + "#JOBS" }
func chunkSK(i int) string                  { return fmt.Sprintf("%s%06d", chunkPrefix, i) }
func listSK(at time.Time, id string) string { return at.UTC().Format(auditTime) + "#" + id }

func jobItem(j accounts.Job) (map[string]av, error) {
	item := key(jobPK(j.TenantID, j.ID), skJob)
	item["tenant"], item["id"], item["kind"], item["mode"] = s(j.TenantID), s(j.ID), s(string(j.Kind)), s(string(j.Mode))
	item["dryRun"], item["status"], item["bucket"], item["objectKey"] = b(j.DryRun), s(string(j.Status)), s(j.Bucket), s(j.Key)
	item["createdAt"], item["ttl"] = s(ts(j.CreatedAt)), n(j.CreatedAt.Add(jobRetention).Unix())
	item["gsi1pk"], item["gsi1sk"] = s(jobsListPK(j.TenantID)), s(listSK(j.CreatedAt, j.ID))
	addRunningEntry(item, j.TenantID, j.ID) // sweep.go: until FinishJob removes it
	for name, v := range map[string]string{"setName": j.SetName, "setId": j.SetID, "etag": j.ETag, "versionId": j.VersionID, "startedBy": j.StartedBy, "startedByUsername": j.StartedByUsername, "notifyEmail": j.NotifyEmail} {
		if v != "" {
			item[name] = s(v)
		}
	}
	for _, c := range []string{"rows", "created", "updated", "skipped", "failed", "chunksTotal", "chunksDone",
		"matched", "changed", "noEmail", "noticesRaised", "tasksDone", "shardsDone"} {
		item[c] = n(0)
	}
	item["tasksTotal"], item["shardsTotal"] = n(int64(j.TasksTotal)), n(int64(j.ShardsTotal))
	for name, v := range map[string]string{"scope": j.Scope, "resetMode": j.ResetMode, "defaultHash": j.DefaultHash} {
		if v != "" {
			item[name] = s(v)
		}
	}
	if j.InvalidateCurrent {
		item["invalidateCurrent"] = b(true)
	}
	if j.AllowStaffRoles {
		item["allowStaffRoles"] = b(true)
	}
	if !j.StartedAt.IsZero() {
		item["startedAt"] = s(ts(j.StartedAt))
	}
	if !j.LastProgressAt.IsZero() {
		item["lastProgressAt"] = s(ts(j.LastProgressAt))
	}
	return item, nil
}

func jobFromItem(m map[string]av) (accounts.Job, error) {
	a := &attrs{m: m}
	j := accounts.Job{
		TenantID: str(m, "tenant"), ID: str(m, "id"), Kind: accounts.JobKind(str(m, "kind")), Mode: accounts.ImportMode(str(m, "mode")),
		DryRun: boolean(m, "dryRun"), SetName: str(m, "setName"), SetID: str(m, "setId"), Status: accounts.JobStatus(str(m, "status")),
		Format: str(m, "format"), Columns: list(m, "columns"), Bucket: str(m, "bucket"), Key: str(m, "objectKey"), ETag: str(m, "etag"), VersionID: str(m, "versionId"), AllowStaffRoles: boolean(m, "allowStaffRoles"),
		StartedBy: str(m, "startedBy"), StartedByUsername: str(m, "startedByUsername"), NotifyEmail: str(m, "notifyEmail"),
		Error: str(m, "error"), Rows: a.integer("rows"), Created: a.integer("created"), Updated: a.integer("updated"),
		Skipped: a.integer("skipped"), Failed: a.integer("failed"), ChunksTotal: a.integer("chunksTotal"), ChunksDone: a.integer("chunksDone"),
		CreatedAt: parseTS(m, "createdAt"), StartedAt: parseTS(m, "startedAt"), FinishedAt: parseTS(m, "finishedAt"),
		Scope: str(m, "scope"), ResetMode: str(m, "resetMode"), InvalidateCurrent: boolean(m, "invalidateCurrent"),
		DefaultHash: str(m, "defaultHash"), Matched: a.integer("matched"), Changed: a.integer("changed"),
		NoEmail: a.integer("noEmail"), NoticesRaised: a.integer("noticesRaised"), TasksTotal: a.integer("tasksTotal"),
		TasksDone: a.integer("tasksDone"), ShardsTotal: a.integer("shardsTotal"), ShardsDone: a.integer("shardsDone"),
		LastProgressAt: parseTS(m, "lastProgressAt"), PercentSeen: a.integer("percentSeen"),
	}
	if a.err != nil {
		return accounts.Job{}, fmt.Errorf("decode job %s: %w", j.ID, a.err)
	}
	if raw := str(m, "duplicateRows"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &j.DuplicateRows); err != nil {
			return accounts.Job{}, accounts.Internal(fmt.Errorf("decode duplicate rows of job %s: %w", j.ID, err))
		}
	}
	return j, nil
}

// CreateJob stores a new job.
func (st *Store) CreateJob(ctx context.Context, j accounts.Job) error {
	item, err := jobItem(j)
	if err != nil {
		return err
	}
	if len(j.ExceptIDs) == 0 && j.Audit == nil {
		_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
		return classify("create job "+j.ID, err, accounts.CodeConflict, "job exists")
	}
	var t txn
	t.add(reason{accounts.CodeConflict, "", "job exists"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	if len(j.ExceptIDs) > 0 {
		// Kept apart from the job item: 10,000 ids are 260 KB, which every
		// read of the job would otherwise carry.
		ex := key(jobPK(j.TenantID, j.ID), skExcept)
		ex["ids"], ex["ttl"] = strList(j.ExceptIDs), n(j.CreatedAt.Add(jobRetention).Unix())
		t.add(reason{accounts.CodeConflict, "", "job exists"}, ddb.TransactWriteItem{Put: &ddb.Put{TableName: st.tableName(), Item: ex}})
	}
	t.add(reasonAudit, st.auditPut(j.Audit)...)
	return st.run(ctx, "create job "+j.ID, t)
}

// GetJob reads a job with strong consistency: workers decide on it.
func (st *Store) GetJob(ctx context.Context, tenantID, id string) (accounts.Job, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.tableName(), Key: key(jobPK(tenantID, id), skJob), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Job{}, classify("get job "+id, err, "", "")
	}
	if out.Item == nil {
		return accounts.Job{}, accounts.E(accounts.CodeNotFound, "import not found")
	}
	return jobFromItem(out.Item)
}

// ListJobs pages through a tenant's jobs, newest first.
func (st *Store) ListJobs(ctx context.Context, tenantID string, limit int, cursor string) ([]accounts.Job, string, error) {
	items, next, err := st.listNewest(ctx, jobsListPK(tenantID), tenantID, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	jobs := make([]accounts.Job, 0, len(items))
	for _, it := range items {
		j, err := jobFromItem(it)
		if err != nil {
			return nil, "", err
		}
		jobs = append(jobs, j)
	}
	return jobs, next, nil
}

// listNewest pages through a gsi1 partition newest first, with an opaque
// cursor that cannot leave the tenant.
func (st *Store) listNewest(ctx context.Context, pk, tenantID string, limit int, cursor string) ([]map[string]av, string, error) {
	in := &dynamodb.QueryInput{
		TableName: st.tableName(), IndexName: aws.String("gsi1"), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]av{":pk": s(pk)},
		Limit:                     aws.Int32(int32(limit)),
	}
	if cursor != "" {
		data, err := base64.RawURLEncoding.DecodeString(cursor)
		var k map[string]string
		if err != nil || len(data) > maxJobsCursor || json.Unmarshal(data, &k) != nil || k["gsi1pk"] != pk || !cursorKeyOK(tenantID, k) {
			return nil, "", accounts.FieldError("cursor", "cursor is not valid for this listing; start again without it")
		}
		in.ExclusiveStartKey = map[string]av{}
		for name, v := range k {
			in.ExclusiveStartKey[name] = s(v)
		}
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return nil, "", classify("list "+pk, err, "", "")
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		k := map[string]string{}
		for name := range out.LastEvaluatedKey {
			k[name] = str(out.LastEvaluatedKey, name)
		}
		data, _ := json.Marshal(k)
		next = base64.RawURLEncoding.EncodeToString(data)
	}
	return out.Items, next, nil
}

// UpdateJobStatus moves a job to j.Status from one of from, with what the
// scan found.
func (st *Store) UpdateJobStatus(ctx context.Context, j accounts.Job, from ...accounts.JobStatus) error {
	sets := []string{"#status = :to"}
	values := map[string]av{":to": s(string(j.Status))}
	var conds []string
	for i, f := range from {
		k := fmt.Sprintf(":f%d", i)
		values[k] = s(string(f))
		conds = append(conds, "#status = "+k)
	}
	names := map[string]string{"#status": "status"}
	// Every name is aliased: several (format, rows) are DynamoDB reserved
	// words.
	add := func(name string, v av) {
		sets = append(sets, "#"+name+" = :"+name)
		names["#"+name] = name
		values[":"+name] = v
	}
	if j.ETag != "" {
		add("etag", s(j.ETag))
	}
	versionCond := ""
	if j.VersionID != "" {
		// A job adopts one object version: another version's event finds
		// the job taken.
		add("versionId", s(j.VersionID))
		versionCond = " AND (attribute_not_exists(#versionId) OR #versionId = :versionId)"
	}
	if j.Format != "" {
		add("format", s(j.Format))
		add("columns", strList(j.Columns))
		add("rows", n(int64(j.Rows)))
		add("chunksTotal", n(int64(j.ChunksTotal)))
		dups, err := json.Marshal(j.DuplicateRows)
		if err != nil {
			return accounts.Internal(err)
		}
		add("duplicateRows", s(string(dups)))
	}
	if !j.StartedAt.IsZero() {
		add("startedAt", s(ts(j.StartedAt)))
	}
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(jobPK(j.TenantID, j.ID), skJob),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (" + strings.Join(conds, " OR ") + ")" + versionCond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return classify("update job "+j.ID, err, accounts.CodeConflict, "the import is no longer in that state")
}

// FinishJob ends a job once.
func (st *Store) FinishJob(ctx context.Context, j accounts.Job) (bool, error) {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(jobPK(j.TenantID, j.ID), skJob),
		UpdateExpression:          aws.String("SET #status = :s, finishedAt = :at, #error = :e " + removeRunningEntry),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(finishedAt)"),
		ExpressionAttributeNames:  map[string]string{"#status": "status", "#error": "error"},
		ExpressionAttributeValues: map[string]av{":s": s(string(j.Status)), ":at": s(ts(j.FinishedAt)), ":e": s(j.Error)},
	})
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, classify("finish job "+j.ID, err, "", "")
	}
	return true, nil
}

// CompleteChunk writes a chunk's outcomes and adds its counts to the job in
// one transaction, which fails as a whole when the chunk is already there:
// counts move once per chunk however often it is delivered.
func (st *Store) CompleteChunk(ctx context.Context, tenantID, jobID string, r accounts.ChunkResult) (accounts.Job, bool, error) {
	blob, err := encodeOutcomes(r.Outcomes)
	if err != nil {
		return accounts.Job{}, false, accounts.Internal(err)
	}
	chunk := key(jobPK(tenantID, jobID), chunkSK(r.Index))
	chunk["outcomes"], chunk["rows"] = &ddb.AttributeValueMemberB{Value: blob}, n(int64(len(r.Outcomes)))
	var t txn
	t.add(reason{accounts.CodeConflict, "", "chunk recorded"}, ddb.TransactWriteItem{Put: &ddb.Put{
		TableName: st.tableName(), Item: chunk, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	t.add(reason{accounts.CodeNotFound, "", "import not found"}, ddb.TransactWriteItem{Update: &ddb.Update{
		TableName: st.tableName(), Key: key(jobPK(tenantID, jobID), skJob),
		UpdateExpression:    aws.String("ADD created :c, updated :u, skipped :s, failed :f, chunksDone :one"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]av{
			":c": n(int64(r.Created)), ":u": n(int64(r.Updated)), ":s": n(int64(r.Skipped)), ":f": n(int64(r.Failed)), ":one": n(1),
		},
	}})
	// Workers finishing chunks of one job at once contend for its item;
	// run retries those cancellations (see transact).
	first := true
	if err := st.run(ctx, "complete chunk", t); err != nil {
		if !accounts.IsCode(err, accounts.CodeConflict) {
			return accounts.Job{}, false, err
		}
		first = false
	}
	j, err := st.GetJob(ctx, tenantID, jobID)
	return j, first, err
}

// ChunkOutcomes calls fn with each recorded chunk's outcomes, in file order.
func (st *Store) ChunkOutcomes(ctx context.Context, tenantID, jobID string, fn func([]accounts.RowOutcome) error) error {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 st.tableName(),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :c)"),
		ExpressionAttributeValues: map[string]av{":pk": s(jobPK(tenantID, jobID)), ":c": s(chunkPrefix)},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(50),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return classify("read chunk outcomes", err, "", "")
		}
		for _, it := range out.Items {
			blob, _ := it["outcomes"].(*ddb.AttributeValueMemberB)
			if blob == nil {
				continue
			}
			rows, err := decodeOutcomes(blob.Value)
			if err != nil {
				return accounts.Internal(fmt.Errorf("decode chunk %s of %s: %w", str(it, "sk"), jobID, err))
			}
			if err := fn(rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// Outcomes are stored gzipped: 250 rows are ~15 KB of JSON, ~3 KB packed,
// far from DynamoDB's 400 KB item limit.
func encodeOutcomes(rows []accounts.RowOutcome) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(rows); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeOutcomes(blob []byte) ([]accounts.RowOutcome, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, err
	}
	var rows []accounts.RowOutcome
	if err := json.NewDecoder(io.LimitReader(zr, 8<<20)).Decode(&rows); err != nil {
		return nil, err
	}
	return rows, nil
}
