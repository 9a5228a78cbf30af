//go:build !linux

package interop

import "os/exec"

// dieWithParent is a no-op where the kernel has no parent-death signal; t.Cleanup still kills the server.
func dieWithParent(cmd *exec.Cmd) {}
