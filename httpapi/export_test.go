package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// exportHub is a project with four assets: a.jpg (batch b1, metadata and
// contextData), b.jpg (b1 and b2), c.jpg (no batch) and a two-page
// document. a.jpg is answered and submitted twice (Start → Label →
// Review), b.jpg submitted once (Start → Label), the others untouched.
type exportHub struct {
	*taskHub
	project labelhub.Project
	tasks   map[string]labelhub.Task // by externalId, read after the changes
}

func newExportHub(t *testing.T, s *sqlstore.Store) *exportHub {
	t.Helper()
	th := newTaskHub(t, s)
	x := &exportHub{taskHub: th, tasks: map[string]labelhub.Task{}}
	schema, err := os.ReadFile(filepath.Join("..", "testdata", "labels", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	th.must(th.rootKey, "POST", "/api/v1/projects", `{"name":"Export","categorySchema":`+string(schema)+`}`, 201, &x.project)
	var imp struct{ State string }
	th.must(th.rootKey, "POST", "/api/v1/projects/"+x.project.ID+"/imports?wait=true&createBatches=true", `[
		{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b1"],"metadata":{"width":1024,"height":768},"contextData":{"site":"A"}},
		{"externalId":"b.jpg","data":"https://example.com/b.jpg","batches":["b1","b2"]},
		{"externalId":"c.jpg","data":"https://example.com/c.jpg"},
		{"externalId":"doc","dataset":["https://example.com/p0.jpg","https://example.com/p1.jpg"]}]`, 200, &imp)
	if imp.State != "succeeded" {
		t.Fatalf("import %+v", imp)
	}
	var page labelhub.Page[labelhub.Task]
	th.must(th.rootKey, "GET", "/api/v1/projects/"+x.project.ID+"/tasks", "", 200, &page)
	byExt := map[string]labelhub.Task{}
	for _, tk := range page.Items {
		byExt[tk.Asset.ExternalID] = tk
	}
	answer, err := os.ReadFile(filepath.Join("..", "testdata", "answers", "valid_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	// b.jpg first, so that a.jpg is the last task changed.
	if r := th.move(t, th.labelerKey, byExt["b.jpg"].ID, "submit", `{"durationMs":100}`); r.Status != 200 {
		t.Fatal(r)
	}
	a := byExt["a.jpg"].ID
	if r := th.put(t, th.labelerKey, a, "1", string(answer)); r.Status != 200 {
		t.Fatal(r)
	}
	if r := th.move(t, th.labelerKey, a, "submit", `{"durationMs":8217}`); r.Status != 200 {
		t.Fatal(r)
	}
	if r := th.move(t, th.labelerKey, a, "submit", `{"durationMs":1000}`); r.Status != 200 {
		t.Fatal(r)
	}
	for ext, tk := range byExt {
		x.tasks[ext] = th.getTask(t, th.rootKey, tk.ID)
	}
	return x
}

// export GETs the export with query and returns the response.
func (x *exportHub) export(t *testing.T, key, query string) response {
	t.Helper()
	return x.with(t).call("GET", "/api/v1/projects/"+x.project.ID+"/export"+query, "", bearer(key))
}

// exportObjects GETs an export that must succeed and decodes it, as a
// JSON array or NDJSON as the query asks, into generic objects.
func (x *exportHub) exportObjects(t *testing.T, key, query string) []map[string]any {
	t.Helper()
	r := x.export(t, key, query)
	if r.Status != 200 {
		t.Fatalf("%s, want 200", r)
	}
	var out []map[string]any
	if strings.Contains(query, "format=ndjson") {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		sc := bufio.NewScanner(bytes.NewReader(r.Body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("NDJSON line %q: %v", sc.Text(), err)
			}
			out = append(out, m)
		}
	} else {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
	}
	if n, err := strconv.Atoi(r.Header.Get("X-Total-Count")); err != nil || n != len(out) {
		t.Errorf("X-Total-Count %q for %d objects", r.Header.Get("X-Total-Count"), len(out))
	}
	return out
}

func externalIDs(list []map[string]any) []string {
	var ids []string
	for _, m := range list {
		ids = append(ids, m["externalId"].(string))
	}
	sort.Strings(ids)
	return ids
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := keysOf(m); !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys %v, want %v", what, got, want)
	}
}

// itemMetaKeys are the metadata fields of an answer item.
var itemMetaKeys = []string{"createdAt", "updatedAt", "createdBy", "updatedBy", "createdIn", "updatedIn"}

func TestExportFormatAndOptions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newExportHub(t, s)
		ta := x.tasks["a.jpg"]
		objs := x.exportObjects(t, x.reviewerKey, "")
		if got := externalIDs(objs); !reflect.DeepEqual(got, []string{"a.jpg", "b.jpg", "c.jpg", "doc"}) {
			t.Fatalf("exported %v", got)
		}
		by := map[string]map[string]any{}
		for _, m := range objs {
			by[m["externalId"].(string)] = m
		}
		// The fields of formats.md §3, by their names.
		a := by["a.jpg"]
		wantKeys(t, "a.jpg", a, "asset", "assetId", "externalId", "contextData", "metadata", "batches", "task")
		wantKeys(t, "doc", by["doc"], "asset", "assetId", "externalId", "dataset", "batches", "task")
		wantKeys(t, "c.jpg", by["c.jpg"], "asset", "assetId", "externalId", "batches", "task")
		if a["asset"] != "https://example.com/a.jpg" || a["assetId"] != ta.AssetID ||
			!reflect.DeepEqual(a["contextData"], map[string]any{"site": "A"}) ||
			!reflect.DeepEqual(a["metadata"], map[string]any{"width": 1024.0, "height": 768.0}) ||
			!reflect.DeepEqual(a["batches"], []any{"b1"}) {
			t.Errorf("a.jpg %v", a)
		}
		if !reflect.DeepEqual(by["b.jpg"]["batches"], []any{"b1", "b2"}) || !reflect.DeepEqual(by["c.jpg"]["batches"], []any{}) {
			t.Errorf("batches of b.jpg %v, c.jpg %v", by["b.jpg"]["batches"], by["c.jpg"]["batches"])
		}
		if !reflect.DeepEqual(by["doc"]["dataset"], []any{"https://example.com/p0.jpg", "https://example.com/p1.jpg"}) {
			t.Errorf("doc dataset %v", by["doc"]["dataset"])
		}
		task := a["task"].(map[string]any)
		wantKeys(t, "a.jpg task", task, "taskId", "stage", "stageId", "updatedAt", "updatedBy", "tools", "classifications", "relations",
			"stageHistory", "totalDuration")
		if task["taskId"] != ta.ID || task["stage"] != "Review" || task["stageId"] != "review" ||
			task["updatedAt"] != ta.UpdatedAt.Format(time.RFC3339Nano) || task["updatedBy"] != "labeler@example.com" ||
			task["totalDuration"] != 9217.0 {
			t.Errorf("a.jpg task %v", task)
		}
		hist := task["stageHistory"].([]any)
		if len(hist) != 2 {
			t.Fatalf("history %v", hist)
		}
		h0 := hist[0].(map[string]any)
		wantKeys(t, "history entry", h0, "stage", "stageId", "duration", "completedAt", "completedBy", "tools", "classifications", "relations")
		if h0["stage"] != "Start" || h0["stageId"] != "start" || h0["duration"] != 8217.0 || h0["completedBy"] != "labeler@example.com" ||
			h0["completedAt"] != ta.History[0].CompletedAt.Format(time.RFC3339Nano) || len(h0["tools"].([]any)) != 3 {
			t.Errorf("history[0] %v", h0)
		}
		if h1 := hist[1].(map[string]any); h1["stage"] != "Label" || h1["duration"] != 1000.0 {
			t.Errorf("history[1] %v", h1)
		}
		// Untouched task: empty answer, no history, no updater.
		tc := by["c.jpg"]["task"].(map[string]any)
		if tc["stage"] != "Start" || tc["updatedBy"] != "" || !reflect.DeepEqual(tc["tools"], []any{}) ||
			!reflect.DeepEqual(tc["stageHistory"], []any{}) || tc["totalDuration"] != 0.0 {
			t.Errorf("c.jpg task %v", tc)
		}

		// The answer equals the task's, without the item metadata by default.
		var typed []labelhub.ExportedAsset
		if err := json.Unmarshal(x.export(t, x.rootKey, "").Body, &typed); err != nil {
			t.Fatal(err)
		}
		for _, e := range typed {
			if e.Task.TaskID != ta.ID {
				continue
			}
			want := ta.Answer
			stripped := 0
			labelhub.WalkItemMeta(&want, func(m *labelhub.ItemMeta) {
				if m.CreatedBy != "" {
					stripped++
				}
				*m = labelhub.ItemMeta{}
			})
			if stripped == 0 || !reflect.DeepEqual(e.Task.Answer, want) {
				t.Errorf("exported answer %+v\nwant %+v (%d items stripped)", e.Task.Answer, want, stripped)
			}
		}
		tool := task["tools"].([]any)[0].(map[string]any)
		for _, k := range itemMetaKeys {
			if _, ok := tool[k]; ok {
				t.Errorf("tool has %s without includeMetadata: %v", k, tool)
			}
		}
		wantTool := map[string]any{"objectId": "car-1", "schemaId": "car", "title": "Car", "bounding-box": map[string]any{"x": 10.0, "y": 20.0, "width": 50.0, "height": 40.0}}
		for k, v := range wantTool {
			if !reflect.DeepEqual(tool[k], v) {
				t.Errorf("tools[0].%s = %v, want %v", k, tool[k], v)
			}
		}

		// includeMetadata: every item has it, users as emails.
		withMeta := x.exportObjects(t, x.rootKey, "?includeMetadata=true&stage=review")
		if len(withMeta) != 1 {
			t.Fatalf("%d objects in stage review", len(withMeta))
		}
		mt := withMeta[0]["task"].(map[string]any)
		items := 0
		var walk func(list []any)
		walk = func(list []any) {
			for _, it := range list {
				m := it.(map[string]any)
				items++
				if m["createdBy"] != "labeler@example.com" || m["updatedBy"] != "labeler@example.com" || m["createdIn"] != "Start" ||
					m["createdAt"] == nil || m["updatedAt"] == nil {
					t.Errorf("item metadata %v", m)
				}
				if sub, ok := m["classifications"].([]any); ok {
					walk(sub)
				}
			}
		}
		walk(mt["tools"].([]any))
		walk(mt["classifications"].([]any))
		walk(mt["relations"].([]any))
		if items < 10 {
			t.Errorf("%d items with metadata", items)
		}
		// includeHistory=false leaves stageHistory out.
		for _, m := range x.exportObjects(t, x.rootKey, "?includeHistory=false") {
			if _, ok := m["task"].(map[string]any)["stageHistory"]; ok {
				t.Errorf("stageHistory without includeHistory: %v", m)
			}
		}
		// NDJSON has the same objects as the JSON array.
		nd := x.exportObjects(t, x.rootKey, "?format=ndjson")
		js := x.exportObjects(t, x.rootKey, "?format=json")
		if !reflect.DeepEqual(nd, js) || len(nd) != 4 {
			t.Errorf("NDJSON %v\nJSON %v", nd, js)
		}
		r := x.export(t, x.rootKey, "?format=ndjson")
		if lines := bytes.Count(r.Body, []byte("\n")); lines != 4 || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%d lines, Content-Disposition %q", lines, r.Header.Get("Content-Disposition"))
		}
	})
}

func TestExportFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newExportHub(t, s)
		var batches labelhub.Page[labelhub.Batch]
		x.must(x.rootKey, "GET", "/api/v1/projects/"+x.project.ID+"/batches", "", 200, &batches)
		b2 := ""
		for _, b := range batches.Items {
			if b.Name == "b2" {
				b2 = b.ID
			}
		}
		tb := x.tasks["b.jpg"]
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"?stage=label", []string{"b.jpg"}},
			{"?stage=start", []string{"c.jpg", "doc"}},
			{"?batch=b1", []string{"a.jpg", "b.jpg"}},
			{"?batch=" + b2, []string{"b.jpg"}},
			{"?batch=b2&batch=b1", []string{"a.jpg", "b.jpg"}},
			{"?batch=b1&stage=start", nil},
			{"?batch=&stage=", []string{"a.jpg", "b.jpg", "c.jpg", "doc"}},
			{"?updatedAfter=" + url.QueryEscape(tb.UpdatedAt.Format(time.RFC3339Nano)), []string{"a.jpg"}},
			{"?updatedBefore=" + url.QueryEscape(tb.UpdatedAt.Format(time.RFC3339Nano)), []string{"c.jpg", "doc"}},
			{"?updatedAfter=" + url.QueryEscape(tb.UpdatedAt.Add(-time.Microsecond).Format(time.RFC3339Nano)) +
				"&updatedBefore=" + url.QueryEscape(tb.UpdatedAt.Add(time.Microsecond).Format(time.RFC3339Nano)), []string{"b.jpg"}},
		} {
			for _, format := range []string{"json", "ndjson"} {
				got := externalIDs(x.exportObjects(t, x.reviewerKey, c.query+"&format="+format))
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s %s: %v, want %v", format, c.query, got, c.want)
				}
			}
		}
		// An empty export is still a JSON array.
		if r := x.export(t, x.rootKey, "?stage=complete"); r.Status != 200 || strings.TrimSpace(string(r.Body)) != "[\n]" && strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("empty export %s", r)
		}
	})
}

func TestExportRefusesBadRequests(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newExportHub(t, s)
		for _, c := range []struct{ query, path, msg string }{
			{"?format=xml", "format", "json or ndjson"},
			{"?stage=nope", "stage", "names no stage"},
			{"?batch=nope", "batch", "names no batch"},
			{"?updatedAfter=yesterday", "updatedAfter", "RFC 3339"},
			{"?updatedBefore=2026-13-01", "updatedBefore", "RFC 3339"},
			{"?includeHistory=yes", "includeHistory", "true or false"},
			{"?includeMetadata=1", "includeMetadata", "true or false"},
			{"?urlTTL=604801", "urlTTL", "604800"},
			{"?urlTTL=0", "urlTTL", "from 1"},
			{"?urlTTL=1h", "urlTTL", "whole number"},
		} {
			r := x.export(t, x.rootKey, c.query)
			wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), c.path, c.msg)
		}
		// Another organisation's admin does not find the project.
		var orgB struct {
			APIKey string `json:"apiKey"`
		}
		x.must(x.rootKey, "POST", "/api/v1/organizations", `{"name":"Org B","adminEmail":"admin-b@example.com","adminName":"Admin B"}`, 201, &orgB)
		wantError(t, x.export(t, orgB.APIKey, ""), http.StatusNotFound, labelhub.ECodeNotFound)
		wantError(t, x.export(t, orgB.APIKey, "?format=xml"), http.StatusNotFound, labelhub.ECodeNotFound)
		wantError(t, x.export(t, "lh_wrong", ""), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
	})
}

// TestExportHostileQueries checks hostile query strings from testdata: each
// is answered 200 or 400, never anything else.
func TestExportHostileQueries(t *testing.T) {
	x := newExportHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")))
	data, err := os.ReadFile(filepath.Join("testdata", "export_queries.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		r := x.export(t, x.rootKey, "?"+q)
		if r.Status != 200 && r.Status != 400 {
			t.Errorf("?%s: %s", q, r)
		}
		if r.Status == 400 {
			wantError(t, r, 400, labelhub.ECodeInvalid)
		}
	}
}

func FuzzExportRequest(f *testing.F) {
	for _, q := range []string{"", "format=ndjson&batch=a&batch=b", "urlTTL=604800&includeHistory=false", "updatedAfter=2026-11-22T12:00:00Z",
		"urlTTL=-1", "format=%00", "stage=review&includeMetadata=true"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		filter, opts, batches, err := httpapi.ExportRequest(q)
		if err != nil {
			var e *labelhub.Error
			if !asError(err, &e) || e.Code != labelhub.ECodeInvalid || len(e.Details) == 0 {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if opts.Format != labelhub.ExportJSON && opts.Format != labelhub.ExportNDJSON {
			t.Fatalf("%q: format %q", raw, opts.Format)
		}
		if opts.URLTTL < time.Second || opts.URLTTL > labelhub.MaxSignedURLTTL*time.Second {
			t.Fatalf("%q: urlTTL %v", raw, opts.URLTTL)
		}
		nonEmpty := 0
		for _, b := range q["batch"] {
			if b != "" {
				nonEmpty++
			}
		}
		if len(batches) != nonEmpty || filter.StageID != q.Get("stage") {
			t.Fatalf("%q: %v %+v", raw, batches, filter)
		}
	})
}

func asError(err error, e **labelhub.Error) bool {
	le, ok := err.(*labelhub.Error)
	*e = le
	return ok
}

// TestExportSignsPrivateAssets exports an asset of a private MinIO bucket:
// its URL is signed for urlTTL and downloads the object without
// credentials.
func TestExportSignsPrivateAssets(t *testing.T) {
	const catBytes = "jpeg bytes of an exported cat"
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{"pets/cat.jpg": catBytes, "pages/p1.jpg": "page one"})
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var p labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Private"}`, 201, &p)
	var st labelhub.Storage
	h.must(h.rootKey, "POST", "/api/v1/storages", jsonBody(t, map[string]any{"name": "MinIO", "provider": "s3-compatible",
		"bucket": bucket, "endpoint": endpoint, "credentials": map[string]string{"accessKeyId": ak, "secretAccessKey": sk}}), 201, &st)
	base := strings.TrimRight(endpoint, "/") + "/" + bucket
	items := fmt.Sprintf(`[{"externalId":"cat","data":"%s/pets/cat.jpg"},{"externalId":"doc","dataset":["%s/pages/p1.jpg"]}]`, base, base)
	var im struct{ State string }
	h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/imports?wait=true&storageId="+st.ID, items, 200, &im)
	if im.State != "succeeded" {
		t.Fatalf("import %+v", im)
	}
	r := h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID+"/export?urlTTL=600", "", 200, nil)
	var list []labelhub.ExportedAsset
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list) != 2 {
		t.Fatalf("%s: %v", r, err)
	}
	get := func(u string) string {
		t.Helper()
		if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=660") {
			t.Fatalf("URL %q is not signed for 600 s (and the minute of the signing window)", u)
		}
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
		}
		return string(b)
	}
	for _, e := range list {
		switch e.ExternalID {
		case "cat":
			if got := get(e.Asset); got != catBytes {
				t.Errorf("cat: %q", got)
			}
		case "doc":
			if len(e.Dataset) != 1 || get(e.Dataset[0]) != "page one" {
				t.Errorf("doc dataset %v", e.Dataset)
			}
		}
	}
	// The default lifetime is an hour.
	r = h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID+"/export?format=ndjson", "", 200, nil)
	if !bytes.Contains(r.Body, []byte("X-Amz-Expires=3660")) {
		t.Errorf("default lifetime: %s", r.Body)
	}
}

// failingExport is a store whose export fails after its first page.
type failingExport struct{ *sqlstore.Store }

func (f failingExport) Export(ctx context.Context, orgID, projectID string, filter labelhub.ExportFilter, history, meta bool,
	fn func(page []labelhub.ExportedAsset) error) error {
	err := f.Store.Export(ctx, orgID, projectID, filter, history, meta, fn)
	if err != nil {
		return err
	}
	return errors.New("the database went away")
}

func (f failingExport) WriteExportCounted(ctx context.Context, orgID, projectID string, filter labelhub.ExportFilter, o labelhub.ExportOptions,
	start func(total int64) error, sign func(e *labelhub.ExportedAsset) error, fn func(b []byte) error) error {
	err := f.Store.WriteExportCounted(ctx, orgID, projectID, filter, o, start, sign, fn)
	if err != nil {
		return err
	}
	return errors.New("the database went away")
}

// TestExportErrorMidStreamIsNotValid checks that an export that fails
// after its first bytes does not end as a valid document: the status is
// already 200, so the body must show the failure.
func TestExportErrorMidStreamIsNotValid(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "labelhub.db"))
	x := newExportHub(t, s)
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: failingExport{s}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	for _, format := range []string{"json", "ndjson"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/projects/"+x.project.ID+"/export?format="+format, nil)
		req.Header.Set("Authorization", "Bearer "+x.rootKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, readErr := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", format, res.StatusCode)
		}
		if readErr == nil {
			t.Errorf("%s: the body ended cleanly after a failure: %q", format, body)
		}
		switch format {
		case "json":
			if json.Valid(body) {
				t.Errorf("json: valid document after a failure: %q", body)
			}
		case "ndjson":
			lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
			if last := lines[len(lines)-1]; json.Valid([]byte(last)) {
				t.Errorf("ndjson: the last line is valid JSON after a failure: %q", body)
			}
		}
		if !bytes.Contains(body, []byte("failed")) {
			t.Errorf("%s: no word of the failure: %q", format, body)
		}
	}
	// The client reports it as an error.
	_, err := client.New(srv.URL, x.rootKey).Export(context.Background(), x.project.ID, client.ExportOptions{}, io.Discard)
	if err == nil {
		t.Fatal("client: no error for a failed export")
	}
}

// TestExportWithRunToken checks that an export plugin's run token reads
// its run's project, and only it.
func TestExportWithRunToken(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "labelhub.db"))
	x := newExportHub(t, s)
	var plugin labelhub.Plugin
	x.must(x.rootKey, "POST", "/api/v1/plugins", `{"name":"exporter","type":"export"}`, 201, &plugin)
	var run labelhub.Run
	x.must(x.rootKey, "POST", "/api/v1/plugins/"+plugin.ID+"/runs", `{"projectId":"`+x.project.ID+`"}`, 202, &run)
	token := sqlstore.NewRunToken()
	if err := s.SetRunToken(context.Background(), run.ID, token); err != nil {
		t.Fatal(err)
	}
	if got := externalIDs(x.exportObjects(t, token, "?format=ndjson")); len(got) != 4 {
		t.Fatalf("run token export: %v", got)
	}
	r := x.with(t).call("GET", "/api/v1/projects/"+x.taskHub.project.ID+"/export", "", bearer(token))
	wantError(t, r, http.StatusNotFound, labelhub.ECodeNotFound)
}
