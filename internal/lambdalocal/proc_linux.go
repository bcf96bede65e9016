//go:build linux

package lambdalocal

import "syscall"

// dieWithParent has the kernel SIGKILL the function when the stack dies.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
