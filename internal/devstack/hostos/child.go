package hostos

import (
	"errors"
	"os"
	"os/exec"
)

// Child is a started process whose life is tied to ours: if the stack dies
// without stopping it (a test binary exiting, a SIGKILL), it dies too, so
// no JVM or function process outlives the stack. It runs in its own process
// group, so a terminal's Ctrl-C reaches only the stack, which then stops its
// children in order, and stopping a child also stops what it spawned.
type Child struct {
	cmd       *exec.Cmd
	done      chan struct{} // closed once the child has exited and been reaped
	err       error         // the Wait result; read only after done
	terminate func() error
	kill      func() error
}

// Start starts cmd as a Child. It sets cmd.SysProcAttr.
func Start(cmd *exec.Cmd) (*Child, error) { return start(cmd) }

// Done is closed once the child has exited and been reaped.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is the child's exit as exec.Cmd.Wait reports it; valid after Done.
func (c *Child) Err() error { return c.err }

// Pid is the started process's id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Terminate asks the child to exit (SIGTERM where there are signals). A
// child that has exited already is no error.
func (c *Child) Terminate() error { return c.terminate() }

// Kill forces the child, and what it spawned, to exit.
func (c *Child) Kill() error { return c.kill() }

// ignoreDone treats signalling an already finished process as success.
func ignoreDone(err error) error {
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}
