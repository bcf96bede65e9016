// Package s3blobs keeps uploaded import files and reports in S3.
package s3blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// Open reads bytes [start, end) of the version v of an object, or from
// start to the end when end < 0, streaming. The version id and the ETag (as
// If-Match) both go with the request: either alone would do on a versioned
// bucket, the ETag also on one that is not. A 412 or a missing version is
// accounts.ErrObjectChanged.
func (b *Blobs) Open(ctx context.Context, bucket, key string, v accounts.BlobVersion, start, end int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if v.VersionID != "" {
		in.VersionId = aws.String(v.VersionID)
	}
	if v.ETag != "" {
		in.IfMatch = aws.String(`"` + strings.Trim(v.ETag, `"`) + `"`)
	}
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
		if changed(err, v) {
			return nil, fmt.Errorf("get %s: %w: %w", key, accounts.ErrObjectChanged, err)
		}
		return nil, classify("get "+key, err)
	}
	return out.Body, nil
}

// changed reports an error that says the version v is gone: 412 (the ETag
// no longer matches), or, for a read by version, that version or the key
// not found.
func changed(err error, v accounts.BlobVersion) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
		return true
	}
	var ae smithy.APIError
	if v.VersionID != "" && errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchVersion", "NoSuchKey":
			return true
		}
	}
	return false
}

// Head reads the size, ETag and user metadata of an object's version
// versionID ("" the current one).
func (b *Blobs) Head(ctx context.Context, bucket, key, versionID string) (accounts.BlobInfo, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := b.client.HeadObject(ctx, in)
	if err != nil {
		return accounts.BlobInfo{}, classify("head "+key, err)
	}
	meta := map[string]string{}
	for k, v := range out.Metadata {
		meta[strings.ToLower(k)] = v
	}
	return accounts.BlobInfo{Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Metadata: meta}, nil
}

// Delete removes the version versionID of an object for good, or the
// current object with ""; a missing one is fine. On a versioned bucket only
// the first removes the bytes: the second leaves them as a noncurrent
// version (for the lifecycle rule to expire).
func (b *Blobs) Delete(ctx context.Context, bucket, key, versionID string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	_, err := b.client.DeleteObject(ctx, in)
	if err != nil {
		return classify("delete "+key, err)
	}
	return nil
}

// PresignUpload returns a URL that PUTs a CSV file to key for ttl. The
// Content-Type and If-None-Match: * are signed, so the upload must send
// both as returned; S3 refuses a second PUT while the key holds an object
// (412), which makes a replayed URL create nothing.
func (b *Blobs) PresignUpload(ctx context.Context, bucket, key string, ttl time.Duration) (accounts.PresignedUpload, error) {
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/csv"), IfNoneMatch: aws.String("*"),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return accounts.PresignedUpload{}, classify("presign put "+key, err)
	}
	up := accounts.PresignedUpload{URL: req.URL, Headers: map[string]string{}}
	for name, v := range req.SignedHeader {
		if !strings.EqualFold(name, "Host") && len(v) > 0 {
			up.Headers[http.CanonicalHeaderKey(name)] = v[0]
		}
	}
	return up, nil
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
