package assetmeta

import (
	"context"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/imports"
)

// WakeOnImport wraps the import runner's store so that every batch an
// import commits wakes the worker: the assets it made pending are probed
// at once instead of at the next poll.
func WakeOnImport(s imports.Store, w *Worker) imports.Store {
	return wakeStore{Store: s, w: w}
}

type wakeStore struct {
	imports.Store
	w *Worker
}

func (s wakeStore) CommitImportBatch(ctx context.Context, b labelhub.ImportBatch) (labelhub.ImportCounts, error) {
	d, err := s.Store.CommitImportBatch(ctx, b)
	if err == nil && !b.DryRun {
		s.w.Notify()
	}
	return d, err
}
