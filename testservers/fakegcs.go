package testservers

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
)

// FakeGCS starts a fake-gcs-server of the caller's own (in-memory backend)
// and returns its endpoint, http://127.0.0.1:PORT. The JSON API lives under
// /storage/v1/; Go clients find it through STORAGE_EMULATOR_HOST set to the
// endpoint. Upload and media links the server hands out point at the same
// address. The server is stopped in t.Cleanup.
func FakeGCS(t testing.TB) (endpoint string) {
	t.Helper()
	bin, looked := findBinary("LABELHUB_FAKE_GCS", "fake-gcs-server", filepath.Join(cacheBin(), "fake-gcs-server"))
	if bin == "" {
		missing(t, "the fake-gcs-server binary ("+looked+")",
			"GOBIN="+cacheBin()+" go install github.com/fsouza/fake-gcs-server@<version pinned in .ci/run>, or set LABELHUB_FAKE_GCS")
	}
	dir := t.TempDir()
	args := func(port int) ([]string, error) {
		hostPort := "127.0.0.1:" + strconv.Itoa(port)
		return []string{"-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
			"-backend", "memory", "-public-host", hostPort, "-external-url", "http://" + hostPort,
			"-log-level", "warn"}, nil
	}
	ready := func(ctx context.Context, port int) error {
		return wantStatus(ctx, fmt.Sprintf("http://127.0.0.1:%d/storage/v1/b", port), 200)
	}
	srv, port, err := startServer("fake-gcs-server", bin, nil, dir, args, ready)
	if err != nil {
		t.Fatalf("testservers: %v", err)
	}
	t.Cleanup(srv.kill)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
