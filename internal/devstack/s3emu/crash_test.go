package s3emu_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/libaccounts/libaccounts/internal/devstack/s3emu"
)

const (
	crashChildEnv  = "S3LOCAL_TEST_CRASH_CHILD_DIR"
	crashMarkerEnv = "S3LOCAL_TEST_CRASH_MARKER"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir, os.Getenv(crashMarkerEnv))
		return
	}
	// The tests build SDK clients with their own HTTP clients; a CA bundle
	// from the machine's environment would make the SDK refuse them.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}

// crashChild serves dir until it is killed. Its OnObjectCreated writes the
// marker file and then hangs, so the parent can SIGKILL it at the worst
// moment: object stored, event not yet accepted.
func crashChild(dir, marker string) {
	srv, err := s3emu.New(s3emu.Options{Dir: dir, Buckets: []string{bucket}, OnObjectCreated: func(ctx context.Context, rec events.S3EventRecord) error {
		_ = os.WriteFile(marker, []byte(rec.S3.Object.Key), 0o600)
		select {}
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(ln.Addr().String())
	_ = http.Serve(ln, srv)
}

// startCrashChild runs this test binary as a server on dir and returns its
// command and URL.
func startCrashChild(t *testing.T, dir, marker string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashMarkerEnv+"="+marker)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child server did not start: %v", err)
	}
	return cmd, "http://" + strings.TrimSpace(line)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestSIGKILLAfterStoreBeforeEvent kills the server after the object was
// stored and before OnObjectCreated returned: the next New must find the
// object and announce it.
func TestSIGKILLAfterStoreBeforeEvent(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	marker := filepath.Join(root, "announced")
	cmd, url := startCrashChild(t, dir, marker)
	client := newClient(url, &http.Client{Timeout: 30 * time.Second}, noRetries)
	body := randomBytes(1<<20, 40)
	key := "imports/acme/crash test.csv"
	go func() {
		_, _ = client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	}()
	waitFor(t, "OnObjectCreated in the child", func() bool { _, err := os.Stat(marker); return err == nil })
	kill(t, cmd)

	// A New without a callback has nobody to tell: it keeps the event.
	if _, err := s3emu.New(s3emu.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "pending")); len(entries) != 1 {
		t.Fatalf("%d intents pending after a New without callback, want 1", len(entries))
	}
	e := newEnv(t, dir) // New finishes the pending event
	recs := e.rec.records()
	if len(recs) != 1 {
		t.Fatalf("after the crash New announced %d events, want 1", len(recs))
	}
	o := recs[0].S3.Object
	if o.Key != "imports/acme/crash+test.csv" || o.ETag != md5Hex(body) || o.Size != int64(len(body)) || recs[0].EventName != "ObjectCreated:Put" {
		t.Errorf("recovered event: %+v", recs[0])
	}
	if got := e.get(t, key); !bytes.Equal(got, body) {
		t.Errorf("object after the crash: %d bytes", len(got))
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "pending")); len(entries) != 0 {
		t.Errorf("%d intents still pending", len(entries))
	}
	e.http.Close()
	// Announced once: a further restart has nothing to do.
	if n := len(newEnv(t, dir).rec.records()); n != 0 {
		t.Errorf("a second restart announced %d events", n)
	}
}

// TestSIGKILLDuringUpload kills the server while a body is still streaming:
// nothing is stored, nothing announced, no temporary file left.
func TestSIGKILLDuringUpload(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	cmd, url := startCrashChild(t, dir, filepath.Join(root, "announced"))
	pr, pw := io.Pipe()
	go func() {
		req, _ := http.NewRequest(http.MethodPut, url+"/"+bucket+"/imports/acme/half.csv", pr)
		req.ContentLength = 8 << 20
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	go func() { _, _ = pw.Write(randomBytes(1<<20, 41)) }() // an eighth of what it announced
	waitFor(t, "a partial upload in the child", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "tmp"))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Size() > 0 {
				return true
			}
		}
		return false
	})
	kill(t, cmd)
	_ = pw.Close()

	e := newEnv(t, dir)
	if n := len(e.rec.records()); n != 0 {
		t.Errorf("%d events for an upload that never finished", n)
	}
	if _, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("imports/acme/half.csv")}); err == nil {
		t.Error("a half upload is visible")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("New left %d temporary files", len(entries))
	}
}
