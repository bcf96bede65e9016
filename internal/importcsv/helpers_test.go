package importcsv_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// corpusDir holds the sample files; tests run in the package directory.
var corpusDir = filepath.Join("..", "..", "testdata", "imports")

func readCorpus(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// corpusFiles lists every sample file, for fuzz seeds.
func corpusFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out[e.Name()] = readCorpus(tb, e.Name())
	}
	return out
}

// importAll does what the Lambda and the workers do together: one scan,
// then one ReadChunk per chunk, each given only its own byte range.
func importAll(tb testing.TB, data []byte, kind importcsv.Kind, lim importcsv.Limits, rowsPerChunk int) (importcsv.Scan, []importcsv.Row, error) {
	tb.Helper()
	sc, err := importcsv.ScanFile(bytes.NewReader(data), kind, lim, rowsPerChunk)
	if err != nil {
		return sc, nil, err
	}
	checkChunks(tb, sc, len(data), rowsPerChunk)
	var rows []importcsv.Row
	for _, c := range sc.Chunks {
		got, err := importcsv.ReadChunk(bytes.NewReader(data[c.Start:c.End]), sc.Header, c)
		if err != nil {
			tb.Fatalf("ReadChunk(%+v) after a successful scan: %v", c, err)
		}
		if len(got) != c.Rows || got[0].Number != c.FirstRow {
			tb.Fatalf("chunk %+v gave %d rows starting at %d", c, len(got), got[0].Number)
		}
		rows = append(rows, got...)
	}
	return sc, rows, nil
}

// scanRows runs ScanFileFunc and collects the rows it hands out.
func scanRows(tb testing.TB, data []byte, kind importcsv.Kind, lim importcsv.Limits, rowsPerChunk int) (importcsv.Scan, []importcsv.Row, error) {
	tb.Helper()
	var rows []importcsv.Row
	sc, err := importcsv.ScanFileFunc(bytes.NewReader(data), kind, lim, rowsPerChunk, func(r importcsv.Row) error {
		rows = append(rows, r)
		return nil
	})
	return sc, rows, err
}

// sameAsScanFunc asserts ScanFileFunc agrees with ScanFile and the chunk
// reads: the same scan or error, and the rows the workers read.
func sameAsScanFunc(tb testing.TB, data []byte, kind importcsv.Kind, lim importcsv.Limits, rowsPerChunk int, sc importcsv.Scan, rows []importcsv.Row, err error) {
	tb.Helper()
	sc2, rows2, err2 := scanRows(tb, data, kind, lim, rowsPerChunk)
	if fmt.Sprint(err2) != fmt.Sprint(err) || !reflect.DeepEqual(sc2, sc) {
		tb.Fatalf("ScanFileFunc = %+v, %v; ScanFile = %+v, %v", sc2, err2, sc, err)
	}
	if err == nil && !reflect.DeepEqual(rows2, rows) {
		tb.Fatalf("ScanFileFunc handed out other rows than the chunks hold")
	}
}

// checkChunks asserts the chunk invariants workers rely on: contiguous,
// ending at the file's end, non-empty, within the chunk size, and adding
// up to the scan's row count.
func checkChunks(tb testing.TB, sc importcsv.Scan, size, rowsPerChunk int) {
	tb.Helper()
	if sc.Bytes != int64(size) {
		tb.Fatalf("Scan.Bytes = %d, file has %d", sc.Bytes, size)
	}
	if len(sc.Chunks) == 0 {
		tb.Fatalf("no chunks for %d rows", sc.Rows)
	}
	total := 0
	for i, c := range sc.Chunks {
		if c.Rows < 1 || c.Rows > rowsPerChunk || c.Start >= c.End || c.FirstRow < 1 {
			tb.Fatalf("chunk %d is malformed: %+v (rowsPerChunk %d)", i, c, rowsPerChunk)
		}
		if i > 0 && (c.Start != sc.Chunks[i-1].End || c.FirstRow <= sc.Chunks[i-1].FirstRow) {
			tb.Fatalf("chunk %d %+v does not follow %+v", i, c, sc.Chunks[i-1])
		}
		total += c.Rows
	}
	if last := sc.Chunks[len(sc.Chunks)-1]; last.End != int64(size) {
		tb.Fatalf("last chunk ends at %d, file at %d", last.End, size)
	}
	if total != sc.Rows {
		tb.Fatalf("chunks hold %d rows, scan counted %d", total, sc.Rows)
	}
}

// fileError asserts err is a *FileError on the given line whose text holds
// every want and none of the secrets.
func fileError(tb testing.TB, err error, line int, want []string, secrets []string) *importcsv.FileError {
	tb.Helper()
	var fe *importcsv.FileError
	if !errors.As(err, &fe) {
		tb.Fatalf("error %v (%T) is not a *FileError", err, err)
	}
	if fe.Line != line {
		tb.Errorf("error line = %d, want %d (%v)", fe.Line, line, fe)
	}
	for _, w := range want {
		if !strings.Contains(fe.Error(), w) {
			tb.Errorf("error %q does not contain %q", fe.Error(), w)
		}
	}
	for _, s := range secrets {
		if strings.Contains(fe.Error(), s) {
			tb.Errorf("error %q echoes %q, which may be a password", fe.Error(), s)
		}
	}
	return fe
}

// withoutHas drops the shared Has map so expected rows can be written
// compactly; Has is checked separately.
func withoutHas(rows []importcsv.Row) []importcsv.Row {
	out := make([]importcsv.Row, len(rows))
	for i, r := range rows {
		r.Has = nil
		out[i] = r
	}
	return out
}

func diffRows(tb testing.TB, got, want []importcsv.Row) {
	tb.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		var g, w any = "(none)", "(none)"
		if i < len(got) {
			g = fmt.Sprintf("%+v", got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%+v", want[i])
		}
		if !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&b, "row %d:\n got  %v\n want %v\n", i, g, w)
		}
	}
	tb.Errorf("rows differ:\n%s", b.String())
}
