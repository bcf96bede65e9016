// Package hostos holds what the dev stack's emulators need from the host
// operating system and would otherwise each write again: making a rename
// durable, child processes that die with the stack, and random ids.
package hostos

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"runtime"
)

// SyncDir fsyncs a directory, which makes a create, rename or remove in it
// survive a crash. Windows cannot fsync a directory (and does not need to).
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Random returns n random bytes.
func Random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// RandomHex returns n random bytes in lower-case hex.
func RandomHex(n int) string { return hex.EncodeToString(Random(n)) }

// UUID returns a random (version 4) UUID, the form AWS uses for request
// and message ids.
func UUID() string {
	b := Random(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
