package importcsv_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// genFile is a random import file with the rows an independent model says
// it holds, built cell by cell rather than by re-running the parser.
type genFile struct {
	data []byte
	kind importcsv.Kind
	want []R // without Has
}

// cellAlphabet leans on the characters that matter to a CSV reader.
var cellAlphabet = []string{
	"a", "b", "Z", "0", "7", " ", ",", ",", "\"", "\"", "\n", "\r\n", "\r", ";", "'", "é", "€", "=", "\t",
}

func randText(rng *rand.Rand, max int) string {
	var b strings.Builder
	for range rng.IntN(max + 1) {
		b.WriteString(cellAlphabet[rng.IntN(len(cellAlphabet))])
	}
	return b.String()
}

// encodeCell writes v as a CSV cell, quoting it when it must be quoted and
// sometimes when it need not be, sometimes with blanks around the quotes.
func encodeCell(rng *rand.Rand, v string) string {
	if strings.ContainsAny(v, ",\"\r\n") || strings.HasPrefix(strings.TrimLeft(v, " \t"), "\"") || rng.IntN(4) == 0 {
		q := `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		if rng.IntN(5) == 0 {
			q = " " + q + "\t"
		}
		return q
	}
	return v
}

// cellValue is what the reader should make of a cell holding v.
func cellValue(v string) string {
	return strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
}

func listValue(v string) []string {
	out := []string{}
	for _, p := range strings.Split(cellValue(v), ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func generateFile(rng *rand.Rand) genFile {
	var f genFile
	var b bytes.Buffer
	eol := []string{"\n", "\r\n", "\r"}[rng.IntN(3)] // one style per file, as real files have
	if rng.IntN(2) == 0 {
		b.WriteString("\ufeff")
	}
	row := 1
	line := func(cells ...string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(c)
		}
		b.WriteString(eol)
		row++
	}
	blanks := func() {
		for rng.IntN(6) == 0 {
			line([]string{"", ",", "  ", ", ,", `""`}[rng.IntN(5)])
		}
	}
	format := rng.IntN(3)
	var ncols int
	blanks()
	switch format {
	case 0: // LibraryPass
		f.kind, ncols = importcsv.KindUsers, 2
	case 1: // Extended
		f.kind, ncols = importcsv.KindUsers, 4
		line([]string{"username", "User Name"}[rng.IntN(2)], "PASSWORD", "e-mail", `"Roles"`)
	case 2: // ID list
		f.kind, ncols = importcsv.KindSet, 1
		line([]string{"User name", "primary_id", "Primary ID"}[rng.IntN(3)])
	}
	n := rng.IntN(40)
	if format == 0 {
		n++ // LibraryPass has no header, so it needs a first row to detect
	}
	for i := range n {
		blanks()
		cols := ncols
		// A wrong number of cells, but never in a LibraryPass file's first
		// row, which decides the format.
		if rng.IntN(8) == 0 && !(format == 0 && i == 0) {
			cols = max(1, ncols+[]int{-1, 1}[rng.IntN(2)])
		}
		raw := make([]string, cols)
		// The first cell starts with u and a digit, so the row is never
		// blank and never reads as a column name.
		raw[0] = fmt.Sprintf("u%d%s", i, randText(rng, 6))
		for j := 1; j < cols; j++ {
			raw[j] = randText(rng, 10)
		}
		enc := make([]string, cols)
		for j, v := range raw {
			enc[j] = encodeCell(rng, v)
		}
		r := R{Number: row}
		line(enc...)
		switch {
		case cols != ncols:
			r.Err = fmt.Sprintf("expected %d %s, found %d", ncols, map[bool]string{true: "field", false: "fields"}[ncols == 1], cols)
			if format != 2 { // the username is the first column: the report names it
				r.Username = cellValue(raw[0])
			}
		case format == 0:
			r.Username, r.Password = cellValue(raw[0]), cellValue(raw[1])
		case format == 1:
			r.Username, r.Password, r.Email, r.Roles = cellValue(raw[0]), cellValue(raw[1]), cellValue(raw[2]), listValue(raw[3])
		case format == 2:
			r.ID = cellValue(raw[0])
		}
		f.want = append(f.want, r)
	}
	blanks()
	if rng.IntN(3) == 0 { // no line end after the last row
		b.Truncate(b.Len() - len(eol))
	}
	f.data = b.Bytes()
	return f
}

// TestChunkingProperty: for random files full of quoted cells with commas,
// quotes and line breaks, reading chunk by chunk yields exactly the rows,
// numbers included, that reading the file in one chunk does, and those are
// the rows the generator put in.
func TestChunkingProperty(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 50
	}
	for seed := range n {
		rng := rand.New(rand.NewPCG(uint64(seed), 42))
		f := generateFile(rng)
		sc, whole, err := importAll(t, f.data, f.kind, importcsv.Limits{}, 1<<30)
		if err != nil {
			if len(f.want) == 0 && strings.Contains(err.Error(), "no data rows") {
				continue
			}
			t.Fatalf("seed %d: %v\n%q", seed, err, f.data)
		}
		sameAsScanFunc(t, f.data, f.kind, importcsv.Limits{}, 1<<30, sc, whole, nil)
		if len(sc.Chunks) != 1 {
			t.Fatalf("seed %d: %d chunks with a huge chunk size", seed, len(sc.Chunks))
		}
		if got := withoutHas(whole); !reflect.DeepEqual(got, f.want) {
			t.Logf("seed %d file %q", seed, f.data)
			diffRows(t, got, f.want)
			t.FailNow()
		}
		for _, rpc := range []int{1, 2, 3, 7, 25} {
			_, rows, err := importAll(t, f.data, f.kind, importcsv.Limits{}, rpc)
			if err != nil {
				t.Fatalf("seed %d rowsPerChunk %d: %v", seed, rpc, err)
			}
			if !reflect.DeepEqual(rows, whole) {
				t.Logf("seed %d rowsPerChunk %d file %q", seed, rpc, f.data)
				diffRows(t, rows, whole)
				t.FailNow()
			}
		}
	}
}
