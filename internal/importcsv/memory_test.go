package importcsv_test

import (
	"runtime"
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// scanPeakHeap scans a generated file of the maximum 500,000 rows (about
// 16 MB; no file on disk) and returns the highest HeapAlloc seen while it
// ran, sampled every 256 KB read.
func scanPeakHeap(tb testing.TB) (peak uint64, sc importcsv.Scan) {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	g := &genReader{n: 500_000, sampleEvery: 256 << 10}
	g.sample = func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	sc, err := importcsv.ScanFile(g, importcsv.KindUsers, importcsv.DefaultLimits(), 1000)
	if err != nil {
		tb.Fatal(err)
	}
	g.sample()
	if sc.Rows != 500_000 || sc.Bytes != 500_000*genRowLen || len(sc.Chunks) != 500 {
		tb.Fatalf("scan = %d rows, %d bytes, %d chunks", sc.Rows, sc.Bytes, len(sc.Chunks))
	}
	return peak, sc
}

// TestScanMemoryIsFlat: the Lambda streams files up to 100 MB, so a scan
// must not hold the file. The bound is generous (garbage awaiting the GC
// counts in HeapAlloc) yet far below the 16 MB the file itself would take
// plus the 64 MB a leak would soon pass.
func TestScanMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 500,000 rows")
	}
	peak, _ := scanPeakHeap(t)
	t.Logf("peak HeapAlloc while scanning 500,000 rows (%d MB of CSV): %.1f MB",
		500_000*genRowLen>>20, float64(peak)/(1<<20))
	const bound = 16 << 20
	if peak > bound {
		t.Fatalf("peak HeapAlloc %d bytes; want under %d", peak, bound)
	}
}

func BenchmarkScanFile(b *testing.B) {
	b.SetBytes(500_000 * genRowLen)
	var peak uint64
	for b.Loop() {
		p, _ := scanPeakHeap(b)
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
