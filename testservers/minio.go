package testservers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// The shared MinIO server of this test binary.
var minio struct {
	once      sync.Once
	mu        sync.Mutex
	srv       *server
	dir       string
	endpoint  string
	accessKey string
	secretKey string
	missing   string // where we looked, when the binary is missing
	err       error
}

// MinIO returns the endpoint (http://127.0.0.1:PORT) and root credentials of
// the MinIO server shared by every test in this binary, starting it on first
// use. Use NewBucketName for a bucket of the caller's own. See the package
// documentation for how the server is stopped.
func MinIO(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	minio.once.Do(startMinIO)
	minio.mu.Lock()
	defer minio.mu.Unlock()
	if minio.missing != "" {
		missing(t, "the minio binary ("+minio.missing+")",
			"GOBIN="+cacheBin()+" go install github.com/minio/minio@<version pinned in .ci/run> (a cold build takes minutes), or set LABELHUB_MINIO")
	}
	if minio.err != nil {
		t.Fatalf("testservers: %v", minio.err)
	}
	if minio.srv == nil {
		t.Fatalf("testservers: the shared MinIO server was stopped by Shutdown")
	}
	if minio.srv.exited() {
		t.Fatalf("testservers: the shared MinIO server exited (%v)\n--- last lines of %s ---\n%s\n---",
			minio.srv.waitErr, minio.srv.logPath, minio.srv.logTail())
	}
	return minio.endpoint, minio.accessKey, minio.secretKey
}

func startMinIO() {
	minio.mu.Lock()
	defer minio.mu.Unlock()
	bin, looked := findBinary("LABELHUB_MINIO", "minio", filepath.Join(cacheBin(), "minio"))
	if bin == "" {
		minio.missing = looked
		return
	}
	// Not t.TempDir: the server outlives the test that started it.
	dir, err := os.MkdirTemp("", "labelhub-minio-")
	if err != nil {
		minio.err = err
		return
	}
	access, secret := "labelhub", randomHex(16)
	env := []string{
		"MINIO_ROOT_USER=" + access,
		"MINIO_ROOT_PASSWORD=" + secret,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	}
	data := filepath.Join(dir, "data")
	args := func(port int) ([]string, error) {
		console, err := freePort()
		if err != nil {
			return nil, err
		}
		return []string{"server", data,
			"--address", "127.0.0.1:" + strconv.Itoa(port),
			"--console-address", "127.0.0.1:" + strconv.Itoa(console),
			"--quiet"}, nil
	}
	ready := func(ctx context.Context, port int) error {
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := wantStatus(ctx, base+"/minio/health/ready", 200); err != nil {
			return err
		}
		// /minio/health/ready says 200 a moment before the S3 API stops
		// answering 503 XMinioServerNotInitialized; wait for that too.
		// An unsigned request then gets 403 AccessDenied.
		return wantStatus(ctx, base+"/", 403)
	}
	srv, port, err := startServer("minio", bin, env, dir, args, ready)
	if err != nil {
		minio.err = err
		return
	}
	minio.srv, minio.dir = srv, dir
	minio.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	minio.accessKey, minio.secretKey = access, secret
}

// Shutdown stops the shared MinIO server, if it was started, and removes its
// data directory. Call it from TestMain after m.Run; without it the server
// dies with the test binary (Pdeathsig on Linux) but its temporary directory
// stays behind.
func Shutdown() {
	minio.mu.Lock()
	defer minio.mu.Unlock()
	if minio.srv != nil {
		minio.srv.kill()
		minio.srv = nil
	}
	if minio.dir != "" {
		_ = os.RemoveAll(minio.dir)
		minio.dir = ""
	}
}
