package apiwire_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// TestImportCarriesItsKindsCounts pins the two shapes of "counts" the
// OpenAPI document promises, and that a reader gets back what was written.
func TestImportCarriesItsKindsCounts(t *testing.T) {
	at := time.Date(2026, 5, 1, 14, 2, 0, 0, time.UTC)
	tests := []struct {
		name       string
		in         apiwire.Import
		wantCounts string
	}{
		{name: "users import: its five counts, zeros included",
			in:         apiwire.Import{ID: "imp1", Kind: apiwire.ImportKindUsers, Status: apiwire.ImportCompleted, CreatedAt: at, Counts: apiwire.ImportCounts{Rows: 3, Created: 1, Skipped: 1, Failed: 1}},
			wantCounts: `{"rows":3,"created":1,"updated":0,"skipped":1,"failed":1}`},
		{name: "set import: its four counts, named for sets",
			in:         apiwire.Import{ID: "imp2", Kind: apiwire.ImportKindSet, SetName: "Spring", Status: apiwire.ImportCompleted, CreatedAt: at, Counts: apiwire.ImportCounts{Rows: 3, Added: 2, Duplicates: 1}},
			wantCounts: `{"rows":3,"added":2,"duplicates":1,"notFound":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			if got := string(raw["counts"]); got != tt.wantCounts {
				t.Errorf("counts = %s, want %s", got, tt.wantCounts)
			}
			if strings.Count(string(data), `"counts"`) != 1 {
				t.Errorf("counts written more than once: %s", data)
			}
			var back apiwire.Import
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.in) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, tt.in)
			}
			// Inside another body (the start answer) it keeps its shape.
			data, _ = json.Marshal(apiwire.StartImportResponse{ImportID: tt.in.ID, Import: tt.in})
			if !strings.Contains(string(data), `"counts":`+tt.wantCounts) {
				t.Errorf("nested: %s", data)
			}
		})
	}
}

// TestWireNamesAreTheDomains: the kinds and final statuses the command line
// reads are the domain's.
func TestWireNamesAreTheDomains(t *testing.T) {
	for wire, domain := range map[string]string{
		apiwire.ImportKindUsers:           string(accounts.JobUsers),
		apiwire.ImportKindSet:             string(accounts.JobSet),
		apiwire.ImportCompleted:           string(accounts.JobCompleted),
		apiwire.ImportCompletedWithErrors: string(accounts.JobCompletedWithErrors),
		apiwire.ImportFailed:              string(accounts.JobFailed),
		apiwire.ImportCancelled:           string(accounts.JobCancelled),
	} {
		if wire != domain {
			t.Errorf("wire %q, domain %q", wire, domain)
		}
	}
}
