package accounts

import (
	"context"
	"embed"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Letter is the text of one kind of notice: the library's own, or the
// shipped default until the library writes one. Subject and Body hold
// {{name}} placeholders, filled in when the notice is sent.
type Letter struct {
	TenantID  string
	Kind      NoticeKind
	Subject   string
	Body      string
	UpdatedAt time.Time
	UpdatedBy string // the username of the staff member who wrote it
	// Version counts the library's edits; 0 is the shipped default.
	Version int64
}

// Custom reports whether l is the library's own text.
func (l Letter) Custom() bool { return l.Version > 0 }

// RenderedLetter is a letter with its placeholders filled in.
type RenderedLetter struct {
	Subject string
	Body    string
}

// LetterStore keeps each library's own letters; a kind it has no letter
// for uses the shipped default, which is not stored.
type LetterStore interface {
	// GetLetter reads the tenant's letter for kind; not_found when the
	// tenant uses the default.
	GetLetter(ctx context.Context, tenantID string, kind NoticeKind) (Letter, error)
	// ListLetters returns every letter the tenant has written, in no order.
	ListLetters(ctx context.Context, tenantID string) ([]Letter, error)
	// PutLetter stores l if the stored letter is still at l.Version-1 (if
	// there is none, when l.Version is 1); otherwise it is a conflict on
	// "version".
	PutLetter(ctx context.Context, l Letter, audit *AuditEvent) error
}

// ActionLetterUpdate is the audit action of a staff edit of a letter; the
// event's detail names the kind.
const ActionLetterUpdate = "letter.update"

// Limits of a letter. A subject is one header line that mail clients cut
// long before 200 characters; 20,000 characters is pages of plain text.
const (
	maxLetterSubject = 200
	maxLetterBody    = 20000
)

// Placeholder is a name a letter may use, and what it stands for.
type Placeholder struct {
	Name        string
	Description string
	// Required placeholders carry what the notice exists to deliver: a
	// letter without them would tell the user nothing they can use.
	Required bool
}

var (
	commonPlaceholders = []Placeholder{
		{Name: "username", Description: "the recipient's username"},
		{Name: "libraryName", Description: "the library's name"},
		{Name: "libraryCode", Description: "the library code the sign-in form asks for"},
		{Name: "signInUrl", Description: "the address where users sign in"},
	}
	kindPlaceholders = map[NoticeKind][]Placeholder{
		NoticeResetLink: {
			{Name: "link", Description: "the single-use link to set a new password", Required: true},
			{Name: "linkLifetime", Description: "how long the link works, e.g. 24 hours"},
			{Name: "linkExpiresAt", Description: "when the link stops working, in UTC"},
		},
		NoticeTemporaryPassword: {
			{Name: "temporaryPassword", Description: "the generated temporary password", Required: true},
		},
		NoticePasswordChanged: {},
		NoticePasswordRecovery: {
			{Name: "accounts", Description: "each account at the address: its username, then its own single-use link, or that it is not active", Required: true},
			{Name: "linkLifetime", Description: "how long the links work, e.g. 1 hour"},
			{Name: "linkExpiresAt", Description: "when the links stop working, in UTC"},
		},
		NoticeUsernameReminder: {
			{Name: "accounts", Description: "each account at the address: its username and the last digits of its barcode", Required: true},
		},
		NoticeLinkCreated:        linkPlaceholders,
		NoticeLinkConfirmRequest: linkPlaceholders,
		NoticeLinkRemoved:        linkPlaceholders,
		NoticeJobFinished: {
			{Name: "jobTitle", Description: `what the job was about, e.g. import of "patrons.csv" or set "Fall term"`},
			{Name: "jobId", Description: "the job's id"},
			{Name: "jobKind", Description: "users (an upload of accounts) or set (a set of users)"},
			{Name: "fileName", Description: "the name of the uploaded file"},
			{Name: "setName", Description: "the name of the set, for set jobs"},
			{Name: "status", Description: "how the job ended: completed, completed with errors, failed or cancelled"},
			{Name: "rows", Description: "rows in the file"},
			{Name: "created", Description: "users created, or members added to the set"},
			{Name: "updated", Description: "users updated"},
			{Name: "skipped", Description: "rows skipped (existing usernames, or duplicate set members)"},
			{Name: "failed", Description: "rows refused, or IDs not found"},
			{Name: "counts", Description: "the job's counts, one per line, worded for its kind (rows of a file, members of a set, users of a reset)"},
			{Name: "noEmail", Description: "for password resets: users not reset because they have no working e-mail address"},
			{Name: "reportHint", Description: "how to get the job's report, or why the file was refused"},
		},
	}
)

// LetterPlaceholders lists what a letter of kind may use.
func LetterPlaceholders(kind NoticeKind) []Placeholder {
	return append(slices.Clone(commonPlaceholders), kindPlaceholders[kind]...)
}

// secretPlaceholders never go in a subject: subjects show in inbox lists,
// lock-screen notifications and mail logs.
// {{accounts}} holds recovery links.
var secretPlaceholders = []string{"link", "temporaryPassword", "accounts"}

// ParseNoticeKind reads a kind as staff name it; any other name is not
// found, with the kinds there are.
func ParseNoticeKind(s string) (NoticeKind, error) {
	for _, k := range NoticeKinds() {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, 0, len(NoticeKinds()))
	for _, k := range NoticeKinds() {
		names = append(names, string(k))
	}
	return "", E(CodeNotFound, "no letter kind %q; the kinds are: %s", Truncate(s, 40), strings.Join(names, ", "))
}

//go:embed letters/*.txt
var letterFiles embed.FS

// DefaultLetter is the text a library gets until it writes its own.
func DefaultLetter(kind NoticeKind) (Letter, error) {
	raw, err := letterFiles.ReadFile("letters/" + string(kind) + ".txt")
	if err != nil {
		return Letter{}, fmt.Errorf("default letter %s: %w", kind, err)
	}
	subject, body, ok := strings.Cut(string(raw), "\n\n")
	if !ok || !strings.HasPrefix(subject, "Subject: ") {
		return Letter{}, fmt.Errorf("default letter %s: want \"Subject: …\", a blank line, then the body", kind)
	}
	return Letter{Kind: kind, Subject: strings.TrimPrefix(subject, "Subject: "), Body: body}, nil
}

// letterSegment is literal text, or a placeholder when name is set.
type letterSegment struct {
	text string
	name string
}

var placeholderName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// parseLetterText splits text at its {{name}} placeholders. A "{{" that is
// not closed, or holds something other than a name, is refused with the
// line it is on, so that a typo is not mailed to every patron.
func parseLetterText(field, text string) ([]letterSegment, error) {
	var segs []letterSegment
	rest := text
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				segs = append(segs, letterSegment{text: rest})
			}
			return segs, nil
		}
		if i > 0 {
			segs = append(segs, letterSegment{text: rest[:i]})
		}
		line := strings.Count(text[:len(text)-len(rest)+i], "\n") + 1
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, FieldError(field, "the %s has a {{ that is not closed by }} (line %d)", field, line)
		}
		inner := strings.TrimSpace(rest[i+2 : i+j])
		if !placeholderName.MatchString(inner) {
			return nil, FieldError(field, "the %s has a malformed placeholder %q (line %d): placeholders are {{name}}", field, Truncate(rest[i:i+j+2], 40), line)
		}
		segs = append(segs, letterSegment{name: inner})
		rest = rest[i+j+2:]
	}
}

// checkLetter validates a letter's text for kind and returns it normalised
// (subject trimmed, line breaks as \n).
func checkLetter(kind NoticeKind, subject, body string) (string, string, error) {
	subject = strings.TrimSpace(subject)
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	switch {
	case subject == "":
		return "", "", FieldError("subject", "subject is required")
	case strings.ContainsAny(subject, "\r\n"):
		return "", "", FieldError("subject", "the subject must be one line")
	case utf8.RuneCountInString(subject) > maxLetterSubject:
		return "", "", FieldError("subject", "the subject must be at most %d characters (it has %d)", maxLetterSubject, utf8.RuneCountInString(subject))
	case !utf8.ValidString(subject) || strings.IndexFunc(subject, unicode.IsControl) >= 0:
		return "", "", FieldError("subject", "the subject must be text without control characters")
	case strings.TrimSpace(body) == "":
		return "", "", FieldError("body", "body is required")
	case utf8.RuneCountInString(body) > maxLetterBody:
		return "", "", FieldError("body", "the body must be at most %d characters (it has %d)", maxLetterBody, utf8.RuneCountInString(body))
	case !utf8.ValidString(body) || strings.IndexFunc(body, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		return "", "", FieldError("body", "the body must be plain text: no control characters but line breaks and tabs")
	}
	allowed := LetterPlaceholders(kind)
	known := func(name string) bool {
		return slices.ContainsFunc(allowed, func(p Placeholder) bool { return p.Name == name })
	}
	used := map[string]bool{}
	for _, f := range []struct{ field, text string }{{"subject", subject}, {"body", body}} {
		segs, err := parseLetterText(f.field, f.text)
		if err != nil {
			return "", "", err
		}
		var unknown []string
		for _, sg := range segs {
			switch {
			case sg.name == "":
			case !known(sg.name):
				if !slices.Contains(unknown, "{{"+sg.name+"}}") {
					unknown = append(unknown, "{{"+sg.name+"}}")
				}
			case f.field == "subject" && slices.Contains(secretPlaceholders, sg.name):
				return "", "", FieldError("subject", "{{%s}} may not be in the subject, which inbox lists and notifications show: put it in the body", sg.name)
			default:
				used[sg.name] = true
			}
		}
		if len(unknown) > 0 {
			names := make([]string, len(allowed))
			for i, p := range allowed {
				names[i] = "{{" + p.Name + "}}"
			}
			word := "placeholder"
			if len(unknown) > 1 {
				word += "s"
			}
			return "", "", FieldError(f.field, "unknown %s in the %s: %s; a %s letter may use %s", word, f.field, strings.Join(unknown, ", "), kind, strings.Join(names, ", "))
		}
	}
	for _, p := range allowed {
		if p.Required && !used[p.Name] {
			return "", "", FieldError("body", "a %s letter must give {{%s}} in its body: it is what the notice delivers", kind, p.Name)
		}
	}
	return subject, body, nil
}

// fillPlaceholders fills the placeholders of a checked text. A placeholder without a
// value becomes empty; in a subject, line breaks of values become spaces so
// that no value can add a header.
func fillPlaceholders(text string, values map[string]string, oneLine bool) string {
	segs, _ := parseLetterText("", text)
	var b strings.Builder
	for _, sg := range segs {
		if sg.name == "" {
			b.WriteString(sg.text)
			continue
		}
		v := values[sg.name]
		if oneLine {
			v = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(v)
	}
	return b.String()
}

// letter is the tenant's letter for kind, or the default.
func (s *Service) letter(ctx context.Context, tenantID string, kind NoticeKind) (Letter, error) {
	l, err := s.store.GetLetter(ctx, tenantID, kind)
	if IsCode(err, CodeNotFound) {
		l, err = DefaultLetter(kind)
		l.TenantID = tenantID
		if err != nil {
			return Letter{}, Internal(err)
		}
		return l, nil
	}
	if err != nil {
		return Letter{}, fmt.Errorf("letter %s: %w", kind, err)
	}
	return l, nil
}

// signInURL is where notices tell patrons to sign in.
func (s *Service) signInURL() string {
	if s.cfg.SignInURL != "" {
		return s.cfg.SignInURL
	}
	u, err := url.Parse(s.cfg.ResetPageURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/"
}

// letterValues are the values every notice of t has, overlaid with data.
func (s *Service) letterValues(t Tenant, kind NoticeKind, data map[string]string) map[string]string {
	v := map[string]string{
		"libraryName": t.Sender(), "libraryCode": t.ID, "signInUrl": s.signInURL(),
	}
	if kind == NoticeResetLink {
		v["linkLifetime"] = LifetimeText(time.Duration(t.Settings.ResetLinkTTL))
	}
	if kind == NoticePasswordRecovery {
		v["linkLifetime"] = LifetimeText(time.Duration(t.Settings.RecoveryLinkTTL))
	}
	for k, x := range data {
		if x != "" {
			v[k] = x
		}
	}
	if kind == NoticeJobFinished && v["jobTitle"] == "" {
		v["jobTitle"] = jobTitleOf(v["jobKind"], v["fileName"], v["setName"])
	}
	return v
}

// jobTitleOf names what a job was about, by its set or its file.
func jobTitleOf(kind, fileName, setName string) string {
	switch {
	case setName != "" && fileName != "":
		return fmt.Sprintf("set %q from %q", setName, fileName)
	case setName != "":
		return fmt.Sprintf("set %q", setName)
	case fileName != "":
		return fmt.Sprintf("import of %q", fileName)
	case kind == string(JobSet):
		return "set import"
	}
	return "import"
}

// LifetimeText says a duration as a letter does: "24 hours", "1 hour 30
// minutes", "7 days".
func LifetimeText(d time.Duration) string {
	d = d.Round(time.Minute)
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d < time.Hour:
		return unit(int64(d/time.Minute), "minute")
	}
	return unit(int64(d/time.Hour), "hour") + " " + unit(int64(d%time.Hour/time.Minute), "minute")
}

// LetterTime is how letters write a time: "2025-03-01 14:30 UTC".
func LetterTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }

// renderNotice writes the notice of kind for t: the tenant's letter, or the
// default, with placeholders filled from data over t's own values. The
// sender calls it at send time, when a link or password exists; a letter
// that cannot deliver it is a bug, not a mail.
func (s *Service) renderNotice(ctx context.Context, t Tenant, kind NoticeKind, data map[string]string) (subject, body string, err error) {
	l, err := s.letter(ctx, t.ID, kind)
	if err != nil {
		return "", "", err
	}
	if _, _, err := checkLetter(kind, l.Subject, l.Body); err != nil {
		// A letter stored under older rules: the notice still goes out,
		// in the default's words.
		s.log.ErrorContext(ctx, "stored letter no longer valid; using the default", "tenant", t.ID, "kind", string(kind), "error", err.Error())
		if l, err = DefaultLetter(kind); err != nil {
			return "", "", Internal(err)
		}
	}
	values := s.letterValues(t, kind, data)
	for _, p := range LetterPlaceholders(kind) {
		if p.Required && values[p.Name] == "" {
			return "", "", Internal(fmt.Errorf("render %s notice: no value for {{%s}}", kind, p.Name))
		}
	}
	return fillPlaceholders(l.Subject, values, true), fillPlaceholders(l.Body, values, false), nil
}

// ListLetters returns the letter of every kind for the caller's library:
// its own where it wrote one, else the default.
func (s *Service) ListLetters(ctx context.Context, c Caller) ([]Letter, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return nil, err
	}
	own, err := s.store.ListLetters(ctx, p.TenantID)
	if err != nil {
		return nil, fmt.Errorf("list letters: %w", err)
	}
	out := make([]Letter, 0, len(NoticeKinds()))
	for _, k := range NoticeKinds() {
		if i := slices.IndexFunc(own, func(l Letter) bool { return l.Kind == k }); i >= 0 {
			out = append(out, own[i])
			continue
		}
		l, err := DefaultLetter(k)
		if err != nil {
			return nil, Internal(err)
		}
		l.TenantID = p.TenantID
		out = append(out, l)
	}
	return out, nil
}

// GetLetter returns the caller's library's letter of kind.
func (s *Service) GetLetter(ctx context.Context, c Caller, kind string) (Letter, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Letter{}, err
	}
	k, err := ParseNoticeKind(kind)
	if err != nil {
		return Letter{}, err
	}
	return s.letter(ctx, p.TenantID, k)
}

// UpdateLetter replaces the caller's library's letter of kind. version is
// the one the caller read (nil: not given; 0: the default). Once a library
// has its own letter the version is required, so that two staff editing at
// once do not silently lose one text.
func (s *Service) UpdateLetter(ctx context.Context, c Caller, kind string, version *int64, subject, body string) (Letter, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return Letter{}, err
	}
	k, err := ParseNoticeKind(kind)
	if err != nil {
		return Letter{}, err
	}
	if version != nil && *version < 0 {
		return Letter{}, FieldError("version", "version must be the version you read (0 for the default)")
	}
	if subject, body, err = checkLetter(k, subject, body); err != nil {
		return Letter{}, err
	}
	prev, err := s.letter(ctx, p.TenantID, k)
	if err != nil {
		return Letter{}, err
	}
	switch {
	case version == nil && prev.Custom():
		return Letter{}, &Error{Code: CodePreconditionRequired, Field: "version", Message: fmt.Sprintf("the library has its own %s letter (version %d): send the version you read, so that concurrent edits are not lost", k, prev.Version)}
	case version != nil && *version != prev.Version && !prev.Custom():
		return Letter{}, &Error{Code: CodeConflict, Field: "version", Message: fmt.Sprintf("the %s letter is the default now (version 0); reload and retry", k)}
	case version != nil && *version != prev.Version:
		return Letter{}, &Error{Code: CodeConflict, Field: "version", Message: fmt.Sprintf("the %s letter was changed meanwhile (now version %d); reload and retry", k, prev.Version)}
	}
	var fields []string
	if subject != prev.Subject {
		fields = append(fields, "subject")
	}
	if body != prev.Body {
		fields = append(fields, "body")
	}
	if len(fields) == 0 && prev.Custom() {
		return prev, nil
	}
	next := Letter{TenantID: p.TenantID, Kind: k, Subject: subject, Body: body, UpdatedAt: s.now(), UpdatedBy: p.Username, Version: prev.Version + 1}
	ev := s.audit(ctx, p, ActionLetterUpdate, User{}, fields...)
	ev.Detail = string(k)
	if err := s.store.PutLetter(ctx, next, ev); err != nil {
		return Letter{}, s.storeErr("update letter", string(k), err)
	}
	s.log.InfoContext(ctx, "letter updated", "tenant", p.TenantID, "kind", string(k), "by", p.UserID, "version", next.Version)
	return next, nil
}

// PreviewLetter renders a letter of kind with sample data: the given
// subject and body, or the stored ones where nil. No user is read or
// written and no link or password is made; the samples say they are
// samples.
func (s *Service) PreviewLetter(ctx context.Context, c Caller, kind string, subject, body *string) (RenderedLetter, error) {
	p, err := s.principal(ctx, c, accessAdmin)
	if err != nil {
		return RenderedLetter{}, err
	}
	k, err := ParseNoticeKind(kind)
	if err != nil {
		return RenderedLetter{}, err
	}
	t, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return RenderedLetter{}, fmt.Errorf("preview letter: %w", err)
	}
	l, err := s.letter(ctx, p.TenantID, k)
	if err != nil {
		return RenderedLetter{}, err
	}
	if subject != nil {
		l.Subject = *subject
	}
	if body != nil {
		l.Body = *body
	}
	subj, text, err := checkLetter(k, l.Subject, l.Body)
	if err != nil {
		return RenderedLetter{}, err
	}
	values := s.letterValues(t, k, s.sampleValues(t, k))
	return RenderedLetter{Subject: fillPlaceholders(subj, values, true), Body: fillPlaceholders(text, values, false)}, nil
}

// sampleValues stand in for a real user, link, password and job.
func (s *Service) sampleValues(t Tenant, kind NoticeKind) map[string]string {
	v := map[string]string{"username": "sample.patron"}
	switch kind {
	case NoticeResetLink:
		page := s.cfg.ResetPageURL
		if page == "" {
			page = "https://library.example/reset"
		}
		v["link"] = page + "#token=example"
		v["linkExpiresAt"] = LetterTime(s.now().Add(time.Duration(t.Settings.ResetLinkTTL)))
	case NoticeTemporaryPassword:
		v["temporaryPassword"] = "SAMPLE-not-a-real-password"
	case NoticePasswordRecovery, NoticeUsernameReminder:
		for k, x := range s.sampleRecoveryValues(t, kind) {
			v[k] = x
		}
	case NoticeLinkCreated, NoticeLinkConfirmRequest, NoticeLinkRemoved:
		v["otherAccount"] = "sample.child"
		v["summary"] = "sample.child connected to your account with your one-way share phrase. You can manage sample.child's checkouts and holds; sample.child cannot see your account."
	case NoticeJobFinished:
		v["username"] = "sample.staff"
		for k, x := range map[string]string{
			"jobId": "example-job-id", "jobKind": string(JobUsers), "fileName": "patrons-sample.csv",
			"status": "completed with errors", "rows": "120", "created": "112", "updated": "5", "skipped": "1", "failed": "2", "noEmail": "0",
			"counts":     importCounts(Job{Kind: JobUsers, Rows: 120, Created: 112, Updated: 5, Skipped: 1, Failed: 2}),
			"reportHint": "Its report lists every row with what happened to it; with the staff command line: libaccounts jobs report example-job-id",
		} {
			v[k] = x
		}
	}
	return v
}
