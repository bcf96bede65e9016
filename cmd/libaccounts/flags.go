package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by parseFlags
	return fs
}

// parseFlags parses flags wherever they stand among the arguments, so that
// `import users.csv --dry-run` works as well as `import --dry-run
// users.csv`; everything after "--" is an argument. It returns the
// arguments. -h prints help to stdout and returns errHelp.
func (a *app) parseFlags(fs *flag.FlagSet, args []string, help string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(a.stdout, help)
				return nil, errHelp
			}
			return nil, fail("%s: %v (see `libaccounts %s --help`)", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		used := len(args) - len(rest)
		if used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
