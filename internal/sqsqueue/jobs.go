package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	return sendJSON(ctx, q.api, q.url, "job queue", tasks)
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
