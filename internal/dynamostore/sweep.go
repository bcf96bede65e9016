package dynamostore

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// Unfinished jobs carry a sparse gsi2 entry so that the sweep can find them
// across tenants without a scan:
//
//	gsi2pk RUNNING#<00..15>   gsi2sk <tenant>#<job>
//
// The shard is a hash of tenant and job, so a burst of jobs (or one busy
// library) does not make one hot partition of the index. FinishJob removes
// the entry: a finished job leaves the index, and the index stays as small
// as the number of jobs in flight.
const runningShards = 16

var _ accounts.JobSweepStore = (*Store)(nil)

func runningPK(shard int) string { return fmt.Sprintf("RUNNING#%02d", shard) }

func runningShardOf(tenantID, jobID string) int {
	h := fnv.New32a()
	h.Write([]byte(tenantID + "#" + jobID))
	return int(h.Sum32() % runningShards)
}

// addRunningEntry puts a new job into the running index.
func addRunningEntry(item map[string]av, tenantID, jobID string) {
	item["gsi2pk"], item["gsi2sk"] = s(runningPK(runningShardOf(tenantID, jobID))), s(tenantID+"#"+jobID)
}

// removeRunningEntry is the update clause that takes a job out of the
// running index, in the same write that finishes it.
const removeRunningEntry = "REMOVE gsi2pk, gsi2sk"

// The sweep's own note of a job's progress: what it saw and when it first
// saw it, so that a job whose counters do not move is found stalled even
// where nothing else records a time of progress.
const (
	attrSweepSeen   = "sweepSeen"
	attrSweepSeenAt = "sweepSeenAt"
)

// RunningShards is how many shards EachRunningJob reads.
func (st *Store) RunningShards() int { return runningShards }

// EachRunningJob calls fn with every unfinished job of one shard of the
// running index, across tenants.
func (st *Store) EachRunningJob(ctx context.Context, shard int, fn func(accounts.RunningJob) error) error {
	if shard < 0 || shard >= runningShards {
		return accounts.E(accounts.CodeInvalid, "running-job shard %d is out of range", shard)
	}
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: st.tableName(), IndexName: aws.String("gsi2"),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]av{":pk": s(runningPK(shard))},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return classify("list running jobs", err, "", "")
		}
		for _, m := range out.Items {
			j, err := jobFromItem(m)
			if err != nil {
				return err
			}
			if err := fn(accounts.RunningJob{Job: j, SeenProgress: str(m, attrSweepSeen), SeenAt: parseTS(m, attrSweepSeenAt)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// NoteJobProgress records what the sweep saw of an unfinished job.
func (st *Store) NoteJobProgress(ctx context.Context, tenantID, jobID, progress string, at time.Time) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(jobPK(tenantID, jobID), skJob),
		UpdateExpression:          aws.String("SET " + attrSweepSeen + " = :p, " + attrSweepSeenAt + " = :at"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(finishedAt)"),
		ExpressionAttributeValues: map[string]av{":p": s(progress), ":at": s(ts(at))},
	})
	return classify("note progress of job "+jobID, err, accounts.CodeConflict, "the job has finished")
}
