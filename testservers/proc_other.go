//go:build !linux

package testservers

import "syscall"

// sysProcAttr: outside Linux there is no Pdeathsig; servers are stopped by
// t.Cleanup, and the shared MinIO by Shutdown.
func sysProcAttr() *syscall.SysProcAttr { return nil }
