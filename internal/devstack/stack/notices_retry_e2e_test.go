package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/stack"
)

// TestNoticeAttemptsThroughTheStack drives the notice worker's attempts
// through the whole local pipeline, with the local SES failing on cue: the
// attempt count lives in the notice record, so what staff read is what the
// worker did. Retry waits are cut to a second for the test (the deployed
// default is 30 s, then 2 min).
func TestNoticeAttemptsThroughTheStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	logs := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: t.TempDir(), InMemory: true, Tenant: "kpu", AdminPassword: adminPassword, Logs: logs,
		FunctionEnv: map[string]string{"NOTICE_RETRY_DELAYS": "1s"},
	})
	if err != nil {
		t.Fatalf("start local stack: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(st.Close)
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)

	cases := []struct {
		name     string
		fault    string // the SES error the next sends get
		count    int    // how many sends fail
		status   string
		attempts float64
		mails    int
	}{
		{"transient twice, then sent", "ServiceUnavailable", 2, "sent", 3, 1},
		{"throttled twice, then sent", "Throttling", 2, "sent", 3, 1},
		{"three transient failures", "ServiceUnavailable", 3, "failed", 3, 0},
		{"permanent at once", "MessageRejected", 1, "failed", 1, 0},
		{"no fault", "", 0, "sent", 1, 1},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		addr := "retry" + string(rune('a'+i)) + "@patrons.example"
		if tc.fault != "" {
			fault, _ := json.Marshal(map[string]any{"address": addr, "code": tc.fault, "count": tc.count})
			resp, err := http.Post(st.APIURL+"/_local/ses/faults", "application/json", bytes.NewReader(fault))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("inject %s: HTTP %d", tc.fault, resp.StatusCode)
			}
		}
		status, body := admin.do("POST", "/v1/admin/users", map[string]any{"username": "retry" + string(rune('a'+i)), "password": "temporary passphrase 1", "email": addr})
		want(t, "create "+addr, status, 201, body)
		ids[i] = body["user"].(map[string]any)["id"].(string)
		status, body = admin.do("POST", "/v1/admin/users/"+ids[i]+"/password", map[string]any{"sendResetLink": true})
		want(t, "reset link to "+addr, status, 200, body)
	}
	notices := make([]map[string]any, len(cases))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := awaitNotice(t, admin, ids[i], tc.status, logs)
			notices[i] = n
			if n["attempts"] != tc.attempts {
				t.Errorf("attempts = %v, want %v (reason %v)", n["attempts"], tc.attempts, n["reason"])
			}
			if tc.status == "failed" && n["reason"] == "" {
				t.Errorf("a failed notice says no reason")
			}
			if got := mailsTo(t, st, "retry"+string(rune('a'+i))+"@patrons.example"); got != tc.mails {
				t.Errorf("%d mails in the outbox, want %d", got, tc.mails)
			}
		})
	}

	// SQS delivers at least once: the same message again, after the notice
	// was sent, must send nothing (the conditional claim closes this
	// window; see README, Notices).
	last := len(cases) - 1
	if notices[last] == nil {
		t.Fatal("no notice to redeliver")
	}
	body, _ := json.Marshal(map[string]any{"v": 1, "tenant": "kpu", "user": ids[last], "notice": notices[last]["id"]})
	ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "redelivered-1", Body: string(body), EventSource: "aws:sqs"},
		{MessageId: "redelivered-2", Body: string(body), EventSource: "aws:sqs"},
	}})
	out, err := st.Invoke(context.Background(), "NoticesWorkerFunction", ev)
	if err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("redelivered batch answered %s (err %v), want no failures", out, err)
	}
	if got := mailsTo(t, st, "retrye@patrons.example"); got != 1 {
		t.Errorf("after two redeliveries %d mails, want 1", got)
	}
	n := awaitNotice(t, admin, ids[last], "sent", logs)
	if n["attempts"] != float64(1) {
		t.Errorf("after redelivery attempts = %v, want 1", n["attempts"])
	}
}

// awaitNotice polls a user's one notice until it reaches status; the
// pipeline is asynchronous (queue, worker, delayed retries).
func awaitNotice(tb testing.TB, admin client, userID, status string, logs *syncBuffer) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last map[string]any
	for {
		_, body := admin.do("GET", "/v1/admin/users/"+userID+"/notices", nil)
		if list, _ := body["notices"].([]any); len(list) == 1 {
			last, _ = list[0].(map[string]any)
			if last["status"] == status {
				return last
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("notice %v; want status %s\nlogs:\n%s", last, status, logs.String())
		}
		<-tick.C
	}
}

// mailsTo counts the outbox's messages to addr.
func mailsTo(tb testing.TB, st *stack.Stack, addr string) int {
	tb.Helper()
	dir := filepath.Join(st.DataDir(), "outbox")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		head, _, _ := strings.Cut(string(data), "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "to:") && strings.Contains(line, addr) {
				n++
			}
		}
	}
	return n
}
