// Command imports-ingest is triggered by S3 when a file lands under
// imports/ in the import bucket: it checks the file, cuts it into chunks and
// queues them for imports-worker. A refused file is reported by e-mail.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.ObjectCreated }) }
