package s3emu_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
)

const bucket = "uploads"

// recorder collects the events OnObjectCreated receives; fail, if set,
// decides whether a call fails.
type recorder struct {
	mu    sync.Mutex
	recs  []events.S3EventRecord
	calls int
	fail  func(call int, rec events.S3EventRecord) error
}

func (r *recorder) on(_ context.Context, rec events.S3EventRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls, rec); err != nil {
			return err
		}
	}
	r.recs = append(r.recs, rec)
	return nil
}

func (r *recorder) records() []events.S3EventRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.S3EventRecord(nil), r.recs...)
}

func (r *recorder) setFail(f func(call int, rec events.S3EventRecord) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

type env struct {
	dir    string
	srv    *s3emu.Server
	http   *httptest.Server
	client *s3.Client
	rec    *recorder
}

// newEnv starts a server on dir (a new temporary one if empty) behind
// httptest and an SDK client for it.
func newEnv(t *testing.T, dir string, opts ...func(*s3.Options)) *env {
	t.Helper()
	return newEnvClock(t, dir, nil, opts...)
}

// newEnvClock is newEnv with the server on clk (nil: the real clock).
func newEnvClock(t *testing.T, dir string, clk clock.Clock, opts ...func(*s3.Options)) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	rec := &recorder{}
	srv, err := s3emu.New(s3emu.Options{Dir: dir, Buckets: []string{bucket}, OnObjectCreated: rec.on, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{dir: dir, srv: srv, http: ts, client: newClient(ts.URL, ts.Client(), opts...), rec: rec}
}

// newClient configures the SDK as the functions do (LoadDefaultConfig, so
// its default checksum behaviour: CRC32 on uploads, validation of GETs),
// without reading the machine's AWS files.
func newClient(endpoint string, hc *http.Client, opts ...func(*s3.Options)) *s3.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		config.WithHTTPClient(hc),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		panic(err)
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	}}, opts...)...)
}

func noRetries(o *s3.Options) { o.RetryMaxAttempts = 1 }

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func md5Sum(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func (e *env) put(t *testing.T, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}
	return out
}

func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %q: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apiCode returns the S3 error code of err, "" if it has none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// rawRequest sends a hand-made request, signed in its Authorization header
// with the local credentials unless url is pre-signed, and returns status
// and body. The payload hash signed is the request's X-Amz-Content-Sha256,
// UNSIGNED-PAYLOAD when it has none.
func rawRequest(t testing.TB, method, url string, body io.Reader, header http.Header) (int, http.Header, string) {
	t.Helper()
	return sendRaw(t, method, url, body, header, !strings.Contains(url, "X-Amz-Signature="))
}

// rawUnsigned sends a hand-made request without signing it.
func rawUnsigned(t testing.TB, method, url string, body io.Reader, header http.Header) (int, http.Header, string) {
	t.Helper()
	return sendRaw(t, method, url, body, header, false)
}

func sendRaw(t testing.TB, method, url string, body io.Reader, header http.Header, sign bool) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if bl, ok := body.(interface{ Len() int }); ok {
		req.ContentLength = int64(bl.Len())
	}
	if sign {
		hash := req.Header.Get("X-Amz-Content-Sha256")
		if hash == "" {
			hash = "UNSIGNED-PAYLOAD"
			req.Header.Set("X-Amz-Content-Sha256", hash)
		}
		creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
