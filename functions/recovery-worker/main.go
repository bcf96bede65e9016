// Command recovery-worker is triggered by the recovery queue: it resolves
// each patron's forgot-password or forgot-username request and raises the
// one notice that answers it, if any account matches.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.Recovery }) }
