package importcsv

import (
	"encoding/csv"
	"io"
)

// SafeCell makes s safe to put in a CSV cell that a spreadsheet will open:
// text starting with = + - @, a tab or a carriage return could be taken for
// a formula (CSV injection), so it gets a leading apostrophe, which Excel
// hides and reads as "this is text". Other text is returned as it is.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// ReportWriter writes a CSV report for staff to open in a spreadsheet: every
// cell goes through SafeCell, lines end in CRLF, and the output starts with a
// UTF-8 byte order mark so Excel does not read it as a legacy code page.
// Files it writes can be uploaded again: the reader skips the mark.
type ReportWriter struct {
	out     io.Writer
	w       *csv.Writer
	started bool
	cells   []string
}

// NewReportWriter returns a writer to w. Call Flush when done.
func NewReportWriter(w io.Writer) *ReportWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &ReportWriter{out: w, w: cw}
}

// Write writes one row. Errors may also surface only at Flush.
func (rw *ReportWriter) Write(cells ...string) error {
	if !rw.started {
		rw.started = true
		// Nothing is buffered yet, so the mark goes straight to out.
		if _, err := io.WriteString(rw.out, "\uFEFF"); err != nil {
			return err
		}
	}
	rw.cells = rw.cells[:0]
	for _, c := range cells {
		rw.cells = append(rw.cells, SafeCell(c))
	}
	return rw.w.Write(rw.cells)
}

// Flush writes any buffered rows and reports any error from writing.
func (rw *ReportWriter) Flush() error {
	rw.w.Flush()
	return rw.w.Error()
}
