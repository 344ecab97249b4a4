package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

type importFixture struct {
	s        *sqlstore.Store
	org      labelhub.Organization
	project  labelhub.Project
	batches  []string // ids of b0, b1, b2
	userID   string
	sequence int
}

func newImportFixture(t *testing.T, s *sqlstore.Store) *importFixture {
	t.Helper()
	ctx := context.Background()
	org, user, _ := newOrg(t, s, "imports@example.com")
	name := "imports"
	p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	f := &importFixture{s: s, org: org, project: p, userID: user.ID}
	for i := 0; i < 3; i++ {
		b, err := s.CreateBatch(ctx, org.ID, p.ID, fmt.Sprint("b", i))
		if err != nil {
			t.Fatal(err)
		}
		f.batches = append(f.batches, b.ID)
	}
	return f
}

// start creates a running import held by runner "r".
func (f *importFixture) start(t *testing.T, kind, onDup string) labelhub.Import {
	t.Helper()
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: f.org.ID, ProjectID: f.project.ID, Kind: kind, State: labelhub.ImportRunning,
		Options: labelhub.ImportOptions{OnDuplicate: onDup}, CreatedBy: f.userID, Runner: "r"}
	if err := f.s.CreateImport(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	return im
}

func (f *importFixture) batch(im labelhub.Import, assets []labelhub.NewAsset) labelhub.ImportBatch {
	f.sequence += len(assets)
	return labelhub.ImportBatch{ImportID: im.ID, Runner: "r", OrgID: f.org.ID, ProjectID: f.project.ID, StageID: "start",
		OnDuplicate: im.Options.OnDuplicate, Assets: assets, NextIndex: int64(f.sequence), Now: time.Now().UTC().Truncate(time.Microsecond),
		Delta: labelhub.ImportCounts{Received: int64(len(assets)), Valid: int64(len(assets))}}
}

// rollBack deletes what import im added, limit assets a call, as the
// runner's rollback does, and returns how many assets went.
func (f *importFixture) rollBack(t *testing.T, im labelhub.Import, limit int) int {
	t.Helper()
	total := 0
	for {
		n, err := f.s.DeleteImportAssets(context.Background(), f.org.ID, im.ID, limit)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

func newAssets(from, n int, version string, batchIDs ...string) []labelhub.NewAsset {
	var out []labelhub.NewAsset
	for i := from; i < from+n; i++ {
		out = append(out, labelhub.NewAsset{Index: int64(i - from), Line: int64(i - from + 1), ID: labelhub.NewID(), ExternalID: fmt.Sprint("x-", i), Type: "image",
			Data: fmt.Sprintf("https://example.com/%s/%d.jpg", version, i), Doc: fmt.Sprintf(`{"metadata":{"v":%q}}`, version), ProbeState: "none",
			BatchIDs: batchIDs})
	}
	return out
}

// byExternalID lists the project's assets.
func (f *importFixture) byExternalID(t *testing.T) map[string]labelhub.Asset {
	t.Helper()
	out := map[string]labelhub.Asset{}
	p := labelhub.PageRequest{Limit: labelhub.MaxPageLimit}
	for {
		pg, err := f.s.ListAssets(context.Background(), f.org.ID, f.project.ID, labelhub.AssetFilter{}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range pg.Items {
			out[a.ExternalID] = a
		}
		if pg.NextCursor == "" {
			return out
		}
		p.Cursor = pg.NextCursor
	}
}

// TestCommitImportBatchWritesRows: a batch's assets, tasks and links
// (multi-row INSERTs with shared values on SQLite, COPY on PostgreSQL)
// are the same on both databases; a repeated batch of an asset gives one
// link; a batch of an import the runner lost writes nothing.
func TestCommitImportBatchWritesRows(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, s)
		im := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		list := newAssets(0, 250, "v1", f.batches[0])
		list[7].BatchIDs = []string{f.batches[1], f.batches[1], f.batches[2]}
		list[8].BatchIDs = nil
		list[9].Answer = `{"tools":[]}`
		list[10].StorageID, list[10].ProbeState, list[10].Type = "st-1", "pending", "video"
		d, err := s.CommitImportBatch(ctx, f.batch(im, list))
		if err != nil {
			t.Fatal(err)
		}
		if d.Imported != 250 {
			t.Fatalf("delta %+v", d)
		}
		got := f.byExternalID(t)
		if len(got) != 250 {
			t.Fatalf("%d assets", len(got))
		}
		a7 := got["x-7"]
		if !slices.Equal(a7.Batches, []string{"b1", "b2"}) || len(got["x-8"].Batches) != 0 || !slices.Equal(got["x-0"].Batches, []string{"b0"}) {
			t.Fatalf("batches %v %v %v", a7.Batches, got["x-8"].Batches, got["x-0"].Batches)
		}
		a10 := got["x-10"]
		if a10.StorageID != "st-1" || a10.Probe.State != "pending" || a10.Type != "video" || a10.ImportID != im.ID || a10.Data != "https://example.com/v1/10.jpg" ||
			string(a10.Metadata) != `{"v":"v1"}` || a10.TaskID == "" || a10.CreatedAt.IsZero() || a10.Probe.Error != "" {
			t.Fatalf("asset %+v", a10)
		}
		if n, err := s.CountTasks(ctx, f.org.ID, f.project.ID, "start"); err != nil || n != 250 {
			t.Fatalf("%d tasks in start, %v", n, err)
		}
		cur, err := s.GetImport(ctx, f.org.ID, im.ID)
		if err != nil || cur.Counts.Imported != 250 || cur.NextIndex != 250 {
			t.Fatalf("import %+v %v", cur, err)
		}

		// A batch of an import held by another runner is refused whole.
		lost := f.batch(im, newAssets(1000, 150, "v1", f.batches[0]))
		lost.Runner = "other"
		if _, err := s.CommitImportBatch(ctx, lost); !sqlstore.ErrLostImport(err) {
			t.Fatalf("lost import: %v", err)
		}
		if n := len(f.byExternalID(t)); n != 250 {
			t.Fatalf("%d assets after a refused batch", n)
		}
	})
}

// TestRollbackRestoresUpdatedAssets: onDuplicate=update records the state
// before the import (once, however often the import changes an asset) in
// the batch's transaction; DeleteImportAssets puts it back, removes the
// links the import added to existing assets and the assets it added.
func TestRollbackRestoresUpdatedAssets(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, s)
		first := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		if _, err := s.CommitImportBatch(ctx, f.batch(first, newAssets(0, 120, "v1", f.batches[0]))); err != nil {
			t.Fatal(err)
		}
		before := f.byExternalID(t)

		upd := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateUpdate)
		changes := newAssets(100, 40, "v2", f.batches[1]) // x-100…x-119 exist, x-120…x-139 are new
		for i := range changes {
			changes[i].Answer = fmt.Sprintf(`{"tools":[],"n":%d}`, i)
			changes[i].StorageID, changes[i].Type = "st-2", "video"
		}
		d, err := s.CommitImportBatch(ctx, f.batch(upd, changes))
		if err != nil || d.Updated != 20 || d.Imported != 20 {
			t.Fatalf("update: %+v %v", d, err)
		}
		// The same assets again in a later batch: the undo keeps the first state.
		again := newAssets(100, 5, "v3", f.batches[2])
		if d, err = s.CommitImportBatch(ctx, f.batch(upd, again)); err != nil || d.Updated != 5 {
			t.Fatalf("update again: %+v %v", d, err)
		}
		mid := f.byExternalID(t)
		if m := mid["x-101"]; string(m.Metadata) != `{"v":"v3"}` || mid["x-110"].Type != "video" || len(m.Batches) != 3 || len(mid) != 140 {
			t.Fatalf("after the updates: %+v (%d assets)", m, len(mid))
		}
		f.rollBack(t, upd, 7)
		after := f.byExternalID(t)
		if len(after) != len(before) {
			t.Fatalf("%d assets after the rollback, want %d", len(after), len(before))
		}
		for id, a := range before {
			b := after[id]
			if b.Type != a.Type || b.Data != a.Data || string(b.Metadata) != string(a.Metadata) || b.StorageID != a.StorageID ||
				b.Probe != a.Probe || !slices.Equal(b.Batches, a.Batches) || b.TaskID != a.TaskID {
				t.Fatalf("%s: %+v, want %+v", id, b, a)
			}
		}

		// A label import's answers are restored the same way.
		lab := f.start(t, labelhub.ImportKindLabels, labelhub.DuplicateUpdate)
		lb := f.batch(lab, nil)
		lb.Delta = labelhub.ImportCounts{Received: 2, Valid: 2}
		unmatched, d, err := s.CommitLabelBatch(ctx, lb, f.userID, []labelhub.LabelUpdate{
			{Index: 0, ExternalID: "x-3", Answer: `{"tools":[],"set":1}`}, {Index: 1, Line: 2, ExternalID: "nope", Answer: `{}`}})
		if err != nil || !slices.Equal(unmatched, []int{1}) || d.Updated != 1 || d.Invalid != 1 || d.Valid != 1 {
			t.Fatalf("labels: %v %+v %v", unmatched, d, err)
		}
		errs, err := s.ListImportErrors(ctx, f.org.ID, lab.ID, labelhub.PageRequest{})
		if err != nil || len(errs.Items) != 1 || errs.Items[0].Path != "[1].externalId" || !strings.Contains(errs.Items[0].Message, `"nope"`) {
			t.Fatalf("label errors %+v %v", errs, err)
		}
		if n, err := s.DeleteImportAssets(ctx, f.org.ID, lab.ID, 100); err != nil || n != 1 {
			t.Fatalf("label rollback: %d %v", n, err)
		}
		if n, err := s.DeleteImportAssets(ctx, f.org.ID, lab.ID, 100); err != nil || n != 0 {
			t.Fatalf("label rollback again: %d %v", n, err)
		}
		if n := len(f.byExternalID(t)); n != 120 {
			t.Fatalf("a label rollback deleted assets: %d left", n)
		}
	})
}

// TestRollbackDeletesOnlyItsImport: a rollback deletes the assets (with
// their tasks and links) of its own import, found among its project's
// made since it started, and leaves those of an import that started
// after it and wrote between its batches, and those of an import of
// another project.
func TestRollbackDeletesOnlyItsImport(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, s)
		name := "other"
		other, err := s.CreateProject(ctx, f.org.ID, f.userID, labelhub.ProjectInput{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		a := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		b := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		c := labelhub.Import{ID: labelhub.NewID(), OrgID: f.org.ID, ProjectID: other.ID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
			CreatedBy: f.userID, Runner: "r"}
		if err := s.CreateImport(ctx, c); err != nil {
			t.Fatal(err)
		}
		cb := f.batch(c, newAssets(0, 15, "c"))
		cb.ProjectID = other.ID
		for _, bt := range []labelhub.ImportBatch{
			f.batch(a, newAssets(0, 10, "a", f.batches[0])), f.batch(b, newAssets(100, 10, "b", f.batches[0])), cb,
			f.batch(a, newAssets(10, 10, "a", f.batches[1])),
		} {
			if _, err := s.CommitImportBatch(ctx, bt); err != nil {
				t.Fatal(err)
			}
		}
		if total := f.rollBack(t, a, 3); total != 20 {
			t.Fatalf("the rollback deleted %d assets, want 20", total)
		}
		left := f.byExternalID(t)
		if len(left) != 10 {
			t.Fatalf("%d assets left in the project, want the 10 of the later import", len(left))
		}
		for id, as := range left {
			if as.ImportID != b.ID || !slices.Equal(as.Batches, []string{"b0"}) || as.TaskID == "" {
				t.Fatalf("%s left: %+v", id, as)
			}
		}
		if n, err := s.CountTasks(ctx, f.org.ID, f.project.ID, "start"); err != nil || n != 10 {
			t.Fatalf("%d tasks left in the project, %v", n, err)
		}
		if n, err := s.CountTasks(ctx, f.org.ID, other.ID, "start"); err != nil || n != 15 {
			t.Fatalf("%d tasks left in the other project, %v", n, err)
		}
		// Another organisation cannot roll the import back.
		org2, _, _ := newOrg(t, s, "rollback-other@example.com")
		if n, err := s.DeleteImportAssets(ctx, org2.ID, b.ID, 100); err != nil || n != 0 {
			t.Fatalf("another organisation's rollback: %d %v", n, err)
		}
		if n, err := s.DeleteImportAssets(ctx, f.org.ID, b.ID, 100); err != nil || n != 10 {
			t.Fatalf("the later import's rollback: %d %v", n, err)
		}
	})
}

// TestDryRunSeenIsPerImport: a dry run finds the externalIds of its own
// earlier batches, not those of another dry run, and forgets them when it
// finishes.
func TestDryRunSeenIsPerImport(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, s)
		dry := func() labelhub.Import {
			im := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateError)
			b := f.batch(im, newAssets(0, 10, "v1"))
			b.DryRun = true
			if d, err := s.CommitImportBatch(ctx, b); err != nil || d.Invalid != 0 || d.Imported != 10 {
				t.Fatalf("first batch: %+v %v", d, err)
			}
			b = f.batch(im, newAssets(5, 10, "v1"))
			b.DryRun = true
			d, err := s.CommitImportBatch(ctx, b)
			if err != nil || d.Invalid != 5 || d.Valid != 5 || d.Imported != 5 {
				t.Fatalf("second batch: %+v %v", d, err)
			}
			return im
		}
		im := dry()
		other := dry() // another dry run does not see the first one's items
		if err := s.FinishImport(ctx, im.ID, "r", labelhub.ImportSucceeded, ""); err != nil {
			t.Fatal(err)
		}
		// A failed dry run resumed goes on with what it saw.
		if err := s.FinishImport(ctx, other.ID, "r", labelhub.ImportFailed, "stopped"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimImport(ctx, f.org.ID, other.ID, "r", time.Now(), labelhub.ImportFailed); err != nil {
			t.Fatal(err)
		}
		b := f.batch(other, newAssets(0, 3, "v1"))
		b.DryRun = true
		if d, err := s.CommitImportBatch(ctx, b); err != nil || d.Invalid != 3 {
			t.Fatalf("resumed dry run: %+v %v", d, err)
		}
		if n := len(f.byExternalID(t)); n != 0 {
			t.Fatalf("dry runs wrote %d assets", n)
		}
	})
}
