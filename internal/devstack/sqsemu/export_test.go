package sqsemu

// SetCompactMinBytes lowers the log size that allows compaction, for
// tests; the returned func restores it.
func SetCompactMinBytes(n int64) (restore func()) {
	old := compactMinBytes
	compactMinBytes = n
	return func() { compactMinBytes = old }
}
