package stack_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/libaccounts/libaccounts/internal/devstack/stack"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// buildCLI compiles the staff command line once per test binary.
func buildCLI(tb testing.TB) string {
	tb.Helper()
	root, err := samtemplate.FindRepoRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(tb.TempDir(), "libaccounts")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/libaccounts")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build CLI: %v\n%s", err, out)
	}
	return bin
}

// cli runs the staff command line as a person would, with its own config
// directory.
type cli struct {
	tb  testing.TB
	bin string
	env []string
}

func (c cli) run(stdin string, args ...string) (string, int) {
	c.tb.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.tb.Fatal(err)
	}
	return out.String(), code
}

// waitJob polls the API until the job ends.
func waitJob(tb testing.TB, c client, id string) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		status, body := c.do("GET", "/v1/admin/imports/"+id, nil)
		if status != 200 {
			tb.Fatalf("get import: %d %v", status, body)
		}
		switch body["status"] {
		case "completed", "completed_with_errors", "failed", "cancelled":
			return body
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("import %s did not end", id)
	return nil
}

func s3Client(st *stack.Stack) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(st.S3Endpoint), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

func TestImportsThroughTheLocalStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, logs := startStack(t)
	anon := client{tb: t, base: st.APIURL}
	admin := anon.login("kpu", "admin", adminPassword)
	for _, id := range []string{"0123456", "0123457"} {
		status, body := admin.do("POST", "/v1/admin/users", map[string]any{"username": "staff-" + id, "primaryId": id, "generatePassword": true})
		want(t, "create user", status, 201, body)
	}
	// Notices go to the staff member who started the job: the demo admin
	// has an address from the start, so a newcomer sees them in the outbox.
	if st.AdminEmail != "admin@kpu.example" {
		t.Fatalf("the stack's admin e-mail = %q, want admin@kpu.example", st.AdminEmail)
	}
	_, me := admin.do("GET", "/v1/me", nil)
	if me["email"] != st.AdminEmail {
		t.Errorf("the admin's e-mail = %v, want %s", me["email"], st.AdminEmail)
	}

	// A LibraryPass-style upload through the staff CLI: log in, import, wait, report.
	dir := t.TempDir()
	file := filepath.Join(dir, "patrons.csv")
	var rows strings.Builder
	for i := range 40 {
		fmt.Fprintf(&rows, "patron%02d,library card number %02d\r\n", i, i)
	}
	rows.WriteString("weak,password\r\n")
	if err := os.WriteFile(file, []byte(rows.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cli{tb: t, bin: buildCLI(t), env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "LIBACCOUNTS_API_URL=" + st.APIURL}}
	out, code := c.run(adminPassword+"\n", "login", "--tenant", "kpu", "--username", "admin", "--password-stdin")
	if code != 0 {
		t.Fatalf("cli login: %d\n%s", code, out)
	}
	out, code = c.run("", "import", file)
	if code != 1 || !strings.Contains(out, "completed_with_errors") || !strings.Contains(out, "40") {
		t.Fatalf("cli import: exit %d\n%s", code, out)
	}
	status, body := admin.do("GET", "/v1/admin/imports", nil)
	want(t, "list imports", status, 200, body)
	first := body["imports"].([]any)[0].(map[string]any)
	id := first["id"].(string)
	if counts := first["counts"].(map[string]any); counts["created"] != float64(40) || counts["failed"] != float64(1) || counts["rows"] != float64(41) {
		t.Errorf("counts: %v", counts)
	}
	report, code := c.run("", "jobs", "report", id)
	if code != 0 || !strings.Contains(report, "41,weak,failed") {
		t.Errorf("report (exit %d):\n%s", code, report)
	}
	anon.login("kpu", "patron07", "library card number 07")
	_, text := lastMail(t, anon, st.AdminEmail)
	if !strings.Contains(text, "Created:          40") {
		t.Errorf("notice:\n%s", text)
	}

	// An Alma-style set of primary IDs by dropping a file straight into the bucket, as `aws s3 cp
	// --metadata kind=set,set-name=…` would.
	key := "imports/kpu/alma ids.csv"
	_, err := s3Client(st).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(st.Bucket), Key: aws.String(key), Body: strings.NewReader("User name\n0123456\n'0123457\n0999999\n"),
		Metadata: map[string]string{"kind": "set", "set-name": "User Password Reset (run 1)", "started-by": "admin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var setJob map[string]any
	for range 100 {
		_, body = admin.do("GET", "/v1/admin/imports?limit=1", nil)
		if j := body["imports"].([]any)[0].(map[string]any); j["id"] != id {
			setJob = waitJob(t, admin, j["id"].(string))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if setJob == nil {
		t.Fatal("the dropped file made no job")
	}
	if counts := setJob["counts"].(map[string]any); counts["added"] != float64(2) || counts["notFound"] != float64(1) {
		t.Fatalf("set job: %v", setJob)
	}
	status, body = admin.do("GET", "/v1/admin/sets/"+setJob["setId"].(string), nil)
	want(t, "get set", status, 200, body)
	if n := len(body["members"].([]any)); n != 2 {
		t.Errorf("set has %d members", n)
	}
	if _, err := s3Client(st).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key)}); err == nil {
		t.Error("the dropped file is still in the bucket after its job ended")
	}
	for _, secret := range []string{"library card number 07", adminPassword} {
		if strings.Contains(logs.String(), secret) {
			t.Error("a password from the file reached the logs")
		}
	}
}

// putFile uploads through a pre-signed URL as the staff CLI does.
func putFile(tb testing.TB, url, body string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	// The headers the URL is signed for.
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("If-None-Match", "*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("upload: %d", resp.StatusCode)
	}
}
