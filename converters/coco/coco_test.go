package coco

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/converters/convertertest"
	"github.com/labelhub/labelhub/plugin"
)

func run(t *testing.T, cfg Config) (map[string]any, *converters.Report) {
	t.Helper()
	files, names, rep, err := convertertest.Run(context.Background(), Write, convertertest.Project(t), cfg, convertertest.Assets(t))
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.FileName
	if name == "" {
		name = "annotations.json"
	}
	if len(names) != 1 || names[0] != name {
		t.Fatalf("the zip holds %q; want only %s", names, name)
	}
	var doc map[string]any
	if err := json.Unmarshal(files[name], &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", name, err)
	}
	CheckInstances(t, doc)
	return doc, rep
}

func TestGolden(t *testing.T) {
	files, _, rep, err := convertertest.Run(context.Background(), Write, convertertest.Project(t), Defaults, convertertest.Assets(t))
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, files["annotations.json"], "", "  "); err != nil {
		t.Fatal(err)
	}
	convertertest.Golden(t, "annotations.json", pretty.Bytes())

	var doc map[string]any
	json.Unmarshal(files["annotations.json"], &doc)
	CheckInstances(t, doc)
	info := rep.Info()
	// a3 and a5 have no size; o4 (polyline), o5 (point), o7 (brush) have
	// no COCO shape; o9 is outside its image; o10 is on page 1.
	if info["images"] != int64(3) || info["annotations"] != int64(6) || info["assetsSkipped"] != int64(2) || info["objectsSkipped"] != int64(5) || info["objectsChanged"] != int64(2) {
		t.Errorf("report: %v", info)
	}
	images := doc["images"].([]any)
	var fileNames []string
	for _, im := range images {
		fileNames = append(fileNames, im.(map[string]any)["file_name"].(string))
	}
	if strings.Join(fileNames, ",") != "cams_front_1.jpg,cams_front_1-a2.jpg,img 01.png" {
		t.Errorf("file names: %q", fileNames)
	}
}

// CheckInstances checks a COCO instances document read as generic JSON,
// from the COCO format's own rules rather than from this package's types:
// ids unique, every annotation's image and category exist, bbox within
// its image with a positive size, area > 0, segmentation polygons of an
// even length of at least 6, iscrowd 0 or 1.
func CheckInstances(t testing.TB, doc map[string]any) {
	t.Helper()
	list := func(key string) []map[string]any {
		v, ok := doc[key].([]any)
		if !ok {
			t.Fatalf("%q is not a list: %v", key, doc[key])
		}
		out := make([]map[string]any, len(v))
		for i, x := range v {
			if out[i], ok = x.(map[string]any); !ok {
				t.Fatalf("%s[%d] is not an object", key, i)
			}
		}
		return out
	}
	id := func(where string, m map[string]any, key string) float64 {
		v, ok := m[key].(float64)
		if !ok || v != math.Trunc(v) {
			t.Fatalf("%s.%s is not an integer: %v", where, key, m[key])
		}
		return v
	}
	type size struct{ w, h float64 }
	images := map[float64]size{}
	for i, im := range list("images") {
		where := fmt.Sprintf("images[%d]", i)
		n := id(where, im, "id")
		if _, dup := images[n]; dup {
			t.Errorf("%s: the id %v is not unique", where, n)
		}
		w, h := id(where, im, "width"), id(where, im, "height")
		if !(w > 0 && h > 0) {
			t.Errorf("%s: size %v × %v", where, w, h)
		}
		if s, _ := im["file_name"].(string); s == "" || strings.ContainsAny(s, `/\`) {
			t.Errorf("%s: file_name %q", where, s)
		}
		images[n] = size{w, h}
	}
	cats := map[float64]bool{}
	for i, c := range list("categories") {
		where := fmt.Sprintf("categories[%d]", i)
		n := id(where, c, "id")
		if cats[n] {
			t.Errorf("%s: the id %v is not unique", where, n)
		}
		cats[n] = true
		if s, _ := c["name"].(string); s == "" {
			t.Errorf("%s: no name", where)
		}
		if _, ok := c["supercategory"].(string); !ok {
			t.Errorf("%s: no supercategory", where)
		}
	}
	anns := map[float64]bool{}
	const eps = 1e-9
	for i, a := range list("annotations") {
		where := fmt.Sprintf("annotations[%d]", i)
		n := id(where, a, "id")
		if anns[n] {
			t.Errorf("%s: the id %v is not unique", where, n)
		}
		anns[n] = true
		im, ok := images[id(where, a, "image_id")]
		if !ok {
			t.Errorf("%s: image_id %v is no image", where, a["image_id"])
		}
		if !cats[id(where, a, "category_id")] {
			t.Errorf("%s: category_id %v is no category", where, a["category_id"])
		}
		if c := id(where, a, "iscrowd"); c != 0 && c != 1 {
			t.Errorf("%s: iscrowd %v", where, c)
		}
		bb, _ := a["bbox"].([]any)
		if len(bb) != 4 {
			t.Fatalf("%s: bbox %v", where, a["bbox"])
		}
		var b [4]float64
		for k := range b {
			b[k], _ = bb[k].(float64)
		}
		if !(b[0] >= 0 && b[1] >= 0 && b[2] > 0 && b[3] > 0 && b[0]+b[2] <= im.w+eps && b[1]+b[3] <= im.h+eps) {
			t.Errorf("%s: bbox %v is not within its image of %v × %v", where, b, im.w, im.h)
		}
		if area, _ := a["area"].(float64); !(area > 0) || area > b[2]*b[3]+eps {
			t.Errorf("%s: area %v (bbox %v)", where, a["area"], b)
		}
		seg, ok := a["segmentation"].([]any)
		if !ok {
			t.Errorf("%s: segmentation %v is not a list of polygons", where, a["segmentation"])
		}
		for k, p := range seg {
			poly, _ := p.([]any)
			if len(poly) < 6 || len(poly)%2 != 0 {
				t.Errorf("%s: segmentation[%d] has %d numbers", where, k, len(poly))
			}
			for j, v := range poly {
				x, ok := v.(float64)
				lim := im.w
				if j%2 == 1 {
					lim = im.h
				}
				if !ok || x < 0 || x > lim+eps {
					t.Errorf("%s: segmentation[%d][%d] = %v is outside the image", where, k, j, v)
				}
			}
		}
	}
}

func TestConfig(t *testing.T) {
	// Chosen tools, in that order; a custom file name; rotated boxes skipped.
	doc, rep := run(t, Config{ToolsConfig: converters.ToolsConfig{Tools: []string{"Area", "car"}}, FileName: "train.json", RotatedBoxes: "skip", Supercategory: "street"})
	cats := doc["categories"].([]any)
	if len(cats) != 2 || cats[0].(map[string]any)["name"] != "Area" || cats[1].(map[string]any)["id"] != 2.0 || cats[1].(map[string]any)["supercategory"] != "street" {
		t.Errorf("categories: %v", cats)
	}
	if n := len(doc["annotations"].([]any)); n != 3 {
		t.Errorf("%d annotations; want the cars o1 and o8 and the segmentation o6", n)
	}
	if rep.Counted("objectsOfOtherTools") == 0 {
		t.Errorf("objects of tools not chosen are not counted: %v", rep.Info())
	}

	p := convertertest.Project(t)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{ToolsConfig: converters.ToolsConfig{Tools: []string{"Truck"}}}, `tools[0]: "Truck" is neither`},
		{Config{ToolsConfig: converters.ToolsConfig{Tools: []string{"Lane"}}}, `"Lane" is a polyline tool`},
		{Config{ToolsConfig: converters.ToolsConfig{Tools: []string{"Person"}}, RotatedBoxes: "skip"}, `"Person" is a rotated-bounding-box tool`},
		{Config{FileName: "../x.json"}, `fileName "../x.json"`},
		{Config{FileName: "x.txt"}, `fileName "x.txt"`},
		{Config{RotatedBoxes: "round"}, `rotatedBoxes "round"`},
	} {
		_, _, _, err := convertertest.Run(context.Background(), Write, p, c.cfg, convertertest.Assets(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.cfg, err, c.want)
		}
	}
}

func TestStreamError(t *testing.T) {
	boom := fmt.Errorf("the export stream broke")
	assets := func(yield func(*plugin.ExportedAsset, error) bool) {
		if yield(&plugin.ExportedAsset{AssetID: "a", Metadata: json.RawMessage(`{"width":1,"height":1}`)}, nil) {
			yield(nil, boom)
		}
	}
	_, _, _, err := convertertest.Run(context.Background(), Write, convertertest.Project(t), Defaults, assets)
	if err != boom {
		t.Errorf("err = %v; want the stream's error", err)
	}
}

func TestClipping(t *testing.T) {
	// A concave polygon leaving the image and coming back: its parts
	// inside keep their area.
	o := labelhub.Object{SchemaID: "road", Polygon: []labelhub.Point{{-10, 0}, {10, 0}, {10, 10}, {5, 10}, {5, 2}, {-10, 2}}}
	a := &labelhub.ExportedAsset{AssetID: "a"}
	ann, ok := convert(a, &o, 100, 100, converters.NewReport(nil))
	if !ok || ann.Area != 10*2+5*8 || ann.BBox != [4]float64{0, 0, 10, 10} {
		t.Errorf("clipped polygon: %+v, %v", ann, ok)
	}
}

func FuzzWrite(f *testing.F) {
	f.Add(10.0, 20.0, 30.0, 40.0, 15.0, 3, uint8(0))
	f.Add(-1e7, 1e7, 1e7, -1e7, 360.0, 0, uint8(7))
	f.Add(1e308, -1e308, 5e-324, 0.0, -720.0, 1, uint8(255))
	f.Add(-1e308, -1e308, 1e308, -5e307, 0.0, 3, uint8(4)) // clipping overflows
	p := convertertest.Project(f)
	f.Fuzz(func(t *testing.T, x, y, w, h, rot float64, n int, mask uint8) {
		if math.IsNaN(x + y + w + h + rot) {
			t.Skip()
		}
		n = min(max(n, 0), 8)
		pts := make([]labelhub.Point, n)
		for i := range pts {
			pts[i] = labelhub.Point{x + float64(i)*w, y - float64(i*i)*h}
		}
		zone := labelhub.Zone{Region: pts, Holes: [][]labelhub.Point{pts, {}}}
		page := n - 1
		objs := []labelhub.Object{
			{SchemaID: "car", BoundingBox: &labelhub.Box{X: x, Y: y, Width: w, Height: h}, Page: &page},
			{SchemaID: "person", RotatedBoundingBox: &labelhub.RotatedBox{X: x, Y: y, Width: w, Height: h, Rotation: rot}},
			{SchemaID: "road", Polygon: pts},
			{SchemaID: "road", Polygon: []labelhub.Point{}},
			{SchemaID: "area", Segmentation: &labelhub.Segmentation{Zones: []labelhub.Zone{zone, {}}}},
			{SchemaID: "area", Segmentation: &labelhub.Segmentation{}},
			{SchemaID: "car"},
			{Title: "Car", Polygon: pts},
		}
		var list []labelhub.Object
		for i, o := range objs {
			if mask&(1<<i) != 0 || mask == 0 {
				list = append(list, o)
			}
		}
		meta := json.RawMessage(fmt.Sprintf(`{"width": %d, "height": %d}`, 1+n*100, 1+int(mask)))
		a := &plugin.ExportedAsset{AssetID: "a", ExternalID: "../../x", Metadata: meta, Task: labelhub.ExportedTask{Answer: labelhub.Answer{Tools: list}}}
		files, _, _, err := convertertest.Run(context.Background(), Write, p, Defaults, convertertest.Slice(a, a))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(files["annotations.json"], &doc); err != nil {
			t.Fatal(err)
		}
		CheckInstances(t, doc)
	})
}

// DefaultConfig, the text users start from, decodes strictly into the
// defaults Write starts from.
func TestDefaultConfig(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(DefaultConfig))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.check(); err != nil || c.FileName != Defaults.FileName || c.RotatedBoxes != Defaults.RotatedBoxes || len(c.Tools) != 0 {
		t.Errorf("DefaultConfig gives %+v (%v); want %+v", c, err, Defaults)
	}
}

// BenchmarkWrite converts b.N copies of one exported asset with a box, a
// polygon, a point and classifications, decoding each from its NDJSON
// line as the SDK does, into a zip that is thrown away.
func BenchmarkWrite(b *testing.B) {
	line := []byte(`{"asset":"https://example.com/a.jpg","assetId":"a","externalId":"img.jpg","metadata":{"width":640,"height":480},"batches":["b"],` +
		`"task":{"taskId":"t","stage":"Label","stageId":"label","updatedAt":"2026-11-22T12:00:00Z","updatedBy":"a@example.com","tools":[` +
		`{"objectId":"o1","schemaId":"car","title":"Car","bounding-box":{"x":10,"y":20,"width":50,"height":40},"classifications":[{"tool":"radio","schemaId":"color","objectId":"o2","title":"Color","answer":"Red"}]},` +
		`{"objectId":"o3","schemaId":"road","title":"Road","polygon":[[0,0],[100,0],[100,50],[0,50]]},{"objectId":"o4","schemaId":"sign","title":"Sign","point":[5.5,6.25]}],` +
		`"classifications":[{"tool":"checkbox","schemaId":"tags","objectId":"o5","title":"Tags","answer":["a","b"]}],"relations":[],"totalDuration":8217}}`)
	p := convertertest.Project(b)
	assets := func(yield func(*plugin.ExportedAsset, error) bool) {
		for range b.N {
			a := new(plugin.ExportedAsset)
			if err := json.Unmarshal(line, a); err != nil {
				yield(nil, err)
				return
			}
			if !yield(a, nil) {
				return
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	zw := zip.NewWriter(io.Discard)
	if err := Write(context.Background(), p, Defaults, assets, zw, converters.NewReport(nil)); err != nil {
		b.Fatal(err)
	}
	zw.Close()
}
