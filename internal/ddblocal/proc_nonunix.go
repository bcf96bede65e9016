//go:build !unix

package ddblocal

import (
	"errors"
	"os/exec"
)

func spawn(*exec.Cmd) (*process, error) {
	return nil, errors.New("ddblocal: only supported on Unix-like systems")
}
