package imports_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

type env struct {
	t       *testing.T
	s       *sqlstore.Store
	org     labelhub.Organization
	user    labelhub.User
	project labelhub.Project
	spool   string
	dsn     string
	raw     *sql.DB // see db
}

func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "test.db")
			if db == "postgres" {
				dsn = testservers.Postgres(t)
			}
			s, err := sqlstore.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			org, user, _, err := s.CreateOrg(context.Background(), labelhub.NewOrg{Name: "o", AdminEmail: "a@example.com"}, false)
			if err != nil {
				t.Fatal(err)
			}
			name := "p"
			p, err := s.CreateProject(context.Background(), org.ID, user.ID, labelhub.ProjectInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, &env{t: t, s: s, org: org, user: user, project: p, spool: t.TempDir(), dsn: dsn})
		})
	}
}

func (e *env) runner(batch int) *imports.Runner {
	r := imports.New(imports.Config{Store: e.s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SpoolDir: e.spool, BatchSize: batch, StaleAfter: time.Second, Heartbeat: 100 * time.Millisecond,
		Integrations: func(context.Context, string) (map[string]assetref.Integration, error) { return nil, nil }})
	e.t.Cleanup(r.Close)
	return r
}

func gen(t *testing.T, n int) []byte {
	var b bytes.Buffer
	if err := importer.Generate(&b, n, importer.FormNDJSON, assetref.Integration{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// run imports body and waits for the end.
func (e *env) run(r *imports.Runner, opts labelhub.ImportOptions, body []byte) labelhub.Import {
	e.t.Helper()
	ctx := context.Background()
	im, err := r.Start(ctx, e.org.ID, e.user.ID, e.project.ID, opts, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.Wait(ctx, im.ID); err != nil {
		e.t.Fatal(err)
	}
	im, err = e.s.GetImport(ctx, e.org.ID, im.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return im
}

// assets lists every asset of the project (with a filter).
func (e *env) assets(f labelhub.AssetFilter) []labelhub.Asset {
	e.t.Helper()
	var all []labelhub.Asset
	p := labelhub.PageRequest{Limit: 1000}
	for {
		pg, err := e.s.ListAssets(context.Background(), e.org.ID, e.project.ID, f, p)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, pg.Items...)
		if pg.NextCursor == "" {
			return all
		}
		p.Cursor = pg.NextCursor
	}
}

func wantCounts(t *testing.T, im labelhub.Import, state labelhub.ImportState, c labelhub.ImportCounts) {
	t.Helper()
	if im.State != state || im.Counts != c {
		t.Fatalf("import %s: state %s counts %+v error %q; want %s %+v", im.ID, im.State, im.Counts, im.Error, state, c)
	}
}

func noDuplicates(t *testing.T, list []labelhub.Asset, want int) {
	t.Helper()
	seen := map[string]bool{}
	for _, a := range list {
		if seen[a.ExternalID] {
			t.Fatalf("duplicate externalId %s", a.ExternalID)
		}
		seen[a.ExternalID] = true
	}
	if len(list) != want {
		t.Fatalf("%d assets, want %d", len(list), want)
	}
}

func TestImportWritesAssetsTasksBatches(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.runner(500)
		body := gen(t, 3000)
		im := e.run(r, labelhub.ImportOptions{CreateBatches: true, Batches: []string{"all"}}, body)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 3000, Valid: 3000, Imported: 3000})
		list := e.assets(labelhub.AssetFilter{})
		noDuplicates(t, list, 3000)
		a, err := e.s.GetAsset(context.Background(), e.org.ID, list[7].ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.TaskID == "" || a.ImportID != im.ID || a.Type != labelhub.AssetImage || !strings.HasPrefix(a.Data, "https://example.com/") ||
			!strings.Contains(string(a.ContextData), `"site"`) || !strings.Contains(string(a.Metadata), `"width"`) ||
			len(a.Batches) != 2 || a.Batches[0] != "all" || a.Batches[1] != "batch-0" {
			t.Fatalf("asset %+v", a)
		}
		stage, err := e.s.FirstStage(context.Background(), e.org.ID, e.project.ID)
		if err != nil || stage != "start" {
			t.Fatalf("first stage %q %v", stage, err)
		}
		if n := e.countTasks("start"); n != 3000 {
			t.Fatalf("%d tasks in stage start, want 3000", n)
		}
		bs, _ := e.s.ResolveBatches(context.Background(), e.org.ID, e.project.ID, []string{"all"})
		if got := e.assets(labelhub.AssetFilter{BatchID: bs["all"]}); len(got) != 3000 {
			t.Fatalf("batch all has %d assets", len(got))
		}
		if got := e.assets(labelhub.AssetFilter{ExternalID: "img-42.jpg"}); len(got) != 1 || got[0].ExternalID != "img-42.jpg" {
			t.Fatalf("externalId filter: %+v", got)
		}
		if _, err := r.Start(context.Background(), e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{Batches: []string{"nope"}}, bytes.NewReader(body)); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
			t.Fatalf("unknown request batch without createBatches: %v", err)
		}
	})
}

func TestDryRunAtomicAndInvalidItems(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.runner(400)
		good := gen(t, 2000)
		bad := append(append([]byte{}, good...), `{"externalId":"x","data":"https://example.com/a b.jpg"}`+"\n"...)
		bad = append(bad, gen(t, 1)...)
		im := e.run(r, labelhub.ImportOptions{DryRun: true, CreateBatches: true}, good)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 2000, Valid: 2000, Imported: 2000})
		if n := len(e.assets(labelhub.AssetFilter{})); n != 0 {
			t.Fatalf("dry run wrote %d assets", n)
		}
		if bs, _ := e.s.ResolveBatches(context.Background(), e.org.ID, e.project.ID, []string{"batch-0"}); len(bs) != 0 {
			t.Fatal("dry run created a batch")
		}
		im = e.run(r, labelhub.ImportOptions{Atomic: true, CreateBatches: true}, bad)
		if im.State != labelhub.ImportFailed || im.Counts.Invalid != 1 || !strings.Contains(im.Error, "nothing was imported") {
			t.Fatalf("atomic: %+v", im)
		}
		// The counts say what is in the database: nothing imported.
		wantCounts(t, im, labelhub.ImportFailed, labelhub.ImportCounts{Received: 2002, Valid: 2001, Invalid: 1})
		if n := len(e.assets(labelhub.AssetFilter{})); n != 0 {
			t.Fatalf("atomic import with an invalid item wrote %d assets", n)
		}
		errs, err := e.s.ListImportErrors(context.Background(), e.org.ID, im.ID, labelhub.PageRequest{})
		if err != nil || len(errs.Items) != 1 || errs.Items[0].Index != 2000 || errs.Items[0].Line != 2001 || errs.Items[0].Path != "[2000].data" {
			t.Fatalf("atomic errors %+v %v", errs, err)
		}
		im = e.run(r, labelhub.ImportOptions{Atomic: true, CreateBatches: true}, good)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 2000, Valid: 2000, Imported: 2000})
		im = e.run(r, labelhub.ImportOptions{CreateBatches: true}, bad)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 2002, Valid: 2001, Imported: 2001, Invalid: 1})
		if n := len(e.assets(labelhub.AssetFilter{})); n != 4001 {
			t.Fatalf("%d assets, want 4001", n)
		}
	})
}

func TestOnDuplicate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.runner(300)
		body := gen(t, 1000)
		e.run(r, labelhub.ImportOptions{CreateBatches: true}, body)
		im := e.run(r, labelhub.ImportOptions{CreateBatches: true, OnDuplicate: "skip"}, body)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 1000, Valid: 1000, Skipped: 1000})
		// Duplicates within the file count too.
		twice := append(append([]byte{}, gen(t, 10)...), gen(t, 10)...)
		im = e.run(r, labelhub.ImportOptions{CreateBatches: true, OnDuplicate: "skip"}, twice)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 20, Valid: 20, Skipped: 20})
		changed := bytes.ReplaceAll(body, []byte(`"site":"`), []byte(`"site":"new-`))
		im = e.run(r, labelhub.ImportOptions{CreateBatches: true, OnDuplicate: "update", Batches: []string{"again"}}, changed)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 1000, Valid: 1000, Updated: 1000})
		list := e.assets(labelhub.AssetFilter{})
		noDuplicates(t, list, 1000)
		a, _ := e.s.GetAsset(context.Background(), e.org.ID, list[5].ID)
		if !strings.Contains(string(a.ContextData), `"site":"new-`) || len(a.Batches) != 2 {
			t.Fatalf("updated asset %+v", a)
		}
		im = e.run(r, labelhub.ImportOptions{CreateBatches: true, OnDuplicate: "error"}, body)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 1000, Valid: 0, Invalid: 1000})
		// Errors are paged.
		var all []labelhub.ImportError
		p := labelhub.PageRequest{Limit: 300}
		for {
			pg, err := e.s.ListImportErrors(context.Background(), e.org.ID, im.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, pg.Items...)
			if pg.NextCursor == "" {
				break
			}
			p.Cursor = pg.NextCursor
		}
		if len(all) != 1000 || all[999].Index != 999 || !strings.Contains(all[0].Message, "exists already") {
			t.Fatalf("%d errors; first %+v", len(all), all[0])
		}
		if n := len(e.assets(labelhub.AssetFilter{})); n != 1000 {
			t.Fatalf("%d assets after onDuplicate=error", n)
		}
	})
}

func TestResumeAfterCrashAndRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		first := e.runner(100)
		other := e.run(first, labelhub.ImportOptions{CreateBatches: true}, bytes.ReplaceAll(gen(t, 50), []byte(`"img-`), []byte(`"other-`))) // must survive the rollback
		const n = 20000
		im, err := first.Start(ctx, e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{CreateBatches: true}, bytes.NewReader(gen(t, n)))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
			if cur.NextIndex >= 1000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no progress")
			}
			time.Sleep(2 * time.Millisecond)
		}
		first.Close() // the process "dies" at a batch boundary
		cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
		if cur.State != labelhub.ImportRunning || cur.NextIndex >= n {
			t.Fatalf("after the stop: %+v (make the import larger)", cur)
		}
		second := e.runner(100)
		second.ResumeStale(ctx)
		if err := second.Wait(ctx, im.ID); err != nil {
			t.Fatal(err)
		}
		cur, _ = e.s.GetImport(ctx, e.org.ID, im.ID)
		wantCounts(t, cur, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: n, Valid: n, Imported: n})
		noDuplicates(t, e.assets(labelhub.AssetFilter{}), n+50)

		if _, err := second.Rollback(ctx, e.org.ID, im.ID); err != nil {
			t.Fatal(err)
		}
		if err := second.Wait(ctx, im.ID); err != nil {
			t.Fatal(err)
		}
		cur, _ = e.s.GetImport(ctx, e.org.ID, im.ID)
		if cur.State != labelhub.ImportRolledBack {
			t.Fatalf("after rollback: %+v", cur)
		}
		left := e.assets(labelhub.AssetFilter{})
		if len(left) != 50 || left[0].ImportID != other.ID {
			t.Fatalf("%d assets left after rollback", len(left))
		}
		if n := e.countTasks("start"); n != 50 {
			t.Fatalf("%d tasks left", n)
		}
		if _, err := second.Resume(ctx, e.org.ID, im.ID); labelhub.ErrorCode(err) != labelhub.ECodeConflict {
			t.Fatalf("resume after rollback: %v", err)
		}
	})
}

func TestInterruptedUploadFails(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.runner(100)
		body := gen(t, 1000)
		im, err := r.Start(ctx, e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{CreateBatches: true},
			&cutReader{b: body[:len(body)/2]})
		if err != nil {
			t.Fatal(err)
		}
		r.Wait(ctx, im.ID)
		cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
		if cur.State != labelhub.ImportFailed || !strings.Contains(cur.Error, "upload was interrupted after") || cur.Counts.Imported == 0 {
			t.Fatalf("%+v", cur)
		}
		if _, err := r.Resume(ctx, e.org.ID, im.ID); labelhub.ErrorCode(err) != labelhub.ECodeConflict {
			t.Fatalf("resume: %v", err)
		}
		if _, err := r.Rollback(ctx, e.org.ID, im.ID); err != nil {
			t.Fatal(err)
		}
		r.Wait(ctx, im.ID)
		if n := len(e.assets(labelhub.AssetFilter{})); n != 0 {
			t.Fatalf("%d assets after rollback", n)
		}
	})
}

type cutReader struct {
	b   []byte
	off int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.off == len(c.b) {
		return 0, fmt.Errorf("connection reset")
	}
	n := copy(p, c.b[c.off:])
	c.off += n
	return n, nil
}

func (e *env) countTasks(stage string) int {
	e.t.Helper()
	n, err := e.s.CountTasks(context.Background(), e.org.ID, e.project.ID, stage)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}
