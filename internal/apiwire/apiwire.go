// Package apiwire holds the JSON bodies of the HTTP API (docs/openapi.yaml)
// that more than one side speaks: the HTTP adapter (internal/apigw) encodes
// and decodes them, the staff command line (cmd/libaccounts) sends and reads
// them. One declaration per body means a renamed or added field cannot reach
// one side and not the other; the API decodes requests with unknown fields
// refused, so a client built on these types never sends one it does not
// know.
//
// The types are plain data: no validation and no domain rules, which stay in
// internal/accounts. Times are UTC as the API writes them.
package apiwire

import (
	"encoding/json"
	"time"
)

// ErrorBody is every refusal of the service: {"error":{...}}. API Gateway's
// own answers (401 without a token, 403 from the authorizer) are
// {"message":...} instead and are not the service's to describe.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, and where when a field is at fault.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// LoginRequest is POST /v1/auth/login.
type LoginRequest struct {
	Tenant   string `json:"tenant"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse carries the session's bearer token: a secret to keep, never
// to print or log.
type LoginResponse struct {
	Token              string    `json:"token"`
	ExpiresAt          time.Time `json:"expiresAt"`
	MustChangePassword bool      `json:"mustChangePassword"`
}

// ChangePasswordRequest is POST /v1/me/password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// Import kinds and the statuses in which an import has ended.
const (
	ImportKindUsers = "users"
	ImportKindSet   = "set"

	ImportCompleted           = "completed"
	ImportCompletedWithErrors = "completed_with_errors"
	ImportFailed              = "failed"
	ImportCancelled           = "cancelled"
)

// StartImportRequest is POST /v1/admin/imports; every field has a default,
// so the body may be left out.
type StartImportRequest struct {
	Kind    string `json:"kind"`
	Mode    string `json:"mode"`
	DryRun  bool   `json:"dryRun"`
	SetName string `json:"setName,omitempty"`
	// AllowStaffRoles lets rows grant the admin role; without it such a
	// row is refused.
	AllowStaffRoles bool `json:"allowStaffRoles,omitempty"`
}

// StartImportResponse carries the upload URL: a short-lived capability to
// write the import's file, shown to nobody and written to no log. The PUT
// must send UploadHeaders exactly (they are signed): Content-Type: text/csv
// and If-None-Match: *, which makes the URL create one object at most.
type StartImportResponse struct {
	ImportID      string            `json:"importId"`
	UploadURL     string            `json:"uploadUrl"`
	UploadHeaders map[string]string `json:"uploadHeaders"`
	ExpiresAt     time.Time         `json:"expiresAt"`
	Import        Import            `json:"import"`
}

// Import is an import as staff see it: what it does, where it is and what
// it did so far. Never the object key, the notice address or a row.
type Import struct {
	ID         string       `json:"id"`
	Kind       string       `json:"kind"`
	Mode       string       `json:"mode"`
	DryRun     bool         `json:"dryRun"`
	SetName    string       `json:"setName,omitempty"`
	SetID      string       `json:"setId,omitempty"`
	Status     string       `json:"status"`
	Format     string       `json:"format,omitempty"`
	Percent    int          `json:"percent"`
	Counts     ImportCounts `json:"counts"`
	CreatedAt  time.Time    `json:"createdAt"`
	StartedAt  *time.Time   `json:"startedAt,omitempty"`
	FinishedAt *time.Time   `json:"finishedAt,omitempty"`
	Error      string       `json:"error,omitempty"`
	StartedBy  *Starter     `json:"startedBy,omitempty"`
}

// ImportCounts holds the counts of both kinds of import: a users import
// counts rows created, updated, skipped and failed; a set import rows
// added, duplicates and not found. On the wire an import carries only its
// kind's counts, every one of them (UserImportCounts or SetImportCounts in
// the OpenAPI document); a reader gets zero for the other kind's.
type ImportCounts struct {
	Rows       int `json:"rows"`
	Created    int `json:"created,omitempty"`
	Updated    int `json:"updated,omitempty"`
	Skipped    int `json:"skipped,omitempty"`
	Failed     int `json:"failed,omitempty"`
	Added      int `json:"added,omitempty"`
	Duplicates int `json:"duplicates,omitempty"`
	NotFound   int `json:"notFound,omitempty"`
}

// userImportCounts and setImportCounts are the two shapes ImportCounts takes
// on the wire: all of a kind's counts, zeros included.
type userImportCounts struct {
	Rows    int `json:"rows"`
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

type setImportCounts struct {
	Rows       int `json:"rows"`
	Added      int `json:"added"`
	Duplicates int `json:"duplicates"`
	NotFound   int `json:"notFound"`
}

// MarshalJSON writes the counts of the import's kind.
func (v Import) MarshalJSON() ([]byte, error) {
	type plain Import // without this method
	var counts any
	c := v.Counts
	if v.Kind == ImportKindSet {
		counts = setImportCounts{Rows: c.Rows, Added: c.Added, Duplicates: c.Duplicates, NotFound: c.NotFound}
	} else {
		counts = userImportCounts{Rows: c.Rows, Created: c.Created, Updated: c.Updated, Skipped: c.Skipped, Failed: c.Failed}
	}
	// The outer Counts is shallower than plain's, so it is the one encoded.
	return json.Marshal(struct {
		plain
		Counts any `json:"counts"`
	}{plain(v), counts})
}

// Starter is who started an import.
type Starter struct {
	ID       string `json:"id"`
	Username string `json:"username,omitempty"`
}

// ImportList is GET /v1/admin/imports: newest first.
type ImportList struct {
	Imports    []Import `json:"imports"`
	NextCursor string   `json:"nextCursor,omitempty"`
}
