//go:build unix

package testservers

import (
	"sync"
	"syscall"
	"testing"
)

// PauseMinIO makes the shared MinIO server unavailable without losing its
// data: its process is stopped with SIGSTOP, so connections to it hang
// (the kernel still accepts them, nothing answers), until resume sends
// SIGCONT. resume may be called more than once; it is also called in
// t.Cleanup, so a failing test never leaves the server stopped.
func PauseMinIO(t testing.TB) (resume func()) {
	t.Helper()
	MinIO(t)
	minio.mu.Lock()
	proc := minio.srv.cmd.Process
	minio.mu.Unlock()
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("testservers: pause MinIO: %v", err)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			if err := proc.Signal(syscall.SIGCONT); err != nil {
				t.Errorf("testservers: resume MinIO: %v", err)
			}
		})
	}
	t.Cleanup(resume)
	return resume
}
