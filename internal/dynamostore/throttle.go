package dynamostore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// A throttle counter is one item per key and window (key layout in keys.go):
//
//	THROTTLE#<key>#<window start, unix s>  THROTTLE  requests counted so far
//
// so that the counters of one key never share a partition with another's,
// and a new window is a new item: nothing resets a count, it expires. The
// key is the domain's keyed hash; no name or address is stored.
const skThrottle = "THROTTLE"

// throttleMargin keeps a counter a while past its window, so that a clock
// slightly behind another instance's still finds it; TTL deletion is lazy
// anyway, and a late deletion changes nothing (windows are in the key).
const throttleMargin = 5 * time.Minute

var _ accounts.Throttle = (*Store)(nil)

func throttlePK(key string, windowStart time.Time) string {
	return "THROTTLE#" + key + "#" + strconv.FormatInt(windowStart.Unix(), 10)
}

// Allow counts one request against counter in the fixed window holding now,
// with one atomic ADD, and reports whether the count is within limit.
// Counting before deciding means concurrent requests never both pass the
// last slot: each sees its own count.
func (st *Store) Allow(ctx context.Context, counter string, limit int, window time.Duration, now time.Time) (bool, error) {
	if counter == "" || window <= 0 || limit < 0 {
		return false, accounts.Internal(fmt.Errorf("throttle: key %q, limit %d, window %v", counter, limit, window))
	}
	start := now.UTC().Truncate(window)
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.tableName(), Key: key(throttlePK(counter, start), skThrottle),
		UpdateExpression:          aws.String("ADD n :one SET #ttl = if_not_exists(#ttl, :ttl)"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: map[string]av{":one": n(1), ":ttl": n(start.Add(window + throttleMargin).Unix())},
		ReturnValues:              ddb.ReturnValueUpdatedNew,
	})
	if err != nil {
		return false, classify("count request", err, "", "")
	}
	count, err := num(out.Attributes, "n")
	if err != nil {
		return false, err
	}
	return count <= int64(limit), nil
}

// Count reads the counter of the window that holds now (0 when it has none
// yet), strongly consistent so that a limit checked just after a count
// sees it.
func (st *Store) Count(ctx context.Context, counter string, window time.Duration, now time.Time) (int, error) {
	if counter == "" || window <= 0 {
		return 0, accounts.Internal(fmt.Errorf("throttle: key %q, window %v", counter, window))
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: st.tableName(), Key: key(throttlePK(counter, now.UTC().Truncate(window)), skThrottle), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, classify("read request count", err, "", "")
	}
	if out.Item == nil {
		return 0, nil
	}
	c, err := num(out.Item, "n")
	return int(c), err
}
