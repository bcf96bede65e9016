package stack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// tickRecorder is the Lambda service as a channel of payloads.
type tickRecorder chan []byte

func (r tickRecorder) Invoke(_ context.Context, name string, payload []byte) ([]byte, error) {
	r <- payload
	return []byte("null"), nil
}

func TestSchedulesFireOnTheirRate(t *testing.T) {
	// A Schedule event fires every rate on the stack's clock, as a
	// Scheduled Event from aws.events dated at the tick, and not before.
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	rec := make(tickRecorder, 4)
	s := &schedules{triggers: []samtemplate.ScheduleTrigger{{Function: "JobsSweepFunction", Name: "Sweep", Rate: 5 * time.Minute}},
		inv: rec, clock: fake, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.start()
	defer s.stop()
	done := make(chan struct{})
	for tick := 1; tick <= 2; tick++ {
		fake.WaitForTimers(1, done)
		fake.Advance(4 * time.Minute)
		select {
		case p := <-rec:
			t.Fatalf("fired a minute early: %s", p)
		default:
		}
		fake.Advance(time.Minute)
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(<-rec, &ev); err != nil {
			t.Fatal(err)
		}
		if want := start.Add(time.Duration(tick) * 5 * time.Minute); ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || !ev.Time.Equal(want) {
			t.Errorf("tick %d: %q from %q at %v, want a Scheduled Event from aws.events at %v", tick, ev.DetailType, ev.Source, ev.Time, want)
		}
	}
	if err := s.run(context.Background(), "NoSuchFunction", start); err == nil {
		t.Errorf("running a function without a schedule succeeded")
	}
}
