package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/labelhub/labelhub"
)

func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Watch takes over stale running imports (their process died) now and
// then every StaleAfter/2 until ctx ends or the runner is closed.
func (r *Runner) Watch(ctx context.Context) {
	r.ResumeStale(ctx)
	t := time.NewTicker(r.cfg.StaleAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.ResumeStale(ctx)
		}
	}
}

// ResumeStale takes over the running imports whose heartbeat is older than
// StaleAfter (heartbeat 0: released by a shutdown) and resumes them, or
// marks them failed when their upload was cut.
func (r *Runner) ResumeStale(ctx context.Context) {
	ims, err := r.cfg.Store.ClaimStaleImports(ctx, r.cfg.ID, time.Now().Add(-r.cfg.StaleAfter))
	if err != nil {
		r.cfg.Logger.Error("claim stale imports", "err", err)
		return
	}
	for _, im := range ims {
		if err := r.resume(im); err != nil {
			r.cfg.Logger.Warn("import not resumed", "import", im.ID, "err", err)
		} else {
			r.cfg.Logger.Info("resuming import", "import", im.ID, "nextIndex", im.NextIndex, "phase", im.Phase)
		}
	}
}

// resume starts the job of an import this runner holds from its spool.
func (r *Runner) resume(im labelhub.Import) error {
	bg := context.Background()
	if im.Phase == "rollback" || im.Options.Folder != nil {
		// A folder import lists its bucket again; it has no spool.
		if !r.launch(im, func(context.Context) io.Reader { return nil }, nil, nil) {
			return r.cfg.Store.ReleaseImport(bg, im.ID, r.cfg.ID)
		}
		return nil
	}
	if !im.Uploaded {
		msg := (&uploadError{bytes: im.Bytes, err: errors.New("the hub stopped during the upload")}).Error()
		if fi, err := os.Stat(r.spoolPath(im.ID)); err == nil {
			msg = (&uploadError{bytes: fi.Size(), err: errors.New("the hub stopped during the upload")}).Error()
		}
		return r.cfg.Store.FinishImport(bg, im.ID, r.cfg.ID, labelhub.ImportFailed, msg)
	}
	f, err := os.Open(r.spoolPath(im.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return r.cfg.Store.FinishImport(bg, im.ID, r.cfg.ID, labelhub.ImportFailed,
			"the spooled body of this import is not on this server (another replica received it); resume it there, or roll back")
	}
	if err != nil {
		return err
	}
	if !r.launch(im, func(context.Context) io.Reader { return f }, func() { f.Close() }, nil) {
		f.Close()
		return r.cfg.Store.ReleaseImport(bg, im.ID, r.cfg.ID)
	}
	return nil
}

// Resume resumes a failed import (or a running one whose process died)
// from its spool, at its first uncommitted item.
func (r *Runner) Resume(ctx context.Context, orgID, id string) (labelhub.Import, error) {
	im, err := r.cfg.Store.GetImport(ctx, orgID, id)
	if err != nil {
		return im, err
	}
	if im.Kind != labelhub.ImportKindAssets {
		return im, labelhub.Errorf(labelhub.ECodeConflict, "a label import cannot be resumed; post the labels again")
	}
	if !im.Uploaded && im.Options.Folder == nil {
		return im, labelhub.Errorf(labelhub.ECodeConflict, "the upload of this import was interrupted after %d bytes; resume is not possible — roll back or import again", im.Bytes)
	}
	if _, err := os.Stat(r.spoolPath(id)); err != nil && im.Options.Folder == nil {
		return im, labelhub.Errorf(labelhub.ECodeConflict, "the spooled body of this import is gone; roll back or import again")
	}
	im, err = r.cfg.Store.ClaimImport(ctx, orgID, id, r.cfg.ID, time.Now().Add(-r.cfg.StaleAfter), labelhub.ImportFailed)
	if err != nil {
		return im, err
	}
	if err := r.resume(im); err != nil {
		return im, err
	}
	return im, nil
}

// Rollback removes the assets (with their tasks and batch links) an import
// added, then marks it rolled_back. It runs as a job; a crash in the middle
// is resumed like an import. Updates of existing assets
// (onDuplicate=update) are not undone, and batches it created stay.
func (r *Runner) Rollback(ctx context.Context, orgID, id string) (labelhub.Import, error) {
	im, err := r.cfg.Store.ClaimImport(ctx, orgID, id, r.cfg.ID, time.Now().Add(-r.cfg.StaleAfter),
		labelhub.ImportFailed, labelhub.ImportSucceeded, labelhub.ImportCancelled)
	if err != nil {
		return im, err
	}
	if err := r.cfg.Store.SetImportPhase(ctx, id, r.cfg.ID, "rollback", false); err != nil {
		return im, err
	}
	im.Phase = "rollback"
	if err := r.resume(im); err != nil {
		return im, err
	}
	return im, nil
}

func (r *Runner) rollback(ctx context.Context, im labelhub.Import) error {
	if err := r.deleteAssets(ctx, im); err != nil {
		return err
	}
	os.Remove(r.spoolPath(im.ID))
	if err := r.cfg.Store.FinishImport(context.WithoutCancel(ctx), im.ID, r.cfg.ID, labelhub.ImportRolledBack, ""); err != nil {
		return err
	}
	return errRolledBack
}

var errRolledBack = errors.New("rolled back")

func (r *Runner) deleteAssets(ctx context.Context, im labelhub.Import) error {
	for {
		n, err := r.cfg.Store.DeleteImportAssets(ctx, im.OrgID, im.ID, 5000)
		if err != nil {
			return fmt.Errorf("roll back: %w", err)
		}
		if n == 0 {
			return nil
		}
		if err := r.cfg.Store.HeartbeatImport(ctx, im.ID, r.cfg.ID, time.Now()); err != nil {
			return err
		}
	}
}
