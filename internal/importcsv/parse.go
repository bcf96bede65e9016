package importcsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// readBufSize is how much of the input the record reader holds at once.
const readBufSize = 64 << 10

// record is one CSV record as the reader hands it out. Its slices are reused
// by the next call.
type record struct {
	fields []string // cells, trimmed
	row    int      // spreadsheet row number (see Row.Number)
	start  int64    // offset of the record's first byte
	end    int64    // offset just past its line end
	blank  bool     // every cell is empty after trimming
}

// parser states
const (
	stFieldStart  = iota // at the start of a cell
	stUnquoted           // inside a cell that did not open with a quote
	stQuoted             // inside a quoted cell
	stQuoteQuoted        // just read a quote inside a quoted cell: a closing or doubled quote
	stAfterQuoted        // blanks after a closing quote
)

// recordReader is a small RFC 4180 reader written for this package rather
// than encoding/csv because it must (1) refuse a record over the line limit
// before buffering it, so a missing closing quote cannot pull a 100 MB file
// into memory, (2) report the exact byte range of every record for chunking,
// (3) number records the way a spreadsheet numbers rows, and (4) treat a
// lone CR as a line end (Excel for Mac's "CSV (Macintosh)").
//
// Every input byte is looked at once and costs O(1), so work is linear in
// the input whatever its content.
//
// Beyond RFC 4180 it accepts: LF, CRLF or CR line ends; blanks around a
// quoted cell (`a, "b,c" ,d`); and a quote inside a cell that did not open
// with one (`pa"ss`), which is kept as a literal character.
type recordReader struct {
	r        io.Reader
	buf      []byte
	pos, n   int
	eof      bool
	err      error // a read error, or a FileError about the input as a whole
	off      int64 // file offset of buf[pos]
	read     int64 // bytes taken from r
	maxBytes int64 // limit on read; 0 for none
	maxRec   int64 // limit on a record's length, line end excluded
	overSize bool  // r holds more than maxBytes; buf holds the bytes up to the limit
	// cellText says whether records carry their cells' text. A scan needs
	// only the count of cells and whether they are blank, until it has seen
	// the header, so it saves allocating strings it would throw away.
	cellText bool
	nextRow  int

	data []byte // the current record's cell bytes, back to back
	ends []int  // end of each cell in data
	rec  record
}

func newRecordReader(r io.Reader, base int64, firstRow int, maxBytes, maxRec int64) *recordReader {
	return &recordReader{
		r:        r,
		buf:      make([]byte, readBufSize),
		off:      base,
		maxBytes: maxBytes,
		maxRec:   maxRec,
		nextRow:  firstRow,
		cellText: true,
	}
}

// fill reads more input after the unread bytes. It returns false at the end
// of the input or on an error (p.err).
func (p *recordReader) fill() bool {
	if p.overSize {
		p.err = errOverSize
	}
	if p.eof || p.err != nil {
		return false
	}
	if p.pos > 0 {
		p.n = copy(p.buf, p.buf[p.pos:p.n])
		p.pos = 0
	}
	if p.n == len(p.buf) {
		return true
	}
	// Like bufio: a reader that keeps returning nothing is an error, not a
	// reason to spin.
	for range 100 {
		m, err := p.r.Read(p.buf[p.n:])
		if m < 0 || m > len(p.buf)-p.n {
			p.err = errors.New("importcsv: the reader returned an invalid count")
			return false
		}
		p.read += int64(m)
		if p.maxBytes > 0 && p.read > p.maxBytes {
			// Keep the bytes up to the limit, so the error names the line
			// that passes it, then fail.
			m -= int(p.read - p.maxBytes)
			p.read = p.maxBytes
			p.n += m
			p.overSize = true
			if m == 0 {
				p.err = errOverSize
				return false
			}
			return true
		}
		p.n += m
		if err == io.EOF {
			p.eof = true
		} else if err != nil {
			p.err = fmt.Errorf("importcsv: reading the file: %w", err)
			return false
		}
		if m > 0 {
			return true
		}
		if p.eof {
			return false
		}
	}
	p.err = fmt.Errorf("importcsv: reading the file: %w", io.ErrNoProgress)
	return false
}

// peek returns the next unread byte without consuming it.
func (p *recordReader) peek() (byte, bool) {
	if p.pos >= p.n && !p.fill() {
		return 0, false
	}
	return p.buf[p.pos], true
}

// skip consumes n bytes the caller has peeked at.
func (p *recordReader) skip(n int) {
	p.pos += n
	p.off += int64(n)
}

// next reads one record. It returns io.EOF at the end of the input, a
// *FileError when the input is not readable CSV, or a read error.
func (p *recordReader) next() (*record, error) {
	if p.err != nil && p.pos >= p.n {
		return nil, p.failure(p.nextRow)
	}
	p.data = p.data[:0]
	p.ends = p.ends[:0]
	row := p.nextRow
	start := p.off
	state := stFieldStart
	fieldStart := 0 // where the current cell begins in p.data
	var n int64     // bytes of this record read so far

loop:
	for {
		if p.pos >= p.n && !p.fill() {
			if p.err != nil {
				return nil, p.failure(row)
			}
			// End of input.
			if n == 0 {
				return nil, io.EOF
			}
			if state == stQuoted {
				return nil, &FileError{Line: row, Msg: `a quoted cell on this line has no closing quote (a " inside a quoted cell must be written "")`}
			}
			break loop
		}
		b := p.buf[p.pos]
		p.pos++
		p.off++
		n++
		if b == 0 {
			return nil, binaryError(row)
		}
		if n > p.maxRec && (state == stQuoted || (b != '\n' && b != '\r')) {
			msg := fmt.Sprintf("the line is longer than %s, the limit", sizeText(p.maxRec))
			if state == stQuoted || state == stQuoteQuoted {
				msg += "; a quoted cell that starts on it may be missing its closing quote"
			}
			return nil, &FileError{Line: row, Msg: msg, tooLarge: true}
		}
		switch state {
		case stFieldStart, stUnquoted:
			switch b {
			case ',':
				p.ends = append(p.ends, len(p.data))
				fieldStart = len(p.data)
				state = stFieldStart
			case '\n', '\r':
				if b == '\r' {
					if c, ok := p.peek(); ok && c == '\n' {
						p.skip(1)
					}
				}
				break loop
			case '"':
				if state == stFieldStart || onlyBlanks(p.data[fieldStart:]) {
					// An opening quote, perhaps after blanks: drop them.
					p.data = p.data[:fieldStart]
					state = stQuoted
				} else {
					// A quote inside an unquoted cell: a literal character.
					p.data = append(p.data, b)
				}
			default:
				p.data = append(p.data, b)
				state = stUnquoted
			}
		case stQuoted:
			switch b {
			case '"':
				state = stQuoteQuoted
			case '\n':
				// CRLF inside a quoted cell becomes LF, as in encoding/csv.
				if len(p.data) > fieldStart && p.data[len(p.data)-1] == '\r' {
					p.data[len(p.data)-1] = '\n'
				} else {
					p.data = append(p.data, b)
				}
			default:
				p.data = append(p.data, b)
			}
		case stQuoteQuoted, stAfterQuoted:
			switch b {
			case '"':
				if state == stAfterQuoted {
					return nil, brokenQuote(row)
				}
				p.data = append(p.data, '"')
				state = stQuoted
			case ',':
				p.ends = append(p.ends, len(p.data))
				fieldStart = len(p.data)
				state = stFieldStart
			case '\n', '\r':
				if b == '\r' {
					if c, ok := p.peek(); ok && c == '\n' {
						p.skip(1)
					}
				}
				break loop
			case ' ', '\t':
				state = stAfterQuoted
			default:
				return nil, brokenQuote(row)
			}
		}
	}
	p.ends = append(p.ends, len(p.data))
	p.nextRow++

	rec := &p.rec
	rec.fields = rec.fields[:0]
	rec.row, rec.start, rec.end, rec.blank = row, start, p.off, true
	s := 0
	for _, e := range p.ends {
		cell := p.data[s:e]
		s = e
		if !utf8.Valid(cell) {
			return nil, binaryError(row)
		}
		cell = bytes.TrimSpace(cell)
		if len(cell) > 0 {
			rec.blank = false
		}
		if p.cellText {
			rec.fields = append(rec.fields, string(cell))
		} else {
			rec.fields = append(rec.fields, "")
		}
	}
	return rec, nil
}

// errOverSize stands for the size limit until failure names the line.
var errOverSize = errors.New("over the size limit")

// failure is p.err as the caller sees it, given the row being read.
func (p *recordReader) failure(row int) error {
	if p.err == errOverSize {
		return &FileError{tooLarge: true, Msg: fmt.Sprintf("the file is larger than %s, the limit (it passes the limit at line %d)",
			sizeText(p.maxBytes), row)}
	}
	return p.err
}

func onlyBlanks(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

func binaryError(row int) *FileError {
	return &FileError{Line: row, Msg: "not a text CSV file: binary data (if it is a spreadsheet, save it as 'CSV UTF-8' and upload again)"}
}

func brokenQuote(row int) *FileError {
	return &FileError{Line: row, Msg: `broken quoting: text follows the closing quote of a cell (a " inside a quoted cell must be written "")`}
}

// sizeText writes a byte count the way file browsers do (1 MB = 1024 KB).
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
