package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// invoker runs one function with one payload, as lambdaemu.Service does.
type invoker interface {
	Invoke(ctx context.Context, name string, payload []byte) ([]byte, error)
}

// schedules fire the template's Schedule events as EventBridge does: every
// rate, the function gets a "Scheduled Event" from aws.events whose time is
// the tick's. A tick that fails is logged and not retried: the next tick
// comes (EventBridge retries, but the functions on a schedule are idempotent
// sweeps, for which the next run is as good).
type schedules struct {
	triggers []samtemplate.ScheduleTrigger
	inv      invoker
	clock    clock.Clock
	log      *slog.Logger
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func newSchedules(tpl *samtemplate.Template, inv invoker, c clock.Clock, log *slog.Logger) (*schedules, error) {
	triggers, err := tpl.ScheduleTriggers()
	if err != nil {
		return nil, err
	}
	return &schedules{triggers: triggers, inv: inv, clock: c, log: log}, nil
}

// start fires every schedule on its rate until stop.
func (s *schedules) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, tr := range s.triggers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				t := s.clock.NewTimer(tr.Rate)
				var at time.Time
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case at = <-t.C():
				}
				// The tick's own time, as EventBridge dates the event by
				// its schedule, not by when the target got to it.
				if _, err := s.fire(ctx, tr, at); err != nil && ctx.Err() == nil {
					s.log.Error("scheduled invocation failed", "function", tr.Function, "event", tr.Name, "error", err.Error())
				}
			}
		}()
	}
}

func (s *schedules) stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// scheduledEvent is what EventBridge sends a schedule's target.
func scheduledEvent(tr samtemplate.ScheduleTrigger, at time.Time) ([]byte, error) {
	return json.Marshal(events.EventBridgeEvent{
		Version: "0", ID: hostos.UUID(), DetailType: "Scheduled Event", Source: "aws.events",
		AccountID: localAccountID, Time: at.UTC().Truncate(time.Second), Region: "us-east-1",
		Resources: []string{"arn:aws:events:us-east-1:" + localAccountID + ":rule/" + tr.Function + "-" + tr.Name},
		Detail:    json.RawMessage("{}"),
	})
}

func (s *schedules) fire(ctx context.Context, tr samtemplate.ScheduleTrigger, at time.Time) ([]byte, error) {
	payload, err := scheduledEvent(tr, at)
	if err != nil {
		return nil, err
	}
	return s.inv.Invoke(ctx, tr.Function, payload)
}

// run fires function's schedule once, at once, with the event time at.
func (s *schedules) run(ctx context.Context, function string, at time.Time) error {
	for _, tr := range s.triggers {
		if tr.Function == function {
			_, err := s.fire(ctx, tr, at)
			return err
		}
	}
	return fmt.Errorf("%s has no Schedule event in the template", function)
}

// RunSchedule invokes a scheduled function now, as its schedule's next tick
// would, and returns when it has finished: a test need not wait for the
// rate (five minutes for the job sweep).
func (st *Stack) RunSchedule(ctx context.Context, function string) error {
	return st.sched.run(ctx, function, st.sched.clock.Now())
}

// RunScheduleAt invokes a scheduled function as a tick at time at would:
// the sweep takes the event's time as "now", so a test can look past a
// stall timeout without waiting it out.
func (st *Stack) RunScheduleAt(ctx context.Context, function string, at time.Time) error {
	return st.sched.run(ctx, function, at)
}
