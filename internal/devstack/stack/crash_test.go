package stack_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/stack"
)

// The test binary doubles as a stack process that a test can SIGKILL: with
// LIBACCOUNTS_STACK_CHILD set, TestMain runs the stack and never returns.
func TestMain(m *testing.M) {
	if dir := os.Getenv("LIBACCOUNTS_STACK_CHILD"); dir != "" {
		runChild(dir)
		return
	}
	// Build the functions once for every stack this process and its
	// children start.
	bins, err := os.MkdirTemp("", "libaccounts-functions-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := stack.BuildFunctions(context.Background(), "", bins); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(bins)
		os.Exit(1)
	}
	os.Setenv(stack.PrebuiltEnv, bins)
	code := m.Run()
	os.RemoveAll(bins)
	os.Exit(code)
}

// childEnv makes the child quick: cheap hashing (the crash path is what is
// tested, not argon2id's cost), small chunks, and visibility timeouts of a
// few seconds so work in flight at the kill comes back soon.
var childEnv = map[string]string{"ARGON2_MEMORY_KIB": "256", "ARGON2_TIME": "1", "ROWS_PER_CHUNK": "100"}

func runChild(dir string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := stack.Start(ctx, stack.Config{
		DataDir: dir, Tenant: "kpu", AdminPassword: adminPassword, Logs: os.Stderr,
		FunctionEnv: childEnv, VisibilityCap: 3 * time.Second,
	})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready", st.APIURL)
	<-ctx.Done()
	st.Close()
	os.Exit(0)
}

// startChild runs a stack process on dir and returns its API URL.
func startChild(tb testing.TB, dir string) (*exec.Cmd, string) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LIBACCOUNTS_STACK_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	logs, err := os.Create(dir + ".log")
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logs.Close() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		data, _ := os.ReadFile(dir + ".log")
		tb.Fatalf("child stack did not start: %q %v\n%s", line, err, data)
	}
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "ready "))
}

func TestKilledMidImportFinishesExactlyOnRestart(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	if testing.Short() {
		t.Skip("kills and restarts a whole stack")
	}
	dir := t.TempDir() + "/stack"
	child, api := startChild(t, dir)
	admin := client{tb: t, base: api}.login("kpu", "admin", adminPassword)

	const rows = 5000
	var file strings.Builder
	for i := range rows {
		fmt.Fprintf(&file, "reader%04d,a long enough passphrase %04d\n", i, i)
	}
	status, body := admin.do("POST", "/v1/admin/imports", map[string]any{})
	want(t, "start import", status, 201, body)
	id := body["importId"].(string)
	putFile(t, body["uploadUrl"].(string), file.String())

	// Kill the whole stack, without warning, once some chunks are in.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, j := admin.do("GET", "/v1/admin/imports/"+id, nil)
		if p, _ := j["percent"].(float64); p >= 10 && p < 90 {
			t.Logf("killing the stack at %v%%", p)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import never got going: %v", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	_, api = startChild(t, dir)
	admin = client{tb: t, base: api}.login("kpu", "admin", adminPassword)
	j := waitJob(t, admin, id)
	counts := j["counts"].(map[string]any)
	if j["status"] != "completed" || counts["rows"] != float64(rows) || counts["created"] != float64(rows) || counts["failed"] != float64(0) || counts["skipped"] != float64(0) {
		t.Fatalf("after restart: %v", j)
	}
	// Every row exists once: the listing holds the admin and the 5,000.
	seen := map[string]bool{}
	cursor := ""
	for {
		path := "/v1/admin/users?limit=200&prefix=reader"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		_, page := admin.do("GET", path, nil)
		for _, u := range page["users"].([]any) {
			name := u.(map[string]any)["username"].(string)
			if seen[name] {
				t.Fatalf("%s listed twice", name)
			}
			seen[name] = true
		}
		next, _ := page["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != rows {
		t.Fatalf("%d users imported, want %d", len(seen), rows)
	}
}
