package s3emu_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
)

// newConfigured starts a server whose bucket has cfg.
func newConfigured(t *testing.T, cfg s3emu.BucketConfig) *env {
	t.Helper()
	rec := &recorder{}
	dir := t.TempDir()
	srv, err := s3emu.New(s3emu.Options{Dir: dir, Buckets: []string{bucket}, OnObjectCreated: rec.on, Configs: map[string]s3emu.BucketConfig{bucket: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{dir: dir, srv: srv, http: ts, client: newClient(ts.URL, ts.Client()), rec: rec}
}

// TestSignatures: what S3 refuses is refused — an unsigned request, a
// pre-signed URL whose key, method or signed content type was changed, a
// wrong secret — with S3's codes and XML error body.
func TestSignatures(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	presign := s3.NewPresignClient(e.client)
	key := "imports/acme/job.csv"
	req, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/csv")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	csv := http.Header{"Content-Type": {"text/csv"}}
	other := strings.Replace(req.URL, "/imports/acme/", "/imports/other/", 1)
	for _, tc := range []struct {
		name, method, url string
		header            http.Header
		status            int
		code              string
	}{
		{"unsigned PUT", http.MethodPut, e.http.URL + "/" + bucket + "/" + key, nil, http.StatusForbidden, "AccessDenied"},
		{"key edited to another tenant", http.MethodPut, other, csv, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"another content type", http.MethodPut, req.URL, http.Header{"Content-Type": {"application/octet-stream"}}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"no content type", http.MethodPut, req.URL, nil, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"GET with a PUT URL", http.MethodGet, req.URL, nil, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"SigV2", http.MethodGet, e.http.URL + "/" + bucket + "/" + key + "?AWSAccessKeyId=local&Expires=9999999999&Signature=x", nil, http.StatusBadRequest, "InvalidRequest"},
	} {
		status, _, body := rawUnsigned(t, tc.method, tc.url, strings.NewReader("a,b\n"), tc.header)
		if status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, "<RequestId>") {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	if n := len(e.rec.records()); n != 0 {
		t.Fatalf("%d objects created by refused requests", n)
	}
	// A wrong secret.
	bad := newClient(e.http.URL, e.http.Client(), func(o *s3.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "guess"}, nil
		})
		o.RetryMaxAttempts = 1
	})
	if _, err := bad.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x")}); apiCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	unknown := newClient(e.http.URL, e.http.Client(), func(o *s3.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "someone", SecretAccessKey: "local"}, nil
		})
		o.RetryMaxAttempts = 1
	})
	if _, err := unknown.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x")}); apiCode(err) != "InvalidAccessKeyId" {
		t.Errorf("unknown access key: %v", err)
	}
	// The URL as signed works, once.
	if status, _, body := rawUnsigned(t, http.MethodPut, req.URL, strings.NewReader("a,b\n"), csv); status != http.StatusOK {
		t.Fatalf("presigned PUT as signed: %d %s", status, body)
	}
}

// TestVersioning: a versioned bucket keeps every version; reads by
// versionId see exactly that one, deletes by versionId remove it for good,
// and events carry the versionId.
func TestVersioning(t *testing.T) {
	e := newConfigured(t, s3emu.BucketConfig{Versioned: true})
	ctx := context.Background()
	key := "imports/acme/file.csv"
	v1 := e.put(t, key, []byte("first\n"))
	v2 := e.put(t, key, []byte("second\n"))
	id1, id2 := aws.ToString(v1.VersionId), aws.ToString(v2.VersionId)
	if id1 == "" || id2 == "" || id1 == id2 {
		t.Fatalf("version ids %q %q", id1, id2)
	}
	recs := e.rec.records()
	if len(recs) != 2 || recs[0].S3.Object.VersionID != id1 || recs[1].S3.Object.VersionID != id2 {
		t.Fatalf("events: %+v", recs)
	}
	read := func(vid string, etag *string) (string, error) {
		out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid), IfMatch: etag, Range: aws.String("bytes=0-2")})
		if err != nil {
			return "", err
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return string(b), nil
	}
	if got, err := read(id1, nil); err != nil || got != "fir" {
		t.Errorf("GET ?versionId=v1: %q %v", got, err)
	}
	if got, err := read(id1, v1.ETag); err != nil || got != "fir" {
		t.Errorf("GET ?versionId=v1 If-Match v1: %q %v", got, err)
	}
	if _, err := read(id1, v2.ETag); httpStatus(err) != http.StatusPreconditionFailed {
		t.Errorf("GET v1 with If-Match of v2: %v, want 412", err)
	}
	if _, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: v1.ETag}); httpStatus(err) != http.StatusPreconditionFailed {
		t.Errorf("GET current with If-Match of v1: %v, want 412", err)
	}
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(id1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(id1, nil); apiCode(err) != "NoSuchVersion" {
		t.Errorf("GET of a deleted version: %v", err)
	}
	if got := string(e.get(t, key)); got != "second\n" {
		t.Errorf("current = %q", got)
	}
	// Deleting the current version by id leaves nothing: the key is free.
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(id2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); httpStatus(err) != http.StatusNotFound {
		t.Errorf("HEAD after deleting every version: %v", err)
	}
	// A plain delete leaves the version readable by id (a delete marker).
	v3 := e.put(t, key, []byte("third\n"))
	if _, err := e.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if got, err := read(aws.ToString(v3.VersionId), nil); err != nil || got != "thi" {
		t.Errorf("noncurrent version after a plain delete: %q %v", got, err)
	}
}

// TestIfNoneMatchOnce: a pre-signed PUT signed with If-None-Match: *
// creates the object once; a replay answers 412 and changes nothing.
func TestIfNoneMatchOnce(t *testing.T) {
	e := newConfigured(t, s3emu.BucketConfig{Versioned: true})
	ctx := context.Background()
	key := "imports/acme/once.csv"
	req, err := s3.NewPresignClient(e.client).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String("text/csv"), IfNoneMatch: aws.String("*")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"text/csv"}, "If-None-Match": {"*"}}
	if status, _, body := rawUnsigned(t, http.MethodPut, req.URL, strings.NewReader("first\n"), h); status != http.StatusOK {
		t.Fatalf("first PUT: %d %s", status, body)
	}
	status, _, body := rawUnsigned(t, http.MethodPut, req.URL, strings.NewReader("second\n"), h)
	if status != http.StatusPreconditionFailed || !strings.Contains(body, "<Code>PreconditionFailed</Code>") {
		t.Errorf("replayed PUT: %d %s", status, body)
	}
	// Leaving the header out breaks the signature.
	if status, _, _ := rawUnsigned(t, http.MethodPut, req.URL, strings.NewReader("third\n"), http.Header{"Content-Type": {"text/csv"}}); status != http.StatusForbidden {
		t.Errorf("PUT without the signed If-None-Match: %d", status)
	}
	if got := string(e.get(t, key)); got != "first\n" || len(e.rec.records()) != 1 {
		t.Errorf("object %q after a replay, %d events", got, len(e.rec.records()))
	}
}

// TestCORS: preflights are answered from the bucket's rules; the actual
// response carries the CORS headers.
func TestCORS(t *testing.T) {
	const origin = "https://console.example.org"
	e := newConfigured(t, s3emu.BucketConfig{CORS: []s3emu.CORSRule{{
		AllowedOrigins: []string{origin}, AllowedMethods: []string{"PUT", "GET"},
		AllowedHeaders: []string{"content-type", "if-none-match"}, ExposedHeaders: []string{"ETag"}, MaxAge: 600,
	}}})
	plain := newEnv(t, "")
	preflight := func(base, o, method, headers string) (int, http.Header, string) {
		h := http.Header{"Origin": {o}, "Access-Control-Request-Method": {method}}
		if headers != "" {
			h.Set("Access-Control-Request-Headers", headers)
		}
		return rawUnsigned(t, http.MethodOptions, base+"/"+bucket+"/imports/acme/x.csv", nil, h)
	}
	status, h, body := preflight(e.http.URL, origin, "PUT", "content-type,if-none-match")
	if status != http.StatusOK || h.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") ||
		h.Get("Access-Control-Allow-Headers") != "content-type, if-none-match" || h.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("allowed preflight: %d %v %s", status, h, body)
	}
	for _, tc := range []struct{ name, base, origin, method, headers string }{
		{"other origin", e.http.URL, "https://evil.example", "PUT", "content-type"},
		{"method not allowed", e.http.URL, origin, "DELETE", ""},
		{"header not allowed", e.http.URL, origin, "PUT", "x-amz-acl"},
		{"bucket without CORS", plain.http.URL, origin, "PUT", ""},
	} {
		status, h, body := preflight(tc.base, tc.origin, tc.method, tc.headers)
		if status != http.StatusForbidden || !strings.Contains(body, "CORSResponse") || h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
	// The actual PUT through a pre-signed URL, from the console's origin.
	req, err := s3.NewPresignClient(e.client).PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/x.csv"), ContentType: aws.String("text/csv")})
	if err != nil {
		t.Fatal(err)
	}
	status, h, body = rawUnsigned(t, http.MethodPut, req.URL, bytes.NewReader([]byte("a\n")), http.Header{"Content-Type": {"text/csv"}, "Origin": {origin}})
	if status != http.StatusOK || h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("actual PUT: %d %v %s", status, h, body)
	}
	u, _ := url.Parse(req.URL)
	if u.Query().Get("X-Amz-Signature") == "" {
		t.Fatal("not pre-signed")
	}
}
