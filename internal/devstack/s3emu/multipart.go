package s3emu

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// A multipart upload is the directory Dir/buckets/<b>/uploads/<id>: its
// upload.json (key, headers, metadata, checksum algorithm) and one file per
// part, part-NNNNN.obj, in the object file format. The upload ID is 32 hex
// digits, checked before it is used in a path.

var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

type uploadInfo struct {
	Key       string     `json:"key"`
	Initiated time.Time  `json:"initiated"`
	Meta      objectMeta `json:"meta"`
	Algorithm string     `json:"checksum_algorithm,omitempty"`
}

func partPath(dir string, n int) string { return filepath.Join(dir, fmt.Sprintf("part-%05d.obj", n)) }

type initiateResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Server) createMultipartUpload(w http.ResponseWriter, req *request) {
	meta, e := objectHeaders(req.r.Header)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	info := uploadInfo{Key: req.key, Initiated: s.now().UTC(), Meta: meta}
	if v := req.r.Header.Get("x-amz-checksum-algorithm"); v != "" {
		algo, ok := checksumAlgorithms[strings.ToLower(v)]
		if !ok {
			s.writeError(w, req, errInvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"))
			return
		}
		info.Algorithm = algo
	}
	id := newUploadID()
	dir := s.uploadDir(req.bucket, id)
	data, _ := json.Marshal(info)
	if err := mkdirDurable(dir); err != nil {
		s.log.Error("s3emu: create upload", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	if err := writeFileDurable(filepath.Join(dir, "upload.json"), data, s.tmpDir); err != nil {
		_ = os.RemoveAll(dir)
		s.log.Error("s3emu: create upload", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	if info.Algorithm != "" {
		w.Header().Set("x-amz-checksum-algorithm", info.Algorithm)
		w.Header().Set("x-amz-checksum-type", "COMPOSITE")
	}
	writeXML(w, http.StatusOK, initiateResult{Bucket: req.bucket, Key: req.key, UploadID: id})
}

// openUpload finds the upload the request's uploadId names for its key.
func (s *Server) openUpload(req *request) (string, uploadInfo, *s3Error) {
	var info uploadInfo
	id := req.query.Get("uploadId")
	if !uploadIDRE.MatchString(id) {
		return "", info, errNoSuchUpload(id)
	}
	dir := s.uploadDir(req.bucket, id)
	data, err := os.ReadFile(filepath.Join(dir, "upload.json"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", info, errNoSuchUpload(id)
		}
		s.log.Error("s3emu: read upload", "error", err.Error())
		return "", info, errInternal()
	}
	if err := json.Unmarshal(data, &info); err != nil || info.Key != req.key {
		return "", info, errNoSuchUpload(id)
	}
	return dir, info, nil
}

func partNumber(req *request) (int, *s3Error) {
	n, err := strconv.Atoi(req.query.Get("partNumber"))
	if err != nil || n < 1 || n > maxParts {
		return 0, errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// uploadPart serves UploadPart.
func (s *Server) uploadPart(w http.ResponseWriter, req *request) {
	if !req.query.Has("uploadId") || !req.query.Has("partNumber") {
		s.writeError(w, req, errInvalidRequest("UploadPart needs both uploadId and partNumber"))
		return
	}
	n, e := partNumber(req)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	dir, info, e := s.openUpload(req)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	in, e := parseIncoming(req.r)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	if in.algo == "" && info.Algorithm != "" {
		in.algo = info.Algorithm
	}
	f, res, e := s.receive(in, maxObjectSize)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	meta := objectMeta{Size: res.size, ETag: quoteETag(res.md5), MD5: hex.EncodeToString(res.md5),
		LastModified: s.now().UTC().Truncate(time.Millisecond), ChecksumAlgorithm: res.algo, Checksum: res.checksum}
	tmp := f.Name()
	if err := finishFile(f, &meta); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		s.log.Error("s3emu: write part", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	// The upload may have been completed or aborted meanwhile.
	if _, err := os.Stat(filepath.Join(dir, "upload.json")); err != nil {
		_ = os.Remove(tmp)
		s.writeError(w, req, errNoSuchUpload(req.query.Get("uploadId")))
		return
	}
	if err := os.Rename(tmp, partPath(dir, n)); err != nil {
		_ = os.Remove(tmp)
		s.log.Error("s3emu: store part", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	if err := hostos.SyncDir(dir); err != nil {
		s.log.Error("s3emu: sync", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	w.Header().Set("ETag", meta.ETag)
	w.Header().Set(checksumHeader(meta.ChecksumAlgorithm), meta.Checksum)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

type completeRequest struct {
	Parts []struct {
		PartNumber        int    `xml:"PartNumber"`
		ETag              string `xml:"ETag"`
		ChecksumCRC32     string `xml:"ChecksumCRC32"`
		ChecksumCRC32C    string `xml:"ChecksumCRC32C"`
		ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME"`
		ChecksumSHA1      string `xml:"ChecksumSHA1"`
		ChecksumSHA256    string `xml:"ChecksumSHA256"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func errInvalidPart(n int) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "InvalidPart",
		message: fmt.Sprintf("One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part %d)", n)}
}

func (s *Server) completeMultipartUpload(w http.ResponseWriter, req *request) {
	dir, info, e := s.openUpload(req)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	var in completeRequest
	if e := readXMLBody(req.r, &in); e != nil {
		s.writeError(w, req, e)
		return
	}
	if len(in.Parts) == 0 {
		s.writeError(w, req, &s3Error{status: http.StatusBadRequest, code: "MalformedXML", message: "The XML you provided was not well-formed or did not validate against our published schema"})
		return
	}
	// Check every part before writing anything.
	parts := make([]*storedObject, 0, len(in.Parts))
	defer func() {
		for _, p := range parts {
			_ = p.Close()
		}
	}()
	var total int64
	etags := md5.New()
	for i, p := range in.Parts {
		if i > 0 && p.PartNumber <= in.Parts[i-1].PartNumber {
			s.writeError(w, req, &s3Error{status: http.StatusBadRequest, code: "InvalidPartOrder", message: "The list of parts was not in ascending order. The parts list must be specified in order by part number."})
			return
		}
		if p.PartNumber < 1 || p.PartNumber > maxParts {
			s.writeError(w, req, errInvalidPart(p.PartNumber))
			return
		}
		obj, err := openObject(partPath(dir, p.PartNumber))
		if err != nil {
			s.writeError(w, req, errInvalidPart(p.PartNumber))
			return
		}
		parts = append(parts, obj)
		if strings.Trim(p.ETag, `" `) != strings.Trim(obj.meta.ETag, `"`) {
			s.writeError(w, req, errInvalidPart(p.PartNumber))
			return
		}
		for algo, v := range map[string]string{"CRC32": p.ChecksumCRC32, "CRC32C": p.ChecksumCRC32C, "CRC64NVME": p.ChecksumCRC64NVME, "SHA1": p.ChecksumSHA1, "SHA256": p.ChecksumSHA256} {
			if v != "" && algo == obj.meta.ChecksumAlgorithm && v != obj.meta.Checksum {
				s.writeError(w, req, errInvalidPart(p.PartNumber))
				return
			}
		}
		if i < len(in.Parts)-1 && obj.meta.Size < minPartSize {
			s.writeError(w, req, &s3Error{status: http.StatusBadRequest, code: "EntityTooSmall", message: "Your proposed upload is smaller than the minimum allowed object size.",
				extra: []xmlField{{XMLName: xml.Name{Local: "PartNumber"}, Value: strconv.Itoa(p.PartNumber)}, {XMLName: xml.Name{Local: "ProposedSize"}, Value: strconv.FormatInt(obj.meta.Size, 10)}, {XMLName: xml.Name{Local: "MinSizeAllowed"}, Value: strconv.Itoa(minPartSize)}}})
			return
		}
		sum, err := hex.DecodeString(obj.meta.MD5)
		if err != nil {
			s.writeError(w, req, errInvalidPart(p.PartNumber))
			return
		}
		etags.Write(sum)
		total += obj.meta.Size
	}
	f, err := os.CreateTemp(s.tmpDir, "complete-*")
	if err != nil {
		s.log.Error("s3emu: temporary file", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	// The whole object gets a full-object CRC64NVME, whatever the parts had.
	var ck hash.Hash = newChecksum("CRC64NVME")
	for _, p := range parts {
		if _, err := io.Copy(io.MultiWriter(f, ck), p.data(0, p.meta.Size)); err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			s.log.Error("s3emu: assemble upload", "error", err.Error())
			s.writeError(w, req, errInternal())
			return
		}
	}
	meta := info.Meta
	meta.Key, meta.Size = req.key, total
	meta.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(etags.Sum(nil)), len(parts))
	meta.Parts = len(parts)
	for _, p := range parts {
		meta.PartSizes = append(meta.PartSizes, p.meta.Size)
	}
	meta.ChecksumAlgorithm, meta.Checksum = "CRC64NVME", base64.StdEncoding.EncodeToString(ck.Sum(nil))
	if e := s.commit(req.r.Context(), f, &meta, req.bucket, "ObjectCreated:CompleteMultipartUpload", req, dir); e != nil {
		s.writeError(w, req, e)
		return
	}
	scheme := "http"
	if req.r.TLS != nil {
		scheme = "https"
	}
	writeXML(w, http.StatusOK, completeResult{
		Location: scheme + "://" + req.r.Host + req.r.URL.EscapedPath(), Bucket: req.bucket, Key: req.key, ETag: meta.ETag,
	})
}

func (s *Server) abortMultipartUpload(w http.ResponseWriter, req *request) {
	dir, _, e := s.openUpload(req)
	if e != nil {
		s.writeError(w, req, e)
		return
	}
	// upload.json first: from then on the upload is gone.
	if err := os.Remove(filepath.Join(dir, "upload.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("s3emu: abort upload", "error", err.Error())
		s.writeError(w, req, errInternal())
		return
	}
	_ = os.RemoveAll(dir)
	w.WriteHeader(http.StatusNoContent)
}
