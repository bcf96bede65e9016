package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// RecoveryQueue hands patrons' recovery requests to the recovery worker. A
// message carries the request's ids only: what the patron typed stays in
// the table, where it expires.
type RecoveryQueue struct {
	api NoticeAPI
	url string
}

var _ accounts.RecoveryQueue = (*RecoveryQueue)(nil)

// NewRecovery returns a recovery queue sending to queueURL.
func NewRecovery(api NoticeAPI, queueURL string) *RecoveryQueue {
	return &RecoveryQueue{api: api, url: queueURL}
}

// RecoveryMessage is a recovery queue message's body, version 1.
type RecoveryMessage struct {
	V       int    `json:"v"`
	Tenant  string `json:"tenant"`
	Request string `json:"request"`
}

var recoveryIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// EnqueueRecovery sends ref.
func (q *RecoveryQueue) EnqueueRecovery(ctx context.Context, ref accounts.RecoveryRef) error {
	body, err := json.Marshal(RecoveryMessage{V: 1, Tenant: ref.TenantID, Request: ref.RequestID})
	if err != nil {
		return accounts.Internal(err)
	}
	if _, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))}); err != nil {
		return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the recovery queue is unavailable; retry shortly", Err: fmt.Errorf("send recovery request %s: %w", ref.RequestID, err)}
	}
	return nil
}

// DecodeRecovery reads a recovery message body; anything but a version-1
// body with valid ids is an error.
func DecodeRecovery(body string) (accounts.RecoveryRef, error) {
	var m RecoveryMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return accounts.RecoveryRef{}, fmt.Errorf("recovery message: %w", err)
	}
	if m.V != 1 || accounts.ValidateTenantID(m.Tenant) != nil || !recoveryIDPattern.MatchString(m.Request) {
		return accounts.RecoveryRef{}, errors.New("recovery message: not a version-1 message with tenant and request ids")
	}
	return accounts.RecoveryRef{TenantID: m.Tenant, RequestID: m.Request}, nil
}
