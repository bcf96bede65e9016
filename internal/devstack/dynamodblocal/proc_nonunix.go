//go:build !unix

package dynamodblocal

import (
	"errors"
	"os/exec"
)

func spawn(*exec.Cmd) (*process, error) {
	return nil, errors.New("dynamodblocal: only supported on Unix-like systems")
}
