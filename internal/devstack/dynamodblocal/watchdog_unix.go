//go:build unix

package dynamodblocal

import (
	"errors"
	"os/exec"
	"syscall"
)

// watchdogScript runs its arguments in the background and waits for its
// standard input to close, then stops them. Only we hold the write end of
// that pipe, so it closes when we call terminate or when we die, however
// we die.
const watchdogScript = `"$@" </dev/null &
child=$!
cat >/dev/null
kill -TERM "$child" 2>/dev/null
wait "$child"`

// spawnWatchdog starts cmd under /bin/sh running watchdogScript: the
// portable way to tie a child's life to ours where Linux's Pdeathsig is not
// available.
func spawnWatchdog(cmd *exec.Cmd) (*process, error) {
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
	p := &process{cmd: w, done: make(chan struct{})}
	go func() {
		p.err = w.Wait()
		close(p.done)
	}()
	p.terminate = stdin.Close
	p.kill = func() error {
		// The child runs in the shell's process group.
		err := syscall.Kill(-w.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
	return p, nil
}
