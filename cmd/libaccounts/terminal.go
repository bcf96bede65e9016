package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// isCharDevice is the standard library's nearest to isatty: terminals are
// character devices (so is /dev/null, where a progress bar harms nobody).
func isCharDevice(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// stdinIsTerminal asks stty, which fails on anything but a terminal, so
// that </dev/null counts as not one.
func stdinIsTerminal() bool {
	if !isCharDevice(os.Stdin) {
		return false
	}
	_, err := stty("-g")
	return err == nil
}

// stty runs stty(1) on our standard input: golang.org/x/term is not a
// dependency of this module.
func stty(args ...string) (string, error) {
	cmd := exec.Command("stty", args...)
	cmd.Stdin = os.Stdin
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// errInterrupted ends a command the user stopped with Ctrl-C.
var errInterrupted = &exitError{code: 130, msg: "interrupted"}

func (a *app) stdinReader() *bufio.Reader {
	if a.in == nil {
		a.in = bufio.NewReader(a.stdin)
	}
	return a.in
}

func trimNewline(s string) string { return strings.TrimRight(s, "\r\n") }

// readLine reads one line of standard input; Ctrl-C (ctx) stops the wait.
// io.EOF means there was no line at all.
func (a *app) readLine(ctx context.Context) (string, error) {
	type line struct {
		s   string
		err error
	}
	ch := make(chan line, 1)
	r := a.stdinReader()
	go func() {
		s, err := r.ReadString('\n')
		ch <- line{s, err}
	}()
	select {
	case <-ctx.Done():
		return "", errInterrupted
	case l := <-ch:
		switch {
		case l.err == nil, errors.Is(l.err, io.EOF) && l.s != "":
			return trimNewline(l.s), nil
		case errors.Is(l.err, io.EOF):
			return "", io.EOF
		}
		return "", fail("read standard input: %v", l.err)
	}
}

// prompt asks for a value on the terminal, offering def (Enter keeps it).
func (a *app) prompt(ctx context.Context, label, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(a.stderr, "%s [%s]: ", label, def)
	} else {
		fmt.Fprintf(a.stderr, "%s: ", label)
	}
	s, err := a.readLine(ctx)
	if errors.Is(err, io.EOF) {
		fmt.Fprintln(a.stderr)
		return "", fail("no %s given", strings.ToLower(label))
	}
	if err != nil {
		return "", err
	}
	if s = strings.TrimSpace(s); s == "" {
		s = def
	}
	return s, nil
}

// pipedAnswer reads the next line of a standard input that is not a
// terminal as the answer to a question; an empty line keeps def.
func (a *app) pipedAnswer(ctx context.Context, what, def string) (string, error) {
	s, err := a.readLine(ctx)
	if errors.Is(err, io.EOF) {
		return "", fail("no %s on standard input: give it as the first line (then the password), or pass --%s", what, what)
	}
	if err != nil {
		return "", err
	}
	if s = strings.TrimSpace(s); s == "" {
		s = def
	}
	return s, nil
}

// readSecret reads a password: on a terminal after a prompt with echo off,
// otherwise as the next line of standard input. what names it in errors.
func (a *app) readSecret(ctx context.Context, prompt, what string) (string, error) {
	if !a.stdinTTY {
		s, err := a.readLine(ctx)
		if errors.Is(err, io.EOF) || (err == nil && s == "") {
			return "", fail("no %s on standard input", what)
		}
		return s, err
	}
	fmt.Fprint(a.stderr, prompt)
	saved, err := stty("-g")
	if err == nil {
		_, err = stty("-echo")
	}
	if err != nil {
		fmt.Fprintln(a.stderr)
		return "", fail("cannot turn off echo on this terminal (stty: %v); pipe the password in with --password-stdin", err)
	}
	s, err := a.readLine(ctx)
	_, _ = stty(saved)
	fmt.Fprintln(a.stderr) // the Enter the user typed was not echoed
	if errors.Is(err, io.EOF) || (err == nil && s == "") {
		return "", fail("no %s given", what)
	}
	return s, err
}
