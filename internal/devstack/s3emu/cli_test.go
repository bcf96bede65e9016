package s3emu_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
)

// TestAWSCLI uploads with the real AWS CLI, as staff do: a file over the
// CLI's 8 MB multipart threshold and a small one, then downloads and
// deletes.
// It is skipped where the CLI is not installed.
func TestAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	dir := t.TempDir()
	rec := &recorder{}
	srv, err := s3emu.New(s3emu.Options{Dir: filepath.Join(dir, "data"), Buckets: []string{bucket}, OnObjectCreated: rec.on})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s?%s encoding=%q sha256=%q crc32=%q algo=%q", r.Method, r.URL.EscapedPath(), r.URL.RawQuery,
			r.Header.Get("Content-Encoding"), r.Header.Get("X-Amz-Content-Sha256"), r.Header.Get("X-Amz-Checksum-Crc32"), r.Header.Get("X-Amz-Sdk-Checksum-Algorithm")))
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()

	// Only the local stack's credentials and empty config files: nothing of
	// the machine.
	cliEnv := []string{
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "AWS_") {
			cliEnv = append(cliEnv, kv)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append(args, "--endpoint-url", ts.URL)...)
		cmd.Env = cliEnv
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	big := randomBytes(9<<20, 50)
	small := []byte("id,name\n1,Ada\n")
	bigPath, smallPath := filepath.Join(dir, "big.csv"), filepath.Join(dir, "small.csv")
	if err := os.WriteFile(bigPath, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(smallPath, small, 0o600); err != nil {
		t.Fatal(err)
	}
	run("s3", "cp", bigPath, "s3://"+bucket+"/imports/acme/big.csv")
	run("s3", "cp", smallPath, "s3://"+bucket+"/imports/acme/small file.csv")

	recs := rec.records()
	if len(recs) != 2 {
		t.Fatalf("%d events, want 2", len(recs))
	}
	if recs[0].EventName != "ObjectCreated:CompleteMultipartUpload" || recs[0].S3.Object.Key != "imports/acme/big.csv" || recs[0].S3.Object.Size != int64(len(big)) || !strings.HasSuffix(recs[0].S3.Object.ETag, "-2") {
		t.Errorf("big file event: %+v", recs[0])
	}
	if recs[1].EventName != "ObjectCreated:Put" || recs[1].S3.Object.Key != "imports/acme/small+file.csv" || recs[1].S3.Object.ETag != md5Hex(small) {
		t.Errorf("small file event: %+v", recs[1])
	}

	client := newClient(ts.URL, ts.Client())
	e := &env{client: client}
	if got := e.get(t, "imports/acme/big.csv"); !bytes.Equal(got, big) {
		t.Errorf("big.csv holds %d bytes", len(got))
	}
	if got := e.get(t, "imports/acme/small file.csv"); !bytes.Equal(got, small) {
		t.Errorf("small file.csv holds %q", got)
	}

	down := filepath.Join(dir, "down.csv")
	run("s3", "cp", "s3://"+bucket+"/imports/acme/big.csv", down)
	if got, err := os.ReadFile(down); err != nil || !bytes.Equal(got, big) {
		t.Errorf("downloaded big.csv: %d bytes, %v", len(got), err)
	}
	run("s3", "rm", "s3://"+bucket+"/imports/acme/small file.csv")
	if n := len(rec.records()); n != 2 {
		t.Errorf("%d events after download and delete, want still 2", n)
	}
	mu.Lock()
	t.Logf("requests the CLI sent:\n%s", strings.Join(seen, "\n"))
	mu.Unlock()
}
