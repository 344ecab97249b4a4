package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// probeFixture is a project with an import whose assets are given.
type probeFixture struct {
	org     labelhub.Organization
	project labelhub.Project
	im      labelhub.Import
}

func newProbeFixture(t *testing.T, s *sqlstore.Store, email string) probeFixture {
	t.Helper()
	ctx := context.Background()
	org, user, _ := newOrg(t, s, email)
	name := "probe"
	p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: org.ID, ProjectID: p.ID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
		Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateUpdate}, CreatedBy: user.ID, Runner: "test"}
	if err := s.CreateImport(ctx, im); err != nil {
		t.Fatal(err)
	}
	return probeFixture{org: org, project: p, im: im}
}

// add commits assets (externalId → doc) with the given probe state; the
// URL is https://example.com/<externalId>.
func (f probeFixture) add(t *testing.T, s *sqlstore.Store, state string, docs map[string]string) map[string]string {
	t.Helper()
	b := labelhub.ImportBatch{ImportID: f.im.ID, Runner: "test", OrgID: f.org.ID, ProjectID: f.project.ID, StageID: "start",
		OnDuplicate: labelhub.DuplicateUpdate, Now: time.Now()}
	ids := map[string]string{}
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, ext := range keys {
		id := labelhub.NewID()
		ids[ext] = id
		b.Assets = append(b.Assets, labelhub.NewAsset{Index: int64(i), ID: id, ExternalID: ext, Type: labelhub.AssetTypeOf(ext, ""),
			Data: "https://example.com/" + ext, Doc: docs[ext], ProbeState: state})
	}
	b.Delta = labelhub.ImportCounts{Received: int64(len(keys)), Valid: int64(len(keys))}
	b.NextIndex = int64(len(keys))
	if _, err := s.CommitImportBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return ids
}

func claimIDs(list []sqlstore.ProbeTask) []string {
	out := []string{}
	for _, pt := range list {
		out = append(out, pt.AssetID)
	}
	sort.Strings(out)
	return out
}

func TestProbeClaimLeaseAndFinish(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newProbeFixture(t, s, "probe@example.com")
		ids := f.add(t, s, "pending", map[string]string{
			"a.png": `{"metadata":{"width":640,"camera":"north"},"contextData":{"x":1}}`,
			"b.mp4": `{}`,
			"c.jpg": `{"metadata":{"width":null}}`,
		})
		f.add(t, s, "none", map[string]string{"d.png": `{"metadata":{"width":1,"height":2}}`})
		t0 := time.Now()
		if due, ok, err := s.NextProbeDue(ctx); err != nil || !ok || due.After(t0) {
			t.Fatalf("NextProbeDue = %v, %v, %v; want due now", due, ok, err)
		}
		first, err := s.ClaimProbes(ctx, t0, time.Minute, 2)
		if err != nil || len(first) != 2 {
			t.Fatalf("claim 2: %d, %v", len(first), err)
		}
		rest, err := s.ClaimProbes(ctx, t0, time.Minute, 10)
		if err != nil || len(rest) != 1 {
			t.Fatalf("claim the rest: %d, %v", len(rest), err)
		}
		got := claimIDs(append(first, rest...))
		want := []string{ids["a.png"], ids["b.mp4"], ids["c.jpg"]}
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("claimed %v, want the three pending assets %v", got, want)
		}
		// Within the lease nothing is due; after it, every claim is due again.
		if again, err := s.ClaimProbes(ctx, t0.Add(59*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("claimed %d assets again within the lease (%v)", len(again), err)
		}
		byExt := map[string]sqlstore.ProbeTask{}
		for _, pt := range append(first, rest...) {
			for ext, id := range ids {
				if id == pt.AssetID {
					byExt[ext] = pt
				}
			}
		}
		if pt := byExt["a.png"]; pt.OrgID != f.org.ID || pt.Type != labelhub.AssetImage || pt.URL != "https://example.com/a.png" ||
			string(pt.Metadata) != `{"width":640,"camera":"north"}` || pt.Attempts != 0 || pt.Claim == "" {
			t.Fatalf("task of a.png = %+v", pt)
		}
		retaken, err := s.ClaimProbes(ctx, t0.Add(61*time.Second), time.Minute, 10)
		if err != nil || len(retaken) != 3 {
			t.Fatalf("after the lease: claimed %d (%v), want 3", len(retaken), err)
		}
		// The old claims no longer hold.
		for _, pt := range append(first, rest...) {
			if ok, err := s.FinishProbe(ctx, pt, sqlstore.ProbeOutcome{State: sqlstore.ProbeDone}); err != nil || ok {
				t.Fatalf("an expired claim finished the probe of %s: %v, %v", pt.AssetID, ok, err)
			}
		}
		for _, pt := range retaken {
			byExt[strings.TrimPrefix(pt.URL, "https://example.com/")] = pt
		}
		fill := []sqlstore.ProbeValue{{Key: "width", Value: json.RawMessage("1920")}, {Key: "height", Value: json.RawMessage("1080")}}
		if ok, err := s.FinishProbe(ctx, byExt["a.png"], sqlstore.ProbeOutcome{State: sqlstore.ProbeDone, Fill: fill}); err != nil || !ok {
			t.Fatalf("finish a.png: %v, %v", ok, err)
		}
		if ok, err := s.FinishProbe(ctx, byExt["c.jpg"], sqlstore.ProbeOutcome{State: sqlstore.ProbeDone, Fill: fill}); err != nil || !ok {
			t.Fatalf("finish c.jpg: %v, %v", ok, err)
		}
		if ok, err := s.FinishProbe(ctx, byExt["b.mp4"], sqlstore.ProbeOutcome{State: sqlstore.ProbeFailed, Error: "not a video: a PNG image"}); err != nil || !ok {
			t.Fatalf("finish b.mp4: %v, %v", ok, err)
		}
		a, err := s.GetAsset(ctx, f.org.ID, ids["a.png"])
		if err != nil {
			t.Fatal(err)
		}
		// The user's width stays; height is added after the user's keys.
		if string(a.Metadata) != `{"width":640,"camera":"north","height":1080}` || string(a.ContextData) != `{"x":1}` || a.Probe.State != "done" || a.Probe.Error != "" {
			t.Fatalf("a.png = metadata %s contextData %s probe %+v", a.Metadata, a.ContextData, a.Probe)
		}
		c, _ := s.GetAsset(ctx, f.org.ID, ids["c.jpg"])
		if string(c.Metadata) != `{"width":1920,"height":1080}` {
			t.Fatalf("c.jpg metadata = %s (null is filled)", c.Metadata)
		}
		b, _ := s.GetAsset(ctx, f.org.ID, ids["b.mp4"])
		if b.Probe.State != "failed" || b.Probe.Error != "not a video: a PNG image" || len(b.Metadata) != 0 {
			t.Fatalf("b.mp4 = %+v metadata %s", b.Probe, b.Metadata)
		}
		if pending, failed, err := s.ImportProbeCounts(ctx, f.org.ID, f.im.ID); err != nil || pending != 0 || failed != 1 {
			t.Fatalf("ImportProbeCounts = %d, %d, %v; want 0, 1", pending, failed, err)
		}
		if _, ok, err := s.NextProbeDue(ctx); err != nil || ok {
			t.Fatalf("NextProbeDue with nothing pending = %v, %v", ok, err)
		}
		// Another organisation sees no counts of this import.
		other, _, _ := newOrg(t, s, "other@example.com")
		if pending, failed, err := s.ImportProbeCounts(ctx, other.ID, f.im.ID); err != nil || pending != 0 || failed != 0 {
			t.Fatalf("another organisation's counts = %d, %d, %v", pending, failed, err)
		}
	})
}

func TestProbeRetryReleaseAndReimport(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newProbeFixture(t, s, "retry@example.com")
		ids := f.add(t, s, "pending", map[string]string{"v.mp4": `{"metadata":{"frameRate":25}}`})
		t0 := time.Now()
		list, err := s.ClaimProbes(ctx, t0, time.Minute, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("claim: %d, %v", len(list), err)
		}
		// A transient failure: pending again at RetryAt, with the error shown.
		retry := t0.Add(30 * time.Second)
		if ok, err := s.FinishProbe(ctx, list[0], sqlstore.ProbeOutcome{State: sqlstore.ProbePending, Error: "cannot reach minio", RetryAt: retry}); err != nil || !ok {
			t.Fatalf("retry: %v, %v", ok, err)
		}
		a, _ := s.GetAsset(ctx, f.org.ID, ids["v.mp4"])
		if a.Probe.State != "pending" || a.Probe.Error != "cannot reach minio" {
			t.Fatalf("after a transient failure: %+v", a.Probe)
		}
		if due, ok, err := s.NextProbeDue(ctx); err != nil || !ok || !due.Equal(retry.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("NextProbeDue = %v, %v, %v; want %v", due, ok, err, retry)
		}
		if got, _ := s.ClaimProbes(ctx, retry.Add(-time.Second), time.Minute, 10); len(got) != 0 {
			t.Fatal("claimed before the retry time")
		}
		list, err = s.ClaimProbes(ctx, retry, time.Minute, 10)
		if err != nil || len(list) != 1 || list[0].Attempts != 1 {
			t.Fatalf("claim at the retry time: %+v, %v", list, err)
		}
		// Released (a shutdown): due at once, for anyone.
		if err := s.ReleaseProbes(ctx, list); err != nil {
			t.Fatal(err)
		}
		list, err = s.ClaimProbes(ctx, t0, time.Minute, 10)
		if err != nil || len(list) != 1 || list[0].Attempts != 1 {
			t.Fatalf("claim after release: %+v, %v", list, err)
		}
		// The import updates the asset with another URL while it is probed:
		// the result is dropped and the asset is due again at once.
		b := labelhub.ImportBatch{ImportID: f.im.ID, Runner: "test", OrgID: f.org.ID, ProjectID: f.project.ID, StageID: "start",
			OnDuplicate: labelhub.DuplicateUpdate, Now: time.Now(), NextIndex: 2, Delta: labelhub.ImportCounts{Received: 1, Valid: 1},
			Assets: []labelhub.NewAsset{{Index: 1, ID: labelhub.NewID(), ExternalID: "v.mp4", Type: labelhub.AssetVideo,
				Data: "https://example.com/other.mp4", Doc: `{}`, ProbeState: "pending"}}}
		if _, err := s.CommitImportBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		fill := []sqlstore.ProbeValue{{Key: "width", Value: json.RawMessage("8")}}
		if ok, err := s.FinishProbe(ctx, list[0], sqlstore.ProbeOutcome{State: sqlstore.ProbeDone, Fill: fill}); err != nil || ok {
			t.Fatalf("a probe of the old URL was applied: %v, %v", ok, err)
		}
		a, _ = s.GetAsset(ctx, f.org.ID, ids["v.mp4"])
		if a.Probe.State != "pending" || len(a.Metadata) != 0 || a.Data != "https://example.com/other.mp4" {
			t.Fatalf("after the re-import: %+v %s", a.Probe, a.Metadata)
		}
		list, err = s.ClaimProbes(ctx, t0, time.Minute, 10)
		if err != nil || len(list) != 1 || list[0].URL != "https://example.com/other.mp4" || list[0].Attempts != 0 {
			t.Fatalf("claim after re-import: %+v, %v", list, err)
		}
		if _, err := s.FinishProbe(ctx, list[0], sqlstore.ProbeOutcome{State: "probing"}); err == nil {
			t.Fatal("an unknown state was accepted")
		}
	})
}

// TestProbeClaimsAreExclusive claims from several connections at once;
// every pending asset is claimed exactly once.
func TestProbeClaimsAreExclusive(t *testing.T) {
	for _, dsn := range []string{filepath.Join(t.TempDir(), "claims.db"), testservers.Postgres(t)} {
		s1 := open(t, dsn)
		s2 := open(t, dsn)
		f := newProbeFixture(t, s1, "claims@example.com")
		docs := map[string]string{}
		const n = 300
		for i := range n {
			docs[fmt.Sprintf("img-%03d.png", i)] = `{}`
		}
		f.add(t, s1, "pending", docs)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		now := time.Now()
		for w := range 6 {
			s := s1
			if w%2 == 1 {
				s = s2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					list, err := s.ClaimProbes(context.Background(), now, time.Hour, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(list) == 0 {
						return
					}
					mu.Lock()
					for _, pt := range list {
						seen[pt.AssetID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("%s: %d assets claimed, want %d", s1.Dialect(), len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("%s: asset %s claimed %d times", s1.Dialect(), id, c)
			}
		}
	}
}

// TestMergeMetadataHostile runs MergeMetadata on the documents under
// testdata/merge: every answer is a JSON object that keeps the document's
// members, and the metadata's own values.
func TestMergeMetadataHostile(t *testing.T) {
	files, err := filepath.Glob("testdata/merge/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/merge files (%v)", err)
	}
	fill := []sqlstore.ProbeValue{{Key: "width", Value: json.RawMessage("1")}, {Key: "height", Value: json.RawMessage("2")}}
	for _, name := range files {
		doc, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sqlstore.MergeMetadata(string(doc), fill)
		if err != nil {
			if json.Valid(doc) && strings.HasPrefix(strings.TrimSpace(string(doc)), "{") {
				t.Errorf("%s: a valid object was refused: %v", name, err)
			}
			continue
		}
		checkMerge(t, string(doc), out, fill)
	}
	// Exact answers.
	for _, c := range []struct{ doc, want string }{
		{``, `{"metadata":{"width":1,"height":2}}`},
		{`{}`, `{"metadata":{"width":1,"height":2}}`},
		{`{"dataset":["a","b"]}`, `{"dataset":["a","b"],"metadata":{"width":1,"height":2}}`},
		{`{"metadata":{"height":7.5}}`, `{"metadata":{"height":7.5,"width":1}}`},
		{`{"metadata":{"width":3,"height":4}}`, `{"metadata":{"width":3,"height":4}}`},
		{`{"metadata":null,"editorType":"text"}`, `{"metadata":{"width":1,"height":2},"editorType":"text"}`},
		{`{"metadata":{"note":"<b>&\u00e9"}}`, `{"metadata":{"note":"<b>&\u00e9","width":1,"height":2}}`},
		{`{"metadata":[1,2]}`, `{"metadata":[1,2]}`},
	} {
		out, err := sqlstore.MergeMetadata(c.doc, fill)
		if err != nil || out != c.want {
			t.Errorf("MergeMetadata(%s) = %s, %v; want %s", c.doc, out, err, c.want)
		}
	}
}

// checkMerge checks that out keeps every member of doc, that the
// metadata's non-null values are kept, and that every fill key is set.
func checkMerge(t *testing.T, doc, out string, fill []sqlstore.ProbeValue) {
	t.Helper()
	if !json.Valid([]byte(out)) {
		t.Fatalf("MergeMetadata(%q) = %q: not JSON", doc, out)
	}
	var before, after map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &after); err != nil {
		t.Fatalf("MergeMetadata(%q) = %q: not an object", doc, out)
	}
	if strings.TrimSpace(doc) == "" {
		before = map[string]json.RawMessage{}
	} else if err := json.Unmarshal([]byte(doc), &before); err != nil {
		t.Fatalf("MergeMetadata(%q) accepted a document that is not an object", doc)
	}
	for k, v := range before {
		if k == "metadata" {
			continue
		}
		if !jsonEqual(v, after[k]) {
			t.Fatalf("MergeMetadata(%q): member %q changed to %s", doc, k, after[k])
		}
	}
	var mb, ma map[string]json.RawMessage
	if raw := before["metadata"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &mb); err != nil {
			// Not an object: kept as it is.
			if !jsonEqual(raw, after["metadata"]) {
				t.Fatalf("MergeMetadata(%q): non-object metadata changed", doc)
			}
			return
		}
	}
	if err := json.Unmarshal(after["metadata"], &ma); err != nil {
		t.Fatalf("MergeMetadata(%q) = %q: metadata is not an object", doc, out)
	}
	for k, v := range mb {
		if string(v) != "null" && !jsonEqual(v, ma[k]) {
			t.Fatalf("MergeMetadata(%q): the user's %q changed to %s", doc, k, ma[k])
		}
	}
	for _, f := range fill {
		if v, ok := ma[f.Key]; !ok || string(v) == "null" {
			t.Fatalf("MergeMetadata(%q) = %q: %q not set", doc, out, f.Key)
		}
	}
}

// jsonEqual compares two values as compact JSON text (a value the merge
// keeps is copied byte for byte).
func jsonEqual(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}

func FuzzMergeMetadata(f *testing.F) {
	files, _ := filepath.Glob("testdata/merge/*.json")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(string(b))
	}
	f.Add(`{"metadata":{"width":1}}`)
	fill := []sqlstore.ProbeValue{{Key: "width", Value: json.RawMessage("1")}, {Key: "height", Value: json.RawMessage("2")}}
	f.Fuzz(func(t *testing.T, doc string) {
		out, err := sqlstore.MergeMetadata(doc, fill)
		if err != nil {
			return
		}
		var dup map[string]any
		if json.Unmarshal([]byte(doc), &dup) != nil && strings.TrimSpace(doc) != "" {
			// encoding/json refuses what jsontext accepted (it should not
			// happen for an object): only check the output is JSON.
			if !json.Valid([]byte(out)) {
				t.Fatalf("MergeMetadata(%q) = %q: not JSON", doc, out)
			}
			return
		}
		checkMerge(t, doc, out, fill)
	})
}
