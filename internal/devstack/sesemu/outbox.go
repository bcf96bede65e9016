package sesemu

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// outbox lists the mail the local stack would have sent: each message is an
// .eml file in dir (written by the local SES), listed oldest first at
// GET /_local/mail; GET /_local/mail/{id} returns one message as stored.
type outbox struct{ dir string }

// NewOutbox returns the handler that lists the messages in dir and serves
// each one. Mount it at "GET /_local/mail" and "GET /_local/mail/{id}"; a
// "GET /_local/mail/" subtree mount works too.
func NewOutbox(dir string) http.Handler { return &outbox{dir: dir} }

// outboxTimeLayout starts every stored file's name: fixed width, so names
// sort by time.
const outboxTimeLayout = "20060102T150405.000000000Z"

// outboxID is what a message id may look like: a file name without its .eml,
// never a path.
var outboxID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

type mailEntry struct {
	ID      string     `json:"id"`
	File    string     `json:"file"`
	Size    int64      `json:"size"`
	SavedAt time.Time  `json:"savedAt"`
	From    string     `json:"from"`
	To      string     `json:"to"`
	Subject string     `json:"subject"`
	Tag     string     `json:"tag"`
	Date    *time.Time `json:"date,omitempty"` // the Date header, when it parses
}

// ServeHTTP lists the outbox, or returns one message when the request names
// an id: through a "GET /_local/mail/{id}" pattern, or as the rest of the
// path after /_local/mail/.
func (o *outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		id, _ = strings.CutPrefix(r.URL.Path, "/_local/mail/")
		if id == r.URL.Path {
			id = ""
		}
	}
	if id != "" {
		o.serveMessage(w, r, id)
		return
	}
	list, err := o.list()
	if err != nil {
		writeOutboxError(w, http.StatusInternalServerError, "outbox unreadable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(list)
}

func (o *outbox) serveMessage(w http.ResponseWriter, r *http.Request, id string) {
	if !validOutboxID(id) {
		writeOutboxError(w, http.StatusNotFound, "no such message")
		return
	}
	// os.Root keeps the open inside the outbox even through a symlink.
	root, err := os.OpenRoot(o.dir)
	if err != nil {
		writeOutboxError(w, http.StatusNotFound, "no such message")
		return
	}
	defer root.Close()
	f, err := root.Open(id + ".eml")
	if err != nil {
		writeOutboxError(w, http.StatusNotFound, "no such message")
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeOutboxError(w, http.StatusNotFound, "no such message")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", info.ModTime(), f)
}

func validOutboxID(id string) bool {
	return outboxID.MatchString(id) && !strings.Contains(id, "..")
}

// list reads every message's headers, oldest first.
func (o *outbox) list() ([]mailEntry, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	list := []mailEntry{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".eml")
		if !ok || !e.Type().IsRegular() || !validOutboxID(id) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		m := mailEntry{ID: id, File: filepath.Join(o.dir, e.Name()), Size: info.Size(), SavedAt: info.ModTime().UTC()}
		if stamp, _, ok := strings.Cut(id, "-"); ok {
			if t, err := time.Parse(outboxTimeLayout, stamp); err == nil {
				m.SavedAt = t
			}
		}
		o.readHeaders(&m)
		list = append(list, m)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].SavedAt.Equal(list[j].SavedAt) {
			return list[i].SavedAt.Before(list[j].SavedAt)
		}
		return list[i].ID < list[j].ID
	})
	return list, nil
}

// readHeaders fills in what the message's headers say; a file that does not
// parse keeps just its name, size and time.
func (o *outbox) readHeaders(m *mailEntry) {
	f, err := os.Open(m.File)
	if err != nil {
		return
	}
	defer f.Close()
	msg, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(f, 1<<20)))
	if err != nil {
		return
	}
	dec := new(mime.WordDecoder)
	decode := func(name string) string {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	m.From, m.To, m.Subject = decode("From"), decode("To"), decode("Subject")
	m.Tag = msg.Header.Get("X-Libaccounts-Tag")
	if m.Tag == "" {
		// A message sent without the header: the SES tag the mailer uses.
		for _, t := range strings.Split(msg.Header.Get(hdrSESTags), ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(t), "kind="); ok {
				m.Tag = v
			}
		}
	}
	if d, err := msg.Header.Date(); err == nil {
		d = d.UTC()
		m.Date = &d
	}
}

func writeOutboxError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}
