// Package importcsv reads the CSV files staff upload to create users in bulk
// or to fill a set. Both sides of an import use it: the S3-triggered scan,
// which streams a file once to check it, count its rows and split it into
// chunks, and the SQS workers, which each read one chunk by byte range.
//
// # Formats
//
// The format is worked out from the first row that is not blank. It is never
// guessed: a file that fits no format is refused with the reason.
//
//   - LibraryPass (users): exactly two columns and no header row; usernames
//     then passwords. A first row that reads as a heading of those columns
//     in other words ("Name,Pass", "login,pin", "user,password") refuses
//     the file, saying so, rather than importing the heading as a user;
//     unless the next row reads as a heading too, when both are data.
//   - Extended (users): a header row naming some of the columns username,
//     password, email, barcode, primaryId, roles, queues,
//     cannedMessagePools, status and passwordHash, in any order. Names match
//     ignoring case, spaces, underscores and hyphens, so "Primary ID",
//     "primary_id", "Canned message pools" and "E-mail" are all recognised
//     (no two canonical names collide under that rule). username is
//     required, and so is at least one other column: a file with one column
//     headed "User name" is the layout of a set file and is refused for a
//     users import rather than read as usernames alone. roles, queues and
//     cannedMessagePools hold ;-separated lists. status is active or
//     inactive in any case (stored lower-case), or empty. A two-column file
//     whose first row is "username,password" is Extended, which means the
//     same as LibraryPass.
//   - ID list (sets): one column headed "User name" or "Primary ID" (same
//     matching rule) over primary IDs, kept as written, leading zeros
//     included.
//
// A first row that holds some column names and some other text is an error
// naming the unknown ones, except that in a two-column file the second cell
// is never quoted back, as it may be a LibraryPass password.
//
// # Reading
//
// Files are UTF-8, with or without a byte order mark; UTF-16 is refused with
// advice, and NUL bytes or invalid UTF-8 make a file "not a text CSV file".
// Line ends may be LF, CRLF or CR. Quoting follows RFC 4180, with blanks
// allowed around a quoted cell and a quote inside an unquoted cell kept as a
// literal character. Every cell is trimmed of white space, passwords
// included. A row whose cells are all empty (a blank line, or ",,," as Excel
// writes an empty row) is skipped. A single leading apostrophe, which Excel
// users type to keep leading zeros, is removed from username, barcode,
// primaryId and ID-list cells, never from passwords or hashes.
//
// Problems with one row (wrong number of cells, empty username, unknown
// status) are reported on that Row and the other rows go on. Problems that
// make the rest of the file unreadable (broken quoting, binary data, a line
// or file over a limit, a wrong encoding) fail the file with a *FileError.
//
// # Row numbers
//
// Row.Number, FileError.Line and Chunk.FirstRow all use the row number a
// spreadsheet shows when it opens the file, so staff can find a reported
// row in Excel: records are counted from 1 at the top of the file, the
// header row and blank lines included (Excel shows a blank line as an empty
// row), and a quoted cell holding line breaks does not add rows (Excel shows
// the record as one row). In a file without such cells this is simply the
// line number. The numbers do not depend on how a file is chunked.
package importcsv

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Kind is what an import creates.
type Kind string

const (
	KindUsers Kind = "users" // accounts: LibraryPass or Extended files
	KindSet   Kind = "set"   // a set of existing accounts: ID-list files
)

// Format is the layout of a file.
type Format string

const (
	FormatLibraryPass Format = "librarypass"
	FormatExtended    Format = "extended"
	FormatIDList      Format = "idlist"
)

// Canonical column names, as in the JSON API.
const (
	ColUsername           = "username"
	ColPassword           = "password"
	ColEmail              = "email"
	ColBarcode            = "barcode"
	ColPrimaryID          = "primaryId"
	ColRoles              = "roles"
	ColQueues             = "queues"
	ColCannedMessagePools = "cannedMessagePools"
	ColStatus             = "status"
	ColPasswordHash       = "passwordHash"
	ColID                 = "id" // the one column of an ID list
)

// extendedColumns lists the Extended columns in the order messages name them.
var extendedColumns = []string{
	ColUsername, ColPassword, ColEmail, ColBarcode, ColPrimaryID,
	ColRoles, ColQueues, ColCannedMessagePools, ColStatus, ColPasswordHash,
}

// columnKey is the form header cells are matched in: lower case without
// spaces, underscores or hyphens.
func columnKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

var extendedByKey = func() map[string]string {
	m := make(map[string]string, len(extendedColumns))
	for _, c := range extendedColumns {
		m[columnKey(c)] = c
	}
	return m
}()

// Limits bound what a scan accepts. A zero field takes its default.
type Limits struct {
	MaxBytes int64 // the whole file, byte order mark included
	MaxRows  int   // data rows, not counting the header or blank rows
	MaxLine  int   // one record in bytes, line end excluded; a record with a multi-line quoted cell counts as one line
}

// DefaultLimits returns 100 MB, 500,000 rows and 16 KB lines.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 100 << 20, MaxRows: 500_000, MaxLine: 16 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	return l
}

// Header describes a file's layout, as ScanFile found it. Workers get it
// with their chunk and pass it to ReadChunk.
type Header struct {
	Format   Format
	Columns  []string // canonical names in file order: username,password for LibraryPass; id for an ID list
	IDHeader string   // the ID list's heading as written (trimmed)
}

// Chunk is a run of whole records: the byte range [Start, End) of the file.
// Chunks of one scan are contiguous; each starts at its first data record,
// and blank rows between chunks belong to the earlier one.
type Chunk struct {
	Start, End int64
	FirstRow   int // Row.Number of its first data record
	Rows       int // data records in it
}

// HTTPRange is the Range header that fetches the chunk, e.g. from S3.
// (HTTP ranges are inclusive, so the last byte is End-1.)
func (c Chunk) HTTPRange() string { return fmt.Sprintf("bytes=%d-%d", c.Start, c.End-1) }

// Scan is what ScanFile learns about a file.
type Scan struct {
	Header Header
	Rows   int   // data rows, including those with a per-row problem
	Bytes  int64 // the file's size
	Chunks []Chunk
}

// ErrTooLarge matches, with errors.Is, a FileError about a limit (file size,
// row count or line length), so adapters can answer accounts.CodeTooLarge
// rather than CodeInvalid.
var ErrTooLarge = errors.New("importcsv: over a limit")

// FileError says why a file cannot be imported. Its message is meant for
// staff and never repeats a cell that could be a password.
type FileError struct {
	Line int // row number as in Row.Number; 0 if not about a line
	Msg  string

	tooLarge bool
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Is makes errors.Is(err, ErrTooLarge) true for errors about a limit.
func (e *FileError) Is(target error) bool { return target == ErrTooLarge && e.tooLarge }

// Row is one data record.
type Row struct {
	// Number is the row a spreadsheet shows for the record (see the package
	// documentation): the header row and blank lines count, a multi-line
	// quoted cell does not add rows.
	Number int

	Username, Password, Email, Barcode, PrimaryID, Status, PasswordHash string
	// Lists are nil when the file lacks the column and empty, not nil, when
	// the cell is empty, so "absent" and "empty" differ.
	Roles, Queues, CannedMessagePools []string

	// Has says which columns the file has, by canonical name. It is shared by
	// the rows of one ReadChunk call: do not modify it.
	Has map[string]bool

	ID string // the value of an ID list row

	// Err is the row's problem, e.g. "expected 2 fields, found 3"; empty when
	// the row is fine. When the count of cells is wrong no other field is
	// filled in, so a password can never land in a username.
	Err string
}

// ScanFile streams a whole file once: it finds the format (which must suit
// kind), checks the file is readable CSV within lim, counts its data rows and
// splits them into chunks of at most rowsPerChunk rows. Memory use does not
// grow with the file, except for the list of chunks (rows/rowsPerChunk of
// them). Limits are checked as the file streams, so a file over one fails
// when it passes it, without reading on. It returns a *FileError when the
// file is at fault, and wraps the reader's error when reading fails.
func ScanFile(r io.Reader, kind Kind, lim Limits, rowsPerChunk int) (Scan, error) {
	return scanFile(r, kind, lim, rowsPerChunk, nil)
}

// ScanFileFunc is ScanFile that also calls fn with every data row, in file
// order, exactly as ReadChunk would return it (per-row problems in Row.Err),
// for checks across the whole file such as repeated usernames. An error from
// fn stops the scan and is returned as it is. Rows are built only for fn,
// so ScanFile stays the cheaper call when no one needs them.
func ScanFileFunc(r io.Reader, kind Kind, lim Limits, rowsPerChunk int, fn func(Row) error) (Scan, error) {
	if fn == nil {
		return Scan{}, errors.New("importcsv: ScanFileFunc needs a function")
	}
	return scanFile(r, kind, lim, rowsPerChunk, fn)
}

func scanFile(r io.Reader, kind Kind, lim Limits, rowsPerChunk int, fn func(Row) error) (Scan, error) {
	if kind != KindUsers && kind != KindSet {
		return Scan{}, fmt.Errorf("importcsv: unknown import kind %q", kind)
	}
	if rowsPerChunk <= 0 {
		return Scan{}, fmt.Errorf("importcsv: rowsPerChunk is %d; it must be positive", rowsPerChunk)
	}
	lim = lim.withDefaults()
	p := newRecordReader(r, 0, 1, lim.MaxBytes, int64(lim.MaxLine))
	if err := sniffEncoding(p); err != nil {
		return Scan{}, err
	}

	// The header, or the first data row of a LibraryPass file.
	first, err := nextNonBlank(p)
	if err == io.EOF {
		return Scan{}, &FileError{Msg: "the file is empty"}
	}
	if err != nil {
		return Scan{}, err
	}
	h, err := detect(first.fields, kind)
	if err != nil {
		if fe, ok := err.(*FileError); ok {
			fe.Line = first.row
		}
		return Scan{}, err
	}
	// A two-column file whose first row reads as a heading ("Name,Pass")
	// would import the heading as a user. It is refused unless the next row
	// reads as one too, which makes the first row just as likely data.
	var second *record
	if h.Format == FormatLibraryPass && headingRow(first.fields) {
		heading := *first
		heading.fields = slices.Clone(first.fields)
		first = &heading
		next, err := nextNonBlank(p)
		if err != nil && err != io.EOF {
			return Scan{}, err
		}
		if err == io.EOF || !headingRow(next.fields) {
			return Scan{}, &FileError{Line: first.row, Msg: headingMsg(first.fields)}
		}
		second = next
	}

	var b *rowBuilder
	if fn != nil {
		b, err = newRowBuilder(h)
		if err != nil {
			return Scan{}, err
		}
	} else {
		p.cellText = false // from here on only counts and blankness matter
	}
	var sc Scan
	sc.Header = h
	var cur Chunk
	add := func(rec *record) error {
		sc.Rows++
		if sc.Rows > lim.MaxRows {
			return &FileError{Line: rec.row, tooLarge: true,
				Msg: fmt.Sprintf("the file has more than %d rows, the limit; split it into smaller files", lim.MaxRows)}
		}
		if cur.Rows == rowsPerChunk {
			cur.End = rec.start
			sc.Chunks = append(sc.Chunks, cur)
			cur = Chunk{}
		}
		if cur.Rows == 0 {
			cur.Start, cur.FirstRow = rec.start, rec.row
		}
		cur.Rows++
		if fn != nil {
			return fn(b.build(rec.fields, rec.row))
		}
		return nil
	}
	if h.Format == FormatLibraryPass {
		if err := add(first); err != nil {
			return Scan{}, err
		}
		if second != nil {
			if err := add(second); err != nil {
				return Scan{}, err
			}
		}
	}
	for {
		rec, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Scan{}, err
		}
		if rec.blank {
			continue
		}
		if err := add(rec); err != nil {
			return Scan{}, err
		}
	}
	sc.Bytes = p.off
	if sc.Rows == 0 {
		return Scan{}, &FileError{Msg: "the file has a header row but no data rows"}
	}
	cur.End = sc.Bytes
	sc.Chunks = append(sc.Chunks, cur)
	return sc, nil
}

// sniffEncoding refuses UTF-16 and skips a UTF-8 byte order mark.
func sniffEncoding(p *recordReader) error {
	for p.n-p.pos < 4 && p.fill() {
	}
	if p.err != nil && p.n == p.pos {
		return p.failure(1)
	}
	b := p.buf[p.pos:p.n]
	utf16 := &FileError{Msg: "the file is UTF-16 (Excel 'Unicode Text'); save it as 'CSV UTF-8' and upload again"}
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		p.skip(3)
	case len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF):
		return utf16
	case len(b) >= 4 && string(b[:4]) == "PK\x03\x04":
		// A zip archive: in practice an .xlsx workbook uploaded as it is.
		return &FileError{Msg: "the file is an Excel workbook or another zip archive, not a CSV file; in Excel, save it as 'CSV UTF-8' and upload that"}
	case len(b) >= 4 && (b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0 ||
		b[0] == 0 && b[1] != 0 && b[2] == 0 && b[3] != 0):
		// UTF-16 without a byte order mark: ASCII text with every other
		// byte NUL.
		return utf16
	}
	return nil
}

func nextNonBlank(p *recordReader) (*record, error) {
	for {
		rec, err := p.next()
		if err != nil || !rec.blank {
			return rec, err
		}
	}
}

// detect works out the format from the first non-blank row. Its FileErrors
// lack the line, which the caller sets.
func detect(cells []string, kind Kind) (Header, error) {
	if kind == KindSet {
		return detectSet(cells)
	}
	return detectUsers(cells)
}

const setShape = "a set file has one column headed User name or Primary ID"

func detectSet(cells []string) (Header, error) {
	if len(cells) != 1 {
		return Header{}, &FileError{Msg: fmt.Sprintf("%s; this file has %d columns", setShape, len(cells))}
	}
	switch columnKey(cells[0]) {
	case "username", "primaryid":
		return Header{Format: FormatIDList, Columns: []string{ColID}, IDHeader: cells[0]}, nil
	}
	msg := fmt.Sprintf("%s; this file's first row is %s, not that heading", setShape, quoteCell(cells[0]))
	return Header{}, &FileError{Msg: msg + separatorHint(cells[0])}
}

const usersShape = "a users file has two columns (username, password) and no header row, or a header row naming its columns"

func detectUsers(cells []string) (Header, error) {
	var known, unknown []int
	for i, c := range cells {
		if _, ok := extendedByKey[columnKey(c)]; ok {
			known = append(known, i)
		} else {
			unknown = append(unknown, i)
		}
	}
	switch {
	case len(known) == 0 && len(cells) == 2:
		return Header{Format: FormatLibraryPass, Columns: []string{ColUsername, ColPassword}}, nil
	case len(known) == 0:
		// Not quoted back: with no header the row is data, maybe passwords.
		msg := fmt.Sprintf("%s; this file's first row has %d %s and none is a column name (column names: %s)",
			usersShape, len(cells), plural(len(cells), "column", "columns"), strings.Join(extendedColumns, ", "))
		if len(cells) == 1 {
			msg += separatorHint(cells[0])
		}
		return Header{}, &FileError{Msg: msg}
	case len(unknown) > 0 && headingRow(cells):
		// "user,password" or "username,pass": a heading in other words.
		return Header{}, &FileError{Msg: fmt.Sprintf("the first row (%s, %s) is a heading in words this import does not know; head the columns username,password, or delete the row (a two-column file needs no header row)", quoteCell(cells[0]), quoteCell(cells[1]))}
	case len(unknown) > 0:
		known := strings.Join(extendedColumns, ", ")
		if len(cells) == 2 && unknown[0] == 1 {
			// Column 1 is a column name, column 2 is not. In a LibraryPass
			// file column 2 is a password, so it is not repeated.
			return Header{}, &FileError{Msg: fmt.Sprintf("the first row is half a header row: column 1 is a column name, column 2 is not (its text is not shown, as it may be a password); a header row names only the columns %s, and a file without a header row must not start with a column name", known)}
		}
		names := make([]string, len(unknown))
		for i, c := range unknown {
			names[i] = quoteCell(cells[c])
			if cells[c] == "" {
				names[i] = fmt.Sprintf("an empty heading in column %d", c+1)
			}
		}
		return Header{}, &FileError{Msg: fmt.Sprintf("the header row has %s: %s; column names are %s",
			plural(len(names), "an unknown column", "unknown columns"), strings.Join(names, ", "), known)}
	}

	h := Header{Format: FormatExtended, Columns: make([]string, len(cells))}
	seen := make(map[string]int, len(cells))
	for i, c := range cells {
		name := extendedByKey[columnKey(c)]
		if j, dup := seen[name]; dup {
			return Header{}, &FileError{Msg: fmt.Sprintf("the header row names column %s twice (columns %d and %d)", name, j+1, i+1)}
		}
		seen[name] = i
		h.Columns[i] = name
	}
	if _, ok := seen[ColUsername]; !ok {
		msg := "the header row has no username column"
		if len(cells) == 1 && h.Columns[0] == ColPrimaryID {
			msg = "this is a set file (one column headed Primary ID), not a users file; " + usersShape
		}
		return Header{}, &FileError{Msg: msg}
	}
	if len(cells) == 1 {
		return Header{}, &FileError{Msg: fmt.Sprintf("this file has the one column %s, as a set file has; a users file needs a username column and at least one other (such as password), or two columns with no header", quoteCell(cells[0]))}
	}
	return h, nil
}

// Words a heading row uses for the two LibraryPass columns, as columnKey
// has them. The canonical names (username, password) make an Extended
// header instead; these are the others people type.
var (
	usernameHeadings = wordSet("username", "name", "names", "user", "users", "user id", "userid", "login", "login name", "login id", "logon",
		"account", "account name", "patron", "patron id", "borrower", "member", "member id", "card", "card number", "id", "barcode", "email", "e-mail")
	passwordHeadings = wordSet("pass", "passwd", "pwd", "pw", "pin", "pin code", "passcode", "pass code", "passphrase", "pass word", "password", "secret", "code", "key")
)

func wordSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[columnKey(w)] = true
	}
	return m
}

// headingRow reports whether a two-cell row reads as the heading of a
// username column and a password column.
func headingRow(cells []string) bool {
	return len(cells) == 2 && usernameHeadings[columnKey(cells[0])] && passwordHeadings[columnKey(cells[1])]
}

// headingMsg refuses a LibraryPass-style file that starts with a heading.
// The cells are quoted back: they are words from the lists above, not
// anyone's password.
func headingMsg(cells []string) string {
	return fmt.Sprintf("the first row (%s, %s) looks like a heading, and a two-column file without a header row would import it as a user; "+
		"delete that row, or head the columns username,password", quoteCell(cells[0]), quoteCell(cells[1]))
}

// quoteCell quotes header text for a message, shortened.
func quoteCell(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// separatorHint explains a one-cell row that holds another separator, as
// Excel writes "CSV" with semicolons in some countries.
func separatorHint(cell string) string {
	switch {
	case strings.Contains(cell, ";"):
		return "; the file seems to separate columns with semicolons: save it as 'CSV UTF-8 (Comma delimited)'"
	case strings.Contains(cell, "\t"):
		return "; the file seems to separate columns with tabs: save it as 'CSV UTF-8 (Comma delimited)'"
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReadChunk reads the rows of one chunk. r must yield exactly the bytes of
// c, as a ranged GET of c.HTTPRange() does; h and c come from the ScanFile
// of the same file. Row numbers are the same as a read of the whole file
// would give. A chunk that does not hold c.Rows rows, or a reader that
// yields too few or too many bytes, is an error: the file may have changed
// since it was scanned.
func ReadChunk(r io.Reader, h Header, c Chunk) ([]Row, error) {
	b, err := newRowBuilder(h)
	if err != nil {
		return nil, err
	}
	if c.Start < 0 || c.End < c.Start || c.Rows < 0 || c.FirstRow < 1 || c.Rows > math.MaxInt32 {
		return nil, fmt.Errorf("importcsv: invalid chunk %+v", c)
	}
	size := c.End - c.Start
	er := &exactReader{r: r, left: size, size: size}
	// A record cannot be longer than the chunk, so the chunk's size bounds
	// memory; the line limit was enforced by the scan.
	p := newRecordReader(er, c.Start, 1, 0, max(size, 1))
	// A data row takes at least two bytes (a character and a line end), so
	// a chunk's size bounds the allocation whatever c.Rows says.
	rows := make([]Row, 0, min(int64(c.Rows), size/2+1))
	// From the reader's numbering, which starts at 1, to the file's. A chunk
	// from ScanFile starts with a data record; should one start with blank
	// rows, its first data record still gets c.FirstRow.
	shift := c.FirstRow - 1
	for {
		rec, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) && fe.Line > 0 {
				fe.Line += shift
			}
			return nil, err
		}
		if rec.blank {
			continue
		}
		if len(rows) == 0 {
			shift = c.FirstRow - rec.row
		}
		if len(rows) == c.Rows {
			return nil, fmt.Errorf("importcsv: chunk [%d, %d) has more than the %d rows the scan counted; the file may have changed", c.Start, c.End, c.Rows)
		}
		rows = append(rows, b.build(rec.fields, rec.row+shift))
	}
	if len(rows) != c.Rows {
		return nil, fmt.Errorf("importcsv: chunk [%d, %d) has %d rows, the scan counted %d; the file may have changed", c.Start, c.End, len(rows), c.Rows)
	}
	return rows, nil
}

// exactReader passes on exactly size bytes of r and fails if r has fewer or
// more, which catches an inclusive range read one byte long or short.
type exactReader struct {
	r          io.Reader
	left, size int64
	done       bool
}

func (e *exactReader) Read(b []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	if e.left == 0 {
		// Check r is at its end too.
		var one [1]byte
		for range 100 {
			n, err := e.r.Read(one[:])
			if n > 0 {
				return 0, fmt.Errorf("importcsv: the reader holds more than the chunk's %d bytes", e.size)
			}
			if err == io.EOF {
				e.done = true
				return 0, io.EOF
			}
			if err != nil {
				return 0, err
			}
		}
		return 0, io.ErrNoProgress
	}
	if int64(len(b)) > e.left {
		b = b[:e.left]
	}
	n, err := e.r.Read(b)
	if n < 0 || n > len(b) {
		return 0, errors.New("importcsv: the reader returned an invalid count")
	}
	e.left -= int64(n)
	if err == io.EOF {
		if e.left > 0 {
			return n, fmt.Errorf("importcsv: the chunk ended after %d of its %d bytes", e.size-e.left, e.size)
		}
		err = nil
	}
	return n, err
}

// rowBuilder turns the cells of a record into a Row for one header.
type rowBuilder struct {
	h   Header
	has map[string]bool
}

func newRowBuilder(h Header) (*rowBuilder, error) {
	bad := func(why string) (*rowBuilder, error) {
		return nil, fmt.Errorf("importcsv: invalid header for %s: %s", h.Format, why)
	}
	switch h.Format {
	case FormatLibraryPass:
		if len(h.Columns) != 2 || h.Columns[0] != ColUsername || h.Columns[1] != ColPassword {
			return bad("columns must be username, password")
		}
	case FormatIDList:
		if len(h.Columns) != 1 || h.Columns[0] != ColID {
			return bad("columns must be id")
		}
	case FormatExtended:
		seen := map[string]bool{}
		for _, c := range h.Columns {
			if extendedByKey[columnKey(c)] != c {
				return bad(fmt.Sprintf("unknown column %q", c))
			}
			if seen[c] {
				return bad(fmt.Sprintf("column %q twice", c))
			}
			seen[c] = true
		}
		if !seen[ColUsername] {
			return bad("no username column")
		}
	default:
		return nil, fmt.Errorf("importcsv: unknown format %q", h.Format)
	}
	has := make(map[string]bool, len(h.Columns))
	for _, c := range h.Columns {
		has[c] = true
	}
	return &rowBuilder{h: h, has: has}, nil
}

func (b *rowBuilder) build(cells []string, number int) Row {
	row := Row{Number: number, Has: b.has}
	if len(cells) != len(b.h.Columns) {
		row.Err = fmt.Sprintf("expected %d %s, found %d", len(b.h.Columns), plural(len(b.h.Columns), "field", "fields"), len(cells))
		// Name the row's user in the report when that is safe: the first
		// cell is the first cell however the row is split, but a later
		// position may hold a piece of a password cut at a stray comma.
		if len(cells) > 0 && b.h.Columns[0] == ColUsername {
			row.Username = stripApostrophe(cells[0])
		}
		return row
	}
	if b.h.Format == FormatIDList {
		row.ID = stripApostrophe(cells[0])
		if row.ID == "" {
			row.Err = "the ID is empty"
		}
		return row
	}
	for i, col := range b.h.Columns {
		v := cells[i]
		switch col {
		case ColUsername:
			row.Username = stripApostrophe(v)
		case ColPassword:
			row.Password = v
		case ColEmail:
			row.Email = v
		case ColBarcode:
			row.Barcode = stripApostrophe(v)
		case ColPrimaryID:
			row.PrimaryID = stripApostrophe(v)
		case ColRoles:
			row.Roles = splitList(v)
		case ColQueues:
			row.Queues = splitList(v)
		case ColCannedMessagePools:
			row.CannedMessagePools = splitList(v)
		case ColStatus:
			row.Status = strings.ToLower(v)
		case ColPasswordHash:
			row.PasswordHash = v
		}
	}
	switch {
	case row.Username == "":
		row.Err = "the username is empty"
	case row.Status != "" && row.Status != "active" && row.Status != "inactive":
		row.Err = `status must be "active" or "inactive" (or empty)`
	}
	return row
}

// stripApostrophe removes the ' Excel users type before a number to keep its
// leading zeros.
func stripApostrophe(s string) string {
	if strings.HasPrefix(s, "'") {
		return strings.TrimSpace(s[1:])
	}
	return s
}

// splitList splits a ;-separated cell, dropping empty entries. An empty cell
// gives an empty, non-nil list.
func splitList(s string) []string {
	out := []string{}
	for part := range strings.SplitSeq(s, ";") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
