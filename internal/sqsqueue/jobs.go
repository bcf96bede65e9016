package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// JobQueue carries bulk jobs' tasks to the jobs-worker. A message holds ids
// and a listing cursor only (accounts.JobTask): never a password, a name or
// an address.
type JobQueue struct {
	api API
	url string
}

var _ accounts.JobQueue = (*JobQueue)(nil)

// NewJobs returns a job queue sending to queueURL.
func NewJobs(api API, queueURL string) *JobQueue { return &JobQueue{api: api, url: queueURL} }

// SendJobTasks sends tasks ten at a time, resending entries SQS reports as
// failed on its side.
func (q *JobQueue) SendJobTasks(ctx context.Context, tasks []accounts.JobTask) error {
	for len(tasks) > 0 {
		batch := tasks[:min(10, len(tasks))]
		tasks = tasks[len(batch):]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, t := range batch {
			body, err := json.Marshal(t)
			if err != nil {
				return accounts.Internal(err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		if err := q.send(ctx, entries); err != nil {
			return err
		}
	}
	return nil
}

func (q *JobQueue) send(ctx context.Context, entries []types.SendMessageBatchRequestEntry) error {
	for attempt := 0; len(entries) > 0; attempt++ {
		if attempt == 5 {
			return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the job queue is busy; retry shortly", Err: errors.New("send message batch: entries kept failing")}
		}
		out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the job queue is unavailable; retry shortly", Err: fmt.Errorf("send job tasks: %w", err)}
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			if f.SenderFault {
				return accounts.Internal(fmt.Errorf("send job tasks: entry %s refused: %s", aws.ToString(f.Id), aws.ToString(f.Code)))
			}
			failed[aws.ToString(f.Id)] = true
		}
		var again []types.SendMessageBatchRequestEntry
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				again = append(again, e)
			}
		}
		entries = again
	}
	return nil
}

// DecodeJobTask reads a job-queue message body.
func DecodeJobTask(body string) (accounts.JobTask, error) {
	var t accounts.JobTask
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return accounts.JobTask{}, fmt.Errorf("job task message: %w", err)
	}
	if t.TenantID == "" || t.JobID == "" || t.Kind == "" {
		return accounts.JobTask{}, errors.New("job task message: no tenant, job or kind")
	}
	return t, nil
}
