package s3emu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// An object file holds the bytes, then the JSON of objectMeta, then a
// 16-byte trailer: the JSON's length (big-endian uint64) and fileMagic. Parts
// of multipart uploads use the same format.
const (
	fileMagic   = "S3LOCAL1"
	trailerSize = 16
	// maxMetaJSON bounds the description a reader will load.
	maxMetaJSON = 1 << 20
)

// objectMeta describes a stored object or part.
type objectMeta struct {
	Key                string            `json:"key,omitempty"`
	Size               int64             `json:"size"`
	ETag               string            `json:"etag"`          // quoted, as in headers
	MD5                string            `json:"md5,omitempty"` // hex, parts only: the multipart ETag is built from them
	LastModified       time.Time         `json:"last_modified"`
	ContentType        string            `json:"content_type,omitempty"`
	ContentEncoding    string            `json:"content_encoding,omitempty"`
	ContentDisposition string            `json:"content_disposition,omitempty"`
	ContentLanguage    string            `json:"content_language,omitempty"`
	CacheControl       string            `json:"cache_control,omitempty"`
	Expires            string            `json:"expires,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"` // x-amz-meta-<name>, name lower-case
	ChecksumAlgorithm  string            `json:"checksum_algorithm,omitempty"`
	Checksum           string            `json:"checksum,omitempty"` // base64
	Parts              int               `json:"parts,omitempty"`
	PartSizes          []int64           `json:"part_sizes,omitempty"` // multipart objects: for GET ?partNumber
	Sequencer          string            `json:"sequencer,omitempty"`
	// VersionID is set in a versioned bucket; "" reads as S3's "null".
	VersionID string `json:"version_id,omitempty"`
}

// bucketDir is where a bucket's files live; the name is validated first.
func (s *Server) bucketDir(bucket string) string { return filepath.Join(s.dir, "buckets", bucket) }

// objectPath maps a key to its file: the key is never part of a path.
func (s *Server) objectPath(bucket, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.bucketDir(bucket), "objects", hex.EncodeToString(sum[:])+".obj")
}

// versionPath is where a noncurrent version of a key lives in a versioned
// bucket: Dir/buckets/<b>/versions/<sha256 of key>/<version id>.obj. The
// current version stays at objectPath, so plain reads cost what they did.
func (s *Server) versionPath(bucket, key, versionID string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.bucketDir(bucket), "versions", hex.EncodeToString(sum[:]), versionID+".obj")
}

func (s *Server) uploadDir(bucket, uploadID string) string {
	return filepath.Join(s.bucketDir(bucket), "uploads", uploadID)
}

func (s *Server) bucketExists(bucket string) bool {
	fi, err := os.Stat(filepath.Join(s.bucketDir(bucket), "objects"))
	return err == nil && fi.IsDir()
}

// createBucket makes the bucket's directories; it reports whether the bucket
// is new.
func (s *Server) createBucket(bucket string) (bool, error) {
	if s.bucketExists(bucket) {
		return false, nil
	}
	dir := s.bucketDir(bucket)
	if err := mkdirDurable(dir); err != nil {
		return false, err
	}
	info, _ := json.Marshal(map[string]time.Time{"created": s.now().UTC()})
	if err := writeFileDurable(filepath.Join(dir, "bucket.json"), info, s.tmpDir); err != nil {
		return false, err
	}
	if err := mkdirDurable(filepath.Join(dir, "uploads")); err != nil {
		return false, err
	}
	// objects/ last: its presence is what makes the bucket exist.
	if err := mkdirDurable(filepath.Join(dir, "objects")); err != nil {
		return false, err
	}
	return true, nil
}

// mkdirDurable creates dir (and parents) and fsyncs the parent of each
// directory it created, so the new entry survives a crash.
func mkdirDurable(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return hostos.SyncDir(parent)
}

// writeFileDurable writes data to path atomically and durably.
func writeFileDurable(path string, data []byte, tmpDir string) error {
	f, err := os.CreateTemp(tmpDir, "w-*")
	if err != nil {
		return err
	}
	name := f.Name()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(name)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return err
	}
	return hostos.SyncDir(filepath.Dir(path))
}

// finishFile appends meta and the trailer to a temporary file holding the
// bytes, fsyncs and closes it.
func finishFile(f *os.File, meta *objectMeta) error {
	data, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	var tr [trailerSize]byte
	binary.BigEndian.PutUint64(tr[:8], uint64(len(data)))
	copy(tr[8:], fileMagic)
	if _, err := f.Write(append(data, tr[:]...)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// storedObject is an open object file.
type storedObject struct {
	f    *os.File
	meta objectMeta
}

// data reads the object's bytes in [off, off+n).
func (o *storedObject) data(off, n int64) *io.SectionReader { return io.NewSectionReader(o.f, off, n) }

func (o *storedObject) Close() error { return o.f.Close() }

// openObject opens an object or part file; a missing file is fs.ErrNotExist.
func openObject(path string) (*storedObject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	meta, err := readMeta(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &storedObject{f: f, meta: meta}, nil
}

func readMeta(f *os.File) (objectMeta, error) {
	var meta objectMeta
	fi, err := f.Stat()
	if err != nil {
		return meta, err
	}
	size := fi.Size()
	if size < trailerSize {
		return meta, errors.New("object file too short")
	}
	var tr [trailerSize]byte
	if _, err := f.ReadAt(tr[:], size-trailerSize); err != nil {
		return meta, err
	}
	if string(tr[8:]) != fileMagic {
		return meta, errors.New("object file has no trailer")
	}
	n := binary.BigEndian.Uint64(tr[:8])
	if n > maxMetaJSON || int64(n) > size-trailerSize {
		return meta, errors.New("object file trailer is corrupt")
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-trailerSize-int64(n)); err != nil {
		return meta, err
	}
	if err := json.Unmarshal(buf, &meta); err != nil {
		return meta, err
	}
	if meta.Size != size-trailerSize-int64(n) {
		return meta, errors.New("object file size does not match its description")
	}
	return meta, nil
}

func readMetaFile(path string) (objectMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return objectMeta{}, err
	}
	defer f.Close()
	return readMeta(f)
}

// lockKey serializes commits, rollbacks and deletes of one key.
func (s *Server) lockKey(bucket, key string) func() {
	h := fnv.New32a()
	_, _ = io.WriteString(h, bucket)
	_, _ = h.Write([]byte{0})
	_, _ = io.WriteString(h, key)
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// nextSequencer returns an increasing, fixed-width hex string: S3's event
// sequencer, and this server's id for an intent.
func (s *Server) nextSequencer() string {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	v := uint64(s.now().UnixNano())
	if v <= s.lastSeq {
		v = s.lastSeq + 1
	}
	s.lastSeq = v
	return fmt.Sprintf("%016X", v)
}

// intent is what Dir/pending holds while an object is being made visible
// and announced.
type intent struct {
	Sequencer string `json:"sequencer"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	Temp      string `json:"temp"`           // the new object file, until renamed
	Prev      string `json:"prev,omitempty"` // hard link to the replaced object, for a rollback
	// PrevVersion is the noncurrent copy of the replaced version (versioned
	// buckets), removed again by a rollback that makes it current.
	PrevVersion string `json:"prev_version,omitempty"`
	// UploadDir is the multipart upload to remove once announced.
	UploadDir string               `json:"upload_dir,omitempty"`
	Record    events.S3EventRecord `json:"record"`
}

// commit finishes the temporary file f (the object's bytes, still open) with
// meta, makes it the object bucket/meta.Key and reports the event; see the
// package doc. It closes f; on error f is removed and the key is as before.
//
// The key's lock is held while the object replaces the old one and while a
// failed announcement is rolled back, not while OnObjectCreated runs, so a
// callback that reads, writes or deletes objects (even this one) cannot
// deadlock.
func (s *Server) commit(ctx context.Context, f *os.File, meta *objectMeta, bucket string, eventName string, req *request, uploadDir string) *s3Error {
	in, intentPath, e := s.store(f, meta, bucket, eventName, req, uploadDir)
	if e != nil || in == nil {
		return e
	}
	if err := s.onCreated(context.WithoutCancel(ctx), in.Record); err != nil {
		s.log.Warn("s3emu: OnObjectCreated failed; rolling the object back", "bucket", bucket, "key", meta.Key, "error", err.Error())
		unlock := s.lockKey(bucket, meta.Key)
		rerr := s.rollback(in)
		unlock()
		if rerr != nil {
			// The intent stays: a restart announces the object.
			s.log.Error("s3emu: roll back", "bucket", bucket, "key", meta.Key, "error", rerr.Error())
			return errInternal()
		}
		_ = os.Remove(intentPath)
		return errServiceUnavailable()
	}
	s.finishIntent(in, intentPath)
	return nil
}

// store is commit's part under the key's lock: it writes the intent and
// renames the object into place. Without OnObjectCreated it writes no intent
// and returns a nil intent.
func (s *Server) store(f *os.File, meta *objectMeta, bucket string, eventName string, req *request, uploadDir string) (*intent, string, *s3Error) {
	tmp := f.Name()
	unlock := s.lockKey(bucket, meta.Key)
	defer unlock()
	final := s.objectPath(bucket, meta.Key)
	if e := s.checkWriteConditions(req.r.Header, final, meta.Key); e != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, "", e
	}
	// Under the lock, so the sequencers of one key grow in the order the
	// versions replace each other.
	meta.Sequencer = s.nextSequencer()
	meta.LastModified = s.now().UTC().Truncate(time.Millisecond)
	prevVersion := ""
	if s.versioned[bucket] {
		meta.VersionID = newVersionID()
		var e *s3Error
		if prevVersion, e = s.keepNoncurrent(bucket, meta.Key); e != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			return nil, "", e
		}
	}
	if err := finishFile(f, meta); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		if prevVersion != "" {
			_ = os.Remove(prevVersion)
		}
		s.log.Error("s3emu: write object", "bucket", bucket, "key", meta.Key, "error", err.Error())
		return nil, "", errInternal()
	}
	if s.onCreated == nil {
		if err := os.Rename(tmp, final); err != nil {
			_ = os.Remove(tmp)
			s.log.Error("s3emu: store object", "bucket", bucket, "key", meta.Key, "error", err.Error())
			return nil, "", errInternal()
		}
		if err := hostos.SyncDir(filepath.Dir(final)); err != nil {
			s.log.Error("s3emu: sync", "error", err.Error())
			return nil, "", errInternal()
		}
		if uploadDir != "" {
			_ = os.RemoveAll(uploadDir)
		}
		return nil, "", nil
	}
	in := &intent{Sequencer: meta.Sequencer, Bucket: bucket, Key: meta.Key, Temp: tmp, UploadDir: uploadDir, PrevVersion: prevVersion,
		Record: s.eventRecord(eventName, bucket, meta, req)}
	prev := filepath.Join(s.tmpDir, meta.Sequencer+".prev")
	if err := os.Link(final, prev); err == nil {
		in.Prev = prev
	} else if !errors.Is(err, fs.ErrNotExist) {
		_ = os.Remove(tmp)
		s.log.Error("s3emu: keep previous version", "error", err.Error())
		return nil, "", errInternal()
	}
	fail := func(what string, err error) (*intent, string, *s3Error) {
		_ = os.Remove(tmp)
		if in.Prev != "" {
			_ = os.Remove(in.Prev)
		}
		if in.PrevVersion != "" {
			_ = os.Remove(in.PrevVersion)
		}
		s.log.Error("s3emu: "+what, "bucket", bucket, "key", meta.Key, "error", err.Error())
		return nil, "", errInternal()
	}
	data, err := json.Marshal(in)
	if err != nil {
		return fail("encode intent", err)
	}
	intentPath := filepath.Join(s.pending, meta.Sequencer+".json")
	if err := writeFileDurable(intentPath, data, s.tmpDir); err != nil {
		return fail("write intent", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(intentPath)
		return fail("store object", err)
	}
	if err := hostos.SyncDir(filepath.Dir(final)); err != nil {
		// The rename happened; the intent makes a restart announce it.
		s.log.Error("s3emu: sync object directory", "error", err.Error())
	}
	return in, intentPath, nil
}

// keepNoncurrent links the current version of key, if any, into the key's
// versions directory before a new version replaces it, and returns that
// link. The caller holds the key's lock.
func (s *Server) keepNoncurrent(bucket, key string) (string, *s3Error) {
	final := s.objectPath(bucket, key)
	cur, err := readMetaFile(final)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && cur.Key != key) {
		return "", nil
	}
	if err != nil {
		s.log.Error("s3emu: read object", "key", key, "error", err.Error())
		return "", errInternal()
	}
	p := s.versionPath(bucket, key, versionOrNull(cur.VersionID))
	if err := mkdirDurable(filepath.Dir(p)); err != nil {
		s.log.Error("s3emu: keep noncurrent version", "key", key, "error", err.Error())
		return "", errInternal()
	}
	if err := os.Link(final, p); err != nil && !errors.Is(err, fs.ErrExist) {
		s.log.Error("s3emu: keep noncurrent version", "key", key, "error", err.Error())
		return "", errInternal()
	}
	if err := hostos.SyncDir(filepath.Dir(p)); err != nil {
		return "", errInternal()
	}
	return p, nil
}

func versionOrNull(v string) string {
	if v == "" {
		return "null"
	}
	return v
}

// checkWriteConditions applies S3's conditional writes: If-None-Match: *
// (only if the key is free) and If-Match: <etag> (only over that version).
// The caller holds the key's lock.
func (s *Server) checkWriteConditions(h http.Header, final, key string) *s3Error {
	ifMatch, ifNoneMatch := h.Get("If-Match"), h.Get("If-None-Match")
	if ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	meta, err := readMetaFile(final)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("s3emu: read object", "key", key, "error", err.Error())
		return errInternal()
	}
	exists := err == nil && meta.Key == key
	if ifNoneMatch != "" {
		if strings.TrimSpace(ifNoneMatch) != "*" {
			return errNotImplemented()
		}
		if exists {
			return errPrecondition("If-None-Match")
		}
	}
	if ifMatch != "" {
		if !exists {
			return errNoSuchKey(key)
		}
		if strings.Trim(ifMatch, `" `) != strings.Trim(meta.ETag, `"`) {
			return errPrecondition("If-Match")
		}
	}
	return nil
}

// rollback undoes the object of a refused announcement: it puts the previous
// version of the key back, or removes the key, unless the key no longer
// holds that object (a later upload or a delete replaced it), in which case
// there is nothing to undo. The caller holds the key's lock.
func (s *Server) rollback(in *intent) error {
	final := s.objectPath(in.Bucket, in.Key)
	meta, err := readMetaFile(final)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err != nil || meta.Sequencer != in.Sequencer {
		if in.Prev != "" {
			_ = os.Remove(in.Prev)
		}
		return nil
	}
	if in.Prev != "" {
		if err := os.Rename(in.Prev, final); err != nil {
			return err
		}
		if in.PrevVersion != "" {
			// Current again: no longer also a noncurrent version.
			_ = os.Remove(in.PrevVersion)
		}
	} else if err := os.Remove(final); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return hostos.SyncDir(filepath.Dir(final))
}

func (s *Server) finishIntent(in *intent, intentPath string) {
	if in.Prev != "" {
		_ = os.Remove(in.Prev)
	}
	if in.UploadDir != "" {
		_ = os.RemoveAll(in.UploadDir)
	}
	_ = os.Remove(intentPath)
}

// recover finishes the intents a killed process left: see the package doc.
func (s *Server) recover(ctx context.Context) error {
	entries, err := os.ReadDir(s.pending)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // sequencer order
	for _, name := range names {
		path := filepath.Join(s.pending, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var in intent
		if err := json.Unmarshal(data, &in); err != nil || in.Sequencer == "" || !validBucketName(in.Bucket) {
			s.log.Error("s3emu: dropping an unreadable pending event", "file", path)
			_ = os.Remove(path)
			continue
		}
		// Paths come from this server; still, only ever touch files inside Dir.
		in.Temp, in.Prev, in.UploadDir = s.inside(in.Temp), s.inside(in.Prev), s.inside(in.UploadDir)
		final := s.objectPath(in.Bucket, in.Key)
		meta, err := readMetaFile(final)
		if err != nil || meta.Sequencer != in.Sequencer || meta.Key != in.Key {
			// The new object never replaced the old one: nothing happened.
			if in.Temp != "" {
				_ = os.Remove(in.Temp)
			}
			if in.Prev != "" {
				_ = os.Remove(in.Prev)
			}
			_ = os.Remove(path)
			continue
		}
		if s.onCreated == nil {
			// Nobody to tell: keep the event for a New that has a callback.
			s.log.Warn("s3emu: an object-created event is pending and Options.OnObjectCreated is nil", "bucket", in.Bucket, "key", in.Key)
			if in.Prev != "" {
				_ = os.Remove(in.Prev)
			}
			continue
		}
		if err := s.onCreated(ctx, in.Record); err != nil {
			return fmt.Errorf("s3://%s/%s: %w", in.Bucket, in.Key, err)
		}
		s.log.Info("s3emu: announced an object a previous run had stored", "bucket", in.Bucket, "key", in.Key)
		s.finishIntent(&in, path)
	}
	return nil
}

// inside returns p if it lies inside the data directory, else "".
func (s *Server) inside(p string) string {
	if p == "" {
		return ""
	}
	rel, err := filepath.Rel(s.dir, p)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
		return ""
	}
	return p
}

// eventRecord builds the S3 event of a created object.
func (s *Server) eventRecord(name, bucket string, meta *objectMeta, req *request) events.S3EventRecord {
	return events.S3EventRecord{
		EventVersion:      "2.1",
		EventSource:       "aws:s3",
		AWSRegion:         s.region,
		EventTime:         meta.LastModified.UTC(),
		EventName:         name,
		PrincipalID:       events.S3UserIdentity{PrincipalID: ownerID},
		RequestParameters: events.S3RequestParameters{SourceIPAddress: req.remoteIP},
		ResponseElements:  map[string]string{"x-amz-request-id": req.id, "x-amz-id-2": req.hostID},
		S3: events.S3Entity{
			SchemaVersion: "1.0",
			Bucket: events.S3Bucket{
				Name:          bucket,
				OwnerIdentity: events.S3UserIdentity{PrincipalID: ownerID},
				Arn:           "arn:aws:s3:::" + bucket,
			},
			Object: events.S3Object{
				Key:           EventKey(meta.Key),
				URLDecodedKey: meta.Key,
				Size:          meta.Size,
				ETag:          strings.Trim(meta.ETag, `"`),
				Sequencer:     meta.Sequencer,
				VersionID:     meta.VersionID,
			},
		},
	}
}

// EventKey encodes an object key as S3 event notifications do: see the
// package doc.
func EventKey(key string) string {
	var b bytes.Buffer
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '*', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
