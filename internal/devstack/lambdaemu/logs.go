package lambdaemu

import (
	"bytes"
	"io"
	"sync"
)

// maxLogLine caps how much of an unterminated line is buffered before it is
// written out anyway.
const maxLogLine = 256 * 1024

// logSink serialises whole lines onto the shared Options.Logs writer so that
// lines from different processes never interleave.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) writeLine(prefix string, line []byte) {
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(buf, prefix...)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(buf)
}

// lineWriter splits a process's output into lines and prefixes each one.
type lineWriter struct {
	sink   *logSink
	prefix string

	mu  sync.Mutex
	buf []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	rest := lw.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		lw.sink.writeLine(lw.prefix, bytes.TrimSuffix(rest[:i], []byte{'\r'}))
		rest = rest[i+1:]
	}
	if len(rest) >= maxLogLine {
		lw.sink.writeLine(lw.prefix, rest)
		rest = nil
	}
	lw.buf = append(lw.buf[:0], rest...)
	return len(p), nil
}

// flush writes out a trailing line that had no newline.
func (lw *lineWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) > 0 {
		lw.sink.writeLine(lw.prefix, lw.buf)
		lw.buf = lw.buf[:0]
	}
}
