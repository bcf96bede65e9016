// Package dynamodblocal fetches and runs Amazon DynamoDB Local, for the local
// stack and for tests, with nothing on the machine but Java and npm.
//
// DynamoDB Local is taken from the npm package amplify-dynamodb-simulator,
// which ships Amazon's DynamoDBLocal.jar and its native libraries under
// package/emulator/. It is fetched once with `npm pack` into the cache
// directory and run with the machine's java.
package dynamodblocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// Version is the amplify-dynamodb-simulator npm package version whose
// DynamoDB Local is used (it bundles DynamoDB Local 1.25.1).
const Version = "2.9.30"

const npmPackage = "amplify-dynamodb-simulator"

// cacheDirEnv overrides the cache directory.
const cacheDirEnv = "LIBACCOUNTS_CACHE_DIR"

// CacheDir returns $LIBACCOUNTS_CACHE_DIR, or .cache in the repository root
// (found from the working directory; git-ignored).
func CacheDir() (string, error) {
	if dir := os.Getenv(cacheDirEnv); dir != "" {
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := samtemplate.FindRepoRoot(wd)
	if err != nil {
		return "", fmt.Errorf("dynamodblocal: no cache directory: set %s or run inside the repository: %w", cacheDirEnv, err)
	}
	return filepath.Join(root, ".cache"), nil
}

// javaPath finds the java binary: $JAVA_HOME/bin/java, else java on PATH.
func javaPath() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("dynamodblocal: java not found: DynamoDB Local needs a Java 17 runtime " +
			"(Debian: apt-get install openjdk-17-jre-headless; or set JAVA_HOME)")
	}
	return p, nil
}

// ensureMu serialises Ensure within one process; the file lock does it
// across processes (several test binaries run at once).
var ensureMu sync.Mutex

// Ensure makes DynamoDB Local available in <cache>/dynamodb-local/<Version>
// and returns that directory (holding DynamoDBLocal.jar and
// DynamoDBLocal_lib). The first call fetches it with npm; the directory
// appears atomically, so a crash mid-way leaves nothing half-written.
func Ensure(ctx context.Context) (string, error) {
	if _, err := javaPath(); err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	base := filepath.Join(cache, "dynamodb-local")
	dir := filepath.Join(base, Version)
	if ready(dir) {
		return dir, nil
	}

	ensureMu.Lock()
	defer ensureMu.Unlock()
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("dynamodblocal: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(base, Version+".lock"))
	if err != nil {
		return "", fmt.Errorf("dynamodblocal: lock %s: %w", base, err)
	}
	defer unlock()
	if ready(dir) { // another process fetched it while we waited
		return dir, nil
	}
	if err := fetch(ctx, base, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// ready reports whether dir holds a complete DynamoDB Local.
func ready(dir string) bool {
	jar, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar"))
	if err != nil || !jar.Mode().IsRegular() {
		return false
	}
	lib, err := os.Stat(filepath.Join(dir, "DynamoDBLocal_lib"))
	return err == nil && lib.IsDir()
}

// fetch downloads the npm package into a scratch directory under base,
// extracts package/emulator and renames it to dir. The caller holds the lock.
func fetch(ctx context.Context, base, dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("dynamodblocal: npm not found: it is needed once to fetch DynamoDB Local (%s@%s) into %s "+
			"(Debian: apt-get install npm)", npmPackage, Version, dir)
	}
	// Leftovers of fetches killed mid-way; nobody else can be using them
	// while we hold the lock.
	if old, _ := filepath.Glob(filepath.Join(base, ".fetch-"+Version+"-*")); len(old) > 0 {
		for _, o := range old {
			_ = os.RemoveAll(o)
		}
	}
	if _, err := os.Stat(dir); err == nil { // incomplete, e.g. edited by hand
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("dynamodblocal: remove incomplete %s: %w", dir, err)
		}
	}
	tmp, err := os.MkdirTemp(base, ".fetch-"+Version+"-")
	if err != nil {
		return fmt.Errorf("dynamodblocal: %w", err)
	}
	defer os.RemoveAll(tmp)

	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, "pack", npmPackage+"@"+Version, "--ignore-scripts", "--loglevel=error")
	cmd.Dir = tmp
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dynamodblocal: npm pack %s@%s: %w\n%s", npmPackage, Version, err, strings.TrimSpace(out.String()))
	}
	tgzs, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tgzs) != 1 {
		return fmt.Errorf("dynamodblocal: npm pack %s@%s left %d tarballs\n%s", npmPackage, Version, len(tgzs), out.String())
	}
	staged := filepath.Join(tmp, "emulator")
	if err := extractEmulator(tgzs[0], staged); err != nil {
		return fmt.Errorf("dynamodblocal: extract %s: %w", filepath.Base(tgzs[0]), err)
	}
	if !ready(staged) {
		return fmt.Errorf("dynamodblocal: %s@%s has no package/emulator/DynamoDBLocal.jar and DynamoDBLocal_lib", npmPackage, Version)
	}
	if err := os.Rename(staged, dir); err != nil {
		return fmt.Errorf("dynamodblocal: %w", err)
	}
	return nil
}

// extractEmulator writes the package/emulator/ part of an npm tarball to dst.
func extractEmulator(tgz, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	const prefix = "package/emulator/"
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, ok := strings.CutPrefix(hdr.Name, prefix)
		if !ok || rel == "" {
			continue
		}
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("unsafe path %q in tarball", hdr.Name)
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			if err := writeFile(target, tr, mode); err != nil {
				return err
			}
		default:
			// npm tarballs hold only files and directories; ignore anything else.
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	w, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
