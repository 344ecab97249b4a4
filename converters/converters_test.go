package converters

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
)

func TestImageSize(t *testing.T) {
	for _, c := range []struct {
		meta string
		w, h int
		ok   bool
	}{
		{`{"width": 1024, "height": 768}`, 1024, 768, true},
		{`{"width": 1023.6, "height": 768.2, "other": "x"}`, 1024, 768, true},
		{`{"width": 1024}`, 0, 0, false},
		{`{"width": "1024", "height": 768}`, 0, 0, false},
		{`{"width": 0, "height": 768}`, 0, 0, false},
		{`{"width": -5, "height": 768}`, 0, 0, false},
		{`{"width": 1e300, "height": 768}`, 0, 0, false},
		{`[1, 2]`, 0, 0, false},
		{``, 0, 0, false},
	} {
		w, h, ok := ImageSize(json.RawMessage(c.meta))
		if w != c.w || h != c.h || ok != c.ok {
			t.Errorf("ImageSize(%s) = %d, %d, %v; want %d, %d, %v", c.meta, w, h, ok, c.w, c.h, c.ok)
		}
	}
}

func TestSafeNameAndNames(t *testing.T) {
	for _, c := range []struct {
		a    labelhub.ExportedAsset
		want string
	}{
		{labelhub.ExportedAsset{ExternalID: "cams/front/1.jpg"}, "cams_front_1.jpg"},
		{labelhub.ExportedAsset{ExternalID: `..\..\etc:passwd`}, `_.._etc_passwd`},
		{labelhub.ExportedAsset{ExternalID: ".."}, "asset-a1"},
		{labelhub.ExportedAsset{ExternalID: "", Asset: "https://b.example/x/y/img%20one.png?sig=1"}, "img one.png"},
		{labelhub.ExportedAsset{ExternalID: "", Asset: "just some inline text"}, "asset-a1"},
		{labelhub.ExportedAsset{ExternalID: "a\x00b\nc.jpg"}, "a_b_c.jpg"},
		{labelhub.ExportedAsset{ExternalID: strings.Repeat("é", 150) + ".jpeg"}, strings.Repeat("é", 97) + ".jpeg"},
	} {
		if c.a.AssetID == "" {
			c.a.AssetID = "a1"
		}
		got := SafeName(&c.a)
		if got != c.want {
			t.Errorf("SafeName(%q, %q) = %q; want %q", c.a.ExternalID, c.a.Asset, got, c.want)
		}
		if strings.ContainsAny(got, `/\`) || got == ".." || len(got) > MaxNameBytes {
			t.Errorf("SafeName gave the unsafe %q", got)
		}
	}

	n := NewNames()
	var got []string
	for _, a := range []labelhub.ExportedAsset{
		{AssetID: "a1", ExternalID: "img.jpg"},
		{AssetID: "a2", ExternalID: "IMG.jpg"},
		{AssetID: "a2", ExternalID: "img.jpg"},
		{AssetID: "a3", ExternalID: "x/img.jpg"},
		{AssetID: "a4", ExternalID: "x_img.jpg"},
	} {
		name, _ := n.Asset(&a)
		got = append(got, name)
	}
	want := []string{"img.jpg", "IMG-a2.jpg", "img-a2-2.jpg", "x_img.jpg", "x_img-a4.jpg"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Names.Asset gave %q; want %q", got, want)
	}
	s := NewNames()
	s1, e1 := s.UniqueStem(&labelhub.ExportedAsset{AssetID: "a1", ExternalID: "1.jpg"})
	s2, e2 := s.UniqueStem(&labelhub.ExportedAsset{AssetID: "a2", ExternalID: "1.png"})
	if s1 != "1" || e1 != ".jpg" || s2 != "1-a2" || e2 != ".png" {
		t.Errorf("UniqueStem gave %q %q, %q %q", s1, e1, s2, e2)
	}
}

func testSchema() labelhub.CategorySchema {
	return labelhub.CategorySchema{Tools: []labelhub.SchemaTool{
		{SchemaID: "car", Title: "Car", Tool: "bounding-box"},
		{SchemaID: "road", Title: "Road", Tool: "polygon"},
		{SchemaID: "lane", Title: "Lane", Tool: "polyline"},
		{SchemaID: "Car", Title: "Person", Tool: "bounding-box"},
	}}
}

func TestSelectCategories(t *testing.T) {
	kinds := []string{"bounding-box", "polygon"}
	c, err := SelectCategories(testSchema(), nil, kinds, "coco")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.List) != 3 || c.List[0].Title != "Car" || c.List[1].Title != "Road" || c.List[2].Title != "Person" || c.List[2].Index != 2 {
		t.Fatalf("default categories: %+v", c.List)
	}
	// "Car" is the schemaId of Person: schemaIds win over titles.
	c, err = SelectCategories(testSchema(), []string{"road", "Car", "road"}, kinds, "coco")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.List) != 2 || c.List[0].SchemaID != "road" || c.List[1].Title != "Person" || c.List[1].Index != 1 {
		t.Fatalf("chosen categories: %+v", c.List)
	}
	if cat, ok := c.Of(&labelhub.Object{SchemaID: "road"}); !ok || cat.Index != 0 {
		t.Errorf("Of(road) = %+v, %v", cat, ok)
	}
	if cat, ok := c.Of(&labelhub.Object{Title: "Person"}); !ok || cat.SchemaID != "Car" {
		t.Errorf("Of(title Person) = %+v, %v", cat, ok)
	}
	if _, ok := c.Of(&labelhub.Object{SchemaID: "car"}); ok {
		t.Errorf("Of(car) found a tool that was not chosen")
	}
	_, err = SelectCategories(testSchema(), []string{"Car", "Truck"}, kinds, "coco")
	if err == nil || !strings.Contains(err.Error(), `tools[1]: "Truck"`) || !strings.Contains(err.Error(), "Car, Road, Lane, Person") {
		t.Errorf("unknown tool: %v", err)
	}
	_, err = SelectCategories(testSchema(), []string{"Lane"}, kinds, "coco")
	if err == nil || !strings.Contains(err.Error(), `"Lane" is a polyline tool; coco exports bounding-box, polygon`) {
		t.Errorf("tool of another kind: %v", err)
	}
}

func TestReport(t *testing.T) {
	var logs bytes.Buffer
	rep := NewReport(slog.New(slog.NewJSONHandler(&logs, nil)))
	rep.MaxLogged = 2
	a := &labelhub.ExportedAsset{AssetID: "a1", ExternalID: "x.jpg"}
	rep.SkipAsset(a, "no image size in its metadata")
	rep.SkipObject(a, &labelhub.Object{ObjectID: "o1", Title: "Lane"}, "a polyline")
	rep.SkipObject(a, &labelhub.Object{ObjectID: "o2", Title: "Lane"}, "a polyline")
	rep.Note(a, &labelhub.Object{ObjectID: "o3"}, "box clipped to the image")
	rep.Count("images", 4)
	info := rep.Info()
	if info["images"] != int64(4) || info["assetsSkipped"] != int64(1) || info["objectsSkipped"] != int64(2) || info["objectsChanged"] != int64(1) {
		t.Errorf("info: %v", info)
	}
	sk := info["skipped"].(map[string]int64)
	if sk["objects: a polyline"] != 2 || sk["assets: no image size in its metadata"] != 1 || sk["changed: box clipped to the image"] != 1 {
		t.Errorf("skipped: %v", sk)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"assetId":"a1"`) || !strings.Contains(lines[1], `"objectId":"o1"`) || !strings.Contains(lines[2], "only counted") {
		t.Errorf("log (capped at 2 items):\n%s", logs.String())
	}
	NewReport(nil).SkipAsset(a, "no log") // must not panic
}

func TestZipFile(t *testing.T) {
	zf, err := NewZipFile()
	if err != nil {
		t.Fatal(err)
	}
	name := zf.f.Name()
	w, _ := zf.Zip.Create("a.txt")
	io.WriteString(w, "hello")
	if err := zf.Finish(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zf.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(zf)
	if !bytes.Equal(b, b2) {
		t.Fatal("reading after a rewind gave other bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "a.txt" {
		t.Fatalf("zip: %v %v", err, zr)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("the temporary file %s is still there: %v", name, err)
	}
	if ZipName("Street / scenes", "coco") != "Street _ scenes-coco.zip" || ZipName("", "csv") != "csv.zip" {
		t.Errorf("ZipName: %q %q", ZipName("Street / scenes", "coco"), ZipName("", "csv"))
	}
}

func TestProgress(t *testing.T) {
	var reports []int64
	p := &progress{total: 3, report: func(done, total int64, _ string) { reports = append(reports, done) }}
	seq := func(yield func(*labelhub.ExportedAsset, error) bool) {
		for range 3 {
			if !yield(&labelhub.ExportedAsset{}, nil) {
				return
			}
		}
	}
	n := 0
	for range p.wrap(seq) {
		n++
	}
	if n != 3 || p.done != 3 || len(reports) != 4 || reports[3] != 3 {
		t.Errorf("n %d, done %d, reports %v", n, p.done, reports)
	}
}

func TestClipPolygon(t *testing.T) {
	// A triangle cut to a 10 × 10 image keeps the part inside.
	got := ClipPolygon([]labelhub.Point{{-5, -5}, {15, -5}, {-5, 15}}, 10, 10)
	if a := Area(got); a != 50 || !Inside(got, 10, 10) {
		t.Errorf("clipped triangle %v, area %v; want area 50 (x + y <= 10)", got, a)
	}
	// Inside: unchanged. Outside: nothing.
	in := []labelhub.Point{{1, 1}, {2, 1}, {2, 2}}
	if got := ClipPolygon(in, 10, 10); len(got) != 3 || got[0] != in[0] {
		t.Errorf("inside: %v", got)
	}
	if got := ClipPolygon([]labelhub.Point{{20, 20}, {30, 20}, {30, 30}}, 10, 10); len(got) != 0 {
		t.Errorf("outside: %v", got)
	}
	// Edges longer than a float64 measures: no point that is not a number.
	got = ClipPolygon([]labelhub.Point{{-1e308, -1e308}, {0, -5e307}, {1e308, 1e308}}, 300, 5)
	if !Finite(got...) || !Inside(got, 300, 5) {
		t.Errorf("huge triangle: %v", got)
	}
}
