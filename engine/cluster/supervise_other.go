//go:build !linux

package cluster

import "syscall"

// workerProcAttr puts a worker in its own process group (a terminal's Ctrl-C reaches only the
// parent, which forwards SIGTERM).
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
