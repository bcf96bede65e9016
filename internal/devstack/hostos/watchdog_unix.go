//go:build unix

package hostos

import (
	"os/exec"
	"syscall"
)

// watchdogScript runs its arguments in the background and waits for its
// standard input to close, then stops them. Only we hold the write end of
// that pipe, so it closes when we call Terminate or when we die, however
// we die.
const watchdogScript = `"$@" </dev/null &
child=$!
cat >/dev/null
kill -TERM "$child" 2>/dev/null
wait "$child"`

// startWatchdog starts cmd under /bin/sh running watchdogScript: the
// portable way to tie a child's life to ours where Linux's Pdeathsig is not
// available.
func startWatchdog(cmd *exec.Cmd) (*Child, error) {
	args := append([]string{"-c", watchdogScript, "sh", cmd.Path}, cmd.Args[1:]...)
	w := exec.Command("/bin/sh", args...)
	w.Dir, w.Env = cmd.Dir, cmd.Env
	w.Stdout, w.Stderr, w.WaitDelay = cmd.Stdout, cmd.Stderr, cmd.WaitDelay
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := w.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: w, done: make(chan struct{})}
	go func() {
		c.err = w.Wait()
		close(c.done)
	}()
	c.terminate = stdin.Close
	// The child runs in the shell's process group.
	c.kill = func() error { return signalGroup(w, syscall.SIGKILL) }
	return c, nil
}
