package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommandTable holds the README's table of commands and flags to
// the command line: every command it names answers --help, and every flag
// it lists is one that command defines.
func TestREADMECommandTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "## The staff command line")
	if start < 0 {
		t.Fatal("README has no section The staff command line")
	}
	section := text[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	row := regexp.MustCompile("(?m)^\\| (`[^|]+`(?:, `[^|]+`)*) \\|(.*)\\|$")
	code := regexp.MustCompile("`([^`]+)`")
	flagRE := regexp.MustCompile(`(?:^|[\s(` + "`" + `])(--[a-z][a-z-]*|-o)\b`)
	args := regexp.MustCompile(`^[A-Z]+$`)
	rows := row.FindAllStringSubmatch(section, -1)
	if len(rows) < 10 {
		t.Fatalf("found %d rows in the command table", len(rows))
	}
	h := newHarness(t)
	for _, r := range rows {
		for _, m := range code.FindAllStringSubmatch(r[1], -1) {
			var cmd []string
			for _, w := range strings.Fields(m[1]) {
				if !args.MatchString(w) {
					cmd = append(cmd, w)
				}
			}
			name := strings.Join(cmd, " ")
			t.Run(name, func(t *testing.T) {
				if res := h.run("", append(cmd, "--help")...); res.code != 0 {
					t.Fatalf("%s --help: exit %d:\n%s", name, res.code, res.all())
				}
				for _, f := range flagRE.FindAllStringSubmatch(r[2], -1) {
					// An undefined flag is refused as such; a defined one
					// fails later, or for want of its value, if at all.
					res := h.run("", append(cmd, f[1])...)
					if strings.Contains(res.stderr, "provided but not defined") {
						t.Errorf("%s has no flag %s:\n%s", name, f[1], res.stderr)
					}
				}
			})
		}
	}
}
