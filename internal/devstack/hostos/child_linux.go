//go:build linux

package hostos

import (
	"os/exec"
	"runtime"
	"syscall"
)

// start runs cmd with PR_SET_PDEATHSIG=SIGKILL, so the kernel kills the
// child when we exit.
//
// The death signal is tied to the OS thread that forked the child, not to
// the process: if that thread ended, the child would be killed early. So the
// child is started and waited for by a goroutine locked to its thread; the
// thread lives exactly as long as the child.
func start(cmd *exec.Cmd) (*Child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &Child{cmd: cmd, done: make(chan struct{})}
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
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	c.terminate = func() error { return signalGroup(cmd, syscall.SIGTERM) }
	c.kill = func() error { return signalGroup(cmd, syscall.SIGKILL) }
	return c, nil
}
