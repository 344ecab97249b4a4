package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/sqlstore"
)

// faultyExport is an export plugin whose Config JSON {"mode": …} picks
// what it does: "zip" streams the export into a zip (one entry per
// asset), the others misbehave.
func faultyExport(capBytes int) plugin.ExportFunc {
	return func(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
		var cfg struct{ Mode string }
		if err := r.DecodeConfig(&cfg); err != nil {
			return plugin.ExportResult{}, err
		}
		switch cfg.Mode {
		case "zip":
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			n := 0
			for a, err := range r.Assets(ctx) {
				if err != nil {
					return plugin.ExportResult{}, err
				}
				w, err := zw.Create(a.ExternalID + ".json")
				if err != nil {
					return plugin.ExportResult{}, err
				}
				json.NewEncoder(w).Encode(a)
				n++
			}
			if err := zw.Close(); err != nil {
				return plugin.ExportResult{}, err
			}
			return plugin.ExportResult{FileName: "export.zip", Reader: &buf, Info: map[string]any{"assets": n, "numTasks": r.NumTasks}}, nil
		case "none":
			return plugin.ExportResult{FileName: "nothing.zip"}, nil
		case "badzip":
			return plugin.ExportResult{FileName: "export.zip", Reader: strings.NewReader("this is not a zip at all, only text")}, nil
		case "slash", "backslash", "dotdot":
			name := map[string]string{"slash": "a/b.zip", "backslash": `a\b.zip`, "dotdot": ".."}[cfg.Mode]
			return plugin.ExportResult{FileName: name, Reader: strings.NewReader("x")}, nil
		case "big":
			return plugin.ExportResult{FileName: "big.bin", Reader: io.MultiReader(strings.NewReader(strings.Repeat("x", capBytes)), strings.NewReader("!"))}, nil
		case "cut":
			// The upload breaks off midway: the request body fails, so the
			// SDK's connection to the hub is dropped mid-upload.
			return plugin.ExportResult{FileName: "cut.bin", Reader: io.MultiReader(strings.NewReader(strings.Repeat("y", capBytes/2)),
				errReader{errors.New("disk gone")})}, nil
		}
		return plugin.ExportResult{}, fmt.Errorf("unknown mode %q", cfg.Mode)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// runExport starts a run of the export plugin and waits for its end.
func runExport(t *testing.T, h *hub, pluginID, body string) labelhub.Run {
	t.Helper()
	var run labelhub.Run
	h.must(h.rootKey, "POST", "/api/v1/plugins/"+pluginID+"/runs?wait=true", body, 200, &run)
	return run
}

// Export runs on the hub side: params checked with errors naming
// params.<field>, numTasks set by the hub from the same filters as the
// export, the result file downloadable, the user notified; and every
// fault (no file, over the cap, a bad name, a .zip that is not one, an
// upload broken off) fails the run with a clear error, leaves nothing
// to download and the hub serving.
func TestExportRuns(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		dir := t.TempDir()
		blobs, err := artifacts.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		const capBytes = 256 << 10
		svc := &artifacts.Service{Blobs: blobs, Records: s, MaxBytes: capBytes, TTL: time.Hour, Logger: quietLogger()}
		h := newHub(t, s, httpapi.Config{Artifacts: svc})
		var proj labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Street"}`, 201, &proj)
		var items []string
		for i := range 12 {
			items = append(items, fmt.Sprintf(`{"externalId":"cam/%02d","data":"https://example.com/%d.jpg"}`, i, i))
		}
		var imp struct{ State string }
		h.must(h.rootKey, "POST", "/api/v1/projects/"+proj.ID+"/imports?wait=true&createBatches=true&batches=morning",
			"["+strings.Join(items[:5], ",")+"]", 200, &imp)
		h.must(h.rootKey, "POST", "/api/v1/projects/"+proj.ID+"/imports?wait=true", "["+strings.Join(items[5:], ",")+"]", 200, &imp)
		var p struct {
			labelhub.Plugin
			Secret string `json:"secret"`
		}
		h.must(h.rootKey, "POST", "/api/v1/plugins", `{"name":"Zipper","type":"export"}`, 201, &p)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go plugin.Run(ctx, plugin.Config{Host: h.srv.URL, ID: p.ID, Secret: p.Secret, Concurrency: 2, Logger: quietLogger()}, faultyExport(capBytes))
		runs := "/api/v1/plugins/" + p.ID + "/runs"

		// Params: every bad field named.
		for body, path := range map[string]string{
			`{"projectId":"` + proj.ID + `","params":{"stage":"Nowhere"}}`:                                                            "params.stage",
			`{"projectId":"` + proj.ID + `","params":{"stage":7}}`:                                                                    "params.stage",
			`{"projectId":"` + proj.ID + `","params":{"batches":["morning","evening"]}}`:                                              "params.batches[1]",
			`{"projectId":"` + proj.ID + `","params":{"batches":"morning"}}`:                                                          "params.batches",
			`{"projectId":"` + proj.ID + `","params":{"updatedAfter":"yesterday"}}`:                                                   "params.updatedAfter",
			`{"projectId":"` + proj.ID + `","params":{"updatedBefore":"2026-13-01T00:00:00Z"}}`:                                       "params.updatedBefore",
			`{"projectId":"` + proj.ID + `","params":{"includeHistory":"yes"}}`:                                                       "params.includeHistory",
			`{"projectId":"` + proj.ID + `","params":{"includeMetadata":1}}`:                                                          "params.includeMetadata",
			`{"projectId":"` + proj.ID + `","params":{"updatedAfter":"2026-01-02T00:00:00Z","updatedBefore":"2026-01-01T00:00:00Z"}}`: "params.updatedBefore",
		} {
			r := h.as(h.rootKey, "POST", runs, body)
			wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), path, "")
		}
		var page labelhub.Page[labelhub.Run]
		h.must(h.rootKey, "GET", "/api/v1/projects/"+proj.ID+"/runs", "", 200, &page)
		if len(page.Items) != 0 {
			t.Fatalf("refused runs were stored: %+v", page.Items)
		}

		// numTasks follows the filters; stage and batches are stored as ids.
		for params, want := range map[string]int64{
			`{}`:                      12,
			`{"batches":["morning"]}`: 5,
			`{"stage":"Start","batches":["morning"],"includeHistory":false,"includeMetadata":true}`: 5,
			`{"stage":"review"}`: 0,
			`{"updatedAfter":"2000-01-01T00:00:00Z","updatedBefore":"2999-01-01T00:00:00Z"}`: 12,
			`{"updatedBefore":"2000-01-01T00:00:00Z"}`:                                       0,
			`{"numTasks":999}`: 12,
		} {
			run := runExport(t, h, p.ID, `{"projectId":"`+proj.ID+`","configJSON":"{\"mode\":\"zip\"}","params":`+params+`}`)
			var got struct {
				NumTasks int64    `json:"numTasks"`
				Stage    string   `json:"stage"`
				Batches  []string `json:"batches"`
			}
			var res struct {
				Info struct{ Assets, NumTasks int64 }
			}
			if json.Unmarshal(run.Params, &got) != nil || got.NumTasks != want || json.Unmarshal(run.Result, &res) != nil ||
				run.State != labelhub.RunSucceeded || res.Info.Assets != want || res.Info.NumTasks != want {
				t.Fatalf("params %s: run %s %s, params %s, result %s; want %d tasks", params, run.State, run.Error, run.Params, run.Result, want)
			}
			if strings.Contains(params, "Start") && (got.Stage != "start" || len(got.Batches) != 1 || !labelhub.ValidID(got.Batches[0])) {
				t.Errorf("stored params %s: stage and batches not resolved to ids", run.Params)
			}
		}

		// A good run: the file is downloadable, the user notified.
		run := runExport(t, h, p.ID, `{"projectId":"`+proj.ID+`","configJSON":"{\"mode\":\"zip\"}"}`)
		g := h.call("GET", "/api/v1/runs/"+run.ID+"/artifact", "", bearer(h.rootKey))
		zr, err := zip.NewReader(bytes.NewReader(g.Body), int64(len(g.Body)))
		if g.Status != 200 || err != nil || len(zr.File) != 12 {
			t.Fatalf("download: %d %v", g.Status, err)
		}
		var notes httpapi.NotificationPage
		waitFor(t, "the notice of the export", func() bool {
			h.must(h.rootKey, "GET", "/api/v1/notifications?limit=1", "", 200, &notes)
			return len(notes.Items) == 1 && notes.Items[0].RunID == run.ID
		})
		if notes.Items[0].Kind != labelhub.NotifyExportReady || notes.Items[0].Message != `Your export "Zipper" of Street is ready (`+sizeText(len(g.Body))+`)` ||
			notes.Unread != 8 || notes.NextCursor == "" {
			t.Fatalf("notifications after the export: %+v", notes)
		}

		// Faults: each fails the run with its error, nothing to download,
		// the user told, the hub serving.
		for mode, want := range map[string]string{
			"none":      "the export plugin returned no file",
			"badzip":    `"export.zip" is not a valid zip`,
			"slash":     "without path separators",
			"backslash": "without path separators",
			"dotdot":    "must not start with '.'",
			"big":       "larger than the limit of 262144 bytes",
			"cut":       "disk gone",
		} {
			run := runExport(t, h, p.ID, `{"projectId":"`+proj.ID+`","configJSON":"{\"mode\":\"`+mode+`\"}"}`)
			if run.State != labelhub.RunFailed || !strings.Contains(run.Error, want) {
				t.Errorf("%s: run %s %q, want failed with %q", mode, run.State, run.Error, want)
			}
			wantError(t, h.call("GET", "/api/v1/runs/"+run.ID+"/artifact", "", bearer(h.rootKey)), 404, labelhub.ECodeNotFound)
			var withArt labelhub.Run
			h.must(h.rootKey, "GET", "/api/v1/runs/"+run.ID, "", 200, &withArt)
			if withArt.Artifact != nil {
				t.Errorf("%s: the run offers %+v", mode, withArt.Artifact)
			}
			waitFor(t, "the failure notice of "+mode, func() bool {
				var n httpapi.NotificationPage
				h.must(h.rootKey, "GET", "/api/v1/notifications?limit=1", "", 200, &n)
				return len(n.Items) == 1 && n.Items[0].RunID == run.ID && n.Items[0].Kind == labelhub.NotifyExportFailed &&
					strings.Contains(n.Items[0].Message, `Your export "Zipper" of Street failed: `) && strings.Contains(n.Items[0].Message, want)
			})
			if r := h.call("GET", "/healthz", ""); r.Status != 200 {
				t.Fatalf("after %s: %s", mode, r)
			}
		}
		// The good runs' files only: 7 numTasks runs and one more.
		if c := localContents(dir)(); len(c) != 8 {
			t.Errorf("the artifact store holds %v, want the 8 good exports", c)
		}
	})
}

// sizeText is n bytes in decimal kB with one decimal, as notices print
// sizes from 1,000 bytes to 999,949.
func sizeText(n int) string { return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + " kB" }

// waitFor polls cond until it holds, for 30 s at most.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Notifications are the caller's own: listed newest first with the unread
// filter and count, marked read one by one or all at once; another user of
// the same organisation neither sees nor marks them; run tokens get 403.
func TestNotificationsAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		ctx := context.Background()
		other, otherKey := h.newUser("other@example.com", labelhub.RoleAdmin)
		var ids []string
		for i := range 5 {
			n, err := s.AddNotification(ctx, labelhub.Notification{OrgID: h.rootOrg.ID, UserID: h.rootAdmin.ID, Kind: labelhub.NotifyExportReady,
				Title: "Export ready", Message: fmt.Sprint("note ", i), RunID: labelhub.NewID()})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, n.ID)
		}
		if _, err := s.AddNotification(ctx, labelhub.Notification{OrgID: h.rootOrg.ID, UserID: other.ID, Kind: labelhub.NotifyExportFailed,
			Title: "Export failed", Message: "theirs"}); err != nil {
			t.Fatal(err)
		}
		var got []string
		cursor := ""
		for {
			var pg httpapi.NotificationPage
			h.must(h.rootKey, "GET", "/api/v1/notifications?limit=2&cursor="+cursor, "", 200, &pg)
			if pg.Unread != 5 {
				t.Fatalf("unread %d", pg.Unread)
			}
			for _, n := range pg.Items {
				got = append(got, n.ID)
			}
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
			t.Fatalf("pages %v, want newest first %v", got, ids)
		}
		var n labelhub.Notification
		h.must(h.rootKey, "POST", "/api/v1/notifications/"+ids[3]+"/read", "", 200, &n)
		if n.ReadAt == nil || n.ID != ids[3] {
			t.Fatalf("read: %+v", n)
		}
		first := *n.ReadAt
		h.must(h.rootKey, "POST", "/api/v1/notifications/"+ids[3]+"/read", "", 200, &n)
		if !n.ReadAt.Equal(first) {
			t.Errorf("reading again moved readAt")
		}
		var pg httpapi.NotificationPage
		h.must(h.rootKey, "GET", "/api/v1/notifications?unread=true", "", 200, &pg)
		if len(pg.Items) != 4 || pg.Unread != 4 {
			t.Fatalf("unread: %+v", pg)
		}
		wantDetail(t, h.as(h.rootKey, "GET", "/api/v1/notifications?unread=maybe", ""),
			wantError(t, h.as(h.rootKey, "GET", "/api/v1/notifications?unread=maybe", ""), 400, labelhub.ECodeInvalid), "unread", "")
		// The other user: their own only; ours are 404 to them.
		h.must(otherKey, "GET", "/api/v1/notifications", "", 200, &pg)
		if len(pg.Items) != 1 || pg.Items[0].Message != "theirs" || pg.Unread != 1 {
			t.Fatalf("the other user sees %+v", pg)
		}
		wantError(t, h.as(otherKey, "POST", "/api/v1/notifications/"+ids[0]+"/read", ""), 404, labelhub.ECodeNotFound)
		var marked map[string]int64
		h.must(otherKey, "POST", "/api/v1/notifications/read-all", "", 200, &marked)
		if marked["marked"] != 1 {
			t.Fatalf("read-all of the other user: %v", marked)
		}
		h.must(h.rootKey, "GET", "/api/v1/notifications?unread=true", "", 200, &pg)
		if pg.Unread != 4 {
			t.Fatalf("the other user's read-all marked ours: %+v", pg)
		}
		h.must(h.rootKey, "POST", "/api/v1/notifications/read-all", "", 200, &marked)
		h.must(h.rootKey, "GET", "/api/v1/notifications?unread=true", "", 200, &pg)
		if marked["marked"] != 4 || pg.Unread != 0 || len(pg.Items) != 0 {
			t.Fatalf("after read-all: %v %+v", marked, pg)
		}

		// A run token is refused.
		var proj labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"P"}`, 201, &proj)
		var p struct {
			labelhub.Plugin
			Secret string `json:"secret"`
		}
		h.must(h.rootKey, "POST", "/api/v1/plugins", `{"name":"held","type":"export"}`, 201, &p)
		hr := &heldRuns{tokens: map[string]string{}, release: map[string]chan struct{}{}}
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go plugin.Run(pctx, plugin.Config{Host: h.srv.URL, ID: p.ID, Secret: p.Secret, Logger: quietLogger()}, plugin.HandlerFunc(hr.serve))
		var run labelhub.Run
		h.must(h.rootKey, "POST", "/api/v1/plugins/"+p.ID+"/runs", `{"projectId":"`+proj.ID+`"}`, 202, &run)
		tok := hr.token(t, run.ID)
		for _, c := range [][2]string{{"GET", "/api/v1/notifications"}, {"POST", "/api/v1/notifications/read-all"}, {"POST", "/api/v1/notifications/" + ids[0] + "/read"}} {
			wantError(t, h.as(tok, c[0], c[1], ""), 403, labelhub.ECodeForbidden)
		}
		hr.finish(run.ID)
		waitFinal(t, h, run.ID)
	})
}

// A client that cuts the connection of GET …/export midway leaves the hub
// unaffected: the next request is served and the goroutines of the cut
// export end.
func TestExportClientCutOff(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		var proj labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Big"}`, 201, &proj)
		var items []string
		for i := range 3 * labelhub.ExportPageSize {
			items = append(items, fmt.Sprintf(`{"externalId":"a%05d","data":"https://example.com/%d.jpg"}`, i, i))
		}
		h.must(h.rootKey, "POST", "/api/v1/projects/"+proj.ID+"/imports?wait=true", "["+strings.Join(items, ",")+"]", 200, nil)
		h.srv.Client().CloseIdleConnections()
		base := runtime.NumGoroutine()
		for range 3 {
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/api/v1/projects/"+proj.ID+"/export?format=ndjson", nil)
			req.Header.Set("Authorization", "Bearer "+h.rootKey)
			res, err := h.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(res.Body, make([]byte, 4096)); err != nil {
				t.Fatalf("first bytes: %v", err)
			}
			cancel()
			res.Body.Close()
		}
		var n struct{ Items []json.RawMessage }
		h.must(h.rootKey, "GET", "/api/v1/projects/"+proj.ID+"/assets?limit=5", "", 200, &n)
		if len(n.Items) != 5 {
			t.Fatalf("follow-up request: %d items", len(n.Items))
		}
		h.srv.Client().CloseIdleConnections()
		waitFor(t, "the cut exports' goroutines to end", func() bool { return runtime.NumGoroutine() <= base+2 })
		r := h.call("GET", "/api/v1/projects/"+proj.ID+"/export?format=ndjson", "", bearer(h.rootKey))
		if r.Status != 200 || bytes.Count(r.Body, []byte("\n")) != 3*labelhub.ExportPageSize {
			t.Fatalf("a full export after the cut ones: %d, %d lines", r.Status, bytes.Count(r.Body, []byte("\n")))
		}
	})
}
