package importcsv_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// TestLimits checks each limit at and just past its edge: the message names
// the limit and the line, and errors.Is(err, ErrTooLarge) holds so the
// adapter can answer "too large" rather than "invalid".
func TestLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	const kb16 = 16 << 10
	cases := []struct {
		name    string
		data    string
		lim     importcsv.Limits
		rows    int // on success
		errLine int
		errHas  []string
	}{
		{
			name: "a line of exactly 16 KB is accepted; its line end does not count",
			data: "a,b\r\nc," + long(kb16-2) + "\r\n", rows: 2,
		},
		{
			name: "a line one byte over 16 KB is refused, naming the line and the limit",
			data: "a,b\nc," + long(kb16-1) + "\nd,e\n", errLine: 2,
			errHas: []string{"longer than 16 KB, the limit"},
		},
		{
			name: "an unclosed quote stops at the line limit instead of reading the rest of the file, with a hint",
			data: "a,\"b\n" + strings.Repeat("short line\n", 2000), errLine: 1,
			errHas: []string{"longer than 16 KB", "missing its closing quote"},
		},
		{
			name: "a multi-line quoted cell counts towards its record's length",
			data: "a,b\nc,\"" + strings.Repeat("line\n", kb16/5+1) + "\"\n", errLine: 2,
			errHas: []string{"longer than 16 KB"},
		},
		{
			name: "a smaller line limit, shown in bytes",
			data: "a,b\nabc,defghij\n", lim: importcsv.Limits{MaxLine: 9}, errLine: 2,
			errHas: []string{"longer than 9 bytes"},
		},
		{
			name: "exactly MaxRows data rows are accepted (the header does not count)",
			data: "username,password\na,1\nb,2\nc,3\n", lim: importcsv.Limits{MaxRows: 3}, rows: 3,
		},
		{
			name: "one row over MaxRows is refused at that row",
			data: "username,password\na,1\n\nb,2\nc,3\nd,4\n", lim: importcsv.Limits{MaxRows: 3}, errLine: 6,
			errHas: []string{"more than 3 rows, the limit"},
		},
		{
			name: "a file of exactly MaxBytes is accepted",
			data: "a,1\nb,2\n", lim: importcsv.Limits{MaxBytes: 8}, rows: 2,
		},
		{
			name: "one byte over MaxBytes is refused, naming the limit and where",
			data: "a,1\nb,2\nc", lim: importcsv.Limits{MaxBytes: 8},
			errHas: []string{"larger than 8 bytes, the limit", "at line 3"},
		},
		{
			name: "the size limit names the line even when the limit falls in the first bytes read",
			data: "a,1\nbc", lim: importcsv.Limits{MaxBytes: 5},
			errHas: []string{"larger than 5 bytes, the limit", "at line 2"},
		},
		{
			name: "the default size limit reads as 100 MB",
			data: "a,1\n", lim: importcsv.Limits{MaxBytes: 100 << 20}, rows: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, _, err := importAll(t, []byte(tc.data), importcsv.KindUsers, tc.lim, 2)
			if tc.errHas == nil {
				if err != nil {
					t.Fatal(err)
				}
				if sc.Rows != tc.rows {
					t.Fatalf("Rows = %d, want %d", sc.Rows, tc.rows)
				}
				return
			}
			fileError(t, err, tc.errLine, tc.errHas, nil)
			if !errors.Is(err, importcsv.ErrTooLarge) {
				t.Errorf("errors.Is(%v, ErrTooLarge) is false", err)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	want := importcsv.Limits{MaxBytes: 100 << 20, MaxRows: 500_000, MaxLine: 16 << 10}
	if got := importcsv.DefaultLimits(); got != want {
		t.Fatalf("DefaultLimits() = %+v, want %+v", got, want)
	}
}

// genReader produces a LibraryPass file of n rows on the fly, so tests can
// scan hundreds of thousands of rows without a file on disk. It counts what
// it hands out and can call sample every sampleEvery bytes.
type genReader struct {
	n, i        int
	pending     []byte
	read        int64
	sampleEvery int64
	nextSample  int64
	sample      func()
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.sample != nil && g.read >= g.nextSample {
		g.sample()
		g.nextSample += g.sampleEvery
	}
	total := 0
	for len(p) > 0 {
		if len(g.pending) == 0 {
			if g.i >= g.n {
				break
			}
			g.pending = fmt.Appendf(g.pending[:0], "user%07d,passphrase %07d\r\n", g.i, g.i)
			g.i++
		}
		c := copy(p, g.pending)
		g.pending, p, total = g.pending[c:], p[c:], total+c
	}
	g.read += int64(total)
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

const genRowLen = int64(len("user0000000,passphrase 0000000\r\n"))

// TestRowLimitFailsEarly: a file with far too many rows is refused as soon as
// the limit is passed, without reading the rest.
func TestRowLimitFailsEarly(t *testing.T) {
	g := &genReader{n: 5_000_000}
	_, err := importcsv.ScanFile(g, importcsv.KindUsers, importcsv.DefaultLimits(), 1000)
	fileError(t, err, 500_001, []string{"more than 500000 rows, the limit"}, nil)
	if !errors.Is(err, importcsv.ErrTooLarge) {
		t.Error("not ErrTooLarge")
	}
	// One read buffer of slack beyond the failing row.
	if limit := 500_001*genRowLen + 128<<10; g.read > limit {
		t.Fatalf("read %d bytes before failing; want at most %d", g.read, limit)
	}
}

// TestReadChunkMisuse: a worker whose ranged read is off by one, or whose
// file changed after the scan, gets an error rather than wrong rows.
func TestReadChunkMisuse(t *testing.T) {
	data := []byte("username,password\nalice,pw1\nbob,pw2\ncarol,pw3\n")
	sc, err := importcsv.ScanFile(bytes.NewReader(data), importcsv.KindUsers, importcsv.Limits{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	c := sc.Chunks[1] // carol alone
	if c.FirstRow != 4 || c.Rows != 1 {
		t.Fatalf("chunk = %+v", c)
	}
	changed := bytes.Replace(data, []byte("carol,pw3\n"), []byte("carol,pw3\ndan,"), 1)
	cases := []struct {
		name string
		r    io.Reader
		h    importcsv.Header
		c    importcsv.Chunk
		want string
	}{
		{"one byte short (an inclusive range read as exclusive)", bytes.NewReader(data[c.Start : c.End-1]), sc.Header, c, "ended after 9 of its 10 bytes"},
		{"one byte long (an exclusive range read as inclusive)", io.MultiReader(bytes.NewReader(data[c.Start:c.End]), strings.NewReader("x")), sc.Header, c, "more than the chunk's 10 bytes"},
		{"more rows than the scan counted", bytes.NewReader(changed[c.Start : c.End+4]), sc.Header, importcsv.Chunk{Start: c.Start, End: c.End + 4, FirstRow: 4, Rows: 1}, "more than the 1 rows the scan counted"},
		{"fewer rows than the scan counted", bytes.NewReader(data[c.Start:c.End]), sc.Header, importcsv.Chunk{Start: c.Start, End: c.End, FirstRow: 4, Rows: 2}, "has 1 rows, the scan counted 2"},
		{"unknown format", bytes.NewReader(nil), importcsv.Header{Format: "xlsx"}, c, `unknown format "xlsx"`},
		{"Extended without username", bytes.NewReader(nil), importcsv.Header{Format: importcsv.FormatExtended, Columns: []string{"email"}}, c, "no username column"},
		{"non-canonical column name", bytes.NewReader(nil), importcsv.Header{Format: importcsv.FormatExtended, Columns: []string{"username", "Primary ID"}}, c, "unknown column"},
		{"bad chunk", bytes.NewReader(nil), sc.Header, importcsv.Chunk{Start: 5, End: 4, FirstRow: 1}, "invalid chunk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importcsv.ReadChunk(tc.r, tc.h, tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}

	// A structural error inside a chunk names the file's line, not the
	// chunk's.
	corrupt := bytes.Replace(data, []byte("pw3"), []byte("p\x003"), 1)
	_, err = importcsv.ReadChunk(bytes.NewReader(corrupt[c.Start:c.End]), sc.Header, c)
	fileError(t, err, 4, []string{"binary data"}, nil)

	if got := (importcsv.Chunk{Start: 10, End: 20}).HTTPRange(); got != "bytes=10-19" {
		t.Errorf("HTTPRange = %q", got)
	}
}

// TestScanFileArguments: programming errors are plain errors, not
// FileErrors, so they are never shown to staff as a problem with the file.
func TestScanFileArguments(t *testing.T) {
	for _, tc := range []struct {
		kind importcsv.Kind
		rpc  int
	}{{"patrons", 10}, {importcsv.KindUsers, 0}} {
		_, err := importcsv.ScanFile(strings.NewReader("a,b\n"), tc.kind, importcsv.Limits{}, tc.rpc)
		var fe *importcsv.FileError
		if err == nil || errors.As(err, &fe) {
			t.Errorf("ScanFile(%q, %d) = %v; want a plain error", tc.kind, tc.rpc, err)
		}
	}
	// A failing reader is passed on wrapped, not mistaken for a bad file.
	boom := errors.New("connection reset")
	_, err := importcsv.ScanFile(io.MultiReader(strings.NewReader("a,b\n"), iotestErr{boom}), importcsv.KindUsers, importcsv.Limits{}, 10)
	var fe *importcsv.FileError
	if !errors.Is(err, boom) || errors.As(err, &fe) {
		t.Errorf("err = %v; want the read error", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// TestReaderShapes: readers that hand out one byte at a time, or return
// io.EOF with the last data, are common (S3 bodies, gzip); the outcome of
// every corpus file and limit case must not depend on how reads are cut.
func TestReaderShapes(t *testing.T) {
	type input struct {
		data []byte
		lim  importcsv.Limits
	}
	var inputs []input
	for _, data := range corpusFiles(t) {
		inputs = append(inputs, input{data, importcsv.Limits{}})
	}
	for _, lim := range []importcsv.Limits{{MaxBytes: 4}, {MaxBytes: 8}, {MaxBytes: 9}, {MaxLine: 3}, {MaxRows: 1}} {
		inputs = append(inputs, input{[]byte("a,1\nb,2\nc,3\n"), lim})
	}
	for _, in := range inputs {
		for _, kind := range []importcsv.Kind{importcsv.KindUsers, importcsv.KindSet} {
			want, wantErr := importcsv.ScanFile(bytes.NewReader(in.data), kind, in.lim, 2)
			for name, r := range map[string]io.Reader{
				"OneByteReader": iotest.OneByteReader(bytes.NewReader(in.data)),
				"DataErrReader": iotest.DataErrReader(bytes.NewReader(in.data)),
				"HalfReader":    iotest.HalfReader(bytes.NewReader(in.data)),
			} {
				got, err := importcsv.ScanFile(r, kind, in.lim, 2)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
					t.Errorf("%s on %q (%+v): got %+v, %v; want %+v, %v", name, in.data, in.lim, got, err, want, wantErr)
				}
			}
		}
	}
	// A reader that ends exactly at the size limit, then has more to give in
	// a separate read, must not pass for a file that ended.
	r := io.MultiReader(strings.NewReader("a,1\nb,2\n"), strings.NewReader("c,3\n"))
	_, err := importcsv.ScanFile(r, importcsv.KindUsers, importcsv.Limits{MaxBytes: 8}, 2)
	fileError(t, err, 0, []string{"larger than 8 bytes", "at line 3"}, nil)
}
