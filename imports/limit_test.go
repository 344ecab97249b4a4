package imports_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/storage/assetref"
)

// With two imports of the organisation running, a third file import and
// a label import are refused with rate_limited naming the limit, and
// nothing is created (no import row, no spool file); once one ends, a new
// one is accepted.
func TestConcurrentImportsPerOrgLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := imports.New(imports.Config{Store: e.s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SpoolDir: e.spool,
			Integrations: func(context.Context, string) (map[string]assetref.Integration, error) { return nil, nil }, MaxConcurrentPerOrg: 2})
		t.Cleanup(r.Close)
		count := func(state string) string {
			return e.scalar(`SELECT count(*) FROM imports WHERE org_id = $1 AND ($2 = '' OR state = $2)`, e.org.ID, state)
		}
		// Two imports whose uploads are still going on: running.
		type started struct {
			im  labelhub.Import
			err error
		}
		var ws []*io.PipeWriter
		done := make(chan started, 2)
		for range 2 {
			pr, pw := io.Pipe()
			ws = append(ws, pw)
			go func() {
				im, err := r.Start(ctx, e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{}, pr)
				done <- started{im, err}
			}()
		}
		for deadline := time.Now().Add(10 * time.Second); count("running") != "2"; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s imports running, want 2", count("running"))
			}
		}
		want := "your organisation has 2 imports running, the limit (--import-max-concurrent-per-org); wait for one to end"
		check := func(what string, err error) {
			t.Helper()
			if labelhub.ErrorCode(err) != labelhub.ECodeRateLimited || err.Error() != want {
				t.Fatalf("%s: %v (code %s), want rate_limited %q", what, err, labelhub.ErrorCode(err), want)
			}
		}
		_, err := r.Start(ctx, e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{}, bytes.NewReader(gen(t, 3)))
		check("a third file import", err)
		_, err = r.ImportLabels(ctx, e.org.ID, e.user.ID, e.project.ID, strings.NewReader(`[]`))
		check("a label import", err)
		if n := count(""); n != "2" {
			t.Fatalf("%s imports stored, want 2", n)
		}
		if files, _ := os.ReadDir(e.spool); len(files) != 2 {
			t.Fatalf("%d spool files, want 2", len(files))
		}
		// One ends: a new one is accepted.
		body := gen(t, 3)
		go func() { ws[0].Write(body); ws[0].Close() }()
		first := <-done
		if first.err != nil {
			t.Fatal(first.err)
		}
		if err := r.Wait(ctx, first.im.ID); err != nil {
			t.Fatal(err)
		}
		im := e.run(r, labelhub.ImportOptions{}, gen(t, 3))
		if im.State != labelhub.ImportSucceeded {
			t.Fatalf("import after one ended: %+v", im)
		}
		ws[1].Close()
		if second := <-done; second.err != nil {
			t.Fatal(second.err)
		}
	})
}
