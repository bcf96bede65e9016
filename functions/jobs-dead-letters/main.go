// Command jobs-dead-letters reads the chunk and job dead-letter queues: the
// rows or users a message covered are recorded as failed, and the job ends
// when nothing else is pending.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.DeadLetters }) }
