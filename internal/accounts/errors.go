package accounts

import (
	"errors"
	"fmt"
	"time"
)

// Code is the project's one error vocabulary. Adapters map codes to their own
// protocol (HTTP statuses, per-row outcomes); nothing else decides what a
// caller is told.
type Code string

const (
	CodeInvalid              Code = "invalid"               // the request is malformed or breaks a rule
	CodeUnauthorized         Code = "unauthorized"          // no valid credentials
	CodeForbidden            Code = "forbidden"             // authenticated, but not allowed
	CodeNotFound             Code = "not_found"             // absent, or belongs to another tenant
	CodeConflict             Code = "conflict"              // uniqueness or version clash
	CodePreconditionRequired Code = "precondition_required" // a confirmation or version is missing
	CodeTooLarge             Code = "too_large"             // the body or file is over a limit
	CodeUnavailable          Code = "unavailable"           // a dependency is throttled or down; retry
	CodeTooManyRequests      Code = "too_many_requests"     // the caller (e.g. one source address) is over a rate limit
	CodeInternal             Code = "internal"              // a bug or an unexpected failure; never shown
)

// Codes returns every code of the vocabulary, so that an adapter's tests can
// check that each one has its own answer in the adapter's protocol. A new
// code goes here as well as in the const block above.
func Codes() []Code {
	return []Code{
		CodeInvalid, CodeUnauthorized, CodeForbidden, CodeNotFound, CodeConflict,
		CodePreconditionRequired, CodeTooLarge, CodeUnavailable, CodeTooManyRequests, CodeInternal,
	}
}

// Error carries a code, a message that is safe to show the caller, and the
// wrapped cause, which may hold internal detail and is only logged.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending input field, when there is one
	// RetryAfter, when set, says how long the caller should wait before
	// trying again (a throttle's window); adapters pass it on.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error with a caller-safe message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is an invalid-input error that names the field at fault.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure; its detail goes to the log only.
func Internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal for any other non-nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }

// PublicMessage is what a caller may be shown for err: the message of a coded
// error, and a fixed text for anything internal.
func PublicMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error"
}

// PublicField returns the offending field of a coded error, if any.
func PublicField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
