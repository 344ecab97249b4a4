package probe_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labelhub/labelhub/probe"
)

// files serves a directory with http.ServeContent (which answers Range
// requests) and counts requests and bytes served.
type files struct {
	dir      string
	srv      *httptest.Server
	requests atomic.Int64
	bytes    atomic.Int64
	conns    atomic.Int64 // TCP connections accepted
	mu       sync.Mutex
	ranges   []string
	// status, when set, answers every request with it.
	status int
	// noRanges serves whole files whatever the Range header says.
	noRanges bool
	// failAfter, when set with status, serves that many requests before
	// answering status.
	failAfter int64
	// block holds every request until the client gives up.
	block bool
}

func serve(t testing.TB, dir string) *files {
	t.Helper()
	f := &files{dir: dir}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	f.mu.Lock()
	f.ranges = append(f.ranges, r.Header.Get("Range"))
	f.mu.Unlock()
	if f.block {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if f.status != 0 && n > f.failAfter {
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	name := filepath.Join(f.dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/")))
	fh, err := os.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer fh.Close()
	st, _ := fh.Stat()
	if f.noRanges {
		r.Header.Del("Range")
	}
	http.ServeContent(countingWriter{w, &f.bytes}, r, "", st.ModTime(), fh)
}

func (f *files) url(name string) string { return f.srv.URL + "/" + name + "?X-Amz-Signature=secret" }

func (f *files) reset() {
	f.requests.Store(0)
	f.bytes.Store(0)
	f.conns.Store(0)
	f.mu.Lock()
	f.ranges = nil
	f.mu.Unlock()
}

func (f *files) rangesSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ranges...)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// loopback returns a Prober for tests: loopback allowed.
func loopback(opts probe.Options) *probe.Prober {
	opts.AllowPrivate = true
	return probe.New(opts)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// needTool finds a tool the test cannot do without: missing, it skips the
// test outside CI and fails it in CI.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (apt-get install ffmpeg); CI must have it", name)
		}
		t.Skipf("SKIPPED: %s is not installed (apt-get install --no-install-recommends ffmpeg)", name)
	}
	return p
}

// ffmpeg makes a file in dir with ffmpeg and returns its name.
func ffmpeg(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	bin := needTool(t, "ffmpeg")
	all := append([]string{"-v", "error", "-nostdin", "-y"}, args...)
	all = append(all, filepath.Join(dir, name))
	cmd := exec.Command(bin, all...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return name
}

// testsrc returns ffmpeg input arguments for a test pattern.
func testsrc(size, rate, dur string) []string {
	return []string{"-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=" + rate, "-t", dur}
}

func errKind(err error) probe.Kind {
	if e, ok := err.(*probe.Error); ok {
		return e.Kind
	}
	return ""
}
