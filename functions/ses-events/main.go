// Command ses-events is subscribed to the SNS topic of the SES
// configuration set: it records bounces, complaints and deliveries on the
// notices and flags the addresses that bounced or complained.
package main

import (
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.Events(func(h *lambdaevents.Handlers) any { return h.MailEvents }) }
