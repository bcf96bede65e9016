package lambdaevents_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestDeadLettersComeBackOnlyWhenRecordingCanSucceedLater(t *testing.T) {
	// An unreadable dead letter will never read better: dropped. One that
	// could not be recorded (here: the table unreachable, as a cancelled
	// call finds it) comes back.
	e := newEnv(t)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "garbage", Body: "not json"},
		{MessageId: "chunk", Body: `{"tenant":"kpu","job":"x7pd2lq4kzr6ma3vty5nw8bc2e","chunk":0,"start":0,"end":10,"firstRow":1,"rows":2}`},
		{MessageId: "task", Body: `{"v":1,"tenant":"kpu","job":"x7pd2lq4kzr6ma3vty5nw8bc2e","kind":"batch","batch":"03-000001","users":["k5tqsmwq3uiqqb7crnyx3lrwoa"]}`},
	}}
	resp, err := e.h.DeadLetters(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("reachable table: %+v %v, want no failures (an unknown job's letters are dropped)", resp, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp, err = e.h.DeadLetters(ctx, ev)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if err != nil || !slices.Equal(failed, []string{"chunk", "task"}) {
		t.Errorf("unreachable table: failures %v (%v), want the chunk and the task back, the garbage dropped", failed, err)
	}
}

func TestSweepJobsTakesTheTickTime(t *testing.T) {
	e := newEnv(t)
	if err := e.h.SweepJobs(context.Background(), events.EventBridgeEvent{ID: "tick", DetailType: "Scheduled Event", Source: "aws.events", Time: time.Now()}); err != nil {
		t.Fatalf("sweep of a quiet table: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.h.SweepJobs(ctx, events.EventBridgeEvent{Time: time.Now()}); err == nil {
		t.Errorf("a sweep that could not read the table reported success; EventBridge would not retry it")
	}
}
