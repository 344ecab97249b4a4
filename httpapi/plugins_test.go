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
	"io"
	"log/slog"
)

// A plugin run end to end through the API: create the plugin, connect an
// SDK plugin, run with wait=true, read the log as JSON and as SSE; the run
// token reaches its project only, and dies with the run.
func TestPluginRunThroughAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstoreStore) {
		h := newHub(t, s, httpapi.Config{})
		var mine, other labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"mine"}`, 201, &mine)
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"other"}`, 201, &other)
		var p struct {
			labelhub.Plugin
			Secret string `json:"secret"`
		}
		h.must(h.rootKey, "POST", "/api/v1/plugins", `{"name":"lister","type":"file-explorer","defaultConfig":"{\"x\":1}"}`, 201, &p)
		if !strings.HasPrefix(p.Secret, "lhp_") {
			t.Fatalf("secret %q", p.Secret)
		}
		type probe struct{ Own, Other, List, Me, Cancel int }
		status := func(token, method, path string) int {
			req, _ := http.NewRequest(method, h.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return -1
			}
			res.Body.Close()
			return res.StatusCode
		}
		var token string
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go plugin.Run(ctx, plugin.Config{Host: h.srv.URL, ID: p.ID, Secret: p.Secret, Logger: quietLogger()}, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
			token = r.APIKey
			r.Log.Info("probing", "project", r.ProjectID)
			return probe{
				Own:    status(r.APIKey, "GET", "/api/v1/projects/"+mine.ID),
				Other:  status(r.APIKey, "GET", "/api/v1/projects/"+other.ID),
				List:   status(r.APIKey, "GET", "/api/v1/projects"),
				Me:     status(r.APIKey, "GET", "/api/v1/me"),
				Cancel: status(r.APIKey, "POST", "/api/v1/runs/"+r.Session+"/cancel"),
			}, nil
		}))
		deadline := time.Now().Add(5 * time.Second)
		for {
			var v struct{ Online bool }
			h.must(h.rootKey, "GET", "/api/v1/plugins/"+p.ID, "", 200, &v)
			if v.Online {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("plugin not online")
			}
			time.Sleep(10 * time.Millisecond)
		}
		var run labelhub.Run
		h.must(h.rootKey, "POST", "/api/v1/plugins/"+p.ID+"/runs?wait=true", `{"projectId":"`+mine.ID+`","params":{"folder":"a/"}}`, 200, &run)
		var got probe
		if run.State != labelhub.RunSucceeded || json.Unmarshal(run.Result, &got) != nil {
			t.Fatalf("run %+v", run)
		}
		if got != (probe{Own: 200, Other: 404, List: 403, Me: 200, Cancel: 403}) {
			t.Errorf("the run token reached: %+v", got)
		}
		if st := status(token, "GET", "/api/v1/projects/"+mine.ID); st != 401 {
			t.Errorf("the token outlived its run: %d", st)
		}
		var logs struct {
			Items []labelhub.RunLog
			Final bool
		}
		h.must(h.rootKey, "GET", "/api/v1/runs/"+run.ID+"/logs", "", 200, &logs)
		if len(logs.Items) != 1 || logs.Items[0].Message != "probing" || !logs.Final {
			t.Fatalf("logs %+v", logs)
		}
		r := h.call("GET", "/api/v1/runs/"+run.ID+"/logs?stream=true", "", bearer(h.rootKey))
		if !strings.Contains(string(r.Body), "event: log") || !strings.Contains(string(r.Body), "event: end") || r.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream %s", r)
		}
		var runs labelhub.Page[labelhub.Run]
		h.must(h.rootKey, "GET", "/api/v1/projects/"+mine.ID+"/runs", "", 200, &runs)
		if len(runs.Items) != 1 || runs.Items[0].ID != run.ID {
			t.Fatalf("runs %+v", runs)
		}
		// Rotating the secret stops the plugin.
		var rot struct{ Secret string }
		h.must(h.rootKey, "POST", "/api/v1/plugins/"+p.ID+"/rotate-secret", "", 200, &rot)
		if rot.Secret == p.Secret || rot.Secret == "" {
			t.Fatal("rotate")
		}
	})
}

type sqlstoreStore = sqlstore.Store

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
