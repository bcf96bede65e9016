//go:build linux

package dynamodblocal

import (
	"os/exec"
	"runtime"
	"syscall"
)

// spawn starts cmd with PR_SET_PDEATHSIG=SIGKILL, so the kernel kills the
// child when we exit.
//
// The death signal is tied to the OS thread that forked the child, not to
// the process: if that thread ended, the child would be killed early. So the
// child is started and waited for by a goroutine locked to its thread; the
// thread lives exactly as long as the child.
func spawn(cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true, // a terminal's Ctrl-C goes to us; we stop the child
		Pdeathsig: syscall.SIGKILL,
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: when this goroutine returns, the runtime retires
		// the thread, which is harmless once the child is gone.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	p.terminate = func() error { return ignoreDone(cmd.Process.Signal(syscall.SIGTERM)) }
	p.kill = func() error { return ignoreDone(cmd.Process.Kill()) }
	return p, nil
}
