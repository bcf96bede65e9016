package importcsv_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

type R = importcsv.Row

var (
	libraryPassCols = []string{"username", "password"}
	idCols          = []string{"id"}
)

// corpusCases gives every file in testdata/imports its outcome. Each file is
// imported as the workers would, at several chunk sizes, so the expected
// rows also pin down that chunking changes nothing.
var corpusCases = []struct {
	name string
	file string
	kind importcsv.Kind

	// on success
	format   importcsv.Format
	columns  []string
	idHeader string
	rows     []R

	// on failure
	errLine    int
	errHas     []string
	errSecrets []string // cell text the message must not repeat
	tooLarge   bool
}{
	{
		name: "LibraryPass: two columns, no header (the LibraryPass-style mass upload); quotes, doubled quotes and a comma in a password; apostrophe stripped from the username only",
		file: "librarypass.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatLibraryPass, columns: libraryPassCols,
		rows: []R{
			{Number: 1, Username: "sadie.p", Password: "temporary passphrase 1"},
			{Number: 2, Username: "bob", Password: "Tr0ub4dor&3"},
			{Number: 3, Username: "carol", Password: `pass,word "quoted"`},
			{Number: 4, Username: "007", Password: "'0secret"},
		},
	},
	{
		name: "CRLF line ends, with a blank line that still counts as a row",
		file: "librarypass_crlf.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatLibraryPass, columns: libraryPassCols,
		rows: []R{
			{Number: 1, Username: "sadie.p", Password: "temporary passphrase 1"},
			{Number: 2, Username: "bob", Password: "Tr0ub4dor&3"},
			{Number: 4, Username: "carol", Password: "third one"},
		},
	},
	{
		name: "CR line ends (Excel for Mac 'CSV (Macintosh)')",
		file: "librarypass_cr.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatLibraryPass, columns: libraryPassCols,
		rows: []R{
			{Number: 1, Username: "sadie.p", Password: "temporary passphrase 1"},
			{Number: 2, Username: "bob", Password: "Tr0ub4dor&3"},
			{Number: 3, Username: "carol", Password: "third one"},
		},
	},
	{
		name: "LibraryPass rows with 1 or 3 fields and an empty username are per-row errors; the others proceed",
		file: "librarypass_wrong_counts.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatLibraryPass, columns: libraryPassCols,
		rows: []R{
			{Number: 1, Username: "alice", Password: "one"},
			{Number: 2, Username: "bob", Err: "expected 2 fields, found 1"},
			{Number: 3, Username: "carol", Err: "expected 2 fields, found 3"},
			{Number: 4, Username: "dave", Password: "four"},
			{Number: 5, Password: "no name", Err: "the username is empty"},
		},
	},
	{
		name: "Extended with every column in an odd order and spelling; lists split on ; without empty entries; absent vs empty lists",
		file: "extended_all_odd_order.csv", kind: importcsv.KindUsers,
		format:  importcsv.FormatExtended,
		columns: []string{"status", "roles", "passwordHash", "primaryId", "email", "barcode", "username", "cannedMessagePools", "queues", "password"},
		rows: []R{
			{Number: 2, Status: "active", Roles: []string{"admin", "cataloguer"}, PrimaryID: "0012345",
				Email: "sadie@example.org", Barcode: "000123", Username: "sadie.p",
				CannedMessagePools: []string{"pool a", "pool b"}, Queues: []string{"ill", "circ"},
				Password: "temporary passphrase 1"},
			{Number: 3, Status: "inactive", Roles: []string{}, PasswordHash: "$argon2id$v=19$m=65536$c2FsdA$aGFzaA",
				PrimaryID: "0099", Barcode: "B-77", Username: "bob", CannedMessagePools: []string{}, Queues: []string{}},
		},
	},
	{
		name: "Extended subset: leading zeros kept, absent lists nil",
		file: "extended_subset.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatExtended, columns: []string{"username", "email", "primaryId"},
		rows: []R{
			{Number: 2, Username: "sadie.p", Email: "sadie@example.org", PrimaryID: "0012345"},
			{Number: 3, Username: "bob"},
		},
	},
	{
		name: "Extended row problems are per-row: wrong count, empty username, unknown status; an empty status is allowed",
		file: "extended_row_problems.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatExtended, columns: []string{"username", "password", "status"},
		rows: []R{
			{Number: 2, Username: "alice", Password: "pw1", Status: "active"},
			{Number: 3, Username: "bob", Err: "expected 3 fields, found 2"},
			{Number: 4, Password: "pw3", Status: "active", Err: "the username is empty"},
			{Number: 5, Username: "carol", Password: "pw4", Status: "suspended", Err: `status must be "active" or "inactive" (or empty)`},
			{Number: 6, Username: "dave", Password: "pw5"},
		},
	},
	{
		name: "a UTF-8 byte order mark is skipped; username,password in two columns is Extended",
		file: "extended_bom.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatExtended, columns: libraryPassCols,
		rows: []R{{Number: 2, Username: "sadie.p", Password: "temporary passphrase 1"}},
	},
	{
		name: "quoted cells with line breaks are one spreadsheet row each; CRLF inside a cell becomes LF",
		file: "extended_quoted_newlines.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatExtended, columns: []string{"username", "password", "email"},
		rows: []R{
			{Number: 2, Username: "multi\nline", Password: "pw,1", Email: "a@example.org"},
			{Number: 3, Username: "bob", Password: "two\nlines", Email: "b@example.org"},
			{Number: 5, Username: "carol", Password: "pw3", Email: "c@example.org"},
		},
	},
	{
		name: "blank lines and all-empty rows (',' and '  ,  ') are skipped but counted, before the header too",
		file: "extended_blank_rows.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatExtended, columns: libraryPassCols,
		rows: []R{
			{Number: 4, Username: "alice", Password: "pw1"},
			{Number: 7, Username: "bob", Password: "pw2"},
		},
	},
	{
		name: "duplicate usernames pass through: deduplication is the importer's business",
		file: "duplicate_usernames.csv", kind: importcsv.KindUsers,
		format: importcsv.FormatExtended, columns: libraryPassCols,
		rows: []R{
			{Number: 2, Username: "alice", Password: "first"},
			{Number: 3, Username: "alice", Password: "second"},
		},
	},
	{
		name: "Alma 'User name' ID list: leading zeros kept, Excel apostrophe stripped, cells trimmed",
		file: "alma_ids.csv", kind: importcsv.KindSet,
		format: importcsv.FormatIDList, columns: idCols, idHeader: "User name",
		rows: []R{{Number: 2, ID: "0012345"}, {Number: 3, ID: "0000789"}, {Number: 4, ID: "00042"}, {Number: 6, ID: "000999"}},
	},
	{
		name: "Primary ID heading with an underscore",
		file: "primary_ids.csv", kind: importcsv.KindSet,
		format: importcsv.FormatIDList, columns: idCols, idHeader: "primary_id",
		rows: []R{{Number: 2, ID: "0012345"}, {Number: 3, ID: "00042"}},
	},
	{
		name: "ID list row problems are per-row",
		file: "ids_wrong_counts.csv", kind: importcsv.KindSet,
		format: importcsv.FormatIDList, columns: idCols, idHeader: "Primary ID",
		rows: []R{{Number: 2, ID: "0012345"}, {Number: 3, Err: "expected 1 field, found 2"}, {Number: 4, Err: "the ID is empty"}},
	},

	// Kind mismatches.
	{
		name: "a set file (User name) given to a users import is refused, not read as bare usernames",
		file: "alma_ids.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{`"User name"`, "set file"},
	},
	{
		name: "a set file (Primary ID) given to a users import",
		file: "primary_ids.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{"this is a set file (one column headed Primary ID), not a users file"},
	},
	{
		name: "a users file given to a set import",
		file: "librarypass.csv", kind: importcsv.KindSet,
		errLine: 1, errHas: []string{"a set file has one column headed User name or Primary ID; this file has 2 columns"},
		errSecrets: []string{"temporary passphrase"},
	},
	{
		name: "an Extended file given to a set import",
		file: "extended_subset.csv", kind: importcsv.KindSet,
		errLine: 1, errHas: []string{"this file has 3 columns"},
	},

	// Structural problems fail the file.
	{
		name: "an unclosed quote fails the file at the row where it opens, without quoting the cell",
		file: "broken_quote_unclosed.csv", kind: importcsv.KindUsers,
		errLine: 3, errHas: []string{"no closing quote"}, errSecrets: []string{"secret"},
	},
	{
		name: "text after a closing quote",
		file: "broken_quote_text_after.csv", kind: importcsv.KindUsers,
		errLine: 2, errHas: []string{"broken quoting"}, errSecrets: []string{"sec", "ret"},
	},
	{
		name: "binary junk (a PNG)", file: "binary.png", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{"not a text CSV file: binary data"},
	},
	{
		name: "a NUL byte names its line", file: "nul_byte.csv", kind: importcsv.KindUsers,
		errLine: 2, errHas: []string{"not a text CSV file: binary data"}, errSecrets: []string{"p\x00w"},
	},
	{
		name: "Windows-1252 text (Excel's plain CSV) is not UTF-8; the message says how to save it", file: "latin1.csv", kind: importcsv.KindUsers,
		errLine: 3, errHas: []string{"binary data", "CSV UTF-8"},
	},
	{
		name: "UTF-16 LE with BOM (Excel 'Unicode Text')", file: "utf16le.csv", kind: importcsv.KindUsers,
		errHas: []string{"the file is UTF-16 (Excel 'Unicode Text'); save it as 'CSV UTF-8' and upload again"},
	},
	{
		name: "UTF-16 BE with BOM", file: "utf16be.csv", kind: importcsv.KindSet,
		errHas: []string{"the file is UTF-16"},
	},
	{
		name: "UTF-16 LE without a BOM is recognised too", file: "utf16le_nobom.csv", kind: importcsv.KindUsers,
		errHas: []string{"the file is UTF-16"},
	},
	{
		name: "empty file", file: "empty.csv", kind: importcsv.KindUsers,
		errHas: []string{"the file is empty"},
	},
	{
		name: "only blank rows is empty too", file: "blank_only.csv", kind: importcsv.KindSet,
		errHas: []string{"the file is empty"},
	},
	{
		name: "header only", file: "header_only.csv", kind: importcsv.KindUsers,
		errHas: []string{"the file has a header row but no data rows"},
	},
	{
		name: "ID list header only", file: "header_only_ids.csv", kind: importcsv.KindSet,
		errHas: []string{"no data rows"},
	},
	{
		name: "unknown columns are all named", file: "unknown_columns.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{`the header row has unknown columns: "pasword", "branch";`, "column names are username, password"},
	},
	{
		name: "a two-column first row that is half a header: column 2 could be a LibraryPass password, so it is not quoted",
		file: "partial_header_two_columns.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{"column 2 is not (its text is not shown"}, errSecrets: []string{"hunter2"},
	},
	{
		name: "duplicate columns", file: "duplicate_columns.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{"names column username twice (columns 1 and 3)"},
	},
	{
		name: "semicolon-separated (Excel 'CSV' in some countries) gets a hint", file: "semicolons.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{"semicolons", "CSV UTF-8"},
	},
	{
		name: "three columns without a header: refused, and the row (which holds a password) is not quoted",
		file: "no_header_three_columns.csv", kind: importcsv.KindUsers,
		errLine: 1, errHas: []string{"has 3 columns and none is a column name"}, errSecrets: []string{"alice", "pw"},
	},
}

func TestCorpus(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range corpusCases {
		used[tc.file] = true
		t.Run(tc.name, func(t *testing.T) {
			data := readCorpus(t, tc.file)
			var first []R
			// 1 puts every row in its own chunk, 2 splits blank rows from
			// their neighbours, 1000 is a single chunk: all must agree.
			for _, rpc := range []int{1, 2, 1000} {
				sc, rows, err := importAll(t, data, tc.kind, importcsv.DefaultLimits(), rpc)
				sameAsScanFunc(t, data, tc.kind, importcsv.DefaultLimits(), rpc, sc, rows, err)
				if tc.errHas != nil {
					if err == nil {
						t.Fatalf("rowsPerChunk %d: want an error, got %+v", rpc, sc)
					}
					fileError(t, err, tc.errLine, tc.errHas, tc.errSecrets)
					if errors.Is(err, importcsv.ErrTooLarge) != tc.tooLarge {
						t.Errorf("errors.Is(ErrTooLarge) = %v", !tc.tooLarge)
					}
					return
				}
				if err != nil {
					t.Fatalf("rowsPerChunk %d: %v", rpc, err)
				}
				h := sc.Header
				if h.Format != tc.format || !slices.Equal(h.Columns, tc.columns) || h.IDHeader != tc.idHeader {
					t.Fatalf("header = %+v, want %s %v %q", h, tc.format, tc.columns, tc.idHeader)
				}
				if sc.Rows != len(tc.rows) {
					t.Errorf("Scan.Rows = %d, want %d", sc.Rows, len(tc.rows))
				}
				for _, r := range rows {
					if !reflect.DeepEqual(r.Has, hasOf(tc.columns)) {
						t.Fatalf("row %d Has = %v", r.Number, r.Has)
					}
				}
				if first == nil {
					first = rows
					diffRows(t, withoutHas(rows), tc.rows)
				} else if !reflect.DeepEqual(rows, first) {
					t.Errorf("rowsPerChunk %d read differently from the first read", rpc)
				}
			}
		})
	}
	// Every committed sample has an asserted outcome.
	for name := range corpusFiles(t) {
		if !used[name] {
			t.Errorf("testdata/imports/%s has no case in corpusCases", name)
		}
	}
}

func hasOf(cols []string) map[string]bool {
	m := map[string]bool{}
	for _, c := range cols {
		m[c] = true
	}
	return m
}

// TestScanFileFunc: the callback's error stops the scan at once and comes
// back unchanged, so the importer can refuse a file for its own reasons
// (such as too many repeated usernames) with its own FileError.
func TestScanFileFunc(t *testing.T) {
	data := readCorpus(t, "duplicate_usernames.csv")
	stop := &importcsv.FileError{Line: 3, Msg: "too many repeats"}
	calls := 0
	_, err := importcsv.ScanFileFunc(bytes.NewReader(data), importcsv.KindUsers, importcsv.Limits{}, 10, func(r importcsv.Row) error {
		calls++
		if r.Number == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("err = %v after %d calls; want the callback's error after 2", err, calls)
	}
	if _, err := importcsv.ScanFileFunc(bytes.NewReader(data), importcsv.KindUsers, importcsv.Limits{}, 10, nil); err == nil {
		t.Fatal("a nil callback was accepted")
	}
}
