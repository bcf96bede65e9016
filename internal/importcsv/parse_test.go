package importcsv_test

import (
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// TestParsingDetails pins the reading rules that are easy to get subtly
// wrong, one small inline file each.
func TestParsingDetails(t *testing.T) {
	cases := []struct {
		name   string
		kind   importcsv.Kind
		data   string
		rows   []R
		errHas string
		line   int
	}{
		{
			name: "a quote inside an unquoted cell is a literal character (a password may hold one)",
			data: "alice,pa\"ss\"\n", rows: []R{{Number: 1, Username: "alice", Password: `pa"ss"`}},
		},
		{
			name: "blanks around a quoted cell are allowed and trimmed away",
			data: "alice,  \"pass, word\"  \n", rows: []R{{Number: 1, Username: "alice", Password: "pass, word"}},
		},
		{
			name: "white space inside quotes is trimmed too: every cell is trimmed, passwords included",
			data: "alice,\"  spaced  \"\n", rows: []R{{Number: 1, Username: "alice", Password: "spaced"}},
		},
		{
			name: "no line end after the last row",
			data: "alice,pw\nbob,pw2", rows: []R{{Number: 1, Username: "alice", Password: "pw"}, {Number: 2, Username: "bob", Password: "pw2"}},
		},
		{
			// A comma typed in an unquoted password splits the row; only the
			// first cell is surely the first column, so a username later in
			// the row is not named, lest a piece of password be.
			name: "a mis-split row names its user only from the first column",
			data: "password,username\nsec,ret,bob\n", rows: []R{{Number: 2, Err: "expected 2 fields, found 3"}},
		},
		{
			name: "a trailing comma makes an extra, empty field: a per-row error",
			data: "alice,pw\nbob,pw,\n", rows: []R{{Number: 1, Username: "alice", Password: "pw"}, {Number: 2, Username: "bob", Err: "expected 2 fields, found 3"}},
		},
		{
			name: "an empty quoted cell is an empty cell",
			data: "alice,\"\"\n", rows: []R{{Number: 1, Username: "alice"}},
		},
		{
			name: "a password that starts with an apostrophe keeps it; a username loses one",
			data: "''bob,'0123\n", rows: []R{{Number: 1, Username: "'bob", Password: "'0123"}},
		},
		{
			name: "apostrophes stripped from barcode and primaryId, not from passwordHash or email",
			data: "username,barcode,primaryId,passwordHash,email\n'u,'007,' 0042,'$argon2id$x,'e@x.org\n",
			rows: []R{{Number: 2, Username: "u", Barcode: "007", PrimaryID: "0042", PasswordHash: "'$argon2id$x", Email: "'e@x.org"}},
		},
		{
			name: "status is matched case-insensitively and stored lower-case",
			data: "username,status\na,INACTIVE\nb,Active\n",
			rows: []R{{Number: 2, Username: "a", Status: "inactive"}, {Number: 3, Username: "b", Status: "active"}},
		},
		{
			name: "header names tolerate case, spaces, underscores and hyphens",
			data: "USER_NAME,Pass-Word,password hash,CANNED_MESSAGE_POOLS\na,b,c,d\n",
			rows: []R{{Number: 2, Username: "a", Password: "b", PasswordHash: "c", CannedMessagePools: []string{"d"}}},
		},
		{
			name: "the header may be quoted",
			data: "\"username\",\"password\"\na,b\n", rows: []R{{Number: 2, Username: "a", Password: "b"}},
		},
		{
			name: "a quoted cell with a blank line inside is still one row",
			data: "a,\"x\n\ny\"\nb,c\n", rows: []R{{Number: 1, Username: "a", Password: "x\n\ny"}, {Number: 2, Username: "b", Password: "c"}},
		},
		{
			name: "Excel's empty rows (just commas) are skipped but still counted",
			data: "a,b\n,\nc,d\n", rows: []R{{Number: 1, Username: "a", Password: "b"}, {Number: 3, Username: "c", Password: "d"}},
		},
		{
			name: "a leading BOM before a LibraryPass row",
			data: "\ufeffa,b\n", rows: []R{{Number: 1, Username: "a", Password: "b"}},
		},
		{
			name: "a BOM anywhere else is data, not a marker (it is valid UTF-8)",
			data: "a,b\n\ufeffc,d\n", rows: []R{{Number: 1, Username: "a", Password: "b"}, {Number: 2, Username: "\ufeffc", Password: "d"}},
		},
		{
			name: "an ID list keeps everything after the apostrophe as a string",
			kind: importcsv.KindSet, data: "Primary ID\n'00123\n00 7\n",
			rows: []R{{Number: 2, ID: "00123"}, {Number: 3, ID: "00 7"}},
		},
		{
			name: "text between a closing quote and the comma is broken quoting",
			data: "a,b\n\"c\" d,e\n", errHas: "broken quoting", line: 2,
		},
		{
			name: "a quote after blanks-and-text is literal, but a quoted cell followed by a quote is broken",
			data: "a,\"b\" \"\n", errHas: "broken quoting", line: 1,
		},
		{
			name: "invalid UTF-8 in a later row names that row",
			data: "a,b\n\nc,\xff\n", errHas: "binary data", line: 3,
		},
		{
			name: "a one-column users file with a semicolon hint, not echoing the row",
			data: "alice;secret\n", errHas: "semicolons", line: 1,
		},
		{
			name: "an empty heading is named by position",
			data: "username,password,,email\n", errHas: `the header row has an unknown column: an empty heading in column 3;`, line: 1,
		},
		{
			name: "an .xlsx workbook uploaded as it is",
			data: "PK\x03\x04\x14\x00\x06\x00", errHas: "Excel workbook", line: 0,
		},
		{
			name: "a set file whose first row is an ID, not a heading, says so",
			kind: importcsv.KindSet, data: "0012345\n", errHas: `first row is "0012345", not that heading`, line: 1,
		},
		{
			name: "the format comes from the first non-blank row; its line is reported",
			kind: importcsv.KindSet, data: "\n\nusername,password\n", errHas: "this file has 2 columns", line: 3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.kind
			if kind == "" {
				kind = importcsv.KindUsers
			}
			sc, rows, err := importAll(t, []byte(tc.data), kind, importcsv.Limits{}, 1)
			sameAsScanFunc(t, []byte(tc.data), kind, importcsv.Limits{}, 1, sc, rows, err)
			if tc.errHas != "" {
				fileError(t, err, tc.line, []string{tc.errHas}, []string{"secret"})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diffRows(t, withoutHas(rows), tc.rows)
		})
	}
}
