//go:build !unix

package testservers

import "testing"

// PauseMinIO needs SIGSTOP and SIGCONT; without them the test is skipped.
func PauseMinIO(t testing.TB) (resume func()) {
	t.Helper()
	t.Skip("testservers: PauseMinIO needs SIGSTOP (a Unix system)")
	return func() {}
}
