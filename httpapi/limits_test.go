package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
)

// At the organisation's limit of imports at once, every route that starts
// an import answers 429 rate_limited naming the limit, with Retry-After,
// and creates nothing; at a plugin's limit of queued runs, a new run does
// the same.
func TestLimitsAnswer429(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		box, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		storages := storage.NewService(s, storage.Options{Box: box, AllowPrivateEndpoints: true})
		t.Cleanup(func() { storages.Close() })
		ctx := context.Background()
		runner := imports.New(imports.Config{Store: s, SpoolDir: t.TempDir(), Logger: quietLogger(), MaxConcurrentPerOrg: 1,
			Integrations: httpapi.StorageIntegrations(storages), Buckets: storages.Bucket})
		t.Cleanup(runner.Close)
		plugins := pluginhub.New(pluginhub.Config{Store: s, Logger: quietLogger(), NewToken: sqlstore.NewRunToken, MaxQueuedRuns: 1,
			PollInterval: 20 * time.Millisecond})
		t.Cleanup(plugins.Close)
		h := newHub(t, s, httpapi.Config{Storage: storages, Imports: runner, Plugins: plugins, RunTokens: s})

		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"limits"}`, 201, &p)
		var st labelhub.Storage
		h.must(h.rootKey, "POST", "/api/v1/storages", `{"name":"lab","provider":"s3","bucket":"lab-bucket","region":"eu-west-1",
			"credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"very-secret-value"}}`, 201, &st)
		// One import of the organisation is running (an upload going on).
		if err := s.CreateImport(ctx, labelhub.Import{ID: labelhub.NewID(), OrgID: h.rootOrg.ID, ProjectID: p.ID, Kind: labelhub.ImportKindAssets,
			State: labelhub.ImportRunning, CreatedBy: h.rootAdmin.ID, Runner: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		want := "your organisation has 1 imports running, the limit (--import-max-concurrent-per-org); wait for one to end"
		for _, c := range []struct{ path, body string }{
			{"/api/v1/projects/" + p.ID + "/imports", `[{"externalId":"a","data":"https://example.com/a.jpg"}]`},
			{"/api/v1/projects/" + p.ID + "/imports/folder", `{"storageId":"` + st.ID + `","folder":"images/"}`},
			{"/api/v1/projects/" + p.ID + "/labels", `[]`},
		} {
			r := h.as(h.rootKey, "POST", c.path, c.body)
			e := wantError(t, r, 429, labelhub.ECodeRateLimited)
			if e.Error.Message != want || r.Header.Get("Retry-After") != "10" {
				t.Errorf("%s: message %q, Retry-After %q; want %q", r, e.Error.Message, r.Header.Get("Retry-After"), want)
			}
		}
		r := h.call("POST", "/v2/project/"+p.ID+"/cloud", `{"assets": [{"externalId":"a","data":"https://example.com/a.jpg"}]}`, apikeyHeader(h.rootKey))
		if e := wantError(t, r, 429, labelhub.ECodeRateLimited); e.Error.Message != want || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: message %q", r, e.Error.Message)
		}
		// Nothing was created: with the running one, one more makes two.
		probe := func() labelhub.Import {
			return labelhub.Import{ID: labelhub.NewID(), OrgID: h.rootOrg.ID, ProjectID: p.ID, Kind: labelhub.ImportKindAssets,
				State: labelhub.ImportRunning, CreatedBy: h.rootAdmin.ID, Runner: "elsewhere"}
		}
		if err := s.CreateImportLimited(ctx, probe(), 2); err != nil {
			t.Fatalf("refused routes stored imports: %v", err)
		}
		if err := s.CreateImportLimited(ctx, probe(), 1); err == nil || !strings.Contains(err.Error(), "has 2 imports running") {
			t.Fatalf("imports stored: %v, want 2", err)
		}

		var pl labelhub.Plugin
		h.must(h.rootKey, "POST", "/api/v1/plugins", `{"name":"exporter","type":"export"}`, 201, &pl)
		run := `{"projectId":"` + p.ID + `"}`
		h.must(h.rootKey, "POST", "/api/v1/plugins/"+pl.ID+"/runs", run, 202, nil)
		r = h.as(h.rootKey, "POST", "/api/v1/plugins/"+pl.ID+"/runs", run)
		e := wantError(t, r, 429, labelhub.ECodeRateLimited)
		want = fmt.Sprintf("plugin %s has 1 runs queued, the limit (--plugin-max-queued-runs); wait for some to start or end, or connect more instances of the plugin", pl.ID)
		if e.Error.Message != want || r.Header.Get("Retry-After") != "10" {
			t.Errorf("%s: message %q, Retry-After %q; want %q", r, e.Error.Message, r.Header.Get("Retry-After"), want)
		}
		var runs labelhub.Page[labelhub.Run]
		h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID+"/runs", "", 200, &runs)
		if len(runs.Items) != 1 {
			t.Fatalf("%d runs stored, want 1", len(runs.Items))
		}
	})
}
