package accounts

import "context"

// Message is one e-mail to one person. Text is the whole plain-text body;
// the adapter adds headers, encoding and the sender address.
type Message struct {
	To         string
	SenderName string // the library's name as the sender, e.g. "KPU Library"
	Subject    string
	Text       string
	// Tag says what kind of notice this is ("password-reset-link",
	// "password-reset", "job-finished"), for the sender's metrics; it is
	// never secret.
	Tag string
}

// Mailer sends notices. On AWS it is SES; locally the same SES calls land in
// the stack's outbox. A send that fails is an error: the caller decides
// whether to retry or tell staff.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}
