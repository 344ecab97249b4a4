package imports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/labelhub/labelhub"
)

// ImportLabels reads a label import (docs/formats.md §2: a JSON array of
// entries naming assets by externalId) from body as a stream, validates
// each entry against the project's schema, sets the answer of the tasks of
// every matching asset, and records the outcome as an import of kind
// "labels" with the same counts and errors as an asset import. It returns
// when done.
func (r *Runner) ImportLabels(ctx context.Context, orgID, userID, projectID string, body io.Reader) (labelhub.Import, error) {
	p, err := r.cfg.Store.GetProject(ctx, orgID, projectID)
	if err != nil {
		return labelhub.Import{}, err
	}
	idx := p.CategorySchema.Index()
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: orgID, ProjectID: projectID, Kind: labelhub.ImportKindLabels,
		State: labelhub.ImportRunning, Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateUpdate}, CreatedBy: userID, Runner: r.cfg.ID}
	if err := r.create(ctx, im); err != nil {
		return im, err
	}
	bg := context.WithoutCancel(ctx)
	fail := func(msg string) (labelhub.Import, error) {
		_ = r.cfg.Store.FinishImport(bg, im.ID, r.cfg.ID, labelhub.ImportFailed, msg)
		return r.cfg.Store.GetImport(bg, orgID, im.ID)
	}
	dec := json.NewDecoder(body)
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return fail("the body must be a JSON array of label entries (docs/formats.md §2)")
	}
	var (
		ups   []labelhub.LabelUpdate
		batch labelhub.ImportBatch
		index int64
	)
	reset := func() {
		ups = ups[:0]
		batch = labelhub.ImportBatch{ImportID: im.ID, Runner: r.cfg.ID, OrgID: orgID, ProjectID: projectID}
	}
	reset()
	commit := func() error {
		// The answers, what they replace (for a rollback), the counts and
		// the errors go in one transaction.
		batch.NextIndex, batch.Now = index, nowUTC()
		if _, _, err := r.cfg.Store.CommitLabelBatch(ctx, batch, userID, ups); err != nil {
			return err
		}
		reset()
		return nil
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			_ = commit()
			return fail(fmt.Sprintf("label import, item %d: %v", index, err))
		}
		batch.Delta.Received++
		path := fmt.Sprintf("[%d]", index)
		e, err := labelhub.DecodeLabelEntry(raw)
		var fes []labelhub.FieldError
		if err != nil {
			var le *labelhub.Error
			if errors.As(err, &le) && len(le.Details) > 0 {
				fes = labelhub.PrefixFieldErrors(path, le.Details)
			} else {
				fes = []labelhub.FieldError{{Path: path, Message: err.Error()}}
			}
		} else {
			fes = e.Validate(idx, labelhub.LabelLimits{}, path)
		}
		if len(fes) > 0 {
			batch.Delta.Invalid++
			for _, fe := range fes {
				batch.Errors = append(batch.Errors, labelhub.ImportError{Index: index, Path: fe.Path, Message: fe.Message})
			}
		} else {
			ans, err := json.Marshal(e.Labels.Answer())
			if err != nil {
				return fail(err.Error())
			}
			batch.Delta.Valid++
			ups = append(ups, labelhub.LabelUpdate{Index: index, ExternalID: e.ExternalID, Answer: string(ans)})
		}
		index++
		if len(ups) >= r.cfg.BatchSize || len(batch.Errors) >= r.cfg.BatchSize {
			if err := commit(); err != nil {
				return fail(err.Error())
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		_ = commit()
		return fail(fmt.Sprintf("label import: the array is not closed properly: %v", err))
	}
	if err := commit(); err != nil {
		return fail(err.Error())
	}
	if err := r.cfg.Store.FinishImport(bg, im.ID, r.cfg.ID, labelhub.ImportSucceeded, ""); err != nil {
		return im, err
	}
	return r.cfg.Store.GetImport(bg, orgID, im.ID)
}
