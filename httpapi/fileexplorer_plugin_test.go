package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/fileexplorer"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/testservers"
)

// The first-party File Explorer against a real hub and a MinIO
// integration, served as an SDK plugin: listing pages round trip their
// scrollToken, odd keys come back as stored, an import run imports the
// asset files with progress and a summary, a second one finds them all
// there, and bad folders fail the run with the reason.
func TestFileExplorerPluginOnMinIO(t *testing.T) {
	objects := map[string]string{
		"a.jpg":                      "jpeg",
		"b.png":                      "png",
		"notes.zip":                  "not an asset",
		"cats/1.jpg":                 "jpeg",
		"cats/2.jpg":                 "jpeg",
		"cats/kittens/k.jpg":         "jpeg",
		"dogs/d.mp4":                 "video",
		"odd names/ü space+plus.jpg": "jpeg",
		"odd names/100%.png":         "png",
	}
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var st labelhub.Storage
	h.must(h.rootKey, "POST", "/api/v1/storages", jsonBody(t, map[string]any{"name": "MinIO", "provider": "s3-compatible",
		"bucket": bucket, "endpoint": endpoint, "credentials": map[string]string{"accessKeyId": ak, "secretAccessKey": sk}}), 201, &st)
	var proj labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"explored"}`, 201, &proj)
	id := servePlugin(t, h, h.rootKey, labelhub.PluginFileExplorer, `{"pageSize":2,"pollMillis":20}`, fileexplorer.Handler())
	run := func(params map[string]any) labelhub.Run {
		t.Helper()
		params["integrationId"] = st.ID
		return runPlugin(t, h, h.rootKey, id, proj.ID, params)
	}
	listing := func(params map[string]any) plugin.FileExplorerResult {
		t.Helper()
		r := run(params)
		var res plugin.FileExplorerResult
		if r.State != labelhub.RunSucceeded || json.Unmarshal(r.Result, &res) != nil {
			t.Fatalf("listing %v: %+v", params, r)
		}
		return res
	}
	failed := func(params map[string]any, want string) {
		t.Helper()
		r := run(params)
		if r.State != labelhub.RunFailed || !strings.Contains(r.Error, want) {
			t.Errorf("params %v: state %s, error %q; want failed with %q", params, r.State, r.Error, want)
		}
	}

	t.Run("list pages", func(t *testing.T) {
		var folders, files []string
		items := map[string]plugin.FileItem{}
		token, pages := "", 0
		for {
			res := listing(map[string]any{"folder": "", "scrollToken": token})
			pages++
			folders, files = append(folders, res.Folders...), append(files, res.Files...)
			if len(res.Items) != len(res.Files) {
				t.Fatalf("items %+v for files %v", res.Items, res.Files)
			}
			for _, it := range res.Items {
				items[it.Key] = it
			}
			if res.ScrollToken == nil {
				break
			}
			token = *res.ScrollToken
			if pages > 6 {
				t.Fatal("the listing does not end")
			}
		}
		slices.Sort(folders)
		slices.Sort(files)
		if pages != 3 || strings.Join(folders, ",") != "cats/,dogs/,odd names/" || strings.Join(files, ",") != "a.jpg,b.png,notes.zip" {
			t.Fatalf("%d pages: folders %v, files %v", pages, folders, files)
		}
		if a := items["a.jpg"]; a.AssetType != "image" || a.Size != 4 || a.LastModified.IsZero() {
			t.Errorf("a.jpg: %+v", a)
		}
		if z := items["notes.zip"]; z.AssetType != "" {
			t.Errorf("notes.zip is an asset: %+v", z)
		}
		// A folder without its trailing slash; odd keys as stored.
		res := listing(map[string]any{"folder": "odd names"})
		slices.Sort(res.Files)
		if strings.Join(res.Files, "|") != "odd names/100%.png|odd names/ü space+plus.jpg" || res.ScrollToken != nil {
			t.Errorf("odd names: %+v", res)
		}
		// cats/ (with the bucket named): its files fill the first page, its
		// folder comes on the second.
		first := listing(map[string]any{"folder": "cats/", "bucket": bucket})
		if strings.Join(first.Files, ",") != "cats/1.jpg,cats/2.jpg" || first.ScrollToken == nil {
			t.Fatalf("cats/ page 1: %+v", first)
		}
		second := listing(map[string]any{"folder": "cats/", "bucket": bucket, "scrollToken": *first.ScrollToken})
		if strings.Join(second.Folders, ",") != "cats/kittens/" || len(second.Files) != 0 || second.ScrollToken != nil {
			t.Errorf("cats/ page 2: %+v", second)
		}
	})

	t.Run("bad folders", func(t *testing.T) {
		failed(map[string]any{"folder": "../x"}, `".." segment`)
		failed(map[string]any{"folder": "cats/../dogs"}, `".." segment`)
		failed(map[string]any{"folder": "/cats"}, `must not start with "/"`)
		failed(map[string]any{"folder": "cats\n"}, "control character")
		failed(map[string]any{"folder": "nope/"}, `folder "nope/" does not exist`)
		failed(map[string]any{"folder": "nope/", "upload": true}, `folder "nope/" does not exist`)
		failed(map[string]any{"folder": "cats/", "bucket": "another"}, `params.bucket "another" is not the bucket`)
		failed(map[string]any{"folder": "cats/", "scrollToken": "forged"}, "params.scrollToken is not a token")
		failed(map[string]any{"upload": true, "files": []string{"cats/../a.jpg"}}, `params.files[0]`)
		r := runPlugin(t, h, h.rootKey, id, proj.ID, map[string]any{"folder": ""})
		if r.State != labelhub.RunFailed || !strings.Contains(r.Error, "params.integrationId is required") {
			t.Errorf("no integration: %+v", r)
		}
	})

	summary := func(r labelhub.Run) fileexplorer.Summary {
		t.Helper()
		var res plugin.FileExplorerResult
		var s fileexplorer.Summary
		if r.State != labelhub.RunSucceeded || json.Unmarshal(r.Result, &res) != nil || json.Unmarshal(res.Summary, &s) != nil {
			t.Fatalf("import run %+v", r)
		}
		return s
	}
	t.Run("import", func(t *testing.T) {
		r := run(map[string]any{"folder": "", "recursive": true, "upload": true})
		s := summary(r)
		if s.ImportID == "" || s.Listed != 9 || s.Imported != 8 || s.NotAssets != 1 || s.AlreadyThere != 0 || s.Invalid != 0 {
			t.Fatalf("summary %+v", s)
		}
		if r.Progress.Done != r.Progress.Total || !strings.Contains(r.Progress.Message, "listed 9") || !strings.Contains(r.Progress.Message, "imported 8") {
			t.Errorf("progress %+v", r.Progress)
		}
		var assets labelhub.Page[labelhub.Asset]
		h.must(h.rootKey, "GET", "/api/v1/projects/"+proj.ID+"/assets?limit=100", "", 200, &assets)
		var ids []string
		for _, a := range assets.Items {
			ids = append(ids, a.ExternalID)
		}
		slices.Sort(ids)
		want := []string{"a.jpg", "b.png", "cats/1.jpg", "cats/2.jpg", "cats/kittens/k.jpg", "dogs/d.mp4", "odd names/100%.png", "odd names/ü space+plus.jpg"}
		if !slices.Equal(ids, want) {
			t.Fatalf("assets %v, want %v", ids, want)
		}
		// Again: everything is there already.
		s = summary(run(map[string]any{"folder": "", "recursive": true, "upload": true}))
		if s.Listed != 9 || s.Imported != 0 || s.AlreadyThere != 8 || s.NotAssets != 1 {
			t.Fatalf("second summary %+v", s)
		}
		// One level, and a selection, in another project.
		var other labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"selection"}`, 201, &other)
		r = runPlugin(t, h, h.rootKey, id, other.ID, map[string]any{"integrationId": st.ID, "folder": "cats/", "upload": true})
		if s := summary(r); s.Listed != 2 || s.Imported != 2 {
			t.Fatalf("cats/ one level: %+v", s)
		}
		r = runPlugin(t, h, h.rootKey, id, other.ID, map[string]any{"integrationId": st.ID, "upload": true, "files": []string{"a.jpg", "cats/1.jpg"}})
		if s := summary(r); s.Imported != 1 || s.AlreadyThere != 1 {
			t.Fatalf("selection: %+v", s)
		}
	})
}

// SubmitAssets streams a plugin's items to the import engine with the run
// token and follows the import: a second submission finds the assets
// there (onDuplicate=skip by default), invalid items are counted and
// named, and an items error stops the upload with that error.
func TestSubmitAssetsWithRunToken(t *testing.T) {
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var proj labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"submitted"}`, 201, &proj)
	const n = 1500
	id := servePlugin(t, h, h.rootKey, labelhub.PluginFileExplorer, "", plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		var p struct{ Fail bool }
		_ = json.Unmarshal(r.Params, &p)
		items := func(yield func(plugin.ImportItem, error) bool) {
			for i := range n {
				it := plugin.ImportItem{Data: fmt.Sprintf("https://example.com/img/%05d.jpg", i), ExternalID: fmt.Sprintf("img-%05d", i),
					Metadata: map[string]any{"width": 10, "height": 20}}
				if i == 7 {
					it.Data = "https://example.com/a b.jpg" // a literal space: invalid
				}
				if !yield(it, nil) {
					return
				}
				if p.Fail && i == 100 {
					yield(plugin.ImportItem{}, errors.New("the listing broke"))
					return
				}
			}
		}
		return r.SubmitAssets(ctx, plugin.SubmitOptions{Batches: []string{"from plugin"}, CreateBatches: true, PollInterval: 20 * time.Millisecond}, items)
	}))
	submit := func(params map[string]any) (labelhub.Run, plugin.ImportSummary) {
		t.Helper()
		r := runPlugin(t, h, h.rootKey, id, proj.ID, params)
		var s plugin.ImportSummary
		if r.State == labelhub.RunSucceeded && json.Unmarshal(r.Result, &s) != nil {
			t.Fatalf("run %+v", r)
		}
		return r, s
	}
	r, s := submit(map[string]any{})
	if r.State != labelhub.RunSucceeded {
		t.Fatalf("first submission: %+v", r)
	}
	if s.Sent != n || s.Counts.Imported != n-1 || s.Counts.Invalid != 1 || s.Counts.Skipped != 0 || len(s.Errors) != 1 || s.Errors[0].Index != 7 ||
		!strings.Contains(s.Errors[0].Message, "%20") {
		t.Fatalf("first summary %+v", s)
	}
	if r.Progress.Done != n || r.Progress.Total != n || !strings.Contains(r.Progress.Message, "imported 1499") {
		t.Errorf("progress %+v", r.Progress)
	}
	var assets labelhub.Page[labelhub.Asset]
	h.must(h.rootKey, "GET", "/api/v1/projects/"+proj.ID+"/assets?limit=1", "", 200, &assets)
	if len(assets.Items) != 1 || len(assets.Items[0].Batches) != 1 {
		t.Fatalf("assets %+v", assets.Items)
	}
	_, s = submit(map[string]any{})
	if s.Counts.Imported != 0 || s.Counts.Skipped != n-1 || s.Counts.Invalid != 1 {
		t.Fatalf("second summary %+v", s)
	}
	r, _ = submit(map[string]any{"fail": true})
	if r.State != labelhub.RunFailed || !strings.Contains(r.Error, "the listing broke") || !strings.Contains(r.Error, "after 101 items") {
		t.Fatalf("failing items: %+v", r)
	}
}
