package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const importUsage = `usage: libaccounts import FILE [--set NAME] [--mode create|upsert] [--allow-staff-roles] [--dry-run] [--no-wait]

Uploads a CSV file (at most 100 MB) and follows the import until it ends.

  --mode create   a username that exists already is skipped (the default)
  --mode upsert   a username that exists already is updated with the file's values
  --set NAME      the file lists existing users (one ID per row) to put in a new set NAME
  --allow-staff-roles
                  rows may grant the admin role (without it such rows are refused)
  --dry-run       check every row and report what would happen; nothing changes
  --no-wait       print the import's ID once the file is uploaded, and return
  --api URL       the session's API (the default)

Progress goes to standard error, the result to standard output. Ctrl-C stops
watching, not the import: follow it again with ` + "`libaccounts jobs watch ID`" + `.
Exit codes: 0 completed; 1 completed_with_errors, failed or cancelled;
2 usage, file, session or connection errors; 130 stopped watching.
`

func (a *app) cmdImport(ctx context.Context, args []string) error {
	fset := newFlagSet("import")
	setName := fset.String("set", "", "build a set of this name from a file of IDs")
	mode := fset.String("mode", "create", "create or upsert")
	dryRun := fset.Bool("dry-run", false, "check the file; change nothing")
	noWait := fset.Bool("no-wait", false, "return once the file is uploaded")
	allowStaff := fset.Bool("allow-staff-roles", false, "let rows grant the admin role")
	apiFlag := fset.String("api", "", "API base URL (must be the session's)")
	pos, err := a.parseFlags(fset, args, importUsage)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return fail("import needs a FILE: libaccounts import FILE [--set NAME] [--mode create|upsert] [--dry-run] [--no-wait]")
	case len(pos) > 1:
		return fail("import takes one FILE (got %d arguments); import files one at a time", len(pos))
	case *mode != "create" && *mode != "upsert":
		return fail("--mode must be create or upsert (got %q)", *mode)
	}
	req := apiwire.StartImportRequest{Kind: apiwire.ImportKindUsers, Mode: *mode, DryRun: *dryRun, AllowStaffRoles: *allowStaff}
	if isSet(fset, "set") {
		if *setName == "" {
			return fail("--set needs the name of the new set, e.g. --set \"Spring password resets\"")
		}
		if isSet(fset, "mode") {
			return fail("--mode goes with user imports; a set import only adds the listed users to the set")
		}
		req.Kind, req.SetName = apiwire.ImportKindSet, *setName
	}
	path := pos[0]
	f, size, err := a.openImportFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := a.signedIn(*apiFlag)
	if err != nil {
		return err
	}
	var started apiwire.StartImportResponse
	if err := c.do(ctx, http.MethodPost, "/v1/admin/imports", req, &started); err != nil {
		return err
	}
	id := started.ImportID
	if id == "" {
		id = started.Import.ID
	}
	if id == "" || started.UploadURL == "" {
		return fail("the API started an import without an ID or an upload URL")
	}
	p := newProgress(a.stderr, a.stderrTTY)
	fmt.Fprintf(a.stderr, "import %s: uploading %s (%s)\n", id, filepath.Base(path), humanBytes(size))
	if err := a.upload(ctx, started.UploadURL, started.UploadHeaders, f, size, p); err != nil {
		return a.abandon(c, id, err)
	}
	if *noWait {
		fmt.Fprintf(a.stderr, "import %s: uploaded; follow it with `libaccounts jobs watch %s`\n", id, id)
		fmt.Fprintln(a.stdout, id)
		return nil
	}
	fmt.Fprintf(a.stderr, "import %s: uploaded; watching it (Ctrl-C stops watching, not the import)\n", id)
	return a.watch(ctx, c, "import", id)
}

func isSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// openImportFile refuses, before anything is sent, a file the server would
// refuse or the upload could not send.
func (a *app) openImportFile(path string) (*os.File, int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, fileError(path, err)
	}
	switch {
	case fi.IsDir():
		return nil, 0, fail("%s is a directory; give the CSV file to import", path)
	case !fi.Mode().IsRegular():
		return nil, 0, fail("%s is not a regular file; save it to a file first (the upload needs its size)", path)
	case fi.Size() == 0:
		return nil, 0, fail("%s is empty", path)
	case fi.Size() > a.maxFileSize:
		return nil, 0, fail("%s is %s (%s bytes), over the %s limit of one import; split it into smaller files", path, humanBytes(fi.Size()), num(int(fi.Size())), humanBytes(a.maxFileSize))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fileError(path, err)
	}
	return f, fi.Size(), nil
}

func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("%s: no such file", path)
	case errors.Is(err, fs.ErrPermission):
		return fail("cannot read %s: permission denied", path)
	}
	return fail("cannot read %s: %v", path, err)
}

// upload streams the file to the pre-signed URL with its length (S3 takes
// no chunked uploads) and the headers the URL was signed for: the content
// type, and If-None-Match: * (so the URL makes one object at most).
func (a *app) upload(ctx context.Context, uploadURL string, headers map[string]string, f *os.File, size int64, p *progress) error {
	body := &countingReader{r: f}
	if p.tty { // redraw the upload's progress while it runs
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					p.draw(renderUpload(body.n.Load(), size))
				}
			}
		}()
		defer func() {
			close(stop)
			<-done
			if body.n.Load() > 0 {
				p.draw(renderUpload(body.n.Load(), size))
			}
			p.finish()
		}()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, body)
	if err != nil {
		return fail("the API gave an upload URL that is not a URL")
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("If-None-Match", "*")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := a.raw.Do(req)
	if err != nil {
		return a.transportError(ctx, "upload failed", "the file storage", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fail("upload refused by the file storage: %s", storageError(resp))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return nil
}

// abandon cancels an import whose file did not arrive, so that it does not
// wait for it until the upload URL expires, and says what happened.
func (a *app) abandon(c *client, id string, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	what := fmt.Sprintf("import %s was cancelled", id)
	if err := c.do(ctx, http.MethodPost, importPath(id, "cancel"), nil, nil); err != nil {
		what = fmt.Sprintf("import %s waits for a file that will not come; cancel it with `libaccounts jobs cancel %s`", id, id)
	}
	code := 2
	var ee *exitError
	if errors.As(cause, &ee) && ee.code == errInterrupted.code {
		code = ee.code
	}
	return &exitError{code: code, msg: fmt.Sprintf("%s; %s", cause, what)}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// humanBytes speaks the server's units: 1 MB = 1,048,576 bytes.
func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return plural(int(n), "byte", "bytes")
	case n < 1<<20:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
