//go:build !unix

package hostos

import "os/exec"

// start runs cmd untied: this platform has neither a parent-death signal
// nor a portable watchdog, so a child outlives a killed stack until its own
// next call to the stack fails.
func start(cmd *exec.Cmd) (*Child, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	kill := func() error { return ignoreDone(cmd.Process.Kill()) }
	c.terminate, c.kill = kill, kill
	return c, nil
}
