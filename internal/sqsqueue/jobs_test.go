package sqsqueue_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

func TestJobTasksGoOutTenAtATimeAndComeBackWhole(t *testing.T) {
	c, _ := localQueue(t)
	q := sqsqueue.NewJobs(c, queueURL)
	var sent []accounts.JobTask
	for i := range 12 {
		sent = append(sent, accounts.JobTask{V: 1, TenantID: "kpu", JobID: "abcdefghijklmnopqrstuvwxyz", Kind: accounts.TaskBatch,
			Shard: i, Batch: fmt.Sprintf("%02d-000000", i), Users: []string{"bcdefghijklmnopqrstuvwxyza"}})
	}
	if err := q.SendJobTasks(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	got := append(receive(t, c), receive(t, c)...)
	if len(got) != len(sent) {
		t.Fatalf("%d messages, want %d", len(got), len(sent))
	}
	seen := map[int]bool{}
	for _, body := range got {
		task, err := sqsqueue.DecodeJobTask(body)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(task, sent[task.Shard]) {
			t.Errorf("decoded %+v, sent %+v", task, sent[task.Shard])
		}
		seen[task.Shard] = true
	}
	if len(seen) != len(sent) {
		t.Errorf("tasks seen %v", seen)
	}
	for _, body := range []string{"", "{}", `{"tenant":"kpu","job":"x"}`} {
		if _, err := sqsqueue.DecodeJobTask(body); err == nil {
			t.Errorf("DecodeJobTask(%q) succeeded", body)
		}
	}
}
