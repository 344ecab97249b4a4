package web

import (
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
)

// svgTestSchema has one tool of each drawable kind; "car" has a colour,
// the others take palette colours.
func svgTestSchema(t *testing.T) labelhub.CategorySchema {
	t.Helper()
	var cs labelhub.CategorySchema
	if err := json.Unmarshal([]byte(`{"tools": [
		{"schemaId": "car", "title": "Car", "tool": "bounding-box", "color": "#e6194b"},
		{"schemaId": "ship", "title": "Ship", "tool": "rotated-bounding-box"},
		{"schemaId": "roof", "title": "Roof", "tool": "polygon"},
		{"schemaId": "lane", "title": "Lane", "tool": "polyline"},
		{"schemaId": "eye", "title": "Eye", "tool": "point"},
		{"schemaId": "road", "title": "Road", "tool": "segmentation"},
		{"schemaId": "name", "title": "Name", "tool": "ner"}
	], "classifications": [], "relations": []}`), &cs); err != nil {
		t.Fatal(err)
	}
	if p := cs.Validate(); len(p) > 0 {
		t.Fatal(p)
	}
	return cs
}

func decodeAnswer(t *testing.T, cs labelhub.CategorySchema, text string) labelhub.Answer {
	t.Helper()
	var a labelhub.Answer
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		t.Fatal(err)
	}
	if p := a.Validate(cs.Index(), labelhub.LabelLimits{}, ""); len(p) > 0 {
		t.Fatal(p)
	}
	return a
}

func oneShape(t *testing.T, text string) svgShape {
	t.Helper()
	cs := svgTestSchema(t)
	a := decodeAnswer(t, cs, `{"tools": [`+text+`], "classifications": [], "relations": []}`)
	got := shapesSVG(&a, cs.Index(), 0)
	if len(got) != 1 {
		t.Fatalf("%d shapes, want 1: %+v", len(got), got)
	}
	return got[0]
}

// parsePoints reads "x,y x,y …".
func parsePoints(t *testing.T, s string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, pair := range strings.Fields(s) {
		xs, ys, ok := strings.Cut(pair, ",")
		if !ok {
			t.Fatalf("bad point %q in %q", pair, s)
		}
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad point %q in %q", pair, s)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestShapesSVGBoundingBox(t *testing.T) {
	s := oneShape(t, `{"objectId": "b1", "schemaId": "car", "bounding-box": {"x": 10, "y": 20.5, "width": 30, "height": 40}}`)
	if s.Element != "rect" || s.X != 10 || s.Y != 20.5 || s.Width != 30 || s.Height != 40 {
		t.Fatalf("%+v", s)
	}
	if s.ObjectID != "b1" || s.SchemaID != "car" || s.Title != "Car" || s.Kind != "bounding-box" || s.Color != "#e6194b" {
		t.Fatalf("%+v", s)
	}
}

func TestShapesSVGRotatedBox(t *testing.T) {
	// A 40×20 box at (10, 10) turned 90° clockwise about its centre
	// (30, 20) stands 20 wide and 40 high: x 20…40, y 0…40.
	s := oneShape(t, `{"objectId": "r1", "schemaId": "ship", "rotated-bounding-box": {"x": 10, "y": 10, "width": 40, "height": 20, "rotation": 90}}`)
	if s.Element != "polygon" || s.Kind != "rotated-bounding-box" {
		t.Fatalf("%+v", s)
	}
	pts := parsePoints(t, s.Points)
	want := [][2]float64{{40, 0}, {40, 40}, {20, 40}, {20, 0}}
	if len(pts) != 4 {
		t.Fatalf("points %q", s.Points)
	}
	for i := range want {
		if !near(pts[i][0], want[i][0]) || !near(pts[i][1], want[i][1]) {
			t.Fatalf("corner %d is %v, want %v (%q)", i, pts[i], want[i], s.Points)
		}
	}
	// No rotation: the corners of the box itself.
	s = oneShape(t, `{"schemaId": "ship", "rotated-bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0}}`)
	if s.Points != "1,2 4,2 4,6 1,6" {
		t.Fatalf("points %q", s.Points)
	}
	// 45°: the corners stay at the same distance from the centre.
	s = oneShape(t, `{"schemaId": "ship", "rotated-bounding-box": {"x": 0, "y": 0, "width": 2, "height": 2, "rotation": -45}}`)
	for _, p := range parsePoints(t, s.Points) {
		if !near(math.Hypot(p[0]-1, p[1]-1), math.Sqrt2) {
			t.Fatalf("points %q", s.Points)
		}
	}
}

func TestShapesSVGPolygonPolylinePoint(t *testing.T) {
	s := oneShape(t, `{"objectId": "p1", "schemaId": "roof", "polygon": [[0, 0], [10.25, 0], [5, -3e-1]]}`)
	if s.Element != "polygon" || s.Points != "0,0 10.25,0 5,-0.3" || s.Kind != "polygon" {
		t.Fatalf("%+v", s)
	}
	s = oneShape(t, `{"title": "Lane", "polyline": [[1, 2], [3, 4]]}`)
	if s.Element != "polyline" || s.Points != "1,2 3,4" || s.SchemaID != "lane" || s.Kind != "polyline" {
		t.Fatalf("%+v", s)
	}
	s = oneShape(t, `{"schemaId": "eye", "point": [7, 8.5]}`)
	if s.Element != "path" || s.D != "M7 8.5h0" || s.Kind != "point" {
		t.Fatalf("%+v", s)
	}
}

func TestShapesSVGSegmentationHoles(t *testing.T) {
	cs := svgTestSchema(t)
	a := decodeAnswer(t, cs, `{"tools": [{"objectId": "s1", "schemaId": "road", "segmentation": {"zones": [
		{"region": [[0, 0], [100, 0], [100, 100], [0, 100]], "holes": [[[10, 10], [20, 10], [20, 20]], [[50, 50], [60, 50], [60, 60]]]},
		{"region": [[200, 200], [300, 200], [250, 300]]}
	]}}], "classifications": [], "relations": []}`)
	got := shapesSVG(&a, cs.Index(), 0)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	if got[0].D != "M0 0L100 0L100 100L0 100ZM10 10L20 10L20 20ZM50 50L60 50L60 60Z" || got[0].Zone != 0 || got[0].Element != "path" {
		t.Fatalf("zone 0: %+v", got[0])
	}
	if got[1].D != "M200 200L300 200L250 300Z" || got[1].Zone != 1 || got[1].ObjectID != "s1" || got[1].Kind != "segmentation" {
		t.Fatalf("zone 1: %+v", got[1])
	}
	// Each zone is a region and its holes: three closed subpaths in zone 0.
	if n := strings.Count(got[0].D, "M"); n != 3 || strings.Count(got[0].D, "Z") != 3 {
		t.Fatalf("zone 0 has %d subpaths: %q", n, got[0].D)
	}
}

func TestShapesSVGPages(t *testing.T) {
	cs := svgTestSchema(t)
	a := decodeAnswer(t, cs, `{"tools": [
		{"objectId": "a", "schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 1, "height": 1}},
		{"objectId": "b", "schemaId": "car", "page": 0, "bounding-box": {"x": 2, "y": 2, "width": 1, "height": 1}},
		{"objectId": "c", "schemaId": "car", "page": 2, "bounding-box": {"x": 3, "y": 3, "width": 1, "height": 1}},
		{"objectId": "d", "schemaId": "name", "ner": {"start": 0, "end": 3}}
	], "classifications": [], "relations": []}`)
	ids := func(page int) string {
		var b []string
		for _, s := range shapesSVG(&a, cs.Index(), page) {
			b = append(b, s.ObjectID)
		}
		return strings.Join(b, ",")
	}
	if got := ids(0); got != "a,b" {
		t.Fatalf("page 0: %q", got)
	}
	if got := ids(2); got != "c" {
		t.Fatalf("page 2: %q", got)
	}
	if got := ids(1); got != "" {
		t.Fatalf("page 1: %q", got)
	}
}

// TestShapesSVGFinite: numbers that a validated answer never has (NaN,
// infinities, overflow in the rotation) leave the object out instead of
// writing "NaN" into the page, and large finite numbers stay plain.
func TestShapesSVGFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	a := labelhub.Answer{Tools: []labelhub.Object{
		{ObjectID: "1", SchemaID: "car", BoundingBox: &labelhub.Box{X: nan, Y: 0, Width: 1, Height: 1}},
		{ObjectID: "2", SchemaID: "ship", RotatedBoundingBox: &labelhub.RotatedBox{X: 0, Y: 0, Width: 1, Height: 1, Rotation: inf}},
		{ObjectID: "3", SchemaID: "ship", RotatedBoundingBox: &labelhub.RotatedBox{X: math.MaxFloat64, Y: 0, Width: math.MaxFloat64, Height: 1, Rotation: 30}},
		{ObjectID: "4", SchemaID: "roof", Polygon: []labelhub.Point{{0, 0}, {nan, 1}, {1, 1}}},
		{ObjectID: "5", SchemaID: "lane", Polyline: []labelhub.Point{{0, 0}, {1, -inf}}},
		{ObjectID: "6", SchemaID: "eye", Point: &labelhub.Point{nan, nan}},
		{ObjectID: "7", SchemaID: "road", Segmentation: &labelhub.Segmentation{Zones: []labelhub.Zone{
			{Region: []labelhub.Point{{0, 0}, {1, 0}, {inf, 1}}},
			{Region: []labelhub.Point{{0, 0}, {4, 0}, {4, 4}}, Holes: [][]labelhub.Point{{{1, 1}, {nan, 1}, {2, 2}}, {{1, 1}, {2, 1}, {2, 2}}}},
		}}},
		{ObjectID: "8", SchemaID: "car", BoundingBox: &labelhub.Box{X: 1e7, Y: -1e7, Width: 1e-7, Height: 5}},
	}}
	cs := svgTestSchema(t)
	got := shapesSVG(&a, cs.Index(), 0)
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ObjectID)
	}
	if strings.Join(ids, ",") != "7,8" {
		t.Fatalf("shapes drawn: %v", ids)
	}
	if got[0].D != "M0 0L4 0L4 4ZM1 1L2 1L2 2Z" || got[0].Zone != 1 {
		t.Fatalf("segmentation: %+v", got[0])
	}
	if num(got[1].X) != "10000000" || num(got[1].Y) != "-10000000" || num(got[1].Width) != "0.0000001" {
		t.Fatalf("box: %s %s %s", num(got[1].X), num(got[1].Y), num(got[1].Width))
	}
	if num(math.Copysign(0, -1)) != "0" {
		t.Fatal("-0")
	}
}

// TestShapesSVGColors: a tool's schema colour, else a palette colour that
// depends on its schemaId only; an object of a tool the schema lacks is
// still drawn, with its own title.
func TestShapesSVGColors(t *testing.T) {
	if toolColor("x", "#123") != "#123" {
		t.Fatal("schema colour ignored")
	}
	c1, c2 := toolColor("roof", ""), toolColor("roof", "")
	if c1 != c2 || !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(c1) {
		t.Fatalf("palette colour %q %q", c1, c2)
	}
	distinct := map[string]bool{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		distinct[toolColor(id, "")] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("palette hardly varies: %v", distinct)
	}
	cs := svgTestSchema(t)
	a := labelhub.Answer{Tools: []labelhub.Object{
		{ObjectID: "1", SchemaID: "gone", Title: "Old tool", Point: &labelhub.Point{1, 2}},
		{ObjectID: "2", SchemaID: "roof", Polygon: []labelhub.Point{{0, 0}, {1, 0}, {1, 1}}},
	}}
	got := shapesSVG(&a, cs.Index(), 0)
	if len(got) != 2 || got[0].Title != "Old tool" || got[0].Kind != "point" || got[0].Color == "" {
		t.Fatalf("%+v", got)
	}
	if got[1].Color != toolColor("roof", "") {
		t.Fatalf("%+v", got[1])
	}
	lg := legend(cs, got)
	if len(lg) != len(cs.Tools)+1 {
		t.Fatalf("legend %+v", lg)
	}
	if lg[0].SchemaID != "car" || lg[0].Color != "#e6194b" || lg[0].Count != 0 {
		t.Fatalf("legend[0] %+v", lg[0])
	}
	if lg[2].SchemaID != "roof" || lg[2].Count != 1 || lg[2].Color != c1 {
		t.Fatalf("legend[2] %+v", lg[2])
	}
	if last := lg[len(lg)-1]; last.SchemaID != "gone" || last.Title != "Old tool" || last.Count != 1 {
		t.Fatalf("legend last %+v", last)
	}
}

// TestShapesSVGTestdata draws the answers under testdata/tasksvg: hostile
// ones (huge coordinates, many zones, unknown tools, empty lists) must give
// finite numbers only.
func TestShapesSVGTestdata(t *testing.T) {
	files, err := os.ReadDir("testdata/tasksvg")
	if err != nil {
		t.Fatal(err)
	}
	cs := svgTestSchema(t)
	idx := cs.Index()
	bad := regexp.MustCompile(`(?i)nan|inf|e[+-]`)
	for _, f := range files {
		raw, err := os.ReadFile("testdata/tasksvg/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		var a labelhub.Answer
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		for page := 0; page < 3; page++ {
			for _, s := range shapesSVG(&a, idx, page) {
				text := s.Points + " " + s.D + " " + num(s.X) + " " + num(s.Y) + " " + num(s.Width) + " " + num(s.Height)
				if bad.MatchString(text) {
					t.Fatalf("%s: %q", f.Name(), text)
				}
			}
		}
	}
}

// FuzzShapesSVG: any answer that decodes draws without a non-finite or
// exponent number.
func FuzzShapesSVG(f *testing.F) {
	files, _ := os.ReadDir("testdata/tasksvg")
	for _, e := range files {
		if raw, err := os.ReadFile("testdata/tasksvg/" + e.Name()); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"tools":[{"schemaId":"ship","rotated-bounding-box":{"x":1e308,"y":1e308,"width":1e308,"height":1e308,"rotation":45}}]}`))
	var cs labelhub.CategorySchema
	_ = json.Unmarshal([]byte(`{"tools":[{"schemaId":"car","title":"Car","tool":"bounding-box"},{"schemaId":"ship","title":"Ship","tool":"rotated-bounding-box"}]}`), &cs)
	idx := cs.Index()
	bad := regexp.MustCompile(`(?i)nan|inf|e[+-]`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var a labelhub.Answer
		if json.Unmarshal(raw, &a) != nil {
			return
		}
		for _, s := range shapesSVG(&a, idx, 0) {
			text := s.Points + " " + s.D + " " + num(s.X) + " " + num(s.Y) + " " + num(s.Width) + " " + num(s.Height)
			if bad.MatchString(text) {
				t.Fatalf("%q", text)
			}
		}
		_ = legend(cs, nil)
	})
}

// The helpers of the task page.

func TestTaskPageHelpers(t *testing.T) {
	for ms, want := range map[int64]string{0: "0s", -5: "0s", 1500: "1.5s", 59_949: "59.9s", 65_000: "1m 05s", 3_600_000: "1h 00m", 7_384_000: "2h 03m"} {
		if got := duration(ms); got != want {
			t.Errorf("duration(%d) = %q, want %q", ms, got, want)
		}
	}
	for raw, want := range map[string]string{`"rain"`: "rain", `["a","b"]`: "a, b", `[]`: "(none)", `{"x":1}`: `{"x":1}`, `3`: "3"} {
		if got := answerText(json.RawMessage(raw)); got != want {
			t.Errorf("answerText(%s) = %q, want %q", raw, got, want)
		}
	}
	for _, c := range []struct {
		s          string
		start, end int
		want       string
	}{{"Zürich!", 0, 6, "Zürich"}, {"Zürich!", 1, 3, "ür"}, {"Zürich!", 5, 99, "h!"}, {"abc", -4, 1, "a"}, {"abc", 2, 1, ""}, {"abc", 3, 4, ""}, {"", 0, 1, ""}} {
		if got := runeSlice(c.s, c.start, c.end); got != c.want {
			t.Errorf("runeSlice(%q, %d, %d) = %q, want %q", c.s, c.start, c.end, got, c.want)
		}
	}
	// Overlapping and out-of-range spans: every character once, in order.
	pieces := textPieces("héllo wörld", []spanView{{ObjectID: "a", Color: "#111", Start: 0, End: 5}, {ObjectID: "b", Color: "#222", Start: 3, End: 9}, {ObjectID: "c", Start: 20, End: 30}})
	var all strings.Builder
	var marked []string
	for _, p := range pieces {
		all.WriteString(p.Text)
		marked = append(marked, p.ObjectID+":"+p.Text)
	}
	if all.String() != "héllo wörld" || strings.Join(marked, "|") != "a:hél|a:lo|b: wör|:ld" {
		t.Fatalf("pieces %q", marked)
	}
}

// TestMetadataSize: the width and height of an asset's metadata, from
// hostile metadata too; anything but two positive finite numbers is
// "unknown".
func TestMetadataSize(t *testing.T) {
	for raw, want := range map[string][2]float64{
		`{"width": 640, "height": 480}`:        {640, 480},
		`{"width": 1.5e3, "height": 2}`:        {1500, 2},
		`{"height": 480}`:                      {0, 0},
		`{"width": "640", "height": "480"}`:    {0, 0},
		`{"width": 0, "height": 480}`:          {0, 0},
		`{"width": -1, "height": 480}`:         {0, 0},
		`{"width": 1e999, "height": 480}`:      {0, 0},
		`{"width": null, "height": null}`:      {0, 0},
		`[640, 480]`:                           {0, 0},
		`"x"`:                                  {0, 0},
		``:                                     {0, 0},
		`{"width": 640, "height": 480, "x": [`: {0, 0},
	} {
		w, h := metadataSize(json.RawMessage(raw))
		if w != want[0] || h != want[1] {
			t.Errorf("metadataSize(%s) = %v, %v; want %v", raw, w, h, want)
		}
	}
}

func FuzzMetadataSize(f *testing.F) {
	for _, s := range []string{`{"width": 640, "height": 480}`, `{"width": 1e308, "height": 1e-308}`, `{"width": -0, "height": 1}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		w, h := metadataSize(raw)
		if (w == 0) != (h == 0) || w < 0 || h < 0 || !finite(w, h) {
			t.Fatalf("%q: %v %v", raw, w, h)
		}
		if w > 0 && strings.ContainsAny(num(w)+num(h), "eEN") {
			t.Fatalf("%q: viewBox numbers %s %s", raw, num(w), num(h))
		}
	})
}

// BenchmarkShapesSVG draws an answer of 1,000 boxes, 200 polygons of 50
// points and 20 segmentations of 5 zones with 2 holes each.
func BenchmarkShapesSVG(b *testing.B) {
	var cs labelhub.CategorySchema
	_ = json.Unmarshal([]byte(`{"tools":[{"schemaId":"car","title":"Car","tool":"bounding-box"},{"schemaId":"roof","title":"Roof","tool":"polygon"},{"schemaId":"road","title":"Road","tool":"segmentation"}]}`), &cs)
	idx := cs.Index()
	var a labelhub.Answer
	ring := func(n int, cx, cy, r float64) []labelhub.Point {
		pts := make([]labelhub.Point, n)
		for i := range pts {
			s, c := math.Sincos(2 * math.Pi * float64(i) / float64(n))
			pts[i] = labelhub.Point{cx + r*c, cy + r*s}
		}
		return pts
	}
	for i := range 1000 {
		a.Tools = append(a.Tools, labelhub.Object{ObjectID: strconv.Itoa(i), SchemaID: "car", BoundingBox: &labelhub.Box{X: float64(i), Y: float64(i) / 3, Width: 20.5, Height: 10.25}})
	}
	for i := range 200 {
		a.Tools = append(a.Tools, labelhub.Object{SchemaID: "roof", Polygon: ring(50, float64(i)*3.3, 100, 40.7)})
	}
	for i := range 20 {
		seg := &labelhub.Segmentation{}
		for z := range 5 {
			seg.Zones = append(seg.Zones, labelhub.Zone{Region: ring(40, float64(i*z), 50, 30), Holes: [][]labelhub.Point{ring(10, float64(i*z), 50, 5), ring(10, float64(i*z)+10, 50, 5)}})
		}
		a.Tools = append(a.Tools, labelhub.Object{SchemaID: "road", Segmentation: seg})
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(shapesSVG(&a, idx, 0)) != 1300 {
			b.Fatal("shape count")
		}
	}
}
