package s3emu

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"time"
)

// s3Error is an S3 error answer.
type s3Error struct {
	status   int
	code     string
	message  string
	bucket   string
	key      string
	uploadID string
	extra    []xmlField // more elements, in order
	header   http.Header
}

type xmlField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func errNoSuchBucket(b string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchBucket", message: "The specified bucket does not exist", bucket: b}
}

func errNoSuchKey(k string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", key: k}
}

func errNoSuchVersion(k, v string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchVersion", message: "The specified version does not exist.", key: k,
		extra: []xmlField{{XMLName: xml.Name{Local: "VersionId"}, Value: v}}}
}

func errNoSuchUpload(id string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchUpload", message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", uploadID: id}
}

func errInvalidArgument(msg string) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "InvalidArgument", message: msg}
}

func errInvalidRequest(msg string) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: msg}
}

func errInvalidURI() *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "InvalidURI", message: "Couldn't parse the specified URI."}
}

func errMalformedXML() *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema"}
}

func errNotImplemented() *s3Error {
	return &s3Error{status: http.StatusNotImplemented, code: "NotImplemented", message: "A header or query you provided implies functionality that the local S3 does not implement."}
}

func errMethodNotAllowed(m string) *s3Error {
	return &s3Error{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", message: "The specified method is not allowed against this resource.",
		extra: []xmlField{{XMLName: xml.Name{Local: "Method"}, Value: m}}}
}

func errInternal() *s3Error {
	return &s3Error{status: http.StatusInternalServerError, code: "InternalError", message: "We encountered an internal error. Please try again."}
}

func errEntityTooLarge() *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "EntityTooLarge", message: "Your proposed upload exceeds the maximum allowed size",
		extra: []xmlField{{XMLName: xml.Name{Local: "MaxSizeAllowed"}, Value: fmt.Sprint(maxObjectSize)}}}
}

func errBadDigest(msg string) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "BadDigest", message: msg}
}

func errIncompleteBody() *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "IncompleteBody", message: "You did not provide the number of bytes specified by the Content-Length HTTP header."}
}

func errExpired(expires, now time.Time) *s3Error {
	return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Request has expired", extra: []xmlField{
		{XMLName: xml.Name{Local: "Expires"}, Value: expires.UTC().Format(time.RFC3339)},
		{XMLName: xml.Name{Local: "ServerTime"}, Value: now.UTC().Format(time.RFC3339)},
	}}
}

func errPrecondition(cond string) *s3Error {
	return &s3Error{status: http.StatusPreconditionFailed, code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold",
		extra: []xmlField{{XMLName: xml.Name{Local: "Condition"}, Value: cond}}}
}

func errServiceUnavailable() *s3Error {
	return &s3Error{status: http.StatusServiceUnavailable, code: "ServiceUnavailable",
		message: "The local stack could not record the object-created event; the object was not stored. Please retry."}
}

type errorBody struct {
	XMLName    xml.Name   `xml:"Error"`
	Code       string     `xml:"Code"`
	Message    string     `xml:"Message"`
	BucketName string     `xml:"BucketName,omitempty"`
	Key        string     `xml:"Key,omitempty"`
	UploadID   string     `xml:"UploadId,omitempty"`
	Extra      []xmlField `xml:",any"`
	Resource   string     `xml:"Resource,omitempty"`
	RequestID  string     `xml:"RequestId"`
	HostID     string     `xml:"HostId"`
}

func (s *Server) writeError(w http.ResponseWriter, req *request, e *s3Error) {
	if e.status >= 500 {
		s.log.Warn("s3emu request failed", "method", req.r.Method, "path", req.r.URL.Path, "status", e.status, "code", e.code, "message", e.message)
	}
	for k, v := range e.header {
		w.Header()[k] = v
	}
	if req.r.Method == http.MethodHead {
		// HEAD answers carry no body; the SDK maps the status.
		w.WriteHeader(e.status)
		return
	}
	body := errorBody{Code: e.code, Message: e.message, BucketName: e.bucket, Key: e.key, UploadID: e.uploadID, Extra: e.extra,
		Resource: req.r.URL.Path, RequestID: req.id, HostID: req.hostID}
	if e.code == "AccessDenied" {
		body.Resource = ""
	}
	writeXML(w, e.status, body)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "local S3: cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", fmt.Sprint(len(xml.Header)+len(out)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
