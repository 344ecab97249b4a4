package converters

import (
	"log/slog"
	"sort"
	"sync"

	"github.com/labelhub/labelhub"
)

// DefaultMaxLogged is how many skipped items a Report logs one by one;
// the rest are only counted.
const DefaultMaxLogged = 100

// Report records what a converter wrote and what it skipped. Skipped
// assets and objects are logged one by one (a warning naming the asset,
// the object and the reason) up to MaxLogged, then only counted; Info
// summarises the counts for the run's result. A Report is safe for use by
// several goroutines; its zero value logs nothing and is ready to use.
type Report struct {
	Log       *slog.Logger // nil: nothing is logged
	MaxLogged int          // 0: DefaultMaxLogged

	mu      sync.Mutex
	logged  int
	counts  map[string]int64
	skipped map[string]int64 // by reason
}

// NewReport returns a Report logging to log (which may be nil).
func NewReport(log *slog.Logger) *Report { return &Report{Log: log} }

// Count adds n to a count of what was written ("images", "annotations",
// "rows", …), shown in Info.
func (r *Report) Count(what string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int64{}
	}
	r.counts[what] += n
}

// Counted returns a count of Count.
func (r *Report) Counted(what string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[what]
}

// SkipAsset reports an asset left out of the export, with the reason
// ("no image size in its metadata").
func (r *Report) SkipAsset(a *labelhub.ExportedAsset, reason string) {
	r.skip("assetsSkipped", "assets: "+reason, "asset skipped: "+reason, a, nil)
}

// SkipObject reports an object (or another item, such as a zone of a
// segmentation) left out of the export, with the reason ("a polyline:
// not a shape COCO has").
func (r *Report) SkipObject(a *labelhub.ExportedAsset, o *labelhub.Object, reason string) {
	r.skip("objectsSkipped", "objects: "+reason, "object skipped: "+reason, a, o)
}

// Note reports a change made to an object so that the format accepts it
// ("box clipped to the image"); it is logged and counted like a skip but
// the object is exported.
func (r *Report) Note(a *labelhub.ExportedAsset, o *labelhub.Object, what string) {
	r.skip("objectsChanged", "changed: "+what, "object changed: "+what, a, o)
}

func (r *Report) skip(counter, reason, msg string, a *labelhub.ExportedAsset, o *labelhub.Object) {
	r.mu.Lock()
	if r.skipped == nil {
		r.skipped = map[string]int64{}
	}
	r.skipped[reason]++
	if r.counts == nil {
		r.counts = map[string]int64{}
	}
	r.counts[counter]++
	max := r.MaxLogged
	if max <= 0 {
		max = DefaultMaxLogged
	}
	r.logged++
	n := r.logged
	r.mu.Unlock()
	if r.Log == nil {
		return
	}
	if n > max {
		if n == max+1 {
			r.Log.Warn("more items skipped or changed; only counted from here on (see the run's result)", "logged", max)
		}
		return
	}
	attrs := []any{"assetId", a.AssetID, "externalId", a.ExternalID}
	if o != nil {
		attrs = append(attrs, "objectId", o.ObjectID, "title", o.Title)
	}
	r.Log.Warn(msg, attrs...)
}

// Info summarises the report for ExportResult.Info: the counts of Count,
// "assetsSkipped" and "objectsSkipped" (0 when none), "objectsChanged"
// when any Note was made, and "skipped" — the number of items per reason
// ("assets: no image size in its metadata": 3, "changed: box clipped to
// the image": 1) when anything was skipped or changed.
func (r *Report) Info() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := map[string]any{"assetsSkipped": int64(0), "objectsSkipped": int64(0)}
	for k, v := range r.counts {
		info[k] = v
	}
	if len(r.skipped) > 0 {
		reasons := make([]string, 0, len(r.skipped))
		for k := range r.skipped {
			reasons = append(reasons, k)
		}
		sort.Strings(reasons)
		m := make(map[string]int64, len(reasons))
		for _, k := range reasons {
			m[k] = r.skipped[k]
		}
		info["skipped"] = m
	}
	return info
}
