package importcsv_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// FuzzScanFile: whatever the bytes, ScanFile returns (no panic, no hang)
// either a *FileError or a scan whose chunks all read back without error,
// with the rows and numbers a single-chunk read gives. Small limits let the
// fuzzer reach the limit paths with small inputs.
//
//	go test -run x -fuzz FuzzScanFile -fuzztime 60s ./internal/importcsv
func FuzzScanFile(f *testing.F) {
	for _, data := range corpusFiles(f) {
		f.Add(data, false, uint8(2), uint16(100), uint8(50))
		f.Add(data, true, uint8(1), uint16(16), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, set bool, rpc uint8, maxLine uint16, maxRows uint8) {
		kind := importcsv.KindUsers
		if set {
			kind = importcsv.KindSet
		}
		lim := importcsv.Limits{MaxLine: 1 + int(maxLine), MaxRows: 1 + int(maxRows), MaxBytes: 1 << 20}
		perChunk := 1 + int(rpc%8)
		sc, err := importcsv.ScanFile(bytes.NewReader(data), kind, lim, perChunk)
		var rows []importcsv.Row
		if err == nil {
			_, rows, _ = importAll(t, data, kind, lim, perChunk)
		}
		sameAsScanFunc(t, data, kind, lim, perChunk, sc, rows, err)
		if err != nil {
			// A bytes.Reader never fails, so every error is about the file.
			var fe *importcsv.FileError
			if !errors.As(err, &fe) || fe.Msg == "" || fe.Line < 0 {
				t.Fatalf("error %v (%T) is not a proper *FileError", err, err)
			}
			return
		}
		if sc.Rows > lim.MaxRows {
			t.Fatalf("%d rows passed a limit of %d", sc.Rows, lim.MaxRows)
		}
		// importAll (above) checked the chunk invariants and read every chunk.
		first, last := sc.Chunks[0], sc.Chunks[len(sc.Chunks)-1]
		one := importcsv.Chunk{Start: first.Start, End: last.End, FirstRow: first.FirstRow, Rows: sc.Rows}
		whole, err := importcsv.ReadChunk(bytes.NewReader(data[one.Start:one.End]), sc.Header, one)
		if err != nil {
			t.Fatalf("one-chunk read: %v", err)
		}
		if !reflect.DeepEqual(rows, whole) {
			t.Fatalf("chunked read differs from the one-chunk read")
		}
		checkRows(t, whole, sc.Header, one)
	})
}

// FuzzReadChunk: a worker handed arbitrary bytes, any valid header and any
// offsets gets rows or an error, never a panic or a hang. When it gets rows
// they are numbered from FirstRow upwards and match the header.
func FuzzReadChunk(f *testing.F) {
	for _, data := range corpusFiles(f) {
		for format := range uint8(3) {
			f.Add(data, format, uint16(0x3ff), uint16(0), uint32(0))
		}
		f.Add(data, uint8(1), uint16(0x2a5), uint16(41), uint32(1234))
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8, cols uint16, firstRow uint16, start uint32) {
		h := fuzzHeader(format, cols)
		c := importcsv.Chunk{Start: int64(start), End: int64(start) + int64(len(data)), FirstRow: 1 + int(firstRow), Rows: math.MaxInt32}
		// No real chunk has that many rows, so this reads everything and
		// fails on the count, saying how many rows there were.
		_, err := importcsv.ReadChunk(bytes.NewReader(data), h, c)
		var fe *importcsv.FileError
		if errors.As(err, &fe) {
			if fe.Line < c.FirstRow {
				t.Fatalf("error line %d is before the chunk's first row %d: %v", fe.Line, c.FirstRow, fe)
			}
			return
		}
		var s, e int64
		var n int
		if _, serr := fmt.Sscanf(err.Error(), "importcsv: chunk [%d, %d) has %d rows", &s, &e, &n); serr != nil {
			t.Fatalf("unexpected error %v", err)
		}
		c.Rows = n
		rows, err := importcsv.ReadChunk(bytes.NewReader(data), h, c)
		if err != nil {
			t.Fatalf("with the right count: %v", err)
		}
		checkRows(t, rows, h, c)
	})
}

// fuzzHeader turns two numbers into a valid header: a format, and for
// Extended a username column plus the columns whose bits are set, rotated.
func fuzzHeader(format uint8, cols uint16) importcsv.Header {
	switch format % 3 {
	case 0:
		return importcsv.Header{Format: importcsv.FormatLibraryPass, Columns: []string{"username", "password"}}
	case 1:
		return importcsv.Header{Format: importcsv.FormatIDList, Columns: []string{"id"}, IDHeader: "User name"}
	}
	all := []string{"password", "email", "barcode", "primaryId", "roles", "queues", "cannedMessagePools", "status", "passwordHash"}
	names := []string{"username"}
	for i, c := range all {
		if cols&(1<<i) != 0 {
			names = append(names, c)
		}
	}
	k := int(cols>>12) % len(names)
	names = append(names[k:], names[:k]...)
	return importcsv.Header{Format: importcsv.FormatExtended, Columns: names}
}

// checkRows asserts what every successful read promises.
func checkRows(tb testing.TB, rows []importcsv.Row, h importcsv.Header, c importcsv.Chunk) {
	tb.Helper()
	if len(rows) != c.Rows {
		tb.Fatalf("%d rows, chunk says %d", len(rows), c.Rows)
	}
	for i, r := range rows {
		if i == 0 && r.Number != c.FirstRow || i > 0 && r.Number <= rows[i-1].Number {
			tb.Fatalf("row %d numbered %d after %v", i, r.Number, rows[max(i-1, 0)].Number)
		}
		if len(r.Has) != len(h.Columns) {
			tb.Fatalf("Has = %v for columns %v", r.Has, h.Columns)
		}
		if r.Err != "" {
			continue
		}
		switch h.Format {
		case importcsv.FormatIDList:
			if r.ID == "" {
				tb.Fatalf("row %d: empty ID without an error", r.Number)
			}
		default:
			if r.Username == "" {
				tb.Fatalf("row %d: empty username without an error", r.Number)
			}
			if r.Status != "" && r.Status != "active" && r.Status != "inactive" {
				tb.Fatalf("row %d: status %q without an error", r.Number, r.Status)
			}
			if (r.Roles == nil) == slices.Contains(h.Columns, "roles") {
				tb.Fatalf("row %d: roles %#v with columns %v", r.Number, r.Roles, h.Columns)
			}
		}
	}
}
