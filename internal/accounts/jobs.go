package accounts

import (
	"context"
	"errors"
	"io"
	"time"
)

// JobKind says what an import builds: users (a LibraryPass-style mass
// upload) or an itemized set of users (the Alma-style "Add Members to Set").
type JobKind string

const (
	JobUsers JobKind = "users"
	JobSet   JobKind = "set"
	// JobPasswordReset resets the passwords of a scope of users (the
	// Soutron-style bulk reset, or an Alma-style "Update/Notify Users" job
	// on a set).
	JobPasswordReset JobKind = "password_reset"
)

// JobKinds lists every kind of job the task centre shows.
func JobKinds() []JobKind { return []JobKind{JobUsers, JobSet, JobPasswordReset} }

// ImportMode says what happens to a username that exists already.
type ImportMode string

const (
	// ModeCreate skips an existing username ("already exists").
	ModeCreate ImportMode = "create"
	// ModeUpsert updates the fields the file gives (the password only when
	// its cell has a value) and creates the rest.
	ModeUpsert ImportMode = "upsert"
)

// JobStatus is where a job is; the last four are final.
type JobStatus string

const (
	JobPending             JobStatus = "pending"    // waiting for the file
	JobValidating          JobStatus = "validating" // the file is being read
	JobRunning             JobStatus = "running"    // chunks are being imported
	JobCompleted           JobStatus = "completed"
	JobCompletedWithErrors JobStatus = "completed_with_errors"
	JobFailed              JobStatus = "failed" // the file was refused; nothing was imported
	JobCancelled           JobStatus = "cancelled"
)

// Final reports whether s is an end state.
func (s JobStatus) Final() bool {
	return s == JobCompleted || s == JobCompletedWithErrors || s == JobFailed || s == JobCancelled
}

// Job is one import: a file, what to do with it, and how far it got.
type Job struct {
	TenantID string
	ID       string
	Kind     JobKind
	Mode     ImportMode
	DryRun   bool
	SetName  string // for set imports
	SetID    string // the set being built
	Status   JobStatus
	Format   string   // as detected: librarypass, extended or idlist
	Columns  []string // the file's columns, canonical names in file order
	// DuplicateRows maps a row that repeats an earlier row's username (or
	// set ID) to that earlier row; found while the file is scanned.
	DuplicateRows map[int]int
	Bucket        string
	Key           string
	ETag          string
	// VersionID is the object version the ingest scanned: every ranged
	// read names it (and ETag as a precondition), so the rows imported are
	// the rows checked, whatever is uploaded to Key later.
	VersionID string
	// AllowStaffRoles lets rows grant a role that opens the staff API;
	// without it such a row is refused. Only the request that starts the
	// job can say so.
	AllowStaffRoles bool
	// StartedBy is the staff member who started the job; the notice goes to
	// NotifyEmail when there is one.
	StartedBy         string
	StartedByUsername string
	NotifyEmail       string
	Error             string // why the file was refused, for failed jobs
	Rows              int
	Created           int // users created, or set members added
	Updated           int
	Skipped           int // existing usernames skipped, or duplicate set members
	Failed            int // rows refused, or IDs not found
	ChunksTotal       int
	ChunksDone        int
	CreatedAt         time.Time
	StartedAt         time.Time
	FinishedAt        time.Time

	// Reset jobs.
	Scope             string // all, all_except, no_role, selected or set
	ResetMode         string // temporary, default or link
	InvalidateCurrent bool
	// DefaultHash is the one argon2id hash of a default-mode job's
	// password, made once when the job starts; the plaintext is never kept.
	// A link job that invalidates current passwords keeps here the hash
	// each user's unusable one is made from.
	DefaultHash string
	// ExceptIDs are the users an all_except job leaves alone.
	ExceptIDs []string
	Matched   int // users the scope read
	Changed   int // users reset (or, in a dry run, who would be)
	NoEmail   int // users not reset because no mail could reach them
	// Notice outcomes of the job's notices, summed from sharded counters.
	NoticesRaised  int
	NoticesSent    int
	NoticesFailed  int
	NoticesPending int
	// Progress: a shard scan task and each batch count as one task;
	// TasksTotal grows as the scans queue batches.
	TasksTotal     int
	TasksDone      int
	ShardsTotal    int
	ShardsDone     int
	LastProgressAt time.Time
	// PercentSeen is the highest progress reported so far.
	PercentSeen int
	// Audit is stored with the job when it is created.
	Audit *AuditEvent
}

// Percent is how much of the file has been processed.
func (j Job) Percent() int {
	switch {
	case j.Status == JobCompleted || j.Status == JobCompletedWithErrors:
		return 100
	case j.Kind == JobPasswordReset:
		return max(j.PercentSeen, j.computedPercent())
	case j.ChunksTotal == 0:
		return 0
	}
	return j.ChunksDone * 100 / j.ChunksTotal
}

// computedPercent is a reset job's progress from its tasks. TasksTotal
// grows while shards are read, so this alone can fall back; Percent holds
// the highest value stored.
func (j Job) computedPercent() int {
	if j.Status.Final() || j.TasksTotal == 0 {
		if j.Status == JobCompleted || j.Status == JobCompletedWithErrors {
			return 100
		}
		return 0
	}
	return min(j.TasksDone*100/j.TasksTotal, 99)
}

// Row outcomes in reports.
const (
	OutcomeCreated   = "created"
	OutcomeUpdated   = "updated"
	OutcomeSkipped   = "skipped"
	OutcomeFailed    = "failed"
	OutcomeAdded     = "added"
	OutcomeDuplicate = "duplicate"
	OutcomeNotFound  = "not_found"
	OutcomeCancelled = "cancelled"
	// A dry run says what would happen.
	OutcomeWouldCreate = "would_create"
	OutcomeWouldUpdate = "would_update"
	OutcomeWouldAdd    = "would_add"
)

// RowOutcome is one line of a job's report: never a password or hash.
type RowOutcome struct {
	Row     int
	Subject string // the username or ID the row names
	Outcome string
	Reason  string
	// UserID and NoticeID are set on a reset job's rows: the notice it
	// raised, whose status and attempts the report shows.
	UserID   string `json:",omitempty"`
	NoticeID string `json:",omitempty"`
}

// ChunkTask is one queue message: a byte range of the uploaded object. It
// carries no cell of the file, so no password ever sits in a queue.
type ChunkTask struct {
	TenantID string `json:"tenant"`
	JobID    string `json:"job"`
	Index    int    `json:"chunk"`
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
	FirstRow int    `json:"firstRow"`
	Rows     int    `json:"rows"`
}

// ChunkResult is what one chunk did; the store adds it to the job once.
type ChunkResult struct {
	Index                             int
	Created, Updated, Skipped, Failed int
	Outcomes                          []RowOutcome
}

// SetStatus is where a set is. A set exists only once its import's file has
// been accepted, so a refused file leaves no set behind.
type SetStatus string

const (
	// SetBuilding: its import is adding members; it cannot be deleted yet.
	SetBuilding SetStatus = "building"
	// SetReady: its import has ended and Members is final. An import
	// cancelled part-way leaves a ready set of the members added before.
	SetReady SetStatus = "ready"
	// SetDryRun: its import was a dry run, so it has no members; Members is
	// how many the file would have added.
	SetDryRun SetStatus = "dry_run"
)

// Set is an itemized set of users that later bulk jobs run on.
type Set struct {
	TenantID  string
	ID        string
	Name      string
	JobID     string
	Status    SetStatus
	Members   int
	CreatedBy string
	CreatedAt time.Time
}

// SetMember is one user of a set.
type SetMember struct {
	UserID    string
	Username  string
	PrimaryID string
	Row       int // the file row that added it
}

// BlobInfo describes an uploaded object.
type BlobInfo struct {
	Size     int64
	ETag     string
	Metadata map[string]string
}

// BlobVersion names one version of an object: by VersionID where the
// bucket keeps versions, and by ETag (a precondition) in any case. Zero
// means the current version, whatever it is.
type BlobVersion struct {
	VersionID string
	ETag      string
}

// ErrObjectChanged is in the chain of a read of a BlobVersion that is no
// longer there: the version was deleted, or the object replaced.
var ErrObjectChanged = errors.New("the file is no longer the one that was checked")

// PresignedUpload is a URL that uploads one object, and the headers the
// upload must send as they were signed.
type PresignedUpload struct {
	URL     string
	Headers map[string]string
}

// Blobs is the bucket staff drop files into.
type Blobs interface {
	// Open reads bytes [start, end) of the version v of an object; end < 0
	// reads to the end.
	Open(ctx context.Context, bucket, key string, v BlobVersion, start, end int64) (io.ReadCloser, error)
	// Head describes the version versionID of an object ("" the current).
	Head(ctx context.Context, bucket, key, versionID string) (BlobInfo, error)
	// Delete removes the version versionID of an object for good, or, with
	// "", the current object; a missing one is fine.
	Delete(ctx context.Context, bucket, key, versionID string) error
	// PresignUpload returns a URL that uploads an object for ttl, only
	// while the key holds none (If-None-Match: *), so one URL makes one
	// object.
	PresignUpload(ctx context.Context, bucket, key string, ttl time.Duration) (PresignedUpload, error)
	// Put stores a small object, such as a report.
	Put(ctx context.Context, bucket, key string, body io.Reader, contentType string) error
	// PresignGet returns a URL that downloads an object for ttl.
	PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error)
}

// ChunkQueue carries chunk tasks to the workers.
type ChunkQueue interface {
	SendChunks(ctx context.Context, tasks []ChunkTask) error
}

// JobStore keeps jobs and their chunk results.
type JobStore interface {
	// CreateJob stores a new job; an existing id is a conflict.
	CreateJob(ctx context.Context, j Job) error
	GetJob(ctx context.Context, tenantID, id string) (Job, error)
	ListJobs(ctx context.Context, tenantID string, limit int, cursor string) ([]Job, string, error)
	// UpdateJobStatus moves a job from one of from to j.Status, storing
	// the scan results and start time j carries. A job in another status
	// is a conflict.
	UpdateJobStatus(ctx context.Context, j Job, from ...JobStatus) error
	// FinishJob stamps j.FinishedAt, j.Status and j.Error on a job that is
	// not finished yet; finished reports whether this call did it, so that
	// the end of a job is acted on once.
	FinishJob(ctx context.Context, j Job) (finished bool, err error)
	// CompleteChunk records a chunk's result and adds its counts to the job
	// once: a chunk already recorded changes nothing and reports first
	// false. It returns the job as it is after the update.
	CompleteChunk(ctx context.Context, tenantID, jobID string, r ChunkResult) (Job, bool, error)
	// ChunkOutcomes returns the recorded outcomes of chunks in order.
	ChunkOutcomes(ctx context.Context, tenantID, jobID string, fn func([]RowOutcome) error) error
}

// SetStore keeps sets and their members, spread over several partitions.
type SetStore interface {
	CreateSet(ctx context.Context, s Set) error
	GetSet(ctx context.Context, tenantID, id string) (Set, error)
	ListSets(ctx context.Context, tenantID string) ([]Set, error)
	UpdateSet(ctx context.Context, s Set) error
	// AddSetMember adds m unless the user is a member already. added is
	// true when this call (or an earlier delivery of the same job row)
	// added it.
	AddSetMember(ctx context.Context, tenantID, setID, jobID string, m SetMember) (added bool, err error)
	ListSetMembers(ctx context.Context, tenantID, setID string, limit int, cursor string) ([]SetMember, string, error)
	// DeleteSet removes the set and every membership.
	DeleteSet(ctx context.Context, tenantID, id string) error
}
