//go:build unix

package hostos

import (
	"errors"
	"os/exec"
	"syscall"
)

// signalGroup signals the child's process group, or the child alone when
// the group is gone.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	err := syscall.Kill(-cmd.Process.Pid, sig)
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ESRCH) {
		return ignoreDone(cmd.Process.Signal(sig))
	}
	return err
}
