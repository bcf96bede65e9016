package lambdaemu

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// Runtime API (2018-06-01) header names.
const (
	hdrRequestID    = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadlineMs   = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN  = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID      = "Lambda-Runtime-Trace-Id"
	hdrErrorType    = "Lambda-Runtime-Function-Error-Type"
	trailerErrorTyp = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBdy = "Lambda-Runtime-Function-Error-Body"
)

// instance is one execution environment: a function process plus the
// runtime API server it talks to.
type instance struct {
	fn   *function
	proc *hostos.Child
	srv  *http.Server
	addr string

	events chan *invocation // unbuffered: a send completes when GET /next takes the event

	mu      sync.Mutex
	current *invocation // taken by the runtime, no response yet
	handed  time.Time   // when the runtime took current

	startedAt time.Time // just before the process was started; guarded by mu
	nextOnce  sync.Once // the first GET /next ends the init phase

	initOnce   sync.Once
	initFailed chan struct{} // closed after POST /runtime/init/error
	initErr    *FunctionError

	stopping chan struct{} // closed when the process is being stopped
	stopOnce sync.Once
	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // valid after exited is closed
	dead     bool          // guarded by fn.mu

	stdout, stderr *lineWriter
}

// startInstance starts a runtime API server and the function process.
func startInstance(fn *function, seq int) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaemu: function %s: runtime API listener: %w", fn.cfg.Name, err)
	}
	prefix := "[" + fn.cfg.Name + "] "
	in := &instance{
		fn:         fn,
		addr:       ln.Addr().String(),
		events:     make(chan *invocation),
		initFailed: make(chan struct{}),
		stopping:   make(chan struct{}),
		exited:     make(chan struct{}),
		stdout:     &lineWriter{sink: fn.svc.logs, prefix: prefix},
		stderr:     &lineWriter{sink: fn.svc.logs, prefix: prefix},
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", in.handleInitError)
	in.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(&lineWriter{sink: fn.svc.logs, prefix: prefix + "lambdaemu: "}, "", 0),
	}
	go func() { _ = in.srv.Serve(ln) }()

	cmd := exec.Command(fn.cfg.Binary)
	cmd.Dir = filepath.Dir(fn.cfg.Binary) // Lambda runs the function from its task root
	cmd.Env = in.environ(seq)
	cmd.Stdin = nil
	cmd.Stdout = in.stdout
	cmd.Stderr = in.stderr
	cmd.WaitDelay = stopGrace // don't hang on descendants holding the log pipes
	in.mu.Lock()              // the runtime API server already runs
	in.startedAt = time.Now()
	in.mu.Unlock()
	// A killed local stack leaves no function running.
	proc, err := hostos.Start(cmd)
	if err != nil {
		_ = in.srv.Close()
		return nil, fmt.Errorf("lambdaemu: function %s: start %s: %w", fn.cfg.Name, fn.cfg.Binary, err)
	}
	in.proc = proc

	go func() {
		<-proc.Done()
		in.stdout.flush()
		in.stderr.flush()
		in.waitErr = proc.Err()
		in.stopOnce.Do(func() { close(in.stopping) })
		_ = in.srv.Close()
		fn.forget(in)
		close(in.exited)
	}()
	return in, nil
}

// environ builds the process environment: a minimal base like Lambda's,
// the reserved Lambda variables, then the function's own Env on top.
func (in *instance) environ(seq int) []string {
	cfg := in.fn.cfg
	env := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin",
		"TZ":   "UTC",
		"LANG": "en_US.UTF-8",
	}
	if v := os.Getenv("PATH"); v != "" {
		env["PATH"] = v
	}
	if v := os.Getenv("HOME"); v != "" {
		env["HOME"] = v
	}
	now := time.Now().UTC()
	reserved := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          in.addr,
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      fmt.Sprintf("%s/[$LATEST]%032x", now.Format("2006/01/02"), seq),
		"AWS_LAMBDA_LOG_FORMAT":           "Text",
		"AWS_REGION":                      in.fn.region,
		"AWS_DEFAULT_REGION":              in.fn.region,
		"LAMBDA_TASK_ROOT":                filepath.Dir(cfg.Binary),
		"_HANDLER":                        "bootstrap",
	}
	for k, v := range reserved {
		env[k] = v
	}
	for k, v := range cfg.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// kill stops the process at once (SIGKILL), as Lambda does on a timeout.
func (in *instance) kill() {
	in.stopOnce.Do(func() { close(in.stopping) })
	select {
	case <-in.exited:
	default:
		_ = in.proc.Kill()
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (in *instance) stop(grace time.Duration) {
	in.stopOnce.Do(func() { close(in.stopping) })
	select {
	case <-in.exited:
		return
	default:
	}
	_ = in.proc.Terminate()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-in.exited:
	case <-t.C:
		_ = in.proc.Kill()
		<-in.exited
	}
}

// exitError describes an instance that exited while it owned requestID.
// Must be called after exited is closed.
func (in *instance) exitError(requestID string) error {
	select {
	case <-in.initFailed:
		return in.initErr
	default:
	}
	status := "exit status 0"
	if in.waitErr != nil {
		var ee *exec.ExitError
		if errors.As(in.waitErr, &ee) {
			status = ee.String() // "exit status 2" or "signal: killed"
		} else {
			status = in.waitErr.Error()
		}
	}
	return in.fn.errorf("Runtime.ExitError", "RequestId: %s Error: Runtime exited with error: %s", requestID, status)
}

// GET /2018-06-01/runtime/invocation/next
func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.nextOnce.Do(func() {
		in.mu.Lock()
		took := time.Since(in.startedAt)
		in.mu.Unlock()
		in.fn.recordInit(took)
	})
	var inv *invocation
	select {
	case inv = <-in.events:
	case <-r.Context().Done():
		return
	case <-in.stopping:
		// Lambda never answers the next-event call of an environment it
		// shuts down: it stops the process. An answer would make every
		// runtime log a failed GET and exit 1 on each stop of the stack,
		// burying real errors; SIGTERM follows instead.
		select {
		case <-r.Context().Done():
		case <-in.exited:
		}
		return
	}
	handed := time.Now()
	deadline := handed.Add(in.fn.cfg.Timeout)
	in.mu.Lock()
	in.current, in.handed = inv, handed
	in.mu.Unlock()

	h := w.Header()
	h.Set(hdrRequestID, inv.id)
	h.Set(hdrDeadlineMs, strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, in.fn.arn)
	h.Set(hdrTraceID, inv.traceID)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// POST /2018-06-01/runtime/invocation/{id}/response
func (in *instance) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !in.isCurrent(id) {
		writeInvalidRequestID(w)
		return
	}
	body, tooLarge, err := readLimited(r.Body, maxResponseBytes)
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	var res runtimeResult
	switch {
	case tooLarge:
		res.err = in.fn.errorf("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)
	case r.Trailer.Get(trailerErrorTyp) != "":
		// The runtime failed while streaming the response body.
		res.err = in.trailerError(r.Trailer)
	default:
		res.body = body
	}
	if !in.complete(id, res) {
		writeInvalidRequestID(w)
		return
	}
	if tooLarge {
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", res.err.ErrorMessage)
		return
	}
	writeAccepted(w)
}

// POST /2018-06-01/runtime/invocation/{id}/error
func (in *instance) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !in.isCurrent(id) {
		writeInvalidRequestID(w)
		return
	}
	body, _, err := readLimited(r.Body, maxResponseBytes)
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	ferr := in.parseError(body, r.Header.Get(hdrErrorType))
	if !in.complete(id, runtimeResult{err: ferr}) {
		writeInvalidRequestID(w)
		return
	}
	writeAccepted(w)
}

// POST /2018-06-01/runtime/init/error
func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body, maxResponseBytes)
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	ferr := in.parseError(body, r.Header.Get(hdrErrorType))
	in.initOnce.Do(func() {
		in.initErr = ferr
		close(in.initFailed)
	})
	writeAccepted(w)
}

func (in *instance) isCurrent(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.current != nil && in.current.id == id
}

// complete records the outcome of the current invocation exactly once.
func (in *instance) complete(id string, res runtimeResult) bool {
	in.mu.Lock()
	inv := in.current
	if inv == nil || inv.id != id {
		in.mu.Unlock()
		return false
	}
	in.current = nil
	took := time.Since(in.handed)
	in.mu.Unlock()
	in.fn.recordInvocation(took, res.err != nil)
	inv.result <- res // buffered, written once
	return true
}

// parseError reads an error document {"errorMessage": ..., "errorType": ...}.
func (in *instance) parseError(body []byte, headerType string) *FunctionError {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		doc.ErrorMessage = strings.TrimSpace(string(body))
		doc.ErrorType = ""
	}
	if doc.ErrorType == "" {
		doc.ErrorType = headerType
	}
	if doc.ErrorType == "" {
		doc.ErrorType = "Runtime.Unknown"
	}
	return &FunctionError{Function: in.fn.cfg.Name, ErrorType: doc.ErrorType, ErrorMessage: doc.ErrorMessage}
}

func (in *instance) trailerError(tr http.Header) *FunctionError {
	body, err := base64.StdEncoding.DecodeString(tr.Get(trailerErrorBdy))
	if err != nil {
		body = nil
	}
	return in.parseError(body, tr.Get(trailerErrorTyp))
}

// readLimited reads at most limit bytes; tooLarge reports a longer body.
func readLimited(r io.Reader, limit int64) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > limit {
		return nil, true, nil
	}
	return body, false, nil
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeInvalidRequestID(w http.ResponseWriter) {
	writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
}

func writeRuntimeError(w http.ResponseWriter, status int, errorType, msg string) {
	body, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, errorType})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newTraceID returns an X-Ray trace header value.
func newTraceID() string {
	b := hostos.Random(20)
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0",
		time.Now().Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}
