package convertertest

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/plugin"
)

// OddProject is Project with two more tools: a second tool titled "Car"
// (a polygon) and one whose title needs escaping in XML, YAML and JSON.
func OddProject(p plugin.Project) plugin.Project {
	p.CategorySchema.Tools = append(slices.Clone(p.CategorySchema.Tools),
		labelhub.SchemaTool{SchemaID: "car2", Title: "Car", Tool: "polygon"},
		labelhub.SchemaTool{SchemaID: "odd", Title: "Ünïcode \"&\" <xml>\tname", Tool: "bounding-box"})
	return p
}

// OddAssets are assets of OddProject with names that clash or are
// hostile, and objects at the edges of what converters accept:
//   - a second "cams/front/1.jpg" and a "CAMS_FRONT_1.JPG" (names that
//     clash with the fixture's, ignoring case);
//   - "../../etc/passwd" (a png by its URL), "日本語 画像.PNG" without
//     objects, and "scan.v2" whose URL has a query with "&";
//   - a box entirely outside its image, a box less than a pixel wide, an
//     object named by title only (no schemaId), an object of the second
//     "Car" tool reaching outside the image, one of the odd title, a
//     segmentation whose only zone has 2 points, and a rotated box turned
//     by 90°.
func OddAssets() []*plugin.ExportedAsset {
	size := func(w, h int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"width": %d, "height": %d}`, w, h))
	}
	box := func(x, y, w, h float64) *labelhub.Box { return &labelhub.Box{X: x, Y: y, Width: w, Height: h} }
	asset := func(id, ext, url string, meta json.RawMessage, tools ...labelhub.Object) *plugin.ExportedAsset {
		return &plugin.ExportedAsset{Asset: url, AssetID: id, ExternalID: ext, Metadata: meta, Batches: []string{},
			Task: labelhub.ExportedTask{TaskID: "t-" + id, Stage: "Label", StageID: "label", Answer: labelhub.Answer{Tools: tools}}}
	}
	return []*plugin.ExportedAsset{
		asset("x1", "cams/front/1.jpg", "https://cdn.example.com/cams/front/1-again.jpg", size(640, 480),
			labelhub.Object{ObjectID: "p1", SchemaID: "car", Title: "Car", BoundingBox: box(700, 10, 20, 20)},
			labelhub.Object{ObjectID: "p2", SchemaID: "car", Title: "Car", BoundingBox: box(50.2, 60.2, 0.5, 0.5)},
			labelhub.Object{ObjectID: "p3", Title: "Road", Polygon: []labelhub.Point{{1, 1}, {30, 1}, {15, 40}}},
			labelhub.Object{ObjectID: "p4", SchemaID: "car2", Title: "Car", Polygon: []labelhub.Point{{300, 200}, {330, 200}, {330, 230}, {300, 230}, {-20, 215}}},
			labelhub.Object{ObjectID: "p5", SchemaID: "odd", Title: "Ünïcode \"&\" <xml>\tname", BoundingBox: box(0, 0, 640, 480)},
			labelhub.Object{ObjectID: "p6", SchemaID: "area", Title: "Area", Segmentation: &labelhub.Segmentation{Zones: []labelhub.Zone{{Region: []labelhub.Point{{1, 1}, {2, 2}}}}}}),
		asset("x2", "CAMS_FRONT_1.JPG", "https://cdn.example.com/CAMS_FRONT_1.JPG", size(100, 100),
			labelhub.Object{ObjectID: "p1", SchemaID: "road", Title: "Road", Polygon: []labelhub.Point{{10, 10}, {90, 10}, {50, 90}}}),
		asset("x3", "../../etc/passwd", "https://cdn.example.com/x/passwd.png", size(32, 32),
			labelhub.Object{ObjectID: "p1", SchemaID: "car", Title: "Car", BoundingBox: box(0, 0, 32, 32)}),
		asset("x4", "日本語 画像.PNG", "https://cdn.example.com/%E6%97%A5.png", size(1920, 1080)),
		asset("x5", "scan.v2", "https://cdn.example.com/scan.png?X-Sig=a&b=c", size(200, 100),
			labelhub.Object{ObjectID: "p1", SchemaID: "person", Title: "Person", RotatedBoundingBox: &labelhub.RotatedBox{X: 50, Y: 25, Width: 100, Height: 50, Rotation: 90}}),
	}
}

// Dump is a zip's files as text, in names' order: each file's name in a
// "==> name <==" line, then its content.
func Dump(files map[string][]byte, names []string) []byte {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "==> %s <==\n%s", n, files[n])
		if body := files[n]; len(body) > 0 && body[len(body)-1] != '\n' {
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

// InfoJSON is a report's Info as indented JSON, its keys sorted.
func InfoJSON(info map[string]any) []byte {
	m := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(info)) {
		m[k] = info[k]
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// Many streams n synthetic assets of a 1280×720 image, each with a box,
// a polygon, a rotated box and a two-zone segmentation of Project's
// tools, made one at a time so that the stream itself takes constant
// memory.
func Many(n int) iter.Seq2[*plugin.ExportedAsset, error] {
	return func(yield func(*plugin.ExportedAsset, error) bool) {
		meta := json.RawMessage(`{"width": 1280, "height": 720}`)
		for i := range n {
			f := float64(i % 500)
			a := &plugin.ExportedAsset{
				Asset: fmt.Sprintf("https://bucket.example/frames/%07d.jpg?X-Amz-Signature=%064d", i, i), AssetID: fmt.Sprintf("asset-%07d", i),
				ExternalID: fmt.Sprintf("frames/%07d.jpg", i), Metadata: meta, Batches: []string{"b1"},
				Task: labelhub.ExportedTask{TaskID: fmt.Sprintf("task-%07d", i), Stage: "Label", Answer: labelhub.Answer{Tools: []labelhub.Object{
					{ObjectID: "o1", SchemaID: "car", Title: "Car", BoundingBox: &labelhub.Box{X: f, Y: f / 2, Width: 100, Height: 60}},
					{ObjectID: "o2", SchemaID: "road", Title: "Road", Polygon: []labelhub.Point{{f, 10}, {f + 50, 20}, {f + 40, 200}, {f - 5, 190}}},
					{ObjectID: "o3", SchemaID: "person", Title: "Person", RotatedBoundingBox: &labelhub.RotatedBox{X: 700, Y: f, Width: 30, Height: 30, Rotation: f}},
					{ObjectID: "o4", SchemaID: "area", Title: "Area", Segmentation: &labelhub.Segmentation{Zones: []labelhub.Zone{
						{Region: []labelhub.Point{{0, 600}, {1280, 600}, {1280, 720}, {0, 720}}},
						{Region: []labelhub.Point{{f, 500}, {f + 100, 500}, {f + 50, 560}}},
					}}},
				}}},
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}

// HeapProbe wraps an asset stream and records the live heap (after a
// GC) at the 10th asset, at every tenth of n and when asked (Record):
// Heaps are bytes above the heap when the probe was made.
type HeapProbe struct {
	Heaps      []uint64
	Allocated  uint64 // bytes allocated between NewHeapProbe and the last record
	base, from uint64
}

// NewHeapProbe measures the heap now, as the base of later records.
func NewHeapProbe() *HeapProbe {
	p := &HeapProbe{}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	p.base, p.from = ms.HeapAlloc, ms.TotalAlloc
	return p
}

// Record measures the live heap now.
func (p *HeapProbe) Record() {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	p.Heaps = append(p.Heaps, ms.HeapAlloc-min(p.base, ms.HeapAlloc))
	p.Allocated = ms.TotalAlloc - p.from
}

// Wrap records the heap as the stream of n assets passes.
func (p *HeapProbe) Wrap(n int, seq iter.Seq2[*plugin.ExportedAsset, error]) iter.Seq2[*plugin.ExportedAsset, error] {
	return func(yield func(*plugin.ExportedAsset, error) bool) {
		i := 0
		for a, err := range seq {
			if i == 10 || (i > 0 && i%max(n/10, 1) == 0) {
				p.Record()
			}
			i++
			if !yield(a, err) {
				return
			}
		}
	}
}

// Memory streams Many(n) assets through write into a zip that is thrown
// away, logs the live heap as they pass, the bytes retained an image and
// the bytes allocated, and fails when more than maxPerImage bytes an
// image stay live: a converter that streams keeps only the zip's central
// directory and the set of file names, a few hundred bytes an image.
func Memory[C any](t testing.TB, write converters.WriteFunc[C], p plugin.Project, cfg C, n int, maxPerImage float64) {
	t.Helper()
	probe := NewHeapProbe()
	zw := zip.NewWriter(io.Discard)
	rep := converters.NewReport(nil)
	if err := write(context.Background(), p, cfg, probe.Wrap(n, Many(n)), zw, rep); err != nil {
		t.Fatal(err)
	}
	probe.Record()
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rep.Counted("images"); got != int64(n) {
		t.Fatalf("%d images written, want %d", got, n)
	}
	first, last := probe.Heaps[0], probe.Heaps[len(probe.Heaps)-1]
	perImage := float64(last-min(first, last)) / float64(n)
	t.Logf("%d images: live heap above the start %v bytes (at 10 images, every tenth, the end); %.0f bytes retained an image; %d bytes allocated in all (%.0f an image)",
		n, probe.Heaps, perImage, probe.Allocated, float64(probe.Allocated)/float64(n))
	if perImage > maxPerImage {
		t.Errorf("%.0f bytes retained an image (at most %.0f); the converter does not stream", perImage, maxPerImage)
	}
}

// WithOdd streams Assets followed by OddAssets.
func WithOdd(t testing.TB) iter.Seq2[*plugin.ExportedAsset, error] {
	t.Helper()
	fixture := Assets(t)
	return func(yield func(*plugin.ExportedAsset, error) bool) {
		for a, err := range fixture {
			if !yield(a, err) {
				return
			}
		}
		for _, a := range OddAssets() {
			if !yield(a, nil) {
				return
			}
		}
	}
}

// ConfigErrors runs write on Project with each Config JSON of cases and
// checks that it fails with an error containing the case's text.
func ConfigErrors[C any](t *testing.T, write converters.WriteFunc[C], cases map[string]string) {
	t.Helper()
	for cfg, want := range cases {
		var c C
		if err := json.Unmarshal([]byte(cfg), &c); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := Run(context.Background(), write, Project(t), c, Slice())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", cfg, err, want)
		}
	}
}
