package plugin_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// testHub is a real hub (SQLite, plugin hub, local artifact store) behind
// a proxy that can fail the next uploads.
type testHub struct {
	url, key  string
	projectID string
	failPuts  atomic.Int32 // PUTs to answer 503 after reading part of the body
	puts      atomic.Int32
}

func newTestHub(t *testing.T, maxBytes int64) *testHub {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "labelhub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	org, admin, key, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "O", AdminEmail: "a@example.com", AdminName: "A"}, true)
	if err != nil {
		t.Fatal(err)
	}
	name := "P"
	proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := pluginhub.New(pluginhub.Config{Store: s, Logger: quiet, NewToken: sqlstore.NewRunToken, PollInterval: 20 * time.Millisecond})
	t.Cleanup(hub.Close)
	blobs, err := artifacts.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Store: s, Logger: quiet, Plugins: hub, RunTokens: s,
		Artifacts: &artifacts.Service{Blobs: blobs, Records: s, MaxBytes: maxBytes, Logger: quiet}})
	backend := httptest.NewServer(api)
	t.Cleanup(backend.Close)
	th := &testHub{key: key, projectID: proj.ID}
	target, _ := url.Parse(backend.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			th.puts.Add(1)
			if th.failPuts.Add(-1) >= 0 {
				_, _ = io.CopyN(io.Discard, r.Body, 1000)
				http.Error(w, `{"error":{"code":"unavailable","message":"try again"}}`, http.StatusServiceUnavailable)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	th.url = front.URL
	return th
}

func (th *testHub) do(t *testing.T, method, path, body string, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, th.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+th.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res
}

// serve registers a plugin of type typ, runs h for it and returns its id.
func (th *testHub) serve(t *testing.T, typ string, h plugin.Handler) string {
	t.Helper()
	var p struct {
		ID, Secret string
	}
	th.do(t, "POST", "/api/v1/plugins", `{"name":"p","type":"`+typ+`"}`, &p)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go plugin.Run(ctx, plugin.Config{Host: th.url, ID: p.ID, Secret: p.Secret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	return p.ID
}

// run starts a run and waits for its end.
func (th *testHub) run(t *testing.T, pluginID string) labelhub.Run {
	t.Helper()
	var run labelhub.Run
	th.do(t, "POST", "/api/v1/plugins/"+pluginID+"/runs?wait=true", `{"projectId":"`+th.projectID+`"}`, &run)
	deadline := time.Now().Add(60 * time.Second)
	for !run.State.Final() {
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", run.ID, run.State)
		}
		time.Sleep(20 * time.Millisecond)
		th.do(t, "GET", "/api/v1/runs/"+run.ID, "", &run)
	}
	return run
}

func (th *testHub) download(t *testing.T, runID string) (*http.Response, []byte) {
	t.Helper()
	res := th.do(t, "GET", "/api/v1/runs/"+runID+"/artifact", "", nil)
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func makeZip(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An ExportFunc returning a Reader gets its file uploaded before the run
// is reported done; the reader here is a pipe (no length, no seeking), so
// the upload is chunked and streamed, and it is closed afterwards.
func TestExportResultReaderIsUploaded(t *testing.T) {
	th := newTestHub(t, 1<<20)
	want := makeZip(t, map[string]string{"annotations.json": `{"assets":[]}`})
	var closed atomic.Bool
	id := th.serve(t, "export", plugin.ExportFunc(func(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
		pr, pw := io.Pipe()
		go func() {
			pw.Write(want[:10])
			pw.Write(want[10:])
			pw.Close()
		}()
		return plugin.ExportResult{FileName: "export.zip", Reader: closeTracker{pr, &closed}}, nil
	}))
	run := th.run(t, id)
	var res struct {
		FileName string `json:"fileName"`
		Size     int64  `json:"size"`
	}
	if run.State != labelhub.RunSucceeded || json.Unmarshal(run.Result, &res) != nil || res.FileName != "export.zip" || res.Size != int64(len(want)) {
		t.Fatalf("run %+v result %s", run, run.Result)
	}
	if !closed.Load() {
		t.Error("the Reader was not closed")
	}
	resp, got := th.download(t, run.ID)
	if resp.StatusCode != 200 || !bytes.Equal(got, want) || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
}

type closeTracker struct {
	io.Reader
	closed *atomic.Bool
}

func (c closeTracker) Close() error { c.closed.Store(true); return nil }

// A seekable reader is sent again after a 503; a plain one is not.
func TestUploadResultRetriesOnlySeekers(t *testing.T) {
	th := newTestHub(t, 1<<20)
	data := bytes.Repeat([]byte("0123456789"), 20000)
	errs := make(chan error, 2)
	id := th.serve(t, "export", plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		th.failPuts.Store(1)
		errs <- r.UploadResult(ctx, "seek.bin", bytes.NewReader(data))
		th.failPuts.Store(1)
		errs <- r.UploadResult(ctx, "plain.bin", io.MultiReader(bytes.NewReader(data)))
		return "ok", nil
	}))
	before := th.puts.Load()
	run := th.run(t, id)
	if run.State != labelhub.RunSucceeded {
		t.Fatalf("run %+v", run)
	}
	if err := <-errs; err != nil {
		t.Fatalf("seekable upload: %v", err)
	}
	err := <-errs
	var ue *plugin.UploadError
	if !errors.As(err, &ue) || ue.Status != 503 {
		t.Fatalf("plain reader after a 503: %v", err)
	}
	if n := th.puts.Load() - before; n != 3 {
		t.Errorf("%d PUTs, want 3 (two for the seeker, one for the plain reader)", n)
	}
	resp, got := th.download(t, run.ID)
	if resp.StatusCode != 200 || !bytes.Equal(got, data) || !strings.Contains(resp.Header.Get("Content-Disposition"), `"seek.bin"`) {
		t.Fatalf("download: %d %v, %d bytes", resp.StatusCode, resp.Header, len(got))
	}
}

// Over the hub's cap the upload fails with 413 naming the limit, and an
// export run fails with that message.
func TestUploadResultTooLarge(t *testing.T) {
	th := newTestHub(t, 1000)
	id := th.serve(t, "export", plugin.ExportFunc(func(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
		return plugin.ExportResult{FileName: "big.zip", Reader: bytes.NewReader(make([]byte, 1001))}, nil
	}))
	run := th.run(t, id)
	if run.State != labelhub.RunFailed || !strings.Contains(run.Error, "413") || !strings.Contains(run.Error, "1000 bytes") {
		t.Fatalf("run %+v", run)
	}
	if resp, _ := th.download(t, run.ID); resp.StatusCode != 404 {
		t.Fatalf("download after a refused upload: %d", resp.StatusCode)
	}
}
