package apiwire_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// TestJobCarriesItsKindsCounts pins the three shapes of a job's "counts"
// (UserImportCounts, SetImportCounts, ResetCounts in the OpenAPI document),
// and that a reader gets back what was written.
func TestJobCarriesItsKindsCounts(t *testing.T) {
	at := time.Date(2026, 5, 1, 14, 2, 0, 0, time.UTC)
	tests := []struct {
		name       string
		in         apiwire.Job
		wantCounts string
	}{
		{name: "users import",
			in:         apiwire.Job{ID: "j1", Kind: apiwire.ImportKindUsers, CreatedAt: at, Counts: apiwire.JobCounts{ImportCounts: apiwire.ImportCounts{Rows: 3, Created: 2, Failed: 1}}},
			wantCounts: `{"rows":3,"created":2,"updated":0,"skipped":0,"failed":1}`},
		{name: "set import",
			in:         apiwire.Job{ID: "j2", Kind: apiwire.ImportKindSet, CreatedAt: at, Counts: apiwire.JobCounts{ImportCounts: apiwire.ImportCounts{Rows: 2, Added: 2}}},
			wantCounts: `{"rows":2,"added":2,"duplicates":0,"notFound":0}`},
		{name: "reset: its five counts, zeros included",
			in: apiwire.Job{ID: "j3", Kind: apiwire.JobKindPasswordReset, Mode: "temporary", Scope: "all", CreatedAt: at,
				Counts: apiwire.JobCounts{Matched: 5, Changed: 3, NoEmail: 1, ImportCounts: apiwire.ImportCounts{Skipped: 1}}, Notices: &apiwire.JobNotices{Sent: 2, Pending: 1}},
			wantCounts: `{"matched":5,"changed":3,"skipped":1,"noEmail":1,"failed":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct{ Counts json.RawMessage }
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			if string(raw.Counts) != tt.wantCounts {
				t.Errorf("counts = %s, want %s", raw.Counts, tt.wantCounts)
			}
			var back apiwire.Job
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.in) {
				t.Errorf("read back %+v, want %+v", back, tt.in)
			}
		})
	}
}
