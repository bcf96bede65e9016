package s3emu

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// crc64NVME is the NVME polynomial in the reversed form crc64.MakeTable
// takes (the SDK's own constant).
const crc64NVME = 0x9a6c9329ac4bc9b5

var crc64NVMETable = crc64.MakeTable(crc64NVME)

// checksumAlgorithms are S3's additional checksums, by header suffix.
var checksumAlgorithms = map[string]string{
	"crc32":     "CRC32",
	"crc32c":    "CRC32C",
	"crc64nvme": "CRC64NVME",
	"sha1":      "SHA1",
	"sha256":    "SHA256",
}

func newChecksum(algo string) hash.Hash {
	switch algo {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		return crc64.New(crc64NVMETable)
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	}
	return nil
}

func checksumHeader(algo string) string { return "x-amz-checksum-" + strings.ToLower(algo) }

// incoming is a request body to store, with what the client said about it.
type incoming struct {
	body       io.Reader
	chunked    *chunkedReader // non-nil for aws-chunked bodies
	length     int64          // the payload's declared length, -1 if unknown
	contentMD5 []byte
	sha256Hex  string // x-amz-content-sha256 when it is a payload hash
	algo       string // the additional checksum's algorithm, "" if none
	checksum   string // its value from a header; "" if it comes as a trailer
	trailer    bool   // the value comes as an aws-chunked trailer
}

// received is what storing a body found.
type received struct {
	size     int64
	md5      []byte
	algo     string
	checksum string // base64
}

// parseIncoming reads the headers that describe the body of r.
func parseIncoming(r *http.Request) (*incoming, *s3Error) {
	in := &incoming{body: r.Body, length: r.ContentLength}
	h := r.Header
	if v := h.Get("Content-MD5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(sum) != md5.Size {
			return nil, &s3Error{status: http.StatusBadRequest, code: "InvalidDigest", message: "The Content-MD5 you specified was invalid."}
		}
		in.contentMD5 = sum
	}
	payloadHash := h.Get("x-amz-content-sha256")
	streaming := strings.HasPrefix(payloadHash, "STREAMING-")
	for _, enc := range strings.Split(h.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(enc) == "aws-chunked" {
			streaming = true
		}
	}
	if len(payloadHash) == 64 {
		if _, err := hex.DecodeString(payloadHash); err == nil && !streaming {
			in.sha256Hex = strings.ToLower(payloadHash)
		}
	}
	// The additional checksum: a header, or announced for the trailer.
	for k := range h {
		lk := strings.ToLower(k)
		suffix, ok := strings.CutPrefix(lk, "x-amz-checksum-")
		if !ok {
			continue
		}
		algo, known := checksumAlgorithms[suffix]
		if !known {
			if suffix == "type" || suffix == "algorithm" || suffix == "mode" {
				continue
			}
			return nil, errInvalidRequest("unsupported checksum header " + k)
		}
		if in.algo != "" {
			return nil, errInvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		in.algo, in.checksum = algo, h.Get(k)
	}
	if t := h.Get("x-amz-trailer"); t != "" {
		for name := range strings.SplitSeq(t, ",") {
			suffix, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(name)), "x-amz-checksum-")
			algo, known := checksumAlgorithms[suffix]
			if !ok || !known {
				return nil, errInvalidRequest("unsupported trailer " + strings.TrimSpace(name))
			}
			if in.algo != "" {
				return nil, errInvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
			}
			in.algo, in.trailer = algo, true
		}
		if !streaming {
			return nil, errInvalidRequest("x-amz-trailer requires an aws-chunked body")
		}
	}
	if in.algo == "" {
		if v := h.Get("x-amz-sdk-checksum-algorithm"); v != "" {
			algo, known := checksumAlgorithms[strings.ToLower(v)]
			if !known {
				return nil, errInvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
			}
			in.algo = algo // computed and stored; nothing to compare with
		}
	}
	if streaming {
		in.length = -1
		if v := h.Get("x-amz-decoded-content-length"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, errInvalidArgument("x-amz-decoded-content-length is not a number")
			}
			in.length = n
		}
		in.chunked = newChunkedReader(r.Body)
		in.body = in.chunked
	}
	return in, nil
}

// receive streams the body into a new file in the temporary directory and
// checks every digest the client sent. The file is left open, positioned at
// its end, for finishFile.
func (s *Server) receive(in *incoming, limit int64) (*os.File, received, *s3Error) {
	var res received
	if in.length > limit {
		return nil, res, errEntityTooLarge()
	}
	f, err := os.CreateTemp(s.tmpDir, "put-*")
	if err != nil {
		s.log.Error("s3emu: temporary file", "error", err.Error())
		return nil, res, errInternal()
	}
	fail := func(e *s3Error) (*os.File, received, *s3Error) {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, res, e
	}
	md5h := md5.New()
	writers := []io.Writer{f, md5h}
	var shaH hash.Hash
	if in.sha256Hex != "" {
		shaH = sha256.New()
		writers = append(writers, shaH)
	}
	algo := in.algo
	if algo == "" {
		algo = "CRC64NVME" // S3's default for objects uploaded without one
	}
	ck := newChecksum(algo)
	writers = append(writers, ck)
	n, err := io.Copy(io.MultiWriter(writers...), io.LimitReader(in.body, limit+1))
	if err != nil {
		var we *os.PathError
		if errors.As(err, &we) {
			s.log.Error("s3emu: write object", "error", err.Error())
			return fail(errInternal())
		}
		var ce *chunkError
		if errors.As(err, &ce) {
			return fail(errInvalidRequest("malformed aws-chunked body: " + ce.msg))
		}
		return fail(errIncompleteBody())
	}
	if n > limit {
		return fail(errEntityTooLarge())
	}
	if in.length >= 0 && n != in.length {
		return fail(errIncompleteBody())
	}
	res.size, res.md5, res.algo = n, md5h.Sum(nil), algo
	res.checksum = base64.StdEncoding.EncodeToString(ck.Sum(nil))
	if in.contentMD5 != nil && !bytes.Equal(in.contentMD5, res.md5) {
		return fail(errBadDigest("The Content-MD5 you specified did not match what we received."))
	}
	if shaH != nil && hex.EncodeToString(shaH.Sum(nil)) != in.sha256Hex {
		return fail(&s3Error{status: http.StatusBadRequest, code: "XAmzContentSHA256Mismatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed."})
	}
	want := in.checksum
	if in.trailer {
		want = in.chunked.trailers.Get(checksumHeader(in.algo))
		if want == "" {
			return fail(errInvalidRequest("The " + checksumHeader(in.algo) + " trailer announced by x-amz-trailer is missing"))
		}
	}
	if want != "" && want != res.checksum {
		return fail(errBadDigest(fmt.Sprintf("The %s you specified did not match the calculated checksum.", in.algo)))
	}
	return f, res, nil
}

// chunkedReader decodes an aws-chunked body: chunks "<hex size>[;ext]\r\n
// <data>\r\n", a last chunk of size 0, then trailer lines up to an empty
// line. Chunk and trailer signatures are not checked.
type chunkedReader struct {
	br       *bufio.Reader
	left     int64 // bytes left in the current chunk
	started  bool
	done     bool
	trailers http.Header
}

type chunkError struct{ msg string }

func (e *chunkError) Error() string { return "aws-chunked: " + e.msg }

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{br: bufio.NewReaderSize(r, 64<<10), trailers: http.Header{}}
}

const maxChunkLine = 4096

func (c *chunkedReader) readLine() (string, error) {
	var line []byte
	for {
		part, isPrefix, err := c.br.ReadLine()
		if err != nil {
			if err == io.EOF {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		line = append(line, part...)
		if len(line) > maxChunkLine {
			return "", &chunkError{"line too long"}
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		if c.started {
			// The CRLF after a chunk's data.
			line, err := c.readLine()
			if err != nil {
				return 0, err
			}
			if line != "" {
				return 0, &chunkError{"chunk data longer than its size"}
			}
		}
		c.started = true
		line, err := c.readLine()
		if err != nil {
			return 0, err
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return 0, &chunkError{fmt.Sprintf("bad chunk size %q", sizeHex)}
		}
		if size == 0 {
			if err := c.readTrailers(); err != nil {
				return 0, err
			}
			c.done = true
			return 0, io.EOF
		}
		c.left = size
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readTrailers reads "name:value" lines up to an empty line or the end of
// the body (some clients end without the final CRLF).
func (c *chunkedReader) readTrailers() error {
	for n := 0; ; n++ {
		line, err := c.readLine()
		if err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		if line == "" {
			return nil
		}
		if n > 100 {
			return &chunkError{"too many trailers"}
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return &chunkError{fmt.Sprintf("bad trailer %q", line)}
		}
		c.trailers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
}
