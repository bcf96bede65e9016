package accounts

import "context"

// Message is one e-mail to one person. Text is the whole plain-text body;
// the adapter adds headers, encoding and the sender address.
type Message struct {
	To         string
	SenderName string // the library's name as the sender, e.g. "KPU Library"
	Subject    string
	Text       string
	// Tag says what kind of notice this is (a NoticeKind), for the
	// sender's metrics; it is never secret.
	Tag string
	// Tags name the notice (tenant, user, notice ids) so that what the
	// provider later reports about the message (a bounce, a complaint)
	// finds its notice; ids only, never secret.
	Tags map[string]string
}

// Mailer sends notices; only the notice pipeline calls it. On AWS it is SES;
// locally the same SES calls land in the stack's outbox. Send returns the
// provider's message id; a failure says in a *MailError whether retrying
// can help.
type Mailer interface {
	Send(ctx context.Context, m Message) (providerMessageID string, err error)
}

// MailError is a failed send as the mailer classifies it.
type MailError struct {
	// Permanent: the same message will fail again (rejected, sender not
	// verified, sending paused, a malformed address), so it is not retried.
	Permanent bool
	// Reason is short and fit for the notice record and staff: the
	// provider's error code and what it means, never the message.
	Reason string
	Err    error
}

func (e *MailError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *MailError) Unwrap() error { return e.Err }
