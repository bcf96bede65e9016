// Package stack runs the whole system on one machine: DynamoDB Local
// with the template's own table, every function of template.yaml compiled
// from its real main package and run behind a Lambda Runtime API, and an
// HTTP API gateway that serves the template's routes with its authorizer.
// Nothing here knows a route or a function by name: the template is the one
// list, so it cannot drift from what runs.
package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/httpapiemu"
	"github.com/libaccounts/libaccounts/internal/devstack/lambdaemu"
	"github.com/libaccounts/libaccounts/internal/devstack/sesemu"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// TableName is the local table's name; on AWS CloudFormation names it.
const TableName = "libaccounts"

// Config says where and how to run. Zero ports pick free ones.
type Config struct {
	RepoRoot      string // holds template.yaml and functions/; default: found from the working dir
	DataDir       string // default <repo>/.local
	Host          string // default 127.0.0.1
	APIPort       int
	DynamoPort    int
	S3Port        int
	InMemory      bool // keep DynamoDB data in memory (tests) instead of DataDir
	Tenant        string
	TenantName    string
	AdminUsername string
	AdminPassword string // empty: generated and reported once in Stack.GeneratedAdminPassword
	// AdminEmail is where the admin's mail goes: job notices, reset links.
	// It lands in the outbox like all mail. Default <admin>@<tenant>.example.
	AdminEmail string
	Logs       io.Writer
	// FunctionEnv is added to every function's environment (e.g. hashing
	// parameters for a fast test run).
	FunctionEnv map[string]string
	// Parameters override the template's parameter Defaults, as a deploy's
	// parameter overrides do (e.g. NoticeSendRate).
	Parameters map[string]string
	// SESMaxRate caps the local SES's accepted sends per second, answering
	// SES's Throttling error beyond it, as an SES account's maximum send
	// rate does. 0 is no limit.
	SESMaxRate float64
	// VisibilityCap shortens the template's queue visibility timeouts
	// (30 minutes for the chunk queue) so that work a killed stack left in
	// flight resumes soon after a restart; every consumer is idempotent, so
	// an early redelivery costs only time. Default 60s.
	VisibilityCap time.Duration
}

// Stack is a running local system.
type Stack struct {
	APIURL                 string
	DynamoEndpoint         string
	OutboxURL              string
	S3Endpoint             string
	Bucket                 string
	GeneratedAdminPassword string
	// AdminEmail is the demo admin's address (an admin created by an
	// earlier start keeps the one it was given then).
	AdminEmail string

	ddb      *dynamodblocal.Server
	ses      *sesemu.Server
	dataDir  string
	lambdas  *lambdaemu.Service
	pipe     *pipeline
	sched    *schedules
	listener net.Listener
	http     *http.Server
	done     chan struct{}
	log      *slog.Logger
}

// Info is what stack.json holds, for scripts and the staff CLI.
type Info struct {
	APIURL         string `json:"api_url"`
	S3Endpoint     string `json:"s3_endpoint"`
	Bucket         string `json:"bucket"`
	OutboxURL      string `json:"outbox_url"`
	DynamoEndpoint string `json:"dynamodb_endpoint"`
	Table          string `json:"table"`
	Tenant         string `json:"tenant"`
}

func (c *Config) defaults() error {
	if c.RepoRoot == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if c.RepoRoot, err = samtemplate.FindRepoRoot(wd); err != nil {
			return err
		}
	}
	if c.DataDir == "" {
		c.DataDir = filepath.Join(c.RepoRoot, ".local")
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Tenant == "" {
		c.Tenant = "demo"
	}
	if c.AdminUsername == "" {
		c.AdminUsername = "admin"
	}
	if c.AdminEmail == "" {
		// .example is reserved: nothing could be delivered there even if
		// a message left the machine.
		c.AdminEmail = c.AdminUsername + "@" + c.Tenant + ".example"
	}
	if c.Logs == nil {
		c.Logs = os.Stderr
	}
	if c.VisibilityCap <= 0 {
		c.VisibilityCap = time.Minute
	}
	return nil
}

// Start brings the stack up and returns once it serves requests.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("local stack config: %w", err)
	}
	st := &Stack{done: make(chan struct{}), dataDir: cfg.DataDir, log: slog.New(slog.NewTextHandler(cfg.Logs, nil)).With("component", "devstack")}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	tpl, err := samtemplate.LoadWithParameters(filepath.Join(cfg.RepoRoot, "template.yaml"), cfg.Parameters)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}

	// Compile while DynamoDB Local's JVM starts: both take seconds.
	binDir := filepath.Join(cfg.DataDir, "bin")
	built := make(chan error, 1)
	if prebuilt := os.Getenv(PrebuiltEnv); prebuilt != "" {
		// A test process built every function once (BuildFunctions) for
		// all the stacks it starts, its children's included: linking
		// each binary again per stack was most of the e2e suite's time.
		binDir = prebuilt
		built <- nil
	} else {
		go func() { built <- buildFunctions(ctx, cfg.RepoRoot, binDir, cfg.Logs) }()
	}

	opts := dynamodblocal.Options{Port: cfg.DynamoPort, Logs: io.Discard}
	if !cfg.InMemory {
		opts.DBPath = filepath.Join(cfg.DataDir, "dynamodb")
		if err := os.MkdirAll(opts.DBPath, 0o700); err != nil {
			return nil, err
		}
	}
	if st.ddb, err = dynamodblocal.Start(ctx, opts); err != nil {
		<-built
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	st.DynamoEndpoint = st.ddb.Endpoint
	client, err := dynamodblocal.NewClient(ctx, st.ddb.Endpoint)
	if err != nil {
		return nil, err
	}
	in, ttlAttr, err := tpl.TableInput("AccountsTable", TableName)
	if err != nil {
		return nil, err
	}
	if err := dynamodblocal.EnsureTable(ctx, client, in, ttlAttr); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	svc := accounts.NewService(accounts.Deps{Store: dynamostore.New(client, TableName), Hasher: passhash.New(passhash.DefaultParams()), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, accounts.Config{})
	boot, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: cfg.Tenant, TenantName: cfg.TenantName, AdminUsername: cfg.AdminUsername, AdminPassword: cfg.AdminPassword, AdminEmail: cfg.AdminEmail})
	if err != nil {
		return nil, fmt.Errorf("create tenant %s and admin %s: %w", cfg.Tenant, cfg.AdminUsername, err)
	}
	st.GeneratedAdminPassword, st.AdminEmail = boot.GeneratedPassword, cfg.AdminEmail
	if err := <-built; err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.APIPort)))
	if err != nil {
		return nil, fmt.Errorf("listen for the API: %w", err)
	}
	st.APIURL = "http://" + ln.Addr().String()
	st.OutboxURL = st.APIURL + "/_local/mail"
	// Until Serve, connections wait in the listen queue; on an error path
	// Close shuts the listener.
	st.listener = ln
	outboxDir := filepath.Join(cfg.DataDir, "outbox")
	if st.pipe, err = startPipeline(tpl, cfg.DataDir, cfg.Host, cfg.S3Port, st.APIURL, cfg.VisibilityCap, st.log); err != nil {
		return nil, err
	}
	st.S3Endpoint, st.Bucket = st.pipe.s3URL, st.pipe.bucket

	fns, err := tpl.Functions(st.pipe.refs())
	if err != nil {
		return nil, err
	}
	lookup, err := lookupKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	configs := make([]lambdaemu.FunctionConfig, 0, len(fns))
	for _, f := range fns {
		env := map[string]string{}
		for k, v := range f.Env {
			env[k] = v
		}
		// What differs locally: the endpoints of the local services and the
		// page reset links open. Everything else is the template's.
		for k, v := range map[string]string{
			"AWS_ENDPOINT_URL_DYNAMODB": st.ddb.Endpoint,
			"AWS_ENDPOINT_URL_SES":      st.APIURL + "/_local/ses",
			"AWS_ACCESS_KEY_ID":         "local",
			"AWS_SECRET_ACCESS_KEY":     "local",
			"RESET_PAGE_URL":            st.APIURL + "/portal/reset",
			"LOOKUP_KEY":                lookup,
		} {
			env[k] = v
		}
		// The console PUTs uploads to the local S3, another origin.
		if _, ok := env["UPLOAD_ORIGIN"]; ok {
			env["UPLOAD_ORIGIN"] = st.S3Endpoint
		}
		// Only the functions the template lets send mail have a sender.
		if _, ok := env["MAIL_FROM"]; ok {
			env["MAIL_FROM"] = "no-reply@libaccounts.local"
		}
		for k, v := range st.pipe.env(st.APIURL) {
			env[k] = v
		}
		for k, v := range cfg.FunctionEnv {
			env[k] = v
		}
		configs = append(configs, lambdaemu.FunctionConfig{
			Name: f.LogicalID, Binary: filepath.Join(binDir, filepath.Base(f.Dir)), Env: env,
			Timeout: f.Timeout, MemoryMB: f.MemoryMB, MaxConcurrency: max(4, runtime.NumCPU(), st.pipe.concurrency(f.LogicalID)),
		})
	}
	if st.lambdas, err = lambdaemu.New(configs, lambdaemu.Options{Logs: cfg.Logs}); err != nil {
		return nil, err
	}
	auth, err := tpl.Authorizer()
	if err != nil {
		return nil, err
	}
	var routes []httpapiemu.Route
	for _, r := range tpl.Routes() {
		routes = append(routes, httpapiemu.Route{Method: r.Method, Path: r.Path, Function: r.Function, Authorized: r.Authorized})
	}
	gw, err := httpapiemu.New(routes, &httpapiemu.AuthorizerConfig{Function: auth.Function, IdentityHeader: auth.IdentityHeader, TTL: auth.TTL}, st.lambdas, httpapiemu.Options{Logger: st.log})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	box := sesemu.NewOutbox(outboxDir)
	mux.Handle("GET /_local/mail", box)
	mux.Handle("GET /_local/mail/{id}", box)
	// The SDK posts to the endpoint's path exactly as configured. A send
	// through one of the template's configuration sets publishes SES's
	// events to the set's topics, and so to their functions.
	sets, err := tpl.ConfigurationSets()
	if err != nil {
		return nil, err
	}
	destinations := map[string][]sesemu.Destination{}
	for _, set := range sets {
		destinations[set.Name] = []sesemu.Destination{}
		for _, d := range set.Destinations {
			if d.Enabled && d.Topic != "" {
				destinations[set.Name] = append(destinations[set.Name], sesemu.Destination{Topic: d.Topic, Events: d.Events})
			}
		}
	}
	ses := sesemu.NewServer(sesemu.Options{OutboxDir: outboxDir, ConfigurationSets: destinations, Publish: st.pipe.publish, MaxRate: cfg.SESMaxRate, AccountID: localAccountID})
	st.ses = ses
	mux.Handle("POST /_local/ses", ses)
	mux.Handle("POST /_local/ses/", ses)
	// Methods spelled out: a method-less pattern would conflict with
	// "POST /_local/ses/".
	for _, m := range []string{"GET", "POST", "DELETE"} {
		mux.Handle(m+" /_local/ses/faults", ses.FaultsHandler())
	}
	mux.Handle("GET /_local/ses/stats", ses.StatsHandler())
	mux.Handle("POST /_local/sqs", st.pipe.sqs)
	mux.Handle("POST /_local/sqs/", st.pipe.sqs)
	mux.Handle("/", gw)
	st.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	st.listener = nil // the server owns it now
	go func() {
		defer close(st.done)
		if err := st.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			st.log.Error("API server stopped", "error", err.Error())
		}
	}()

	if err := st.pipe.run(st.lambdas); err != nil {
		return nil, err
	}
	if st.sched, err = newSchedules(tpl, st.lambdas, clock.Real(), st.log); err != nil {
		return nil, err
	}
	st.sched.start()
	info := Info{APIURL: st.APIURL, S3Endpoint: st.S3Endpoint, Bucket: st.Bucket, OutboxURL: st.OutboxURL, DynamoEndpoint: st.DynamoEndpoint, Table: TableName, Tenant: cfg.Tenant}
	data, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "stack.json"), append(data, '\n'), 0o600); err != nil {
		return nil, err
	}
	return st, nil
}

// Close stops everything, DynamoDB Local included; it is safe to call twice.
func (st *Stack) Close() {
	if st.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = st.http.Shutdown(ctx)
		cancel()
		<-st.done
		st.http = nil
	}
	if st.listener != nil {
		_ = st.listener.Close() // Start failed before serving
		st.listener = nil
	}
	if st.sched != nil {
		st.sched.stop()
		st.sched = nil
	}
	if st.pipe != nil {
		st.pipe.close() // stops the pollers before the functions go
		st.pipe = nil
	}
	if st.lambdas != nil {
		_ = st.lambdas.Close()
		st.lambdas = nil
	}
	if st.ddb != nil {
		_ = st.ddb.Stop()
		st.ddb = nil
	}
}

// PrebuiltEnv names a directory of function binaries made by
// BuildFunctions; when it is set, Start runs those instead of building.
const PrebuiltEnv = "LIBACCOUNTS_STACK_PREBUILT"

// BuildFunctions compiles every function of the repository at root (found
// from the working directory when empty) into binDir, as Start would.
func BuildFunctions(ctx context.Context, root, binDir string) error {
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if root, err = samtemplate.FindRepoRoot(wd); err != nil {
			return err
		}
	}
	return buildFunctions(ctx, root, binDir, io.Discard)
}

// buildFunctions compiles every functions/* main for this machine with the
// deployment's build tags, so the local stack runs the deployed code.
func buildFunctions(ctx context.Context, root, binDir string, logs io.Writer) error {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", binDir+string(os.PathSeparator), "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build functions: %w\n%s", err, out.String())
	}
	return nil
}

// DataDir is where the stack keeps its data: outbox/, sqs/, s3/.
func (st *Stack) DataDir() string { return st.dataDir }

// SESStats returns what the local SES has answered so far.
func (st *Stack) SESStats() sesemu.Stats { return st.ses.Stats() }

// PIDs lists the processes running a function, for measurements.
func (st *Stack) PIDs(function string) []int { return st.lambdas.PIDs(function) }

// LambdaStats returns each function's invocations, their durations and its
// instances' init times so far, for the cost bench.
func (st *Stack) LambdaStats() map[string]lambdaemu.FunctionStats { return st.lambdas.Stats() }

// QueueStats counts the messages of a queue (its logical id in the
// template) that can be received now and those in flight: a test waits for
// a queue to drain, and a bench reports its backlog, without sleeping.
func (st *Stack) QueueStats(queue string) (visible, inFlight int, err error) {
	return st.pipe.sqs.Stats(queue)
}

// Invoke calls one function of the template directly, as Lambda would.
func (st *Stack) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	return st.lambdas.Invoke(ctx, function, payload)
}
