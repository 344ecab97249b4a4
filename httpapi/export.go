package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
)

// exportStore is what the export route needs of the store (sqlstore.Store).
type exportStore interface {
	WriteExportCounted(ctx context.Context, orgID, projectID string, f labelhub.ExportFilter, o labelhub.ExportOptions,
		start func(total int64) error, sign func(e *labelhub.ExportedAsset) error, fn func(b []byte) error) error
}

func (s *Server) routesExport() {
	s.handle("GET", "/api/v1/projects/{projectId}/export", s.exportProject)
}

// ExportRequest reads the query of GET /api/v1/projects/{projectId}/export
// (format, batch, stage, updatedAfter, updatedBefore, includeHistory,
// includeMetadata, urlTTL); every wrong value is a problem naming its
// parameter. Empty values are left out. Batches are the refs as given (ids or names) and the stage
// is not checked against the workflow: the caller resolves both.
func ExportRequest(q map[string][]string) (labelhub.ExportFilter, labelhub.ExportOptions, []string, error) {
	get := func(name string) string {
		if v := q[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := labelhub.ExportFilter{StageID: get("stage")}
	o := labelhub.ExportOptions{Format: labelhub.ExportJSON, IncludeHistory: true, URLTTL: labelhub.DefaultExportURLTTL}
	var probs labelhub.Problems
	switch v := get("format"); v {
	case "", labelhub.ExportJSON:
	case labelhub.ExportNDJSON:
		o.Format = v
	default:
		probs.Add("format", "must be json or ndjson")
	}
	for _, tf := range []struct {
		name string
		to   *time.Time
	}{{"updatedAfter", &f.UpdatedAfter}, {"updatedBefore", &f.UpdatedBefore}} {
		if v := get(tf.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				probs.Add(tf.name, "must be an RFC 3339 time such as 2026-11-22T12:00:00Z")
				continue
			}
			*tf.to = t
		}
	}
	for _, bf := range []struct {
		name string
		to   *bool
	}{{"includeHistory", &o.IncludeHistory}, {"includeMetadata", &o.IncludeMetadata}} {
		switch get(bf.name) {
		case "":
		case "true":
			*bf.to = true
		case "false":
			*bf.to = false
		default:
			probs.Add(bf.name, "must be true or false")
		}
	}
	if v := get("urlTTL"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > labelhub.MaxSignedURLTTL {
			probs.Add("urlTTL", "must be a whole number of seconds from 1 to %d (7 days, the longest a signed URL of S3 or GCS lives)", labelhub.MaxSignedURLTTL)
		} else {
			o.URLTTL = time.Duration(n) * time.Second
		}
	}
	var batches []string
	for _, b := range q["batch"] {
		if b != "" { // an empty value, like an empty stage, filters nothing (a form's "every batch")
			batches = append(batches, b)
		}
	}
	if len(batches) > 100 {
		probs.Add("batch", "at most 100 batches")
	}
	return f, o, batches, probs.Err("invalid export request")
}

// exportProject streams a project's export (docs/export.md). Problems with
// the request are answered before the first byte; an error after it
// cannot change the status any more, so the stream ends with a line that
// is not JSON and the connection is cut before the end of the body: the
// client sees an incomplete, invalid document, never a shorter valid one.
func (s *Server) exportProject(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.projectFor(r, a)
	if err != nil {
		return err
	}
	st, ok := s.cfg.Store.(exportStore)
	if !ok {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "this store cannot export")
	}
	f, o, batches, err := ExportRequest(r.URL.Query())
	if err != nil {
		return err
	}
	if f.StageID != "" {
		wf, err := s.cfg.Store.ProjectWorkflow(r.Context(), a.Org.ID, p.ID)
		if err != nil {
			return err
		}
		if wf.Index(f.StageID) < 0 {
			ids := make([]string, len(wf.Stages))
			for i, st := range wf.Stages {
				ids[i] = st.StageID
			}
			return labelhub.Invalid("invalid export request", labelhub.FieldError{Path: "stage",
				Message: "names no stage of this project's workflow; its stageIds are " + strings.Join(ids, ", ")})
		}
	}
	if len(batches) > 0 {
		found, err := s.cfg.Store.ResolveBatches(r.Context(), a.Org.ID, p.ID, batches)
		if err != nil {
			return err
		}
		for _, b := range batches {
			id := found[b]
			if id == "" {
				return labelhub.Invalid("invalid export request", labelhub.FieldError{Path: "batch", Message: fmt.Sprintf("%q names no batch (by id or name) of this project", b)})
			}
			f.BatchIDs = append(f.BatchIDs, id)
		}
	}
	ext, ctype := "json", "application/json"
	if o.Format == labelhub.ExportNDJSON {
		ext, ctype = "ndjson", "application/x-ndjson"
	}
	// The count comes from the snapshot the tasks are read in, so it is
	// exactly the objects that follow.
	sent := false
	start := func(total int64) error {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("X-Total-Count", strconv.FormatInt(total, 10))
		h.Set("Content-Disposition", `attachment; filename="export-`+p.ID+`.`+ext+`"`)
		w.WriteHeader(http.StatusOK)
		sent = true
		return nil
	}
	rc := http.NewResponseController(w)
	if err := s.writeExport(r.Context(), st, a.Org.ID, p.ID, f, o, w, rc.Flush, start); err != nil {
		if !sent {
			return err
		}
		if r.Context().Err() != nil {
			s.cfg.Logger.Info("export ended: the client went away", "project", p.ID, "err", err)
			return nil
		}
		s.cfg.Logger.Error("export failed mid-stream", "project", p.ID, "err", err)
		// Cut the connection so that the body does not end cleanly.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// writeExport writes a project's export to w: the JSON array or NDJSON of
// formats.md §3, asset URLs signed, w flushed (and flush called) after
// every page the store writes. It is the body of GET
// /api/v1/projects/{projectId}/export and the content of the zip of GET
// /v2/exports/{token}. When the store fails after the first byte (and ctx
// is not done), it writes a line that is not JSON before it returns the
// error, so that what was written is never a shorter valid document.
// With start, the store counts the tasks in the snapshot it reads them in
// and start gets the count before the first byte (not at all when the
// store fails before: nothing is written then).
func (s *Server) writeExport(ctx context.Context, st exportStore, orgID, projectID string, f labelhub.ExportFilter, o labelhub.ExportOptions,
	w io.Writer, flush func() error, start func(total int64) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	signer := &exportSigner{svc: s.cfg.Storage, orgID: orgID, ttl: o.URLTTL, buckets: map[string]*storage.Bucket{}}
	array := o.Format == labelhub.ExportJSON
	opened := false
	open := func() {
		if array {
			_, _ = bw.WriteString("[\n")
		}
		_ = bw.Flush()
		_ = flush()
		opened = true
	}
	var counted func(total int64) error
	if start == nil {
		open()
	} else {
		counted = func(total int64) error {
			if err := start(total); err != nil {
				return err
			}
			open()
			return nil
		}
	}
	// The store writes the objects (a page at a time), each as
	// encoding/json writes an ExportedAsset without HTML escaping.
	err := st.WriteExportCounted(ctx, orgID, projectID, f, o, counted, func(e *labelhub.ExportedAsset) error {
		if err := signer.sign(ctx, e); err != nil {
			return fmt.Errorf("asset %s: %w", e.AssetID, err)
		}
		return nil
	}, func(b []byte) error {
		if _, err := bw.Write(b); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return flush()
	})
	if err == nil && array {
		_, err = bw.WriteString("]\n")
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil && opened && ctx.Err() == nil {
		_, _ = bw.WriteString("\n!!! the export failed on the server; this output is incomplete and not valid JSON\n")
		_ = bw.Flush()
		_ = flush()
	}
	return err
}

// exportSigner turns the stored URLs of exported assets into URLs a
// downloader can use: public URLs and inline text stay as they are, URLs of
// a storage integration's bucket are signed for ttl. Buckets are opened
// once per export.
type exportSigner struct {
	svc     *storage.Service
	orgID   string
	ttl     time.Duration
	buckets map[string]*storage.Bucket
}

func (x *exportSigner) sign(ctx context.Context, e *labelhub.ExportedAsset) error {
	if e.StorageID == "" {
		return nil
	}
	b, ok := x.buckets[e.StorageID]
	if !ok {
		if x.svc == nil {
			return labelhub.Errorf(labelhub.ECodeUnavailable, "storage integrations are not configured on this server")
		}
		var err error
		if b, err = x.svc.Bucket(ctx, x.orgID, e.StorageID); err != nil {
			return err
		}
		x.buckets[e.StorageID] = b
	}
	in := b.Integration()
	one := func(u string) (string, error) {
		if u == "" {
			return u, nil
		}
		ref, err := assetref.Resolve(u, &in)
		if err != nil {
			return "", fmt.Errorf("the asset's URL no longer matches its storage integration: %v", err)
		}
		return b.SignedURL(ctx, ref.Key, x.ttl)
	}
	var err error
	if e.Asset, err = one(e.Asset); err != nil {
		return err
	}
	for i := range e.Dataset {
		if e.Dataset[i], err = one(e.Dataset[i]); err != nil {
			return err
		}
	}
	return nil
}
