package testservers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout is how long a server gets to answer after it was started:
// 30 s, or LABELHUB_SERVER_START_TIMEOUT (a Go duration such as 2m) for
// slow, loaded machines.
var startTimeout = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LABELHUB_SERVER_START_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 30 * time.Second
}()

// inCI reports whether the tests run in CI, where missing servers fail
// instead of skipping.
func inCI() bool {
	ok, _ := strconv.ParseBool(os.Getenv("CI"))
	return ok
}

// missing skips the test (outside CI) or fails it (in CI) because something
// the test needs is not installed.
func missing(t testing.TB, what, howToInstall string) {
	t.Helper()
	if inCI() {
		t.Fatalf("testservers: %s is missing and CI=true, so this is a failure, not a skip. Install it: %s", what, howToInstall)
	}
	t.Skipf("testservers: SKIPPING: %s is missing. Install it: %s (in CI=true this fails)", what, howToInstall)
}

// cacheBin is the directory .ci/run installs built tools into.
func cacheBin() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "labelhub", "bin")
}

// findBinary looks for a server binary: the environment variable env, then
// PATH, then the given extra paths in order. It returns "" and a description
// of where it looked when nothing is found.
func findBinary(env, name string, extra ...string) (string, string) {
	var looked []string
	if p := os.Getenv(env); p != "" {
		if isExecutable(p) {
			return p, ""
		}
		return "", fmt.Sprintf("%s=%s is not an executable file", env, p)
	}
	looked = append(looked, "$"+env+" (unset)")
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	looked = append(looked, "PATH")
	for _, p := range extra {
		if p == "" {
			continue
		}
		if isExecutable(p) {
			return p, ""
		}
		looked = append(looked, p)
	}
	return "", "looked in " + strings.Join(looked, ", ")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// randomHex returns n random bytes as lowercase hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// server is a started server process.
type server struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
	stop    sync.Once
}

// startProcess starts bin with args and env, its output appended to logPath.
//
// The process is started from a goroutine locked to its OS thread that stays
// in cmd.Wait for the life of the process. With Pdeathsig (Linux) the kernel
// kills the child when the thread that started it dies, so keeping that
// thread alive until the child exits makes "the child dies with the test
// binary" hold even for a shared server nobody stops explicitly.
func startProcess(bin string, args, env []string, dir, logPath string) (*server, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "$ %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	s := &server{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: when this goroutine returns the thread exits,
		// which is fine because the child is gone by then.
		err := cmd.Start()
		started <- err
		if err != nil {
			logFile.Close()
			return
		}
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return s, nil
}

// kill stops the server and waits for it to exit.
func (s *server) kill() {
	s.stop.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = s.cmd.Process.Kill()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
}

// exited reports whether the process has already exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// logTail returns the last lines of the server's log.
func (s *server) logTail() string {
	return tailFile(s.logPath, 40, 4096)
}

func tailFile(path string, maxLines, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	off := max(fi.Size()-int64(maxBytes), 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// errStartup is a server that did not come up; it carries the log tail.
type errStartup struct {
	name, logPath, tail, reason string
	portClash                   bool
}

func (e *errStartup) Error() string {
	return fmt.Sprintf("%s did not come up: %s\n--- last lines of %s ---\n%s\n---", e.name, e.reason, e.logPath, e.tail)
}

// waitReady polls ready until it returns nil, the process exits, or
// startTimeout passes.
func (s *server) waitReady(name string, ready func(ctx context.Context) error) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for {
		if s.exited() {
			tail := s.logTail()
			return &errStartup{
				name: name, logPath: s.logPath, tail: tail,
				reason:    fmt.Sprintf("process exited early (%v)", s.waitErr),
				portClash: strings.Contains(strings.ToLower(tail), "address already in use"),
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return &errStartup{name: name, logPath: s.logPath, tail: s.logTail(),
				reason: fmt.Sprintf("no answer within %v (last error: %v)", startTimeout, last)}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startServer starts a server on a free port, retrying with another port if
// the one it got was taken in the meantime. args builds the arguments for a
// given port.
func startServer(name, bin string, env []string, dir string, args func(port int) ([]string, error),
	ready func(ctx context.Context, port int) error) (*server, int, error) {
	var lastErr error
	release := lockPorts()
	defer release()
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		a, err := args(port)
		if err != nil {
			return nil, 0, err
		}
		logPath := filepath.Join(dir, name+".log")
		s, err := startProcess(bin, a, env, dir, logPath)
		if err != nil {
			return nil, 0, err
		}
		err = s.waitReady(name, func(ctx context.Context) error { return ready(ctx, port) })
		if err == nil {
			return s, port, nil
		}
		s.kill()
		lastErr = err
		var se *errStartup
		if !errors.As(err, &se) || !se.portClash {
			break
		}
	}
	return nil, 0, lastErr
}

// httpGet does a GET and returns the status and up to 64 KiB of body.
func httpGet(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

// wantStatus is a readiness probe: GET url must answer with status want.
func wantStatus(ctx context.Context, url string, want int) error {
	code, body, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("GET %s: status %d, want %d: %s", url, code, want, bytes.TrimSpace(body))
	}
	return nil
}

// NewBucketName returns a bucket name unique to this call, derived from the
// test's name. It is valid as an S3 bucket, a GCS bucket and an Azure
// container name: 3–63 characters, lowercase letters, digits and single
// hyphens, starting with a letter and ending with a letter or digit.
func NewBucketName(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("lh-")
	hyphen := true
	for _, r := range strings.ToLower(t.Name()) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			hyphen = false
		} else if !hyphen {
			b.WriteByte('-')
			hyphen = true
		}
	}
	name := b.String()
	const suffixLen = 1 + 12 // "-" + 6 random bytes in hex
	if len(name) > 63-suffixLen {
		name = name[:63-suffixLen]
	}
	name = strings.TrimRight(name, "-")
	return name + "-" + randomHex(6)
}
