// Package sqsqueue sends import chunk tasks and notices to SQS queues.
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

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Queue implements the chunk queue on SQS.
type Queue struct {
	api API
	url string
}

var _ accounts.ChunkQueue = (*Queue)(nil)

// New returns a queue sending to queueURL through the caller's client.
func New(api API, queueURL string) *Queue { return &Queue{api: api, url: queueURL} }

// SendChunks sends tasks ten at a time (SQS's batch limit), resending the
// entries a batch reports as failed.
func (q *Queue) SendChunks(ctx context.Context, tasks []accounts.ChunkTask) error {
	return sendJSON(ctx, q.api, q.url, "chunk queue", tasks)
}

// sendJSON sends each of items as one JSON message, ten to a
// SendMessageBatch call; entries SQS reports as failed on its side are sent
// again (a few times), and a refusal of our own making is an internal error.
func sendJSON[T any](ctx context.Context, api API, url, queue string, items []T) error {
	for len(items) > 0 {
		batch := items[:min(10, len(items))]
		items = items[len(batch):]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, t := range batch {
			body, err := json.Marshal(t)
			if err != nil {
				return accounts.Internal(err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		for attempt := 0; len(entries) > 0; attempt++ {
			if attempt == 5 {
				return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the " + queue + " is busy; retry shortly", Err: errors.New("send message batch: entries kept failing")}
			}
			out, err := api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
			if err != nil {
				return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the " + queue + " is unavailable; retry shortly", Err: fmt.Errorf("send to the %s: %w", queue, err)}
			}
			failed := map[string]bool{}
			for _, f := range out.Failed {
				if f.SenderFault {
					return accounts.Internal(fmt.Errorf("send to the %s: entry %s refused: %s", queue, aws.ToString(f.Id), aws.ToString(f.Code)))
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
	}
	return nil
}
