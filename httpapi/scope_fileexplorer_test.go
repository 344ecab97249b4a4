package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/sqlstore"
)

// servePlugin registers a plugin of type typ with Config JSON config in
// the organisation of adminKey, serves it with h in-process until the test
// ends, and returns its id once it is online.
func servePlugin(t *testing.T, h *hub, adminKey string, typ labelhub.PluginType, config string, handler plugin.Handler) string {
	t.Helper()
	in, _ := json.Marshal(map[string]string{"name": "test " + string(typ), "type": string(typ), "defaultConfig": config})
	var p struct {
		labelhub.Plugin
		Secret string `json:"secret"`
	}
	h.must(adminKey, "POST", "/api/v1/plugins", string(in), 201, &p)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		plugin.Run(ctx, plugin.Config{Host: h.srv.URL, ID: p.ID, Secret: p.Secret, Logger: quietLogger()}, handler)
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	for deadline := time.Now().Add(10 * time.Second); ; {
		var v struct{ Online bool }
		h.must(adminKey, "GET", "/api/v1/plugins/"+p.ID, "", 200, &v)
		if v.Online {
			return p.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s plugin did not come online", typ)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runPlugin runs a plugin on projectID with params (wait=true).
func runPlugin(t *testing.T, h *hub, adminKey, pluginID, projectID string, params map[string]any) labelhub.Run {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"projectId": projectID, "params": params})
	var run labelhub.Run
	h.must(adminKey, "POST", "/api/v1/plugins/"+pluginID+"/runs?wait=true", string(in), 200, &run)
	return run
}

// probeWithRunToken serves a plugin of type typ whose handler sends each
// probe ("METHOD /path") with its run token, runs it on projectID with
// params and returns the status of every probe.
func probeWithRunToken(t *testing.T, h *hub, adminKey string, typ labelhub.PluginType, projectID string, params map[string]any, probes []string) map[string]int {
	t.Helper()
	id := servePlugin(t, h, adminKey, typ, "", plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		out := map[string]int{}
		for _, pr := range probes {
			method, path, _ := strings.Cut(pr, " ")
			req, _ := http.NewRequestWithContext(ctx, method, h.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+r.APIKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			res.Body.Close()
			out[pr] = res.StatusCode
		}
		return out, nil
	}))
	run := runPlugin(t, h, adminKey, id, projectID, params)
	got := map[string]int{}
	if run.State != labelhub.RunSucceeded || json.Unmarshal(run.Result, &got) != nil {
		t.Fatalf("probe run %+v", run)
	}
	return got
}

// A file-explorer run's token reads and lists its run's storage
// integration only (another one, of its organisation or not, is 404; the
// list and the writes 403), and follows its project's imports only; an
// export run's token reaches no integration and no import.
func TestFileExplorerRunTokenScope(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		a := newOrgFixture(t, h, "a", h.rootKey)
		var orgB struct {
			APIKey string `json:"apiKey"`
		}
		h.must(h.rootKey, "POST", "/api/v1/organizations", `{"name":"Org B","adminEmail":"admin-b@example.com","adminName":"Admin B"}`, 201, &orgB)
		b := newOrgFixture(t, h, "b", orgB.APIKey)
		var second labelhub.Storage
		h.must(h.rootKey, "POST", "/api/v1/storages", `{"name":"second","provider":"s3","bucket":"second-bucket","region":"eu-west-1",
			"credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"second-secret"}}`, 201, &second)
		var otherProject labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"other"}`, 201, &otherProject)
		var otherImport struct {
			ImportID string `json:"importId"`
		}
		h.must(h.rootKey, "POST", "/api/v1/projects/"+otherProject.ID+"/imports?wait=true", `{"externalId":"x","data":"https://example.com/x.jpg"}`, 200, &otherImport)

		own := "GET /api/v1/storages/" + a.storage.ID
		probes := []string{
			own,
			"GET /api/v1/storages/" + second.ID,
			"GET /api/v1/storages/" + second.ID + "/objects",
			"GET /api/v1/storages/" + b.storage.ID,
			"GET /api/v1/storages/" + b.storage.ID + "/objects",
			"GET /api/v1/storages",
			"DELETE /api/v1/storages/" + a.storage.ID,
			"POST /api/v1/storages/" + a.storage.ID + "/validate",
			"GET /api/v1/imports/" + a.imp,
			"GET /api/v1/imports/" + otherImport.ImportID,
			"GET /api/v1/imports/" + b.imp,
			"POST /api/v1/projects/" + a.project.ID + "/imports?storageId=" + second.ID,
		}
		got := probeWithRunToken(t, h, h.rootKey, labelhub.PluginFileExplorer, a.project.ID, map[string]any{"integrationId": a.storage.ID}, probes)
		want := map[string]int{}
		for i, p := range probes {
			want[p] = []int{200, 404, 404, 404, 404, 403, 403, 403, 200, 404, 404, 404}[i]
		}
		for _, p := range probes {
			if got[p] != want[p] {
				t.Errorf("file-explorer token: %s → %d, want %d", p, got[p], want[p])
			}
		}

		// Naming another organisation's integration in the params gives
		// nothing: the token's actor stays in its organisation.
		got = probeWithRunToken(t, h, h.rootKey, labelhub.PluginFileExplorer, a.project.ID, map[string]any{"integrationId": b.storage.ID},
			[]string{"GET /api/v1/storages/" + b.storage.ID, own})
		if got["GET /api/v1/storages/"+b.storage.ID] != 404 || got[own] != 404 {
			t.Errorf("file-explorer token naming org b's integration: %v", got)
		}
		// Without an integration in its params, none.
		got = probeWithRunToken(t, h, h.rootKey, labelhub.PluginFileExplorer, a.project.ID, map[string]any{"folder": "x/"}, []string{own})
		if got[own] != 404 {
			t.Errorf("file-explorer token without integrationId: %v", got)
		}

		// An export run's token: no integration, no import.
		exportProbes := []string{own, "GET /api/v1/storages/" + a.storage.ID + "/objects", "GET /api/v1/imports/" + a.imp,
			"POST /api/v1/projects/" + a.project.ID + "/imports/folder"}
		got = probeWithRunToken(t, h, h.rootKey, labelhub.PluginExport, a.project.ID, map[string]any{"integrationId": a.storage.ID}, exportProbes)
		for _, p := range exportProbes {
			if got[p] != 403 {
				t.Errorf("export token: %s → %d, want 403", p, got[p])
			}
		}
	})
}
