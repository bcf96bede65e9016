package accounts_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// rowWatch stands between the worker and its store and hasher: it fails the
// lookup of one username, or runs a hook after a number of hashes, and
// counts what the worker asked of each.
type rowWatch struct {
	accounts.Store
	accounts.PasswordHasher
	failUsername string // UserIDByUsername of this key fails, as throttling does
	afterHash    int    // run onHash after this many hashes
	onHash       func()

	mu      sync.Mutex
	hashes  int
	lookups int
}

func (w *rowWatch) UserIDByUsername(ctx context.Context, tenantID, usernameKey string) (string, error) {
	w.mu.Lock()
	w.lookups++
	w.mu.Unlock()
	if usernameKey == w.failUsername {
		return "", accounts.E(accounts.CodeUnavailable, "the service is busy; retry shortly")
	}
	return w.Store.UserIDByUsername(ctx, tenantID, usernameKey)
}

func (w *rowWatch) Hash(password string) (string, error) {
	w.mu.Lock()
	w.hashes++
	hook := w.onHash != nil && w.hashes == w.afterHash
	w.mu.Unlock()
	if hook {
		w.onHash()
	}
	return w.PasswordHasher.Hash(password)
}

func (w *rowWatch) counts() (hashes, lookups int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hashes, w.lookups
}

// TestAChunkStopsAtItsFirstStoreErrorOrWhenItsContextEnds: the chunk is
// retried whole, so rows after the failure are work thrown away (each an
// argon2id run), and so is anything done after the invocation's deadline.
// One row at a time makes "after" exact.
func TestAChunkStopsAtItsFirstStoreErrorOrWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		watch  func(cancel context.CancelFunc) *rowWatch
		hashes int // most hashes allowed
		looks  int // most username lookups allowed
	}{
		// Row 1 is hashed, row 2's lookup fails: rows 3-10 are not touched.
		{"store error", func(context.CancelFunc) *rowWatch { return &rowWatch{failUsername: "u02"} }, 1, 2},
		// The deadline passes during row 2's hash: no row after it starts.
		{"context ends", func(cancel context.CancelFunc) *rowWatch { return &rowWatch{afterHash: 2, onHash: cancel} }, 2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newImportEnv(t, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := tc.watch(cancel)
			w.Store, w.PasswordHasher = e.store, hasherFast()
			e.svc = accounts.NewService(accounts.Deps{Store: w, Hasher: w, Clock: e.clock.Now, Mailer: e.box, Notices: e.notices, Blobs: e.blobs, Queue: e.q, Logger: e.logger()},
				accounts.Config{ImportBucket: importBucket, RowsPerChunk: 10, ImportWorkers: 1})
			var file strings.Builder
			for i := 1; i <= 10; i++ {
				fmt.Fprintf(&file, "u%02d,library passphrase number %d\n", i, i)
			}
			j := e.upload(t, accounts.StartImportInput{}, file.String())
			e.ingest(t)
			tasks := e.q.take()
			if len(tasks) != 1 {
				t.Fatalf("%d chunks, want 1", len(tasks))
			}
			if err := e.svc.ImportChunk(ctx, tasks[0]); err == nil {
				t.Fatal("the chunk succeeded; it should ask for a retry")
			}
			if hashes, lookups := w.counts(); hashes > tc.hashes || lookups > tc.looks {
				t.Errorf("after the chunk stopped: %d hashes (want at most %d), %d username lookups (want at most %d)", hashes, tc.hashes, lookups, tc.looks)
			}
			if got := e.job(t, j.ID); got.ChunksDone != 0 || got.Status != accounts.JobRunning {
				t.Errorf("a failed chunk was recorded: %s, %d chunks done", got.Status, got.ChunksDone)
			}
		})
	}
}
