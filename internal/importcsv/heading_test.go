package importcsv_test

import (
	"testing"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// TestAHeadingIsNotImportedAsAUser: a LibraryPass-style file has no header
// row, but people add one. Its words are refused with the reason rather
// than imported as a user "Name" with the password "Pass"; when the next
// row reads as a heading too, the first is as likely data, and the file
// is read as it is.
func TestAHeadingIsNotImportedAsAUser(t *testing.T) {
	cases := []struct {
		name, file string
		errHas     []string // nil: accepted
		errLine    int
		format     importcsv.Format
		rows       int
	}{
		{name: "Name,Pass", file: "Name,Pass\nsadie.p,temporary passphrase 1\n", errLine: 1,
			errHas: []string{`the first row ("Name", "Pass") looks like a heading`, "head the columns username,password"}},
		{name: "login,pin after blank lines", file: "\n\nlogin,pin\nsadie.p,temporary passphrase 1\n", errLine: 3, errHas: []string{`("login", "pin") looks like a heading`}},
		{name: "User Name,PIN code, quoted", file: "\"User Name\",\"PIN code\"\r\nsadie.p,temporary passphrase 1\r\n", errLine: 1, errHas: []string{`("User Name", "PIN code") is a heading`}},
		{name: "Login Name,PIN code", file: "Login Name,PIN code\r\nsadie.p,temporary passphrase 1\r\n", errLine: 1, errHas: []string{`("Login Name", "PIN code") looks like a heading`}},
		{name: "a heading and nothing else", file: "Name,Pass\n", errLine: 1, errHas: []string{"looks like a heading"}},
		{name: "user,password: half canonical", file: "user,password\nsadie.p,temporary passphrase 1\n", errLine: 1,
			errHas: []string{`("user", "password") is a heading in words this import does not know`, "head the columns username,password"}},
		{name: "username,pass: half canonical", file: "username,pass\nsadie.p,temporary passphrase 1\n", errLine: 1, errHas: []string{`("username", "pass") is a heading`}},
		// The canonical names are an Extended header, as before.
		{name: "username,password", file: "username,password\nsadie.p,temporary passphrase 1\n", format: importcsv.FormatExtended, rows: 1},
		// Data that merely starts with a heading word is data.
		{name: "a user called name", file: "name,a perfectly good passphrase\nbob,another good passphrase\n", format: importcsv.FormatLibraryPass, rows: 2},
		{name: "two heading-like rows are data", file: "login,pin\nuser,pass\nsadie.p,temporary passphrase 1\n", format: importcsv.FormatLibraryPass, rows: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, rpc := range []int{1, 1000} {
				sc, rows, err := importAll(t, []byte(tc.file), importcsv.KindUsers, importcsv.DefaultLimits(), rpc)
				sameAsScanFunc(t, []byte(tc.file), importcsv.KindUsers, importcsv.DefaultLimits(), rpc, sc, rows, err)
				if tc.errHas != nil {
					if err == nil {
						t.Fatalf("accepted as %s with %d rows; want it refused", sc.Header.Format, sc.Rows)
					}
					fileError(t, err, tc.errLine, tc.errHas, nil)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if sc.Header.Format != tc.format || len(rows) != tc.rows {
					t.Errorf("read as %s with %d rows, want %s with %d", sc.Header.Format, len(rows), tc.format, tc.rows)
				}
				if tc.format == importcsv.FormatLibraryPass && rows[0].Username != "name" && rows[0].Username != "login" {
					t.Errorf("first row lost: %+v", rows[0])
				}
			}
		})
	}
}
