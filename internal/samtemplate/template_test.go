package samtemplate_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"gopkg.in/yaml.v3"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// These tests check the real template.yaml: it is the deployment, and the
// local stack and DynamoDB tests are built from it, so a mistake here would
// go unnoticed until deploy time.

// repoRoot returns the repository root, found from the test's working
// directory (the package directory) the same way the tools find it.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	root, err := samtemplate.FindRepoRoot(wd)
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// loadTemplate loads template.yaml from the repository root.
func loadTemplate(tb testing.TB) *samtemplate.Template {
	tb.Helper()
	tpl, err := samtemplate.Load(filepath.Join(repoRoot(tb), "template.yaml"))
	if err != nil {
		tb.Fatalf("Load(template.yaml): %v", err)
	}
	return tpl
}

// localRefs are the local stand-ins for the template's resource references,
// as the local stack passes them.
var localRefs = map[string]string{"AccountsTable": "libaccounts", "ChunkQueue": localQueueURL,
	"NoticeQueue": localNoticeQueueURL, "JobQueue": localJobQueueURL, "NoticeConfigurationSet": localConfigurationSet,
	"RecoveryQueue": localRecoveryQueueURL, "LookupKeySecret": localLookupSecret, "ImportsBucket": "libaccounts-imports"}

const (
	localQueueURL         = "http://127.0.0.1:9324/000000000000/libaccounts-chunks"
	localNoticeQueueURL   = "http://127.0.0.1:9324/000000000000/libaccounts-notices"
	localJobQueueURL      = "http://127.0.0.1:9324/000000000000/libaccounts-jobs"
	localConfigurationSet = "libaccounts-local-notices"
	localRecoveryQueueURL = "http://127.0.0.1:9324/000000000000/libaccounts-recovery"
	localLookupSecret     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:libaccounts-lookup"
)

func functionsByDir(tb testing.TB, tpl *samtemplate.Template) map[string]samtemplate.Function {
	tb.Helper()
	fns, err := tpl.Functions(localRefs)
	if err != nil {
		tb.Fatalf("Functions: %v", err)
	}
	out := map[string]samtemplate.Function{}
	for _, f := range fns {
		out[f.Dir] = f
	}
	return out
}

// wantFunction is the brief each function must meet; the table is the
// reviewed least-privilege design, so any change to a function's access
// shows up as a diff here.
type wantFunction struct {
	dir        string
	method     string // "" for the authorizer and the triggered functions, which have no route
	path       string
	authorized bool
	trigger    string // "s3", "sqs", "sns" or "schedule" for a function an event source invokes
	memoryMB   int
	actions    []string
	index      string   // the index ARN granted: "" none, "*" every index, or one index's name
	ses        bool     // sends mail: ses:SendRawEmail on the one identity and the notices' configuration set
	s3         []string // "<Action> <prefix>": s3:<Action> on the import bucket's <prefix>* only
	pages      bool     // the web function: its routes are pageRoutes
	sqsSend    []string // the queues it may sqs:SendMessage to (ChunkQueue, NoticeQueue, JobQueue)
	env        []string // the service variables it reads (serviceVars)
	timeoutSec int      // 0: the Globals' 10 s
}

// noticeVars is what a function that raises notices is told.
var noticeVars = []string{"NOTICE_QUEUE_URL"}

// pageRoutes are the web function's: the pages are public, what they show
// comes from the API behind the authorizer.
var pageRoutes = []string{"GET /", "GET /console", "GET /console/{proxy+}", "GET /portal", "GET /portal/{proxy+}"}

var wantFunctions = []wantFunction{
	{dir: "functions/web", memoryMB: 128, pages: true},
	{dir: "functions/authorizer", memoryMB: 256,
		actions: []string{"BatchGetItem", "UpdateItem"}},
	{dir: "functions/auth-login", method: "POST", path: "/v1/auth/login", memoryMB: 1024,
		actions: []string{"GetItem", "PutItem", "UpdateItem"}},
	{dir: "functions/auth-logout", method: "POST", path: "/v1/auth/logout", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "DeleteItem"}},
	{dir: "functions/me", method: "GET", path: "/v1/me", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/me-password", method: "POST", path: "/v1/me/password", authorized: true, memoryMB: 1024,
		actions: []string{"BatchGetItem", "GetItem", "UpdateItem", "Query", "DeleteItem", "BatchWriteItem"}},
	{dir: "functions/admin-users-create", method: "POST", path: "/v1/admin/users", authorized: true, memoryMB: 1024,
		actions: []string{"BatchGetItem", "GetItem", "PutItem", "ConditionCheckItem", "TransactWriteItems"}},
	{dir: "functions/admin-users-list", method: "GET", path: "/v1/admin/users", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}, index: "*"},
	{dir: "functions/admin-users-get", method: "GET", path: "/v1/admin/users/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/admin-users-update", method: "PATCH", path: "/v1/admin/users/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"}},
	{dir: "functions/admin-users-password", method: "POST", path: "/v1/admin/users/{id}/password", authorized: true, memoryMB: 1024,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem", "Query", "BatchWriteItem"},
		sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	// Self-service recovery: the public handlers count and queue (no
	// read at all); the worker resolves and raises the notice.
	{dir: "functions/auth-forgot-password", method: "POST", path: "/v1/auth/forgot-password", memoryMB: 256,
		actions: []string{"UpdateItem", "PutItem"}, sqsSend: []string{"RecoveryQueue"}, env: []string{"RECOVERY_QUEUE_URL"}},
	{dir: "functions/auth-forgot-username", method: "POST", path: "/v1/auth/forgot-username", memoryMB: 256,
		actions: []string{"UpdateItem", "PutItem"}, sqsSend: []string{"RecoveryQueue"}, env: []string{"RECOVERY_QUEUE_URL"}},
	{dir: "functions/recovery-worker", trigger: "sqs", memoryMB: 256, index: "gsi2",
		actions: []string{"GetItem", "Query", "TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"},
		sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	{dir: "functions/auth-password-reset", method: "POST", path: "/v1/auth/password-reset", memoryMB: 1024,
		actions: []string{"GetItem", "TransactWriteItems", "DeleteItem", "UpdateItem", "PutItem", "Query", "BatchWriteItem"},
		sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	{dir: "functions/admin-users-deactivate", method: "POST", path: "/v1/admin/users/{id}/deactivate", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem", "Query", "BatchWriteItem"}},
	{dir: "functions/admin-users-reactivate", method: "POST", path: "/v1/admin/users/{id}/reactivate", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem"}},
	{dir: "functions/admin-users-unlock", method: "POST", path: "/v1/admin/users/{id}/unlock", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem"}},
	{dir: "functions/admin-users-delete", method: "DELETE", path: "/v1/admin/users/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "DeleteItem", "UpdateItem", "PutItem", "Query", "BatchWriteItem"}},
	{dir: "functions/admin-users-bulk", method: "POST", path: "/v1/admin/users:bulk", authorized: true, memoryMB: 256, timeoutSec: 29,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "DeleteItem", "UpdateItem", "PutItem", "Query", "BatchWriteItem"}},
	{dir: "functions/admin-usernames-suggest", method: "POST", path: "/v1/admin/usernames:suggest", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/admin-settings-get", method: "GET", path: "/v1/admin/settings", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/admin-settings-update", method: "PATCH", path: "/v1/admin/settings", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem"}},
	{dir: "functions/admin-audit-list", method: "GET", path: "/v1/admin/audit", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}, index: "*"},

	// Letters (in the tenant's partition) and a user's notices (in the
	// user's partition, read with Query).
	{dir: "functions/admin-letters-list", method: "GET", path: "/v1/admin/letters", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}},
	{dir: "functions/admin-letters-get", method: "GET", path: "/v1/admin/letters/{kind}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/admin-letters-update", method: "PUT", path: "/v1/admin/letters/{kind}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem", "TransactWriteItems"}},
	{dir: "functions/admin-letters-preview", method: "POST", path: "/v1/admin/letters/{kind}/preview", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/admin-users-notices", method: "GET", path: "/v1/admin/users/{id}/notices", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},

	// The import pipeline.
	{dir: "functions/admin-imports-create", method: "POST", path: "/v1/admin/imports", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem"}, s3: []string{"PutObject imports/"}, env: []string{"IMPORT_BUCKET"}},
	{dir: "functions/admin-imports-list", method: "GET", path: "/v1/admin/imports", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}, index: "gsi1"},
	{dir: "functions/admin-imports-get", method: "GET", path: "/v1/admin/imports/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem"}},
	{dir: "functions/admin-imports-report", method: "GET", path: "/v1/admin/imports/{id}/report", authorized: true, memoryMB: 512, timeoutSec: 29,
		actions: []string{"BatchGetItem", "GetItem", "Query"}, s3: []string{"PutObject reports/", "GetObject reports/"}, env: []string{"IMPORT_BUCKET"}},
	{dir: "functions/admin-imports-cancel", method: "POST", path: "/v1/admin/imports/{id}/cancel", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "UpdateItem", "PutItem"}, s3: []string{"DeleteObject imports/", "DeleteObjectVersion imports/"},
		sqsSend: []string{"NoticeQueue"}, env: []string{"IMPORT_BUCKET", "NOTICE_QUEUE_URL"}},
	{dir: "functions/admin-sets-list", method: "GET", path: "/v1/admin/sets", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}, index: "gsi1"},
	{dir: "functions/admin-sets-get", method: "GET", path: "/v1/admin/sets/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/admin-sets-delete", method: "DELETE", path: "/v1/admin/sets/{id}", authorized: true, memoryMB: 256, timeoutSec: 29,
		actions: []string{"BatchGetItem", "GetItem", "DeleteItem", "Query", "BatchWriteItem"}},
	{dir: "functions/imports-ingest", trigger: "s3", memoryMB: 1024, timeoutSec: 300,
		actions: []string{"GetItem", "PutItem", "UpdateItem"}, s3: []string{"GetObject imports/", "GetObjectVersion imports/", "DeleteObject imports/", "DeleteObjectVersion imports/"},
		sqsSend: []string{"ChunkQueue", "NoticeQueue"}, env: []string{"IMPORT_BUCKET", "CHUNK_QUEUE_URL", "ROWS_PER_CHUNK", "NOTICE_QUEUE_URL"}},
	{dir: "functions/imports-worker", trigger: "sqs", memoryMB: 3538, timeoutSec: 300,
		actions: []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "TransactWriteItems", "Query", "BatchWriteItem"},
		s3:      []string{"GetObject imports/", "GetObjectVersion imports/", "DeleteObject imports/", "DeleteObjectVersion imports/"}, sqsSend: []string{"NoticeQueue"}, env: []string{"IMPORT_BUCKET", "NOTICE_QUEUE_URL"}},

	// The notice pipeline: the worker alone mails (and hashes a temporary
	// password, hence the memory); ses-events records what SES reports.
	{dir: "functions/notices-worker", trigger: "sqs", memoryMB: 1024, timeoutSec: 60,
		actions: []string{"GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "TransactWriteItems", "Query", "BatchWriteItem"},
		ses:     true, sqsSend: []string{"NoticeQueue"},
		env: []string{"MAIL_FROM", "NOTICE_QUEUE_URL", "NOTICE_SEND_RATE", "NOTICE_WORKER_CONCURRENCY", "SES_CONFIGURATION_SET", "SIGN_IN_URL"}},
	{dir: "functions/ses-events", trigger: "sns", memoryMB: 256,
		actions: []string{"GetItem", "PutItem", "UpdateItem"}},

	// The task centre: every kind of job; resets fan out on JobQueue, and
	// the sweep and the dead-letter consumer end jobs that cannot.
	{dir: "functions/admin-password-resets-create", method: "POST", path: "/v1/admin/password-resets", authorized: true, memoryMB: 1024,
		actions: []string{"BatchGetItem", "GetItem", "PutItem"}, sqsSend: []string{"JobQueue", "NoticeQueue"}, env: []string{"JOB_QUEUE_URL", "NOTICE_QUEUE_URL"}},
	{dir: "functions/admin-jobs-list", method: "GET", path: "/v1/admin/jobs", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}, index: "gsi1"},
	{dir: "functions/admin-jobs-get", method: "GET", path: "/v1/admin/jobs/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/admin-jobs-report", method: "GET", path: "/v1/admin/jobs/{id}/report", authorized: true, memoryMB: 512, timeoutSec: 29,
		actions: []string{"BatchGetItem", "GetItem", "Query"}, s3: []string{"PutObject reports/", "GetObject reports/"}, env: []string{"IMPORT_BUCKET"}},
	{dir: "functions/admin-jobs-cancel", method: "POST", path: "/v1/admin/jobs/{id}/cancel", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "UpdateItem", "PutItem"}, s3: []string{"DeleteObject imports/", "DeleteObjectVersion imports/"},
		sqsSend: []string{"NoticeQueue"}, env: []string{"IMPORT_BUCKET", "NOTICE_QUEUE_URL"}},
	{dir: "functions/jobs-worker", trigger: "sqs", memoryMB: 512, timeoutSec: 120, index: "gsi1",
		actions: []string{"GetItem", "PutItem", "UpdateItem", "TransactWriteItems", "Query", "BatchWriteItem"},
		sqsSend: []string{"JobQueue", "NoticeQueue"}, env: []string{"JOB_QUEUE_URL", "NOTICE_QUEUE_URL"}},
	{dir: "functions/jobs-sweep", trigger: "schedule", memoryMB: 256, timeoutSec: 60, index: "gsi2",
		actions: []string{"GetItem", "Query", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem"}, s3: []string{"DeleteObject imports/", "DeleteObjectVersion imports/"},
		sqsSend: []string{"NoticeQueue"}, env: []string{"IMPORT_BUCKET", "JOB_STALL_TIMEOUT", "NOTICE_QUEUE_URL"}},
	{dir: "functions/jobs-dead-letters", trigger: "sqs", memoryMB: 256, timeoutSec: 60,
		actions: []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "Query", "BatchWriteItem"},
		s3:      []string{"DeleteObject imports/", "DeleteObjectVersion imports/"}, sqsSend: []string{"NoticeQueue"}, env: []string{"IMPORT_BUCKET", "NOTICE_QUEUE_URL"}},
	// Linked accounts and the circulation they manage (issue 11).
	{dir: "functions/me-share-phrases-create", method: "POST", path: "/v1/me/share-phrases", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query", "PutItem", "TransactWriteItems"}},
	{dir: "functions/me-share-phrases-list", method: "GET", path: "/v1/me/share-phrases", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}},
	{dir: "functions/me-share-phrases-delete", method: "DELETE", path: "/v1/me/share-phrases/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "DeleteItem", "PutItem", "TransactWriteItems"}},
	{dir: "functions/me-links-create", method: "POST", path: "/v1/me/links", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "ConditionCheckItem", "TransactWriteItems"}, sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	{dir: "functions/me-links-list", method: "GET", path: "/v1/me/links", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/me-links-confirm", method: "POST", path: "/v1/me/links/{id}/confirm", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query", "UpdateItem", "PutItem", "TransactWriteItems"}, sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	{dir: "functions/me-links-delete", method: "DELETE", path: "/v1/me/links/{id}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query", "DeleteItem", "PutItem", "TransactWriteItems"}, sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	{dir: "functions/me-activity", method: "GET", path: "/v1/me/activity", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "Query"}},
	{dir: "functions/admin-users-links-list", method: "GET", path: "/v1/admin/users/{id}/links", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/admin-users-links-delete", method: "DELETE", path: "/v1/admin/users/{id}/links/{linkId}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query", "DeleteItem", "PutItem", "TransactWriteItems"}, sqsSend: []string{"NoticeQueue"}, env: noticeVars},
	{dir: "functions/admin-users-checkouts-list", method: "GET", path: "/v1/admin/users/{id}/checkouts", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/admin-users-checkouts-create", method: "POST", path: "/v1/admin/users/{id}/checkouts", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem", "ConditionCheckItem", "TransactWriteItems"}},
	{dir: "functions/admin-users-holds-list", method: "GET", path: "/v1/admin/users/{id}/holds", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/admin-users-holds-create", method: "POST", path: "/v1/admin/users/{id}/holds", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem", "ConditionCheckItem", "TransactWriteItems"}},
	{dir: "functions/patrons-checkouts-list", method: "GET", path: "/v1/patrons/{id}/checkouts", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/patrons-checkouts-renew", method: "POST", path: "/v1/patrons/{id}/checkouts/{loanId}/renew", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem"}},
	{dir: "functions/patrons-holds-list", method: "GET", path: "/v1/patrons/{id}/holds", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "Query"}},
	{dir: "functions/patrons-holds-create", method: "POST", path: "/v1/patrons/{id}/holds", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem", "ConditionCheckItem", "TransactWriteItems"}},
	{dir: "functions/patrons-holds-delete", method: "DELETE", path: "/v1/patrons/{id}/holds/{holdId}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "DeleteItem", "PutItem"}},
	{dir: "functions/patrons-holds-update", method: "PATCH", path: "/v1/patrons/{id}/holds/{holdId}", authorized: true, memoryMB: 256,
		actions: []string{"BatchGetItem", "GetItem", "PutItem"}},
}

func TestAuthenticatedFunctionsResolveCaller(t *testing.T) {
	// Every function that checks a session token (the authorizer and every
	// authorized route) reads session and user with a strongly consistent
	// BatchGetItem; the public routes have no session to read.
	for _, w := range wantFunctions {
		isAuthorizer := w.method == "" && w.trigger == "" && !w.pages
		if (w.authorized || isAuthorizer) != slices.Contains(w.actions, "BatchGetItem") {
			t.Errorf("%s: authorized=%v but BatchGetItem granted=%v", w.dir, w.authorized, slices.Contains(w.actions, "BatchGetItem"))
		}
	}
}

func TestGlobals(t *testing.T) {
	// Every function is a Go "bootstrap" binary on the OS-only arm64 runtime;
	// one function deviating would fail only at invoke time.
	g, ok := samtemplate.CFN(loadTemplate(t)).Globals["Function"].(*global.Function)
	if !ok {
		t.Fatal("template has no Globals.Function")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Runtime", deref(g.Runtime), "provided.al2023"},
		{"Handler", deref(g.Handler), "bootstrap"},
		{"Architectures", derefSlice(g.Architectures), []string{"arm64"}},
		{"Tracing", deref(g.Tracing), "Active"},
		{"Timeout", deref(g.Timeout), 10},
		{"MemorySize", deref(g.MemorySize), 256},
	}
	for _, c := range checks {
		if !jsonEqual(c.got, c.want) {
			t.Errorf("Globals.Function.%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestFunctionEnvironment(t *testing.T) {
	// The functions read their configuration from these variables; parameter
	// Defaults are what a local run and a default deploy get.
	fns, err := loadTemplate(t).Functions(localRefs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"TABLE_NAME":           "libaccounts",
		"LOG_LEVEL":            "INFO",
		"SESSION_ABSOLUTE_TTL": "12h",
		"SESSION_IDLE_TTL":     "30m",
		"ARGON2_MEMORY_KIB":    "19456",
		"ARGON2_TIME":          "2",
		"ARGON2_THREADS":       "1",
		"RESET_PAGE_URL":       "https://accounts.example.org/portal/reset",
	}
	timeouts := map[string]time.Duration{}
	routed := map[string]bool{}
	for _, w := range wantFunctions {
		if w.timeoutSec != 0 {
			timeouts[w.dir] = time.Duration(w.timeoutSec) * time.Second
		}
		routed[w.dir] = w.method != ""
	}
	for _, f := range fns {
		for k, v := range want {
			if f.Env[k] != v {
				t.Errorf("%s: Env[%s] = %q, want %q", f.LogicalID, k, f.Env[k], v)
			}
		}
		wantTimeout, ok := timeouts[f.Dir]
		if !ok {
			wantTimeout = 10 * time.Second
		}
		if f.Timeout != wantTimeout {
			t.Errorf("%s: Timeout = %v, want %v", f.LogicalID, f.Timeout, wantTimeout)
		}
		// API Gateway (HTTP API) gives up on an integration after 30 s.
		if routed[f.Dir] && f.Timeout >= 30*time.Second {
			t.Errorf("%s: Timeout = %v, beyond API Gateway's 30 s", f.LogicalID, f.Timeout)
		}
	}

	// Without a local value for the table or the queue, the error must say
	// which reference is missing.
	if _, err := loadTemplate(t).Functions(nil); err == nil {
		t.Errorf("Functions(nil) error = nil, want one naming a missing reference")
	}
	for _, ref := range []string{"AccountsTable", "ChunkQueue", "NoticeQueue", "NoticeConfigurationSet", "RecoveryQueue", "LookupKeySecret"} {
		refs := maps.Clone(localRefs)
		delete(refs, ref)
		if _, err := loadTemplate(t).Functions(refs); err == nil || !strings.Contains(err.Error(), `"`+ref+`"`) {
			t.Errorf("Functions without %s: error = %v, want one naming it", ref, err)
		}
	}
}

func TestParameterOverridesReachEnvironment(t *testing.T) {
	// A deploy's parameter_overrides must flow into the functions the same
	// way the Defaults do.
	tpl, err := samtemplate.LoadWithParameters(filepath.Join(repoRoot(t), "template.yaml"),
		map[string]string{"LogLevel": "DEBUG", "SessionIdleTTL": "5m"})
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions(localRefs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		if f.Env["LOG_LEVEL"] != "DEBUG" || f.Env["SESSION_IDLE_TTL"] != "5m" {
			t.Errorf("%s: LOG_LEVEL=%q SESSION_IDLE_TTL=%q, want DEBUG, 5m", f.LogicalID, f.Env["LOG_LEVEL"], f.Env["SESSION_IDLE_TTL"])
		}
	}
}

func TestParameters(t *testing.T) {
	// Every parameter has a Default (so `sam deploy` without overrides
	// works) that satisfies its own constraints (CloudFormation would reject
	// it otherwise).
	params := samtemplate.CFN(loadTemplate(t)).Parameters
	want := []string{"LogLevel", "SessionAbsoluteTTL", "SessionIdleTTL", "Argon2MemoryKiB",
		"Argon2Time", "Argon2Threads", "CorsAllowOrigin", "TableDeletionProtection",
		"MailFrom", "MailIdentity", "ResetPageUrl", "RowsPerChunk",
		"NoticeSendRate", "NoticeWorkerConcurrency", "SignInUrl", "JobWorkerConcurrency", "JobStallTimeout", "AlarmTopicArn"}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			p, ok := params[name]
			if !ok {
				t.Fatalf("parameter %s missing", name)
			}
			if p.Type == "Number" {
				// Bounded both ways, the Default inside the bounds.
				def, ok := p.Default.(float64)
				if !ok || p.MinValue == nil || p.MaxValue == nil {
					t.Fatalf("Number parameter: Default %#v, MinValue %v, MaxValue %v; want all three", p.Default, p.MinValue, p.MaxValue)
				}
				if def < *p.MinValue || def > *p.MaxValue || def != float64(int(def)) {
					t.Errorf("Default %v is not a whole number in [%v, %v]", def, *p.MinValue, *p.MaxValue)
				}
				return
			}
			def, ok := p.Default.(string)
			if !ok {
				t.Fatalf("Default = %#v, want a string", p.Default)
			}
			if p.AllowedPattern == nil && len(p.AllowedValues) == 0 {
				t.Errorf("no AllowedPattern or AllowedValues")
			}
			if p.AllowedPattern != nil && !regexp.MustCompile(*p.AllowedPattern).MatchString(def) {
				t.Errorf("Default %q does not match AllowedPattern %s", def, *p.AllowedPattern)
			}
			if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, any(def)) {
				t.Errorf("Default %q not in AllowedValues %v", def, p.AllowedValues)
			}
		})
	}
	if len(params) != len(want) {
		t.Errorf("template has %d parameters, want %d (update this test when adding one)", len(params), len(want))
	}
}

func TestFunctionsMatchBrief(t *testing.T) {
	// Exactly the reviewed functions exist, with the memory, routes and
	// authorization the design gives them.
	tpl := loadTemplate(t)
	byDir := functionsByDir(t, tpl)
	for _, w := range wantFunctions {
		t.Run(w.dir, func(t *testing.T) {
			f, ok := byDir[w.dir]
			if !ok {
				t.Fatalf("no function for %s (want logical id %s)", w.dir, samtemplate.LogicalIDForDir(w.dir))
			}
			if f.MemoryMB != w.memoryMB {
				t.Errorf("MemoryMB = %d, want %d", f.MemoryMB, w.memoryMB)
			}
			var want []samtemplate.Route
			for _, key := range pageRoutes {
				if w.pages {
					method, path, _ := strings.Cut(key, " ")
					want = append(want, samtemplate.Route{Method: method, Path: path, Function: f.LogicalID})
				}
			}
			if w.method != "" {
				want = []samtemplate.Route{{Method: w.method, Path: w.path, Function: f.LogicalID, Authorized: w.authorized}}
			}
			byKey := func(a, b samtemplate.Route) int { return strings.Compare(a.Method+" "+a.Path, b.Method+" "+b.Path) }
			got := slices.SortedFunc(slices.Values(f.Routes), byKey)
			if slices.SortFunc(want, byKey); !slices.Equal(got, want) {
				t.Errorf("Routes = %+v, want %+v", f.Routes, want)
			}
		})
	}
	if len(byDir) != len(wantFunctions) {
		t.Errorf("template has %d functions, want %d", len(byDir), len(wantFunctions))
	}
}

func TestPasswordHashingFunctionsHaveMemory(t *testing.T) {
	// Argon2id with 19 MiB needs the memory and, on Lambda, the CPU that
	// comes with it; at 256 MB a login would take seconds.
	byDir := functionsByDir(t, loadTemplate(t))
	for _, dir := range []string{"functions/auth-login", "functions/me-password", "functions/admin-users-create",
		"functions/admin-users-password", "functions/auth-password-reset", "functions/imports-worker", "functions/notices-worker"} {
		if f := byDir[dir]; f.MemoryMB < 1024 {
			t.Errorf("%s: MemoryMB = %d, want >= 1024", dir, f.MemoryMB)
		}
	}
}

func TestNamingConventionAndBuild(t *testing.T) {
	// The Makefile's build-%Function target finds a function's code only
	// through the naming convention, and needs CodeUri "." (root go.mod).
	cfn := samtemplate.CFN(loadTemplate(t))
	for id, f := range cfn.GetAllServerlessFunctionResources() {
		t.Run(id, func(t *testing.T) {
			dir, err := samtemplate.DirForLogicalID(id)
			if err != nil {
				t.Fatal(err)
			}
			if back := samtemplate.LogicalIDForDir(dir); back != id {
				t.Errorf("LogicalIDForDir(%q) = %q", dir, back)
			}
			if f.CodeUri == nil || f.CodeUri.String == nil || *f.CodeUri.String != "." {
				t.Errorf("CodeUri = %+v, want \".\"", f.CodeUri)
			}
			if bm := f.AWSCloudFormationMetadata["BuildMethod"]; bm != "makefile" {
				t.Errorf("Metadata.BuildMethod = %v, want makefile", bm)
			}
			for _, prop := range []struct {
				name string
				set  bool
			}{{"Runtime", f.Runtime != nil}, {"Handler", f.Handler != nil}, {"Architectures", f.Architectures != nil}} {
				if prop.set {
					t.Errorf("%s is set on the function; it belongs in Globals", prop.name)
				}
			}
		})
	}
}

// notYetWritten lists function directories that the template already
// declares but whose code does not exist yet. Keep it empty on main: a
// deployed function without code fails the build.
var notYetWritten = map[string]bool{}

func TestFunctionDirsExist(t *testing.T) {
	// Every function in the template has its main package, and every main
	// package under functions/ is deployed by the template.
	root := repoRoot(t)
	fns, err := loadTemplate(t).Functions(localRefs)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, f := range fns {
		declared[f.Dir] = true
		if notYetWritten[f.Dir] {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(f.Dir), "main.go")); err != nil {
			t.Errorf("%s: %v", f.LogicalID, err)
		}
	}
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mains {
		rel, _ := filepath.Rel(root, filepath.Dir(m))
		if dir := filepath.ToSlash(rel); !declared[dir] {
			t.Errorf("%s has a main.go but no %s in template.yaml", dir, samtemplate.LogicalIDForDir(dir))
		}
	}
}

// statements returns the inline policy statements of a function.
func statements(tb testing.TB, f *serverless.Function) []map[string]any {
	tb.Helper()
	if f.Policies == nil || f.Policies.IAMPolicyDocumentArray == nil {
		tb.Fatalf("Policies must be a list of inline policy documents, got %+v", f.Policies)
	}
	var out []map[string]any
	for _, doc := range *f.Policies.IAMPolicyDocumentArray {
		for _, s := range doc.Statement {
			m, ok := s.(map[string]any)
			if !ok {
				tb.Fatalf("statement %#v is not an object", s)
			}
			out = append(out, m)
		}
	}
	return out
}

// strList turns a policy's string-or-list value into a list.
func strList(tb testing.TB, v any) []string {
	tb.Helper()
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				tb.Fatalf("policy value %#v is not a string", e)
			}
			out = append(out, s)
		}
		return out
	}
	tb.Fatalf("policy value %#v is neither a string nor a list", v)
	return nil
}

func TestPoliciesLeastPrivilege(t *testing.T) {
	// Each function may do exactly what its design needs: DynamoDB on this
	// table only, no wildcard actions, no "*" resources, and an index ARN
	// only where an index is queried. The exceptions: sending mail (checked
	// by sesStatementOK), objects of the import bucket under one prefix, and
	// sending to the chunk queue.
	const tableArn = "${AccountsTable.Arn}"
	tpl := loadTemplate(t)
	bucket, err := tpl.BucketName("ImportsBucket")
	if err != nil {
		t.Fatal(err)
	}
	objectArn := regexp.MustCompile(`^arn:aws:s3:::` + regexp.QuoteMeta(bucket) + `/((imports|reports)/)\*$`)
	cfn := samtemplate.CFN(tpl)
	for _, w := range wantFunctions {
		id := samtemplate.LogicalIDForDir(w.dir)
		t.Run(id, func(t *testing.T) {
			f, ok := cfn.GetAllServerlessFunctionResources()[id]
			if !ok {
				t.Fatalf("no %s", id)
			}
			var actions, resources, s3Grants []string
			sesStatements := 0
			var sqsSend []string
			for _, s := range statements(t, f) {
				if s["Effect"] != "Allow" {
					continue
				}
				if _, ok := s["NotAction"]; ok {
					t.Errorf("NotAction grants everything else")
				}
				if _, ok := s["NotResource"]; ok {
					t.Errorf("NotResource grants everything else")
				}
				acts := strList(t, s["Action"])
				for _, a := range acts {
					if strings.Contains(a, "*") {
						t.Errorf("wildcard action %q", a)
					}
				}
				service, _, _ := strings.Cut(acts[0], ":")
				for _, a := range acts {
					if !strings.HasPrefix(a, service+":") {
						t.Errorf("statement mixes services: %v", acts)
					}
				}
				if service == "ses" {
					sesStatements++
					sesStatementOK(t, s)
					continue
				}
				if _, ok := s["Condition"]; ok {
					t.Errorf("unexpected Condition on a %s statement", service)
				}
				switch service {
				case "s3":
					// Objects only (no bucket-level action), under one
					// prefix: never the whole bucket, never another one.
					for _, r := range strList(t, s["Resource"]) {
						m := objectArn.FindStringSubmatch(r)
						if m == nil {
							t.Errorf("S3 resource %q is not <import bucket>/imports/* or /reports/*", r)
							continue
						}
						for _, a := range acts {
							s3Grants = append(s3Grants, strings.TrimPrefix(a, "s3:")+" "+m[1])
						}
					}
				case "sqs":
					// One queue per statement, so each grant says why.
					res := strList(t, s["Resource"])
					queue := arnOf(res[0])
					if !slices.Equal(acts, []string{"sqs:SendMessage"}) || len(res) != 1 || queue == "" {
						t.Errorf("SQS statement %v on %v, want only sqs:SendMessage on one !GetAtt <Queue>.Arn", acts, res)
					}
					sqsSend = append(sqsSend, queue)
				case "dynamodb":
					for _, a := range acts {
						actions = append(actions, strings.TrimPrefix(a, "dynamodb:"))
					}
					for _, r := range strList(t, s["Resource"]) {
						if r != tableArn && !strings.HasPrefix(r, tableArn+"/index/") {
							t.Errorf("resource %q is neither the table nor its indexes", r)
						}
						resources = append(resources, r)
					}
				default:
					t.Errorf("actions %v: no %s access in the design", acts, service)
				}
			}
			if want := map[bool]int{true: 1, false: 0}[w.ses]; sesStatements != want {
				t.Errorf("%d SES statements, want %d", sesStatements, want)
			}
			if !slices.Equal(sqsSend, w.sqsSend) {
				t.Errorf("sqs:SendMessage granted on %v, want %v", sqsSend, w.sqsSend)
			}
			sort.Strings(s3Grants)
			wantS3 := slices.Clone(w.s3)
			sort.Strings(wantS3)
			if !slices.Equal(s3Grants, wantS3) {
				t.Errorf("S3 grants = %v, want %v", s3Grants, wantS3)
			}
			sort.Strings(actions)
			want := slices.Clone(w.actions)
			sort.Strings(want)
			if !slices.Equal(slices.Compact(actions), want) {
				t.Errorf("actions = %v, want %v", actions, want)
			}
			if !w.pages && !slices.Contains(resources, tableArn) {
				t.Errorf("resources %v lack the table ARN", resources)
			}
			var indexes []string
			for _, r := range resources {
				if ix, ok := strings.CutPrefix(r, tableArn+"/index/"); ok {
					indexes = append(indexes, ix)
				}
			}
			if wantIx := []string{w.index}; w.index == "" && len(indexes) > 0 || w.index != "" && !slices.Equal(indexes, wantIx) {
				t.Errorf("index ARNs granted for %v, want %q", indexes, w.index)
			}
			if w.index != "" && !slices.Contains(w.actions, "Query") {
				t.Errorf("index ARN without Query is useless")
			}
			// TransactWriteItems is authorised per item: without the item
			// actions it can do nothing, and they are granted only with it
			// or for direct calls the design lists.
			if slices.Contains(w.actions, "TransactWriteItems") && !slices.ContainsFunc(w.actions, func(a string) bool {
				return a == "PutItem" || a == "UpdateItem" || a == "DeleteItem" || a == "ConditionCheckItem"
			}) {
				t.Errorf("TransactWriteItems without any per-item action")
			}
		})
	}
}

// arnOf returns Id of a "${Id.Arn}" placeholder (what !GetAtt Id.Arn loads
// as), or "".
func arnOf(s string) string {
	id, ok := strings.CutSuffix(strings.TrimPrefix(s, "${"), ".Arn}")
	if !ok || !strings.HasPrefix(s, "${") || strings.ContainsAny(id, ".${}") {
		return ""
	}
	return id
}

// sesStatementOK holds the mail statement to one action on the one verified
// identity and the notices' configuration set (SES authorises both for a
// send that names the set; no wildcard), and to the configured sender
// address. The template writes the ARNs with !Sub of the pseudo parameters,
// MailIdentity and the set, which load as the local stand-ins, the
// parameter's Default and a placeholder.
func sesStatementOK(tb testing.TB, s map[string]any) {
	tb.Helper()
	if acts := strList(tb, s["Action"]); !slices.Equal(acts, []string{"ses:SendRawEmail"}) {
		tb.Errorf("SES actions = %v, want only ses:SendRawEmail", acts)
	}
	want := []string{
		"arn:aws:ses:us-east-1:123456789012:identity/example.org",
		"arn:aws:ses:us-east-1:123456789012:configuration-set/${NoticeConfigurationSet}",
	}
	if res := strList(tb, s["Resource"]); !slices.Equal(res, want) {
		tb.Errorf("SES resources = %v, want %v", res, want)
	}
	for _, r := range strList(tb, s["Resource"]) {
		if strings.Contains(r, "*") {
			tb.Errorf("wildcard SES resource %q", r)
		}
	}
	cond, _ := s["Condition"].(map[string]any)
	eq, _ := cond["StringEquals"].(map[string]any)
	if len(cond) != 1 || len(eq) != 1 || eq["ses:FromAddress"] != "no-reply@example.org" {
		tb.Errorf("SES Condition = %v, want StringEquals ses:FromAddress = MailFrom", s["Condition"])
	}
}

func TestOnlyTheMailingFunctionsMayMail(t *testing.T) {
	// Sending mail (and so the sender address) is the notice pipeline's
	// business alone: every other function queues its notices.
	var got []string
	for _, w := range wantFunctions {
		if w.ses {
			got = append(got, w.dir)
		}
	}
	want := []string{"functions/notices-worker"}
	if !slices.Equal(got, want) {
		t.Errorf("functions that may send mail = %v, want %v", got, want)
	}
}

// httpAPI returns the template's HttpApi resource and its raw properties.
func httpAPI(tb testing.TB, tpl *samtemplate.Template) (*serverless.HttpApi, map[string]any) {
	tb.Helper()
	api, ok := samtemplate.CFN(tpl).Resources["HttpApi"].(*serverless.HttpApi)
	if !ok {
		tb.Fatal("no AWS::Serverless::HttpApi named HttpApi")
	}
	resources, _ := samtemplate.Raw(tpl)["Resources"].(map[string]any)
	res, _ := resources["HttpApi"].(map[string]any)
	props, _ := res["Properties"].(map[string]any)
	return api, props
}

// path walks nested maps of raw template data.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestAuthorizer(t *testing.T) {
	// The authorizer protocol the authorizer function implements (payload
	// 2.0, simple {"isAuthorized"} responses), and a cache short enough that
	// logout takes effect quickly.
	tpl := loadTemplate(t)
	a, err := tpl.Authorizer()
	if err != nil {
		t.Fatal(err)
	}
	if a.Function != "AuthorizerFunction" {
		t.Errorf("Function = %q, want AuthorizerFunction", a.Function)
	}
	// The token comes as a Bearer header or as the browser session's
	// cookie, so no one header may be required; without an identity source
	// API Gateway asks the authorizer every time and cannot cache.
	if a.IdentityHeader != "" {
		t.Errorf("IdentityHeader = %q, want none (Bearer or cookie)", a.IdentityHeader)
	}
	if a.TTL != 0 {
		t.Errorf("TTL = %v, want 0 (no identity source to cache by)", a.TTL)
	}

	api, props := httpAPI(t, tpl)
	if api.Auth == nil || deref(api.Auth.DefaultAuthorizer) != "SessionAuthorizer" {
		t.Errorf("Auth.DefaultAuthorizer is not SessionAuthorizer")
	}
	conf := path(props, "Auth", "Authorizers", "SessionAuthorizer")
	for _, c := range []struct {
		key  string
		want any
	}{
		{"AuthorizerPayloadFormatVersion", "2.0"},
		{"EnableSimpleResponses", true},
		// Without it SAM does not allow API Gateway to invoke the function.
		{"EnableFunctionDefaultPermissions", true},
	} {
		if got := path(conf, c.key); got != c.want {
			t.Errorf("SessionAuthorizer.%s = %v, want %v", c.key, got, c.want)
		}
	}

	// The output documents the cache time; it must not drift from it.
	out, ok := samtemplate.CFN(tpl).Outputs["AuthorizerCacheSeconds"]
	if !ok {
		t.Fatal("no AuthorizerCacheSeconds output")
	}
	if got, want := out.Value, strconv.Itoa(int(a.TTL/time.Second)); got != want {
		t.Errorf("AuthorizerCacheSeconds = %v, want %v", got, want)
	}
}

func TestAccessLogs(t *testing.T) {
	// Access logs are JSON with exactly the agreed fields and nothing that
	// can carry a token or personal data (headers, query strings).
	tpl := loadTemplate(t)
	api, _ := httpAPI(t, tpl)
	if api.AccessLogSetting == nil || api.AccessLogSetting.Format == nil || api.AccessLogSetting.DestinationArn == nil {
		t.Fatal("HttpApi has no AccessLogSettings with DestinationArn and Format")
	}
	var format map[string]string
	if err := json.Unmarshal([]byte(*api.AccessLogSetting.Format), &format); err != nil {
		t.Fatalf("Format is not a JSON object of strings: %v", err)
	}
	want := []string{"requestId", "ip", "requestTime", "routeKey", "status", "responseLatency", "integrationErrorMessage"}
	got := make([]string, 0, len(format))
	for k, v := range format {
		got = append(got, k)
		lv := strings.ToLower(v)
		for _, bad := range []string{"$request.", "header", "querystring", "path"} {
			if strings.Contains(lv, bad) {
				t.Errorf("field %s = %q logs %s", k, v, bad)
			}
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}

	dest := strings.TrimSuffix(strings.TrimPrefix(*api.AccessLogSetting.DestinationArn, "${"), ".Arn}")
	lg, ok := samtemplate.CFN(tpl).Resources[dest].(*logs.LogGroup)
	if !ok {
		t.Fatalf("DestinationArn %q is not !GetAtt <LogGroup>.Arn", *api.AccessLogSetting.DestinationArn)
	}
	if deref(lg.RetentionInDays) != 365 {
		t.Errorf("RetentionInDays = %v, want 365", deref(lg.RetentionInDays))
	}
}

func TestThrottlingAndCors(t *testing.T) {
	api, _ := httpAPI(t, loadTemplate(t))
	rs := api.DefaultRouteSettings
	if rs == nil || deref(rs.ThrottlingBurstLimit) <= 0 || deref(rs.ThrottlingRateLimit) <= 0 {
		t.Errorf("DefaultRouteSettings must set throttling, got %+v", rs)
	}
	// CORS is off unless an origin is given: browsers of other sites must
	// not call the API by default.
	if api.CorsConfiguration != nil {
		t.Errorf("CorsConfiguration = %+v with the default CorsAllowOrigin, want none", api.CorsConfiguration)
	}

	tpl, err := samtemplate.LoadWithParameters(filepath.Join(repoRoot(t), "template.yaml"),
		map[string]string{"CorsAllowOrigin": "https://catalogue.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	api, _ = httpAPI(t, tpl)
	if api.CorsConfiguration == nil || api.CorsConfiguration.CorsConfigurationObject == nil {
		t.Fatal("no CorsConfiguration with CorsAllowOrigin set")
	}
	c := api.CorsConfiguration.CorsConfigurationObject
	if !slices.Equal(c.AllowOrigins, []string{"https://catalogue.example.org"}) {
		t.Errorf("AllowOrigins = %v", c.AllowOrigins)
	}
	for _, h := range []string{"authorization", "content-type", "if-match"} {
		if !slices.Contains(c.AllowHeaders, h) {
			t.Errorf("AllowHeaders %v lacks %s", c.AllowHeaders, h)
		}
	}
	// A script must be able to read the ETag it sends back in If-Match.
	if !slices.Contains(c.ExposeHeaders, "etag") {
		t.Errorf("ExposeHeaders %v lacks etag", c.ExposeHeaders)
	}
	if deref(c.MaxAge) != 600 {
		t.Errorf("MaxAge = %v, want 600", deref(c.MaxAge))
	}
}

func TestTable(t *testing.T) {
	// The table's durability and cost settings, and the keys and indexes the
	// data model relies on.
	cfn := samtemplate.CFN(loadTemplate(t))
	tbl, ok := cfn.Resources["AccountsTable"].(*cfnddb.Table)
	if !ok {
		t.Fatal("no AWS::DynamoDB::Table named AccountsTable")
	}
	if deref(tbl.BillingMode) != "PAY_PER_REQUEST" {
		t.Errorf("BillingMode = %q", deref(tbl.BillingMode))
	}
	if s := tbl.TimeToLiveSpecification; s == nil || !s.Enabled || deref(s.AttributeName) != "ttl" {
		t.Errorf("TimeToLiveSpecification = %+v, want ttl enabled", s)
	}
	if s := tbl.PointInTimeRecoverySpecification; s == nil || !deref(s.PointInTimeRecoveryEnabled) {
		t.Errorf("point-in-time recovery is off")
	}
	if s := tbl.SSESpecification; s == nil || !s.SSEEnabled {
		t.Errorf("SSE is off")
	}
	if !deref(tbl.DeletionProtectionEnabled) {
		t.Errorf("deletion protection is off with the default parameter")
	}
	if tbl.AWSCloudFormationDeletionPolicy != "Retain" || tbl.AWSCloudFormationUpdateReplacePolicy != "Retain" {
		t.Errorf("DeletionPolicy/UpdateReplacePolicy = %q/%q, want Retain/Retain",
			tbl.AWSCloudFormationDeletionPolicy, tbl.AWSCloudFormationUpdateReplacePolicy)
	}
	if got := keys(tbl.KeySchema); got != "pk HASH, sk RANGE" {
		t.Errorf("KeySchema = %s", got)
	}
	wantGSIs := map[string]string{"gsi1": "gsi1pk HASH, gsi1sk RANGE", "gsi2": "gsi2pk HASH, gsi2sk RANGE"}
	for _, g := range tbl.GlobalSecondaryIndexes {
		if want, ok := wantGSIs[g.IndexName]; !ok || keys(g.KeySchema) != want {
			t.Errorf("GSI %s keys %s, want %q", g.IndexName, keys(g.KeySchema), want)
		}
		if g.Projection == nil || deref(g.Projection.ProjectionType) != "ALL" {
			t.Errorf("GSI %s projection is not ALL", g.IndexName)
		}
		delete(wantGSIs, g.IndexName)
	}
	if len(wantGSIs) > 0 {
		t.Errorf("missing GSIs %v", wantGSIs)
	}

	// Dev stacks switch protection off through the parameter.
	tpl, err := samtemplate.LoadWithParameters(filepath.Join(repoRoot(t), "template.yaml"),
		map[string]string{"TableDeletionProtection": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if tbl := samtemplate.CFN(tpl).Resources["AccountsTable"].(*cfnddb.Table); deref(tbl.DeletionProtectionEnabled) {
		t.Errorf("TableDeletionProtection=false still protects the table")
	}
}

func keys(ks []cfnddb.Table_KeySchema) string {
	parts := make([]string, 0, len(ks))
	for _, k := range ks {
		parts = append(parts, k.AttributeName+" "+k.KeyType)
	}
	return strings.Join(parts, ", ")
}

func TestTableInput(t *testing.T) {
	// The local table must be created exactly like the deployed one, and
	// DynamoDB rejects definitions of attributes no key uses.
	tpl := loadTemplate(t)
	in, ttl, err := tpl.TableInput("AccountsTable", "libaccounts-test")
	if err != nil {
		t.Fatal(err)
	}
	if ttl != "ttl" {
		t.Errorf("ttl attribute = %q, want ttl", ttl)
	}
	if aws.ToString(in.TableName) != "libaccounts-test" || in.BillingMode != ddbtypes.BillingModePayPerRequest {
		t.Errorf("TableName/BillingMode = %q/%q", aws.ToString(in.TableName), in.BillingMode)
	}
	if in.ProvisionedThroughput != nil {
		t.Errorf("on-demand tables take no ProvisionedThroughput")
	}
	used := map[string]bool{}
	collect := func(ks []ddbtypes.KeySchemaElement) {
		for _, k := range ks {
			used[aws.ToString(k.AttributeName)] = true
		}
	}
	collect(in.KeySchema)
	if len(in.GlobalSecondaryIndexes) != 2 {
		t.Errorf("%d GSIs, want 2", len(in.GlobalSecondaryIndexes))
	}
	for _, g := range in.GlobalSecondaryIndexes {
		collect(g.KeySchema)
		if g.Projection == nil || g.Projection.ProjectionType != ddbtypes.ProjectionTypeAll {
			t.Errorf("GSI %s projection %+v", aws.ToString(g.IndexName), g.Projection)
		}
		if g.ProvisionedThroughput != nil {
			t.Errorf("GSI %s has ProvisionedThroughput on an on-demand table", aws.ToString(g.IndexName))
		}
	}
	defined := map[string]bool{}
	for _, d := range in.AttributeDefinitions {
		defined[aws.ToString(d.AttributeName)] = true
		if d.AttributeType != ddbtypes.ScalarAttributeTypeS {
			t.Errorf("attribute %s has type %s, want S", aws.ToString(d.AttributeName), d.AttributeType)
		}
	}
	for a := range used {
		if !defined[a] {
			t.Errorf("key attribute %s has no AttributeDefinition", a)
		}
	}
	for a := range defined {
		if !used[a] {
			t.Errorf("AttributeDefinition %s is used by no key", a)
		}
	}

	for _, id := range []string{"NoSuchTable", "HttpApi"} {
		if _, _, err := tpl.TableInput(id, "x"); err == nil {
			t.Errorf("TableInput(%q) succeeded", id)
		}
	}
}

func TestOutputs(t *testing.T) {
	outputs := samtemplate.CFN(loadTemplate(t)).Outputs
	want := map[string]string{
		"ApiUrl":                     "https://${HttpApi}.execute-api.us-east-1.amazonaws.com/",
		"HttpApiId":                  "${HttpApi}",
		"AccountsTableName":          "${AccountsTable}",
		"AuthorizerCacheSeconds":     "",
		"ImportsBucketName":          "${ImportsBucket}",
		"ChunkQueueUrl":              "${ChunkQueue}",
		"ChunkDeadLetterQueueUrl":    "${ChunkDeadLetterQueue}",
		"NoticeQueueUrl":             "${NoticeQueue}",
		"NoticeDeadLetterQueueUrl":   "${NoticeDeadLetterQueue}",
		"RecoveryQueueUrl":           "${RecoveryQueue}",
		"RecoveryDeadLetterQueueUrl": "${RecoveryDeadLetterQueue}",
		"NoticeConfigurationSetName": "${NoticeConfigurationSet}",
		"SesEventsTopicArn":          "${SesEventsTopic}",
	}
	for name, value := range want {
		o, ok := outputs[name]
		if !ok {
			t.Errorf("output %s missing", name)
			continue
		}
		if value != "" && o.Value != value {
			t.Errorf("output %s = %v, want %v", name, o.Value, value)
		}
	}
}

func TestRoutes(t *testing.T) {
	// Routes() lists every route once, sorted, and only login, the two
	// recovery requests and completing a reset link are public.
	routes := loadTemplate(t).Routes()
	var public []string
	seen := map[string]bool{}
	for i, r := range routes {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("route %s declared twice", key)
		}
		seen[key] = true
		if !r.Authorized {
			public = append(public, key)
		}
		if i > 0 && (routes[i-1].Path > r.Path || routes[i-1].Path == r.Path && routes[i-1].Method > r.Method) {
			t.Errorf("routes not sorted at %s", key)
		}
	}
	want := append(slices.Clone(pageRoutes), "POST /v1/auth/forgot-password", "POST /v1/auth/forgot-username", "POST /v1/auth/login", "POST /v1/auth/password-reset")
	if !slices.Equal(public, want) {
		t.Errorf("public routes = %v, want only %v", public, want)
	}
	if len(routes) != 64 {
		t.Errorf("%d routes, want 64", len(routes))
	}
}

// openAPIDoc is the part of docs/openapi.yaml the drift check reads.
type openAPIDoc struct {
	Security []map[string][]string `yaml:"security"`
	// Path items also hold "parameters" (a list) and "summary", so an
	// operation is decoded only once its key is known to be a method.
	Paths map[string]map[string]yaml.Node `yaml:"paths"`
}

type openAPIOperation struct {
	// nil when the operation does not override the document's security.
	Security *[]map[string][]string `yaml:"security"`
}

func TestOpenAPIMatchesTemplate(t *testing.T) {
	// The API docs cannot drift from the deployment: same routes both ways,
	// and a route is documented as public exactly when it has no authorizer.
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	httpMethods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}
	documented := map[string]bool{} // "METHOD path" -> needs auth
	for p, ops := range doc.Paths {
		for m, node := range ops {
			if !httpMethods[m] {
				continue // "parameters", "summary", ...
			}
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("docs/openapi.yaml: %s %s: %v", m, p, err)
			}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			documented[strings.ToUpper(m)+" "+p] = len(sec) > 0
		}
	}
	deployed := map[string]bool{}
	for _, r := range loadTemplate(t).Routes() {
		deployed[r.Method+" "+r.Path] = r.Authorized
	}
	for route, auth := range deployed {
		if slices.Contains(pageRoutes, route) {
			continue // HTML pages, not API operations
		}
		docAuth, ok := documented[route]
		if !ok {
			t.Errorf("%s is deployed but not in docs/openapi.yaml", route)
			continue
		}
		if docAuth != auth {
			t.Errorf("%s: template authorized=%v, openapi security=%v", route, auth, docAuth)
		}
	}
	for route := range documented {
		if _, ok := deployed[route]; !ok {
			t.Errorf("%s is in docs/openapi.yaml but not in template.yaml", route)
		}
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefSlice(p *[]string) []string {
	if p == nil {
		return nil
	}
	return *p
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
