package cluster

import "syscall"

// workerProcAttr puts a worker in its own process group (a terminal's Ctrl-C reaches only the
// parent, which forwards SIGTERM) and has the kernel send it SIGTERM if the parent dies.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
