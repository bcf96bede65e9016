// Package lambdaemu emulates the AWS Lambda service on the local machine.
//
// It runs the real compiled function binaries (built for the custom runtime,
// "provided.al2023", with -tags lambda.norpc) as child processes and serves
// each one its own implementation of the Lambda Runtime API (2018-06-01), so
// the function code runs through exactly the same aws-lambda-go invoke loop
// it uses in AWS.
//
// Like Lambda, a function scales by running more instances (execution
// environments), each of which processes one event at a time. Instances are
// started lazily, kept warm between invocations and replaced when they crash
// or time out.
package lambdaemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

const (
	// maxRequestBytes is Lambda's quota for a synchronous invocation payload.
	maxRequestBytes = 6 * 1024 * 1024
	// maxResponseBytes is Lambda's quota for a synchronous response payload.
	// Lambda enforces a limit that is 100 bytes larger than the request's.
	maxResponseBytes = maxRequestBytes + 100
	// initTimeout bounds how long a fresh instance may take to ask for its
	// first event, matching Lambda's 10 s limit on the init phase.
	initTimeout = 10 * time.Second
	// stopGrace is how long Close waits after SIGTERM before SIGKILL.
	stopGrace = 2 * time.Second
	// maxDispatchAttempts bounds retries when a warm instance turns out to
	// have exited before it could take an event.
	maxDispatchAttempts = 3

	accountID             = "123456789012"
	defaultTimeout        = 30 * time.Second
	defaultMemoryMB       = 128
	defaultMaxConcurrency = 4
	defaultRegion         = "us-east-1"
)

var (
	// ErrUnknownFunction is returned by Invoke for a name that was not
	// configured (Lambda's ResourceNotFoundException).
	ErrUnknownFunction = errors.New("lambdaemu: function not found")
	// ErrPayloadTooLarge is returned by Invoke when the payload exceeds
	// Lambda's 6 MB synchronous invocation quota (RequestTooLargeException).
	ErrPayloadTooLarge = errors.New("lambdaemu: request payload exceeds 6291456 bytes")
	// ErrClosed is returned by Invoke once Close has been called.
	ErrClosed = errors.New("lambdaemu: service closed")
)

// FunctionConfig describes one function.
type FunctionConfig struct {
	Name           string            // logical id, e.g. "AuthLoginFunction"
	Binary         string            // path to the compiled bootstrap binary for this machine
	Env            map[string]string // function environment, merged over the base environment
	Timeout        time.Duration     // default 30s
	MemoryMB       int               // reported via AWS_LAMBDA_FUNCTION_MEMORY_SIZE, default 128
	MaxConcurrency int               // instances kept at most, default 4
}

// Options configures a Service.
type Options struct {
	// Logs receives every line a function process writes to stdout or
	// stderr, prefixed with "[Name] ". nil means os.Stderr.
	Logs io.Writer
	// Region is reported as AWS_REGION and in ARNs. Default "us-east-1".
	Region string
}

// FunctionError is returned by Invoke when the invocation failed inside the
// function: the handler reported an error, or the runtime crashed
// ("Runtime.ExitError") or timed out ("Sandbox.Timedout").
type FunctionError struct {
	Function     string
	ErrorType    string
	ErrorMessage string
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("lambdaemu: function %s failed: %s: %s", e.Function, e.ErrorType, e.ErrorMessage)
}

// Service runs functions locally. Its methods are safe for concurrent use.
type Service struct {
	logs *logSink
	fns  map[string]*function

	mu       sync.Mutex // guards isClosed and calls to inflight.Add
	isClosed bool
	closed   chan struct{}
	inflight sync.WaitGroup // invocation goroutines

	closeOnce sync.Once
}

// New validates the configuration and returns a Service. No process is
// started until a function is first invoked.
func New(fns []FunctionConfig, opts Options) (*Service, error) {
	if opts.Logs == nil {
		opts.Logs = os.Stderr
	}
	if opts.Region == "" {
		opts.Region = defaultRegion
	}
	s := &Service{
		logs:   &logSink{w: opts.Logs},
		fns:    make(map[string]*function, len(fns)),
		closed: make(chan struct{}),
	}
	for _, cfg := range fns {
		if cfg.Name == "" {
			return nil, errors.New("lambdaemu: function with empty Name")
		}
		if _, dup := s.fns[cfg.Name]; dup {
			return nil, fmt.Errorf("lambdaemu: duplicate function %q", cfg.Name)
		}
		if cfg.Binary == "" {
			return nil, fmt.Errorf("lambdaemu: function %q: empty Binary", cfg.Name)
		}
		bin, err := filepath.Abs(cfg.Binary)
		if err != nil {
			return nil, fmt.Errorf("lambdaemu: function %q: %w", cfg.Name, err)
		}
		if fi, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("lambdaemu: function %q: %w", cfg.Name, err)
		} else if fi.IsDir() {
			return nil, fmt.Errorf("lambdaemu: function %q: Binary %s is a directory", cfg.Name, bin)
		}
		cfg.Binary = bin
		switch {
		case cfg.Timeout < 0, cfg.MemoryMB < 0, cfg.MaxConcurrency < 0:
			return nil, fmt.Errorf("lambdaemu: function %q: negative Timeout, MemoryMB or MaxConcurrency", cfg.Name)
		}
		if cfg.Timeout == 0 {
			cfg.Timeout = defaultTimeout
		}
		if cfg.MemoryMB == 0 {
			cfg.MemoryMB = defaultMemoryMB
		}
		if cfg.MaxConcurrency == 0 {
			cfg.MaxConcurrency = defaultMaxConcurrency
		}
		cfg.Env = maps.Clone(cfg.Env)
		s.fns[cfg.Name] = &function{
			svc:    s,
			cfg:    cfg,
			region: opts.Region,
			arn:    fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", opts.Region, accountID, cfg.Name),
			tokens: make(chan struct{}, cfg.MaxConcurrency),
			live:   make(map[*instance]struct{}),
		}
	}
	return s, nil
}

// Invoke runs the named function synchronously with payload as its event
// and returns the function's response payload (RequestResponse invocation).
//
// When every instance is busy and MaxConcurrency is reached, Invoke waits for
// one to become idle, or for ctx to be done. If ctx is done after the event
// has been handed to the function, Invoke returns ctx.Err() at once while the
// function carries on, as it would in Lambda; the instance is reused when it
// finishes.
func (s *Service) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	fn, ok := s.fns[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	if len(payload) > maxRequestBytes {
		return nil, fmt.Errorf("%w (got %d bytes)", ErrPayloadTooLarge, len(payload))
	}
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}

	// A token is one instance's worth of capacity.
	select {
	case fn.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, ErrClosed
	}
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		<-fn.tokens
		return nil, ErrClosed
	}
	s.inflight.Add(1)
	s.mu.Unlock()

	inv := newInvocation(bytes.Clone(payload))
	go func() {
		defer s.inflight.Done()
		defer func() { <-fn.tokens }()
		fn.run(ctx, inv)
	}()

	select {
	case <-inv.done:
	case <-ctx.Done():
		select {
		case <-inv.done:
		default:
			return nil, ctx.Err()
		}
	}
	return inv.out, inv.err
}

// PIDs lists the processes running a function now, e.g. for a benchmark to
// read their memory.
func (s *Service) PIDs(name string) []int {
	fn, ok := s.fns[name]
	if !ok {
		return nil
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	var pids []int
	for in := range fn.live {
		pids = append(pids, in.proc.Pid())
	}
	return pids
}

// Close stops every function process (SIGTERM, then SIGKILL after 2 s) and
// shuts the runtime API servers down. Pending and later invocations fail
// with ErrClosed. Close is safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.isClosed = true
		close(s.closed)
		s.mu.Unlock()

		var insts []*instance
		for _, name := range slices.Sorted(maps.Keys(s.fns)) {
			insts = append(insts, s.fns[name].shutdown()...)
		}
		var wg sync.WaitGroup
		for _, in := range insts {
			wg.Go(func() { in.stop(stopGrace) })
		}
		wg.Wait()
		s.inflight.Wait()
	})
	return nil
}

// function is the per-function pool of instances.
type function struct {
	svc    *Service
	cfg    FunctionConfig
	region string
	arn    string
	tokens chan struct{} // capacity MaxConcurrency; held while an instance is in use

	mu     sync.Mutex
	idle   []*instance // warm instances, most recently used last
	live   map[*instance]struct{}
	closed bool
	seq    int

	stats statsRecorder
}

// acquire returns a warm instance, or starts a new one (fresh == true).
// The caller must hold a token.
func (fn *function) acquire() (in *instance, fresh bool, err error) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.closed {
		return nil, false, ErrClosed
	}
	if n := len(fn.idle); n > 0 {
		in = fn.idle[n-1]
		fn.idle = fn.idle[:n-1]
		return in, false, nil
	}
	fn.seq++
	in, err = startInstance(fn, fn.seq)
	if err != nil {
		return nil, false, err
	}
	fn.live[in] = struct{}{}
	return in, true, nil
}

// release puts a still-running instance back into the warm pool.
func (fn *function) release(in *instance) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.closed || in.dead {
		return
	}
	fn.idle = append(fn.idle, in)
}

// forget removes an instance whose process has exited.
func (fn *function) forget(in *instance) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	in.dead = true
	delete(fn.live, in)
	if i := slices.Index(fn.idle, in); i >= 0 {
		fn.idle = slices.Delete(fn.idle, i, i+1)
	}
}

// shutdown marks the pool closed and returns every instance to stop.
func (fn *function) shutdown() []*instance {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	fn.closed = true
	fn.idle = nil
	return slices.Collect(maps.Keys(fn.live))
}

// run carries one invocation to completion and always finishes inv.
func (fn *function) run(ctx context.Context, inv *invocation) {
	for attempt := 1; ; attempt++ {
		in, fresh, err := fn.acquire()
		if err != nil {
			inv.finish(nil, err)
			return
		}
		// Hand the event over. The channel is unbuffered, so the event is
		// delivered exactly when the runtime's GET /next receives it.
		pickup := time.NewTimer(initTimeout)
		select {
		case in.events <- inv:
			pickup.Stop()
		case <-in.exited:
			pickup.Stop()
			if !fresh && attempt < maxDispatchAttempts {
				continue // a warm instance went away while idle: use another
			}
			inv.finish(nil, in.exitError(inv.id))
			return
		case <-in.initFailed:
			pickup.Stop()
			in.kill()
			<-in.exited
			inv.finish(nil, in.initErr)
			return
		case <-pickup.C:
			in.kill()
			<-in.exited
			inv.finish(nil, fn.errorf("Sandbox.Timedout",
				"RequestId: %s Error: runtime did not request an event within %s (init phase timed out)", inv.id, initTimeout))
			return
		case <-ctx.Done():
			pickup.Stop()
			fn.release(in)
			inv.finish(nil, ctx.Err())
			return
		case <-fn.svc.closed:
			pickup.Stop()
			inv.finish(nil, ErrClosed)
			return
		}
		fn.await(in, inv)
		return
	}
}

// await waits for the outcome of an invocation that the runtime has taken.
func (fn *function) await(in *instance, inv *invocation) {
	timeout := time.NewTimer(fn.cfg.Timeout)
	defer timeout.Stop()
	select {
	case res := <-inv.result:
		fn.release(in)
		inv.finishResult(res)
	case <-in.exited:
		// A handler that panics posts its error and then exits: prefer the
		// posted error if there is one.
		select {
		case res := <-inv.result:
			inv.finishResult(res)
		default:
			inv.finish(nil, in.exitError(inv.id))
		}
	case <-timeout.C:
		select {
		case res := <-inv.result:
			fn.release(in)
			inv.finishResult(res)
			return
		default:
		}
		in.kill()
		<-in.exited
		inv.finish(nil, fn.errorf("Sandbox.Timedout",
			"RequestId: %s Error: Task timed out after %.2f seconds", inv.id, fn.cfg.Timeout.Seconds()))
	case <-fn.svc.closed:
		inv.finish(nil, ErrClosed)
	}
}

func (fn *function) errorf(errorType, format string, args ...any) *FunctionError {
	return &FunctionError{Function: fn.cfg.Name, ErrorType: errorType, ErrorMessage: fmt.Sprintf(format, args...)}
}

// invocation is one event on its way through an instance.
type invocation struct {
	id      string
	traceID string
	payload []byte
	result  chan runtimeResult // written once by the runtime API handlers

	once sync.Once
	done chan struct{}
	out  []byte
	err  error
}

type runtimeResult struct {
	body []byte
	err  *FunctionError // nil on success
}

func newInvocation(payload []byte) *invocation {
	return &invocation{
		id:      hostos.UUID(),
		traceID: newTraceID(),
		payload: payload,
		result:  make(chan runtimeResult, 1),
		done:    make(chan struct{}),
	}
}

func (inv *invocation) finish(out []byte, err error) {
	inv.once.Do(func() {
		inv.out, inv.err = out, err
		close(inv.done)
	})
}

func (inv *invocation) finishResult(res runtimeResult) {
	if res.err != nil {
		inv.finish(nil, res.err)
		return
	}
	inv.finish(res.body, nil)
}
