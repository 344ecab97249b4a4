package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// yoloVOCSchema: a tool of every kind with an area, and a point tool.
var yoloVOCSchema = labelhub.CategorySchema{Tools: []labelhub.SchemaTool{
	{SchemaID: "car", Title: "Car", Tool: "bounding-box"},
	{SchemaID: "sign", Title: "Sign", Tool: "rotated-bounding-box"},
	{SchemaID: "road", Title: "Road", Tool: "polygon"},
	{SchemaID: "sky", Title: "Sky", Tool: "segmentation"},
	{SchemaID: "kp", Title: "Keypoint", Tool: "point"},
}}

// yoloVOCItems: two images with a size and pre-labels, one without a size.
const yoloVOCItems = `[
{"externalId": "a/1.jpg", "data": "https://example.com/a/1.jpg", "metadata": {"width": 200, "height": 100},
 "preLabels": {"objects": [{"schemaId": "car", "bounding-box": {"x": 20, "y": 10, "width": 40, "height": 20}},
                           {"title": "Sign", "rotated-bounding-box": {"x": 100, "y": 50, "width": 20, "height": 10, "rotation": 90}},
                           {"schemaId": "road", "polygon": [[0, 80], [200, 80], [200, 100], [0, 100]]},
                           {"schemaId": "sky", "segmentation": {"zones": [{"region": [[0, 0], [50, 0], [50, 10]], "holes": [[[1, 1], [2, 1], [2, 2]]]},
                                                                          {"region": [[150, 0], [200, 0], [200, 10]]}]}},
                           {"schemaId": "kp", "point": [5, 5]}]}},
{"externalId": "a/2.png", "data": "https://example.com/a/2.png?sig=1&x=2", "metadata": {"width": 100, "height": 100}},
{"externalId": "no-size.jpg", "data": "https://example.com/no-size.jpg",
 "preLabels": {"objects": [{"schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 2, "height": 2}}]}}
]`

// TestYOLOAndVOCEndToEnd runs `labelhub serve` as a process, imports
// assets with pre-labels, runs the built-in YOLO converter (in-process in
// the hub, segment mode by the run's Config JSON) and the Pascal VOC
// converter as a separate process (`labelhub plugin serve voc`), and
// checks the zips downloaded from the hub.
func TestYOLOAndVOCEndToEnd(t *testing.T) {
	e := newProcessEnv(t, "--probe-workers", "0")
	ctx := context.Background()
	c := e.c
	name, schema := "Street", yoloVOCSchema
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name, CategorySchema: &schema})
	if err != nil {
		t.Fatal(err)
	}
	im, err := c.Import(ctx, proj.ID, strings.NewReader(yoloVOCItems), client.ImportOptions{Wait: true})
	if err != nil || im.State != labelhub.ImportSucceeded || im.Counts.Imported != 3 {
		t.Fatalf("import %+v: %v", im, err)
	}
	var res struct {
		FileName string         `json:"fileName"`
		Info     map[string]any `json:"info"`
	}

	// YOLO, the built-in plugin.
	plugins, err := c.ListPlugins(ctx, labelhub.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	yoloID := ""
	for _, p := range plugins.Items {
		if p.Builtin == "yolo" {
			yoloID = p.ID
		}
	}
	if yoloID == "" {
		t.Fatalf("no built-in yolo plugin in %+v", plugins.Items)
	}
	waitPluginOnline(t, c, yoloID)
	cfg := `{"mode": "segment", "tools": ["Sky", "car", "Sign", "road"]}`
	run, err := c.RunPlugin(ctx, yoloID, client.RunInput{ProjectID: proj.ID, ConfigJSON: &cfg}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(run.Result, &res); err != nil || run.State != labelhub.RunSucceeded || res.FileName != "Street-yolo.zip" ||
		res.Info["images"] != 2.0 || res.Info["labels"] != 5.0 || res.Info["assetsSkipped"] != 1.0 || res.Info["objectsSkipped"] != 1.0 {
		t.Fatalf("yolo run %+v: result %s (%v)\nhub:\n%s", run, run.Result, err, e.serverOut.String())
	}
	files := downloadZip(t, c, run.ID)
	want := map[string]string{
		"labels/a_1.txt": "1 0.100000 0.100000 0.300000 0.100000 0.300000 0.300000 0.100000 0.300000\n" +
			"2 0.575000 0.450000 0.575000 0.650000 0.525000 0.650000 0.525000 0.450000\n" +
			"3 0.000000 0.800000 1.000000 0.800000 1.000000 1.000000 0.000000 1.000000\n" +
			"0 0.000000 0.000000 0.250000 0.000000 0.250000 0.100000\n" +
			"0 0.750000 0.000000 1.000000 0.000000 1.000000 0.100000\n",
		"labels/a_2.txt": "",
		"classes.txt":    "Sky\nCar\nSign\nRoad\n",
		"images.txt":     "images/a_1.jpg\thttps://example.com/a/1.jpg\nimages/a_2.png\thttps://example.com/a/2.png?sig=1&x=2\n",
	}
	for name, body := range want {
		if got, ok := files[name]; !ok || string(got) != body {
			t.Errorf("%s = %q, want %q", name, got, body)
		}
	}
	if y := string(files["data.yaml"]); !strings.Contains(y, "nc: 4\nnames:\n  - \"Sky\"\n  - \"Car\"\n") {
		t.Errorf("data.yaml:\n%s", y)
	}

	// Pascal VOC, as a separate process for a registered plugin.
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "VOC (ours)", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := e.start("labelhub", []string{"LABELHUB_PLUGIN_ID=" + p.ID, "LABELHUB_PLUGIN_SECRET=" + p.Secret}, "plugin", "serve", "voc", "--server", e.server)
	waitPluginOnline(t, c, p.ID)
	run, err = c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID}, true)
	if err != nil || run.State != labelhub.RunSucceeded {
		t.Fatalf("voc run %+v: %v\nplugin:\n%s", run, err, out.String())
	}
	if err := json.Unmarshal(run.Result, &res); err != nil || res.FileName != "Street-voc.zip" || res.Info["objects"] != 4.0 || res.Info["assetsSkipped"] != 1.0 {
		t.Fatalf("voc result %s (%v)", run.Result, err)
	}
	files = downloadZip(t, c, run.ID)
	var ann struct {
		Filename string `xml:"filename"`
		Path     string `xml:"path"`
		Width    int    `xml:"size>width"`
		Objects  []struct {
			Name string `xml:"name"`
			Box  struct {
				XMin int `xml:"xmin"`
				YMin int `xml:"ymin"`
				XMax int `xml:"xmax"`
				YMax int `xml:"ymax"`
			} `xml:"bndbox"`
		} `xml:"object"`
	}
	if err := xml.Unmarshal(files["Annotations/a_1.xml"], &ann); err != nil {
		t.Fatalf("a_1.xml: %v\n%s", err, files["Annotations/a_1.xml"])
	}
	if ann.Filename != "a_1.jpg" || ann.Path != "https://example.com/a/1.jpg" || ann.Width != 200 || len(ann.Objects) != 4 ||
		ann.Objects[0].Name != "Car" || ann.Objects[3].Name != "Sky" || ann.Objects[0].Box.XMin != 21 || ann.Objects[0].Box.YMax != 30 {
		t.Fatalf("a_1.xml: %+v", ann)
	}
	if got := string(files["ImageSets/Main/default.txt"]) + string(files["labels.txt"]); got != "a_1\na_2\nCar\nSign\nRoad\nSky\n" {
		t.Errorf("default.txt and labels.txt: %q", got)
	}
}
