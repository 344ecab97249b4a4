//go:build unix

package testservers

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
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
	// The signal is delivered, not yet acted on, when Signal returns: a
	// thread of the server still running on another core could answer
	// a request sent right after. Wait until every thread is stopped.
	if err := waitStopped(proc.Pid, 5*time.Second); err != nil {
		_ = proc.Signal(syscall.SIGCONT)
		t.Fatalf("testservers: pause MinIO: %v", err)
	}
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

// waitStopped waits until every thread of process pid is stopped, as
// /proc tells; where there is no /proc it returns at once.
func waitStopped(pid int, timeout time.Duration) error {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		running, err := runningThreads(dir)
		if err != nil {
			return err
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d threads of process %d still run %v after SIGSTOP", running, pid, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// runningThreads counts the threads under dir (/proc/PID/task) whose
// state is not stopped (T) or traced (t).
func runningThreads(dir string) (int, error) {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	running := 0
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue // the thread has ended
		}
		// The state follows the command, which is in parentheses and
		// may hold spaces: "PID (comm) S ...".
		i := len(b) - 1
		for i >= 0 && b[i] != ')' {
			i--
		}
		if i < 0 || i+2 >= len(b) {
			return 0, fmt.Errorf("%s/stat: %.60q", task.Name(), b)
		}
		if st := b[i+2]; st != 'T' && st != 't' {
			running++
		}
	}
	return running, nil
}
