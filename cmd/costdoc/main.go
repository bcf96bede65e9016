// Command costdoc regenerates docs/COST.md from docs/cost/measured.json,
// docs/cost/assumptions.json and docs/cost/prices.json (`make cost-doc`).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/libaccounts/libaccounts/internal/costmodel"
)

func main() {
	root := flag.String("root", ".", "repository root holding docs/cost/")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "costdoc:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	m, a, p, err := costmodel.Load(root)
	if err != nil {
		return err
	}
	out, err := costmodel.Render(m, a, p)
	if err != nil {
		return err
	}
	path := filepath.Join(root, costmodel.DocumentFile)
	// Write beside and rename, so an interrupted run never leaves half a document.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".COST.md.*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Printf("wrote %s (%d bytes)\n", path, len(out))
	return nil
}
