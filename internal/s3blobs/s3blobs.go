// Package s3blobs keeps uploaded import files and reports in S3.
package s3blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// Blobs implements the import bucket on an S3 client.
type Blobs struct {
	client  *s3.Client
	presign *s3.PresignClient
}

var _ accounts.Blobs = (*Blobs)(nil)

// New returns the adapter over the caller's client.
func New(client *s3.Client) *Blobs {
	return &Blobs{client: client, presign: s3.NewPresignClient(client)}
}

func classify(op string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return &accounts.Error{Code: accounts.CodeNotFound, Message: "object not found", Err: err}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError":
			return &accounts.Error{Code: accounts.CodeUnavailable, Message: "storage is busy; retry shortly", Err: fmt.Errorf("%s: %w", op, err)}
		}
	}
	return accounts.Internal(fmt.Errorf("%s: %w", op, err))
}

// Open reads bytes [start, end) of an object, or from start to the end when
// end < 0, streaming.
func (b *Blobs) Open(ctx context.Context, bucket, key string, start, end int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	switch {
	case end >= 0 && end <= start:
		return io.NopCloser(strings.NewReader("")), nil
	case end >= 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", start, end-1))
	case start > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", start))
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return nil, classify("get "+key, err)
	}
	return out.Body, nil
}

// Head reads an object's size, ETag and user metadata.
func (b *Blobs) Head(ctx context.Context, bucket, key string) (accounts.BlobInfo, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return accounts.BlobInfo{}, classify("head "+key, err)
	}
	meta := map[string]string{}
	for k, v := range out.Metadata {
		meta[strings.ToLower(k)] = v
	}
	return accounts.BlobInfo{Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Metadata: meta}, nil
}

// Delete removes an object; a missing one is fine.
func (b *Blobs) Delete(ctx context.Context, bucket, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return classify("delete "+key, err)
	}
	return nil
}

// PresignPut returns a URL that uploads one object for ttl.
func (b *Blobs) PresignPut(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/csv")}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", classify("presign put "+key, err)
	}
	return req.URL, nil
}

// PresignGet returns a URL that downloads one object for ttl.
func (b *Blobs) PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", classify("presign get "+key, err)
	}
	return req.URL, nil
}

// Put stores a small object.
func (b *Blobs) Put(ctx context.Context, bucket, key string, body io.Reader, contentType string) error {
	data, err := io.ReadAll(io.LimitReader(body, 256<<20))
	if err != nil {
		return accounts.Internal(fmt.Errorf("read body for %s: %w", key, err))
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(data)),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return classify("put "+key, err)
	}
	return nil
}
