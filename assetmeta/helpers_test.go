package assetmeta_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/assetmeta"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/probe"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// hub is a store with one organisation and project, a storage service
// and an import runner, as `labelhub serve` wires them.
type hub struct {
	store   *sqlstore.Store
	storage *storage.Service
	runner  *imports.Runner
	org     labelhub.Organization
	user    labelhub.User
	project labelhub.Project
	key     string // the admin's API key
}

func newHub(t testing.TB, dsn string) *hub {
	t.Helper()
	ctx := context.Background()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "hub.db")
	}
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	org, user, apiKey, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "Acme", AdminEmail: "admin@acme.test", AdminName: "Admin"}, false)
	if err != nil {
		t.Fatal(err)
	}
	name := "media"
	p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := storage.NewService(s, storage.Options{Box: box, AllowPrivateEndpoints: true})
	t.Cleanup(func() { svc.Close() })
	h := &hub{store: s, storage: svc, org: org, user: user, project: p, key: apiKey}
	h.runner = imports.New(imports.Config{Store: s, SpoolDir: filepath.Join(t.TempDir(), "imports"), Integrations: h.integrations})
	t.Cleanup(h.runner.Close)
	return h
}

func (h *hub) integrations(ctx context.Context, orgID string) (map[string]assetref.Integration, error) {
	page, err := h.storage.List(ctx, orgID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	out := map[string]assetref.Integration{}
	for _, st := range page.Items {
		out[st.ID] = storage.IntegrationOf(st)
	}
	return out, nil
}

// importFile imports an NDJSON body with the integration storageID ("" for
// none) and waits for the import to end.
func (h *hub) importFile(t testing.TB, storageID, body string) labelhub.Import {
	t.Helper()
	ctx := context.Background()
	im, err := h.runner.Start(ctx, h.org.ID, h.user.ID, h.project.ID, labelhub.ImportOptions{StorageID: storageID}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.runner.Wait(ctx, im.ID); err != nil {
		t.Fatal(err)
	}
	im, err = h.store.GetImport(ctx, h.org.ID, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if im.State != labelhub.ImportSucceeded {
		t.Fatalf("import %s: %s", im.State, im.Error)
	}
	return im
}

// asset returns the project's asset with externalId ext.
func (h *hub) asset(t testing.TB, ext string) labelhub.Asset {
	t.Helper()
	page, err := h.store.ListAssets(context.Background(), h.org.ID, h.project.ID, labelhub.AssetFilter{ExternalID: ext}, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("asset %s: %d found, %v", ext, len(page.Items), err)
	}
	return page.Items[0]
}

// waitProbed polls until no asset of the names is pending (generous
// deadline: the machine may be loaded) and returns them by externalId.
func (h *hub) waitProbed(t testing.TB, exts ...string) map[string]labelhub.Asset {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := map[string]labelhub.Asset{}
		pending := []string{}
		for _, ext := range exts {
			a := h.asset(t, ext)
			out[ext] = a
			if a.Probe.State == "pending" {
				pending = append(pending, ext)
			}
		}
		if len(pending) == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending after 2 minutes: %v", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// minioStorage makes a bucket of the test's own on the shared MinIO with
// the objects, and a storage integration for it. secret overrides the
// secret key the integration is given ("" for the right one).
func (h *hub) minioStorage(t testing.TB, objects map[string][]byte, secret string) (labelhub.Storage, string) {
	t.Helper()
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	ctx := context.Background()
	if secret == "" {
		secret = sk
	}
	st, err := h.storage.Create(ctx, h.org.ID, h.user.ID, labelhub.StorageInput{Name: bucket + secret[:2], Provider: labelhub.ProviderS3Compatible,
		Bucket: bucket, Endpoint: endpoint, Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: secret}})
	if err != nil {
		t.Fatal(err)
	}
	return st, strings.TrimSuffix(endpoint, "/") + "/" + bucket + "/"
}

// worker starts a worker over the hub's store; loopback is allowed (MinIO
// and test servers listen on 127.0.0.1).
func (h *hub) worker(t testing.TB, cfg assetmeta.Config) *assetmeta.Worker {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = h.store
	}
	cfg.Storage = h.storage
	cfg.Probe.AllowPrivate = true
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	w := assetmeta.New(cfg)
	t.Cleanup(w.Close)
	return w
}

// pngBytes encodes a w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mp4Bytes makes an MP4 (H.264, moov at the end) of size at rate for
// seconds with ffmpeg; without ffmpeg the test is skipped (failed in CI).
func mp4Bytes(t testing.TB, size, rate, seconds string) []byte {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is not installed (apt-get install ffmpeg); CI must have it")
		}
		t.Skip("SKIPPED: ffmpeg is not installed (apt-get install --no-install-recommends ffmpeg)")
	}
	out := filepath.Join(t.TempDir(), "clip.mp4")
	cmd := exec.Command(bin, "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=size="+size+":rate="+rate, "-t", seconds,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// files is an HTTP server of fixed files that answers range requests and
// counts the requests per path; paths under /block/ are held until the
// client gives up.
type files struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
}

func serveFiles(t testing.TB, content map[string][]byte) *files {
	t.Helper()
	f := &files{files: content, hits: map[string]int{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	b, ok := f.files[strings.TrimPrefix(r.URL.Path, "/")]
	f.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/block/") {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func (f *files) hitsOf(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// closedURL is a URL on loopback where nothing listens.
func closedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func probeTimeout(d time.Duration) probe.Options { return probe.Options{Timeout: d} }

// api answers GET path of the REST API as the admin, decoded into v.
func (h *hub) api(t testing.TB, path string, v any) {
	t.Helper()
	srv := httpapi.New(httpapi.Config{Store: h.store, Storage: h.storage, Imports: h.runner})
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
