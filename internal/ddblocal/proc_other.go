//go:build unix && !linux

package ddblocal

import "os/exec"

func spawn(cmd *exec.Cmd) (*process, error) { return spawnWatchdog(cmd) }
