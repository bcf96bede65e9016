// Command imports-worker is triggered by the chunk queue, one chunk per
// invocation: it imports the chunk's rows (hashing passwords on every vCPU)
// and, after the last chunk, e-mails the job's notice.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.ImportChunks }) }
