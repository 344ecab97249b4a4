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
	"time"
)

// ImportItem is one asset of an import file (formats.md §1).
type ImportItem struct {
	// Data is the asset's URL: https://…, or s3://, gs://, azblob:// and
	// the private forms when the import names a storage integration.
	Data string `json:"data,omitempty"`
	// ExternalID is the user's name for the asset; with OnDuplicate
	// "skip" (the default) an item whose ExternalID the project has
	// already is left out, so running the same import twice adds nothing.
	ExternalID  string          `json:"externalId"`
	Metadata    map[string]any  `json:"metadata,omitempty"`
	ContextData map[string]any  `json:"contextData,omitempty"`
	Batches     []string        `json:"batches,omitempty"`
	Dataset     []string        `json:"dataset,omitempty"`
	PreLabels   json.RawMessage `json:"preLabels,omitempty"`
	// Storage names the storage integration of this item's URL, when it
	// is not SubmitOptions.StorageID.
	Storage string `json:"storage,omitempty"`
}

// SubmitOptions are the import's options (the query of POST
// /api/v1/projects/{projectId}/imports).
type SubmitOptions struct {
	// StorageID is the storage integration that resolves the items'
	// private URLs; a file-explorer run's IntegrationID, usually.
	StorageID string
	// OnDuplicate is skip (the default here), update, error or allow.
	OnDuplicate string
	// Batches every item is added to; nil: the run's Batches.
	Batches []string
	// CreateBatches creates batches named but not found.
	CreateBatches bool
	// PollInterval is how often the import is read while it runs [250ms].
	PollInterval time.Duration
}

// ImportSummary is how an import ended: the hub's counts (formats.md §1)
// and its first errors.
type ImportSummary struct {
	ImportID string `json:"importId"`
	State    string `json:"state"` // succeeded, failed, cancelled, …
	Sent     int64  `json:"sent"`  // items sent to the hub
	Error    string `json:"error,omitempty"`
	Counts   struct {
		Received        int64 `json:"received"`
		Valid           int64 `json:"valid"`
		Imported        int64 `json:"imported"`
		Updated         int64 `json:"updated"`
		Skipped         int64 `json:"skipped"` // already in the project (onDuplicate=skip)
		Invalid         int64 `json:"invalid"`
		Listed          int64 `json:"listed"`          // folder imports: objects listed
		SkippedNotAsset int64 `json:"skippedNotAsset"` // folder imports: not an asset type
	} `json:"counts"`
	// Errors are the import's first errors: the item, the field and what
	// is wrong.
	Errors []ImportProblem `json:"errors"`
}

// ImportProblem is one invalid item of an import.
type ImportProblem struct {
	Index   int64  `json:"index"`
	Line    int64  `json:"line,omitempty"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// finalImport says whether an import state is an end.
func finalImport(state string) bool {
	switch state {
	case "succeeded", "failed", "cancelled", "rolled_back":
		return true
	}
	return false
}

// SubmitAssets imports items into the run's project with the run token:
// they are streamed as NDJSON to POST /api/v1/projects/{projectId}/imports
// while items yields them (one item in memory at a time, whatever their
// number), then the import is followed to its end, with its progress
// reported as the run's. An error from items stops the upload: the hub
// then fails the import and nothing of it is committed past what it had
// read. When ctx ends while the hub works on the import, the import is
// cancelled. The summary's State says how the import ended; an import
// that did not succeed is an error too.
func (r *Request) SubmitAssets(ctx context.Context, opts SubmitOptions, items iter.Seq2[ImportItem, error]) (ImportSummary, error) {
	q := url.Values{}
	if opts.StorageID != "" {
		q.Set("storageId", opts.StorageID)
	}
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = "skip"
	}
	q.Set("onDuplicate", opts.OnDuplicate)
	batches := opts.Batches
	if batches == nil {
		batches = r.Batches
	}
	for _, b := range batches {
		q.Add("batches", b)
	}
	if opts.CreateBatches {
		q.Set("createBatches", "true")
	}
	pr, pw := io.Pipe()
	var sent int64
	var itemErr error
	written := make(chan struct{})
	go func() {
		defer close(written)
		bw := bufio.NewWriterSize(pw, 64<<10)
		enc := json.NewEncoder(bw)
		for it, err := range items {
			if err != nil {
				itemErr = err
				pw.CloseWithError(err)
				return
			}
			if err := enc.Encode(it); err != nil {
				pw.CloseWithError(err)
				return
			}
			sent++
		}
		pw.CloseWithError(bw.Flush())
	}()
	var sum ImportSummary
	res, err := r.call(ctx, "send the import", http.MethodPost, "/api/v1/projects/"+url.PathEscape(r.ProjectID)+"/imports", q, "application/x-ndjson", pr)
	pr.CloseWithError(errors.New("the upload ended")) // stops the writer if the call ended early
	<-written
	if itemErr != nil {
		if res != nil {
			res.Body.Close()
		}
		return sum, fmt.Errorf("plugin: the import stopped after %d items: %w", sent, itemErr)
	}
	if err != nil {
		return sum, err
	}
	err = json.NewDecoder(res.Body).Decode(&sum)
	res.Body.Close()
	if err != nil {
		return sum, fmt.Errorf("plugin: the hub's answer to the import: %w", err)
	}
	sum.Sent = sent
	r.Log.Info("import sent", "importId", sum.ImportID, "items", sent)
	return r.follow(ctx, sum, opts.PollInterval)
}

// FollowImport reads an import of the run's project (one the run started:
// SubmitAssets does it already) every interval (0: 250ms) until it ends,
// reporting its progress as the run's. When ctx ends first (the run was
// cancelled), it cancels the import and says so. An import that did not
// succeed is an error, with the summary.
func (r *Request) FollowImport(ctx context.Context, importID string, every time.Duration) (ImportSummary, error) {
	var sum ImportSummary
	if err := r.getJSON(ctx, "follow the import", "/api/v1/imports/"+url.PathEscape(importID), nil, &sum); err != nil {
		return sum, err
	}
	return r.follow(ctx, sum, every)
}

// Progress is the import's progress as a run reports it: done and total
// items (a folder import's objects listed so far) and a line of counts.
func (s ImportSummary) Progress() (done, total int64, message string) {
	c := s.Counts
	done = c.Imported + c.Updated + c.Skipped + c.Invalid + c.SkippedNotAsset
	total = max(s.Sent, c.Received+c.SkippedNotAsset, c.Listed, done)
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	message = "imported " + n(c.Imported) + " · already there " + n(c.Skipped) + " · invalid " + n(c.Invalid)
	if c.Listed > 0 {
		message = "listed " + n(c.Listed) + " · " + message + " · not assets " + n(c.SkippedNotAsset)
	}
	if c.Updated > 0 {
		message += " · updated " + n(c.Updated)
	}
	return done, total, message
}

func (r *Request) follow(ctx context.Context, sum ImportSummary, every time.Duration) (ImportSummary, error) {
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	sent := sum.Sent
	t := time.NewTicker(every)
	defer t.Stop()
	for !finalImport(sum.State) {
		r.Progress(sum.Progress())
		select {
		case <-ctx.Done():
			r.cancelImport(sum.ImportID)
			return sum, fmt.Errorf("the run was cancelled: the import %s was cancelled after %d assets were imported (import again to add the rest; those already there are skipped)",
				sum.ImportID, sum.Counts.Imported)
		case <-t.C:
		}
		var next ImportSummary
		if err := r.getJSON(ctx, "follow the import", "/api/v1/imports/"+url.PathEscape(sum.ImportID), nil, &next); err != nil {
			if ctx.Err() != nil {
				continue // cancelled: handled above
			}
			return sum, err
		}
		next.Sent = sent
		sum = next
	}
	done, _, msg := sum.Progress()
	r.Progress(done, done, msg)
	if sum.State != "succeeded" {
		msg := sum.Error
		if msg == "" {
			msg = "no reason given"
		}
		return sum, fmt.Errorf("plugin: the import %s ended %s: %s", sum.ImportID, sum.State, msg)
	}
	return sum, nil
}

// cancelImport asks the hub to stop an import, with a context of its own:
// the run's has ended.
func (r *Request) cancelImport(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := r.call(ctx, "cancel the import", http.MethodPost, "/api/v1/imports/"+url.PathEscape(id)+"/cancel", nil, "", nil)
	if err != nil {
		r.Log.Warn("the import could not be cancelled", "importId", id, "err", err)
		return
	}
	res.Body.Close()
	r.Log.Info("import cancelled", "importId", id)
}
