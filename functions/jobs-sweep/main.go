// Command jobs-sweep runs every five minutes: it ends any job that has made
// no progress for JOB_STALL_TIMEOUT, with its notice, so no job stays
// running forever.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.SweepJobs }) }
