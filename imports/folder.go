package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
)

// Folder imports: the job lists the bucket itself (a page of up to 1,000
// objects at a time) and feeds the writer directly, one batch per
// BatchSize objects listed, while earlier batches commit. Each batch also
// records the last key it covers (imports.resume_key), so a resumed job
// lists again and goes on after that key: the providers list in key
// order. onDuplicate=skip (the default) on externalId = object key makes a
// second import of the same folder add only the new objects.

// folderListPage is the page size of a folder listing: the most every
// provider gives.
const folderListPage = 1000

// validFolder checks a folder prefix and returns it with a trailing "/"
// ("" stays "": the bucket's root).
func validFolder(p *labelhub.Problems, path, folder string) string {
	switch {
	case folder == "":
		return ""
	case !utf8.ValidString(folder):
		p.Add(path, "is not valid UTF-8")
	case strings.HasPrefix(folder, "/"):
		p.Add(path, "must not start with \"/\": give the key prefix as the bucket shows it, e.g. \"images/2024/\" (\"\" is the bucket's root)")
	case len(folder) > assetref.MaxKeyLen:
		p.Add(path, "is longer than %d bytes", assetref.MaxKeyLen)
	default:
		for _, r := range folder {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				p.Add(path, "contains control character U+%04X", r)
				return folder
			}
		}
		for _, seg := range strings.Split(strings.TrimSuffix(folder, "/"), "/") {
			switch seg {
			case "..", ".":
				p.Add(path, "must not have a %q segment: folders are key prefixes, give the full prefix", seg)
				return folder
			case "":
				p.Add(path, "has an empty segment (\"//\")")
				return folder
			}
		}
	}
	if !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	return folder
}

// folderOptions checks a folder import request and returns its options.
func folderOptions(req labelhub.FolderImportRequest) (labelhub.ImportOptions, error) {
	var p labelhub.Problems
	if req.StorageID == "" {
		p.Add("storageId", "is required: the storage integration whose bucket to list")
	}
	src := &labelhub.FolderSource{Folder: validFolder(&p, "folder", req.Folder), Recursive: req.Recursive}
	if len(req.Files) > labelhub.MaxFolderImportFiles {
		p.Add("files", "has %d keys; at most %d can be selected (import their folder instead)", len(req.Files), labelhub.MaxFolderImportFiles)
	} else if len(req.Files) > 0 {
		if req.Recursive {
			p.Add("recursive", "must be false when files are selected")
		}
		seen := make(map[string]int, len(req.Files))
		for i, k := range req.Files {
			path := fmt.Sprintf("files[%d]", i)
			if err := assetref.CheckKey(k); err != nil {
				var ae *assetref.Error
				if errors.As(err, &ae) {
					p.Add(path, "%s", ae.Reason)
				} else {
					p.Add(path, "%s", err)
				}
				continue
			}
			if j, dup := seen[k]; dup {
				p.Add(path, "repeats files[%d] (%q)", j, k)
				continue
			}
			seen[k] = i
			if src.Folder != "" && !strings.HasPrefix(k, src.Folder) {
				p.Add(path, "%q is not under folder %q: give full object keys", k, src.Folder)
			}
		}
		src.Files = req.Files
	}
	opts := labelhub.ImportOptions{StorageID: req.StorageID, Batches: req.Batches, CreateBatches: req.CreateBatches,
		OnDuplicate: req.OnDuplicate, Folder: src}
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = labelhub.DuplicateSkip
	}
	if !validOnDuplicate(opts.OnDuplicate) {
		p.Add("onDuplicate", "must be allow, skip, update or error, not %q", opts.OnDuplicate)
	}
	return opts, p.Err("invalid folder import")
}

// StartFolder creates a folder import into the project and starts its job
// (docs/imports.md, "Folder imports"). It returns at once with the import,
// or with an error when the request is wrong (nothing is created).
func (r *Runner) StartFolder(ctx context.Context, orgID, userID, projectID string, req labelhub.FolderImportRequest) (labelhub.Import, error) {
	opts, err := folderOptions(req)
	if err != nil {
		return labelhub.Import{}, err
	}
	if r.cfg.Buckets == nil {
		return labelhub.Import{}, labelhub.Errorf(labelhub.ECodeUnavailable, "folder imports are not configured on this server")
	}
	if _, err := r.cfg.Store.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Import{}, err
	}
	if _, err := r.decodeOptions(ctx, orgID, projectID, opts); err != nil {
		return labelhub.Import{}, err
	}
	if err := r.checkBatches(ctx, orgID, projectID, opts); err != nil {
		return labelhub.Import{}, err
	}
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: orgID, ProjectID: projectID, Kind: labelhub.ImportKindAssets,
		State: labelhub.ImportRunning, Options: opts, CreatedBy: userID, Runner: r.cfg.ID}
	if err := r.create(ctx, im); err != nil {
		return labelhub.Import{}, err
	}
	if !r.launch(im, func(context.Context) io.Reader { return nil }, nil, nil) {
		_ = r.cfg.Store.ReleaseImport(context.WithoutCancel(ctx), im.ID, r.cfg.ID)
		return im, labelhub.Errorf(labelhub.ECodeUnavailable, "the hub is shutting down; the import starts at its next start")
	}
	return im, nil
}

// folder runs a folder import: list, make the batches, commit them.
func (r *Runner) folder(ctx context.Context, im labelhub.Import) error {
	if r.cfg.Buckets == nil {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "folder imports are not configured on this server")
	}
	src := im.Options.Folder
	b, err := r.cfg.Buckets(ctx, im.OrgID, im.Options.StorageID)
	if err != nil {
		return err
	}
	dataURL := assetref.URLs(b.Integration())
	stage, err := r.cfg.Store.FirstStage(ctx, im.OrgID, im.ProjectID)
	if err != nil {
		return err
	}
	batchIDs, err := r.batchIDs(ctx, im)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	total := im.Counts
	ch, writeErr := r.writer(ctx, cancel, &total)

	next := im.NextIndex
	newBatch := func() labelhub.ImportBatch {
		return labelhub.ImportBatch{ImportID: im.ID, Runner: r.cfg.ID, OrgID: im.OrgID, ProjectID: im.ProjectID, StageID: stage,
			OnDuplicate: im.Options.OnDuplicate, Assets: make([]labelhub.NewAsset, 0, min(r.cfg.BatchSize, 4096))}
	}
	cur, start := newBatch(), next
	flush := func(lastKey string) error {
		cur.NextIndex, cur.ResumeKey, cur.Now = next, lastKey, nowUTC()
		select {
		case ch <- cur:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur, start = newBatch(), next
		return nil
	}
	var lastKey string
	visit := func(f storage.File, missing error) error {
		idx := next
		next++
		lastKey = f.Key
		cur.Delta.Listed++
		typ := labelhub.AssetTypeOf(f.Key, f.ContentType)
		switch {
		case missing != nil:
			cur.Delta.Received++
			cur.Delta.Invalid++
			cur.Errors = append(cur.Errors, labelhub.ImportError{Index: idx, Path: fmt.Sprintf("files[%d]", idx), Message: missing.Error()})
		case typ == "":
			cur.Delta.SkippedNotAsset++
		default:
			cur.Delta.Received++
			if err := assetref.CheckKey(f.Key); err != nil {
				cur.Delta.Invalid++
				cur.Errors = append(cur.Errors, labelhub.ImportError{Index: idx, Path: fmt.Sprintf("[%d].externalId", idx),
					Message: fmt.Sprintf("object %q cannot be an asset: %s", f.Key, err)})
				break
			}
			a := labelhub.NewAsset{Index: idx, ID: labelhub.NewID(), ExternalID: f.Key, Type: typ, Data: dataURL(f.Key),
				Doc: "{}", StorageID: im.Options.StorageID, ProbeState: "none", BatchIDs: batchIDs}
			if typ == labelhub.AssetImage || typ == labelhub.AssetVideo {
				a.ProbeState = "pending" // their size (and frames) are read from the file
			}
			cur.Assets = append(cur.Assets, a)
			cur.Delta.Valid++
		}
		if next-start >= int64(r.cfg.BatchSize) {
			return flush(f.Key)
		}
		return nil
	}

	var lerr error
	switch {
	case len(src.Files) > 0:
		lerr = r.statFiles(ctx, b, src.Files, next, visit)
	default:
		lerr = listFolder(ctx, b, src, im.ResumeKey, visit)
	}
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		lerr = cause
	}
	if ctx.Err() == nil && next > start {
		// What was listed before a listing error is committed too.
		if err := flush(lastKey); err != nil && lerr == nil {
			lerr = err
		}
	}
	close(ch)
	if werr := <-writeErr; werr != nil {
		return werr
	}
	if lerr != nil {
		if ctx.Err() != nil {
			return lerr
		}
		return labelhub.Errorf(labelhub.ErrorCode(lerr), "listing %s stopped after %d objects: %s; the objects listed before are imported — resume the import or run it again to import the rest",
			where(b, src), total.Listed, errorMessage(lerr))
	}
	if total.Listed == 0 {
		return labelhub.Errorf(labelhub.ECodeNotFound, "no objects under %s: check the folder's name (keys are case-sensitive)", where(b, src))
	}
	return nil
}

// where names a folder import's source for messages.
func where(b *storage.Bucket, src *labelhub.FolderSource) string {
	s := fmt.Sprintf("%q in bucket %q", src.Folder, b.Storage.Bucket)
	if src.Folder == "" {
		s = fmt.Sprintf("the root of bucket %q", b.Storage.Bucket)
	}
	if !src.Recursive && len(src.Files) == 0 {
		s += " (this level only; recursive=true lists the sub-folders too)"
	}
	return s
}

func errorMessage(err error) string {
	var le *labelhub.Error
	if errors.As(err, &le) {
		return le.Error()
	}
	return err.Error()
}

// listFolder lists the objects under src.Folder (one level, or every
// level when recursive), in key order, skipping keys up to after (the
// last key a crashed run committed).
func listFolder(ctx context.Context, b *storage.Bucket, src *labelhub.FolderSource, after string, visit func(storage.File, error) error) error {
	fn := func(f storage.File) error {
		if after != "" && f.Key <= after {
			return nil
		}
		return visit(f, nil)
	}
	if src.Recursive {
		return b.Walk(ctx, src.Folder, fn)
	}
	token := ""
	for {
		page, err := b.ListFolder(ctx, src.Folder, token, folderListPage)
		if err != nil {
			return err
		}
		for _, f := range page.Files {
			if err := fn(f); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		token = page.NextPageToken
	}
}

// statFiles looks the selected keys up from index from on; a key with no
// object is an invalid item.
func (r *Runner) statFiles(ctx context.Context, b *storage.Bucket, files []string, from int64, visit func(storage.File, error) error) error {
	for _, k := range files[min(from, int64(len(files))):] {
		f, err := b.Stat(ctx, k)
		if err != nil {
			if labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
				return err
			}
			err = fmt.Errorf("no object %q in bucket %q", k, b.Storage.Bucket)
			f = storage.File{Key: k}
		}
		if err := visit(f, err); err != nil {
			return err
		}
	}
	return nil
}

// batchIDs resolves the import's batches once, creating those it may.
func (r *Runner) batchIDs(ctx context.Context, im labelhub.Import) ([]string, error) {
	if len(im.Options.Batches) == 0 {
		return nil, nil
	}
	found, err := r.cfg.Store.ResolveBatches(ctx, im.OrgID, im.ProjectID, im.Options.Batches)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, name := range im.Options.Batches {
		id, ok := found[name]
		if !ok {
			if !im.Options.CreateBatches {
				return nil, labelhub.Errorf(labelhub.ECodeInvalid, "no batch %q in this project; create it first or import with createBatches=true", name)
			}
			bt, err := r.cfg.Store.CreateBatch(ctx, im.OrgID, im.ProjectID, name)
			if labelhub.ErrorCode(err) == labelhub.ECodeConflict {
				again, rerr := r.cfg.Store.ResolveBatches(ctx, im.OrgID, im.ProjectID, []string{name})
				bt.ID, err = again[name], rerr
			}
			if err != nil {
				return nil, err
			}
			id = bt.ID
		}
		if !containsID(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Cancel stops a running import at a batch boundary, wherever it runs:
// its state becomes cancelled, what it committed stays (a rollback removes
// it; a folder import run again completes it). It waits for the job when
// this runner runs it.
func (r *Runner) Cancel(ctx context.Context, orgID, id string) (labelhub.Import, error) {
	im, err := r.cfg.Store.GetImport(ctx, orgID, id)
	if err != nil {
		return im, err
	}
	if im.State != labelhub.ImportRunning && im.State != labelhub.ImportQueued {
		return im, labelhub.Errorf(labelhub.ECodeConflict, "the import is %s; only a running import can be cancelled", im.State)
	}
	if im.Phase == "rollback" {
		return im, labelhub.Errorf(labelhub.ECodeConflict, "the import is being rolled back; a rollback cannot be cancelled")
	}
	// Take the import over (from whichever runner holds it), then end it:
	// the holder's next commit finds it is no longer its own and stops.
	for attempt := 0; ; attempt++ {
		_, err = r.cfg.Store.ClaimImport(ctx, orgID, id, r.cfg.ID, time.Now().Add(time.Hour), labelhub.ImportQueued)
		if err == nil {
			break
		}
		if attempt == 10 || labelhub.ErrorCode(err) != labelhub.ECodeConflict {
			return im, err
		}
		if cur, gerr := r.cfg.Store.GetImport(ctx, orgID, id); gerr == nil && cur.State != labelhub.ImportRunning {
			return cur, labelhub.Errorf(labelhub.ECodeConflict, "the import is %s; only a running import can be cancelled", cur.State)
		}
	}
	if err := r.cfg.Store.FinishImport(ctx, id, r.cfg.ID, labelhub.ImportCancelled, "cancelled; what was imported before stays: run the import again to complete it, or roll it back"); err != nil {
		if cur, gerr := r.cfg.Store.GetImport(ctx, orgID, id); gerr == nil && cur.State != labelhub.ImportRunning {
			return cur, labelhub.Errorf(labelhub.ECodeConflict, "the import ended (%s) before it could be cancelled", cur.State)
		}
		return im, err
	}
	r.mu.Lock()
	j := r.jobs[id]
	r.mu.Unlock()
	if j != nil {
		j.cancel()
		select {
		case <-j.done:
		case <-ctx.Done():
			return im, ctx.Err()
		}
	}
	os.Remove(r.spoolPath(id))
	return r.cfg.Store.GetImport(ctx, orgID, id)
}
