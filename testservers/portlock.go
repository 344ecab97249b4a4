//go:build unix

package testservers

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockPorts takes a lock shared by every test binary on the machine and
// returns its release. startServer holds it from choosing a free port
// until the server listens on it: MinIO binds its ports with SO_REUSEPORT,
// so two servers started by two test binaries at once that were handed
// the same free port would share it, the kernel splitting connections
// between them (a test then talks to the other binary's server, with
// other credentials and buckets, or finds it answering while its own is
// paused). Without the lock file (a read-only temporary directory), the
// lock is not taken.
func lockPorts() (release func()) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "labelhub-testservers-ports.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
