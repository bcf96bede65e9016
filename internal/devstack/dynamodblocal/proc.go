package dynamodblocal

import (
	"errors"
	"os"
	"os/exec"
)

// process is a started child whose lifetime is tied to this process's: if
// we die without stopping it (a test binary exiting, a SIGKILL), it dies
// too, so no JVM outlives `go test`.
type process struct {
	cmd       *exec.Cmd
	done      chan struct{} // closed once the child has exited and been reaped
	err       error         // the child's Wait result; read only after done
	terminate func() error  // asks the child to exit
	kill      func() error  // forces it to
}

// ignoreDone treats signalling an already finished process as success.
func ignoreDone(err error) error {
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}
