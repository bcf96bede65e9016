package lambdaemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/lambdaemu"
)

const fnName = "EchoFunction"

// echoBinary is the compiled testdata/echofn function, built once in TestMain.
var echoBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdaemu-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	echoBinary = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoBinary, "./testdata/echofn")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building testdata/echofn: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// syncBuffer is a goroutine-safe log destination.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result mirrors the echofn response.
type result struct {
	Action      string          `json:"action"`
	PID         int             `json:"pid"`
	Value       json.RawMessage `json:"value"`
	EnvValue    string          `json:"envValue"`
	EnvSet      bool            `json:"envSet"`
	EnvNames    []string        `json:"envNames"`
	RequestID   string          `json:"requestId"`
	FunctionARN string          `json:"functionArn"`
	RemainingMs int64           `json:"remainingMs"`
	Status      int             `json:"status"`
	Cwd         string          `json:"cwd"`
}

// newService starts a Service with one echo function; Close runs at cleanup.
func newService(tb testing.TB, mutate func(*lambdaemu.FunctionConfig)) (*lambdaemu.Service, *syncBuffer) {
	tb.Helper()
	cfg := lambdaemu.FunctionConfig{Name: fnName, Binary: echoBinary, Timeout: 5 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	svc, err := lambdaemu.New([]lambdaemu.FunctionConfig{cfg}, lambdaemu.Options{Logs: logs})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	return svc, logs
}

// invoke sends event (marshalled to JSON) to the echo function.
func invoke(tb testing.TB, svc *lambdaemu.Service, event any) (result, error) {
	tb.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := svc.Invoke(ctx, fnName, payload)
	if err != nil {
		return result{}, err
	}
	var res result
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("response %q: %v", out, err)
	}
	return res, nil
}

// mustInvoke is invoke for calls that must succeed.
func mustInvoke(tb testing.TB, svc *lambdaemu.Service, event any) result {
	tb.Helper()
	res, err := invoke(tb, svc, event)
	if err != nil {
		tb.Fatalf("Invoke(%v): %v", event, err)
	}
	return res
}

// functionError asserts err is a *FunctionError of the given type.
func functionError(tb testing.TB, err error, wantType string) *lambdaemu.FunctionError {
	tb.Helper()
	var fe *lambdaemu.FunctionError
	if !errors.As(err, &fe) {
		tb.Fatalf("error = %v (%T), want *FunctionError", err, err)
	}
	if fe.Function != fnName || fe.ErrorType != wantType {
		tb.Fatalf("FunctionError = %+v, want Function %q, ErrorType %q", fe, fnName, wantType)
	}
	return fe
}

// gate is a barrier for invocations of the "gate" action: each one calls
// in, and waits there until the test releases it.
type gate struct {
	url      string
	arrived  chan struct{}
	release  chan struct{}
	mu       sync.Mutex
	inside   int
	peak     int
	released bool
}

func newGate(tb testing.TB) *gate {
	tb.Helper()
	g := &gate{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.inside++
		g.peak = max(g.peak, g.inside)
		g.mu.Unlock()
		defer func() { g.mu.Lock(); g.inside--; g.mu.Unlock() }()
		g.arrived <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done(): // the function was stopped
		}
	}))
	g.url = srv.URL
	tb.Cleanup(func() { g.open(); srv.Close() })
	return g
}

// event is the invocation that waits at the gate.
func (g *gate) event() map[string]any { return map[string]any{"action": "gate", "url": g.url} }

// await waits until n more invocations have reached the gate.
func (g *gate) await(tb testing.TB, n int) {
	tb.Helper()
	for i := range n {
		select {
		case <-g.arrived:
		case <-time.After(10 * time.Second): // a hang, not a measurement
			tb.Fatalf("%d of %d invocations reached the gate", i, n)
		}
	}
}

// open lets every waiting and later invocation through.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.released {
		g.released = true
		close(g.release)
	}
}

func (g *gate) peakInside() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func processGone(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	return p.Signal(syscall.Signal(0)) != nil
}

func TestEcho(t *testing.T) {
	svc, _ := newService(t, nil)
	first := mustInvoke(t, svc, map[string]any{"action": "echo", "value": map[string]any{"hello": "world"}})
	if got, want := string(first.Value), `{"hello":"world"}`; got != want {
		t.Errorf("value = %s, want %s", got, want)
	}
	second := mustInvoke(t, svc, map[string]any{"action": "echo", "value": 2})
	if second.PID != first.PID {
		t.Errorf("second invoke ran in pid %d, want the warm instance %d", second.PID, first.PID)
	}
}

func TestFailuresRecover(t *testing.T) {
	tests := []struct {
		name        string
		event       map[string]any
		wantType    string
		wantMessage string
		wantNewPID  bool // the failure must have replaced the instance
	}{
		{"handler error", map[string]any{"action": "error", "message": "bad input"}, "ValidationError", "bad input", false},
		{"panic", map[string]any{"action": "panic", "message": "kaboom"}, "string", "kaboom", true},
		{"exit", map[string]any{"action": "exit", "code": 3}, "Runtime.ExitError", "exit status 3", true},
		{"timeout", map[string]any{"action": "sleep", "ms": 5000}, "Sandbox.Timedout", "Task timed out after 0.50 seconds", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) { c.Timeout = 500 * time.Millisecond })
			before := mustInvoke(t, svc, map[string]any{"action": "echo"})

			start := time.Now()
			_, err := invoke(t, svc, tt.event)
			fe := functionError(t, err, tt.wantType)
			if !strings.Contains(fe.ErrorMessage, tt.wantMessage) {
				t.Errorf("ErrorMessage = %q, want it to contain %q", fe.ErrorMessage, tt.wantMessage)
			}
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("failure took %v", elapsed)
			}

			after := mustInvoke(t, svc, map[string]any{"action": "echo", "value": "again"})
			if string(after.Value) != `"again"` {
				t.Errorf("next invoke value = %s", after.Value)
			}
			if newPID := after.PID != before.PID; newPID != tt.wantNewPID {
				t.Errorf("instance replaced = %v, want %v", newPID, tt.wantNewPID)
			}
			if tt.wantNewPID && !processGone(before.PID) {
				t.Errorf("old process %d still running", before.PID)
			}
		})
	}
}

func TestConcurrency(t *testing.T) {
	svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) { c.MaxConcurrency = 2 })
	g := newGate(t)
	const n = 6
	var wg sync.WaitGroup
	results := make([]result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = invoke(t, svc, g.event()) })
	}
	// Two instances run concurrently and hold the other four back; with
	// fewer the gate is never reached twice.
	g.await(t, 2)
	if got := len(svc.PIDs(fnName)); got != 2 {
		t.Errorf("%d instances while two events wait at the gate, want 2", got)
	}
	g.open()
	wg.Wait()
	pids := map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("invoke %d: %v", i, errs[i])
		}
		pids[results[i].PID] = true
	}
	if len(pids) != 2 {
		t.Errorf("%d processes served the invokes, want the 2 warm ones", len(pids))
	}
	if p := g.peakInside(); p > 2 {
		t.Errorf("%d events ran at once, want at most 2", p)
	}
}

func TestInvokeWaitsRespectingContext(t *testing.T) {
	svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) { c.MaxConcurrency = 1 })
	mustInvoke(t, svc, map[string]any{"action": "echo"}) // warm up

	g := newGate(t)
	busy := make(chan error, 1)
	go func() {
		_, err := invoke(t, svc, g.event())
		busy <- err
	}()
	g.await(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := svc.Invoke(ctx, fnName, []byte(`{"action":"echo"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke while the only instance is busy = %v, want context.DeadlineExceeded", err)
	}
	g.open()
	if err := <-busy; err != nil {
		t.Fatalf("busy invoke: %v", err)
	}
	mustInvoke(t, svc, map[string]any{"action": "echo"})
}

func TestEnvironment(t *testing.T) {
	t.Setenv("LAMBDALOCAL_PARENT_SECRET", "must-not-leak")
	svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) {
		c.MemoryMB = 256
		c.Env = map[string]string{"TABLE_NAME": "accounts", "AWS_REGION": "eu-west-1"}
	})
	tests := []struct {
		name, want string
		set        bool
	}{
		{"TABLE_NAME", "accounts", true},
		{"AWS_REGION", "eu-west-1", true}, // function Env wins
		{"AWS_DEFAULT_REGION", "us-east-1", true},
		{"AWS_LAMBDA_FUNCTION_NAME", fnName, true},
		{"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST", true},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256", true},
		{"AWS_LAMBDA_LOG_FORMAT", "Text", true},
		{"_HANDLER", "bootstrap", true},
		{"TZ", "UTC", true},
		{"LAMBDALOCAL_PARENT_SECRET", "", false},
	}
	var names []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustInvoke(t, svc, map[string]any{"action": "env", "var": tt.name})
			if res.EnvSet != tt.set || res.EnvValue != tt.want {
				t.Errorf("%s = %q (set %v), want %q (set %v)", tt.name, res.EnvValue, res.EnvSet, tt.want, tt.set)
			}
			names = res.EnvNames
		})
	}
	allowed := []string{
		"PATH", "HOME", "TZ", "LANG", "TABLE_NAME", "LAMBDA_TASK_ROOT", "_HANDLER",
		"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_GROUP_NAME",
		"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
		"_X_AMZN_TRACE_ID", // set by aws-lambda-go itself for each event
	}
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			t.Errorf("unexpected variable %s in the function environment", name)
		}
	}

	res := mustInvoke(t, svc, map[string]any{"action": "env", "var": "LAMBDA_TASK_ROOT"})
	if wd, _ := filepath.EvalSymlinks(res.Cwd); wd != mustEvalSymlinks(t, filepath.Dir(echoBinary)) {
		t.Errorf("working directory = %s, want the binary's directory", res.Cwd)
	}
}

func mustEvalSymlinks(tb testing.TB, p string) string {
	tb.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestInvocationContext(t *testing.T) {
	svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) { c.Timeout = 3 * time.Second })
	a := mustInvoke(t, svc, map[string]any{"action": "context"})
	b := mustInvoke(t, svc, map[string]any{"action": "context"})
	if a.RequestID == "" || a.RequestID == b.RequestID {
		t.Errorf("request ids %q and %q: want distinct, non-empty", a.RequestID, b.RequestID)
	}
	if want := "arn:aws:lambda:us-east-1:123456789012:function:" + fnName; a.FunctionARN != want {
		t.Errorf("function ARN = %q, want %q", a.FunctionARN, want)
	}
	if a.RemainingMs <= 2000 || a.RemainingMs > 3000 {
		t.Errorf("remaining time = %d ms, want close to 3000", a.RemainingMs)
	}
}

func TestRuntimeAPIRejectsUnknownRequestID(t *testing.T) {
	svc, _ := newService(t, nil)
	res := mustInvoke(t, svc, map[string]any{"action": "bogus"})
	if res.Status != 400 {
		t.Errorf("runtime API status for an unknown request id = %d, want 400", res.Status)
	}
}

func TestLogsArePrefixed(t *testing.T) {
	svc, logs := newService(t, nil)
	mustInvoke(t, svc, map[string]any{"action": "log", "message": "hello from the function"})
	for _, want := range []string{
		"[" + fnName + "] hello from the function\n",
		"[" + fnName + "] hello from the function (stderr)\n",
	} {
		eventually(t, fmt.Sprintf("log line %q", want), func() bool { return strings.Contains(logs.String(), want) })
	}
	for line := range strings.Lines(logs.String()) {
		if !strings.HasPrefix(line, "["+fnName+"] ") {
			t.Errorf("log line without prefix: %q", line)
		}
	}
}

func TestPayloadLimits(t *testing.T) {
	svc, _ := newService(t, nil)
	big := make([]byte, 6*1024*1024+1)
	if _, err := svc.Invoke(context.Background(), fnName, big); !errors.Is(err, lambdaemu.ErrPayloadTooLarge) {
		t.Errorf("oversized request: err = %v, want ErrPayloadTooLarge", err)
	}
	_, err := invoke(t, svc, map[string]any{"action": "big", "size": 6*1024*1024 + 200})
	functionError(t, err, "Function.ResponseSizeTooLarge")
	mustInvoke(t, svc, map[string]any{"action": "echo"})
}

func TestUnknownFunction(t *testing.T) {
	svc, _ := newService(t, nil)
	if _, err := svc.Invoke(context.Background(), "Nope", []byte(`{}`)); !errors.Is(err, lambdaemu.ErrUnknownFunction) {
		t.Errorf("err = %v, want ErrUnknownFunction", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		fns  []lambdaemu.FunctionConfig
	}{
		{"empty name", []lambdaemu.FunctionConfig{{Binary: echoBinary}}},
		{"duplicate", []lambdaemu.FunctionConfig{{Name: "A", Binary: echoBinary}, {Name: "A", Binary: echoBinary}}},
		{"missing binary", []lambdaemu.FunctionConfig{{Name: "A", Binary: filepath.Join(t.TempDir(), "nope")}}},
		{"negative timeout", []lambdaemu.FunctionConfig{{Name: "A", Binary: echoBinary, Timeout: -time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := lambdaemu.New(tt.fns, lambdaemu.Options{}); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}

// TestCloseIsQuiet: stopping warm functions prints nothing, so the last
// lines a developer sees are real ones. The functions outlive SIGTERM here,
// so that anything the runtime API answers their waiting next-event call
// reaches them before SIGKILL does.
func TestCloseIsQuiet(t *testing.T) {
	svc, logs := newService(t, func(c *lambdaemu.FunctionConfig) {
		c.MaxConcurrency = 3
		c.Env = map[string]string{"ECHOFN_IGNORE_SIGTERM": "1"}
	})
	g := newGate(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { mustInvoke(t, svc, g.event()) })
	}
	g.await(t, 3) // three instances, warm once released
	g.open()
	wg.Wait()
	if n := len(svc.PIDs(fnName)); n != 3 {
		t.Fatalf("%d warm instances, want 3", n)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); out != "" {
		t.Errorf("Close printed:\n%s", out)
	}
}

func TestCloseStopsProcesses(t *testing.T) {
	svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) { c.MaxConcurrency = 2 })
	warm := mustInvoke(t, svc, map[string]any{"action": "echo"})

	g := newGate(t)
	busy := make(chan error, 1)
	go func() {
		_, err := invoke(t, svc, g.event()) // never released: Close ends it
		busy <- err
	}()
	g.await(t, 1)

	start := time.Now()
	if err := svc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := svc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	if err := <-busy; !errors.Is(err, lambdaemu.ErrClosed) {
		t.Errorf("in-flight invoke = %v, want ErrClosed", err)
	}
	if !processGone(warm.PID) {
		t.Errorf("process %d still running after Close", warm.PID)
	}
	if _, err := invoke(t, svc, map[string]any{"action": "echo"}); !errors.Is(err, lambdaemu.ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
}
