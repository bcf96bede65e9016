package s3emu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
)

func TestPutGetRangeHeadDelete(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	key := "imports/acme/May report (v2) ü+%.csv"
	body := []byte("id,name\n1,Ada Lovelace\n2,Grace Hopper\n")
	put, err := e.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("text/csv"),
		Metadata:    map[string]string{"tenant": "acme", "uploaded-by": "staff@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantETag := `"` + md5Hex(body) + `"`
	if aws.ToString(put.ETag) != wantETag {
		t.Errorf("PutObject ETag = %s, want %s", aws.ToString(put.ETag), wantETag)
	}
	if put.ChecksumCRC32 == nil {
		t.Errorf("PutObject answered no CRC32 although the SDK sent one")
	}

	got, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(got.Body) // the SDK validates the CRC32 here
	got.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, body) {
		t.Fatalf("GetObject body = %q", data)
	}
	if aws.ToString(got.ETag) != wantETag || aws.ToInt64(got.ContentLength) != int64(len(body)) || aws.ToString(got.ContentType) != "text/csv" {
		t.Errorf("GetObject ETag %s length %d type %s", aws.ToString(got.ETag), aws.ToInt64(got.ContentLength), aws.ToString(got.ContentType))
	}
	if got.LastModified == nil || time.Since(*got.LastModified) > time.Minute {
		t.Errorf("GetObject LastModified = %v", got.LastModified)
	}
	if got.Metadata["tenant"] != "acme" || got.Metadata["uploaded-by"] != "staff@example.com" {
		t.Errorf("GetObject metadata = %v", got.Metadata)
	}
	if aws.ToString(got.ChecksumCRC32) == "" {
		t.Errorf("GetObject with checksum mode returned no checksum")
	}

	// Range, as the functions read a slice of an upload.
	for _, tc := range []struct {
		rng, want, contentRange string
	}{
		{"bytes=8-22", string(body[8:23]), fmt.Sprintf("bytes 8-22/%d", len(body))},
		{"bytes=30-", string(body[30:]), fmt.Sprintf("bytes 30-%d/%d", len(body)-1, len(body))},
		{"bytes=-5", string(body[len(body)-5:]), fmt.Sprintf("bytes %d-%d/%d", len(body)-5, len(body)-1, len(body))},
		{"bytes=0-100000", string(body), fmt.Sprintf("bytes 0-%d/%d", len(body)-1, len(body))},
	} {
		out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(tc.rng), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("range %s: %v", tc.rng, err)
		}
		part, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(part) != tc.want || aws.ToString(out.ContentRange) != tc.contentRange || aws.ToInt64(out.ContentLength) != int64(len(tc.want)) {
			t.Errorf("range %s: %q, Content-Range %q, length %d", tc.rng, part, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength))
		}
	}
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String("bytes=1000-2000")})
	if apiCode(err) != "InvalidRange" || httpStatus(err) != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %v", err)
	}

	head, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != wantETag || head.Metadata["tenant"] != "acme" || aws.ToString(head.ContentType) != "text/csv" {
		t.Errorf("HeadObject = length %d, ETag %s, metadata %v", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), head.Metadata)
	}

	// Conditional GET.
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: aws.String(`"nope"`)})
	if httpStatus(err) != http.StatusPreconditionFailed {
		t.Errorf("If-Match mismatch: %v", err)
	}

	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("second DeleteObject: %v", err)
	}
	_, err = e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject after delete: %v", err)
	}
	_, err = e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject after delete: %v", err)
	}

	// DeleteObject answers 204, and a missing key's GET an XML NoSuchKey.
	status, _, _ := rawRequest(t, http.MethodDelete, e.http.URL+"/"+bucket+"/never-there", nil, nil)
	if status != http.StatusNoContent {
		t.Errorf("DELETE status = %d", status)
	}
	status, hdr, xmlBody := rawRequest(t, http.MethodGet, e.http.URL+"/"+bucket+"/never-there", nil, nil)
	if status != http.StatusNotFound || !strings.Contains(xmlBody, "<Code>NoSuchKey</Code>") || !strings.Contains(hdr.Get("Content-Type"), "xml") || hdr.Get("x-amz-request-id") == "" {
		t.Errorf("GET missing: %d %s %q", status, hdr.Get("Content-Type"), xmlBody)
	}
}

func TestKeysOfEveryShape(t *testing.T) {
	e := newEnv(t, "")
	keys := []string{"a", "a/b", "a/b/", "a//b", "dir/with space/and+plus", "ünïcödé/日本語.csv", "percent%2Fnot-a-slash", "tilde~and'quote(paren)", "q?x=1&y#frag"}
	for i, k := range keys {
		e.put(t, k, []byte(fmt.Sprint(i)))
	}
	for i, k := range keys {
		if got := string(e.get(t, k)); got != fmt.Sprint(i) {
			t.Errorf("key %q holds %q, want %d", k, got, i)
		}
	}
}

func TestChecksumsAndDigests(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	body := randomBytes(100_000, 1)
	for _, algo := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		key := "sum/" + string(algo)
		if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body), ChecksumAlgorithm: algo}); err != nil {
			t.Fatalf("PutObject with %s: %v", algo, err)
		}
		out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body) // validated by the SDK against the stored checksum
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: read back %d bytes, %v", algo, len(got), err)
		}
	}

	// Content-MD5, right and wrong.
	sum := md5Sum(body)
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("md5/ok"), Body: bytes.NewReader(body), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum))}); err != nil {
		t.Errorf("PutObject with the right Content-MD5: %v", err)
	}
	bad := md5Sum([]byte("something else"))
	_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("md5/bad"), Body: bytes.NewReader(body), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(bad))})
	if apiCode(err) != "BadDigest" {
		t.Errorf("PutObject with a wrong Content-MD5: %v", err)
	}

	// A wrong additional checksum, sent by hand.
	wrong := crc32.ChecksumIEEE([]byte("other"))
	status, _, msg := rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/sum/wrong", bytes.NewReader(body), http.Header{
		"X-Amz-Checksum-Crc32": {base64.StdEncoding.EncodeToString([]byte{byte(wrong >> 24), byte(wrong >> 16), byte(wrong >> 8), byte(wrong)})},
	})
	if status != http.StatusBadRequest || !strings.Contains(msg, "BadDigest") {
		t.Errorf("wrong x-amz-checksum-crc32: %d %s", status, msg)
	}
	// A wrong x-amz-content-sha256.
	status, _, msg = rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/sum/wrong", bytes.NewReader(body), http.Header{
		"X-Amz-Content-Sha256": {strings.Repeat("ab", 32)},
	})
	if status != http.StatusBadRequest || !strings.Contains(msg, "XAmzContentSHA256Mismatch") {
		t.Errorf("wrong x-amz-content-sha256: %d %s", status, msg)
	}
	for _, k := range []string{"md5/bad", "sum/wrong"} {
		if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err == nil {
			t.Errorf("%s was stored although its digest was wrong", k)
		}
	}
}

// TestAWSChunkedOverTLS: over HTTPS the SDK streams PutObject and UploadPart
// as aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
func TestAWSChunkedOverTLS(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{}
	srv, err := s3emu.New(s3emu.Options{Dir: dir, Buckets: []string{bucket}, OnObjectCreated: rec.on})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var chunked []string
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			chunked = append(chunked, r.Header.Get("Content-Encoding")+" "+r.Header.Get("X-Amz-Content-Sha256")+" "+r.Header.Get("X-Amz-Trailer"))
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	client := newClient(ts.URL, ts.Client())
	ctx := context.Background()
	body := randomBytes(300_000, 2)
	// A body the SDK cannot seek: only the trailer form can carry its checksum.
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("tls/stream"), Body: io.MultiReader(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body)))}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("tls/seekable"), Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tls/stream", "tls/seekable"} {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: %d bytes back, %v", k, len(got), err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(chunked) != 2 || !strings.HasPrefix(chunked[0], "aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER x-amz-checksum-") {
		t.Errorf("the SDK did not send aws-chunked bodies with trailers: %q", chunked)
	}
	if n := len(rec.records()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

// TestSignedChunksByHand covers the other aws-chunked forms: signed chunks
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), whose signatures are ignored, and
// broken bodies.
func TestSignedChunksByHand(t *testing.T) {
	e := newEnv(t, "")
	body := randomBytes(200_000, 3)
	var enc bytes.Buffer
	for off := 0; off < len(body); off += 65536 {
		end := min(off+65536, len(body))
		fmt.Fprintf(&enc, "%x;chunk-signature=%s\r\n", end-off, strings.Repeat("0", 64))
		enc.Write(body[off:end])
		enc.WriteString("\r\n")
	}
	fmt.Fprintf(&enc, "0;chunk-signature=%s\r\n\r\n", strings.Repeat("0", 64))
	hdr := http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Content-Sha256":         {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(body))},
		"Content-Type":                 {"text/csv"},
	}
	status, h, msg := rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/signed/chunks.csv", bytes.NewReader(enc.Bytes()), hdr)
	if status != http.StatusOK || h.Get("ETag") != `"`+md5Hex(body)+`"` {
		t.Fatalf("signed chunks: %d %s %s", status, h.Get("ETag"), msg)
	}
	if got := e.get(t, "signed/chunks.csv"); !bytes.Equal(got, body) {
		t.Errorf("signed chunks stored %d bytes", len(got))
	}
	head, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("signed/chunks.csv")})
	if err != nil || aws.ToString(head.ContentEncoding) != "" || aws.ToString(head.ContentType) != "text/csv" {
		t.Errorf("aws-chunked must not be stored as the object's Content-Encoding: %v %v", aws.ToString(head.ContentEncoding), err)
	}

	// Signed chunks with a signed trailer
	// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), as CRT-based clients send.
	var trailer bytes.Buffer
	fmt.Fprintf(&trailer, "%x;chunk-signature=%s\r\n", len(body), strings.Repeat("1", 64))
	trailer.Write(body)
	crc := crc32.ChecksumIEEE(body)
	fmt.Fprintf(&trailer, "\r\n0;chunk-signature=%s\r\nx-amz-checksum-crc32:%s\r\nx-amz-trailer-signature:%s\r\n\r\n", strings.Repeat("2", 64),
		base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}), strings.Repeat("3", 64))
	status, _, msg = rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/signed/trailer.csv", bytes.NewReader(trailer.Bytes()), http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Content-Sha256":         {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
		"X-Amz-Trailer":                {"x-amz-checksum-crc32"},
		"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(body))},
	})
	if status != http.StatusOK {
		t.Fatalf("signed chunks with a signed trailer: %d %s", status, msg)
	}
	if got := e.get(t, "signed/trailer.csv"); !bytes.Equal(got, body) {
		t.Errorf("signed trailer upload stored %d bytes", len(got))
	}

	// Unsigned chunks with a wrong trailing checksum.
	var bad bytes.Buffer
	fmt.Fprintf(&bad, "%x\r\n", len(body))
	bad.Write(body)
	bad.WriteString("\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
	hdr = http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Content-Sha256":         {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
		"X-Amz-Trailer":                {"x-amz-checksum-crc32"},
		"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(body))},
	}
	status, _, msg = rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/signed/bad-trailer", bytes.NewReader(bad.Bytes()), hdr)
	if status != http.StatusBadRequest || !strings.Contains(msg, "BadDigest") {
		t.Errorf("wrong trailing checksum: %d %s", status, msg)
	}
	// Chunk framing that lies about its size.
	status, _, msg = rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/signed/bad-frame", strings.NewReader("5\r\nhello world\r\n0\r\n\r\n"), http.Header{
		"Content-Encoding": {"aws-chunked"}, "X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
	})
	if status != http.StatusBadRequest {
		t.Errorf("bad framing: %d %s", status, msg)
	}
	// Decoded length that does not match.
	status, _, msg = rawRequest(t, http.MethodPut, e.http.URL+"/"+bucket+"/signed/short", strings.NewReader("5\r\nhello\r\n0\r\n\r\n"), http.Header{
		"Content-Encoding": {"aws-chunked"}, "X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "X-Amz-Decoded-Content-Length": {"6"},
	})
	if status != http.StatusBadRequest || !strings.Contains(msg, "IncompleteBody") {
		t.Errorf("short decoded length: %d %s", status, msg)
	}
	if n := len(e.rec.records()); n != 2 {
		t.Errorf("%d events, want 2 (only the good uploads)", n)
	}
}

func TestMultipartUpload(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	key := "imports/acme/big file.csv"
	parts := [][]byte{randomBytes(5<<20, 10), randomBytes(5<<20, 11), randomBytes(1234, 12)}
	created, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/csv"), Metadata: map[string]string{"tenant": "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	var completed []types.CompletedPart
	var md5s []byte
	for i, p := range parts {
		out, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		if aws.ToString(out.ETag) != `"`+md5Hex(p)+`"` {
			t.Errorf("part %d ETag %s", i+1, aws.ToString(out.ETag))
		}
		completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
		md5s = append(md5s, md5Sum(p)...)
	}
	// Not visible before completion.
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
		t.Error("the object exists before CompleteMultipartUpload")
	}
	// Parts out of order are refused.
	_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completed[1], completed[0]}}})
	if apiCode(err) != "InvalidPartOrder" {
		t.Errorf("parts out of order: %v", err)
	}
	done, err := e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
	if err != nil {
		t.Fatal(err)
	}
	wantETag := fmt.Sprintf(`"%s-3"`, md5Hex(md5s))
	if aws.ToString(done.ETag) != wantETag {
		t.Errorf("multipart ETag = %s, want %s", aws.ToString(done.ETag), wantETag)
	}
	whole := bytes.Join(parts, nil)
	out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || sha256.Sum256(got) != sha256.Sum256(whole) {
		t.Fatalf("multipart object: %d bytes, %v", len(got), err)
	}
	if aws.ToString(out.ContentType) != "text/csv" || out.Metadata["tenant"] != "acme" || aws.ToInt32(out.PartsCount) != 3 {
		t.Errorf("multipart object headers: %s %v parts %d", aws.ToString(out.ContentType), out.Metadata, aws.ToInt32(out.PartsCount))
	}
	// GetObject by part number.
	for i, p := range parts {
		out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), PartNumber: aws.Int32(int32(i + 1))})
		if err != nil {
			t.Fatalf("GetObject part %d: %v", i+1, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, p) || aws.ToInt32(out.PartsCount) != 3 {
			t.Errorf("part %d: %d bytes, parts count %d", i+1, len(got), aws.ToInt32(out.PartsCount))
		}
	}
	recs := e.rec.records()
	if len(recs) != 1 || recs[0].EventName != "ObjectCreated:CompleteMultipartUpload" || recs[0].S3.Object.ETag != strings.Trim(wantETag, `"`) || recs[0].S3.Object.Size != int64(len(whole)) {
		t.Errorf("events: %+v", recs)
	}
	// The upload is gone.
	_, err = e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: created.UploadId, PartNumber: aws.Int32(4), Body: strings.NewReader("x")})
	if apiCode(err) != "NoSuchUpload" {
		t.Errorf("UploadPart after completion: %v", err)
	}

	// A small part that is not the last is refused; an aborted upload is gone.
	up, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("small")})
	if err != nil {
		t.Fatal(err)
	}
	var small []types.CompletedPart
	for i := range 2 {
		out, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("small"), UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: strings.NewReader("tiny")})
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("small"), UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: small}})
	if apiCode(err) != "EntityTooSmall" {
		t.Errorf("small part: %v", err)
	}
	_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("small"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"0123"`)}}}})
	if apiCode(err) != "InvalidPart" {
		t.Errorf("wrong part ETag: %v", err)
	}
	if _, err := e.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("small"), UploadId: up.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("small"), UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: small[1:]}})
	if apiCode(err) != "NoSuchUpload" {
		t.Errorf("Complete after Abort: %v", err)
	}
	if n := len(e.rec.records()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestEventRecords(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	key := "imports/acme/May report (v2)+ü=1.csv"
	body := []byte("a,b\n")
	e.put(t, key, body)
	e.put(t, key, []byte("a,b,c\n")) // a new version: a new event
	e.put(t, "plain.txt", nil)       // empty objects count too
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("plain.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	recs := e.rec.records()
	if len(recs) != 3 {
		t.Fatalf("%d events, want 3 (two PUTs of one key, one of another; none for GET or DELETE)", len(recs))
	}
	r := recs[0]
	if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.AWSRegion != "us-east-1" || r.EventName != "ObjectCreated:Put" {
		t.Errorf("record header: %+v", r)
	}
	if time.Since(r.EventTime) > time.Minute || r.EventTime.Location() != time.UTC {
		t.Errorf("EventTime %v", r.EventTime)
	}
	if r.S3.SchemaVersion != "1.0" || r.S3.Bucket.Name != bucket || r.S3.Bucket.Arn != "arn:aws:s3:::"+bucket {
		t.Errorf("bucket: %+v", r.S3.Bucket)
	}
	o := r.S3.Object
	if want := "imports/acme/May+report+%28v2%29%2B%C3%BC%3D1.csv"; o.Key != want {
		t.Errorf("event key %q, want %q", o.Key, want)
	}
	if o.URLDecodedKey != key || o.Size != int64(len(body)) || o.ETag != md5Hex(body) || o.VersionID != "" || o.Sequencer == "" {
		t.Errorf("object: %+v", o)
	}
	if !(recs[1].S3.Object.Sequencer > o.Sequencer) {
		t.Errorf("sequencers do not grow: %s then %s", o.Sequencer, recs[1].S3.Object.Sequencer)
	}
	// What a Lambda receives decodes back to the key.
	data, _ := json.Marshal(events.S3Event{Records: recs[:1]})
	var back events.S3Event
	if err := json.Unmarshal(data, &back); err != nil || back.Records[0].S3.Object.URLDecodedKey != key {
		t.Errorf("round trip through JSON: %v %q", err, back.Records[0].S3.Object.URLDecodedKey)
	}
	for in, want := range map[string]string{
		"a b/c": "a+b/c", "x+y": "x%2By", "100%": "100%25", "é": "%C3%A9", "a-b_c.d*e~f": "a-b_c.d*e%7Ef", "k=v&w": "k%3Dv%26w",
	} {
		if got := s3emu.EventKey(in); got != want {
			t.Errorf("EventKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOnObjectCreatedFailure(t *testing.T) {
	e := newEnv(t, "", noRetries)
	ctx := context.Background()
	e.put(t, "report.csv", []byte("version 1"))
	boom := errors.New("queue unavailable")
	e.rec.setFail(func(int, events.S3EventRecord) error { return boom })

	// A new version is rolled back: the old one stays.
	_, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("report.csv"), Body: strings.NewReader("version 2")})
	if httpStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("PutObject while OnObjectCreated fails: %v", err)
	}
	if got := string(e.get(t, "report.csv")); got != "version 1" {
		t.Errorf("after a failed announcement the key holds %q", got)
	}
	// A new key is removed.
	_, err = e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("new.csv"), Body: strings.NewReader("x")})
	if httpStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("PutObject while OnObjectCreated fails: %v", err)
	}
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("new.csv")}); err == nil {
		t.Error("new.csv is visible although its event was refused")
	}
	// A multipart upload stays open, so the client can retry the completion.
	up, err := e.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp.csv")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mp.csv"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("only part")})
	if err != nil {
		t.Fatal(err)
	}
	complete := &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp.csv"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}
	if _, err := e.client.CompleteMultipartUpload(ctx, complete); httpStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("Complete while OnObjectCreated fails: %v", err)
	}
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("mp.csv")}); err == nil {
		t.Error("mp.csv is visible although its event was refused")
	}
	e.rec.setFail(nil)
	if _, err := e.client.CompleteMultipartUpload(ctx, complete); err != nil {
		t.Fatalf("retried Complete: %v", err)
	}
	if got := string(e.get(t, "mp.csv")); got != "only part" {
		t.Errorf("mp.csv holds %q", got)
	}

	// With the SDK's retries, one failure is invisible to the caller.
	retrying := newClient(e.http.URL, e.http.Client(), func(o *s3.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxBackoff = 50 * time.Millisecond })
	})
	failed := 0
	e.rec.setFail(func(int, events.S3EventRecord) error {
		if failed == 0 {
			failed++
			return boom
		}
		return nil
	})
	before := len(e.rec.records())
	if _, err := retrying.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("retried.csv"), Body: strings.NewReader("retried")}); err != nil {
		t.Fatalf("PutObject with retries: %v", err)
	}
	recs := e.rec.records()[before:]
	if failed != 1 || len(recs) != 1 || recs[0].S3.Object.Key != "retried.csv" {
		t.Errorf("events after a retried PUT: %+v", recs)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.dir, "pending")); len(entries) != 0 {
		t.Errorf("pending intents left: %d", len(entries))
	}
}

func TestPersistenceAcrossNew(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	ctx := context.Background()
	big := randomBytes(3<<20, 20)
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("keep/big.bin"), Body: bytes.NewReader(big), Metadata: map[string]string{"m": "1"}, ContentType: aws.String("application/x-test")}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "keep/small.txt", []byte("small"))
	e.put(t, "gone.txt", []byte("x"))
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("gone.txt")}); err != nil {
		t.Fatal(err)
	}
	e.http.Close()

	e2 := newEnv(t, dir)
	if got := e2.get(t, "keep/big.bin"); !bytes.Equal(got, big) {
		t.Errorf("big.bin after restart: %d bytes", len(got))
	}
	head, err := e2.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("keep/big.bin")})
	if err != nil || head.Metadata["m"] != "1" || aws.ToString(head.ContentType) != "application/x-test" || aws.ToString(head.ETag) != `"`+md5Hex(big)+`"` {
		t.Errorf("big.bin headers after restart: %v %v", head, err)
	}
	if got := e2.get(t, "keep/small.txt"); string(got) != "small" {
		t.Errorf("small.txt after restart: %q", got)
	}
	if _, err := e2.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("gone.txt")}); err == nil {
		t.Errorf("a deleted object came back after restart")
	}
	if n := len(e2.rec.records()); n != 0 {
		t.Errorf("a clean restart announced %d events", n)
	}
}

func TestPresignedPut(t *testing.T) {
	// The SDK signs with the wall clock; the server's fake clock starts
	// there and moves only when the test says.
	clk := clock.NewFake(time.Now())
	e := newEnvClock(t, "", clk)
	ctx := context.Background()
	presign := s3.NewPresignClient(e.client)
	key := "imports/acme/staff upload.csv"
	req, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/csv")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	body := "id,name\n1,Ada\n"
	hdr := http.Header{}
	for k, v := range req.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			hdr[k] = v
		}
	}
	status, h, msg := rawRequest(t, req.Method, req.URL, strings.NewReader(body), hdr)
	if status != http.StatusOK || h.Get("ETag") != `"`+md5Hex([]byte(body))+`"` {
		t.Fatalf("presigned PUT: %d %s", status, msg)
	}
	if got := string(e.get(t, key)); got != body {
		t.Errorf("presigned upload holds %q", got)
	}
	head, _ := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if head == nil || aws.ToString(head.ContentType) != "text/csv" {
		t.Errorf("presigned upload content type: %v", head)
	}
	recs := e.rec.records()
	if len(recs) != 1 || recs[0].S3.Object.Key != "imports/acme/staff+upload.csv" {
		t.Errorf("events: %+v", recs)
	}

	// Expired: a link whose X-Amz-Date + X-Amz-Expires is past. The signature
	// is not checked, so moving X-Amz-Date back an hour is an expired link.
	old := time.Now().UTC().Add(-time.Hour).Format("20060102T150405Z")
	expired := replaceQuery(t, req.URL, "X-Amz-Date", old)
	status, _, msg = rawRequest(t, http.MethodPut, expired, strings.NewReader(body), hdr)
	if status != http.StatusForbidden || !strings.Contains(msg, "<Code>AccessDenied</Code>") || !strings.Contains(msg, "Request has expired") {
		t.Errorf("expired presigned PUT: %d %s", status, msg)
	}
	// And as signed: a one-minute link, used two minutes later.
	short, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/late.csv")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	status, _, msg = rawRequest(t, http.MethodPut, short.URL, strings.NewReader(body), nil)
	if status != http.StatusForbidden || !strings.Contains(msg, "Request has expired") {
		t.Errorf("late presigned PUT: %d %s", status, msg)
	}
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/late.csv")}); err == nil {
		t.Error("an expired link stored an object")
	}
	if n := len(e.rec.records()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
	// Presigned GET works the same way.
	get, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ResponseContentDisposition: aws.String(`attachment; filename="x.csv"`)})
	if err != nil {
		t.Fatal(err)
	}
	status, h, msg = rawRequest(t, http.MethodGet, get.URL, nil, nil)
	if status != http.StatusOK || msg != body || h.Get("Content-Disposition") != `attachment; filename="x.csv"` {
		t.Errorf("presigned GET: %d %q %q", status, msg, h.Get("Content-Disposition"))
	}
}

func replaceQuery(t *testing.T, raw, name, value string) string {
	t.Helper()
	i := strings.Index(raw, name+"=")
	if i < 0 {
		t.Fatalf("%s not in %s", name, raw)
	}
	j := strings.IndexByte(raw[i:], '&')
	if j < 0 {
		return raw[:i] + name + "=" + value
	}
	return raw[:i] + name + "=" + value + raw[i+j:]
}

// TestDotSegmentKeys: "." and ".." are ordinary key characters to S3, and
// here: such keys are stored under exactly their name, and nothing is
// written outside the data directory.
func TestDotSegmentKeys(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	e := newEnv(t, dir)
	ctx := context.Background()
	keys := []string{"../escape", "a/../../escape", "imports/./x", "imports/..", "../../etc/passwd", "imports/acme/..csv"}
	for i, k := range keys {
		body := fmt.Sprintf("body %d", i)
		if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
			t.Errorf("PutObject %q: %v", k, err)
			continue
		}
		if got := string(e.get(t, k)); got != body {
			t.Errorf("GetObject %q = %q, want %q", k, got, body)
		}
	}
	for _, p := range []string{"/../x", "/..%2Fx/y", "/" + bucket + "/k?uploadId=../../../x&partNumber=1"} {
		status, _, msg := rawRequest(t, http.MethodPut, e.http.URL+p, strings.NewReader("x"), nil)
		if status < 400 || status >= 500 {
			t.Errorf("PUT %s: %d %s", p, status, msg)
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "data" {
		t.Errorf("files next to the data directory: %v", entries)
	}
	if n := len(e.rec.records()); n != len(keys) {
		t.Errorf("%d events, want %d", n, len(keys))
	}
}

// TestLambdaStyleClient configures the SDK exactly as a function does in the
// local stack: LoadDefaultConfig with AWS_ENDPOINT_URL_S3 and path style.
func TestLambdaStyleClient(t *testing.T) {
	e := newEnv(t, "")
	t.Setenv("AWS_ENDPOINT_URL_S3", e.http.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	src := randomBytes(64<<10, 30)
	e.put(t, "imports/acme/in.csv", src)
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/in.csv")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(src)) {
		t.Fatalf("HeadObject: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/in.csv"), Range: aws.String("bytes=1000-1999")})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(part, src[1000:2000]) {
		t.Errorf("ranged GET returned %d bytes", len(part))
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("reports/acme/in.csv.txt"), Body: strings.NewReader("42 rows imported\n"), ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/in.csv")}); err != nil {
		t.Fatal(err)
	}
	recs := e.rec.records()
	if len(recs) != 2 || recs[1].S3.Object.Key != "reports/acme/in.csv.txt" {
		t.Errorf("events: %+v", recs)
	}
}

func TestVirtualHost(t *testing.T) {
	e := newEnv(t, "")
	e.put(t, "b/c.txt", []byte("b/c.txt"))

	// Virtual-hosted style: Host uploads.localhost, key in the path.
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/b/c.txt", nil)
	req.Host = bucket + ".localhost"
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != "b/c.txt" {
		t.Errorf("virtual-hosted GET: %d %q", resp.StatusCode, got)
	}
}

// TestUnusedOperationsRefused: what nothing of libaccounts calls answers
// 501 rather than half-working.
func TestUnusedOperationsRefused(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	e.put(t, "src.txt", []byte("x"))
	calls := map[string]func() error{
		"ListBuckets": func() error { _, err := e.client.ListBuckets(ctx, &s3.ListBucketsInput{}); return err },
		"ListObjectsV2": func() error {
			_, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			return err
		},
		"CreateBucket": func() error {
			_, err := e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other")})
			return err
		},
		"CopyObject": func() error {
			_, err := e.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("dst.txt"), CopySource: aws.String(bucket + "/src.txt")})
			return err
		},
		"DeleteObjects": func() error {
			_, err := e.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("src.txt")}}}})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			// CreateBucket of an unknown bucket is NoSuchBucket: the
			// buckets are the configuration's.
			if code := apiCode(call()); code != "NotImplemented" && code != "NoSuchBucket" {
				t.Errorf("%s: error code %q, want NotImplemented", name, code)
			}
		})
	}
	if got := e.get(t, "src.txt"); string(got) != "x" {
		t.Errorf("a refused call changed src.txt: %q", got)
	}
}

// TestCallbackUsesS3 delivers synchronously, as a naive stack might: the
// callback runs the "function" at once, which reads the new object, writes
// a report and deletes the upload. Nothing may deadlock.
func TestCallbackUsesS3(t *testing.T) {
	dir := t.TempDir()
	var client *s3.Client
	var mu sync.Mutex
	var seen []string
	srv, err := s3emu.New(s3emu.Options{Dir: dir, Buckets: []string{bucket}, OnObjectCreated: func(ctx context.Context, rec events.S3EventRecord) error {
		mu.Lock()
		seen = append(seen, rec.S3.Object.URLDecodedKey)
		mu.Unlock()
		key := rec.S3.Object.URLDecodedKey
		if !strings.HasPrefix(key, "imports/") {
			return nil
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		data, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("reports/" + key), Body: strings.NewReader(fmt.Sprintf("%d bytes", len(data)))}); err != nil {
			return err
		}
		_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client = newClient(ts.URL, ts.Client(), noRetries)
	e := &env{client: client}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 70 { // more keys than lock stripes
		key := fmt.Sprintf("imports/acme/%d.csv", i)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("a,b\n")}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		if got := string(e.get(t, "reports/"+key)); got != "4 bytes" {
			t.Errorf("report of %s: %q", key, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 140 {
		t.Errorf("%d events, want 140", len(seen))
	}
}

func TestConditionalWrites(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	first, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("once.csv"), Body: strings.NewReader("1"), IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("once.csv"), Body: strings.NewReader("2"), IfNoneMatch: aws.String("*")})
	if httpStatus(err) != http.StatusPreconditionFailed {
		t.Errorf("second If-None-Match PUT: %v", err)
	}
	_, err = e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("once.csv"), Body: strings.NewReader("3"), IfMatch: aws.String(`"0000"`)})
	if httpStatus(err) != http.StatusPreconditionFailed {
		t.Errorf("If-Match with a stale ETag: %v", err)
	}
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("once.csv"), Body: strings.NewReader("4"), IfMatch: first.ETag}); err != nil {
		t.Errorf("If-Match with the current ETag: %v", err)
	}
	if got := string(e.get(t, "once.csv")); got != "4" {
		t.Errorf("once.csv holds %q", got)
	}
	if n := len(e.rec.records()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}
