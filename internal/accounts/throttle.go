package accounts

import (
	"context"
	"time"
)

// Throttle counts requests per key in fixed windows. Keys are built with
// lookupHash, so a name or an address never reaches the store; each key and
// window is its own item, so no counter becomes a hot partition.
type Throttle interface {
	// Allow counts one request against key in the window of length window
	// that holds now, and reports whether the count is still within
	// limit. now is the service's clock, so that windows move with it (a
	// test's fake clock opens the next window without sleeping).
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error)
	// Count reads how many requests key has had in the window that holds
	// now, without counting one: for limits on failures, checked before
	// an attempt and counted only when it fails.
	Count(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
}

// allow asks the throttle, if there is one; nil allows everything.
func (s *Service) allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	if s.limits == nil {
		return true, nil
	}
	return s.limits.Allow(ctx, key, limit, window, s.now())
}

// count reads a throttle's count, if there is one; nil counts nothing.
func (s *Service) count(ctx context.Context, key string, window time.Duration) (int, error) {
	if s.limits == nil {
		return 0, nil
	}
	return s.limits.Count(ctx, key, window, s.now())
}
