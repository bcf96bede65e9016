// Package ddbtest gives tests a DynamoDB Local table shaped like
// template.yaml's: the shared one at $LIBACCOUNTS_TEST_DYNAMODB_ENDPOINT, or
// one this test process starts. It imports testing, so only tests import
// it: the dev stack's command and the functions never link it.
package ddbtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/libaccounts/libaccounts/internal/devstack/dynamodblocal"
	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// testEndpointEnv names a DynamoDB Local that tests use instead of starting
// their own (`make test` can start one for every package).
const testEndpointEnv = "LIBACCOUNTS_TEST_DYNAMODB_ENDPOINT"

// shared is the one DynamoDB Local of this test process.
var shared struct {
	once     sync.Once
	endpoint string
	err      error
}

func sharedEndpoint() (string, error) {
	shared.once.Do(func() {
		// Generous: the first run on a machine also downloads DynamoDB Local.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if ep := os.Getenv(testEndpointEnv); ep != "" {
			if err := dynamodblocal.Ping(ctx, ep); err != nil {
				shared.err = fmt.Errorf("%s=%s: %w", testEndpointEnv, ep, err)
				return
			}
			shared.endpoint = ep
			return
		}
		// Never stopped: a test binary has no hook after its last test, and
		// the JVM dies with this process anyway (see hostos.Start).
		srv, err := dynamodblocal.Start(ctx, dynamodblocal.Options{})
		if err != nil {
			shared.err = err
			return
		}
		shared.endpoint = srv.Endpoint
	})
	return shared.endpoint, shared.err
}

// inCI reports whether the CI environment variable is set to true.
func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Unavailable fails the test in CI and skips it elsewhere, for tests that
// cannot run without DynamoDB Local: on a developer machine without Java a
// skip is fine, in CI it would hide untested code.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("DynamoDB Local is required in CI: %v", err)
	}
	tb.Skipf("DynamoDB Local unavailable (CI=true makes this a failure): %v", err)
}

// TestClient returns a client for this test process's DynamoDB Local: the
// one at $LIBACCOUNTS_TEST_DYNAMODB_ENDPOINT, or else one started on first
// use and shared by every test in the process. When none can be had the
// test fails in CI (CI=true) and is skipped elsewhere.
func TestClient(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	endpoint, err := sharedEndpoint()
	if err != nil {
		Unavailable(tb, err)
	}
	c, err := dynamodblocal.NewClient(context.Background(), endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// tableTemplate is template.yaml, loaded once per process.
var tableTemplate struct {
	once sync.Once
	tpl  *samtemplate.Template
	err  error
}

func loadTableTemplate() (*samtemplate.Template, error) {
	tableTemplate.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			tableTemplate.err = err
			return
		}
		root, err := samtemplate.FindRepoRoot(wd)
		if err != nil {
			tableTemplate.err = err
			return
		}
		tableTemplate.tpl, tableTemplate.err = samtemplate.Load(filepath.Join(root, "template.yaml"))
	})
	return tableTemplate.tpl, tableTemplate.err
}

// TestTable creates a fresh table, with a name unique to this call, shaped
// like template.yaml's AccountsTable, and deletes it when the test ends.
func TestTable(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	c := TestClient(tb)
	tpl, err := loadTableTemplate()
	if err != nil {
		tb.Fatalf("load template.yaml: %v", err)
	}
	name := uniqueTableName(tb.Name())
	in, ttl, err := tpl.TableInput("AccountsTable", name)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamodblocal.EnsureTable(ctx, c, in, ttl); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var notFound *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &notFound) {
			tb.Errorf("delete test table %s: %v", name, err)
		}
	})
	return c, name
}

// uniqueTableName makes a valid table name from a test name plus random
// hex, unique across the test processes sharing one DynamoDB Local.
func uniqueTableName(testName string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return '-'
	}, testName)
	if len(clean) > 100 {
		clean = clean[:100]
	}
	return "t-" + clean + "-" + hostos.RandomHex(6)
}
