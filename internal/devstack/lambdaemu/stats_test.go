package lambdaemu_test

import (
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/lambdaemu"
)

// Stats: each answered invocation with its duration (the handler's time,
// not the caller's wait), errors apart, and one init per instance.
func TestStatsCountInvocationsAndInits(t *testing.T) {
	svc, _ := newService(t, func(c *lambdaemu.FunctionConfig) { c.MemoryMB = 512 })
	before := svc.Stats()[fnName]
	if before.Invocations != 0 || before.Inits != 0 || before.MemoryMB != 512 {
		t.Fatalf("before any invocation: %+v", before)
	}
	mustInvoke(t, svc, map[string]any{"action": "echo", "value": 1})
	mustInvoke(t, svc, map[string]any{"action": "sleep", "ms": 200})
	if _, err := invoke(t, svc, map[string]any{"action": "error"}); err == nil {
		t.Fatal("the error action succeeded")
	}
	st := svc.Stats()[fnName]
	if st.Invocations != 3 || st.Errors != 1 {
		t.Errorf("after three invocations, one failing: %+v", st)
	}
	if st.Duration < 200*time.Millisecond || st.Duration > 2*time.Second {
		t.Errorf("duration %v, want the 200ms sleep and a little", st.Duration)
	}
	if st.Inits != 1 || st.InitTotal <= 0 || st.InitMax != st.InitTotal || st.InitTotal > 10*time.Second {
		t.Errorf("one warm instance: inits %d, init %v, max %v", st.Inits, st.InitTotal, st.InitMax)
	}
	if d := st.Sub(before); d.Invocations != 3 || d.MeanDuration() != st.Duration/3 {
		t.Errorf("Sub: %+v", d)
	}
}
