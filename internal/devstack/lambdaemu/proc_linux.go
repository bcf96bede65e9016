//go:build linux

package lambdaemu

import "syscall"

// dieWithParent has the kernel SIGKILL the function when the stack dies.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
