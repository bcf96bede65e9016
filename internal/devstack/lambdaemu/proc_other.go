//go:build !unix

package lambdaemu

import (
	"os"
	"os/exec"
)

func setProcAttr(*exec.Cmd) {}

// terminateProcess cannot send SIGTERM on this platform; it kills instead.
func terminateProcess(p *os.Process) { _ = p.Kill() }

func killProcess(p *os.Process) { _ = p.Kill() }
