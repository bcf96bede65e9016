//go:build unix

package lambdaemu

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts the function in its own process group, so a Ctrl-C in
// the terminal reaches only the emulator (which then stops functions in
// order) and so stopping a function also stops anything it spawned.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
}

func terminateProcess(p *os.Process) { signalGroup(p, syscall.SIGTERM) }

func killProcess(p *os.Process) { signalGroup(p, syscall.SIGKILL) }

func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}
