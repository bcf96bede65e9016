package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/devstack/ddbtest"
	"github.com/libaccounts/libaccounts/internal/devstack/httpapiemu"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
	"github.com/libaccounts/libaccounts/internal/webui"
)

// realAPI is the real API over HTTP: template.yaml's routes and authorizer
// in the local HTTP API gateway, each route invoking, in this process, the
// apigw handler its function's main starts, over a DynamoDB Local table.
// Only the Lambda processes are left out.
type realAPI struct {
	URL   string
	store *dynamostore.Store
	svc   *accounts.Service
	jobs  *jobTasks // the job queue; the test plays its worker
}

const realAdminPassword = "correct horse battery staple"

// handlerOf finds the handler a function's main starts, e.g. "ListAudit" in
// lambdamain.API(func(a *apigw.API) any { return a.ListAudit }).
var handlerOf = regexp.MustCompile(`return a\.([A-Za-z]+)\b`)

// inProcess invokes functions as Lambda would, with JSON in and out.
type inProcess map[string]lambda.Handler

func (p inProcess) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	h, ok := p[function]
	if !ok {
		return nil, fmt.Errorf("no function %s", function)
	}
	return h.Invoke(ctx, payload)
}

func newRealAPI(tb testing.TB) *realAPI {
	tb.Helper()
	client, table := ddbtest.TestTable(tb)
	store := dynamostore.New(client, table)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	jobs := &jobTasks{}
	svc := accounts.NewService(accounts.Deps{
		Store: store, Logger: log, Jobs: jobs,
		// Real argon2id, at a cost that keeps the tests quick.
		Hasher: passhash.New(passhash.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
	}, accounts.Config{})
	if _, err := svc.Bootstrap(context.Background(), accounts.BootstrapInput{TenantID: "demo", TenantName: "Demo library", AdminUsername: "admin", AdminPassword: realAdminPassword}); err != nil {
		tb.Fatal(err)
	}
	api := apigw.New(svc, log)

	wd, _ := os.Getwd()
	root, err := samtemplate.FindRepoRoot(wd)
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	auth, err := tpl.Authorizer()
	if err != nil {
		tb.Fatal(err)
	}
	fns := inProcess{}
	bind := func(function string) {
		if _, ok := fns[function]; ok {
			return
		}
		dir, err := samtemplate.DirForLogicalID(function)
		if err != nil {
			tb.Fatal(err)
		}
		main, err := os.ReadFile(filepath.Join(root, dir, "main.go"))
		if err != nil {
			tb.Fatal(err)
		}
		if strings.Contains(string(main), "lambdamain.Web()") {
			fns[function] = lambda.NewHandler(webui.New("").Handle)
			return
		}
		m := handlerOf.FindSubmatch(main)
		if m == nil {
			tb.Fatalf("%s/main.go starts no apigw handler", dir)
		}
		method := reflect.ValueOf(api).MethodByName(string(m[1]))
		if !method.IsValid() {
			tb.Fatalf("%s/main.go starts apigw.API.%s, which does not exist", dir, m[1])
		}
		fns[function] = lambda.NewHandler(method.Interface())
	}
	bind(auth.Function)
	var routes []httpapiemu.Route
	for _, r := range tpl.Routes() {
		bind(r.Function)
		routes = append(routes, httpapiemu.Route{Method: r.Method, Path: r.Path, Function: r.Function, Authorized: r.Authorized})
	}
	gw, err := httpapiemu.New(routes, &httpapiemu.AuthorizerConfig{Function: auth.Function, IdentityHeader: auth.IdentityHeader}, fns, httpapiemu.Options{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	tb.Cleanup(srv.Close)
	return &realAPI{URL: srv.URL, store: store, svc: svc, jobs: jobs}
}

// newStaffHarness is a harness signed in as demo/admin to the real API.
func newStaffHarness(tb testing.TB) (*harness, *realAPI) {
	tb.Helper()
	h := newHarness(tb)
	api := newRealAPI(tb)
	r := h.run(realAdminPassword+"\n", "login", "--api", api.URL, "--tenant", "demo", "--username", "admin")
	if r.code != 0 {
		tb.Fatalf("login: exit %d:\n%s", r.code, r.all())
	}
	return h, api
}

// must runs a command that has to succeed and returns its standard output.
func (h *harness) must(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("%v: exit %d:\n%s", args, r.code, r.all())
	}
	return r.stdout
}
