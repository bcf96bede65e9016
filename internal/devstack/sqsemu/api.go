package sqsemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// The SQS API over the AWS JSON 1.0 protocol: POST, X-Amz-Target
// AmazonSQS.<Operation>, a JSON body; errors are
// {"__type": "com.amazonaws.sqs#<Shape>", "message": ...} with the legacy
// query error code in x-amzn-query-error ("<code>;Sender"), which the SDK
// (SQS is awsQueryCompatible) reports as the error code, e.g. a
// *types.QueueDoesNotExist whose ErrorCode() is
// AWS.SimpleQueueService.NonExistentQueue. Signatures are not checked.

const maxRequestBytes = 8 << 20

type apiError struct {
	status   int
	typ      string // shape name in com.amazonaws.sqs, or a full "namespace#Name"
	query    string // the awsQuery error code, "" for none
	msg      string
	receiver bool // the fault is the service's
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func (e *apiError) code() string {
	if e.query != "" {
		return e.query
	}
	return e.typ
}

func errQueueDoesNotExist() *apiError {
	return &apiError{status: 400, typ: "QueueDoesNotExist", query: "AWS.SimpleQueueService.NonExistentQueue", msg: "The specified queue does not exist."}
}

func errReceiptHandleInvalid(h string) *apiError {
	return &apiError{status: 400, typ: "ReceiptHandleIsInvalid", query: "ReceiptHandleIsInvalid", msg: fmt.Sprintf("The input receipt handle %q is not a valid receipt handle.", h)}
}

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{status: 400, typ: "InvalidParameterValue", query: "InvalidParameterValue", msg: fmt.Sprintf(format, args...)}
}

func missingParameter(name string) *apiError {
	return &apiError{status: 400, typ: "MissingParameter", query: "MissingParameter", msg: fmt.Sprintf("The request must contain the parameter %s.", name)}
}

func unsupported(format string, args ...any) *apiError {
	return &apiError{status: 400, typ: "UnsupportedOperation", query: "AWS.SimpleQueueService.UnsupportedOperation", msg: fmt.Sprintf(format, args...)}
}

type operation func(s *Service, r *http.Request, body []byte) (any, error)

var operations = map[string]operation{
	"SendMessage":      (*Service).opSendMessage,
	"SendMessageBatch": (*Service).opSendMessageBatch,
	"ReceiveMessage":   (*Service).opReceiveMessage,
	"DeleteMessage":    (*Service).opDeleteMessage,
}

// Operations of the SQS API that the local service deliberately lacks. The
// functions only send (SendMessageBatch); event source mappings receive and
// delete inside the service. ReceiveMessage and DeleteMessage stay on the
// wire so that a developer or a test can look into a queue with the SDK.
var unsupportedOperations = map[string]string{
	"GetQueueUrl":                  "queue URLs come from the template, through the functions' environment",
	"GetQueueAttributes":           "nothing of libaccounts reads queue attributes",
	"ListQueues":                   "the queues are template.yaml's",
	"PurgeQueue":                   "nothing of libaccounts purges a queue; make clean-data forgets every message",
	"DeleteMessageBatch":           "event source mappings delete inside the service",
	"ChangeMessageVisibility":      "nothing of libaccounts changes a visibility timeout",
	"ChangeMessageVisibilityBatch": "nothing of libaccounts changes a visibility timeout",
	"CreateQueue":                  "queues come from the configuration",
	"DeleteQueue":                  "queues come from the configuration",
	"SetQueueAttributes":           "queue attributes come from the configuration",
	"AddPermission":                "there are no permissions locally",
	"RemovePermission":             "there are no permissions locally",
	"TagQueue":                     "there are no tags locally",
	"UntagQueue":                   "there are no tags locally",
	"ListQueueTags":                "there are no tags locally",
	"ListDeadLetterSourceQueues":   "it is not implemented locally",
	"StartMessageMoveTask":         "it is not implemented locally",
	"CancelMessageMoveTask":        "it is not implemented locally",
	"ListMessageMoveTasks":         "it is not implemented locally",
}

// ServeHTTP serves the SQS API on any path, so it can be mounted under a
// prefix such as /_local/sqs.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", hostos.UUID())
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: "com.amazon.coral.service#UnknownOperationException", query: "InvalidAction", msg: "The SQS API takes POST requests."})
		return
	}
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		msg := "Missing or unknown X-Amz-Target; expected AmazonSQS.<Operation>."
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			msg = "This local SQS speaks only the AWS JSON 1.0 protocol (X-Amz-Target: AmazonSQS.<Operation>), not the query protocol."
		}
		writeError(w, &apiError{status: 400, typ: "com.amazon.coral.service#UnknownOperationException", query: "InvalidAction", msg: msg})
		return
	}
	op := operations[name]
	if op == nil {
		if why, ok := unsupportedOperations[name]; ok {
			writeError(w, unsupported("%s is not supported by the local SQS: %s.", name, why))
			return
		}
		writeError(w, &apiError{status: 400, typ: "com.amazon.coral.service#UnknownOperationException", query: "InvalidAction", msg: fmt.Sprintf("The action %s is not valid for this endpoint.", name)})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, &apiError{status: 413, typ: "com.amazon.coral.service#SerializationException", msg: "Cannot read the request body: " + err.Error()})
		return
	}
	out, err := op(s, r, body)
	if err != nil {
		var aerr *apiError
		switch {
		case errors.As(err, &aerr):
		case errors.Is(err, ErrClosed):
			aerr = &apiError{status: 503, typ: "com.amazon.coral.availability#ServiceUnavailableException", query: "ServiceUnavailable", msg: "The local SQS is shutting down.", receiver: true}
		default:
			s.log.Error("SQS request failed", "operation", name, "error", err.Error())
			aerr = &apiError{status: 500, typ: "com.amazon.coral.service#InternalFailure", query: "InternalError", msg: err.Error(), receiver: true}
		}
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte("{}")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeError(w http.ResponseWriter, e *apiError) {
	typ := e.typ
	if !strings.Contains(typ, "#") {
		typ = "com.amazonaws.sqs#" + typ
	}
	if e.query != "" {
		fault := "Sender"
		if e.receiver {
			fault = "Receiver"
		}
		w.Header().Set("x-amzn-query-error", e.query+";"+fault)
	}
	writeJSON(w, e.status, map[string]string{"__type": typ, "message": e.msg})
}

func decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{status: 400, typ: "com.amazon.coral.service#SerializationException", msg: "Cannot parse the request: " + err.Error()}
	}
	return nil
}

// queueByURL finds a queue from a QueueUrl: its last path segment names it,
// so <BaseURL>/<account>/<name>, any other endpoint's URL for it, and a
// bare name all work.
func (s *Service) queueByURL(u string) (*queue, error) {
	if u == "" {
		return nil, missingParameter("QueueUrl")
	}
	name := u
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimRight(name, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	q := s.queues[name]
	if q == nil {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}

// senderID is what SenderId reports for a request: the access key of its
// signature, or the account.
func (s *Service) senderID(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if _, cred, ok := strings.Cut(auth, "Credential="); ok {
		if key, _, ok := strings.Cut(cred, "/"); ok && key != "" {
			return key
		}
	}
	return s.opts.AccountID
}

// locked runs fn with s.mu held, unless the service is closed.
func (s *Service) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return fn()
}

// --- SendMessage, SendMessageBatch

type sendResult struct {
	MD5OfMessageBody             string
	MD5OfMessageAttributes       string `json:",omitempty"`
	MD5OfMessageSystemAttributes string `json:",omitempty"`
}

// newMessage validates a message and returns the record that stores it.
func (s *Service) newMessage(q *queue, body *string, delay *int32, attrs, sysAttrs map[string]attrValue, sender string) (*record, sendResult, *apiError) {
	if body == nil || *body == "" {
		return nil, sendResult{}, missingParameter("MessageBody")
	}
	if bad, ok := validText(*body); !ok {
		return nil, sendResult{}, invalidContents(bad)
	}
	var d time.Duration
	if delay != nil {
		if *delay < 0 || time.Duration(*delay)*time.Second > maxDelay {
			return nil, sendResult{}, invalidParameter("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", *delay)
		}
		d = time.Duration(*delay) * time.Second
	}
	stored, attrSize, aerr := checkAttributes(attrs)
	if aerr != nil {
		return nil, sendResult{}, aerr
	}
	if len(*body)+attrSize > maxMessageBytes {
		return nil, sendResult{}, invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", maxMessageBytes)
	}
	var trace string
	var sysMD5 string
	for name, v := range sysAttrs {
		if name != "AWSTraceHeader" {
			return nil, sendResult{}, invalidParameter("Message system attribute name '%s' is invalid.", name)
		}
		if v.DataType != "String" || v.StringValue == nil || *v.StringValue == "" {
			return nil, sendResult{}, invalidParameter("Message system attribute 'AWSTraceHeader' must be a non-empty String.")
		}
		trace = *v.StringValue
		sysMD5 = attributesMD5(map[string]attrValue{name: {DataType: "String", StringValue: &trace}})
	}
	now := s.now()
	rec := &record{
		Op: opMsg, Queue: q.cfg.Name, ID: hostos.UUID(), Body: *body, Attrs: stored, Trace: trace,
		Sender: sender, Sent: nanos(now), Visible: nanos(now.Add(d)),
	}
	return rec, sendResult{MD5OfMessageBody: md5Hex(*body), MD5OfMessageAttributes: attributesMD5(stored), MD5OfMessageSystemAttributes: sysMD5}, nil
}

type sendEntry struct {
	Id                      string
	MessageBody             *string
	DelaySeconds            *int32
	MessageAttributes       map[string]attrValue
	MessageSystemAttributes map[string]attrValue
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

func checkStandardQueueParams(e *sendEntry) *apiError {
	if e.MessageDeduplicationId != nil {
		return invalidParameter("The request include parameter MessageDeduplicationId which is not valid for this queue type")
	}
	return nil
}

func (s *Service) opSendMessage(r *http.Request, body []byte) (any, error) {
	var in struct {
		QueueUrl string
		sendEntry
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := s.queueByURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if aerr := checkStandardQueueParams(&in.sendEntry); aerr != nil {
		return nil, aerr
	}
	rec, res, aerr := s.newMessage(q, in.MessageBody, in.DelaySeconds, in.MessageAttributes, in.MessageSystemAttributes, s.senderID(r))
	if aerr != nil {
		return nil, aerr
	}
	if err := s.store(rec); err != nil {
		return nil, err
	}
	return struct {
		MessageId string
		sendResult
	}{rec.ID, res}, nil
}

type batchError struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

func entryError(id string, e *apiError) batchError {
	return batchError{Id: id, Code: e.code(), Message: e.msg, SenderFault: !e.receiver}
}

// checkBatch applies SQS's rules for batch entries: 1 to 10 of them with
// distinct ids of at most 80 letters, digits, - and _.
func checkBatch(entry string, ids []string) *apiError {
	if len(ids) == 0 {
		return &apiError{status: 400, typ: "EmptyBatchRequest", query: "AWS.SimpleQueueService.EmptyBatchRequest", msg: fmt.Sprintf("There should be at least one %s in the request.", entry)}
	}
	if len(ids) > 10 {
		return &apiError{status: 400, typ: "TooManyEntriesInBatchRequest", query: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", msg: fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(ids))}
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		valid := id != "" && len(id) <= 80
		for _, r := range id {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				valid = false
			}
		}
		if !valid {
			return &apiError{status: 400, typ: "InvalidBatchEntryId", query: "AWS.SimpleQueueService.InvalidBatchEntryId", msg: "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."}
		}
		if seen[id] {
			return &apiError{status: 400, typ: "BatchEntryIdsNotDistinct", query: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", msg: fmt.Sprintf("Id %s repeated.", id)}
		}
		seen[id] = true
	}
	return nil
}

func (s *Service) opSendMessageBatch(r *http.Request, body []byte) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []sendEntry
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := s.queueByURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		if e.MessageBody != nil {
			total += len(*e.MessageBody)
		}
		for k, v := range e.MessageAttributes {
			total += len(k) + len(v.DataType) + len(deref(v.StringValue)) + len(v.BinaryValue)
		}
	}
	if aerr := checkBatch("SendMessageBatchRequestEntry", ids); aerr != nil {
		return nil, aerr
	}
	if total > maxMessageBytes {
		return nil, &apiError{status: 400, typ: "BatchRequestTooLong", query: "AWS.SimpleQueueService.BatchRequestTooLong", msg: fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageBytes, total)}
	}
	type okEntry struct {
		Id        string
		MessageId string
		sendResult
	}
	out := struct {
		Successful []okEntry
		Failed     []batchError
	}{Successful: []okEntry{}, Failed: []batchError{}}
	sender := s.senderID(r)
	var recs []*record
	for i := range in.Entries {
		e := &in.Entries[i]
		aerr := checkStandardQueueParams(e)
		var rec *record
		var res sendResult
		if aerr == nil {
			rec, res, aerr = s.newMessage(q, e.MessageBody, e.DelaySeconds, e.MessageAttributes, e.MessageSystemAttributes, sender)
		}
		if aerr != nil {
			out.Failed = append(out.Failed, entryError(e.Id, aerr))
			continue
		}
		recs = append(recs, rec)
		out.Successful = append(out.Successful, okEntry{e.Id, rec.ID, res})
	}
	if len(recs) > 0 {
		if err := s.store(recs...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// --- ReceiveMessage

type messageOut struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string    `json:",omitempty"`
	MD5OfMessageAttributes string               `json:",omitempty"`
	MessageAttributes      map[string]attrValue `json:",omitempty"`
}

// systemAttributes returns the message system attributes a receive asks for.
func systemAttributes(d delivery, names []string) map[string]string {
	all := map[string]string{
		"ApproximateReceiveCount":          strconv.Itoa(d.count),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(d.firstRecv.UnixMilli(), 10),
		"SentTimestamp":                    strconv.FormatInt(d.sent.UnixMilli(), 10),
		"SenderId":                         d.sender,
	}
	if d.trace != "" {
		all["AWSTraceHeader"] = d.trace
	}
	if d.dlqSource != "" {
		all["DeadLetterQueueSourceArn"] = d.dlqSource
	}
	out := make(map[string]string)
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *Service) opReceiveMessage(r *http.Request, body []byte) (any, error) {
	var in struct {
		QueueUrl                    string
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
		MaxNumberOfMessages         *int32
		VisibilityTimeout           *int32
		WaitTimeSeconds             *int32
		ReceiveRequestAttemptId     *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := s.queueByURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	n := 1
	if in.MaxNumberOfMessages != nil {
		if *in.MaxNumberOfMessages < 1 || *in.MaxNumberOfMessages > 10 {
			return nil, invalidParameter("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *in.MaxNumberOfMessages)
		}
		n = int(*in.MaxNumberOfMessages)
	}
	vt := q.cfg.VisibilityTimeout
	if in.VisibilityTimeout != nil {
		if *in.VisibilityTimeout < 0 || time.Duration(*in.VisibilityTimeout)*time.Second > maxVisibilityTimeout {
			return nil, invalidParameter("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", *in.VisibilityTimeout)
		}
		vt = time.Duration(*in.VisibilityTimeout) * time.Second
	}
	var wait time.Duration
	if in.WaitTimeSeconds != nil {
		if *in.WaitTimeSeconds < 0 || time.Duration(*in.WaitTimeSeconds)*time.Second > maxWaitTime {
			return nil, invalidParameter("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *in.WaitTimeSeconds)
		}
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	ds, err := s.receive(r.Context(), q, n, vt, wait, 0)
	if err != nil && !errors.Is(err, r.Context().Err()) {
		return nil, err
	}
	sysNames := append(in.AttributeNames, in.MessageSystemAttributeNames...)
	out := struct {
		Messages []messageOut `json:",omitempty"`
	}{}
	for _, d := range ds {
		attrs := selectAttributes(d.attrs, in.MessageAttributeNames)
		out.Messages = append(out.Messages, messageOut{
			MessageId: d.id, ReceiptHandle: d.handle, MD5OfBody: d.md5, Body: d.body,
			Attributes: systemAttributes(d, sysNames), MD5OfMessageAttributes: attributesMD5(attrs), MessageAttributes: attrs,
		})
	}
	return out, nil
}

// --- DeleteMessage

func (s *Service) opDeleteMessage(_ *http.Request, body []byte) (any, error) {
	var in struct{ QueueUrl, ReceiptHandle string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	q, err := s.queueByURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, missingParameter("ReceiptHandle")
	}
	err = s.locked(func() error {
		rec, aerr := s.deleteLocked(q, in.ReceiptHandle)
		if aerr != nil {
			return aerr
		}
		if rec != nil {
			_, err := s.appendLocked(rec)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
