package clock_test

import (
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
)

func fired(t clock.Timer) bool {
	select {
	case <-t.C():
		return true
	default:
		return false
	}
}

func TestFakeTimersFireOnlyWhenAdvanced(t *testing.T) {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name      string
		after     time.Duration
		advances  []time.Duration
		wantFired []bool // after each advance
	}{
		{"fires at its deadline", time.Second, []time.Duration{999 * time.Millisecond, time.Millisecond}, []bool{false, true}},
		{"fires past its deadline", time.Second, []time.Duration{time.Hour}, []bool{true}},
		{"zero fires at once", 0, []time.Duration{0}, []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock.NewFake(start)
			tm := c.NewTimer(tt.after)
			for i, d := range tt.advances {
				c.Advance(d)
				if got := fired(tm); got != tt.wantFired[i] {
					t.Fatalf("after advance %d (%v): fired = %v, want %v", i, d, got, tt.wantFired[i])
				}
			}
		})
	}
}

func TestFakeStopAndWait(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	waiting := make(chan bool)
	go func() { waiting <- c.WaitForTimers(2, nil) }()
	a := c.NewTimer(time.Minute)
	b := c.NewTimer(2 * time.Minute)
	if !<-waiting {
		t.Fatal("WaitForTimers(2) gave up")
	}
	if !a.Stop() || a.Stop() {
		t.Error("Stop of a pending timer must report true once")
	}
	if n := c.Timers(); n != 1 {
		t.Errorf("%d timers pending after one stopped, want 1", n)
	}
	c.Advance(time.Hour)
	if fired(a) || !fired(b) {
		t.Errorf("a stopped timer fired, or a due one did not")
	}
	if got, want := c.Now(), time.Unix(3600, 0); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	done := make(chan struct{})
	close(done)
	if c.WaitForTimers(1, done) {
		t.Error("WaitForTimers with no timers and done closed reported true")
	}
}
