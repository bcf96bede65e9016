//go:build unix && !linux

package dynamodblocal

import "os/exec"

func spawn(cmd *exec.Cmd) (*process, error) { return spawnWatchdog(cmd) }
