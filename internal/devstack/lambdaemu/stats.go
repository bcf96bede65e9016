package lambdaemu

import (
	"sync"
	"time"
)

// FunctionStats is what a function has done since the service started: how
// long its invocations ran (the time Lambda bills, from the runtime taking
// the event to its answer) and how long its instances took to start.
type FunctionStats struct {
	MemoryMB int
	// Invocations counts the events the function answered (a response or
	// an error); Errors those answered with an error. An invocation that
	// timed out or crashed is in neither: it never answered.
	Invocations, Errors int
	Duration            time.Duration // sum over Invocations
	// Inits counts instances that reached their first
	// /runtime/invocation/next; InitTotal and InitMax are the time from
	// process start to that request (Lambda's init duration).
	Inits     int
	InitTotal time.Duration
	InitMax   time.Duration
}

// MeanDuration is the mean duration of an invocation, 0 without any.
func (s FunctionStats) MeanDuration() time.Duration {
	if s.Invocations == 0 {
		return 0
	}
	return s.Duration / time.Duration(s.Invocations)
}

// MeanInit is the mean init time, 0 without any.
func (s FunctionStats) MeanInit() time.Duration {
	if s.Inits == 0 {
		return 0
	}
	return s.InitTotal / time.Duration(s.Inits)
}

// Sub is what happened between an earlier snapshot and s (InitMax is s's).
func (s FunctionStats) Sub(earlier FunctionStats) FunctionStats {
	s.Invocations -= earlier.Invocations
	s.Errors -= earlier.Errors
	s.Duration -= earlier.Duration
	s.Inits -= earlier.Inits
	s.InitTotal -= earlier.InitTotal
	return s
}

type statsRecorder struct {
	mu sync.Mutex
	s  FunctionStats
}

func (fn *function) recordInit(d time.Duration) {
	fn.stats.mu.Lock()
	defer fn.stats.mu.Unlock()
	fn.stats.s.Inits++
	fn.stats.s.InitTotal += d
	fn.stats.s.InitMax = max(fn.stats.s.InitMax, d)
}

func (fn *function) recordInvocation(d time.Duration, failed bool) {
	fn.stats.mu.Lock()
	defer fn.stats.mu.Unlock()
	fn.stats.s.Invocations++
	fn.stats.s.Duration += d
	if failed {
		fn.stats.s.Errors++
	}
}

// Stats returns every function's figures so far, by name. A caller
// measuring one piece of work takes Stats before and after and subtracts.
func (s *Service) Stats() map[string]FunctionStats {
	out := make(map[string]FunctionStats, len(s.fns))
	for name, fn := range s.fns {
		fn.stats.mu.Lock()
		st := fn.stats.s
		fn.stats.mu.Unlock()
		st.MemoryMB = fn.cfg.MemoryMB
		out[name] = st
	}
	return out
}
