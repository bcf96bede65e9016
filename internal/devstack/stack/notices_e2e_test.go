package stack_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMailboxSimulatorThroughTheStack sends a reset link to each of SES's
// simulator addresses through the whole local pipeline (API, notice queue,
// worker, local SES, its events on the configuration set's topic, the SNS
// delivery to ses-events) and reads the outcome where staff see it: the
// user's notices and the user's address flag.
func TestMailboxSimulatorThroughTheStack(t *testing.T) {
	t.Parallel() // each test has a stack of its own
	st, logs := startStack(t)
	admin := client{tb: t, base: st.APIURL}.login("kpu", "admin", adminPassword)
	cases := []struct {
		to, notice, flag string
	}{
		{"success@simulator.amazonses.com", "sent", ""},
		{"ooto@simulator.amazonses.com", "sent", ""},
		{"bounce@simulator.amazonses.com", "bounced", "bounced"},
		{"suppressionlist@simulator.amazonses.com", "bounced", "bounced"},
		{"complaint@simulator.amazonses.com", "complained", "complained"},
	}
	ids := map[string]string{}
	for i, tc := range cases {
		status, body := admin.do("POST", "/v1/admin/users", map[string]any{"username": "sim" + string(rune('a'+i)), "password": "temporary passphrase 1", "email": tc.to})
		want(t, "create "+tc.to, status, 201, body)
		ids[tc.to] = body["user"].(map[string]any)["id"].(string)
		status, body = admin.do("POST", "/v1/admin/users/"+ids[tc.to]+"/password", map[string]any{"sendResetLink": true})
		want(t, "reset link to "+tc.to, status, 200, body)
	}
	// The outcomes arrive asynchronously (queue, worker, then SES's
	// events a second later): each is awaited with a deadline.
	for _, tc := range cases {
		t.Run(tc.to, func(t *testing.T) {
			var notice map[string]any
			var user map[string]any
			deadline := time.Now().Add(time.Minute)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				_, body := admin.do("GET", "/v1/admin/users/"+ids[tc.to]+"/notices", nil)
				if list, _ := body["notices"].([]any); len(list) == 1 {
					notice, _ = list[0].(map[string]any)
				}
				_, user = admin.do("GET", "/v1/admin/users/"+ids[tc.to], nil)
				flag, _ := user["emailStatus"].(string)
				if notice != nil && notice["status"] == tc.notice && flag == tc.flag {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("notice %v, user emailStatus %q; want %s and %q\nlogs:\n%s", notice, flag, tc.notice, tc.flag, logs.String())
				}
				<-tick.C
			}
			if notice["attempts"] != float64(1) {
				t.Errorf("attempts = %v, want 1", notice["attempts"])
			}
		})
	}
	// No secret rests in SQS: the reset links' tokens went out by mail
	// only, never in a queue message (the local SQS's log holds every
	// message it ever took).
	mail, err := os.ReadDir(filepath.Join(st.DataDir(), "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	wal := readAll(t, filepath.Join(st.DataDir(), "sqs"))
	for _, m := range mail {
		data, err := os.ReadFile(filepath.Join(st.DataDir(), "outbox", m.Name()))
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(data, []byte("#token="))
		if i < 0 {
			continue
		}
		token := data[i+len("#token=") : i+len("#token=")+16]
		if bytes.Contains(wal, token) {
			t.Errorf("a reset token of %s is in the local SQS's log", m.Name())
		}
	}
}

// readAll concatenates every file under dir.
func readAll(tb testing.TB, dir string) []byte {
	tb.Helper()
	var out []byte
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out = append(out, data...)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
