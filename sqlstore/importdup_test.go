package sqlstore_test

import (
	"context"
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
		race(t, imports, "", func(i int) error {
			s := a
			if i%2 == 1 {
				s = b
			}
			var err error
			counts[i], err = s.CommitImportBatch(context.Background(), f.batch(ims[i], newAssets(0, items, "v1")))
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
