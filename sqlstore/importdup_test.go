package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// TestConcurrentSkipImportsStoreEachExternalIDOnce: imports with
// onDuplicate=skip (what every folder import is) that commit batches of the
// same externalIds at the same moment, on two replicas, store each
// externalId once: one import adds it, the others count it skipped.
func TestConcurrentSkipImportsStoreEachExternalIDOnce(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, a, b *sqlstore.Store) {
		f := newImportFixture(t, a)
		const imports, items = 8, 200
		ims := make([]labelhub.Import, imports)
		for i := range ims {
			ims[i] = f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateSkip)
		}
		counts := make([]labelhub.ImportCounts, imports)
		batches := make([]labelhub.ImportBatch, imports) // made before: f.batch counts the fixture's items
		for i := range batches {
			batches[i] = f.batch(ims[i], newAssets(0, items, "v1"))
		}
		race(t, imports, "", func(i int) error {
			s := a
			if i%2 == 1 {
				s = b
			}
			var err error
			counts[i], err = s.CommitImportBatch(context.Background(), batches[i])
			return err
		})
		var imported, skipped int64
		for _, c := range counts {
			imported += c.Imported
			skipped += c.Skipped
		}
		got := f.byExternalID(t)
		n, err := a.CountTasks(context.Background(), f.org.ID, f.project.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != items || n != items || imported != items || skipped != items*(imports-1) {
			t.Fatalf("%d externalIds in %d assets, imported %d, skipped %d; want %d once each, imported %d, skipped %d",
				len(got), n, imported, skipped, items, items, items*(imports-1))
		}
	})
}

// TestDuplicateCheckByRangeAndByLookup: onDuplicate=error tells an
// externalId an earlier batch of the same import added from one the
// project had before, whether the batch's range of externalIds holds few
// of the project's assets (read as one range) or many (looked up one by
// one), and an externalId that two imports added counts as the project's.
func TestDuplicateCheckByRangeAndByLookup(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, s)
		named := func(ids ...string) []labelhub.NewAsset {
			out := newAssets(0, len(ids), "v1")
			for i := range out {
				out[i].ExternalID = ids[i]
			}
			return out
		}
		commit := func(im labelhub.Import, ids ...string) labelhub.ImportCounts {
			t.Helper()
			c, err := s.CommitImportBatch(ctx, f.batch(im, named(ids...)))
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		before := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		commit(before, newIDs("x-1", 100)...) // x-1000 … x-1099
		commit(before, "x-1050", "x-4")
		im := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateError)
		if c := commit(im, newIDs("x-3", 10)...); c.Imported != 10 || c.Invalid != 0 { // x-3000 … x-3009: past all
			t.Fatalf("new externalIds: %+v", c)
		}
		other := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		commit(other, "x-3009")
		// Few in range: x-3000 … x-3005 are all this import's.
		if c := commit(im, "x-3005", "x-3000", "x-3001", "x-3002", "x-3003", "x-3004"); c.Imported != 0 || c.Invalid != 6 {
			t.Fatalf("range of own externalIds: %+v", c)
		}
		// Few in range: x-3009 is this import's and another's, x-3008a
		// is new.
		if c := commit(im, "x-3009", "x-3008", "x-3008a"); c.Imported != 1 || c.Invalid != 2 {
			t.Fatalf("shared externalId: %+v", c)
		}
		// Many in range (x-1020 … x-3006 holds about 90): looked up.
		if c := commit(im, "x-3006", "x-1050", "x-1020", "x-2500", "x-4"); c.Imported != 1 || c.Invalid != 4 {
			t.Fatalf("spread externalIds: %+v", c)
		}
		var got []string
		pg, err := s.ListImportErrors(ctx, f.org.ID, im.ID, labelhub.PageRequest{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pg.Items {
			got = append(got, e.Message)
		}
		own := func(id string) string {
			return `an earlier item of this import has externalId "` + id + `" (onDuplicate=error)`
		}
		theirs := func(id string) string {
			return `an asset with externalId "` + id + `" exists already in this project (onDuplicate=error)`
		}
		want := []string{own("x-3005"), own("x-3000"), own("x-3001"), own("x-3002"), own("x-3003"), own("x-3004"),
			theirs("x-3009"), own("x-3008"),
			own("x-3006"), theirs("x-1050"), theirs("x-1020"), theirs("x-4")}
		if !slices.Equal(got, want) {
			t.Fatalf("errors\n%q\nwant\n%q", got, want)
		}
	})
}

// newIDs is n externalIds prefix000 … in order.
func newIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
