package apiwire

import "time"

// Letter is the text of one kind of notice, as GET /v1/admin/letters/{kind}
// shows it: the library's own (custom, version ≥ 1) or the shipped default
// (version 0).
type Letter struct {
	Kind         string        `json:"kind"`
	Subject      string        `json:"subject"`
	Body         string        `json:"body"`
	Custom       bool          `json:"custom"`
	Version      int64         `json:"version"`
	UpdatedAt    *time.Time    `json:"updatedAt,omitempty"`
	UpdatedBy    string        `json:"updatedBy,omitempty"`
	Placeholders []Placeholder `json:"placeholders"`
}

// Placeholder is a {{name}} a letter may use.
type Placeholder struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Required    bool   `json:"required,omitempty"`
}

// LetterList is GET /v1/admin/letters: every kind, in a fixed order.
type LetterList struct {
	Letters []Letter `json:"letters"`
}

// LetterUpdate is PUT /v1/admin/letters/{kind}: the whole text. Version is
// the one read (0 for the default); it is required once the library has
// its own letter, and may come in If-Match instead.
type LetterUpdate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Version *int64 `json:"version,omitempty"`
}

// LetterPreviewRequest is POST /v1/admin/letters/{kind}/preview; a field
// left out is taken from the stored letter (or the default).
type LetterPreviewRequest struct {
	Subject *string `json:"subject,omitempty"`
	Body    *string `json:"body,omitempty"`
}

// LetterPreview is a letter rendered with sample data: no real user, link
// or password is in it.
type LetterPreview struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Notice is one notice sent (or to be sent) to a user, as staff track it:
// never its text, link or password.
type Notice struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	Reason    string     `json:"reason,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
}

// NoticeList is GET /v1/admin/users/{id}/notices, newest first.
type NoticeList struct {
	Notices    []Notice `json:"notices"`
	NextCursor string   `json:"nextCursor,omitempty"`
}
