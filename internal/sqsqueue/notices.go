package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// NoticeAPI is the part of the SQS client the notice queue uses.
type NoticeAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// NoticeQueue hands notices to the notices-worker through SQS. A message
// carries ids only: the address, the text and any link or password are
// looked up or made by the worker when it sends.
type NoticeQueue struct {
	api NoticeAPI
	url string
}

var _ accounts.NoticeQueue = (*NoticeQueue)(nil)

// NewNotices returns a notice queue sending to queueURL.
func NewNotices(api NoticeAPI, queueURL string) *NoticeQueue {
	return &NoticeQueue{api: api, url: queueURL}
}

// NoticeMessage is a notice queue message's body, version 1.
type NoticeMessage struct {
	V      int    `json:"v"`
	Tenant string `json:"tenant"`
	User   string `json:"user"`
	Notice string `json:"notice"`
}

// maxDelay is SQS's limit on DelaySeconds.
const maxDelay = 900 * time.Second

// Enqueue sends ref, held back by delay (rounded up to whole seconds,
// capped at SQS's 15 minutes).
func (q *NoticeQueue) Enqueue(ctx context.Context, ref accounts.NoticeRef, delay time.Duration) error {
	body, err := json.Marshal(NoticeMessage{V: 1, Tenant: ref.TenantID, User: ref.UserID, Notice: ref.NoticeID})
	if err != nil {
		return accounts.Internal(err)
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))}
	if delay > 0 {
		in.DelaySeconds = int32(math.Ceil(min(delay, maxDelay).Seconds()))
	}
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the notice queue is unavailable; retry shortly", Err: fmt.Errorf("send notice %s: %w", ref.NoticeID, err)}
	}
	return nil
}

// DecodeNotice reads a notice message body; anything but a version-1 body
// with valid ids is an error.
func DecodeNotice(body string) (accounts.NoticeRef, error) {
	var m NoticeMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return accounts.NoticeRef{}, fmt.Errorf("notice message: %w", err)
	}
	if m.V != 1 || accounts.ValidateTenantID(m.Tenant) != nil || !accounts.ValidUserID(m.User) || !accounts.ValidNoticeID(m.Notice) {
		return accounts.NoticeRef{}, errors.New("notice message: not a version-1 message with tenant, user and notice ids")
	}
	return accounts.NoticeRef{TenantID: m.Tenant, UserID: m.User, NoticeID: m.Notice}, nil
}
