package sqsemu

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// The store is one append-only log, Dir/sqs.log:
//
//	magic "sqslog1\n"
//	frame*: uint32 LE payload length | uint32 LE CRC-32C of payload | payload (a JSON record)
//
// Every change to a queue is a record, written to the file with a single
// write(2) before the call that made it returns, so everything acknowledged
// is in the kernel and survives SIGKILL. Sends are also flushed
// to disk (fdatasync on Linux, fsync elsewhere) before they are
// acknowledged, with group commit: concurrent callers share one flush. So
// they survive a machine crash too. Receives, deletes, visibility changes,
// dead-letter moves and expiries are flushed within a second by the
// janitor; losing them to a machine crash only means a message is
// delivered again, or with a lower receive count.
//
// New replays the log into memory, then writes a fresh compacted log (one
// record per live message, with its receive count and visibility deadline)
// next to it and renames it over the old one. The same compaction runs
// whenever the log has grown well past the size of the live messages. A torn
// or corrupt tail (a write cut short by SIGKILL or a crash) ends the replay;
// the old file is kept as sqs.log.corrupt-<unix time> for inspection.

const (
	logName         = "sqs.log"
	logMagic        = "sqslog1\n"
	maxRecordBytes  = 16 << 20 // far above a 256 KiB message even fully escaped
	frameHeaderSize = 8
)

// compactMinBytes is the log size below which it is never compacted.
// A variable so that tests can lower it.
var compactMinBytes int64 = 32 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record operations.
const (
	opQueue = "queue" // queue metadata: Created
	opMsg   = "msg"   // a message with its full state (send, or a compaction snapshot)
	opRecv  = "recv"  // received: Count, First, Visible, Nonce
	opDel   = "del"   // deleted (or expired)
	opMove  = "move"  // moved to the dead-letter queue To, visible at Visible
)

// record is one log entry. Times are Unix nanoseconds, 0 meaning unset.
type record struct {
	Op        string               `json:"op"`
	Queue     string               `json:"q"`
	ID        string               `json:"id,omitempty"`
	Body      string               `json:"body,omitempty"`
	Attrs     map[string]attrValue `json:"attrs,omitempty"`
	Trace     string               `json:"trace,omitempty"`
	Sender    string               `json:"sender,omitempty"`
	Sent      int64                `json:"sent,omitempty"`
	First     int64                `json:"first,omitempty"`
	Count     int                  `json:"count,omitempty"`
	Visible   int64                `json:"vis,omitempty"`
	Nonce     string               `json:"nonce,omitempty"`
	DLQSource string               `json:"dlqsrc,omitempty"`
	To        string               `json:"to,omitempty"`
	Created   int64                `json:"created,omitempty"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// wal is the open log. append and swap are called with Service.mu held;
// sync is called without it.
type wal struct {
	path string
	dir  string
	f    *os.File // swapped by compaction with both Service.mu and smu held
	size int64    // guarded by Service.mu
	buf  []byte   // guarded by Service.mu

	written atomic.Uint64 // number of appends so far
	broken  error         // a failed write could not be rolled back; guarded by Service.mu

	smu     sync.Mutex
	cond    *sync.Cond
	synced  uint64 // appends known to be on disk
	syncing bool
}

func frame(buf []byte, r *record) ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return buf, err
	}
	if len(payload) > maxRecordBytes {
		return buf, fmt.Errorf("sqsemu: record of %d bytes is too large", len(payload))
	}
	var hdr [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:8], crc32.Checksum(payload, castagnoli))
	buf = append(buf, hdr[:]...)
	return append(buf, payload...), nil
}

// append writes the records with one write call and returns a ticket for
// sync. On failure nothing of the records stays in the file.
func (w *wal) append(recs ...*record) (uint64, error) {
	if w.broken != nil {
		return 0, w.broken
	}
	if w.f == nil {
		return 0, ErrClosed
	}
	buf := w.buf[:0]
	var err error
	for _, r := range recs {
		if buf, err = frame(buf, r); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(buf)
	if cap(buf) <= 1<<20 {
		w.buf = buf
	}
	if err != nil {
		if n > 0 {
			if terr := w.f.Truncate(w.size); terr != nil {
				w.broken = fmt.Errorf("sqsemu: log %s is damaged after a failed write (%v) and could not be truncated: %w", w.path, err, terr)
				return 0, w.broken
			}
		}
		return 0, fmt.Errorf("sqsemu: write log: %w", err)
	}
	w.size += int64(n)
	return w.written.Add(1), nil
}

// sync returns once every append up to ticket is on disk. Callers arriving
// while an fsync runs wait for it and share the next one.
func (w *wal) sync(ticket uint64) error {
	w.smu.Lock()
	defer w.smu.Unlock()
	for w.synced < ticket {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		if w.f == nil {
			return ErrClosed
		}
		w.syncing = true
		upto := w.written.Load()
		f := w.f
		w.smu.Unlock()
		err := datasync(f)
		w.smu.Lock()
		w.syncing = false
		w.cond.Broadcast()
		if err != nil {
			return fmt.Errorf("sqsemu: fsync log: %w", err)
		}
		w.synced = max(w.synced, upto)
	}
	return nil
}

// dirty reports whether some append is not yet known to be on disk.
func (w *wal) dirty() bool {
	w.smu.Lock()
	defer w.smu.Unlock()
	return w.synced < w.written.Load()
}

// swap makes f, a fully written and fsynced log of the current state, the
// log appended to. The caller holds Service.mu, so no append runs.
func (w *wal) swap(f *os.File, size int64) {
	w.smu.Lock()
	for w.syncing {
		w.cond.Wait()
	}
	old := w.f
	w.f = f
	w.size = size
	w.synced = w.written.Load()
	w.broken = nil
	w.smu.Unlock()
	if old != nil {
		_ = old.Close()
	}
}

// close fsyncs and closes the log. The caller holds Service.mu, so no
// append runs; holding smu through the fsync means a concurrent sync finds
// everything synced instead of a closed file.
func (w *wal) close() error {
	w.smu.Lock()
	defer w.smu.Unlock()
	for w.syncing {
		w.cond.Wait()
	}
	if w.f == nil {
		return nil
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		w.synced = w.written.Load()
	}
	w.f = nil
	w.cond.Broadcast()
	return err
}

// readLog calls fn for every intact record of the log at path. It returns
// the number of bytes after the last intact record (a torn or corrupt tail)
// and whether the file existed.
func readLog(path string, fn func(*record) error) (tail int64, exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, true, err
	}
	total := fi.Size()
	r := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(logMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != logMagic {
		if total < int64(len(logMagic)) && string(magic[:total]) == logMagic[:total] {
			return total, true, nil // cut short while being created
		}
		return 0, true, fmt.Errorf("sqsemu: %s is not a sqsemu log", path)
	}
	off := int64(len(logMagic))
	var hdr [frameHeaderSize]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return 0, true, nil
			}
			return total - off, true, nil
		}
		n := binary.LittleEndian.Uint32(hdr[0:4])
		if n == 0 || n > maxRecordBytes {
			return total - off, true, nil
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return total - off, true, nil
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
			return total - off, true, nil
		}
		rec := new(record)
		if err := json.Unmarshal(payload, rec); err != nil {
			return total - off, true, nil
		}
		if err := fn(rec); err != nil {
			return 0, true, err
		}
		off += frameHeaderSize + int64(n)
	}
}

// writeLog writes a complete log of recs to path+".tmp", fsyncs it, renames
// it over path and fsyncs the directory. It returns the new file, open for
// appending, and its size; when it returns a file with an error, the file
// replaced the old log but the rename may not be durable yet. When keepOld
// is not empty the old log is first hard-linked there.
func writeLog(path string, recs func(yield func(*record) error) error, keepOld string) (*os.File, int64, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*os.File, int64, error) {
		_ = f.Close()
		_ = os.Remove(tmp)
		return nil, 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	size := int64(len(logMagic))
	if _, err := bw.WriteString(logMagic); err != nil {
		return fail(err)
	}
	var buf []byte
	err = recs(func(r *record) error {
		var err error
		if buf, err = frame(buf[:0], r); err != nil {
			return err
		}
		size += int64(len(buf))
		_, err = bw.Write(buf)
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fail(err)
	}
	if keepOld != "" {
		if err := os.Link(path, keepOld); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	// From here on f is the log, even if the rename is not yet durable.
	if err := hostos.SyncDir(filepath.Dir(path)); err != nil {
		return f, size, fmt.Errorf("fsync %s: %w", filepath.Dir(path), err)
	}
	return f, size, nil
}
