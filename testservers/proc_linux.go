package testservers

import "syscall"

// sysProcAttr makes the kernel kill a server when the thread that started it
// dies, so servers never outlive the test binary, even after a crash or a
// timeout panic. See startProcess for why that thread lives as long as the
// server.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
