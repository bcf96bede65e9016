//go:build unix && !linux

package hostos

import "os/exec"

func start(cmd *exec.Cmd) (*Child, error) { return startWatchdog(cmd) }
