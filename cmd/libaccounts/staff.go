package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Helpers of the staff commands that list and show things.

// staffFlags is a subcommand's flag set with --api, parsed; want is how
// many arguments it takes and what they are called, for its messages.
func (a *app) staffFlags(name, usage string, args []string, want []string, setup func(fs *flag.FlagSet)) (*flag.FlagSet, []string, *client, error) {
	fs := newFlagSet(name)
	apiFlag := fs.String("api", "", "API base URL (must be the session's)")
	if setup != nil {
		setup(fs)
	}
	pos, err := a.parseFlags(fs, args, usage)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(pos) != len(want) {
		if len(want) == 0 {
			return nil, nil, nil, fail("%s takes no arguments (got %q); see `libaccounts %s --help`", name, pos[0], name)
		}
		return nil, nil, nil, fail("%s needs %s; see `libaccounts %s --help`", name, strings.Join(want, " and "), name)
	}
	c, err := a.signedIn(*apiFlag)
	return fs, pos, c, err
}

// moreHint is the command that shows the next page: the same flags, and
// the cursor.
func moreHint(command string, fs *flag.FlagSet, cursor string) string {
	var parts []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "cursor" || f.Name == "api" {
			return
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if f.Value.String() == "true" {
				parts = append(parts, "--"+f.Name)
				return
			}
			parts = append(parts, "--"+f.Name+"=false")
			return
		}
		parts = append(parts, "--"+f.Name, shellQuote(f.Value.String()))
	})
	return "more: libaccounts " + command + " " + strings.Join(append(parts, "--cursor", shellQuote(cursor)), " ")
}

// table writes aligned columns; an empty cell is shown as "-".
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row(headers...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		cells[i] = oneLine(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields writes "name  value" lines, aligned, in the order given.
func fields(w io.Writer, pairs ...string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", pairs[i], oneLine(v))
	}
	return tw.Flush()
}

func list(s []string) string { return strings.Join(s, ", ") }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (a *app) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return a.clock(t)
}

func (a *app) whenPtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return a.clock(*t)
}

// splitList reads a comma-separated flag value: "" is the empty list.
func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// writeOutput copies a body to standard output, or to a file readable by
// its owner only (exports name users).
func (a *app) writeOutput(path string, body io.Reader, what string) error {
	if path == "" || path == "-" {
		_, err := io.Copy(a.stdout, body)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fileError(path, err)
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fail("write %s: %v", path, err)
	}
	fmt.Fprintf(a.stderr, "%s written to %s (%s)\n", what, path, humanBytes(n))
	return nil
}

// subcommands dispatches "NOUN VERB ..." to the verb's function.
func (a *app) subcommands(noun, usage string, args []string, verbs map[string]func([]string) error) error {
	names := make([]string, 0, len(verbs))
	for v := range verbs {
		names = append(names, v)
	}
	sort.Strings(names)
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return fail("%s needs a subcommand: %s", noun, strings.Join(names, ", "))
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	if f, ok := verbs[args[0]]; ok {
		return f(args[1:])
	}
	return fail("unknown %s subcommand %q: use %s", noun, args[0], strings.Join(names, ", "))
}
