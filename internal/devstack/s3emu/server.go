// Package s3emu is a small S3 for the local stack: the subset of the S3
// REST API that libaccounts uses, through the unmodified AWS SDK for Go v2
// (path-style addressing) and the AWS CLI's `aws s3 cp`, to upload, read
// and delete objects, backed by files under one data directory so that
// objects survive a restart, SIGKILL included.
//
// What it serves, path-style (/<bucket>/<key...>; also virtual-hosted style
// for a Host <bucket>.localhost), for the buckets of Options.Buckets:
//
//   - PutObject (conditional writes: If-None-Match: *, If-Match), also
//     through a pre-signed URL
//   - GetObject (single Range or partNumber, conditional headers,
//     response-* overrides), also pre-signed; HeadObject; DeleteObject
//   - CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//     AbortMultipartUpload (what `aws s3 cp` uses above 8 MB)
//
// Anything else answers 501 NotImplemented.
//
// # Authentication
//
// Every request but a CORS preflight must be signed with Signature Version
// 4 by an access key of Options.Credentials (the local stack's "local"),
// in the Authorization header or as a pre-signed URL, and the signature is
// verified as S3 verifies it (sigv4.go): an unsigned request is 403
// AccessDenied, a changed key, method, query or signed header (a PUT signed
// for Content-Type: text/csv sent with another type) 403
// SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId. A pre-signed
// URL whose X-Amz-Date + X-Amz-Expires is past is 403 AccessDenied "Request
// has expired", checked before the signature. SigV2 is refused.
//
// # Versioning and CORS
//
// A bucket whose Options.Configs entry says Versioned keeps every version:
// PUT answers x-amz-version-id and the event record carries it, GET and HEAD
// take ?versionId=, DELETE ?versionId= removes one version for good, and a
// plain DELETE leaves the versions (a delete marker, which is not listed).
// Its CORS rules answer preflights (OPTIONS with Origin and
// Access-Control-Request-Method) with 200 or 403 AccessForbidden, and add
// the CORS headers to the actual responses.
//
// # Uploads
//
// Bodies are streamed to a temporary file, never held in memory. A body may
// be plain or aws-chunked (the SDK's and the CLI's streaming uploads: signed
// chunks, or unsigned chunks with a trailing checksum); the chunk signatures
// are ignored but the framing, x-amz-decoded-content-length and every
// checksum sent are verified: Content-MD5, x-amz-content-sha256 and one
// x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256}, as header or trailer.
// A single object (PutObject, one part) is at most 5 GiB.
//
// An object keeps the checksum its upload sent; when it sent none, the
// server computes S3's default, CRC64NVME. GetObject and HeadObject return it
// (x-amz-checksum-*, x-amz-checksum-type FULL_OBJECT) when the client asks
// with x-amz-checksum-mode: ENABLED and reads the whole object, so the SDK's
// response validation checks what this server stored. ETags are S3's:
// the quoted hex MD5 for a single upload, "<md5 of the parts' MD5s>-<n>" for
// a multipart one.
//
// # Storage and durability
//
// Each object is one file, Dir/buckets/<bucket>/objects/<sha256 of key>.obj,
// holding the bytes followed by a JSON description (key, size, ETag,
// headers, metadata, checksum, event sequencer). A key never becomes a path,
// so no key can name a file outside Dir, and keys with "." or ".." segments
// are stored as S3 stores them; bucket names S3 would refuse are refused.
// A new object is written to Dir/tmp, fsynced, and renamed over the old one
// (then the directory is fsynced), so a reader sees the whole old object or
// the whole new one, and a SIGKILL leaves one of them.
//
// # Object-created events
//
// Every PutObject and CompleteMultipartUpload calls
// Options.OnObjectCreated after the object is durably stored (and visible)
// and before the response is sent, so an object whose upload the client saw
// succeed has had its event accepted. Exactly: before the new object replaces
// the old, an intent naming the object and its event is fsynced into
// Dir/pending; the intent is removed once OnObjectCreated returns nil.
//
//   - OnObjectCreated returns an error: the request fails with 503
//     ServiceUnavailable (the SDK and the CLI retry it) and the object is
//     rolled back: the previous version of the key comes back, or the key is
//     deleted if it had none; a multipart upload stays open so the retried
//     CompleteMultipartUpload finds its parts. While OnObjectCreated runs the
//     object is visible (so a callback may even read it synchronously); no
//     lock is held, so a callback may also write or delete objects. If
//     another request replaced or deleted the key meanwhile, there is
//     nothing to roll back.
//   - The process dies after the intent was written: New finds the intent.
//     If the new object had replaced the old one, New calls OnObjectCreated
//     for it again (at least once: the first call may have succeeded) and
//     fails if that call fails, keeping the intent for the next start;
//     otherwise the upload never took effect (its client got no answer, or a
//     later version replaced it) and the intent is dropped. A New without
//     OnObjectCreated keeps the intents for a later New that has one.
//
// Only one Server may use a Dir at a time: New clears Dir/tmp.
//
// # Event keys
//
// S3EventRecord.S3.Object.Key is URL-encoded as S3 encodes it in event
// notifications: application/x-www-form-urlencoded, so a space becomes "+"
// and every byte of the UTF-8 key other than ASCII letters, digits and
// "-_.*" becomes %XX (upper-case hex), except "/", which S3 leaves as is
// ("imports/acme/May report (v2).csv" becomes
// "imports/acme/May+report+%28v2%29.csv"). url.QueryUnescape (what
// events.S3Object's URLDecodedKey uses) turns it back into the key, which
// this server also puts in URLDecodedKey.
//
// # Mounting
//
// Serve it at the root of its own listener: it reads the bucket from the
// first path segment and the key from the escaped path, so it must not sit
// behind an http.ServeMux, which would redirect keys with "//".
package s3emu

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// Options configures a Server.
type Options struct {
	// Dir is the data directory; objects survive restarts, SIGKILL included.
	Dir string
	// Buckets are created if missing.
	Buckets []string
	// Region is reported in events and HeadBucket; default us-east-1.
	Region string
	// OnObjectCreated is called after the object is durably stored and
	// before the PutObject / CompleteMultipartUpload response
	// is sent; if it returns an error the request fails with 503 (the client
	// retries) and the object is rolled back, so no event is lost. New calls
	// it too, for events a killed process left pending. It may be nil.
	OnObjectCreated func(ctx context.Context, rec events.S3EventRecord) error
	// Logger receives failures; default: discard.
	Logger *slog.Logger
	// Clock dates objects and ends pre-signed URLs; default the real one.
	Clock clock.Clock
	// Configs holds the versioning and CORS rules of buckets of Buckets,
	// as the template gives them; a bucket without one is unversioned and
	// answers every CORS preflight 403.
	Configs map[string]BucketConfig
	// Credentials maps each access key id this server accepts to its
	// secret; default {"local": "local"}, the local stack's.
	Credentials map[string]string
}

// BucketConfig is the part of a bucket's configuration this server obeys.
type BucketConfig struct {
	Versioned bool
	CORS      []CORSRule
}

// Server is a local S3 endpoint; it is an http.Handler.
type Server struct {
	dir       string
	tmpDir    string
	pending   string
	region    string
	onCreated func(ctx context.Context, rec events.S3EventRecord) error
	log       *slog.Logger
	now       func() time.Time

	locks [64]sync.Mutex // per-key commit locks, by hash of bucket and key

	seqMu   sync.Mutex
	lastSeq uint64

	versioned map[string]bool
	cors      map[string][]CORSRule
	creds     map[string]string
}

const (
	// maxObjectSize is S3's limit for one PUT (object, copy or part).
	maxObjectSize = 5 << 30
	// minPartSize is S3's minimum for every part but the last.
	minPartSize = 5 << 20
	maxParts    = 10000
	maxKeyLen   = 1024
	// maxMetadataSize is S3's limit on user metadata (names and values).
	maxMetadataSize = 2 << 10
	// ownerID is the owner and principal this server reports.
	ownerID = "local"
)

// New opens (creating if needed) the data directory, creates the buckets,
// and finishes what a killed process left pending: see the package doc.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("s3emu: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir:       dir,
		tmpDir:    filepath.Join(dir, "tmp"),
		pending:   filepath.Join(dir, "pending"),
		region:    opts.Region,
		onCreated: opts.OnObjectCreated,
		log:       opts.Logger,
		now:       clockOr(opts.Clock).Now,
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	s.versioned, s.cors, s.creds = map[string]bool{}, map[string][]CORSRule{}, opts.Credentials
	for b, c := range opts.Configs {
		s.versioned[b], s.cors[b] = c.Versioned, c.CORS
	}
	if s.creds == nil {
		s.creds = map[string]string{"local": "local"}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{dir, filepath.Join(dir, "buckets"), s.tmpDir, s.pending} {
		if err := mkdirDurable(d); err != nil {
			return nil, fmt.Errorf("s3emu: %w", err)
		}
	}
	if err := s.recover(context.Background()); err != nil {
		return nil, fmt.Errorf("s3emu: finish pending events: %w", err)
	}
	// What is left in tmp belongs to no intent: uploads cut short.
	if entries, err := os.ReadDir(s.tmpDir); err == nil {
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(s.tmpDir, e.Name()))
		}
	}
	for _, b := range opts.Buckets {
		if !validBucketName(b) {
			return nil, fmt.Errorf("s3emu: invalid bucket name %q", b)
		}
		if _, err := s.createBucket(b); err != nil {
			return nil, fmt.Errorf("s3emu: create bucket %s: %w", b, err)
		}
	}
	return s, nil
}

// request is one parsed request.
type request struct {
	r        *http.Request
	id       string // x-amz-request-id
	hostID   string // x-amz-id-2
	bucket   string
	key      string
	hasKey   bool // the path names an object, not the bucket itself
	query    url.Values
	remoteIP string
}

// ServeHTTP serves one S3 request; see the package doc.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{r: r, id: newRequestID(), hostID: newHostID()}
	w.Header().Set("x-amz-request-id", req.id)
	w.Header().Set("x-amz-id-2", req.hostID)
	w.Header().Set("Server", "s3emu")
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.remoteIP = host
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, req, errInvalidArgument("the query string is not valid"))
		return
	}
	req.query = q
	if e := parsePath(req); e != nil {
		s.writeError(w, req, e)
		return
	}
	if r.Method == http.MethodOptions {
		// A CORS preflight carries no credentials, on S3 too.
		s.preflight(w, req)
		return
	}
	s.corsHeaders(w, req)
	if e := s.checkPresigned(req); e != nil {
		s.writeError(w, req, e)
		return
	}
	if e := s.authenticate(req); e != nil {
		s.writeError(w, req, e)
		return
	}
	s.route(w, req)
}

// parsePath reads the bucket and the key from the escaped path, so that a
// key's "%2F" or "+" means what the client meant.
func parsePath(req *request) *s3Error {
	p := req.r.URL.EscapedPath()
	p = strings.TrimPrefix(p, "/")
	var rest string
	hasKey := true
	if b, ok := virtualHostBucket(req.r.Host); ok {
		req.bucket, rest = b, p
	} else {
		if p == "" {
			return nil
		}
		var bucket string
		bucket, rest, hasKey = strings.Cut(p, "/")
		b, err := url.PathUnescape(bucket)
		if err != nil {
			return errInvalidURI()
		}
		req.bucket = b
	}
	if !hasKey {
		return nil
	}
	if rest == "" {
		// "/bucket/" is the bucket itself, as S3 treats it.
		return nil
	}
	key, err := url.PathUnescape(rest)
	if err != nil {
		return errInvalidURI()
	}
	req.key, req.hasKey = key, true
	return nil
}

// virtualHostBucket reads a virtual-hosted-style bucket from a Host of the
// form <bucket>.localhost[:port]: what the AWS CLI sends when its endpoint
// is http://localhost:<port> (an IP endpoint gets path-style requests).
func virtualHostBucket(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b, ok := strings.CutSuffix(strings.ToLower(host), ".localhost")
	if !ok || !validBucketName(b) {
		return "", false
	}
	return b, true
}

// validBucketName accepts S3's general purpose bucket names.
var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func validBucketName(b string) bool {
	if !bucketNameRE.MatchString(b) || strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return false
	}
	return !ipLikeRE.MatchString(b)
}

var ipLikeRE = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

// checkKey refuses what S3 would: an empty or too long key. "." and ".."
// segments are ordinary characters of a key to S3, and here too: a key never
// becomes a path.
func checkKey(key string) *s3Error {
	if key == "" {
		return errInvalidArgument("an object key may not be empty")
	}
	if len(key) > maxKeyLen {
		return &s3Error{status: http.StatusBadRequest, code: "KeyTooLongError", message: "Your key is too long"}
	}
	return nil
}

// route dispatches on method, path and sub-resources.
func (s *Server) route(w http.ResponseWriter, req *request) {
	r, q := req.r, req.query
	if req.bucket == "" {
		s.writeError(w, req, errNotImplemented()) // ListBuckets: the buckets are the template's
		return
	}
	// A name S3 would refuse cannot name a stored bucket.
	if !validBucketName(req.bucket) || !s.bucketExists(req.bucket) {
		s.writeError(w, req, errNoSuchBucket(req.bucket))
		return
	}
	if !req.hasKey {
		// Buckets come from Options.Buckets, and nothing of libaccounts
		// lists, copies or batch-deletes objects.
		s.writeError(w, req, errNotImplemented())
		return
	}
	if e := checkKey(req.key); e != nil {
		s.writeError(w, req, e)
		return
	}
	_, hasUpload := q["uploadId"]
	switch r.Method {
	case http.MethodPut:
		switch {
		case hasUpload || q.Has("partNumber"):
			s.uploadPart(w, req)
		case unsupportedSubresource(q), r.Header.Get("x-amz-copy-source") != "":
			s.writeError(w, req, errNotImplemented()) // CopyObject
		default:
			s.putObject(w, req)
		}
	case http.MethodGet, http.MethodHead:
		switch {
		case hasUpload || unsupportedSubresource(q):
			s.writeError(w, req, errNotImplemented())
		default:
			s.getObject(w, req, r.Method == http.MethodHead)
		}
	case http.MethodDelete:
		switch {
		case hasUpload:
			s.abortMultipartUpload(w, req)
		case unsupportedSubresource(q):
			s.writeError(w, req, errNotImplemented())
		default:
			s.deleteObject(w, req)
		}
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			s.createMultipartUpload(w, req)
		case hasUpload:
			s.completeMultipartUpload(w, req)
		default:
			s.writeError(w, req, errNotImplemented())
		}
	default:
		s.writeError(w, req, errMethodNotAllowed(r.Method))
	}
}

// unsupportedSubresource reports a query naming an S3 sub-resource this
// server does not implement (?acl, ?tagging, ...), so such a request is not
// mistaken for a plain object or bucket request.
func unsupportedSubresource(q url.Values) bool {
	for _, k := range []string{"acl", "tagging", "versioning", "policy", "cors", "lifecycle", "website", "notification",
		"replication", "encryption", "logging", "retention", "legal-hold", "torrent", "restore", "select", "attributes",
		"object-lock", "publicAccessBlock", "ownershipControls", "accelerate", "requestPayment", "analytics",
		"inventory", "metrics", "intelligent-tiering", "policyStatus"} {
		if q.Has(k) {
			return true
		}
	}
	return false
}

// checkPresigned refuses an expired pre-signed URL. Signatures are not
// verified.
func (s *Server) checkPresigned(req *request) *s3Error {
	q := req.query
	get := func(name string) (string, bool) {
		for k, v := range q {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0], true
			}
		}
		return "", false
	}
	now := s.now()
	if _, ok := get("X-Amz-Algorithm"); ok {
		date, okDate := get("X-Amz-Date")
		exp, okExp := get("X-Amz-Expires")
		if !okDate || !okExp {
			return &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError", message: "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."}
		}
		t, err := time.Parse("20060102T150405Z", date)
		if err != nil {
			return &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError", message: "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""}
		}
		secs, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || secs < 0 {
			return &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError", message: "X-Amz-Expires should be a number"}
		}
		if secs > 604800 {
			return &s3Error{status: http.StatusBadRequest, code: "AuthorizationQueryParametersError", message: "X-Amz-Expires must be less than a week (in seconds) that is 604800"}
		}
		if expires := t.Add(time.Duration(secs) * time.Second); now.After(expires) {
			e := errExpired(expires, now)
			e.extra = append([]xmlField{{XMLName: xml.Name{Local: "X-Amz-Expires"}, Value: exp}}, e.extra...)
			return e
		}
		return nil
	}
	if _, ok := get("Signature"); ok {
		if exp, ok := get("Expires"); ok {
			unix, err := strconv.ParseInt(exp, 10, 64)
			if err != nil {
				return &s3Error{status: http.StatusForbidden, code: "AccessDenied", message: "Invalid date (should be seconds since epoch): " + exp}
			}
			if now.After(time.Unix(unix, 0)) {
				return errExpired(time.Unix(unix, 0), now)
			}
		}
	}
	return nil
}

func clockOr(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.Real()
	}
	return c
}

func newRequestID() string { return strings.ToUpper(hostos.RandomHex(8)) }

func newHostID() string { return base64.StdEncoding.EncodeToString(hostos.Random(24)) }

func newUploadID() string { return hostos.RandomHex(16) }

// newVersionID makes a version id: 32 characters, as S3's are.
func newVersionID() string { return hostos.RandomHex(16) }

var versionIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func validVersionID(v string) bool { return v == "null" || versionIDRE.MatchString(v) }
