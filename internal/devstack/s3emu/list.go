package s3emu

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type bucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type listBucketsResult struct {
	XMLName xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner   ownerXML    `xml:"Owner"`
	Buckets []bucketXML `xml:"Buckets>Bucket"`
}

func (s *Server) listBuckets(w http.ResponseWriter, req *request) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "buckets"))
	if err != nil {
		s.log.Error("s3emu: list buckets", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	out := listBucketsResult{Owner: ownerXML{ID: ownerID, DisplayName: ownerID}}
	for _, e := range entries {
		if e.IsDir() && validBucketName(e.Name()) && s.bucketExists(e.Name()) {
			out.Buckets = append(out.Buckets, bucketXML{Name: e.Name(), CreationDate: s3Time(s.bucketCreated(e.Name())), BucketRegion: s.region})
		}
	}
	writeXML(w, http.StatusOK, out)
}

func (s *Server) putBucket(w http.ResponseWriter, req *request) {
	if !validBucketName(req.bucket) {
		s.writeError(w, req, &s3Error{status: http.StatusBadRequest, code: "InvalidBucketName", message: "The specified bucket is not valid.", bucket: req.bucket})
		return
	}
	// The CreateBucketConfiguration body (a location) is read and ignored.
	_, _ = io.Copy(io.Discard, io.LimitReader(req.r.Body, 1<<20))
	created, err := s.createBucket(req.bucket)
	if err != nil {
		s.log.Error("s3emu: create bucket", "bucket", req.bucket, "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	if !created && s.region != "us-east-1" {
		s.writeError(w, req, &s3Error{status: http.StatusConflict, code: "BucketAlreadyOwnedByYou", message: "Your previous request to create the named bucket succeeded and you already own it.", bucket: req.bucket})
		return
	}
	w.Header().Set("Location", "/"+req.bucket)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deleteBucket(w http.ResponseWriter, req *request) {
	dir := s.bucketDir(req.bucket)
	for _, sub := range []string{"objects", "uploads"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("s3emu: delete bucket", "error", err.Error())
			s.writeError(w, req, errInternal())
			return
		}
		if len(entries) > 0 {
			s.writeError(w, req, &s3Error{status: http.StatusConflict, code: "BucketNotEmpty", message: "The bucket you tried to delete is not empty", bucket: req.bucket})
			return
		}
	}
	// objects/ first: from then on the bucket does not exist.
	if err := os.Remove(filepath.Join(dir, "objects")); err != nil {
		s.log.Error("s3emu: delete bucket", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	_ = os.RemoveAll(dir)
	_ = syncDir(filepath.Dir(dir))
	w.WriteHeader(http.StatusNoContent)
}

type locationResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Location string   `xml:",chardata"`
}

func (s *Server) getBucketLocation(w http.ResponseWriter, req *request) {
	loc := s.region
	if loc == "us-east-1" {
		loc = "" // as S3 answers for us-east-1
	}
	writeXML(w, http.StatusOK, locationResult{Location: loc})
}

type contentsXML struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Size         int64     `xml:"Size"`
	Owner        *ownerXML `xml:"Owner,omitempty"`
	StorageClass string    `xml:"StorageClass"`
	ChecksumAlg  string    `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType string    `xml:"ChecksumType,omitempty"`
}

type prefixXML struct {
	Prefix string `xml:"Prefix"`
}

type listResult struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name    string   `xml:"Name"`
	Prefix  string   `xml:"Prefix"`
	// v1
	Marker     *string `xml:"Marker"`
	NextMarker string  `xml:"NextMarker,omitempty"`
	// v2
	ContinuationToken     string `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string `xml:"NextContinuationToken,omitempty"`
	StartAfter            string `xml:"StartAfter,omitempty"`
	KeyCount              *int   `xml:"KeyCount"`

	MaxKeys        int           `xml:"MaxKeys"`
	Delimiter      string        `xml:"Delimiter,omitempty"`
	EncodingType   string        `xml:"EncodingType,omitempty"`
	IsTruncated    bool          `xml:"IsTruncated"`
	Contents       []contentsXML `xml:"Contents"`
	CommonPrefixes []prefixXML   `xml:"CommonPrefixes"`
}

// listEntry is a stored object as a listing shows it.
type listEntry struct {
	key          string
	size         int64
	etag         string
	lastModified time.Time
	algo         string
}

// loadListing reads the description of every object of the bucket whose key
// starts with prefix, sorted by key. It reads every object file's trailer:
// fine for a developer's bucket.
func (s *Server) loadListing(bucket, prefix string) ([]listEntry, error) {
	dir := filepath.Join(s.bucketDir(bucket), "objects")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []listEntry
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".obj") {
			continue
		}
		meta, err := readMetaFile(filepath.Join(dir, e.Name()))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // deleted meanwhile
				s.log.Warn("s3emu: unreadable object file", "file", e.Name(), "error", err.Error())
			}
			continue
		}
		if !strings.HasPrefix(meta.Key, prefix) || s.objectPath(bucket, meta.Key) != filepath.Join(dir, e.Name()) {
			continue
		}
		out = append(out, listEntry{key: meta.Key, size: meta.Size, etag: meta.ETag, lastModified: meta.LastModified, algo: meta.ChecksumAlgorithm})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

// listObjects serves ListObjects (v1) and ListObjectsV2.
func (s *Server) listObjects(w http.ResponseWriter, req *request, v2 bool) {
	q := req.query
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	encodingType := q.Get("encoding-type")
	if encodingType != "" && encodingType != "url" {
		s.writeError(w, req, errInvalidArgument("Invalid Encoding Method specified in Request"))
		return
	}
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeError(w, req, errInvalidArgument("Provided max-keys not an integer or within integer range"))
			return
		}
		maxKeys = min(n, 1000)
	}
	// after: list only what sorts after it; afterPrefix: it was a common
	// prefix, so skip every key under it too.
	var after string
	afterPrefix := false
	out := listResult{Name: req.bucket, Prefix: prefix, MaxKeys: maxKeys, Delimiter: delim, EncodingType: encodingType}
	if v2 {
		out.StartAfter = q.Get("start-after")
		after = out.StartAfter
		if tok := q.Get("continuation-token"); tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil || len(raw) == 0 || (raw[0] != 'K' && raw[0] != 'P') {
				s.writeError(w, req, errInvalidArgument("The continuation token provided is incorrect"))
				return
			}
			out.ContinuationToken = tok
			after, afterPrefix = string(raw[1:]), raw[0] == 'P'
		}
	} else {
		marker := q.Get("marker")
		out.Marker = &marker
		after = marker
		afterPrefix = delim != "" && strings.HasSuffix(marker, delim)
	}
	entries, err := s.loadListing(req.bucket, prefix)
	if err != nil {
		s.log.Error("s3emu: list objects", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	enc := func(v string) string {
		if encodingType == "url" {
			return EventKey(v)
		}
		return v
	}
	count := 0
	var last string
	lastWasPrefix := false
	for _, e := range entries {
		if e.key <= after || (afterPrefix && strings.HasPrefix(e.key, after)) {
			continue
		}
		cp := ""
		if delim != "" {
			if i := strings.Index(e.key[len(prefix):], delim); i >= 0 {
				cp = e.key[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && lastWasPrefix && cp == last {
			continue // more of the same common prefix
		}
		if count == maxKeys {
			out.IsTruncated = true
			break
		}
		count++
		if cp != "" {
			out.CommonPrefixes = append(out.CommonPrefixes, prefixXML{Prefix: enc(cp)})
			last, lastWasPrefix = cp, true
			continue
		}
		c := contentsXML{Key: enc(e.key), LastModified: s3Time(e.lastModified), ETag: e.etag, Size: e.size, StorageClass: "STANDARD"}
		if e.algo != "" {
			c.ChecksumAlg, c.ChecksumType = e.algo, "FULL_OBJECT"
		}
		if !v2 || q.Get("fetch-owner") == "true" {
			c.Owner = &ownerXML{ID: ownerID, DisplayName: ownerID}
		}
		out.Contents = append(out.Contents, c)
		last, lastWasPrefix = e.key, false
	}
	if out.IsTruncated {
		if v2 {
			kind := byte('K')
			if lastWasPrefix {
				kind = 'P'
			}
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString(append([]byte{kind}, last...))
		} else {
			out.NextMarker = enc(last)
		}
	}
	if v2 {
		out.KeyCount = &count
		out.Prefix, out.StartAfter = enc(out.Prefix), enc(out.StartAfter)
	} else {
		m := enc(*out.Marker)
		out.Marker = &m
		out.Prefix = enc(out.Prefix)
	}
	if out.Delimiter != "" {
		out.Delimiter = enc(out.Delimiter)
	}
	writeXML(w, http.StatusOK, out)
}
