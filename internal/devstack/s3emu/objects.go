package s3emu

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// objectHeaders reads the stored headers and user metadata of a new object.
func objectHeaders(h http.Header) (objectMeta, *s3Error) {
	meta := objectMeta{
		ContentType:        h.Get("Content-Type"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
	var encs []string
	for enc := range strings.SplitSeq(h.Get("Content-Encoding"), ",") {
		if enc = strings.TrimSpace(enc); enc != "" && enc != "aws-chunked" {
			encs = append(encs, enc)
		}
	}
	meta.ContentEncoding = strings.Join(encs, ",")
	if meta.ContentType == "" {
		meta.ContentType = "binary/octet-stream"
	}
	size := 0
	for k, v := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-")
		if !ok || name == "" {
			continue
		}
		if meta.Metadata == nil {
			meta.Metadata = map[string]string{}
		}
		value := strings.Join(v, ",")
		meta.Metadata[name] = value
		size += len(name) + len(value)
	}
	if size > maxMetadataSize {
		return meta, &s3Error{status: http.StatusBadRequest, code: "MetadataTooLarge", message: "Your metadata headers exceed the maximum allowed metadata size.",
			extra: []xmlField{{XMLName: xml.Name{Local: "MaxSizeAllowed"}, Value: fmt.Sprint(maxMetadataSize)}}}
	}
	return meta, nil
}

func quoteETag(sum []byte) string { return `"` + hex.EncodeToString(sum) + `"` }

func (s *Server) putObject(w http.ResponseWriter, req *request) {
	meta, e := objectHeaders(req.r.Header)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	in, e := parseIncoming(req.r)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	f, res, e := s.receive(in, maxObjectSize)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	meta.Key, meta.Size, meta.ETag = req.key, res.size, quoteETag(res.md5)
	meta.ChecksumAlgorithm, meta.Checksum = res.algo, res.checksum
	if e := s.commit(req.r.Context(), f, &meta, req.bucket, "ObjectCreated:Put", req, ""); e != nil {
		s.writeError(w, req, e)
		return
	}
	w.Header().Set("ETag", meta.ETag)
	if meta.VersionID != "" {
		w.Header().Set("x-amz-version-id", meta.VersionID)
	}
	w.Header().Set(checksumHeader(meta.ChecksumAlgorithm), meta.Checksum)
	w.Header().Set("x-amz-checksum-type", "FULL_OBJECT")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getObject(w http.ResponseWriter, req *request, head bool) {
	obj, e := s.openVersion(req)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	defer obj.Close()
	meta := obj.meta
	h := w.Header()
	h.Set("ETag", meta.ETag)
	if meta.VersionID != "" {
		h.Set("x-amz-version-id", meta.VersionID)
	}
	h.Set("Last-Modified", meta.LastModified.UTC().Format(http.TimeFormat))
	if status := checkConditions(req.r.Header, meta); status != 0 {
		if status == http.StatusNotModified {
			w.WriteHeader(status)
			return
		}
		s.writeError(w, req, errPrecondition("If-Match"))
		return
	}
	start, length, partial, ok := parseRange(req.r.Header.Get("Range"), meta.Size)
	if req.query.Has("partNumber") {
		if req.r.Header.Get("Range") != "" {
			s.writeError(w, req, errInvalidRequest("Cannot specify both Range header and partNumber query parameter"))
			return
		}
		var e *s3Error
		if start, length, e = partRange(req.query.Get("partNumber"), meta); e != nil {
			s.writeError(w, req, e)
			return
		}
		partial, ok = true, true
		h.Set("x-amz-mp-parts-count", strconv.Itoa(max(meta.Parts, 1)))
	}
	if !ok {
		e := &s3Error{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidRange", message: "The requested range is not satisfiable",
			extra: []xmlField{
				{XMLName: xml.Name{Local: "RangeRequested"}, Value: req.r.Header.Get("Range")},
				{XMLName: xml.Name{Local: "ActualObjectSize"}, Value: fmt.Sprint(meta.Size)},
			},
			header: http.Header{"Content-Range": {fmt.Sprintf("bytes */%d", meta.Size)}}}
		s.writeError(w, req, e)
		return
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", meta.ContentType)
	for name, v := range map[string]string{
		"Content-Encoding":    meta.ContentEncoding,
		"Content-Disposition": meta.ContentDisposition,
		"Content-Language":    meta.ContentLanguage,
		"Cache-Control":       meta.CacheControl,
		"Expires":             meta.Expires,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	for name, v := range meta.Metadata {
		h["x-amz-meta-"+name] = []string{v}
	}
	if meta.Parts > 0 && !req.query.Has("partNumber") {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(meta.Parts))
	}
	if !head {
		// The response-* parameters of a (pre-signed) GET override headers.
		for param, name := range map[string]string{
			"response-content-type":        "Content-Type",
			"response-content-language":    "Content-Language",
			"response-expires":             "Expires",
			"response-cache-control":       "Cache-Control",
			"response-content-disposition": "Content-Disposition",
			"response-content-encoding":    "Content-Encoding",
		} {
			if v := req.query.Get(param); v != "" {
				h.Set(name, v)
			}
		}
	}
	if !partial && strings.EqualFold(req.r.Header.Get("x-amz-checksum-mode"), "ENABLED") && meta.Checksum != "" {
		h.Set(checksumHeader(meta.ChecksumAlgorithm), meta.Checksum)
		h.Set("x-amz-checksum-type", "FULL_OBJECT")
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, meta.Size))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if head || length == 0 {
		return
	}
	if _, err := io.Copy(w, obj.data(start, length)); err != nil {
		s.log.Debug("s3emu: GetObject body cut short", "bucket", req.bucket, "key", req.key, "error", err.Error())
	}
}

// partRange is where part n of the object lies; an object not uploaded in
// parts is one part.
func partRange(v string, meta objectMeta) (start, length int64, e *s3Error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxParts {
		return 0, 0, errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	sizes := meta.PartSizes
	if len(sizes) == 0 {
		sizes = []int64{meta.Size}
	}
	if n > len(sizes) {
		return 0, 0, &s3Error{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidPartNumber", message: "The requested partnumber is not satisfiable"}
	}
	for _, sz := range sizes[:n-1] {
		start += sz
	}
	return start, sizes[n-1], nil
}

// checkConditions applies If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since as S3 does; it returns 0, 304 or 412.
func checkConditions(h http.Header, meta objectMeta) int {
	lm := meta.LastModified.Truncate(time.Second)
	etag := strings.Trim(meta.ETag, `"`)
	matches := func(list string) bool {
		for v := range strings.SplitSeq(list, ",") {
			v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
			if v == "*" || strings.Trim(v, `"`) == etag {
				return true
			}
		}
		return false
	}
	if v := h.Get("If-Match"); v != "" {
		if !matches(v) {
			return http.StatusPreconditionFailed
		}
	} else if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && lm.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if v := h.Get("If-None-Match"); v != "" {
		if matches(v) {
			return http.StatusNotModified
		}
	} else if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !lm.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// parseRange reads a single "bytes=" range as S3 does: a range it cannot
// parse, or several ranges, mean the whole object; ok is false for a range
// that does not overlap the object (416).
func parseRange(v string, size int64) (start, length int64, partial, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, false, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, true
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, size, false, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, size, false, true
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, size, false, true
		}
		b = min(b, size-1)
	}
	if a >= size {
		return 0, 0, false, false
	}
	return a, b - a + 1, true, true
}

// openVersion opens the object a GET or HEAD names: the current version, or
// the one ?versionId= names.
func (s *Server) openVersion(req *request) (*storedObject, *s3Error) {
	vid, byVersion := req.query.Get("versionId"), req.query.Has("versionId")
	if byVersion && !validVersionID(vid) {
		return nil, errInvalidArgument("Invalid version id specified")
	}
	missing := errNoSuchKey(req.key)
	if byVersion {
		missing = errNoSuchVersion(req.key, vid)
	}
	open := func(path string) (*storedObject, *s3Error) {
		obj, err := openObject(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, missing
		}
		if err != nil {
			s.log.Error("s3emu: open object", "bucket", req.bucket, "key", req.key, "error", err.Error())
			return nil, errInternal()
		}
		if obj.meta.Key != req.key {
			_ = obj.Close()
			return nil, missing
		}
		return obj, nil
	}
	obj, e := open(s.objectPath(req.bucket, req.key))
	if !byVersion || (e == nil && versionOrNull(obj.meta.VersionID) == vid) {
		return obj, e
	}
	if obj != nil {
		_ = obj.Close()
	}
	return open(s.versionPath(req.bucket, req.key, vid))
}

func (s *Server) deleteObject(w http.ResponseWriter, req *request) {
	if req.query.Has("versionId") {
		vid := req.query.Get("versionId")
		if !validVersionID(vid) {
			s.writeError(w, req, errInvalidArgument("Invalid version id specified"))
			return
		}
		if e := s.removeVersion(req.bucket, req.key, vid); e != nil {
			s.writeError(w, req, e)
			return
		}
		w.Header().Set("x-amz-version-id", vid)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.versioned[req.bucket] {
		// A delete marker: the current version becomes noncurrent and the
		// key reads as missing. Markers themselves are not kept (nothing
		// here lists versions).
		unlock := s.lockKey(req.bucket, req.key)
		_, e := s.keepNoncurrent(req.bucket, req.key)
		unlock()
		if e != nil {
			s.writeError(w, req, e)
			return
		}
		w.Header().Set("x-amz-delete-marker", "true")
		w.Header().Set("x-amz-version-id", newVersionID())
	}
	if e := s.removeObject(req.bucket, req.key); e != nil {
		s.writeError(w, req, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeVersion deletes one version for good. Deleting the current version
// makes the newest noncurrent one current, as S3 does.
func (s *Server) removeVersion(bucket, key, vid string) *s3Error {
	unlock := s.lockKey(bucket, key)
	defer unlock()
	final := s.objectPath(bucket, key)
	cur, err := readMetaFile(final)
	if err == nil && cur.Key == key && versionOrNull(cur.VersionID) == vid {
		if err := os.Remove(final); err != nil {
			s.log.Error("s3emu: delete version", "key", key, "error", err.Error())
			return errInternal()
		}
		_ = os.Remove(s.versionPath(bucket, key, vid)) // a copy a crash may have left
		if newest := s.newestNoncurrent(bucket, key); newest != "" {
			if err := os.Rename(newest, final); err != nil {
				s.log.Error("s3emu: promote version", "key", key, "error", err.Error())
				return errInternal()
			}
		}
		_ = hostos.SyncDir(filepath.Dir(final))
		return nil
	}
	p := s.versionPath(bucket, key, vid)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("s3emu: delete version", "key", key, "error", err.Error())
		return errInternal()
	}
	_ = hostos.SyncDir(filepath.Dir(p))
	return nil
}

// newestNoncurrent returns the file of the key's newest noncurrent version,
// by sequencer, or "".
func (s *Server) newestNoncurrent(bucket, key string) string {
	dir := filepath.Dir(s.versionPath(bucket, key, "x"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	best, bestSeq := "", ""
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		m, err := readMetaFile(p)
		if err != nil || m.Key != key {
			continue
		}
		if m.Sequencer > bestSeq {
			best, bestSeq = p, m.Sequencer
		}
	}
	return best
}

func (s *Server) removeObject(bucket, key string) *s3Error {
	unlock := s.lockKey(bucket, key)
	defer unlock()
	path := s.objectPath(bucket, key)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // DeleteObject is idempotent
		}
		s.log.Error("s3emu: delete object", "bucket", bucket, "key", key, "error", err.Error())
		return errInternal()
	}
	if err := hostos.SyncDir(filepath.Dir(path)); err != nil {
		s.log.Error("s3emu: sync", "error", err.Error())
		return errInternal()
	}
	return nil
}

// readXMLBody decodes a small XML request body into v.
func readXMLBody(r *http.Request, v any) *s3Error {
	in, e := parseIncoming(r)
	if e != nil {
		return e
	}
	data, err := io.ReadAll(io.LimitReader(in.body, 4<<20+1))
	if err != nil {
		return errIncompleteBody()
	}
	if len(data) > 4<<20 {
		return errMalformedXML()
	}
	if in.contentMD5 != nil {
		sum := md5.Sum(data)
		if string(sum[:]) != string(in.contentMD5) {
			return errBadDigest("The Content-MD5 you specified did not match what we received.")
		}
	}
	want := in.checksum
	if in.trailer {
		want = in.chunked.trailers.Get(checksumHeader(in.algo))
	}
	if want != "" {
		ck := newChecksum(in.algo)
		ck.Write(data)
		if base64.StdEncoding.EncodeToString(ck.Sum(nil)) != want {
			return errBadDigest(fmt.Sprintf("The %s you specified did not match the calculated checksum.", in.algo))
		}
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return errMalformedXML()
	}
	return nil
}
