package artifacts_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/sqlstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// runningRun makes an organisation, an export plugin and a running run of it.
func runningRun(t *testing.T, s *sqlstore.Store) labelhub.Run {
	t.Helper()
	ctx := context.Background()
	org, admin, _, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "O", AdminEmail: "a@example.com", AdminName: "A"}, false)
	if err != nil {
		t.Fatal(err)
	}
	name, typ := "zip", labelhub.PluginExport
	p, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: &name, Type: &typ})
	if err != nil {
		t.Fatal(err)
	}
	pname := "P"
	proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: &pname})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC()
	run := labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, RunBy: admin.ID, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
	if err := s.CreateRun(ctx, run, sqlstore.NewRunToken()); err != nil {
		t.Fatal(err)
	}
	run, ok, err := s.ClaimRun(ctx, run.ID, "instance", t0.Add(time.Hour))
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	return run
}

// The service's life of an artifact, on a local folder and on MinIO: an
// upload, a replacing upload (the old bytes go), a refused one over the
// cap (nothing kept, the current one untouched), expiry by the sweeper
// (bytes gone, record marked, Open says expired).
func TestServiceLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, blobs artifacts.Store, contents func() []string) {
		ctx := context.Background()
		s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "labelhub.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run := runningRun(t, s)
		clk := &clock{t: time.Now()}
		svc := &artifacts.Service{Blobs: blobs, Records: s, MaxBytes: 1000, TTL: time.Hour, Now: clk.Now}

		_, err = svc.Put(ctx, run, "../x.zip", "", bytes.NewReader([]byte("x")))
		if e, ok := err.(*labelhub.Error); !ok || e.Code != labelhub.ECodeInvalid || len(e.Details) != 1 || e.Details[0].Path != "name" {
			t.Fatalf("bad name: %v", err)
		}
		a1, err := svc.Put(ctx, run, "first.zip", "", bytes.NewReader(append(pattern(78), makeZip(t, nil, "")...)))
		if err != nil || a1.Size != 100 || a1.ContentType != "application/zip" || !a1.ExpiresAt.Equal(a1.CreatedAt.Add(time.Hour)) {
			t.Fatalf("put: %+v, %v", a1, err)
		}
		a2, err := svc.Put(ctx, run, "second.csv", "text/csv", bytes.NewReader(pattern(200)))
		if err != nil {
			t.Fatal(err)
		}
		if c := contents(); len(c) != 1 || c[0] != a2.Key {
			t.Fatalf("after the replacement the store holds %v, want only %s", c, a2.Key)
		}
		_, err = svc.Put(ctx, run, "big.zip", "", bytes.NewReader(pattern(1001)))
		if labelhub.ErrorCode(err) != labelhub.ECodeTooLarge || !bytes.Contains([]byte(err.Error()), []byte("1000 bytes")) {
			t.Fatalf("over the cap: %v", err)
		}
		if c := contents(); len(c) != 1 || c[0] != a2.Key {
			t.Fatalf("after a refused upload the store holds %v", c)
		}
		got, o, err := svc.Open(ctx, run.OrgID, run.ID)
		if err != nil || got.Name != "second.csv" || got.ContentType != "text/csv" || o.Size() != 200 {
			t.Fatalf("open: %+v, %v", got, err)
		}
		b, _ := io.ReadAll(o)
		o.Close()
		if !bytes.Equal(b, pattern(200)) {
			t.Fatal("wrong bytes")
		}
		if _, _, err := svc.Open(ctx, labelhub.NewID(), run.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			t.Fatalf("another organisation: %v", err)
		}

		if n, err := svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("early sweep: %d, %v", n, err)
		}
		clk.Add(time.Hour)
		// Past its time the artifact is expired even before the sweep.
		var exp *artifacts.ExpiredError
		if _, _, err := svc.Open(ctx, run.OrgID, run.ID); !errors.As(err, &exp) {
			t.Fatalf("open past expiry: %v", err)
		}
		if n, err := svc.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		if c := contents(); len(c) != 0 {
			t.Fatalf("after the sweep the store holds %v", c)
		}
		rec, err := s.GetRunArtifact(ctx, run.OrgID, run.ID)
		if err != nil || !rec.Expired {
			t.Fatalf("record after sweep: %+v, %v", rec, err)
		}
		if _, _, err := svc.Open(ctx, run.OrgID, run.ID); !errors.As(err, &exp) || exp.RunID != run.ID {
			t.Fatalf("open after sweep: %v", err)
		}
		if n, err := svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("second sweep: %d, %v", n, err)
		}
	})
}

// Watch sweeps on its own.
func TestServiceWatchSweeps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "labelhub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blobs, err := artifacts.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := runningRun(t, s)
	clk := &clock{t: time.Now()}
	svc := &artifacts.Service{Blobs: blobs, Records: s, TTL: time.Minute, Now: clk.Now}
	if _, err := svc.Put(ctx, run, "r.zip", "", bytes.NewReader(makeZip(t, nil, ""))); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	go svc.Watch(ctx, 10*time.Millisecond)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec, err := s.GetRunArtifact(ctx, run.OrgID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Expired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not sweep within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
