package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// StartImportInput is what staff choose before uploading a file.
type StartImportInput struct {
	Kind    JobKind
	Mode    ImportMode
	DryRun  bool
	SetName string
	// AllowStaffRoles lets the file's rows grant roles that open the staff
	// API (admin); without it such rows are refused.
	AllowStaffRoles bool
}

// StartedImport is a new job and where to upload its file.
type StartedImport struct {
	Job       Job
	UploadURL string
	// UploadHeaders are the headers the upload must send as signed
	// (Content-Type, If-None-Match).
	UploadHeaders map[string]string
	ExpiresAt     time.Time
}

const maxSetName = 100

func (in *StartImportInput) validate() error {
	if in.Kind == "" {
		in.Kind = JobUsers
	}
	if in.Mode == "" {
		in.Mode = ModeCreate
	}
	if in.Kind != JobUsers && in.Kind != JobSet {
		return FieldError("kind", "kind must be users or set")
	}
	if in.Mode != ModeCreate && in.Mode != ModeUpsert {
		return FieldError("mode", "mode must be create or upsert")
	}
	in.SetName = strings.TrimSpace(in.SetName)
	switch {
	case in.Kind == JobSet && in.SetName == "":
		return FieldError("setName", "a set import needs a setName, e.g. \"User Password Reset (spring run)\"")
	case in.Kind == JobUsers && in.SetName != "":
		return FieldError("setName", "setName goes with kind set")
	case utf8.RuneCountInString(in.SetName) > maxSetName || strings.ContainsFunc(in.SetName, isControl):
		return FieldError("setName", "setName must be at most %d characters without control characters", maxSetName)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// StartImport creates a pending job and a short-lived pre-signed URL to
// upload its file to.
func (s *Service) StartImport(ctx context.Context, c Caller, in StartImportInput) (StartedImport, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return StartedImport{}, err
	}
	if err := in.validate(); err != nil {
		return StartedImport{}, err
	}
	if s.blobs == nil || s.cfg.ImportBucket == "" {
		return StartedImport{}, E(CodeUnavailable, "imports are not configured for this deployment")
	}
	me, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return StartedImport{}, fmt.Errorf("start import: %w", err)
	}
	id, err := newUserID(s.rand)
	if err != nil {
		return StartedImport{}, Internal(err)
	}
	secret, err := newUserID(s.rand)
	if err != nil {
		return StartedImport{}, Internal(err)
	}
	now := s.now()
	j := Job{
		TenantID: p.TenantID, ID: id, Kind: in.Kind, Mode: in.Mode, DryRun: in.DryRun, SetName: in.SetName, AllowStaffRoles: in.AllowStaffRoles,
		Status: JobPending, Bucket: s.cfg.ImportBucket, Key: ImportKey(p.TenantID, id, secret),
		StartedBy: p.UserID, StartedByUsername: p.Username, NotifyEmail: me.Email, CreatedAt: now,
	}
	if j.Kind == JobSet {
		j.SetID = j.ID
	}
	if err := s.store.CreateJob(ctx, j); err != nil {
		return StartedImport{}, fmt.Errorf("create job: %w", err)
	}
	up, err := s.blobs.PresignUpload(ctx, j.Bucket, j.Key, s.cfg.UploadURLTTL)
	if err != nil {
		return StartedImport{}, fmt.Errorf("presign upload for job %s: %w", j.ID, err)
	}
	s.log.InfoContext(ctx, "import started", "tenant", j.TenantID, "job", j.ID, "kind", string(j.Kind), "mode", string(j.Mode), "dry_run", j.DryRun,
		"allow_staff_roles", j.AllowStaffRoles, "by", p.UserID)
	return StartedImport{Job: j, UploadURL: up.URL, UploadHeaders: up.Headers, ExpiresAt: now.Add(s.cfg.UploadURLTTL)}, nil
}

// ImportKey is where the file of a job started through the API goes:
// imports/<tenant>/<job id>-<secret>.csv. The job id is no secret (the task
// centre lists it); the secret part is in the upload URL alone, so only a
// PUT through that URL can name the key.
//
// A drop — an object written straight into the bucket — runs only as
// itself: it becomes the job the API started only when its key is that
// job's key exactly, secret included, and only as the first object version
// there (the URL signs If-None-Match: *, and the job adopts one version).
// A drop at imports/<tenant>/<job id>.csv, or with a wrong secret, is a job
// of its own, with its own metadata and no starter unless it names one; a
// second version at a job's key is deleted and changes nothing.
func ImportKey(tenantID, jobID, secret string) string {
	return "imports/" + tenantID + "/" + jobID + "-" + secret + ".csv"
}

// apiJobID is the job id an API import's key names, if it has that shape.
func apiJobID(name string) (string, bool) {
	base, ok := strings.CutSuffix(name, ".csv")
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(base, "-")
	return id, ok && ValidUserID(id) && ValidUserID(secret)
}

// importKeyParts splits imports/<tenant>/<name>; the name may hold slashes.
func importKeyParts(key string) (tenant, name string, ok bool) {
	rest, found := strings.CutPrefix(key, "imports/")
	if !found {
		return "", "", false
	}
	tenant, name, ok = strings.Cut(rest, "/")
	return tenant, name, ok && ValidateTenantID(tenant) == nil && name != ""
}

// jobIDFor derives the job of a file dropped straight into the bucket from
// the bucket, key and ETag, so that a repeated S3 event finds the same job
// and an upload of new content under the same key makes a new one.
func jobIDFor(bucket, key, etag string) string {
	sum := sha256.Sum256([]byte(bucket + "\x00" + key + "\x00" + etag))
	return strings.ToLower(userIDEncoding.EncodeToString(sum[:16]))
}

// Object metadata a direct drop may carry (x-amz-meta-…).
const (
	metaKind            = "kind"
	metaMode            = "mode"
	metaDryRun          = "dry-run"
	metaSetName         = "set-name"
	metaStartedBy       = "started-by"
	metaAllowStaffRoles = "allow-staff-roles"
)

// CreatedObject is what an S3 ObjectCreated event says of one object.
type CreatedObject struct {
	Bucket    string
	Key       string
	VersionID string // "" in a bucket without versioning
	ETag      string
	Size      int64
}

// IngestObject handles one ObjectCreated event for the import bucket: it
// finds or creates the job, reads the file once to validate it, count its
// rows and cut it into chunks, and queues the chunks. It is safe to run
// twice for the same event. An error asks for a retry.
//
// Every object it does not import is deleted (that version, for good): one
// under a malformed or unknown tenant prefix, a second version at a job's
// key (a replayed upload URL, a re-upload of the same file), one arriving
// for a job that has ended. Files hold plaintext passwords.
func (s *Service) IngestObject(ctx context.Context, o CreatedObject) error {
	tenantID, name, ok := importKeyParts(o.Key)
	if !ok {
		if strings.HasPrefix(o.Key, "imports/") {
			s.log.WarnContext(ctx, "object under a malformed tenant prefix deleted", "bucket", o.Bucket)
			return s.blobs.Delete(ctx, o.Bucket, o.Key, o.VersionID)
		}
		s.log.WarnContext(ctx, "object outside imports/<tenant>/ ignored", "bucket", o.Bucket, "key_prefix", keyPrefix(o.Key))
		return nil
	}
	t, err := s.store.GetTenant(ctx, tenantID)
	if IsCode(err, CodeNotFound) {
		s.log.WarnContext(ctx, "import for unknown tenant deleted", "tenant", tenantID)
		return s.blobs.Delete(ctx, o.Bucket, o.Key, o.VersionID)
	}
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	j, err := s.jobForObject(ctx, t, o, name)
	if err != nil {
		return err
	}
	if !j.sameObject(o) {
		return s.discardObject(ctx, j, o, "another file at the key of a job that has one")
	}
	switch j.Status {
	case JobPending, JobValidating:
	case JobCancelled:
		// Cancelled before its file came: the job ends now, and the file
		// goes.
		if _, err := s.finishJob(ctx, j, JobCancelled, ""); err != nil {
			return err
		}
		return s.blobs.Delete(ctx, o.Bucket, o.Key, o.VersionID)
	default:
		if j.Status.Final() {
			// The job ended (and deleted its file); this is the same
			// file again, uploaded anew or announced late.
			return s.discardObject(ctx, j, o, "the file of a job that has ended")
		}
		// A repeated event for a job that is under way.
		s.log.InfoContext(ctx, "duplicate object event ignored", "tenant", j.TenantID, "job", j.ID, "status", string(j.Status))
		return nil
	}
	j.Status, j.ETag, j.VersionID = JobValidating, o.ETag, o.VersionID
	if err := s.store.UpdateJobStatus(ctx, j, JobPending, JobValidating); err != nil {
		if IsCode(err, CodeConflict) {
			// Another delivery moved it on, or another version won the
			// job: this one is deleted unless it is the job's.
			again, gerr := s.store.GetJob(ctx, j.TenantID, j.ID)
			if gerr == nil && !again.sameObject(o) {
				return s.discardObject(ctx, again, o, "another file at the key of a job that has one")
			}
			return nil
		}
		return fmt.Errorf("ingest job %s: %w", j.ID, err)
	}
	lim := importcsv.DefaultLimits()
	if o.Size > lim.MaxBytes {
		return s.refuseFile(ctx, j, fmt.Sprintf("the file is %s, larger than the %s limit; split it into smaller files", humanBytes(o.Size), humanBytes(lim.MaxBytes)))
	}
	body, err := s.blobs.Open(ctx, o.Bucket, o.Key, j.blobVersion(), 0, -1)
	if errors.Is(err, ErrObjectChanged) {
		return s.refuseFile(ctx, j, "the file was replaced or deleted while it was being checked; upload it again as a new import")
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", j.ID, err)
	}
	scan, dups, err := scanWithDuplicates(body, j.Kind, lim, s.cfg.RowsPerChunk)
	body.Close()
	var fe *importcsv.FileError
	if errors.As(err, &fe) {
		return s.refuseFile(ctx, j, fe.Error())
	}
	if err != nil {
		return fmt.Errorf("scan %s: %w", j.ID, err)
	}
	j.Format, j.Columns, j.Rows, j.ChunksTotal, j.DuplicateRows = string(scan.Header.Format), scan.Header.Columns, scan.Rows, len(scan.Chunks), dups
	j.StartedAt = s.now()
	if j.Kind == JobSet {
		set := Set{TenantID: j.TenantID, ID: j.SetID, Name: j.SetName, JobID: j.ID, Status: SetBuilding, CreatedBy: j.StartedBy, CreatedAt: j.StartedAt}
		if err := s.store.CreateSet(ctx, set); err != nil && !IsCode(err, CodeConflict) {
			return fmt.Errorf("create set for %s: %w", j.ID, err)
		}
	}
	// Scan results first, then the chunks, then "running": a retry after a
	// failure anywhere here finds the job still validating and queues the
	// chunks again (workers count each chunk once).
	if err := s.store.UpdateJobStatus(ctx, j, JobValidating); err != nil {
		return fmt.Errorf("record scan of %s: %w", j.ID, err)
	}
	tasks := make([]ChunkTask, len(scan.Chunks))
	for i, c := range scan.Chunks {
		tasks[i] = ChunkTask{TenantID: j.TenantID, JobID: j.ID, Index: i, Start: c.Start, End: c.End, FirstRow: c.FirstRow, Rows: c.Rows}
	}
	if err := s.queue.SendChunks(ctx, tasks); err != nil {
		return fmt.Errorf("queue chunks of %s: %w", j.ID, err)
	}
	j.Status = JobRunning
	if err := s.store.UpdateJobStatus(ctx, j, JobValidating); err != nil && !IsCode(err, CodeConflict) {
		return fmt.Errorf("start %s: %w", j.ID, err)
	}
	s.log.InfoContext(ctx, "import file accepted", "tenant", j.TenantID, "job", j.ID, "format", j.Format, "rows", j.Rows, "chunks", j.ChunksTotal, "duplicates", len(dups))
	return nil
}

// sameObject reports whether o is the object j adopted, or could be the
// first j adopts. Without versioning an identical re-upload cannot be told
// from its first upload by S3's event: same key, same ETag.
func (j Job) sameObject(o CreatedObject) bool {
	switch {
	case j.VersionID != "" || o.VersionID != "":
		return j.VersionID == "" && j.Status == JobPending || j.VersionID == o.VersionID
	default:
		return j.ETag == "" || j.ETag == o.ETag
	}
}

func (j Job) blobVersion() BlobVersion { return BlobVersion{VersionID: j.VersionID, ETag: j.ETag} }

// discardObject deletes an object version the pipeline does not import.
func (s *Service) discardObject(ctx context.Context, j Job, o CreatedObject, why string) error {
	s.log.InfoContext(ctx, "object not imported, deleted", "tenant", j.TenantID, "job", j.ID, "status", string(j.Status), "reason", why)
	if o.VersionID == "" && j.VersionID == "" && !j.Status.Final() {
		// Without versions the object is the job's own file, which it still
		// reads.
		return nil
	}
	return s.blobs.Delete(ctx, o.Bucket, o.Key, o.VersionID)
}

func keyPrefix(key string) string {
	if i := strings.IndexByte(key, '/'); i > 0 {
		return key[:i]
	}
	return ""
}

// jobForObject returns the job an object belongs to: the API-started job
// whose key it is (secret included; see ImportKey), or a job made for a
// direct drop from the object's metadata.
func (s *Service) jobForObject(ctx context.Context, t Tenant, o CreatedObject, name string) (Job, error) {
	if id, ok := apiJobID(name); ok {
		j, err := s.store.GetJob(ctx, t.ID, id)
		if err == nil && j.Key == o.Key {
			return j, nil
		}
		if err != nil && !IsCode(err, CodeNotFound) {
			return Job{}, fmt.Errorf("ingest: %w", err)
		}
	}
	id := jobIDFor(o.Bucket, o.Key, o.ETag)
	j, err := s.store.GetJob(ctx, t.ID, id)
	if err == nil {
		return j, nil
	}
	if !IsCode(err, CodeNotFound) {
		return Job{}, fmt.Errorf("ingest: %w", err)
	}
	info, err := s.blobs.Head(ctx, o.Bucket, o.Key, o.VersionID)
	if err != nil {
		return Job{}, fmt.Errorf("head %s: %w", o.Key, err)
	}
	in := StartImportInput{Kind: JobKind(info.Metadata[metaKind]), Mode: ImportMode(info.Metadata[metaMode]), SetName: info.Metadata[metaSetName]}
	in.DryRun, _ = strconv.ParseBool(info.Metadata[metaDryRun])
	// Whoever may write to the bucket may say so, as the metadata of the
	// object itself: it is the drop's explicit request.
	in.AllowStaffRoles, _ = strconv.ParseBool(info.Metadata[metaAllowStaffRoles])
	j = Job{TenantID: t.ID, ID: id, Bucket: o.Bucket, Key: o.Key, ETag: o.ETag, VersionID: o.VersionID, Status: JobPending, CreatedAt: s.now()}
	if starter := info.Metadata[metaStartedBy]; starter != "" {
		if u, err := s.store.GetUserByUsername(ctx, t.ID, UsernameKey(starter)); err == nil && u.IsAdmin() {
			j.StartedBy, j.StartedByUsername, j.NotifyEmail = u.ID, u.Username, u.Email
		}
	}
	verr := in.validate()
	j.Kind, j.Mode, j.DryRun, j.SetName, j.AllowStaffRoles = in.Kind, in.Mode, in.DryRun, in.SetName, in.AllowStaffRoles
	if j.Kind == JobSet {
		j.SetID = j.ID
	}
	if err := s.store.CreateJob(ctx, j); err != nil && !IsCode(err, CodeConflict) {
		return Job{}, fmt.Errorf("create job for %s: %w", o.Key, err)
	}
	if verr != nil {
		// Metadata we cannot act on fails the job with the reason, rather
		// than importing with a guess.
		j.Status = JobValidating
		if err := s.store.UpdateJobStatus(ctx, j, JobPending); err != nil && !IsCode(err, CodeConflict) {
			return Job{}, err
		}
		return j, s.refuseFile(ctx, j, "object metadata: "+PublicMessage(verr))
	}
	return s.store.GetJob(ctx, t.ID, id)
}

// refuseFile ends a job whose file cannot be imported; nothing of it was.
func (s *Service) refuseFile(ctx context.Context, j Job, reason string) error {
	s.log.InfoContext(ctx, "import file refused", "tenant", j.TenantID, "job", j.ID, "reason", reason)
	_, err := s.finishJob(ctx, j, JobFailed, reason)
	return err
}

// scanWithDuplicates scans the file and finds rows that repeat an earlier
// row's username or ID. It keeps 8 bytes per row, so a 500,000-row file
// costs 4 MB, whatever the usernames.
func scanWithDuplicates(r interface{ Read([]byte) (int, error) }, kind JobKind, lim importcsv.Limits, rowsPerChunk int) (importcsv.Scan, map[int]int, error) {
	seen := map[uint64]int{}
	dups := map[int]int{}
	scan, err := importcsv.ScanFileFunc(r, importcsv.Kind(kind), lim, rowsPerChunk, func(row importcsv.Row) error {
		k := row.Username
		if kind == JobSet {
			k = IdentifierKey(row.ID)
		} else {
			k = UsernameKey(k)
		}
		if k == "" || row.Err != "" {
			return nil
		}
		h := fnv64(k)
		if first, ok := seen[h]; ok {
			dups[row.Number] = first
			if len(dups) > maxDuplicateRows {
				return &importcsv.FileError{Line: row.Number, Msg: fmt.Sprintf("more than %d rows repeat an earlier username or ID; remove the duplicates and upload again", maxDuplicateRows)}
			}
			return nil
		}
		seen[h] = row.Number
		return nil
	})
	return scan, dups, err
}

// maxDuplicateRows bounds the duplicates a job records (they live on the job
// item).
const maxDuplicateRows = 5000

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// humanBytes speaks the importcsv limits' units: 1 MB = 1,048,576 bytes.
func humanBytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// finishJob ends j once: the first caller records the end, deletes the
// uploaded file, completes the set and e-mails the notice.
func (s *Service) finishJob(ctx context.Context, j Job, status JobStatus, reason string) (bool, error) {
	j.Status, j.Error, j.FinishedAt = status, reason, s.now()
	done, err := s.store.FinishJob(ctx, j)
	if err != nil || !done {
		return false, err
	}
	if j.Bucket == "" || s.blobs == nil {
		// A reset job has no file.
	} else if err := s.blobs.Delete(ctx, j.Bucket, j.Key, j.VersionID); err != nil {
		// The bucket's lifecycle rule removes it within days.
		s.log.ErrorContext(ctx, "delete finished import file", "tenant", j.TenantID, "job", j.ID, "error", err.Error())
	}
	if j.Kind == JobSet && status != JobFailed {
		set, err := s.store.GetSet(ctx, j.TenantID, j.SetID)
		if err == nil {
			set.Status, set.Members = SetReady, j.Created
			if j.DryRun {
				set.Status = SetDryRun
			}
			if err := s.store.UpdateSet(ctx, set); err != nil {
				s.log.ErrorContext(ctx, "complete set", "tenant", j.TenantID, "set", j.SetID, "error", err.Error())
			}
		}
	}
	s.log.InfoContext(ctx, "import finished", "tenant", j.TenantID, "job", j.ID, "status", string(status),
		"rows", j.Rows, "created", j.Created, "updated", j.Updated, "skipped", j.Skipped, "failed", j.Failed)
	s.notifyJob(ctx, j)
	return true, nil
}

// notifyJob queues the job's notice to the staff member who started it.
// A job nobody started through the API or with a known username (a bare
// drop into the bucket) tells no one.
func (s *Service) notifyJob(ctx context.Context, j Job) {
	if s.notices == nil || j.StartedBy == "" {
		return
	}
	if _, err := s.notify(ctx, NoticeRequest{TenantID: j.TenantID, UserID: j.StartedBy, Kind: NoticeJobFinished, JobID: j.ID, Params: jobNoticeParams(j)}, nil); err != nil {
		s.log.ErrorContext(ctx, "job notice not queued", "tenant", j.TenantID, "job", j.ID, "error", err.Error())
	}
}

// importCounts is the counts block of an import's or a set's job notice.
func importCounts(j Job) string {
	if j.Kind == JobSet {
		return fmt.Sprintf("Rows in the file:  %d\nAdded to the set:  %d\nDuplicates:        %d\nNot found:         %d", j.Rows, j.Created, j.Skipped, j.Failed)
	}
	return fmt.Sprintf("Rows in the file: %d\nCreated:          %d\nUpdated:          %d\nSkipped:          %d\nFailed:           %d", j.Rows, j.Created, j.Updated, j.Skipped, j.Failed)
}

// jobNoticeParams are the job-finished letter's values: counts and names,
// nothing secret.
func jobNoticeParams(j Job) map[string]string {
	status := strings.ReplaceAll(string(j.Status), "_", " ")
	if j.DryRun {
		status += " (dry run)"
	}
	v := map[string]string{
		"jobId": j.ID, "jobKind": string(j.Kind), "setName": j.SetName, "status": status,
		"rows": strconv.Itoa(j.Rows), "created": strconv.Itoa(j.Created), "updated": strconv.Itoa(j.Updated),
		"skipped": strconv.Itoa(j.Skipped), "failed": strconv.Itoa(j.Failed), "counts": importCounts(j),
	}
	// A file dropped into the bucket keeps its own name; one uploaded
	// through the API is stored under the job's id, which names nothing.
	if name := path.Base(j.Key); !strings.HasPrefix(name, j.ID+"-") && name != "." && name != "/" {
		v["fileName"] = name
	}
	if j.Kind == JobPasswordReset {
		resetNoticeParams(j, v)
		return v
	}
	if j.Status == JobFailed {
		v["reportHint"] = "The file was refused and nothing was imported: " + j.Error
	} else {
		v["reportHint"] = "Its report lists every row with what happened to it; with the staff command line: libaccounts jobs report " + j.ID
	}
	return v
}
