package stack

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// lookupSecretRef stands in for the template's LookupKeySecret, which on
// AWS CloudFormation resolves into LOOKUP_KEY; locally the stack sets the
// key itself (lookupKey).
const lookupSecretRef = "local-lookup-key-secret"

// lookupKey is the local stack's LOOKUP_KEY: random, made once per data
// directory and kept there, so that the request counters it keys still
// count after a restart of `make run`.
func lookupKey(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "lookup-key")
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) >= 32 {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the lookup key: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	key := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the lookup key: %w", err)
	}
	return key, nil
}
