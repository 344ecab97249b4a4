package sqlstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// TestExportCountIsWhatIsWritten: tasks an import commits after a counted
// export has counted are neither counted nor written: the count and the
// pages come from one snapshot, so X-Total-Count never lies about the
// export that follows it.
func TestExportCountIsWhatIsWritten(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, s)
		im := f.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
		if _, err := s.CommitImportBatch(ctx, f.batch(im, newAssets(0, 50, "v1"))); err != nil {
			t.Fatal(err)
		}
		total, lines := int64(-1), 0
		err := s.WriteExportCounted(ctx, f.org.ID, f.project.ID, labelhub.ExportFilter{}, labelhub.ExportOptions{Format: labelhub.ExportNDJSON},
			func(n int64) error {
				total = n
				// Another import commits between the count and the pages.
				_, err := s.CommitImportBatch(ctx, f.batch(im, newAssets(50, 30, "v1")))
				return err
			}, nil, func(b []byte) error {
				lines += bytes.Count(b, []byte("\n"))
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if total != 50 || lines != 50 {
			t.Fatalf("counted %d, wrote %d objects; want 50 and 50", total, lines)
		}
		if n, err := s.CountExport(ctx, f.org.ID, f.project.ID, labelhub.ExportFilter{}); err != nil || n != 80 {
			t.Fatalf("after the export: %d tasks (%v), want 80", n, err)
		}
	})
}
