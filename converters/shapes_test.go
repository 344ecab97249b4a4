package converters

import (
	"archive/zip"
	"bytes"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
)

func TestRingsAndBounds(t *testing.T) {
	seg := &labelhub.Segmentation{Zones: []labelhub.Zone{
		{Region: []labelhub.Point{{0, 0}, {10, 0}, {10, 10}}, Holes: [][]labelhub.Point{{{1, 1}, {2, 1}, {2, 2}}, {{3, 3}, {4, 3}, {4, 4}}}},
		{Region: []labelhub.Point{{20, 20}, {30, 20}}}, // too short
		{Region: []labelhub.Point{{40, 40}, {50, 40}, {50, 60}}},
	}}
	for _, c := range []struct {
		name              string
		o                 labelhub.Object
		rings, holes, bad int
		bounds            Rect
	}{
		{"box", labelhub.Object{BoundingBox: &labelhub.Box{X: 10, Y: 20, Width: 30, Height: 40}}, 1, 0, 0, Rect{10, 20, 40, 60}},
		// A box with a negative size is still the rectangle between its corners.
		{"box-negative", labelhub.Object{BoundingBox: &labelhub.Box{X: 10, Y: 20, Width: -5, Height: 5}}, 1, 0, 0, Rect{5, 20, 10, 25}},
		// Turned by 90° about its centre (20, 15): 10 wide, 20 high, exactly.
		{"rotated", labelhub.Object{RotatedBoundingBox: &labelhub.RotatedBox{X: 10, Y: 10, Width: 20, Height: 10, Rotation: 90}}, 1, 0, 0, Rect{15, 5, 25, 25}},
		{"polygon", labelhub.Object{Polygon: []labelhub.Point{{1, 2}, {5, -1}, {3, 9}}}, 1, 0, 0, Rect{1, -1, 5, 9}},
		{"polygon-short", labelhub.Object{Polygon: []labelhub.Point{{1, 2}, {5, -1}}}, 0, 0, 1, Rect{}},
		{"polygon-inf", labelhub.Object{Polygon: []labelhub.Point{{1, 2}, {math.Inf(1), -1}, {3, 3}}}, 0, 0, 1, Rect{}},
		{"segmentation", labelhub.Object{Segmentation: seg}, 2, 2, 1, Rect{0, 0, 50, 60}},
		{"point", labelhub.Object{Point: &labelhub.Point{1, 2}}, 0, 0, 0, Rect{}},
		{"polyline", labelhub.Object{Polyline: []labelhub.Point{{1, 2}, {3, 4}}}, 0, 0, 0, Rect{}},
	} {
		rings, holes, bad := Rings(&c.o)
		if len(rings) != c.rings || holes != c.holes || bad != c.bad {
			t.Errorf("%s: %d rings, %d holes, %d bad; want %d, %d, %d", c.name, len(rings), holes, bad, c.rings, c.holes, c.bad)
		}
		if b := Bounds(rings); b != c.bounds {
			t.Errorf("%s: bounds %+v, want %+v", c.name, b, c.bounds)
		}
	}
}

func TestRectClip(t *testing.T) {
	for _, c := range []struct {
		in, out        Rect
		clipped, empty bool
	}{
		{Rect{1, 2, 3, 4}, Rect{1, 2, 3, 4}, false, false},
		{Rect{0, 0, 100, 50}, Rect{0, 0, 100, 50}, false, false},
		{Rect{-5, 10, 120, 20}, Rect{0, 10, 100, 20}, true, false},
		{Rect{150, 10, 160, 20}, Rect{150, 10, 100, 20}, true, true},
		{Rect{10, 10, 10, 20}, Rect{10, 10, 10, 20}, false, true},
	} {
		out, clipped := c.in.Clip(100, 50)
		if out != c.out || clipped != c.clipped || out.Empty() != c.empty {
			t.Errorf("%+v.Clip = %+v, %v (empty %v); want %+v, %v, %v", c.in, out, clipped, out.Empty(), c.out, c.clipped, c.empty)
		}
	}
}

func TestImageStem(t *testing.T) {
	n := NewNames()
	for _, c := range []struct {
		id, ext, url   string
		stem, imageExt string
	}{
		{"a1", "cams/front/1.JPG", "https://b/1.JPG", "cams_front_1", ".jpg"},
		{"a2", "cams/front/1.png", "https://b/x.png", "cams_front_1-a2", ".png"},
		{"a3", "scan.v2", "https://b/scan.png?sig=1", "scan.v2", ".png"},
		{"a4", "notes", "inline text", "notes", ""},
		{"a5", "", "https://b/dir/photo.webp", "photo", ".webp"},
		{"a6", "CAMS_FRONT_1.jpeg", "https://b/y", "CAMS_FRONT_1-a6", ".jpeg"},
	} {
		a := &labelhub.ExportedAsset{AssetID: c.id, ExternalID: c.ext, Asset: c.url}
		stem, ext := n.ImageStem(a)
		if stem != c.stem || ext != c.imageExt {
			t.Errorf("ImageStem(%q, %q) = %q, %q; want %q, %q", c.ext, c.url, stem, ext, c.stem, c.imageExt)
		}
	}
}

func TestSpool(t *testing.T) {
	s, err := NewSpool("images.txt")
	if err != nil {
		t.Fatal(err)
	}
	name := s.f.Name()
	line := strings.Repeat("x", 100) + "\n"
	for range 2000 { // past the write buffer
		if _, err := s.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("first.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTo(zw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("the temporary file is still there: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[1].Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if zr.File[1].Name != "images.txt" || string(got) != strings.Repeat(line, 2000) {
		t.Errorf("%s: %d bytes", zr.File[1].Name, len(got))
	}
}

func TestExportedAndOnOtherPage(t *testing.T) {
	s := labelhub.CategorySchema{Tools: []labelhub.SchemaTool{
		{SchemaID: "car", Title: "Car", Tool: "bounding-box"},
		{SchemaID: "lane", Title: "Lane", Tool: "polyline"},
		{SchemaID: "road", Title: "Road", Tool: "polygon"},
	}}
	cats, err := SelectCategories(s, []string{"Car"}, []string{"bounding-box", "polygon"}, "YOLO")
	if err != nil {
		t.Fatal(err)
	}
	rep := NewReport(nil)
	a := &labelhub.ExportedAsset{AssetID: "a1"}
	page := 2
	for _, c := range []struct {
		o  labelhub.Object
		ok bool
	}{
		{labelhub.Object{SchemaID: "car", BoundingBox: &labelhub.Box{}}, true},
		{labelhub.Object{Title: "Car", BoundingBox: &labelhub.Box{}}, true},
		{labelhub.Object{SchemaID: "lane", Polyline: []labelhub.Point{{0, 0}, {1, 1}}}, false},
		{labelhub.Object{SchemaID: "road", Polygon: []labelhub.Point{{0, 0}, {1, 1}, {1, 0}}}, false},
		{labelhub.Object{SchemaID: "car"}, true},
	} {
		if _, ok := cats.Exported(a, &c.o, []string{"bounding-box", "polygon"}, "YOLO", rep); ok != c.ok {
			t.Errorf("Exported(%+v) = %v", c.o, ok)
		}
	}
	if !OnOtherPage(a, &labelhub.Object{Page: &page}, rep) || OnOtherPage(a, &labelhub.Object{}, rep) {
		t.Error("OnOtherPage")
	}
	info := rep.Info()
	sk := info["skipped"].(map[string]int64)
	if info["objectsOfOtherTools"] != int64(1) || info["objectsSkipped"] != int64(2) ||
		sk["objects: a polyline: YOLO keeps only bounding-box, polygon"] != 1 || sk["objects: on page 2 of a multi-page asset"] != 1 {
		t.Errorf("info %v", info)
	}
	if got := OneLine("a\tb\r\nc\u2028d"); got != "a b  c d" {
		t.Errorf("OneLine = %q", got)
	}
}
