package importcsv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

func TestSafeCell(t *testing.T) {
	// Anything a spreadsheet might run as a formula gets an apostrophe;
	// everything else, including text with those characters further in,
	// is left alone.
	cases := []struct{ in, want string }{
		{"", ""},
		{"alice", "alice"},
		{"=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"},
		{"+1-555", "'+1-555"},
		{"-5", "'-5"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"a=b", "a=b"},
		{" =1", " =1"},
		{"'already", "'already"},
		{"0012345", "0012345"},
	}
	for _, tc := range cases {
		if got := importcsv.SafeCell(tc.in); got != tc.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReportWriter(t *testing.T) {
	cases := []struct {
		name string
		rows [][]string
		want string
	}{
		{"nothing written, nothing out (not even the BOM)", nil, ""},
		{
			// A BOM so Excel reads UTF-8; CRLF as Excel writes, inside
			// quoted cells too; quoting for commas, quotes and line breaks;
			// formulas defused.
			name: "a report",
			rows: [][]string{
				{"row", "username", "error"},
				{"3", "=cmd|' /C calc'!A0", "bad, \"very\"\nbad"},
				{"4", "josé", ""},
			},
			want: "\ufeffrow,username,error\r\n3,'=cmd|' /C calc'!A0,\"bad, \"\"very\"\"\r\nbad\"\r\n4,josé,\r\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			rw := importcsv.NewReportWriter(&buf)
			for _, r := range tc.rows {
				if err := rw.Write(r...); err != nil {
					t.Fatal(err)
				}
			}
			if err := rw.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got  %q\nwant %q", buf.String(), tc.want)
			}
		})
	}
}

// TestReportRoundTrip: a report can be fixed up and uploaded again; the
// apostrophe SafeCell adds to an identifier is the one the reader strips.
func TestReportRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	rw := importcsv.NewReportWriter(&buf)
	for _, r := range [][]string{{"username", "barcode", "email"}, {"-dash", "+0012", "=x@example.org"}} {
		if err := rw.Write(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	_, rows, err := importAll(t, buf.Bytes(), importcsv.KindUsers, importcsv.Limits{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	// email is not an identifier cell, so it keeps the apostrophe.
	diffRows(t, withoutHas(rows), []R{{Number: 2, Username: "-dash", Barcode: "+0012", Email: "'=x@example.org"}})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReportWriterErrors(t *testing.T) {
	rw := importcsv.NewReportWriter(failWriter{})
	if err := rw.Write("a"); err == nil {
		t.Fatal("the byte order mark went nowhere without an error")
	}
	rw = importcsv.NewReportWriter(&limitedWriter{n: 3})
	_ = rw.Write("abc", "def")
	if err := rw.Flush(); err == nil {
		t.Fatal("Flush hid a write error")
	}
}

// limitedWriter accepts n bytes, then fails.
type limitedWriter struct{ n int }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}
