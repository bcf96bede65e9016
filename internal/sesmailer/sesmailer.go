// Package sesmailer sends the domain's notices through Amazon SES (the v1
// API's SendRawEmail). It builds the RFC 5322 message itself, so what is sent
// is exactly what the local stack's outbox shows.
//
// Nothing here logs, and no error carries the message body: a body may hold a
// reset link.
package sesmailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// API is the part of the SES client the mailer uses; *ses.Client has it.
type API interface {
	SendRawEmail(ctx context.Context, in *ses.SendRawEmailInput, optFns ...func(*ses.Options)) (*ses.SendRawEmailOutput, error)
}

// TagName is the SES message tag that carries accounts.Message.Tag, for
// per-kind sending metrics in a configuration set's event destinations.
const TagName = "kind"

// TagHeader is the header that carries accounts.Message.Tag in the message
// itself, where the local outbox and a mailbox can see it.
const TagHeader = "X-Libaccounts-Tag"

const (
	maxSenderName = 200 // runes; a library's name, not an essay
	maxSubject    = 998 // runes
)

// sesTagValue is what SES accepts as a message tag value.
var sesTagValue = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// Mailer is an accounts.Mailer on SES.
type Mailer struct {
	api       API
	from      string // the bare address
	domain    string // its domain, for Message-IDs
	fromErr   error  // a bad fromAddress, reported by every Send
	configSet string // SES configuration set whose event destination reports bounces and complaints
}

var _ accounts.Mailer = (*Mailer)(nil)

// New returns a mailer that sends from fromAddress, a bare address that SES
// has verified (e.g. no-reply@accounts.example.org). A malformed address is
// not a panic: every Send reports it as an internal error.
//
// The SES client should have the SDK's retries off (see lambdaenv.Env.SES):
// the notice pipeline retries, three attempts in all, and counts them.
func New(api API, fromAddress string) *Mailer {
	m := &Mailer{api: api, from: fromAddress}
	if err := bareAddress(fromAddress); err != nil {
		m.fromErr = fmt.Errorf("sesmailer: sender address %q: %w", fromAddress, err)
	} else {
		m.domain = fromAddress[strings.LastIndexByte(fromAddress, '@')+1:]
	}
	return m
}

// WithConfigurationSet sends every message through the named SES
// configuration set, whose event destination reports bounces, complaints
// and deliveries with the message's tags.
func (m *Mailer) WithConfigurationSet(name string) *Mailer {
	m.configSet = name
	return m
}

// Send builds msg into a MIME message, sends it to msg.To and returns SES's
// message id. Every failure carries an *accounts.MailError saying whether
// retrying can help: bad input and SES's refusals are permanent, throttling,
// 5xx and timeouts are not. The codes stay as callers know them: bad input
// CodeInvalid, throttling or an outage CodeUnavailable, anything else
// CodeInternal.
func (m *Mailer) Send(ctx context.Context, msg accounts.Message) (string, error) {
	if m.fromErr != nil {
		return "", &accounts.Error{Code: accounts.CodeInternal, Message: "internal error", Err: &accounts.MailError{Permanent: true, Reason: "the sender address is not valid", Err: m.fromErr}}
	}
	raw, err := m.build(msg, time.Now())
	if err != nil {
		if e, ok := err.(*accounts.Error); ok && e.Code == accounts.CodeInvalid {
			e.Err = &accounts.MailError{Permanent: true, Reason: "the message was refused before sending: " + e.Message}
		}
		return "", err
	}
	in := &ses.SendRawEmailInput{
		RawMessage:   &types.RawMessage{Data: raw},
		Destinations: []string{msg.To},
		Source:       aws.String(m.from),
	}
	if m.configSet != "" {
		in.ConfigurationSetName = aws.String(m.configSet)
	}
	if sesTagValue.MatchString(msg.Tag) {
		in.Tags = append(in.Tags, types.MessageTag{Name: aws.String(TagName), Value: aws.String(msg.Tag)})
	}
	names := make([]string, 0, len(msg.Tags))
	for k := range msg.Tags {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		// SES refuses the whole message for one bad tag; a tag is worth
		// less than the mail.
		if k != TagName && sesTagValue.MatchString(k) && sesTagValue.MatchString(msg.Tags[k]) {
			in.Tags = append(in.Tags, types.MessageTag{Name: aws.String(k), Value: aws.String(msg.Tags[k])})
		}
	}
	out, err := m.api.SendRawEmail(ctx, in)
	if err != nil {
		return "", sendError(err, msg.Tag)
	}
	return aws.ToString(out.MessageId), nil
}

// permanentCodes are the SES (v1) errors that the same message will meet
// again, with what they mean to staff reading the notice.
var permanentCodes = map[string]string{
	"MessageRejected":                        "SES rejected the message",
	"MailFromDomainNotVerifiedException":     "the sender's MAIL FROM domain is not verified in SES",
	"AccountSendingPausedException":          "SES has paused sending for the account",
	"ConfigurationSetSendingPausedException": "SES has paused sending for the configuration set",
	"ConfigurationSetDoesNotExistException":  "the SES configuration set does not exist",
	"InvalidParameterValue":                  "SES refused a parameter, e.g. a malformed address",
	"AccessDenied":                           "this function may not send through SES",
}

// sendError maps an SES failure onto the project's codes and says whether
// retrying can help. The SDK's errors name the operation, status and
// request ID, never the request body.
func sendError(err error, tag string) error {
	err = fmt.Errorf("sesmailer: send %q message: %w", tag, err)
	var apiErr smithy.APIError
	hasCode := errors.As(err, &apiErr)
	switch {
	case hasCode && permanentCodes[apiErr.ErrorCode()] != "":
		reason := fmt.Sprintf("%s (SES %s)", permanentCodes[apiErr.ErrorCode()], apiErr.ErrorCode())
		return &accounts.Error{Code: accounts.CodeInternal, Message: "internal error", Err: &accounts.MailError{Permanent: true, Reason: reason, Err: err}}
	case isThrottle(err):
		reason := "SES is throttling sends"
		if hasCode {
			reason += " (SES " + apiErr.ErrorCode() + ")"
		}
		return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the mail service is busy; try again later", Err: &accounts.MailError{Reason: reason, Err: err}}
	case errors.Is(err, context.DeadlineExceeded),
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary,
		hasCode && apiErr.ErrorFault() == smithy.FaultServer:
		// A 5xx, a dropped connection or a timeout.
		return &accounts.Error{Code: accounts.CodeUnavailable, Message: "the mail service is unavailable; try again later", Err: &accounts.MailError{Reason: "SES was unavailable", Err: err}}
	case hasCode:
		// An error this adapter does not know: worth the remaining
		// attempts, which are few.
		return &accounts.Error{Code: accounts.CodeInternal, Message: "internal error", Err: &accounts.MailError{Reason: "SES error " + apiErr.ErrorCode(), Err: err}}
	default:
		return accounts.Internal(&accounts.MailError{Reason: "the mail could not be sent", Err: err})
	}
}

// sesThrottles are SES's own throttling codes, on top of the SDK's list
// ("Throttling" is what SES answers for both the sending rate and the daily
// quota; LimitExceededException is the code the SDK's standard retryer
// also counts as a throttle).
var sesThrottles = map[string]struct{}{
	"MaxSendingRateExceeded": {},
	"DailyQuotaExceeded":     {},
	"SendingQuotaExceeded":   {},
	"TooManyRequests":        {},
	"ServiceUnavailable":     {},
	"LimitExceededException": {},
}

func isThrottle(err error) bool {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		_, ok := sesThrottles[apiErr.ErrorCode()]
		return ok
	}
	return false
}

// build renders msg as an RFC 5322 message with CRLF line endings and a
// quoted-printable UTF-8 text body.
func (m *Mailer) build(msg accounts.Message, now time.Time) ([]byte, error) {
	if err := bareAddress(msg.To); err != nil {
		return nil, accounts.FieldError("to", "the recipient must be a plain e-mail address such as reader@example.org")
	}
	if hasLineBreak(msg.SenderName) {
		return nil, accounts.FieldError("senderName", "the sender name must not contain line breaks")
	}
	if strings.IndexFunc(msg.SenderName, unicode.IsControl) >= 0 {
		return nil, accounts.FieldError("senderName", "the sender name must not contain control characters")
	}
	if hasLineBreak(msg.Subject) {
		return nil, accounts.FieldError("subject", "the subject must not contain line breaks")
	}
	if hasLineBreak(msg.Tag) || !printableASCII(msg.Tag) {
		return nil, accounts.FieldError("tag", "the tag must be printable ASCII")
	}
	if !utf8.ValidString(msg.SenderName) || utf8.RuneCountInString(msg.SenderName) > maxSenderName {
		return nil, accounts.FieldError("senderName", "the sender name must be valid UTF-8 of at most %d characters", maxSenderName)
	}
	if !utf8.ValidString(msg.Subject) || utf8.RuneCountInString(msg.Subject) > maxSubject {
		return nil, accounts.FieldError("subject", "the subject must be valid UTF-8 of at most %d characters", maxSubject)
	}
	if !utf8.ValidString(msg.Text) {
		return nil, accounts.FieldError("text", "the text must be valid UTF-8")
	}
	id, err := messageID(m.domain)
	if err != nil {
		return nil, accounts.Internal(err)
	}

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	from := m.from
	if msg.SenderName != "" {
		// A quoted string for an ASCII name; RFC 2047 Q-encoding for any other,
		// or B-encoding when the name holds characters (quotes, parentheses,
		// commas...) that an encoded word in a phrase may not carry.
		from = (&mail.Address{Name: msg.SenderName, Address: m.from}).String()
		if !printableASCII(msg.SenderName) {
			// Encoded words hold no spaces: fold between them, and before
			// the address, to keep a long name's line under 998.
			from = fold(len("From: "), strings.Split(from, " "))
		}
	}
	header("From", from)
	header("To", msg.To)
	header("Subject", subject(msg.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if msg.Tag != "" {
		header(TagHeader, msg.Tag)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(msg.Text)); err != nil {
		return nil, accounts.Internal(fmt.Errorf("sesmailer: encode body: %w", err))
	}
	if err := qp.Close(); err != nil {
		return nil, accounts.Internal(fmt.Errorf("sesmailer: encode body: %w", err))
	}
	return b.Bytes(), nil
}

// subject returns the Subject header's value: plain ASCII as is, folded at
// single spaces; anything else (non-ASCII, runs of spaces, a literal "=?",
// an unbreakable run) as RFC 2047 Q-encoded words, one line each at most 78
// characters. Either way a reader that unfolds and decodes gets exactly the
// original text back.
func subject(s string) string {
	if printableASCII(s) && len(s) <= 900 && !strings.Contains(s, "=?") && s == strings.TrimSpace(s) && !strings.Contains(s, "  ") {
		return fold(len("Subject: "), strings.Split(s, " "))
	}
	return fold(len("Subject: "), qWords(s, 78-len("Subject: ")))
}

// qWords encodes s as RFC 2047 "Q" encoded words of at most size characters,
// split between characters (never inside one). Unlike mime.QEncoding it
// always encodes, and it leaves literal only what RFC 2047 section 5(3)
// allows anywhere, so words can be placed side by side and decode to s.
func qWords(s string, size int) []string {
	const prefix, suffix = "=?utf-8?q?", "?="
	var (
		words []string
		cur   strings.Builder
		buf   [utf8.UTFMax]byte
	)
	for _, r := range s {
		var enc strings.Builder
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			switch {
			case c == ' ':
				enc.WriteByte('_')
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
				enc.WriteByte(c)
			default:
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		if cur.Len() > 0 && len(prefix)+cur.Len()+enc.Len()+len(suffix) > size {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc.String())
	}
	return append(words, prefix+cur.String()+suffix)
}

// fold joins words with single spaces, or with a line fold (CRLF SP) where a
// line would pass 78 characters; an over-long word stays whole.
func fold(used int, words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			if used+1+len(w) > 78 {
				b.WriteString("\r\n ")
				used = 1
			} else {
				b.WriteByte(' ')
				used++
			}
		}
		b.WriteString(w)
		used += len(w)
	}
	return b.String()
}

func messageID(domain string) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("sesmailer: message id: %w", err)
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">", nil
}

// bareAddress accepts only a plain ASCII addr-spec such as a@example.org: no
// display name, angle brackets, comments or surrounding space. SES does not
// take non-ASCII (SMTPUTF8) addresses.
func bareAddress(s string) error {
	if hasLineBreak(s) {
		return errors.New("contains a line break")
	}
	if !printableASCII(s) {
		return errors.New("is not printable ASCII")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return err
	}
	if a.Name != "" || a.Address != s {
		return errors.New("is not a bare address")
	}
	return nil
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
