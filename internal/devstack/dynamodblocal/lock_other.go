//go:build !unix

package dynamodblocal

import (
	"context"
	"errors"
)

func lockFile(context.Context, string) (func(), error) {
	return nil, errors.New("dynamodblocal: only supported on Unix-like systems")
}
