package apiwire

import (
	"encoding/json"
	"time"
)

// JobKindPasswordReset is a bulk password reset in the task centre, next to
// the two import kinds.
const JobKindPasswordReset = "password_reset"

// PasswordResetRequest is POST /v1/admin/password-resets. DefaultPassword
// is a secret: the API reads it and never sends it back, and the CLI never
// prints it.
type PasswordResetRequest struct {
	Scope             string   `json:"scope"`
	UserIDs           []string `json:"userIds,omitempty"`
	SetID             string   `json:"setId,omitempty"`
	Mode              string   `json:"mode"`
	DefaultPassword   string   `json:"defaultPassword,omitempty"`
	InvalidateCurrent bool     `json:"invalidateCurrent,omitempty"`
	DryRun            bool     `json:"dryRun,omitempty"`
}

// StartPasswordResetResponse is the 202 of a started reset: its job's ID,
// and the job as GET /v1/admin/jobs/{id} shows it.
type StartPasswordResetResponse struct {
	JobID string `json:"jobId"`
	Job   Job    `json:"job"`
}

// Job is a job of any kind as the task centre shows it: what it does, who
// started it, where it is and what it did so far. Mode is the kind's mode
// (create|upsert for a users import, temporary|default|link for a reset).
// Never a password, a hash, an object key or a row.
type Job struct {
	ID                string      `json:"id"`
	Kind              string      `json:"kind"`
	Status            string      `json:"status"`
	Percent           int         `json:"percent"`
	Mode              string      `json:"mode,omitempty"`
	DryRun            bool        `json:"dryRun"`
	Scope             string      `json:"scope,omitempty"`
	InvalidateCurrent bool        `json:"invalidateCurrent,omitempty"`
	SetName           string      `json:"setName,omitempty"`
	SetID             string      `json:"setId,omitempty"`
	Format            string      `json:"format,omitempty"`
	Counts            JobCounts   `json:"counts"`
	Notices           *JobNotices `json:"notices,omitempty"`
	CreatedAt         time.Time   `json:"createdAt"`
	StartedAt         *time.Time  `json:"startedAt,omitempty"`
	FinishedAt        *time.Time  `json:"finishedAt,omitempty"`
	Error             string      `json:"error,omitempty"`
	StartedBy         *Starter    `json:"startedBy,omitempty"`
}

// JobCounts holds the counts of every kind (see ImportCounts); on the wire
// a job carries its kind's, zeros included, and a reader gets zero for the
// others. A reset counts users matched by the scope, changed, skipped (the
// scope left them out, or they started the job), not changed for want of
// an e-mail address, and failed.
type JobCounts struct {
	ImportCounts
	Matched int `json:"matched,omitempty"`
	Changed int `json:"changed,omitempty"`
	NoEmail int `json:"noEmail,omitempty"`
}

// JobNotices counts a job's e-mails by where they are.
type JobNotices struct {
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Pending int `json:"pending"`
}

type resetCounts struct {
	Matched int `json:"matched"`
	Changed int `json:"changed"`
	Skipped int `json:"skipped"`
	NoEmail int `json:"noEmail"`
	Failed  int `json:"failed"`
}

// MarshalJSON writes the counts of the job's kind.
func (v Job) MarshalJSON() ([]byte, error) {
	type plain Job // without this method
	var counts any
	c := v.Counts
	switch v.Kind {
	case JobKindPasswordReset:
		counts = resetCounts{Matched: c.Matched, Changed: c.Changed, Skipped: c.Skipped, NoEmail: c.NoEmail, Failed: c.Failed}
	case ImportKindSet:
		counts = setImportCounts{Rows: c.Rows, Added: c.Added, Duplicates: c.Duplicates, NotFound: c.NotFound}
	default:
		counts = userImportCounts{Rows: c.Rows, Created: c.Created, Updated: c.Updated, Skipped: c.Skipped, Failed: c.Failed}
	}
	return json.Marshal(struct {
		plain
		Counts any `json:"counts"`
	}{plain(v), counts})
}

// JobList is GET /v1/admin/jobs: newest first.
type JobList struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"nextCursor,omitempty"`
}
