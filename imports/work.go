package imports

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/importer"
)

// decodeOptions builds the decoder's options for an import.
func (r *Runner) decodeOptions(ctx context.Context, orgID, projectID string, opts labelhub.ImportOptions) (importer.Options, error) {
	p, err := r.cfg.Store.GetProject(ctx, orgID, projectID)
	if err != nil {
		return importer.Options{}, err
	}
	o := importer.Options{Schema: p.CategorySchema.Index(), DefaultStorageID: opts.StorageID, Batches: opts.Batches, Limits: r.cfg.Limits}
	if r.cfg.Integrations != nil {
		if o.Storages, err = r.cfg.Integrations(ctx, orgID); err != nil {
			return o, err
		}
	}
	if opts.StorageID != "" {
		if _, ok := o.Storages[opts.StorageID]; !ok {
			return o, labelhub.Invalid("invalid import options", labelhub.FieldError{Path: "storageId", Message: "names no storage integration of your organisation"})
		}
	}
	for i, b := range opts.Batches {
		if err := labelhub.ValidateBatchName(b); err != nil {
			return o, labelhub.Invalid("invalid import options", labelhub.FieldError{Path: fmt.Sprintf("batches[%d]", i), Message: "is not a valid batch name"})
		}
	}
	return o, nil
}

// work runs the passes of an import: one, or for atomic imports a
// validation pass over the whole spool and then the write pass.
func (r *Runner) work(ctx context.Context, im labelhub.Import, src io.Reader) error {
	if im.Phase == "rollback" {
		return r.rollback(ctx, im)
	}
	if im.Options.Folder != nil {
		return r.folder(ctx, im)
	}
	opts, err := r.decodeOptions(ctx, im.OrgID, im.ProjectID, im.Options)
	if err != nil {
		return err
	}
	stage, err := r.cfg.Store.FirstStage(ctx, im.OrgID, im.ProjectID)
	if err != nil {
		return err
	}
	if im.Phase == "validate" {
		counts, err := r.pass(ctx, im, src, opts, stage, true)
		if err != nil {
			return err
		}
		if counts.Invalid > 0 {
			return labelhub.Errorf(labelhub.ECodeInvalid, "atomic import: %d of %d items are invalid; nothing was imported", counts.Invalid, counts.Received)
		}
		if err := r.cfg.Store.SetImportPhase(ctx, im.ID, r.cfg.ID, "write", true); err != nil {
			return err
		}
		im.Phase, im.NextIndex, im.Counts = "write", 0, labelhub.ImportCounts{}
		// The write pass reads the spool again, now complete.
		if c, ok := src.(io.Closer); ok {
			c.Close()
		}
		f, err := os.Open(r.spoolPath(im.ID))
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	counts, err := r.pass(ctx, im, src, opts, stage, im.Options.DryRun)
	if err != nil {
		return err
	}
	if im.Phase == "write" && counts.Invalid > 0 {
		// A duplicate appeared after the validation pass: take back what
		// this import added.
		if err := r.deleteAssets(ctx, im); err != nil {
			return err
		}
		return labelhub.Errorf(labelhub.ECodeInvalid, "atomic import: %d items became invalid while writing; what the import added was removed", counts.Invalid)
	}
	return nil
}

// pending is one batch being filled by the decoder.
type pending struct {
	b       labelhub.ImportBatch
	start   int64
	seen    map[string]int // externalId → position in b.Assets
	lastBad int64
}

// pass decodes the body, skipping the items before im.NextIndex (they
// were committed), and commits a batch every BatchSize items. It returns
// the import's counts at the end.
func (r *Runner) pass(ctx context.Context, im labelhub.Import, src io.Reader, opts importer.Options, stage string, dry bool) (labelhub.ImportCounts, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	total := im.Counts
	skip := im.NextIndex
	batches := map[string]string{} // name or id → batch id ("" for one a dry run would create)
	ch, writeErr := r.writer(ctx, cancel, &total)
	newPending := func(start int64) *pending {
		return &pending{start: start, lastBad: -1, seen: map[string]int{}, b: labelhub.ImportBatch{ImportID: im.ID, Runner: r.cfg.ID,
			OrgID: im.OrgID, ProjectID: im.ProjectID, StageID: stage, OnDuplicate: im.Options.OnDuplicate, DryRun: dry, Validation: im.Phase == "validate",
			Assets: make([]labelhub.NewAsset, 0, r.cfg.BatchSize)}}
	}
	cur := newPending(skip)
	flush := func(next int64) error {
		cur.b.NextIndex = next
		cur.b.Delta.Received = next - cur.start
		cur.b.Now = nowUTC()
		select {
		case ch <- cur.b:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur = newPending(next)
		return nil
	}
	cut := func(idx int64) error {
		if idx >= cur.start+int64(r.cfg.BatchSize) {
			return flush(idx)
		}
		return nil
	}
	bad := func(idx, line int64, path, msg string) {
		if cur.lastBad != idx {
			cur.lastBad = idx
			cur.b.Delta.Invalid++
		}
		cur.b.Errors = append(cur.b.Errors, labelhub.ImportError{Index: idx, Line: line, Path: path, Message: msg})
	}
	emit := func(it importer.Item) error {
		idx := int64(it.Index)
		if idx < skip {
			return nil
		}
		if err := cut(idx); err != nil {
			return err
		}
		a := labelhub.NewAsset{Index: idx, Line: int64(it.Line), ID: labelhub.NewID(), ExternalID: it.ExternalID, Type: it.Type,
			Data: it.URL, StorageID: it.StorageID, ProbeState: "none"}
		if it.Text != "" {
			a.Data = it.Text
		}
		if it.NeedsProbe {
			a.ProbeState = "pending"
		}
		a.Doc = assetDoc(&it)
		if it.PreLabels != nil {
			ans, err := json.Marshal(it.PreLabels.Answer())
			if err != nil {
				return err
			}
			a.Answer = string(ans)
		}
		for _, name := range it.Batches {
			id, ok := batches[name]
			if !ok {
				found, err := r.cfg.Store.ResolveBatches(ctx, im.OrgID, im.ProjectID, []string{name})
				if err != nil {
					return err
				}
				if id, ok = found[name]; !ok && im.Options.CreateBatches {
					if dry {
						ok = true
					} else {
						bt, err := r.cfg.Store.CreateBatch(ctx, im.OrgID, im.ProjectID, name)
						if labelhub.ErrorCode(err) == labelhub.ECodeConflict {
							found, err = r.cfg.Store.ResolveBatches(ctx, im.OrgID, im.ProjectID, []string{name})
							bt.ID = found[name]
						}
						if err != nil {
							return err
						}
						id, ok = bt.ID, true
					}
				}
				if ok {
					batches[name] = id
				}
			}
			if !ok {
				bad(idx, a.Line, fmt.Sprintf("[%d].batches", idx), fmt.Sprintf("no batch %q in this project; create it first or import with createBatches=true", name))
				return nil
			}
			if id != "" {
				a.BatchIDs = append(a.BatchIDs, id)
			}
		}
		if pos, dup := cur.seen[a.ExternalID]; dup && im.Options.OnDuplicate != labelhub.DuplicateAllow {
			switch im.Options.OnDuplicate {
			case labelhub.DuplicateSkip:
				cur.b.Delta.Valid++
				cur.b.Delta.Skipped++
			case labelhub.DuplicateUpdate:
				cur.b.Delta.Valid++
				cur.b.Delta.Updated++
				prev := cur.b.Assets[pos]
				a.ID, a.BatchIDs = prev.ID, mergeIDs(prev.BatchIDs, a.BatchIDs)
				cur.b.Assets[pos] = a
			default:
				bad(idx, a.Line, fmt.Sprintf("[%d].externalId", idx), fmt.Sprintf("item %d has externalId %q already (onDuplicate=error)", cur.b.Assets[pos].Index, a.ExternalID))
			}
			return nil
		}
		cur.seen[a.ExternalID] = len(cur.b.Assets)
		cur.b.Assets = append(cur.b.Assets, a)
		cur.b.Delta.Valid++
		return nil
	}
	report := func(e importer.ItemError) error {
		idx := int64(e.Index)
		if idx < skip {
			return nil
		}
		if err := cut(idx); err != nil {
			return err
		}
		bad(idx, int64(e.Line), e.Path, e.Message)
		return nil
	}
	counts, derr := importer.Decode(ctx, src, opts, emit, report)
	if cause := context.Cause(ctx); cause != nil && derr != nil && ctx.Err() != nil {
		derr = cause
	}
	end := int64(counts.Received)
	if derr != nil {
		// Commit what was decoded before the fatal error: the items up
		// to the last one seen.
		end = cur.start
		if n := len(cur.b.Assets); n > 0 {
			end = max(end, cur.b.Assets[n-1].Index+1)
		}
		if cur.lastBad >= 0 {
			end = max(end, cur.lastBad+1)
		}
	}
	if ctx.Err() == nil && end >= cur.start && (end > cur.start || len(cur.b.Errors) > 0 || end == 0) {
		_ = flush(end)
	}
	close(ch)
	werr := <-writeErr
	if werr != nil {
		return total, werr
	}
	if derr != nil {
		return total, derr
	}
	return total, ctx.Err()
}

// writer commits the batches sent on the channel it returns, in order,
// adding their counts to total; the first error cancels ctx, the rest of
// the batches are dropped, and the error comes on the second channel once
// the first is closed.
func (r *Runner) writer(ctx context.Context, cancel context.CancelCauseFunc, total *labelhub.ImportCounts) (chan<- labelhub.ImportBatch, <-chan error) {
	ch := make(chan labelhub.ImportBatch, 2)
	writeErr := make(chan error, 1)
	go func() {
		var werr error
		for b := range ch {
			if werr != nil {
				continue
			}
			d, err := r.cfg.Store.CommitImportBatch(ctx, b)
			if err != nil {
				werr = err
				cancel(err)
				continue
			}
			total.Add(d)
		}
		writeErr <- werr
	}()
	return ch, writeErr
}

func mergeIDs(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// assetDoc is the compact JSON document of an item's other fields.
func assetDoc(it *importer.Item) string {
	b := make([]byte, 0, 16+len(it.Metadata)+len(it.ContextData))
	b = append(b, '{')
	field := func(name string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if len(it.Dataset) > 0 {
		field("dataset")
		d, _ := json.Marshal(it.Dataset)
		b = append(b, d...)
	}
	if len(it.Metadata) > 0 {
		field("metadata")
		b = append(b, it.Metadata...)
	}
	if len(it.ContextData) > 0 {
		field("contextData")
		b = append(b, it.ContextData...)
	}
	if len(it.Attachments) > 0 {
		field("attachments")
		d, _ := json.Marshal(it.Attachments)
		b = append(b, d...)
	}
	if it.EditorType != "" {
		field("editorType")
		b = strconv.AppendQuote(b, it.EditorType) // one of a few plain words
	}
	return string(append(b, '}'))
}
