package assetmeta_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/assetmeta"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

func line(ext, url, meta string) string {
	s := fmt.Sprintf(`{"externalId":%q,"data":%q`, ext, url)
	if meta != "" {
		s += `,"metadata":` + meta
	}
	return s + "}\n"
}

func metadata(t *testing.T, a labelhub.Asset) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(a.Metadata) > 0 {
		if err := json.Unmarshal(a.Metadata, &m); err != nil {
			t.Fatalf("%s: metadata %s: %v", a.ExternalID, a.Metadata, err)
		}
	}
	return m
}

// TestWorkerFillsMetadataFromMinIO imports assets of a private MinIO
// bucket and lets the worker probe them through signed URLs.
func TestWorkerFillsMetadataFromMinIO(t *testing.T) {
	h := newHub(t, "")
	st, base := h.minioStorage(t, map[string][]byte{
		"img/plain.png":  pngBytes(t, 320, 200),
		"img/given.png":  pngBytes(t, 64, 48),
		"video/clip.mp4": mp4Bytes(t, "160x120", "25", "1"),
		"video/fake.mp4": pngBytes(t, 8, 8),
		"img/full.png":   pngBytes(t, 10, 10),
	}, "")
	// The same bucket's object through an integration with a wrong secret:
	// MinIO refuses its signed URLs with 403.
	denied, deniedBase := h.minioStorage(t, map[string][]byte{"img/denied.png": pngBytes(t, 5, 5)}, "not-the-secret-key")

	im := h.importFile(t, st.ID, line("plain.png", base+"img/plain.png", "")+
		line("given.png", base+"img/given.png", `{"width":999,"note":"kept"}`)+
		line("clip.mp4", base+"video/clip.mp4", "")+
		line("fake.mp4", base+"video/fake.mp4", "")+
		line("missing.png", base+"img/missing.png", "")+
		line("full.png", base+"img/full.png", `{"width":1,"height":2}`))
	h.importFile(t, denied.ID, line("denied.png", deniedBase+"img/denied.png", ""))
	if a := h.asset(t, "plain.png"); a.Probe.State != "pending" {
		t.Fatalf("before the worker: plain.png probe = %+v, want pending", a.Probe)
	}
	if pending, failed, err := h.store.ImportProbeCounts(context.Background(), h.org.ID, im.ID); err != nil || pending != 5 || failed != 0 {
		t.Fatalf("ImportProbeCounts before = %d, %d, %v; want 5 pending", pending, failed, err)
	}

	w := h.worker(t, assetmeta.Config{Workers: 3, MaxAttempts: 2, Backoff: time.Millisecond})
	w.Start()
	got := h.waitProbed(t, "plain.png", "given.png", "clip.mp4", "fake.mp4", "missing.png", "full.png", "denied.png")

	for _, ext := range []string{"fake.mp4", "missing.png", "denied.png"} {
		t.Logf("%s: %s", ext, got[ext].Probe.Error)
	}
	check := func(ext, state string, want map[string]any, errPart string) {
		t.Helper()
		a := got[ext]
		if a.Probe.State != state || !strings.Contains(a.Probe.Error, errPart) || (errPart == "" && a.Probe.Error != "") {
			t.Errorf("%s: probe = %+v, want %s with an error containing %q", ext, a.Probe, state, errPart)
		}
		if want != nil {
			if m := metadata(t, a); fmt.Sprint(m) != fmt.Sprint(want) {
				t.Errorf("%s: metadata = %s, want %v", ext, a.Metadata, want)
			}
		}
	}
	check("plain.png", "done", map[string]any{"width": 320.0, "height": 200.0}, "")
	check("given.png", "done", map[string]any{"width": 999.0, "height": 48.0, "note": "kept"}, "")
	check("clip.mp4", "done", map[string]any{"width": 160.0, "height": 120.0, "frameRate": 25.0, "frameCount": 25.0}, "")
	check("fake.mp4", "failed", map[string]any{}, "not a video")
	check("missing.png", "failed", map[string]any{}, "not found (404)")
	check("denied.png", "failed", map[string]any{}, "refused (403)")
	check("full.png", "none", map[string]any{"width": 1.0, "height": 2.0}, "")
	// The user's keys keep their order; found values come after them.
	if s := string(got["given.png"].Metadata); s != `{"width":999,"note":"kept","height":48}` {
		t.Errorf("given.png metadata = %s", s)
	}
	// Errors never carry the signature of the signed URL.
	for _, ext := range []string{"fake.mp4", "missing.png", "denied.png"} {
		if e := got[ext].Probe.Error; strings.Contains(e, "X-Amz") || strings.Contains(e, "Signature") {
			t.Errorf("%s: error shows the signed URL: %s", ext, e)
		}
	}
	// The import's status counts its failed probes; the asset API shows
	// the probe's state and error.
	var status struct {
		Probes *struct{ Pending, Failed int64 } `json:"probes"`
	}
	h.api(t, "/api/v1/imports/"+im.ID, &status)
	if status.Probes == nil || status.Probes.Pending != 0 || status.Probes.Failed != 2 {
		t.Errorf("import status probes = %+v, want 0 pending, 2 failed", status.Probes)
	}
	var asset struct {
		Metadata map[string]any `json:"metadata"`
		Probe    struct{ State, Error string }
	}
	h.api(t, "/api/v1/assets/"+got["missing.png"].ID, &asset)
	if asset.Probe.State != "failed" || !strings.Contains(asset.Probe.Error, "404") {
		t.Errorf("GET /assets/{id} probe = %+v", asset.Probe)
	}
	h.api(t, "/api/v1/assets/"+got["clip.mp4"].ID, &asset)
	if asset.Probe.State != "done" || asset.Metadata["frameCount"] != 25.0 {
		t.Errorf("GET /assets/{id} = %+v", asset)
	}
}

// TestWorkerRetriesTransientFailures: a timeout and an unreachable host
// are tried MaxAttempts times and then fail saying so; a 404 is tried once.
func TestWorkerRetriesTransientFailures(t *testing.T) {
	h := newHub(t, "")
	f := serveFiles(t, map[string][]byte{"ok.png": pngBytes(t, 7, 9)})
	down := closedURL(t)
	h.importFile(t, "", line("slow.png", f.srv.URL+"/block/slow.png", "")+
		line("down.png", down+"/down.png", "")+
		line("gone.png", f.srv.URL+"/gone.png", "")+
		line("ok.png", f.srv.URL+"/ok.png", ""))
	w := h.worker(t, assetmeta.Config{Workers: 4, MaxAttempts: 3, Backoff: time.Millisecond, Probe: probeTimeout(300 * time.Millisecond)})
	w.Start()
	got := h.waitProbed(t, "slow.png", "down.png", "gone.png", "ok.png")
	for _, ext := range []string{"slow.png", "down.png", "gone.png"} {
		t.Logf("%s: %s", ext, got[ext].Probe.Error)
	}
	if a := got["slow.png"]; a.Probe.State != "failed" || !strings.Contains(a.Probe.Error, "timed out") || !strings.Contains(a.Probe.Error, "gave up after 3 attempts") {
		t.Errorf("slow.png: %+v", a.Probe)
	}
	if n := f.hitsOf("/block/slow.png"); n != 3 {
		t.Errorf("slow.png was requested %d times, want 3 (one per attempt)", n)
	}
	if a := got["down.png"]; a.Probe.State != "failed" || !strings.Contains(a.Probe.Error, "cannot reach") || !strings.Contains(a.Probe.Error, "gave up after 3 attempts") {
		t.Errorf("down.png: %+v", a.Probe)
	}
	if a := got["gone.png"]; a.Probe.State != "failed" || !strings.Contains(a.Probe.Error, "404") || strings.Contains(a.Probe.Error, "attempt") {
		t.Errorf("gone.png: %+v", a.Probe)
	}
	if n := f.hitsOf("/gone.png"); n != 1 {
		t.Errorf("gone.png (a permanent failure) was requested %d times, want 1", n)
	}
	if a := got["ok.png"]; a.Probe.State != "done" || string(a.Metadata) != `{"width":7,"height":9}` {
		t.Errorf("ok.png: %+v %s", a.Probe, a.Metadata)
	}
}

// TestTwoWorkersOnOnePostgres runs two workers, each on its own
// connection pool, over one PostgreSQL database: every file is read
// exactly once.
func TestTwoWorkersOnOnePostgres(t *testing.T) {
	dsn := testservers.Postgres(t)
	h := newHub(t, dsn)
	other, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	const n = 60
	content := map[string][]byte{}
	var body strings.Builder
	exts := make([]string, 0, n)
	png := pngBytes(t, 33, 44)
	for i := range n {
		name := fmt.Sprintf("img-%02d.png", i)
		content[name] = png
		exts = append(exts, name)
	}
	f := serveFiles(t, content)
	for _, name := range exts {
		body.WriteString(line(name, f.srv.URL+"/"+name, ""))
	}
	h.importFile(t, "", body.String())
	a := h.worker(t, assetmeta.Config{Workers: 3})
	b := h.worker(t, assetmeta.Config{Workers: 3, Store: other})
	a.Start()
	b.Start()
	got := h.waitProbed(t, exts...)
	for _, name := range exts {
		if as := got[name]; as.Probe.State != "done" || string(as.Metadata) != `{"width":33,"height":44}` {
			t.Errorf("%s: %+v %s", name, as.Probe, as.Metadata)
		}
		if hits := f.hitsOf("/" + name); hits != 1 {
			t.Errorf("%s was read %d times, want once", name, hits)
		}
	}
}

// TestAbandonedClaimIsTakenAfterLease: a process that claimed an asset
// and died holds it until its lease ends; then another worker probes it,
// and the dead claim can no longer write.
func TestAbandonedClaimIsTakenAfterLease(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := ""
			if db == "postgres" {
				dsn = testservers.Postgres(t)
			}
			h := newHub(t, dsn)
			f := serveFiles(t, map[string][]byte{"a.png": pngBytes(t, 12, 34)})
			h.importFile(t, "", line("a.png", f.srv.URL+"/a.png", ""))
			ctx := context.Background()
			t0 := time.Now()
			dead, err := h.store.ClaimProbes(ctx, t0, time.Hour, 10)
			if err != nil || len(dead) != 1 {
				t.Fatalf("the dead worker's claim: %d, %v", len(dead), err)
			}
			var clock atomic.Int64
			clock.Store(t0.UnixNano())
			w := h.worker(t, assetmeta.Config{Workers: 2, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
			if n, err := w.ProbeDue(ctx); err != nil || n != 0 {
				t.Fatalf("within the lease the worker claimed %d (%v)", n, err)
			}
			if a := h.asset(t, "a.png"); a.Probe.State != "pending" || f.hitsOf("/a.png") != 0 {
				t.Fatalf("within the lease: %+v, %d reads", a.Probe, f.hitsOf("/a.png"))
			}
			clock.Store(t0.Add(time.Hour + time.Second).UnixNano())
			if n, err := w.ProbeDue(ctx); err != nil || n != 1 {
				t.Fatalf("after the lease the worker claimed %d (%v), want 1", n, err)
			}
			if a := h.asset(t, "a.png"); a.Probe.State != "done" || string(a.Metadata) != `{"width":12,"height":34}` {
				t.Fatalf("after the lease: %+v %s", a.Probe, a.Metadata)
			}
			if ok, err := h.store.FinishProbe(ctx, dead[0], sqlstore.ProbeOutcome{State: sqlstore.ProbeFailed, Error: "late"}); err != nil || ok {
				t.Fatalf("the dead claim wrote its outcome: %v, %v", ok, err)
			}
			if a := h.asset(t, "a.png"); a.Probe.State != "done" {
				t.Fatalf("the dead claim changed the asset: %+v", a.Probe)
			}
		})
	}
}

// TestCloseGivesClaimsBack: a worker stopped while it probes gives the
// asset back, due at once, and the next worker probes it.
func TestCloseGivesClaimsBack(t *testing.T) {
	h := newHub(t, "")
	f := serveFiles(t, map[string][]byte{"b.png": pngBytes(t, 3, 4)})
	h.importFile(t, "", line("b.png", f.srv.URL+"/block/b.png", ""))
	w := h.worker(t, assetmeta.Config{Workers: 1, Probe: probeTimeout(time.Minute)})
	w.Start()
	deadline := time.Now().Add(2 * time.Minute)
	for f.hitsOf("/block/b.png") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker never read the file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.Close()
	ctx := context.Background()
	if a := h.asset(t, "b.png"); a.Probe.State != "pending" || a.Probe.Error != "" {
		t.Fatalf("after Close: %+v, want pending without an error", a.Probe)
	}
	due, ok, err := h.store.NextProbeDue(ctx)
	if err != nil || !ok || due.After(time.Now()) {
		t.Fatalf("after Close the asset is due at %v (%v, %v), want now", due, ok, err)
	}
	tasks, err := h.store.ClaimProbes(ctx, time.Now(), time.Minute, 5)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("claim after Close: %d, %v", len(tasks), err)
	}
}

// TestImportCommitWakesWorker: with a poll interval of an hour, the
// import's commit alone wakes the worker.
func TestImportCommitWakesWorker(t *testing.T) {
	h := newHub(t, "")
	f := serveFiles(t, map[string][]byte{"c.png": pngBytes(t, 21, 22)})
	w := h.worker(t, assetmeta.Config{PollInterval: time.Hour})
	h.runner.Close()
	h.runner = imports.New(imports.Config{Store: assetmeta.WakeOnImport(h.store, w), SpoolDir: filepath.Join(t.TempDir(), "imports"), Integrations: h.integrations})
	t.Cleanup(h.runner.Close)
	w.Start()
	// Let the worker reach its idle wait first when it can; either way the
	// wake-up must not be lost.
	time.Sleep(100 * time.Millisecond)
	h.importFile(t, "", line("c.png", f.srv.URL+"/c.png", ""))
	got := h.waitProbed(t, "c.png")
	if a := got["c.png"]; a.Probe.State != "done" || string(a.Metadata) != `{"width":21,"height":22}` {
		t.Fatalf("c.png: %+v %s", a.Probe, a.Metadata)
	}
}
