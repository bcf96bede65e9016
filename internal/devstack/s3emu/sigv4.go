package s3emu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Signature Version 4, as S3 checks it: every request but a CORS preflight
// is signed, in the Authorization header or as a pre-signed URL, by an
// access key of Options.Credentials. The canonical request covers the
// method, the key (so a URL whose key was edited to another tenant's prefix
// no longer matches), the query, every signed header with the value sent
// (so a PUT signed for Content-Type: text/csv fails with another type or
// none) and the payload hash the client declared. What is not verified: the
// chunk signatures of an aws-chunked body (the framing and checksums are),
// and the clock skew of header-signed requests (tests move this server's
// clock).

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// sigInput is what a request says about its signature.
type sigInput struct {
	accessKey, date, region, service string
	amzDate                          string
	signedHeaders                    []string
	signature                        string
	payloadHash                      string
	presigned                        bool
}

// authenticate verifies the request's signature; see above.
func (s *Server) authenticate(req *request) *s3Error {
	r := req.r
	var in sigInput
	auth := r.Header.Get("Authorization")
	switch {
	case queryValue(req.query, "X-Amz-Algorithm") != "":
		if queryValue(req.query, "X-Amz-Algorithm") != sigAlgorithm {
			return errInvalidArgumentf("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
		}
		cred, e := parseCredential(queryValue(req.query, "X-Amz-Credential"))
		if e != nil {
			return e
		}
		in = cred
		in.presigned = true
		in.amzDate = queryValue(req.query, "X-Amz-Date")
		in.signedHeaders = strings.Split(queryValue(req.query, "X-Amz-SignedHeaders"), ";")
		in.signature = queryValue(req.query, "X-Amz-Signature")
		in.payloadHash = unsignedPayload
		if v := queryValue(req.query, "X-Amz-Content-Sha256"); v != "" {
			in.payloadHash = v
		}
	case strings.HasPrefix(auth, sigAlgorithm+" "):
		var e *s3Error
		if in, e = parseAuthorization(auth); e != nil {
			return e
		}
		in.amzDate = r.Header.Get("X-Amz-Date")
		in.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
		if in.payloadHash == "" {
			return errInvalidRequest("Missing required header for this request: x-amz-content-sha256")
		}
		if in.amzDate == "" {
			return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "AWS authentication requires a valid Date or x-amz-date header"}
		}
	case auth != "" || queryValue(req.query, "Signature") != "":
		return errInvalidRequest("The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	default:
		// The bucket is private: an anonymous request is refused.
		return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Access Denied"}
	}
	secret, ok := s.creds[in.accessKey]
	if !ok {
		return &s3Error{status: http.StatusForbidden, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records.",
			extra: []xmlField{{XMLName: xml.Name{Local: "AWSAccessKeyId"}, Value: in.accessKey}}}
	}
	if !strings.HasPrefix(in.amzDate, in.date) || len(in.amzDate) != len("20060102T150405Z") {
		return &s3Error{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: "The credential scope's date does not match X-Amz-Date"}
	}
	if !containsFold(in.signedHeaders, "host") {
		return &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError", message: "Host must be a signed header"}
	}
	scope := in.date + "/" + in.region + "/" + in.service + "/aws4_request"
	key := hmacSHA256([]byte("AWS4"+secret), in.date)
	key = hmacSHA256(key, in.region)
	key = hmacSHA256(key, in.service)
	key = hmacSHA256(key, "aws4_request")
	var creq, stringToSign string
	matched := false
	// Clients encode an odd key differently (some keep the escaped path as
	// sent); each form names the same key, so any one of them may match.
	for _, uri := range canonicalURIs(r) {
		creq = canonicalRequest(r, uri, req.query, in)
		sum := sha256.Sum256([]byte(creq))
		stringToSign = sigAlgorithm + "\n" + in.amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(key, stringToSign))
		if hmac.Equal([]byte(want), []byte(strings.ToLower(in.signature))) {
			matched = true
			break
		}
	}
	if !matched {
		return &s3Error{status: http.StatusForbidden, code: "SignatureDoesNotMatch",
			message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			extra: []xmlField{
				{XMLName: xml.Name{Local: "AWSAccessKeyId"}, Value: in.accessKey},
				{XMLName: xml.Name{Local: "StringToSign"}, Value: stringToSign},
				{XMLName: xml.Name{Local: "SignatureProvided"}, Value: in.signature},
				{XMLName: xml.Name{Local: "CanonicalRequest"}, Value: creq},
			}}
	}
	return nil
}

// parseCredential reads "<key>/<date>/<region>/<service>/aws4_request".
func parseCredential(v string) (sigInput, *s3Error) {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] != "s3" || len(parts[1]) != 8 {
		return sigInput{}, &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError",
			message: "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."}
	}
	return sigInput{accessKey: parts[0], date: parts[1], region: parts[2], service: parts[3]}, nil
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…".
func parseAuthorization(v string) (sigInput, *s3Error) {
	malformed := &s3Error{status: http.StatusBadRequest, code: "AuthorizationHeaderMalformed", message: "The authorization header is malformed."}
	fields := map[string]string{}
	for part := range strings.SplitSeq(strings.TrimPrefix(v, sigAlgorithm+" "), ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sigInput{}, malformed
		}
		fields[k] = val
	}
	in, e := parseCredential(fields["Credential"])
	if e != nil || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return sigInput{}, malformed
	}
	in.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	in.signature = fields["Signature"]
	return in, nil
}

// canonicalURIs are the forms of the request's path a signer may have
// used: S3's (the decoded path encoded once), the path as sent, and the
// path as sent encoded again (the generic SigV4 rule).
func canonicalURIs(r *http.Request) []string {
	raw := r.URL.EscapedPath()
	if raw == "" {
		raw = "/"
	}
	out := []string{}
	if path, err := url.PathUnescape(raw); err == nil {
		out = append(out, uriEncode(path, false))
	}
	return append(out, raw, uriEncode(raw, false))
}

// canonicalRequest is SigV4's canonical form of r with the path uri.
func canonicalRequest(r *http.Request, uri string, q url.Values, in sigInput) string {
	var qs []string
	for k, vs := range q {
		if in.presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			qs = append(qs, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(qs)
	var hdrs strings.Builder
	for _, name := range in.signedHeaders {
		name = strings.ToLower(name)
		var v string
		switch name {
		case "host":
			v = r.Host
		case "content-length":
			v = r.Header.Get("Content-Length")
			if v == "" && r.ContentLength >= 0 {
				v = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vals := r.Header.Values(name)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		hdrs.WriteString(name + ":" + v + "\n")
	}
	return strings.Join([]string{r.Method, uri, strings.Join(qs, "&"), hdrs.String(), strings.Join(in.signedHeaders, ";"), in.payloadHash}, "\n")
}

// uriEncode is SigV4's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ is
// %XX; "/" too unless it separates path segments.
func uriEncode(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/' && !slash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func queryValue(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func errInvalidArgumentf(msg string) *s3Error { return errInvalidArgument(msg) }
