// Package sesemu is the dev stack's Amazon SES: an endpoint the unmodified
// SDK's SES client sends to, which keeps every message as an .eml file in
// an outbox directory, and the outbox's listing for a developer to read
// them. Nothing is ever delivered, but a send that names a configuration set
// publishes the events SES would (simulator.go): SES's mailbox simulator
// addresses bounce and complain as they do on AWS. A maximum send rate and
// injected faults (faults.go) let tests meet SES's errors.
package sesemu

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// The local SES speaks the v1 Query API (form-encoded POST, XML answers) well
// enough for the unmodified AWS SDK v2 SES client: SendRawEmail and SendEmail.
// Every accepted message becomes one .eml file in the outbox; nothing is
// delivered and nothing is logged, since a message may hold a reset link.
//
// The handler ignores the request path and the SigV4 signature, so it can be
// mounted under any prefix: the SDK sends to BaseEndpoint's path plus "/".

const (
	sesNamespace = "http://ses.amazonaws.com/doc/2010-12-01/"
	sesVersion   = "2010-12-01"
	// sesMaxMessage is SES v1's limit on a whole message, headers included.
	sesMaxMessage = 10 << 20
	// sesMaxRequest bounds the form: base64 and URL escaping of sesMaxMessage.
	sesMaxRequest = 3 * sesMaxMessage
)

// Headers the local SES puts on top of a stored message to record what real
// SES would have used but does not deliver: the envelope and the tags.
const (
	hdrSESAction       = "X-Local-Ses-Action"
	hdrSESSource       = "X-Local-Ses-Source"
	hdrSESDestinations = "X-Local-Ses-Destinations"
	hdrSESTags         = "X-Local-Ses-Tags"
	hdrSESConfigSet    = "X-Local-Ses-Configuration-Set"
)

// sesTagPart is what SES accepts as a message tag name or value.
var sesTagPart = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// Options configures a Server.
type Options struct {
	// OutboxDir receives each accepted message as
	// <UTC timestamp>-<message id>.eml.
	OutboxDir string
	// ConfigurationSets maps each configuration set's name to where SES
	// publishes its events. When it is set, a send naming another set is
	// refused as SES refuses it (ConfigurationSetDoesNotExist); when nil,
	// any name is accepted and nothing is published.
	ConfigurationSets map[string][]Destination
	// Publish hands one event (SES's event-publishing JSON) to an SNS
	// topic. It is called before the send is answered, so an accepted
	// message's events are never lost; it should queue, not deliver.
	Publish func(ctx context.Context, topic string, message []byte) error
	// MaxRate caps accepted sends per second, as an SES account's maximum
	// send rate does: a send beyond it is refused with SES's Throttling
	// error. 0 is no limit.
	MaxRate float64
	// Clock stamps messages and events and paces MaxRate; default the real
	// one.
	Clock clock.Clock
	// Region and AccountID go into event ARNs; default us-east-1 and
	// 123456789012.
	Region, AccountID string
}

// Destination is one event destination of a configuration set.
type Destination struct {
	Topic  string   // the SNS topic Publish is given
	Events []string // event types as CloudFormation writes them: bounce, complaint, delivery, ...
}

// Server is the local SES endpoint. Its methods are safe for concurrent use.
type Server struct {
	dir  string
	now  func() time.Time
	opts Options

	mu     sync.Mutex
	faults map[string][]*injected // lower-cased address -> pending faults, oldest first
	tokens float64                // MaxRate's bucket
	filled time.Time              // when tokens was last topped up
	stats  Stats
}

// Stats counts what the local SES answered.
type Stats struct {
	Accepted  int `json:"accepted"`
	Throttled int `json:"throttled"` // refused for MaxRate
	Injected  int `json:"injected"`  // refused with an injected fault
	Events    int `json:"events"`    // events published
}

// New returns the local SES endpoint that writes each message to outboxDir,
// with no configuration sets, rate limit or events.
func New(outboxDir string) *Server { return NewServer(Options{OutboxDir: outboxDir}) }

// NewServer returns the local SES endpoint configured by opts.
func NewServer(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	return &Server{dir: opts.OutboxDir, now: opts.Clock.Now, opts: opts, faults: map[string][]*injected{}, tokens: max(1, opts.MaxRate)}
}

// Stats returns the counts so far.
func (h *Server) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// sesFault is an SES error answer.
type sesFault struct {
	status  int
	code    string
	message string
}

func (f *sesFault) Error() string { return f.code + ": " + f.message }

func sesSender(code, format string, args ...any) *sesFault {
	return &sesFault{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func (h *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := hostos.UUID()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeSESError(w, requestID, &sesFault{status: http.StatusMethodNotAllowed, code: "InvalidAction", message: "the local SES takes only POST"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, sesMaxRequest)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeSESError(w, requestID, sesSender("MessageRejected", "Message length is more than %d bytes long", sesMaxMessage))
			return
		}
		writeSESError(w, requestID, sesSender("MalformedQueryString", "the request body is not a valid form"))
		return
	}
	action := r.PostForm.Get("Action")
	if action == "" {
		writeSESError(w, requestID, sesSender("MissingAction", "the request names no Action"))
		return
	}
	if v := r.PostForm.Get("Version"); v != sesVersion {
		writeSESError(w, requestID, sesSender("NoSuchVersion", "the requested version (%s) of service SES does not exist", v))
		return
	}
	var (
		out *outgoing
		err error
	)
	now := h.now()
	messageID := newSESMessageID(now)
	switch action {
	case "SendRawEmail":
		out, err = rawEmail(r.PostForm)
	case "SendEmail":
		out, err = simpleEmail(r.PostForm, messageID, now)
	default:
		writeSESError(w, requestID, sesSender("InvalidAction", "the action %s is not valid for this web service", strconv.Quote(action)))
		return
	}
	if err != nil {
		var f *sesFault
		if !errors.As(err, &f) {
			f = &sesFault{status: http.StatusInternalServerError, code: "InternalFailure", message: "the local SES could not build the message"}
		}
		writeSESError(w, requestID, f)
		return
	}
	if f := h.admit(out, now); f != nil {
		writeSESError(w, requestID, f)
		return
	}
	if err := h.store(now, messageID, out.eml); err != nil {
		writeSESError(w, requestID, &sesFault{status: http.StatusInternalServerError, code: "InternalFailure", message: "the local SES could not store the message"})
		return
	}
	if err := h.publish(r.Context(), out, messageID, now); err != nil {
		writeSESError(w, requestID, &sesFault{status: http.StatusInternalServerError, code: "InternalFailure", message: "the local SES could not publish the message's events"})
		return
	}
	h.mu.Lock()
	h.stats.Accepted++
	h.mu.Unlock()
	writeSESResult(w, requestID, action, messageID)
}

// admit decides whether SES would take the message: its configuration set
// must exist, an injected fault for a recipient answers instead, and so
// does the rate limit.
func (h *Server) admit(out *outgoing, now time.Time) *sesFault {
	if out.configSet != "" && h.opts.ConfigurationSets != nil {
		if _, ok := h.opts.ConfigurationSets[out.configSet]; !ok {
			return sesSender("ConfigurationSetDoesNotExist", "Configuration set <%s> does not exist.", out.configSet)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range out.destinations {
		if f := h.takeFault(d); f != nil {
			h.stats.Injected++
			return f
		}
	}
	if h.opts.MaxRate > 0 {
		burst := max(1, h.opts.MaxRate)
		if !h.filled.IsZero() {
			h.tokens = min(burst, h.tokens+now.Sub(h.filled).Seconds()*h.opts.MaxRate)
		}
		h.filled = now
		if h.tokens < 1 {
			h.stats.Throttled++
			return sesSender("Throttling", "Maximum sending rate exceeded.")
		}
		h.tokens--
	}
	return nil
}

// store writes eml into the outbox atomically: readers see a whole file or
// none.
func (h *Server) store(now time.Time, messageID string, eml []byte) (err error) {
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(h.dir, ".ses-*.tmp") // 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(eml); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	name := now.UTC().Format(outboxTimeLayout) + "-" + messageID + ".eml"
	return os.Rename(f.Name(), filepath.Join(h.dir, name))
}

// outgoing is an accepted request: the message to store and what SES would
// know of it when it publishes events.
type outgoing struct {
	eml          []byte
	source       string // the envelope sender, or the From header's address
	destinations []string
	tags         [][2]string
	configSet    string
	headers      mail.Header // the client's own headers
}

// rawEmail checks a SendRawEmail request and returns the message to store:
// the client's bytes as sent, under the envelope headers. As on SES, the
// message may name its configuration set and tags in X-SES-CONFIGURATION-SET
// and X-SES-MESSAGE-TAGS headers; the request's parameters win.
func rawEmail(form map[string][]string) (*outgoing, error) {
	get := func(k string) string { return first(form[k]) }
	data, ok := form["RawMessage.Data"]
	if !ok {
		return nil, sesSender("ValidationError", "1 validation error detected: Value null at 'rawMessage.data' failed to satisfy constraint: Member must not be null")
	}
	raw, err := base64.StdEncoding.DecodeString(first(data))
	if err != nil {
		return nil, sesSender("InvalidParameterValue", "RawMessage.Data is not valid base64")
	}
	if len(raw) == 0 {
		return nil, sesSender("MessageRejected", "Empty message")
	}
	if len(raw) > sesMaxMessage {
		return nil, sesSender("MessageRejected", "Message length is more than %d bytes long", sesMaxMessage)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, sesSender("MessageRejected", "the message headers cannot be parsed")
	}
	source := get("Source")
	if source == "" && msg.Header.Get("From") == "" {
		return nil, sesSender("MessageRejected", "Missing required header 'From'.")
	}
	if source != "" {
		if err := checkAddress(source); err != nil {
			return nil, err
		}
	}
	destinations := members(form, "Destinations")
	if len(destinations) == 0 {
		for _, h := range []string{"To", "Cc", "Bcc"} {
			if list, err := msg.Header.AddressList(h); err == nil {
				for _, a := range list {
					destinations = append(destinations, a.Address)
				}
			}
		}
	}
	if len(destinations) == 0 {
		return nil, sesSender("MessageRejected", "the message has no recipients")
	}
	for _, d := range destinations {
		if err := checkAddress(d); err != nil {
			return nil, err
		}
	}
	tags, err := messageTags(form)
	if err != nil {
		return nil, err
	}
	headerTags, err := headerTags(msg.Header.Get("X-SES-MESSAGE-TAGS"))
	if err != nil {
		return nil, err
	}
	for _, t := range headerTags {
		if !slices.ContainsFunc(tags, func(u [2]string) bool { return u[0] == t[0] }) {
			tags = append(tags, t)
		}
	}
	configSet := get("ConfigurationSetName")
	if configSet == "" {
		configSet = strings.TrimSpace(msg.Header.Get("X-SES-CONFIGURATION-SET"))
	}
	if source == "" {
		if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
			source = a.Address
		}
	}
	var b bytes.Buffer
	envelope(&b, "SendRawEmail", get("Source"), destinations, tags, configSet)
	b.Write(raw)
	return &outgoing{eml: b.Bytes(), source: source, destinations: destinations, tags: tags, configSet: configSet, headers: msg.Header}, nil
}

// headerTags reads an X-SES-MESSAGE-TAGS header: "name=value, name=value".
func headerTags(v string) ([][2]string, error) {
	var tags [][2]string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !sesTagPart.MatchString(name) || !sesTagPart.MatchString(value) {
			return nil, sesSender("InvalidParameterValue", "the X-SES-MESSAGE-TAGS header must be name=value pairs of ASCII letters, digits, '_' and '-', separated by commas")
		}
		tags = append(tags, [2]string{name, value})
	}
	return tags, nil
}

// simpleEmail builds the message SES would send for a SendEmail request.
func simpleEmail(form map[string][]string, messageID string, now time.Time) (*outgoing, error) {
	get := func(k string) string { return first(form[k]) }
	source := get("Source")
	if source == "" {
		return nil, sesSender("ValidationError", "1 validation error detected: Value null at 'source' failed to satisfy constraint: Member must not be null")
	}
	to := members(form, "Destination.ToAddresses")
	cc := members(form, "Destination.CcAddresses")
	bcc := members(form, "Destination.BccAddresses")
	replyTo := members(form, "ReplyToAddresses")
	for _, list := range [][]string{{source}, to, cc, bcc, replyTo} {
		for _, a := range list {
			if err := checkAddress(a); err != nil {
				return nil, err
			}
		}
	}
	destinations := append(append(append([]string{}, to...), cc...), bcc...)
	if len(destinations) == 0 {
		return nil, sesSender("MessageRejected", "the message has no recipients")
	}
	if _, ok := form["Message.Subject.Data"]; !ok {
		return nil, sesSender("ValidationError", "1 validation error detected: Value null at 'message.subject.data' failed to satisfy constraint: Member must not be null")
	}
	subject := get("Message.Subject.Data")
	if strings.ContainsAny(subject, "\r\n") {
		return nil, sesSender("InvalidParameterValue", "the subject contains a line break")
	}
	tags, err := messageTags(form)
	if err != nil {
		return nil, err
	}
	text, hasText := form["Message.Body.Text.Data"]
	html, hasHTML := form["Message.Body.Html.Data"]

	var b bytes.Buffer
	envelope(&b, "SendEmail", source, destinations, tags, get("ConfigurationSetName"))
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", source)
	if len(to) > 0 {
		header("To", strings.Join(to, ", "))
	}
	if len(cc) > 0 {
		header("Cc", strings.Join(cc, ", "))
	}
	if len(replyTo) > 0 {
		header("Reply-To", strings.Join(replyTo, ", "))
	}
	header("Subject", encodeHeader(subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+messageID+"@email.amazonses.com>")
	header("MIME-Version", "1.0")
	switch {
	case hasText && hasHTML:
		mw := multipart.NewWriter(&b)
		header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		b.WriteString("\r\n")
		for _, part := range []struct{ typ, body string }{{"text/plain", first(text)}, {"text/html", first(html)}} {
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {part.typ + "; charset=UTF-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(pw, part.body); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
	default:
		typ, body := "text/plain", first(text)
		if hasHTML {
			typ, body = "text/html", first(html)
		}
		header("Content-Type", typ+"; charset=UTF-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, body); err != nil {
			return nil, err
		}
	}
	out := &outgoing{eml: b.Bytes(), source: source, destinations: destinations, tags: tags, configSet: get("ConfigurationSetName")}
	if msg, err := mail.ReadMessage(bytes.NewReader(out.eml)); err == nil {
		out.headers = msg.Header
	}
	return out, nil
}

// envelope writes the X-Local-Ses-* headers; every value was checked for
// line breaks.
func envelope(b *bytes.Buffer, action, source string, destinations []string, tags [][2]string, configSet string) {
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header(hdrSESAction, action)
	if source != "" {
		header(hdrSESSource, source)
	}
	header(hdrSESDestinations, strings.Join(destinations, ", "))
	if len(tags) > 0 {
		parts := make([]string, len(tags))
		for i, t := range tags {
			parts[i] = t[0] + "=" + t[1]
		}
		header(hdrSESTags, strings.Join(parts, "; "))
	}
	if configSet != "" && sesTagPart.MatchString(configSet) {
		header(hdrSESConfigSet, configSet)
	}
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}

// encodeHeader returns s as a header value: as is when it is printable ASCII,
// else as folded RFC 2047 Q-encoded words.
func encodeHeader(s string) string {
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

// checkAddress accepts what SES accepts as an address parameter: one
// RFC 5322 address, display name allowed, on one line.
func checkAddress(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return sesSender("InvalidParameterValue", "Illegal address")
	}
	if _, err := mail.ParseAddress(s); err != nil {
		return sesSender("InvalidParameterValue", "Illegal address")
	}
	return nil
}

// messageTags reads Tags.member.N.Name/Value, checked as SES checks them.
func messageTags(form map[string][]string) ([][2]string, error) {
	var tags [][2]string
	for n := 1; ; n++ {
		name, ok := form["Tags.member."+strconv.Itoa(n)+".Name"]
		if !ok {
			return tags, nil
		}
		value := form["Tags.member."+strconv.Itoa(n)+".Value"]
		t := [2]string{first(name), first(value)}
		if !sesTagPart.MatchString(t[0]) || !sesTagPart.MatchString(t[1]) {
			return nil, sesSender("InvalidParameterValue", "a message tag name or value may hold only ASCII letters, digits, '_' and '-', at most 255 of them")
		}
		tags = append(tags, t)
	}
}

// members reads a Query API list: key.member.1, key.member.2, ...
func members(form map[string][]string, key string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	prefix := key + ".member."
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			continue
		}
		items = append(items, item{n, first(v)})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

type sesResult struct {
	XMLName   xml.Name
	MessageID string `xml:"MessageId"`
}

type sesResponse struct {
	XMLName   xml.Name
	Result    sesResult
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type sesErrorResponse struct {
	XMLName xml.Name `xml:"http://ses.amazonaws.com/doc/2010-12-01/ ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeSESResult(w http.ResponseWriter, requestID, action, messageID string) {
	writeSESXML(w, http.StatusOK, requestID, sesResponse{
		XMLName:   xml.Name{Space: sesNamespace, Local: action + "Response"},
		Result:    sesResult{XMLName: xml.Name{Local: action + "Result"}, MessageID: messageID},
		RequestID: requestID,
	})
}

func writeSESError(w http.ResponseWriter, requestID string, f *sesFault) {
	var e sesErrorResponse
	e.Error.Type = "Sender"
	if f.status >= 500 {
		e.Error.Type = "Receiver"
	}
	e.Error.Code, e.Error.Message, e.RequestID = f.code, f.message, requestID
	writeSESXML(w, f.status, requestID, e)
}

func writeSESXML(w http.ResponseWriter, status int, requestID string, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "local SES: cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// newSESMessageID returns an id shaped like SES's own
// (0100018c2b1d6f4a-1b2c...-000000): safe in a file name.
func newSESMessageID(now time.Time) string {
	return fmt.Sprintf("0100%012x-%s-000000", now.UnixMilli(), hostos.UUID())
}
