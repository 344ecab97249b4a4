package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// artifactClock is the artifact service's clock, moved by the test.
type artifactClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *artifactClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *artifactClock) add(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

// heldRuns is an export plugin whose runs wait until released, so that
// the test can use their tokens while they are running.
type heldRuns struct {
	mu      sync.Mutex
	tokens  map[string]string // run id → token
	release map[string]chan struct{}
}

func (hr *heldRuns) serve(ctx context.Context, r *plugin.Request) (any, error) {
	ch := make(chan struct{})
	hr.mu.Lock()
	hr.tokens[r.Session], hr.release[r.Session] = r.APIKey, ch
	hr.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	return map[string]string{"done": r.Session}, nil
}

func (hr *heldRuns) token(t *testing.T, runID string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		hr.mu.Lock()
		tok := hr.tokens[runID]
		hr.mu.Unlock()
		if tok != "" {
			return tok
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not reach the plugin in 30s", runID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (hr *heldRuns) finish(runID string) {
	hr.mu.Lock()
	close(hr.release[runID])
	hr.mu.Unlock()
}

// chunked hides a reader's length, so the request is sent chunked.
type chunked struct{ io.Reader }

// artifactScenario walks the artifact routes on one database and one
// artifact store; contents lists what the store holds.
func artifactScenario(t *testing.T, s *sqlstore.Store, blobs artifacts.Store, contents func() []string) {
	clk := &artifactClock{}
	const maxBytes = 1 << 20
	svc := &artifacts.Service{Blobs: blobs, Records: s, MaxBytes: maxBytes, TTL: time.Hour, Now: clk.now, Logger: quietLogger()}
	h := newHub(t, s, httpapi.Config{Artifacts: svc})
	var proj labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"exports"}`, 201, &proj)
	var p struct {
		labelhub.Plugin
		Secret string `json:"secret"`
	}
	h.must(h.rootKey, "POST", "/api/v1/plugins", `{"name":"zipper","type":"export"}`, 201, &p)
	hr := &heldRuns{tokens: map[string]string{}, release: map[string]chan struct{}{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go plugin.Run(ctx, plugin.Config{Host: h.srv.URL, ID: p.ID, Secret: p.Secret, Concurrency: 2, Logger: quietLogger()}, plugin.HandlerFunc(hr.serve))
	var run1, run2 labelhub.Run
	h.must(h.rootKey, "POST", "/api/v1/plugins/"+p.ID+"/runs", `{"projectId":"`+proj.ID+`"}`, 202, &run1)
	h.must(h.rootKey, "POST", "/api/v1/plugins/"+p.ID+"/runs", `{"projectId":"`+proj.ID+`"}`, 202, &run2)
	tok1, tok2 := hr.token(t, run1.ID), hr.token(t, run2.ID)
	put := func(token, runID, name string, body io.Reader, opts ...reqOpt) response {
		t.Helper()
		req, err := http.NewRequest("PUT", h.srv.URL+"/api/v1/runs/"+runID+"/artifact?name="+name, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		for _, o := range opts {
			o(req)
		}
		res, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatalf("PUT: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return response{method: "PUT", path: req.URL.Path, Status: res.StatusCode, Header: res.Header, Body: b}
	}
	zip := append(artifactPattern(300<<10-len(emptyZip)), emptyZip...) // ends like a zip, as a .zip must

	// Who may upload.
	wantError(t, put(h.rootKey, run1.ID, "result.zip", bytes.NewReader(zip)), 403, labelhub.ECodeForbidden)
	wantError(t, put(tok2, run1.ID, "result.zip", bytes.NewReader(zip)), 404, labelhub.ECodeNotFound)
	wantError(t, put(tok1, labelhub.NewID(), "result.zip", bytes.NewReader(zip)), 404, labelhub.ECodeNotFound)
	// Names.
	for _, bad := range []string{"", "..%2Fx.zip", "a%2Fb", "a%5Cb", ".env", strings.Repeat("a", 256), "x%00.zip"} {
		r := put(tok1, run1.ID, bad, bytes.NewReader(zip))
		wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), "name", "")
	}
	// The cap: declared and streamed, nothing left behind.
	r := put(tok1, run1.ID, "big.zip", bytes.NewReader(artifactPattern(maxBytes+1)))
	if e := wantError(t, r, 413, labelhub.ECodeTooLarge); !strings.Contains(e.Error.Message, "1048576 bytes") {
		t.Errorf("413 does not name the limit: %s", r)
	}
	r = put(tok1, run1.ID, "big.zip", chunked{bytes.NewReader(artifactPattern(maxBytes + 1))})
	if e := wantError(t, r, 413, labelhub.ECodeTooLarge); !strings.Contains(e.Error.Message, "1048576 bytes") {
		t.Errorf("413 does not name the limit: %s", r)
	}
	if c := contents(); len(c) != 0 {
		t.Fatalf("refused uploads left %v", c)
	}
	h.must(h.rootKey, "GET", "/api/v1/runs/"+run1.ID+"/artifact", "", 404, nil)

	// Upload (chunked) and download.
	r = put(tok1, run1.ID, "first.bin", chunked{bytes.NewReader(artifactPattern(1000))})
	if r.Status != 200 {
		t.Fatalf("%s", r)
	}
	r = put(tok1, run1.ID, "result.zip", chunked{bytes.NewReader(zip)}, header("Content-Type", "application/zip"))
	var art labelhub.RunArtifact
	if r.Status != 200 || decodeInto(r.Body, &art) != nil || art.Name != "result.zip" || art.Size != int64(len(zip)) || art.RunID != run1.ID ||
		art.ContentType != "application/zip" || art.Expired || !art.ExpiresAt.After(art.CreatedAt) {
		t.Fatalf("upload: %s", r)
	}
	if c := contents(); len(c) != 1 {
		t.Fatalf("after the replacing upload the store holds %v", c)
	}
	// The run itself names its result file.
	var withArt labelhub.Run
	h.must(h.rootKey, "GET", "/api/v1/runs/"+run1.ID, "", 200, &withArt)
	if withArt.Artifact == nil || withArt.Artifact.Name != "result.zip" || withArt.Artifact.Size != int64(len(zip)) {
		t.Fatalf("run does not show its artifact: %+v", withArt.Artifact)
	}
	for _, key := range []string{h.rootKey, tok1} { // a user, and the run's own token
		g := h.call("GET", "/api/v1/runs/"+run1.ID+"/artifact", "", bearer(key))
		if g.Status != 200 || !bytes.Equal(g.Body, zip) || g.Header.Get("Content-Length") != "307200" ||
			g.Header.Get("Content-Disposition") != `attachment; filename="result.zip"` || g.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("download: %d %v (%d bytes)", g.Status, g.Header, len(g.Body))
		}
	}
	g := h.call("GET", "/api/v1/runs/"+run1.ID+"/artifact", "", bearer(h.rootKey), header("Range", "bytes=100000-100009"))
	if g.Status != 206 || !bytes.Equal(g.Body, zip[100000:100010]) || g.Header.Get("Content-Range") != "bytes 100000-100009/307200" {
		t.Fatalf("range: %d %v %x", g.Status, g.Header, g.Body)
	}
	wantError(t, h.call("GET", "/api/v1/runs/"+run1.ID+"/artifact", "", bearer(tok2)), 404, labelhub.ECodeNotFound)
	wantError(t, h.call("GET", "/api/v1/runs/"+run2.ID+"/artifact", "", bearer(h.rootKey)), 404, labelhub.ECodeNotFound)

	// A name that is not plain ASCII travels in filename*.
	if r := put(tok2, run2.ID, "résultat%20final.zip", bytes.NewReader(emptyZip)); r.Status != 200 {
		t.Fatalf("%s", r)
	}
	g = h.call("GET", "/api/v1/runs/"+run2.ID+"/artifact", "", bearer(h.rootKey))
	if cd := g.Header.Get("Content-Disposition"); cd != `attachment; filename="r_sultat final.zip"; filename*=UTF-8''r%C3%A9sultat%20final.zip` {
		t.Errorf("Content-Disposition %q", cd)
	}

	// After the run ends its token cannot upload.
	hr.finish(run1.ID)
	waitFinal(t, h, run1.ID)
	wantError(t, put(tok1, run1.ID, "late.zip", bytes.NewReader(zip)), 401, labelhub.ECodeUnauthorized)
	if g := h.call("GET", "/api/v1/runs/"+run1.ID+"/artifact", "", bearer(h.rootKey)); g.Status != 200 || !bytes.Equal(g.Body, zip) {
		t.Fatalf("download after the run: %d", g.Status)
	}

	// Expiry: 410 once past the time to live, before and after the sweep,
	// which deletes the bytes.
	clk.add(time.Hour + time.Second)
	for _, when := range []string{"before the sweep", "after the sweep"} {
		g := h.call("GET", "/api/v1/runs/"+run1.ID+"/artifact", "", bearer(h.rootKey))
		if e := wantError(t, g, 410, labelhub.ECodeNotFound); !strings.HasPrefix(e.Error.Message, "expired") {
			t.Errorf("%s: %s", when, g)
		}
		if when == "before the sweep" {
			if n, err := svc.Sweep(context.Background()); err != nil || n != 2 {
				t.Fatalf("sweep: %d %v", n, err)
			}
		}
	}
	if c := contents(); len(c) != 0 {
		t.Fatalf("after the sweep the store holds %v", c)
	}
	hr.finish(run2.ID)
	waitFinal(t, h, run2.ID)
}

func decodeInto(b []byte, v any) error { return json.Unmarshal(b, v) }

func waitFinal(t *testing.T, h *hub, runID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var run labelhub.Run
		h.must(h.rootKey, "GET", "/api/v1/runs/"+runID, "", 200, &run)
		if run.State.Final() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 30s", runID, run.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// emptyZip is a zip without files: its end-of-central-directory record.
var emptyZip = []byte("PK\x05\x06" + strings.Repeat("\x00", 18))

// artifactPattern makes n bytes that differ at every offset of a small window.
func artifactPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func localContents(dir string) func() []string {
	return func() []string {
		out := []string{}
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
}

func TestRunArtifactsOnLocalFolder(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		dir := t.TempDir()
		blobs, err := artifacts.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		artifactScenario(t, s, blobs, localContents(dir))
	})
}

func TestRunArtifactsOnMinIO(t *testing.T) {
	endpoint, ak, sk, bucket := testservers.MinIOBucket[string](t, nil)
	ctx := context.Background()
	blobs, err := artifacts.NewS3(ctx, artifacts.Location{Bucket: bucket, Prefix: "artifacts/", Endpoint: endpoint, Region: "us-east-1"},
		artifacts.S3Credentials{AccessKeyID: ak, SecretAccessKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	artifactScenario(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), blobs, func() []string {
		out := []string{}
		objs, err := blobs.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs.Contents {
			out = append(out, aws.ToString(o.Key))
		}
		ups, err := blobs.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ups.Uploads {
			out = append(out, "upload:"+aws.ToString(u.Key))
		}
		return out
	})
}

func TestContentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"result.zip":    `attachment; filename="result.zip"`,
		"a b's (1).zip": `attachment; filename="a b's (1).zip"`,
		"結果.zip":        `attachment; filename="__.zip"; filename*=UTF-8''%E7%B5%90%E6%9E%9C.zip`,
	} {
		if got := httpapi.ContentDisposition(name); got != want {
			t.Errorf("ContentDisposition(%q) = %q, want %q", name, got, want)
		}
	}
}
