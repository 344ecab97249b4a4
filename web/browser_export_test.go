package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/converters/coco"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// boxes is a task answer of car boxes, each [x, y, width, height].
func boxes(t *testing.T, list ...[4]float64) string {
	t.Helper()
	var a labelhub.Answer
	for i, b := range list {
		a.Tools = append(a.Tools, labelhub.Object{ObjectID: "o" + string(rune('1'+i)), SchemaID: "car", Title: "Car",
			BoundingBox: &labelhub.Box{X: b[0], Y: b[1], Width: b[2], Height: b[3]}})
	}
	text, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// serveExportHub serves the UI and the API with a plugin hub and an
// artifact store in a temp folder, until the test ends.
func serveExportHub(t *testing.T, store *sqlstore.Store) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	blobs, err := artifacts.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hub := pluginhub.New(pluginhub.Config{Store: store, Logger: log, NewToken: sqlstore.NewRunToken,
		PollInterval: 50 * time.Millisecond, Heartbeat: time.Second, CancelGrace: 5 * time.Second})
	srv := serveHub(t, store, web.Config{Logger: log, Plugins: hub}, httpapi.Config{Logger: log, Plugins: hub, RunTokens: store,
		Artifacts: &artifacts.Service{Blobs: blobs, Records: store, MaxBytes: 16 << 20, TTL: time.Hour, Logger: log}})
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); hub.Close() })
	return srv
}

// TestBrowserExportRun: in Chromium, run the first-party COCO converter
// (served in-process by the test) from a project's Plugins tab with a
// batch filter, land on the session page and see it succeed, see the
// header's notification count go to 1, open the Notifications page, click
// Download (which marks the notification read), and check that the file
// at the Download link, fetched with the browser's session, is a COCO zip
// with only the picked batch's images and boxes.
func TestBrowserExportRun(t *testing.T) {
	chromium := testservers.Chromium(t)
	store, org, admin := orgStore(t)
	ctx := context.Background()
	srv := serveExportHub(t, store)

	proj := newTaskProject(t, store, org.ID, admin.ID, `{"tools": [{"schemaId": "car", "title": "Car", "tool": "bounding-box"}]}`)
	night, err := store.CreateBatch(ctx, org.ID, proj.ID, "night")
	if err != nil {
		t.Fatal(err)
	}
	day, err := store.CreateBatch(ctx, org.ID, proj.ID, "day")
	if err != nil {
		t.Fatal(err)
	}
	size := func(w, h int) string {
		return fmt.Sprintf(`{"metadata":{"width":%d,"height":%d}}`, w, h)
	}
	importAssets(t, store, org.ID, admin.ID, proj.ID, []labelhub.NewAsset{
		{ExternalID: "night/a.jpg", Type: labelhub.AssetImage, Data: "https://example.com/night/a.jpg", Doc: size(640, 480),
			BatchIDs: []string{night.ID}, Answer: boxes(t, [4]float64{10, 20, 100, 50}, [4]float64{200, 100, 40, 40})},
		{ExternalID: "night/b.jpg", Type: labelhub.AssetImage, Data: "https://example.com/night/b.jpg", Doc: size(320, 240),
			BatchIDs: []string{night.ID}, Answer: boxes(t, [4]float64{5, 5, 30, 30})},
		{ExternalID: "day/c.jpg", Type: labelhub.AssetImage, Data: "https://example.com/day/c.jpg", Doc: size(800, 600),
			BatchIDs: []string{day.ID}, Answer: boxes(t, [4]float64{1, 1, 10, 10}, [4]float64{50, 50, 10, 10}, [4]float64{70, 70, 5, 5})},
	})
	p, secret, err := store.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("COCO export"), Type: ptr(labelhub.PluginExport),
		Description: ptr(coco.Description), DefaultConfig: ptr(coco.DefaultConfig)})
	if err != nil {
		t.Fatal(err)
	}
	servePlugin(t, store, srv.URL, p, secret, coco.Handler())

	b := newBrowser(t, chromium, 120*time.Second, 1000)
	defer b.close()
	b.pollFor = 45 * time.Second
	badge := func() string {
		t.Helper()
		return b.eval("the unread count", `(function () { var b = document.getElementById("notif-count");
			return b.hidden ? "hidden" : b.textContent.trim(); })()`)
	}

	b.signIn(srv.URL + "/projects")
	if got := badge(); got != "hidden" {
		t.Fatalf("before any export the header shows %q unread", got)
	}
	b.do("open the project's Plugins tab", chromedp.Navigate(srv.URL+"/projects/"+proj.ID+"/plugins"),
		chromedp.WaitVisible(chromedp.ID("project-plugin-rows")))
	b.navigate("open the COCO plugin", chromedp.Click(chromedp.CSS(`[data-open-plugin="`+p.ID+`"]`)), "export-filters")
	if got := b.eval("history default", `String(document.getElementById("filter-history").checked)`); got != "true" {
		t.Fatalf("include history starts %s", got)
	}
	if got := b.eval("batches offered", `Array.prototype.map.call(document.querySelectorAll("#filter-batches option"), function (o) { return o.textContent; }).sort().join(",")`); got != "day,night" {
		t.Fatalf("batches offered: %q", got)
	}
	b.eval("pick the night batch", `(function () { var s = document.getElementById("filter-batches");
		Array.prototype.forEach.call(s.options, function (o) { o.selected = o.value === `+jsString(night.ID)+`; }); return ""; })()`)
	if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile("/tmp/labelhub-ui-export-run.png", shot, 0o644)
	}

	b.navigate("run", chromedp.Click(chromedp.ID("run-submit")), "run-live")
	page, err := store.ListRuns(ctx, org.ID, proj.ID, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("runs %+v, %v", page.Items, err)
	}
	run := page.Items[0]
	if loc := b.eval("location", `location.pathname`); loc != "/runs/"+run.ID {
		t.Fatalf("after Run at %s", loc)
	}
	var params struct {
		Batches  []string `json:"batches"`
		NumTasks int64    `json:"numTasks"`
	}
	if err := json.Unmarshal(run.Params, &params); err != nil || len(params.Batches) != 1 || params.Batches[0] != night.ID || params.NumTasks != 2 {
		t.Fatalf("run params %s (%v)", run.Params, err)
	}
	b.runSucceeds("the session")
	b.poll("the unread count goes to 1", `!document.getElementById("notif-count").hidden && document.getElementById("notif-count").textContent.trim() === "1"`)
	if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile("/tmp/labelhub-ui-export-session.png", shot, 0o644)
	}

	b.navigate("open Notifications", chromedp.Click(chromedp.ID("nav-notifications")), "notification-rows")
	row := `#notification-rows tr[data-kind="export.ready"]`
	if got := b.eval("rows", `String(document.querySelectorAll("#notification-rows tr").length)`); got != "1" {
		t.Fatalf("%s notifications listed", got)
	}
	if got := b.text(row); !strings.Contains(got, "Export ready") || !strings.Contains(got, `"COCO export"`) || !strings.Contains(got, "Street scenes") {
		t.Fatalf("notification %q", got)
	}
	if got := b.eval("unread", `document.querySelector(`+jsString(row)+`).getAttribute("data-unread")`); got != "true" {
		t.Fatalf("the new notification shows unread=%s", got)
	}
	if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile("/tmp/labelhub-ui-notifications.png", shot, 0o644)
	}
	href := b.eval("download link", `document.querySelector(`+jsString(row+` a[data-download]`)+`).getAttribute("href")`)
	if href != "/api/v1/runs/"+run.ID+"/artifact" {
		t.Fatalf("Download links to %q", href)
	}
	b.do("click Download", chromedp.Click(chromedp.CSS(row+` a[data-download]`)))
	b.poll("downloading marks it read", `document.querySelector(`+jsString(row)+`).getAttribute("data-unread") === "false" && document.getElementById("notif-count").hidden`)
	if n, err := store.UnreadNotifications(ctx, org.ID, admin.ID); err != nil || n != 0 {
		t.Fatalf("unread after Download: %d, %v", n, err)
	}

	// The file behind the link, fetched with the browser's session.
	zr := b.fetchZip(href)
	var doc map[string]any
	for _, f := range zr.File {
		if f.Name != "annotations.json" {
			t.Fatalf("the zip holds %s", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(rc).Decode(&doc)
		rc.Close()
		if err != nil {
			t.Fatalf("annotations.json: %v", err)
		}
	}
	if doc == nil {
		t.Fatal("the zip has no annotations.json")
	}
	images, _ := doc["images"].([]any)
	anns, _ := doc["annotations"].([]any)
	var names []string
	imageIDs := map[any]bool{}
	for _, im := range images {
		m, _ := im.(map[string]any)
		name, _ := m["file_name"].(string)
		names = append(names, name)
		imageIDs[m["id"]] = true
	}
	for _, a := range anns {
		m, _ := a.(map[string]any)
		if bbox, _ := m["bbox"].([]any); len(bbox) != 4 || !imageIDs[m["image_id"]] || m["category_id"] == nil {
			t.Fatalf("annotation %v: want a bbox of 4 numbers on a listed image", m)
		}
	}
	if len(images) != 2 || len(anns) != 3 || strings.Contains(strings.Join(names, ","), "c.jpg") {
		t.Fatalf("COCO of the night batch: %d images %q, %d annotations; want 2 images (a, b) and 3 annotations", len(images), names, len(anns))
	}
}
