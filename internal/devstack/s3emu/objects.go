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
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	w.Header().Set(checksumHeader(meta.ChecksumAlgorithm), meta.Checksum)
	w.Header().Set("x-amz-checksum-type", "FULL_OBJECT")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getObject(w http.ResponseWriter, req *request, head bool) {
	obj, err := openObject(s.objectPath(req.bucket, req.key))
	if errors.Is(err, fs.ErrNotExist) {
		s.writeError(w, req, errNoSuchKey(req.key))
		return
	}
	if err != nil {
		s.log.Error("s3emu: open object", "bucket", req.bucket, "key", req.key, "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	defer obj.Close()
	meta := obj.meta
	if meta.Key != req.key {
		s.writeError(w, req, errNoSuchKey(req.key))
		return
	}
	h := w.Header()
	h.Set("ETag", meta.ETag)
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

func (s *Server) deleteObject(w http.ResponseWriter, req *request) {
	if e := s.removeObject(req.bucket, req.key); e != nil {
		s.writeError(w, req, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
	if err := syncDir(filepath.Dir(path)); err != nil {
		s.log.Error("s3emu: sync", "error", err.Error())
		return errInternal()
	}
	return nil
}

// parseCopySource reads x-amz-copy-source: "[/]bucket/key[?versionId=...]",
// URL-encoded.
func parseCopySource(v string) (bucket, key string, e *s3Error) {
	v, _, _ = strings.Cut(v, "?")
	raw, err := url.PathUnescape(strings.TrimPrefix(v, "/"))
	if err != nil {
		return "", "", errInvalidArgument("Invalid copy source encoding")
	}
	bucket, key, ok := strings.Cut(raw, "/")
	if !ok || !validBucketName(bucket) || key == "" {
		return "", "", errInvalidArgument("Invalid copy source object key")
	}
	if e := checkKey(key); e != nil {
		return "", "", e
	}
	return bucket, key, nil
}

// openCopySource opens the object x-amz-copy-source names.
func (s *Server) openCopySource(req *request) (*storedObject, string, string, *s3Error) {
	bucket, key, e := parseCopySource(req.r.Header.Get("x-amz-copy-source"))
	if e != nil {
		return nil, "", "", e
	}
	if !s.bucketExists(bucket) {
		return nil, "", "", errNoSuchBucket(bucket)
	}
	obj, err := openObject(s.objectPath(bucket, key))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && obj.meta.Key != key) {
		if obj != nil {
			_ = obj.Close()
		}
		return nil, "", "", errNoSuchKey(key)
	}
	if err != nil {
		s.log.Error("s3emu: open copy source", "error", err.Error())
		return nil, "", "", errInternal()
	}
	if status := checkCopyConditions(req.r.Header, obj.meta); status != 0 {
		_ = obj.Close()
		return nil, "", "", errPrecondition("x-amz-copy-source-If-Match")
	}
	return obj, bucket, key, nil
}

// checkCopyConditions applies the x-amz-copy-source-if-* headers.
func checkCopyConditions(h http.Header, meta objectMeta) int {
	c := http.Header{}
	for _, n := range []string{"Match", "None-Match", "Modified-Since", "Unmodified-Since"} {
		if v := h.Get("x-amz-copy-source-if-" + n); v != "" {
			c.Set("If-"+n, v)
		}
	}
	if len(c) == 0 {
		return 0
	}
	if checkConditions(c, meta) != 0 {
		return http.StatusPreconditionFailed
	}
	return 0
}

// copyData copies n bytes at off of src into a new temporary file.
func (s *Server) copyData(src *storedObject, off, n int64, algo string) (*os.File, received, *s3Error) {
	var res received
	f, err := os.CreateTemp(s.tmpDir, "copy-*")
	if err != nil {
		s.log.Error("s3emu: temporary file", "error", err.Error())
		return nil, res, errInternal()
	}
	md5h, ck := md5.New(), newChecksum(algo)
	if _, err := io.Copy(io.MultiWriter(f, md5h, ck), src.data(off, n)); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		s.log.Error("s3emu: copy", "error", err.Error())
		return nil, res, errInternal()
	}
	res.size, res.md5, res.algo = n, md5h.Sum(nil), algo
	res.checksum = base64.StdEncoding.EncodeToString(ck.Sum(nil))
	return f, res, nil
}

// copyAlgorithm is the checksum a copy stores: the one asked for, else the
// source's, else S3's default.
func copyAlgorithm(h http.Header, src objectMeta) (string, *s3Error) {
	if v := h.Get("x-amz-checksum-algorithm"); v != "" {
		algo, ok := checksumAlgorithms[strings.ToLower(v)]
		if !ok {
			return "", errInvalidRequest("Checksum algorithm provided is unsupported.")
		}
		return algo, nil
	}
	if src.ChecksumAlgorithm != "" {
		return src.ChecksumAlgorithm, nil
	}
	return "CRC64NVME", nil
}

type copyObjectResult struct {
	XMLName           xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag              string   `xml:"ETag"`
	LastModified      string   `xml:"LastModified"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	ChecksumCRC32     string   `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string   `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string   `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string   `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string   `xml:"ChecksumSHA256,omitempty"`
}

func (r *copyObjectResult) setChecksum(algo, value string) {
	switch algo {
	case "CRC32":
		r.ChecksumCRC32 = value
	case "CRC32C":
		r.ChecksumCRC32C = value
	case "CRC64NVME":
		r.ChecksumCRC64NVME = value
	case "SHA1":
		r.ChecksumSHA1 = value
	case "SHA256":
		r.ChecksumSHA256 = value
	}
}

func (s *Server) copyObject(w http.ResponseWriter, req *request) {
	src, srcBucket, srcKey, e := s.openCopySource(req)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	defer src.Close()
	if src.meta.Size > maxObjectSize {
		s.writeError(w, req, errInvalidRequest(fmt.Sprintf("The specified copy source is larger than the maximum allowable size for a copy source: %d", maxObjectSize)))
		return
	}
	directive := strings.ToUpper(req.r.Header.Get("x-amz-metadata-directive"))
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		s.writeError(w, req, errInvalidArgument("Unknown metadata directive."))
		return
	}
	if srcBucket == req.bucket && srcKey == req.key && directive != "REPLACE" {
		s.writeError(w, req, errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."))
		return
	}
	var meta objectMeta
	if directive == "REPLACE" {
		if meta, e = objectHeaders(req.r.Header); e != nil {
			s.writeError(w, req, e)
			return
		}
	} else {
		m := src.meta
		meta = objectMeta{ContentType: m.ContentType, ContentEncoding: m.ContentEncoding, ContentDisposition: m.ContentDisposition,
			ContentLanguage: m.ContentLanguage, CacheControl: m.CacheControl, Expires: m.Expires, Metadata: m.Metadata}
	}
	algo, e := copyAlgorithm(req.r.Header, src.meta)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	f, res, e := s.copyData(src, 0, src.meta.Size, algo)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	meta.Key, meta.Size, meta.ETag = req.key, res.size, quoteETag(res.md5)
	meta.ChecksumAlgorithm, meta.Checksum = res.algo, res.checksum
	if e := s.commit(req.r.Context(), f, &meta, req.bucket, "ObjectCreated:Copy", req, ""); e != nil {
		s.writeError(w, req, e)
		return
	}
	out := copyObjectResult{ETag: meta.ETag, LastModified: s3Time(meta.LastModified), ChecksumType: "FULL_OBJECT"}
	out.setChecksum(meta.ChecksumAlgorithm, meta.Checksum)
	writeXML(w, http.StatusOK, out)
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

type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deletedXML struct {
	Key string `xml:"Key"`
}

type deleteErrorXML struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type deleteResult struct {
	XMLName xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedXML     `xml:"Deleted"`
	Errors  []deleteErrorXML `xml:"Error"`
}

func (s *Server) deleteObjects(w http.ResponseWriter, req *request) {
	var in deleteRequest
	if e := readXMLBody(req.r, &in); e != nil {
		s.writeError(w, req, e)
		return
	}
	if len(in.Objects) == 0 || len(in.Objects) > 1000 {
		s.writeError(w, req, errMalformedXML())
		return
	}
	var out deleteResult
	for _, o := range in.Objects {
		e := checkKey(o.Key)
		if e == nil {
			e = s.removeObject(req.bucket, o.Key)
		}
		if e != nil {
			out.Errors = append(out.Errors, deleteErrorXML{Key: o.Key, Code: e.code, Message: e.message})
			continue
		}
		if !in.Quiet {
			out.Deleted = append(out.Deleted, deletedXML{Key: o.Key})
		}
	}
	writeXML(w, http.StatusOK, out)
}
