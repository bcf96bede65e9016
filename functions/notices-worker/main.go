// Command notices-worker is triggered by the notice queue: it sends each
// notice once, making any link or password it carries at send time, paced
// to the configured rate, and retries a failed send up to three attempts.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.Notices }) }
