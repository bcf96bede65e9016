package dynamodblocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// How long Start waits for DynamoDB Local to answer, and how long Stop
// waits after SIGTERM before killing it.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
)

// Options configure a DynamoDB Local server.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// DBPath is the directory to keep the data in; "" keeps it in memory
	// only, gone when the server stops.
	DBPath string
	// Logs receives the JVM's output; nil discards it (the last few KiB are
	// still quoted in startup errors).
	Logs io.Writer
}

// Server is a running DynamoDB Local.
type Server struct {
	// Endpoint is the base URL for SDK clients, e.g. http://127.0.0.1:8000.
	Endpoint string

	proc     *hostos.Child
	logs     *tail
	stopOnce sync.Once
	stopErr  error
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port in use")

// Start runs DynamoDB Local (fetching it first if needed, see Ensure) and
// returns once it answers ListTables. ctx bounds only the start: the server
// runs until Stop, or until this process exits, which kills it too.
//
// Data is shared by every client whatever its credentials and region
// (-sharedDb): the functions of the local stack use their own. DynamoDB
// Local listens on all interfaces (it has no option to bind to loopback
// only); Endpoint uses 127.0.0.1.
func Start(ctx context.Context, opts Options) (*Server, error) {
	dir, err := Ensure(ctx)
	if err != nil {
		return nil, err
	}
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	dbPath := ""
	if opts.DBPath != "" {
		if dbPath, err = filepath.Abs(opts.DBPath); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dbPath, 0o700); err != nil {
			return nil, fmt.Errorf("dynamodblocal: %w", err)
		}
	}
	// A port picked free can be taken before the JVM binds it; try again
	// with another one.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	for i := 1; ; i++ {
		s, err := start(ctx, dir, java, dbPath, opts)
		if err == nil || i == attempts || !errors.Is(err, errPortInUse) {
			return s, err
		}
	}
}

func start(ctx context.Context, dir, java, dbPath string, opts Options) (*Server, error) {
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("dynamodblocal: pick a port: %w", err)
		}
	}
	args := []string{
		// Start-up time matters more than peak speed for an emulator used
		// by tests: C1-only JIT starts ~0.5 s sooner, and the serial GC
		// adds no threads on small machines.
		"-XX:TieredStopAtLevel=1",
		"-XX:+UseSerialGC",
		"-Djava.library.path=DynamoDBLocal_lib",
		"-jar", "DynamoDBLocal.jar",
		"-port", strconv.Itoa(port),
		"-disableTelemetry",
		"-sharedDb",
		// Its CORS default is "*", which would let any web page open in a
		// developer's browser read and write the local data.
		"-cors", "http://dynamodblocal.invalid",
	}
	if dbPath != "" {
		args = append(args, "-dbPath", dbPath)
	} else {
		args = append(args, "-inMemory")
	}
	logs := &tail{max: 16 << 10}
	var out io.Writer = logs
	if opts.Logs != nil {
		out = io.MultiWriter(logs, opts.Logs)
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	proc, err := hostos.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("dynamodblocal: start java: %w", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), proc: proc, logs: logs}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		if text := logs.String(); strings.Contains(text, "BindException") || strings.Contains(text, "Address already in use") {
			err = fmt.Errorf("%w (%w)", err, errPortInUse)
		}
		return nil, err
	}
	return s, nil
}

// waitReady polls ListTables until it answers, the JVM exits, or time is up.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client, err := newClient(s.Endpoint, 1)
	if err != nil {
		return err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, last = client.ListTables(attempt, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-s.proc.Done():
			return fmt.Errorf("dynamodblocal: DynamoDB Local exited while starting (%v):\n%s", s.proc.Err(), s.logs.String())
		case <-ctx.Done():
			return fmt.Errorf("dynamodblocal: DynamoDB Local did not answer at %s: %w (last: %v)\n%s", s.Endpoint, ctx.Err(), last, s.logs.String())
		case <-tick.C:
		}
	}
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited after a
// few seconds; it returns once the process is gone. Calling it again is a
// no-op.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		p := s.proc
		select {
		case <-p.Done():
			return // already exited
		default:
		}
		if err := p.Terminate(); err != nil {
			s.stopErr = fmt.Errorf("dynamodblocal: stop: %w", err)
		}
		select {
		case <-p.Done():
			return
		case <-time.After(stopTimeout):
		}
		if err := p.Kill(); err != nil {
			s.stopErr = fmt.Errorf("dynamodblocal: kill: %w", err)
		}
		<-p.Done()
	})
	return s.stopErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ping checks that a DynamoDB endpoint answers ListTables, trying once.
func Ping(ctx context.Context, endpoint string) error {
	c, err := newClient(endpoint, 1)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		return fmt.Errorf("dynamodblocal: %s does not answer: %w", endpoint, err)
	}
	return nil
}

// NewClient returns a DynamoDB client for a DynamoDB Local endpoint, with
// dummy static credentials and region us-east-1. It reads no AWS
// configuration from the environment or ~/.aws, so a developer's real
// profile can neither break nor be used by it. ctx is unused; it is there
// for symmetry with the SDK's config loading.
func NewClient(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	return newClient(endpoint, 0)
}

// newClient is NewClient with a retry budget (0 = the SDK's default).
func newClient(endpoint string, maxAttempts int) (*dynamodb.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dynamodblocal: endpoint %q is not an http(s) URL", endpoint)
	}
	cfg := aws.Config{
		Region: "us-east-1",
		// DynamoDB Local wants letters and digits only.
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		if maxAttempts > 0 {
			o.RetryMaxAttempts = maxAttempts
		}
	}), nil
}

// EnsureTable creates the table described by in unless it exists, waits
// until it is ACTIVE, and enables TTL on ttlAttr (unless ""). It is
// idempotent, so it can run on every start against persisted data; an
// existing table whose keys or indexes differ from in is an error rather
// than silently used.
func EnsureTable(ctx context.Context, c *dynamodb.Client, in *dynamodb.CreateTableInput, ttlAttr string) error {
	name := aws.ToString(in.TableName)
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		if _, err := c.CreateTable(ctx, in); err != nil {
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) { // lost a race with another creator: fine
				return fmt.Errorf("dynamodblocal: create table %s: %w", name, err)
			}
		}
	case err != nil:
		return fmt.Errorf("dynamodblocal: describe table %s: %w", name, err)
	default:
		if err := sameShape(desc.Table, in); err != nil {
			return fmt.Errorf("dynamodblocal: table %s exists but %w; delete it (or the DynamoDB Local data) to recreate it", name, err)
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, startTimeout); err != nil {
		return fmt.Errorf("dynamodblocal: table %s did not become ACTIVE: %w", name, err)
	}
	if ttlAttr == "" {
		return nil
	}
	ttl, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: in.TableName})
	if err != nil {
		return fmt.Errorf("dynamodblocal: describe TTL of %s: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == ttlAttr &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               in.TableName,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttlAttr), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamodblocal: enable TTL on %s.%s: %w", name, ttlAttr, err)
	}
	return nil
}

// sameShape compares an existing table's keys and global secondary indexes
// with a CreateTable request.
func sameShape(t *types.TableDescription, in *dynamodb.CreateTableInput) error {
	if t == nil {
		return errors.New("has no description")
	}
	if got, want := keyString(t.KeySchema), keyString(in.KeySchema); got != want {
		return fmt.Errorf("has key schema %s, want %s", got, want)
	}
	have := map[string]string{}
	for _, g := range t.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = keyString(g.KeySchema)
	}
	for _, g := range in.GlobalSecondaryIndexes {
		name := aws.ToString(g.IndexName)
		got, ok := have[name]
		if !ok {
			return fmt.Errorf("lacks index %s", name)
		}
		if want := keyString(g.KeySchema); got != want {
			return fmt.Errorf("has index %s with keys %s, want %s", name, got, want)
		}
	}
	return nil
}

func keyString(ks []types.KeySchemaElement) string {
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.buf.String())
}
