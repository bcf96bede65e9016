package localstack

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// outbox lists the mail the local stack would have sent: each message is an
// .eml file in dir, listed newest last at GET /_local/mail.
type outbox struct{ dir string }

type mailEntry struct {
	ID      string    `json:"id"`
	File    string    `json:"file"`
	Size    int64     `json:"size"`
	SavedAt time.Time `json:"savedAt"`
}

func (o *outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entries, err := os.ReadDir(o.dir)
	if err != nil && !os.IsNotExist(err) {
		http.Error(w, `{"message":"outbox unreadable"}`, http.StatusInternalServerError)
		return
	}
	list := []mailEntry{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		list = append(list, mailEntry{ID: strings.TrimSuffix(e.Name(), ".eml"), File: filepath.Join(o.dir, e.Name()), Size: info.Size(), SavedAt: info.ModTime().UTC()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].SavedAt.Before(list[j].SavedAt) })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}
