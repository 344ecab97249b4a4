package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// importAnswer is the answer of the import routes.
type importAnswer struct {
	ImportID string `json:"importId"`
	labelhub.Import
}

type assetPage struct {
	Items      []labelhub.Asset `json:"items"`
	NextCursor string           `json:"nextCursor"`
}

// waitImport polls GET /imports/{id} until the import is no longer running.
func (h *hub) waitImport(key, id string) importAnswer {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st importAnswer
		h.must(key, "GET", "/api/v1/imports/"+id, "", 200, &st)
		if st.State != labelhub.ImportRunning && st.State != labelhub.ImportQueued {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("import %s still %s", id, st.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *hub) assets(key, projectID, query string) []labelhub.Asset {
	h.t.Helper()
	var page assetPage
	h.must(key, "GET", "/api/v1/projects/"+projectID+"/assets"+query, "", 200, &page)
	return page.Items
}

func wantCountsOf(t *testing.T, st importAnswer, state labelhub.ImportState, c labelhub.ImportCounts) {
	t.Helper()
	if st.State != state || st.Counts != c {
		t.Fatalf("import %s: state %s counts %+v, want %s %+v (error %q)", st.ID, st.State, st.Counts, state, c, st.Error)
	}
}

const httpImportItems = `{"externalId":"img-1","data":"https://example.com/img-1.jpg","metadata":{"width":640,"height":480,"camera":{"lens":"wide"}},"contextData":{"zeta":1,"alpha":[true,null,"x"],"nested":{"b":2,"a":1}}}
{"externalId":"img-2","data":"https://example.com/img-2.png","batches":["night"]}
{"externalId":"vid-1","data":"https://example.com/vid-1.mp4","metadata":{"frameRate":"fast"}}
{"externalId":"vid-2","data":"https://example.com/vid-2.mp4","attachments":[{"type":"TEXT","value":"a note"}]}
`

func TestImportRoutes(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Imports"}`, 201, &p)
		h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/batches", `{"name":"day"}`, 201, nil)
		base := "/api/v1/projects/" + p.ID + "/imports"

		// 202 with the id; the import goes on, GET shows the counts.
		var st importAnswer
		h.must(h.rootKey, "POST", base+"?batches=day&createBatches=true", httpImportItems, 202, &st)
		if st.ImportID == "" || st.ImportID != st.ID || st.Kind != labelhub.ImportKindAssets || st.ProjectID != p.ID || !st.Uploaded || st.Bytes != int64(len(httpImportItems)) {
			t.Fatalf("202 answer %+v", st)
		}
		first := h.waitImport(h.rootKey, st.ID)
		wantCountsOf(t, first, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 4, Valid: 3, Imported: 3, Invalid: 1})
		if len(first.Errors) != 1 || first.Errors[0].Index != 2 || first.Errors[0].Line != 3 || first.Errors[0].Path != "[2].metadata.frameRate" || first.FinishedAt == nil {
			t.Fatalf("errors %+v", first.Errors)
		}

		// The assets: detail shape, metadata and contextData as imported.
		all := h.assets(h.rootKey, p.ID, "")
		if len(all) != 3 {
			t.Fatalf("%d assets", len(all))
		}
		r := h.must(h.rootKey, "GET", "/api/v1/assets/"+all[0].ID, "", 200, nil)
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &raw); err != nil {
			t.Fatal(err)
		}
		if got := string(raw["contextData"]); got != `{"zeta":1,"alpha":[true,null,"x"],"nested":{"b":2,"a":1}}` {
			t.Errorf("contextData %s", got)
		}
		if got := string(raw["metadata"]); got != `{"width":640,"height":480,"camera":{"lens":"wide"}}` {
			t.Errorf("metadata %s", got)
		}
		for _, k := range []string{"id", "projectId", "externalId", "type", "data", "batches", "importId", "taskId", "probe", "createdAt"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("asset lacks %q: %s", k, r.Body)
			}
		}
		var a labelhub.Asset
		_ = json.Unmarshal(r.Body, &a)
		if a.ExternalID != "img-1" || a.Type != labelhub.AssetImage || a.Data != "https://example.com/img-1.jpg" || a.ImportID != st.ID || a.ProjectID != p.ID ||
			len(a.Batches) != 1 || a.Batches[0] != "day" {
			t.Errorf("asset %+v", a)
		}
		var vid labelhub.Asset
		h.must(h.rootKey, "GET", "/api/v1/assets/"+all[2].ID, "", 200, &vid)
		if vid.ExternalID != "vid-2" || string(vid.Attachments) != `[{"type":"TEXT","value":"a note"}]` {
			t.Errorf("attachments %s", vid.Attachments)
		}
		h.must(h.rootKey, "GET", "/api/v1/assets/ast_nope", "", 404, nil)

		// Filters and keyset pagination.
		if got := h.assets(h.rootKey, p.ID, "?batch=night"); len(got) != 1 || got[0].ExternalID != "img-2" {
			t.Errorf("batch=night: %+v", got)
		}
		if got := h.assets(h.rootKey, p.ID, "?type=video"); len(got) != 1 || got[0].ExternalID != "vid-2" {
			t.Errorf("type=video: %+v", got)
		}
		if got := h.assets(h.rootKey, p.ID, "?externalId=img-2&type=image&batch=day"); len(got) != 1 || got[0].ID != all[1].ID {
			t.Errorf("externalId: %+v", got)
		}
		if got := h.assets(h.rootKey, p.ID, "?externalId=img-2&type=video"); len(got) != 0 {
			t.Errorf("no match: %+v", got)
		}
		rr := h.as(h.rootKey, "GET", "/api/v1/projects/"+p.ID+"/assets?batch=nope", "")
		wantDetail(t, rr, wantError(t, rr, 400, labelhub.ECodeInvalid), "batch", "names no batch")
		var seen []string
		cursor := ""
		for range 5 {
			var page assetPage
			h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID+"/assets?limit=2&cursor="+cursor, "", 200, &page)
			for _, it := range page.Items {
				seen = append(seen, it.ExternalID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(seen, ",") != "img-1,img-2,vid-2" {
			t.Errorf("pages: %v", seen)
		}

		// wait=true answers the final status.
		var waited importAnswer
		h.must(h.rootKey, "POST", base+"?wait=true&onDuplicate=skip", httpImportItems, 200, &waited)
		wantCountsOf(t, waited, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 4, Valid: 3, Skipped: 3, Invalid: 1})

		// dryRun counts and writes nothing.
		var dry importAnswer
		h.must(h.rootKey, "POST", base+"?wait=true&dryRun=true", strings.ReplaceAll(httpImportItems, `"img-`, `"dry-`), 200, &dry)
		if dry.State != labelhub.ImportSucceeded || dry.Counts.Received != 4 || dry.Counts.Valid != 3 || dry.Counts.Invalid != 1 || !dry.Options.DryRun {
			t.Fatalf("dry run %+v", dry)
		}
		if got := h.assets(h.rootKey, p.ID, ""); len(got) != 3 {
			t.Fatalf("a dry run wrote: %d assets", len(got))
		}

		// atomic: one invalid item, nothing written; all valid, all written.
		var at importAnswer
		h.must(h.rootKey, "POST", base+"?wait=true&atomic=true", strings.ReplaceAll(httpImportItems, `"img-`, `"at-`), 200, &at)
		if at.State != labelhub.ImportFailed || at.Counts.Invalid != 1 || at.Error == "" || len(at.Errors) != 1 {
			t.Fatalf("atomic with an invalid item %+v", at)
		}
		if got := h.assets(h.rootKey, p.ID, ""); len(got) != 3 {
			t.Fatalf("a failed atomic import wrote: %d assets", len(got))
		}
		h.must(h.rootKey, "POST", base+"?wait=true&atomic=true", `[{"externalId":"ok-1","data":"https://example.com/ok-1.jpg"},{"externalId":"ok-2","data":"https://example.com/ok-2.jpg"}]`, 200, &at)
		wantCountsOf(t, at, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 2, Valid: 2, Imported: 2})

		// Invalid options: 400 naming the parameter; nothing is created.
		for q, path := range map[string]string{
			"onDuplicate=sometimes": "onDuplicate", "atomic=yes%21": "atomic", "dryRun=2": "dryRun", "wait=soon": "wait",
			"createBatches=x": "createBatches", "batches=day&batches=unknown": "batches[1]",
		} {
			r := h.as(h.rootKey, "POST", base+"?"+q, httpImportItems)
			wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), path, "")
		}
		r = h.as(h.rootKey, "POST", base+"?storageId=sto_nope", httpImportItems)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("unknown storage: %s", r)
		}
		r = h.as(h.rootKey, "POST", "/api/v1/projects/prj_nope/imports", httpImportItems)
		wantError(t, r, 404, labelhub.ECodeNotFound)
		h.must(h.rootKey, "GET", "/api/v1/imports/imp_nope", "", 404, nil)

		// Errors are paged with a cursor.
		var many strings.Builder
		for i := range 7 {
			fmt.Fprintf(&many, `{"externalId":"e%d","data":"https://example.com/e%d.jpg","metadata":{"width":"w%d"}}`+"\n", i, i, i)
		}
		var bad importAnswer
		h.must(h.rootKey, "POST", base+"?wait=true", many.String(), 200, &bad)
		if bad.Counts.Invalid != 7 || bad.ErrorsStored != 7 {
			t.Fatalf("bad import %+v", bad)
		}
		var got []labelhub.ImportError
		cursor = ""
		for range 10 {
			var page struct {
				Items      []labelhub.ImportError `json:"items"`
				NextCursor string                 `json:"nextCursor"`
			}
			h.must(h.rootKey, "GET", "/api/v1/imports/"+bad.ID+"/errors?limit=3&cursor="+cursor, "", 200, &page)
			if len(page.Items) > 3 {
				t.Fatalf("page of %d", len(page.Items))
			}
			got = append(got, page.Items...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(got) != 7 {
			t.Fatalf("%d errors paged", len(got))
		}
		for i, e := range got {
			if e.Index != int64(i) || e.Line != int64(i+1) || e.Path != fmt.Sprintf("[%d].metadata.width", i) || e.Message == "" {
				t.Errorf("error %d: %+v", i, e)
			}
		}
		var short importAnswer
		h.must(h.rootKey, "GET", "/api/v1/imports/"+bad.ID+"?limit=2", "", 200, &short)
		if len(short.Errors) != 2 || short.ErrorsNextCursor == "" {
			t.Errorf("GET with limit=2: %d errors, cursor %q", len(short.Errors), short.ErrorsNextCursor)
		}
		r = h.as(h.rootKey, "GET", "/api/v1/imports/"+bad.ID+"/errors?limit=0", "")
		wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), "limit", "")

		// Rollback, then resume is refused.
		var rb importAnswer
		h.must(h.rootKey, "POST", "/api/v1/imports/"+st.ID+"/rollback?wait=true", "", 200, &rb)
		if rb.State != labelhub.ImportRolledBack {
			t.Fatalf("rollback %+v", rb)
		}
		if got := h.assets(h.rootKey, p.ID, ""); len(got) != 2 {
			t.Fatalf("after rollback %d assets, want the 2 of the atomic import", len(got))
		}
		r = h.as(h.rootKey, "POST", "/api/v1/imports/"+st.ID+"/resume", "")
		if r.Status != 409 {
			t.Errorf("resume of a rolled back import: %s", r)
		}
	})
}

func TestLabelImportRoute(t *testing.T) {
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var p labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Labels"}`, 201, &p)
	h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/imports?wait=true",
		`[{"externalId":"a","data":"https://example.com/a.jpg"},{"externalId":"a","data":"https://example.com/a2.jpg"},{"externalId":"b","data":"https://example.com/b.jpg"}]`, 200, nil)
	var st importAnswer
	h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/labels", `[{"externalId":"a"},{"externalId":"unknown-one"},{"externalId":"b"}]`, 200, &st)
	if st.Kind != labelhub.ImportKindLabels || st.State != labelhub.ImportSucceeded || st.Counts.Received != 3 || st.Counts.Invalid != 1 {
		t.Fatalf("labels %+v", st)
	}
	if len(st.Errors) != 1 || st.Errors[0].Index != 1 || st.Errors[0].Path != "[1].externalId" || !strings.Contains(st.Errors[0].Message, "unknown-one") && st.Errors[0].Message == "" {
		t.Fatalf("errors %+v", st.Errors)
	}
	var again importAnswer
	h.must(h.rootKey, "GET", "/api/v1/imports/"+st.ID, "", 200, &again)
	if again.Counts != st.Counts || again.Kind != labelhub.ImportKindLabels {
		t.Fatalf("GET %+v", again)
	}
	r := h.as(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/labels", `{"not":"an array"}`)
	if r.Status != 400 && !(r.Status == 200 && strings.Contains(string(r.Body), `"failed"`)) {
		t.Errorf("not an array: %s", r)
	}
}

func TestImportPermissions(t *testing.T) {
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var p labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Perms"}`, 201, &p)
	var st importAnswer
	h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/imports?wait=true", `[{"externalId":"a","data":"https://example.com/a.jpg"}]`, 200, &st)
	_, labeler := h.newUser("lab@example.com", labelhub.RoleLabeler)
	if got := h.assets(labeler, p.ID, ""); len(got) != 1 {
		t.Fatalf("labeler sees %d assets", len(got))
	}
	h.must(labeler, "GET", "/api/v1/assets/"+st.ID, "", 404, nil)
	for _, path := range []string{"/api/v1/projects/" + p.ID + "/imports", "/api/v1/projects/" + p.ID + "/labels",
		"/api/v1/imports/" + st.ID + "/resume", "/api/v1/imports/" + st.ID + "/rollback"} {
		r := h.as(labeler, "POST", path, `[{"externalId":"b","data":"https://example.com/b.jpg"}]`)
		wantError(t, r, 403, labelhub.ECodeForbidden)
	}
	if got := h.assets(h.rootKey, p.ID, ""); len(got) != 1 {
		t.Fatalf("%d assets after the labeler's attempts", len(got))
	}
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (h *hub) content(key, assetID string, hdr ...string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/assets/"+assetID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestAssetContent(t *testing.T) {
	const catBytes = "0123456789 jpeg bytes of a cat"
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{"pets/cat.jpg": catBytes})
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var p labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Content"}`, 201, &p)

	// A public URL: 302 to it.
	var pub importAnswer
	h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/imports?wait=true", `[{"externalId":"pub","data":"https://example.com/pub.jpg"}]`, 200, &pub)
	a := h.assets(h.rootKey, p.ID, "?externalId=pub")[0]
	res := h.content(h.rootKey, a.ID)
	if res.StatusCode != 302 || res.Header.Get("Location") != "https://example.com/pub.jpg" {
		t.Fatalf("public: %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	for _, delivery := range []string{"signed", "proxy"} {
		var st labelhub.Storage
		h.must(h.rootKey, "POST", "/api/v1/storages", jsonBody(t, map[string]any{"name": "MinIO " + delivery, "provider": "s3-compatible",
			"bucket": bucket, "endpoint": endpoint, "delivery": delivery, "credentials": map[string]string{"accessKeyId": ak, "secretAccessKey": sk}}), 201, &st)
		ext := "cat-" + delivery
		item := fmt.Sprintf(`[{"externalId":%q,"data":"%s/%s/pets/cat.jpg"}]`, ext, strings.TrimRight(endpoint, "/"), bucket)
		var im importAnswer
		h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/imports?wait=true&storageId="+st.ID, item, 200, &im)
		wantCountsOf(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 1, Valid: 1, Imported: 1})
		a := h.assets(h.rootKey, p.ID, "?externalId="+ext)[0]
		if a.StorageID != st.ID {
			t.Fatalf("asset storage %q, want %q", a.StorageID, st.ID)
		}
		res := h.content(h.rootKey, a.ID)
		switch delivery {
		case "signed":
			loc := res.Header.Get("Location")
			if res.StatusCode != 302 || !strings.Contains(loc, "X-Amz-Signature=") {
				t.Fatalf("signed: %d %q", res.StatusCode, loc)
			}
			// A plain GET, no credentials, downloads the object.
			got, err := http.Get(loc)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if got.StatusCode != 200 || string(b) != catBytes {
				t.Fatalf("signed URL GET: %d %q", got.StatusCode, b)
			}
		case "proxy":
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || string(b) != catBytes {
				t.Fatalf("proxy: %d %q", res.StatusCode, b)
			}
			part := h.content(h.rootKey, a.ID, "Range", "bytes=2-5")
			b, _ = io.ReadAll(part.Body)
			if part.StatusCode != 206 || string(b) != "2345" || !strings.HasPrefix(part.Header.Get("Content-Range"), "bytes 2-5/") {
				t.Fatalf("proxy range: %d %q %q", part.StatusCode, b, part.Header.Get("Content-Range"))
			}
		}
	}
	// Another organisation's key sees nothing.
	res = h.content("lh_wrong", a.ID)
	if res.StatusCode != 401 {
		t.Fatalf("wrong key: %d", res.StatusCode)
	}
}
