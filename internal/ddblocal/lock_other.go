//go:build !unix

package ddblocal

import (
	"context"
	"errors"
)

func lockFile(context.Context, string) (func(), error) {
	return nil, errors.New("ddblocal: only supported on Unix-like systems")
}
