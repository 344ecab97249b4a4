package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// env is a real store with one organisation, and the box that seals its
// credentials.
type env struct {
	store *sqlstore.Store
	box   *seal.Box
	org   labelhub.Organization
	user  labelhub.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	org, user, _, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "Acme", AdminEmail: "admin@acme.test", AdminName: "Admin"}, false)
	if err != nil {
		t.Fatalf("create org: %v", err)
	}
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: s, box: box, org: org, user: user}
}

func (e *env) service(t testing.TB, allowPrivate bool, timeout time.Duration) *storage.Service {
	svc := storage.NewService(e.store, storage.Options{Box: e.box, AllowPrivateEndpoints: allowPrivate, Timeout: timeout})
	t.Cleanup(func() { svc.Close() })
	return svc
}

// serviceAccountJSON makes a service-account key file with a fresh RSA key.
func serviceAccountJSON(t testing.TB) string { return testservers.ServiceAccountJSON(t) }

// closedPort returns an address on loopback where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// fixture is what every provider's bucket holds.
type fixture struct {
	objects map[string][]byte
	types   map[string]string
}

const manyCount = 1200

// blobBytes is a 1000-byte pattern whose bytes say where they are.
func blobBytes() []byte {
	b := make([]byte, 1000)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func newFixture() fixture {
	f := fixture{objects: map[string][]byte{}, types: map[string]string{}}
	add := func(k string, v []byte, ct string) {
		f.objects[k] = v
		if ct != "" {
			f.types[k] = ct
		}
	}
	add("a/b/c.txt", []byte("nested"), "text/plain")
	add("a/plain.txt", []byte("plain"), "text/plain")
	add("space name/file with space.txt", []byte("spaces"), "text/plain")
	add("plus+sign/a+b.txt", []byte("plus"), "text/plain")
	add("unicode/ünïcödé-日本.txt", []byte("unicode"), "text/plain")
	add("pct/50% off #1?.txt", []byte("percent, hash, question"), "text/plain")
	add("data/blob.bin", blobBytes(), "application/octet-stream")
	add("data/page.html", []byte("<script>alert(document.cookie)</script>"), "text/html; charset=utf-8")
	add("data/pic.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml")
	add("empty.txt", []byte{}, "text/plain")
	for i := range manyCount {
		add(fmt.Sprintf("many/%04d.bin", i), []byte(fmt.Sprintf("object %d", i)), "")
	}
	add("many/sub1/x.txt", []byte("x"), "text/plain")
	add("many/sub2/y.txt", []byte("y"), "text/plain")
	return f
}

// upload puts every object of f with put, 16 at a time.
func (f fixture) upload(t testing.TB, put func(key string, data []byte, contentType string) error) {
	t.Helper()
	keys := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				if err := put(k, f.objects[k], f.types[k]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("put %q: %w", k, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for k := range f.objects {
		keys <- k
	}
	close(keys)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// get does a plain GET and returns the status and body.
func get(t testing.TB, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp, b
}

// checkNames asserts the checks come in the documented order.
func checkNames(t testing.TB, v storage.Validation) {
	t.Helper()
	var names []string
	for _, c := range v.Checks {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "credentials,bucket,list,read,cors" {
		t.Fatalf("check names = %s, want credentials,bucket,list,read,cors", got)
	}
}

func checkOf(v storage.Validation, name string) storage.Check {
	for _, c := range v.Checks {
		if c.Name == name {
			return c
		}
	}
	return storage.Check{}
}

func dump(v storage.Validation) string {
	var b bytes.Buffer
	for _, c := range v.Checks {
		fmt.Fprintf(&b, "\n  %-11s ok=%-5v %s", c.Name, c.OK, c.Message)
	}
	return b.String()
}
