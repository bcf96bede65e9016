//go:build unix && !linux

package lambdaemu

import "syscall"

// dieWithParent: only Linux has a parent-death signal; elsewhere a function
// whose stack died exits when its next Runtime API call fails.
func dieWithParent(*syscall.SysProcAttr) {}
