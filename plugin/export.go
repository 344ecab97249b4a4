package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labelhub/labelhub"
)

// ExportedAsset is one asset of an export (formats.md §3): its URL, ids,
// metadata, batches and task with the answer.
type ExportedAsset = labelhub.ExportedAsset

// Project is a project as the hub describes it, category schema included.
type Project = labelhub.Project

// maxExportLine bounds one asset of the export stream (its answer
// included); the hub's own limits keep answers far below it.
const maxExportLine = 256 << 20

// Project reads the run's project (its name and category schema) with the
// run token.
func (r *Request) Project(ctx context.Context) (Project, error) {
	var p Project
	err := r.getJSON(ctx, "read the project", "/api/v1/projects/"+url.PathEscape(r.ProjectID), nil, &p)
	return p, err
}

// ExportQuery is the export's query string for the run's filters and
// options: format=ndjson, batch (one per batch), stage, updatedAfter,
// updatedBefore, includeHistory and includeMetadata.
func (r *ExportRequest) ExportQuery() url.Values {
	q := url.Values{"format": {"ndjson"}}
	for _, b := range r.Batches {
		q.Add("batch", b)
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("stage", r.Stage)
	set("updatedAfter", r.UpdatedAfter)
	set("updatedBefore", r.UpdatedBefore)
	if r.IncludeHistory != nil {
		q.Set("includeHistory", strconv.FormatBool(*r.IncludeHistory))
	}
	if r.IncludeMetadata {
		q.Set("includeMetadata", "true")
	}
	return q
}

// Assets streams the run's export (jsonExport) from the hub, one asset at
// a time, over HTTP with the run token: the export is never held in
// memory, whatever its size. Iteration stops at the first error, which is
// yielded with a nil asset: a failed request, a line that is not an
// asset, or a stream the hub cut off (it does so when it fails midway, so
// an export is never silently short). Stopping the loop early closes the
// stream.
//
//	for a, err := range r.Assets(ctx) {
//		if err != nil {
//			return plugin.ExportResult{}, err
//		}
//		…
//	}
func (r *ExportRequest) Assets(ctx context.Context) iter.Seq2[*ExportedAsset, error] {
	return func(yield func(*ExportedAsset, error) bool) {
		res, err := r.call(ctx, "read the export", http.MethodGet, "/api/v1/projects/"+url.PathEscape(r.ProjectID)+"/export", r.ExportQuery(), "", nil)
		if err != nil {
			yield(nil, err)
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
		n := 0
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 {
				continue
			}
			n++
			a := new(ExportedAsset)
			if err := json.Unmarshal(line, a); err != nil {
				yield(nil, fmt.Errorf("plugin: the export's asset %d is not valid (the hub may have failed midway): %w", n, err))
				return
			}
			if !yield(a, nil) {
				return
			}
		}
		err = sc.Err()
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("plugin: the export's asset %d is longer than %d bytes", n+1, maxExportLine)
		} else if err != nil && !errors.Is(err, io.EOF) {
			err = fmt.Errorf("plugin: the export stream broke after %d assets: %w", n, err)
		}
		if err != nil {
			yield(nil, err)
		}
	}
}
