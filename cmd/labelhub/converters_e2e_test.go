package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// convertersSchema is the category schema of the converters' end-to-end
// test: a box, a polygon and a polyline tool, and a classification.
var convertersSchema = labelhub.CategorySchema{
	Tools: []labelhub.SchemaTool{
		{SchemaID: "car", Title: "Car", Tool: "bounding-box"},
		{SchemaID: "road", Title: "Road", Tool: "polygon"},
		{SchemaID: "lane", Title: "Lane", Tool: "polyline"},
	},
	Classifications: []labelhub.SchemaClassification{
		{SchemaID: "weather", Title: "Weather", Tool: "radio", Options: []labelhub.SchemaOption{{Value: "sun"}, {Value: "-rain"}}},
	},
}

// convertersItems are imported with pre-labels: two images with a size,
// one without (its metadata is not probed: the hub runs with
// --probe-workers 0).
const convertersItems = `[
{"externalId": "cams/front/1.jpg", "data": "https://example.com/front/1.jpg", "metadata": {"width": 640, "height": 480},
 "preLabels": {"objects": [{"schemaId": "car", "bounding-box": {"x": 10, "y": 20, "width": 100, "height": 50}},
                           {"schemaId": "road", "polygon": [[0, 300], [640, 300], [640, 480], [0, 480]]},
                           {"schemaId": "lane", "polyline": [[0, 0], [5, 5]]}],
               "classifications": [{"schemaId": "weather", "answer": "-rain"}]}},
{"externalId": "cams/rear/1.jpg", "data": "https://example.com/rear/1.jpg", "metadata": {"width": 320, "height": 240},
 "preLabels": {"objects": [{"schemaId": "car", "bounding-box": {"x": 300, "y": 200, "width": 100, "height": 100}}]}},
{"externalId": "no-size.jpg", "data": "https://example.com/no-size.jpg",
 "preLabels": {"objects": [{"schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 2, "height": 2}}]}}
]`

// TestConvertersEndToEnd runs `labelhub serve` as a process, imports
// assets with pre-labels, runs the built-in COCO converter (in-process in
// the hub) and the CSV converter as a separate process (`labelhub plugin
// serve csv` for a registered plugin), and checks the zips downloaded
// from the hub.
func TestConvertersEndToEnd(t *testing.T) {
	e := newProcessEnv(t, "--probe-workers", "0")
	ctx := context.Background()
	c := e.c
	name, schema := "Converters", convertersSchema
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name, CategorySchema: &schema})
	if err != nil {
		t.Fatal(err)
	}
	im, err := c.Import(ctx, proj.ID, strings.NewReader(convertersItems), client.ImportOptions{Wait: true})
	if err != nil || im.State != labelhub.ImportSucceeded || im.Counts.Imported != 3 {
		t.Fatalf("import %+v: %v", im, err)
	}

	// COCO, the built-in plugin.
	plugins, err := c.ListPlugins(ctx, labelhub.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	cocoID := ""
	for _, p := range plugins.Items {
		if p.Builtin == "coco" {
			cocoID = p.ID
		}
	}
	if cocoID == "" {
		t.Fatalf("no built-in coco plugin in %+v", plugins.Items)
	}
	waitPluginOnline(t, c, cocoID)
	run, err := c.RunPlugin(ctx, cocoID, client.RunInput{ProjectID: proj.ID}, true)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		FileName string         `json:"fileName"`
		Info     map[string]any `json:"info"`
	}
	if err := json.Unmarshal(run.Result, &res); err != nil || run.State != labelhub.RunSucceeded || res.FileName != "Converters-coco.zip" ||
		res.Info["images"] != 2.0 || res.Info["annotations"] != 3.0 || res.Info["assetsSkipped"] != 1.0 || res.Info["objectsSkipped"] != 1.0 ||
		res.Info["objectsChanged"] != 1.0 || res.Info["assets"] != 3.0 {
		t.Fatalf("coco run %+v: result %s (%v)\nhub:\n%s", run, run.Result, err, e.serverOut.String())
	}
	if run.Progress.Done != 3 {
		t.Errorf("progress %+v", run.Progress)
	}
	logs, err := c.RunLogs(ctx, run.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, l := range logs.Items {
		var attrs map[string]any
		_ = json.Unmarshal(l.Attrs, &attrs)
		skipped = append(skipped, l.Message+" "+attrs["externalId"].(string))
	}
	if !strings.Contains(strings.Join(skipped, "\n"), "asset skipped: no image size (numbers width and height) in its metadata no-size.jpg") {
		t.Errorf("the asset without a size is not in the run's log: %q", skipped)
	}
	files := downloadZip(t, c, run.ID)
	var doc struct {
		Images []struct {
			ID       int    `json:"id"`
			FileName string `json:"file_name"`
			Width    int    `json:"width"`
		} `json:"images"`
		Annotations []struct {
			ImageID    int        `json:"image_id"`
			CategoryID int        `json:"category_id"`
			BBox       [4]float64 `json:"bbox"`
		} `json:"annotations"`
		Categories []struct {
			Name string `json:"name"`
		} `json:"categories"`
	}
	if err := json.Unmarshal(files["annotations.json"], &doc); err != nil {
		t.Fatalf("annotations.json: %v", err)
	}
	if len(doc.Images) != 2 || doc.Images[0].FileName != "cams_front_1.jpg" || doc.Images[1].Width != 320 ||
		len(doc.Categories) != 2 || doc.Categories[0].Name != "Car" || doc.Categories[1].Name != "Road" {
		t.Fatalf("annotations.json: %s", files["annotations.json"])
	}
	// The rear car is cut to its image.
	if a := doc.Annotations[2]; a.ImageID != 2 || a.CategoryID != 1 || a.BBox != [4]float64{300, 200, 20, 40} {
		t.Errorf("rear car %+v", a)
	}

	// CSV, as a separate process for a registered plugin.
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "CSV (ours)", Type: labelhub.PluginExport, DefaultConfig: `{"delimiter": ";"}`})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := e.start("labelhub", []string{"LABELHUB_PLUGIN_ID=" + p.ID, "LABELHUB_PLUGIN_SECRET=" + p.Secret}, "plugin", "serve", "csv", "--server", e.server)
	waitPluginOnline(t, c, p.ID)
	run, err = c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID}, true)
	if err != nil || run.State != labelhub.RunSucceeded {
		t.Fatalf("csv run %+v: %v\nplugin:\n%s", run, err, out.String())
	}
	files = downloadZip(t, c, run.ID)
	r := csv.NewReader(bytes.NewReader(files["export.csv"]))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil || len(rows) != 1+6 || rows[0][0] != "asset_id" {
		t.Fatalf("export.csv (%v): %q", err, rows)
	}
	found := false
	for _, row := range rows {
		if row[5] == "classification" && row[17] == "'-rain" && row[9] == "Weather" {
			found = true
		}
	}
	if !found {
		t.Errorf("no guarded Weather answer in %q", rows)
	}
}

// waitPluginOnline waits until the plugin has a connected instance.
func waitPluginOnline(t *testing.T, c *client.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.GetPlugin(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Online {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %s did not come online", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// downloadZip downloads a run's result and returns its files by name.
func downloadZip(t *testing.T, c *client.Client, runID string) map[string][]byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.DownloadRunArtifact(context.Background(), runID, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
	}
	return files
}
