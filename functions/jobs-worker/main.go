// Command jobs-worker is triggered by the job queue: it reads a shard of a
// bulk job's scope and queues its batches, or applies a batch of users.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.JobTasks }) }
