package sqsemu_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/sqsemu"
)

// The tests below "crash" a Service by dropping it without Close and
// opening a new one on the same Dir, as a restart after SIGKILL would.

func TestDurableAcrossCrash(t *testing.T) {
	dir, clk := t.TempDir(), newClock()
	cfg := sqsemu.QueueConfig{Name: "q", VisibilityTimeout: 30 * time.Second}
	svc1 := open(t, dir, clk, cfg)
	c1 := client(t, svc1)
	ids := send(t, svc1, "q", "a", "b", "c")
	got := receive(t, c1, "q", func(in *sqs.ReceiveMessageInput) { in.MaxNumberOfMessages = 2 })
	if len(got.Messages) != 2 || aws.ToString(got.Messages[0].Body) != "a" || aws.ToString(got.Messages[1].Body) != "b" {
		t.Fatalf("received %+v, want a and b", got.Messages)
	}
	if _, err := c1.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}

	svc2 := open(t, dir, clk, cfg) // svc1 is never closed
	wantStats(t, svc2, "q", 1, 1)  // c visible, b still in flight
	c2 := client(t, svc2)
	clk.Advance(31 * time.Second)
	again := receive(t, c2, "q")
	if len(again.Messages) != 2 {
		t.Fatalf("after the restart received %d messages, want b and c", len(again.Messages))
	}
	byID := map[string]types.Message{}
	for _, m := range again.Messages {
		byID[aws.ToString(m.MessageId)] = m
	}
	for _, want := range []struct{ id, body, count string }{{ids[1], "b", "2"}, {ids[2], "c", "1"}} {
		m, ok := byID[want.id]
		if !ok || aws.ToString(m.Body) != want.body || m.Attributes["ApproximateReceiveCount"] != want.count {
			t.Errorf("message %s: %q count %s, want %q count %s", want.id, aws.ToString(m.Body), m.Attributes["ApproximateReceiveCount"], want.body, want.count)
		}
	}
	if _, err := c2.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: again.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	wantStats(t, svc2, "q", 0, 1)
}

func TestReceiptHandleSurvivesRestart(t *testing.T) {
	dir, clk := t.TempDir(), newClock()
	cfg := sqsemu.QueueConfig{Name: "q"}
	svc := open(t, dir, clk, cfg)
	send(t, svc, "q", "x")
	got := receive(t, client(t, svc), "q")
	if len(got.Messages) != 1 {
		t.Fatalf("received %d messages", len(got.Messages))
	}
	svc = open(t, dir, clk, cfg)
	wantStats(t, svc, "q", 0, 1)
	if _, err := client(t, svc).DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage with the handle from before the restart: %v", err)
	}
	wantStats(t, svc, "q", 0, 0)
}

// Receive counts survive restarts, so a message that keeps failing
// reaches the dead-letter queue even if the stack restarts in between.
func TestRedriveAcrossRestarts(t *testing.T) {
	dir, clk := t.TempDir(), newClock()
	cfgs := []sqsemu.QueueConfig{
		{Name: "q", VisibilityTimeout: 10 * time.Second, MaxReceiveCount: 2, DeadLetterQueue: "dlq"},
		{Name: "dlq"},
	}
	send(t, open(t, dir, clk, cfgs...), "q", "poison")
	for i := 1; i <= 2; i++ {
		svc := open(t, dir, clk, cfgs...)
		got := receive(t, client(t, svc), "q")
		if len(got.Messages) != 1 || got.Messages[0].Attributes["ApproximateReceiveCount"] != fmt.Sprint(i) {
			t.Fatalf("run %d received %+v", i, got.Messages)
		}
		clk.Advance(11 * time.Second)
	}
	svc := open(t, dir, clk, cfgs...)
	if got := receive(t, client(t, svc), "q"); len(got.Messages) != 0 {
		t.Fatalf("received a 3rd time: %+v", got.Messages)
	}
	wantStats(t, svc, "dlq", 1, 0)
	svc = open(t, dir, clk, cfgs...)
	wantStats(t, svc, "q", 0, 0)
	wantStats(t, svc, "dlq", 1, 0)
}

func TestTornTail(t *testing.T) {
	dir, clk := t.TempDir(), newClock()
	cfg := sqsemu.QueueConfig{Name: "q"}
	send(t, open(t, dir, clk, cfg), "q", "one", "two")
	// A record cut short by the kill: a length, a checksum, part of a payload.
	f, err := os.OpenFile(filepath.Join(dir, "sqs.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, '{', '"'}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	svc := open(t, dir, clk, cfg)
	wantStats(t, svc, "q", 2, 0)
	if kept, _ := filepath.Glob(filepath.Join(dir, "sqs.log.corrupt-*")); len(kept) != 1 {
		t.Errorf("the damaged log was not kept: %v", kept)
	}
	send(t, svc, "q", "three")
	svc = open(t, dir, clk, cfg)
	wantStats(t, svc, "q", 3, 0)
}

func TestCompaction(t *testing.T) {
	t.Cleanup(sqsemu.SetCompactMinBytes(4096))
	dir, clk := t.TempDir(), newClock()
	cfg := sqsemu.QueueConfig{Name: "q"}
	svc := open(t, dir, clk, cfg)
	c := client(t, svc)
	for i := range 300 {
		send(t, svc, "q", fmt.Sprintf("message %03d %s", i, strings.Repeat("x", 100)))
	}
	for deleted := 0; deleted < 290; {
		got := receive(t, c, "q", func(in *sqs.ReceiveMessageInput) { in.MaxNumberOfMessages = int32(min(10, 290-deleted)) })
		for _, m := range got.Messages {
			if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
		deleted += len(got.Messages)
	}
	logSize := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, "sqs.log"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	waitFor(t, "the log compacted", func() bool { return logSize() < 16<<10 }) // uncompacted it passes 80 KiB
	svc = open(t, dir, clk, cfg)
	wantStats(t, svc, "q", 10, 0)
	got := receive(t, client(t, svc), "q")
	if len(got.Messages) != 10 || !strings.HasPrefix(aws.ToString(got.Messages[0].Body), "message 290") {
		t.Fatalf("after compaction received %d messages, first %q", len(got.Messages), aws.ToString(got.Messages[0].Body))
	}
}

const killChildEnv = "SQSLOCAL_KILL_CHILD_DIR"

// TestSurvivesSIGKILL runs a Service in a child process that sends and
// deletes as fast as it can, SIGKILLs it, and checks that every message
// whose send was acknowledged and that no one was deleting is still there,
// and that no acknowledged delete is undone.
func TestSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		runKillChild(dir)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	sent, deleting, deleted := map[string]bool{}, map[string]bool{}, map[string]bool{}
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		verb, id, _ := strings.Cut(sc.Text(), " ")
		switch verb {
		case "sent":
			sent[id] = true
		case "deleting":
			deleting[id] = true
		case "deleted":
			deleted[id] = true
		case "error":
			t.Errorf("child: %s", id)
		}
		if !killed && len(sent) >= 600 && len(deleted) >= 150 {
			_ = cmd.Process.Kill() // SIGKILL; what it printed before is still in the pipe
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child stopped after %d sends and %d deletes", len(sent), len(deleted))
	}

	// An hour later every visibility timeout of the child has ended.
	clk := clock.NewFake(time.Now().Add(time.Hour))
	svc := open(t, dir, clk, sqsemu.QueueConfig{Name: "q"})
	c := client(t, svc)
	present := map[string]bool{}
	for {
		got := receive(t, c, "q", func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 43200 })
		if len(got.Messages) == 0 {
			break
		}
		for _, m := range got.Messages {
			present[aws.ToString(m.MessageId)] = true
		}
	}
	var lost, undeleted []string
	for id := range sent {
		// A delete in progress when the child died may or may not have happened.
		if !deleting[id] && !present[id] {
			lost = append(lost, id)
		}
	}
	for id := range deleted {
		if present[id] {
			undeleted = append(undeleted, id)
		}
	}
	if len(lost) > 0 || len(undeleted) > 0 {
		t.Fatalf("after SIGKILL: %d acknowledged messages lost %v, %d acknowledged deletes undone %v", len(lost), slices.Sorted(slices.Values(lost)), len(undeleted), undeleted)
	}
	t.Logf("child acknowledged %d sends and %d deletes; %d messages recovered", len(sent), len(deleted), len(present))
}

// runKillChild sends (in-process and over HTTP) and receives and deletes
// until it is killed, printing each acknowledged operation.
func runKillChild(dir string) {
	svc, err := sqsemu.New([]sqsemu.QueueConfig{{Name: "q"}}, sqsemu.Options{Dir: dir, Region: testRegion, AccountID: testAccount, BaseURL: testBaseURL})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	srv := httptest.NewServer(svc)
	c := newSDKClient(srv.URL)
	var mu sync.Mutex
	report := func(verb, id string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(os.Stdout, verb, id)
	}
	ctx := context.Background()
	for w := range 3 {
		go func() {
			for n := 0; ; n++ {
				id, err := svc.Send(ctx, "q", fmt.Sprintf("worker %d message %d", w, n))
				if err != nil {
					report("error", strings.ReplaceAll(err.Error(), "\n", " "))
					return
				}
				report("sent", id)
			}
		}()
	}
	go func() {
		for n := 0; ; n++ {
			var es []types.SendMessageBatchRequestEntry
			for i := range 5 {
				es = append(es, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(fmt.Sprintf("batch %d entry %d", n, i))})
			}
			out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL("q")), Entries: es})
			if err != nil {
				report("error", err.Error())
				return
			}
			for _, e := range out.Successful {
				report("sent", aws.ToString(e.MessageId))
			}
		}
	}()
	for range 2 {
		go func() {
			for {
				got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL("q")), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					report("error", err.Error())
					return
				}
				for _, m := range got.Messages {
					report("deleting", aws.ToString(m.MessageId))
					if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL("q")), ReceiptHandle: m.ReceiptHandle}); err != nil {
						report("error", err.Error())
						return
					}
					report("deleted", aws.ToString(m.MessageId))
				}
			}
		}()
	}
	select {}
}

// Messages of a queue that disappears from the configuration are kept, and
// come back when it returns.
func TestUnconfiguredQueueKept(t *testing.T) {
	dir, clk := t.TempDir(), newClock()
	a, b := sqsemu.QueueConfig{Name: "a"}, sqsemu.QueueConfig{Name: "b"}
	send(t, open(t, dir, clk, a, b), "b", "keep me")
	svc := open(t, dir, clk, a)
	if _, _, err := svc.Stats("b"); !errors.Is(err, sqsemu.ErrUnknownQueue) {
		t.Fatalf("Stats of an unconfigured queue: %v", err)
	}
	if _, err := svc.Send(context.Background(), "b", "x"); !errors.Is(err, sqsemu.ErrUnknownQueue) {
		t.Fatalf("Send to an unconfigured queue: %v", err)
	}
	svc = open(t, dir, clk, a, b)
	wantStats(t, svc, "b", 1, 0)
}
