package web_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// testPNG is a real PNG of w×h pixels: a grey field with a darker grid.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 200, G: 205, B: 210, A: 255}
			if x%100 == 0 || y%100 == 0 {
				c = color.RGBA{R: 90, G: 95, B: 100, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rectJS is a client rect as the page reports it.
type rectJS struct{ Left, Top, Width, Height float64 }

type taskPageFacts struct {
	Image          rectJS
	NaturalW       float64 `json:"naturalW"`
	NaturalH       float64 `json:"naturalH"`
	Box, Polygon   rectJS
	ViewBox        string `json:"viewBox"`
	ViewBoxFrom    string `json:"viewBoxFrom"`
	Legend         string `json:"legend"`
	BoxSchema      string `json:"boxSchema"`
	PolygonSchema  string `json:"polygonSchema"`
	BoxStroke      string `json:"boxStroke"`
	PolygonStroke  string `json:"polygonStroke"`
	OverlayCovers  bool   `json:"overlayCovers"`
	ElementsDrawn  int    `json:"elementsDrawn"`
	HistoryPresent bool   `json:"historyPresent"`
}

// factsJS collects, in the page, where the image and the two shapes are.
const factsJS = `(function () {
  var r = function (el) { var b = el.getBoundingClientRect(); return {left: b.left, top: b.top, width: b.width, height: b.height}; };
  var img = document.getElementById("task-image");
  var svg = document.getElementById("task-overlay");
  var box = document.querySelector('#task-overlay [data-object-id="box-1"]');
  var poly = document.querySelector('#task-overlay [data-object-id="poly-1"]');
  var ir = r(img), sr = r(svg);
  return JSON.stringify({
    image: ir, naturalW: img.naturalWidth, naturalH: img.naturalHeight,
    box: r(box), polygon: r(poly),
    viewBox: svg.getAttribute("viewBox") || "", viewBoxFrom: svg.getAttribute("data-viewbox-from") || "",
    legend: document.getElementById("task-legend").textContent,
    boxSchema: box.getAttribute("data-schema-id"), polygonSchema: poly.getAttribute("data-schema-id"),
    boxStroke: getComputedStyle(box).stroke, polygonStroke: getComputedStyle(poly).stroke,
    overlayCovers: Math.abs(ir.left - sr.left) < 0.5 && Math.abs(ir.top - sr.top) < 0.5 && Math.abs(ir.width - sr.width) < 0.5 && Math.abs(ir.height - sr.height) < 0.5,
    elementsDrawn: document.querySelectorAll("#task-overlay .shape").length,
    historyPresent: !!document.getElementById("task-history")
  });
})()`

// TestBrowserTaskViewer: sign in, open a task whose asset is a real
// 1600×1200 PNG shown scaled down, and check in the page that the box and
// the polygon are drawn where the answer puts them (their client rects
// against the image's, scaled by its natural size, within 1.5 px), in
// their tools' colours, with both tools in the legend; then the same for
// an asset whose metadata has no size (tasks.js sizes the drawing).
func TestBrowserTaskViewer(t *testing.T) {
	chromium := testservers.Chromium(t)
	store, org, admin := orgStore(t)
	srv := serveHub(t, store, web.Config{}, httpapi.Config{})
	defer srv.Close()
	const natW, natH = 1600, 1200
	pic := testPNG(t, natW, natH)
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".txt") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			_, _ = io.WriteString(w, "Ada met Grace in Zürich.")
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pic)
	}))
	defer images.Close()

	p := newTaskProject(t, store, org.ID, admin.ID, `{"tools": [
		{"schemaId": "car", "title": "Car", "tool": "bounding-box", "color": "#ff0000"},
		{"schemaId": "road", "title": "Road", "tool": "polygon"},
		{"schemaId": "person", "title": "Person", "tool": "ner"}], "classifications": [], "relations": []}`)
	assets := []labelhub.NewAsset{
		{ExternalID: "street.png", Type: labelhub.AssetImage, Data: images.URL + "/street.png", Doc: `{"metadata":{"width":1600,"height":1200}}`},
		{ExternalID: "unsized.png", Type: labelhub.AssetImage, Data: images.URL + "/unsized.png"},
		{ExternalID: "note.txt", Type: labelhub.AssetText, Data: images.URL + "/note.txt"},
	}
	importAssets(t, store, org.ID, admin.ID, p.ID, assets)
	const answer = `{"tools": [
		{"objectId": "box-1", "schemaId": "car", "bounding-box": {"x": 160, "y": 120, "width": 480, "height": 360}},
		{"objectId": "poly-1", "schemaId": "road", "polygon": [[800, 200], [1520, 480], [1040, 1120]]}]}`
	var tasks []labelhub.Task
	for _, a := range assets[:2] {
		tasks = append(tasks, putAnswer(t, store, p, admin, taskOf(t, store, org.ID, p.ID, a.ID), answer))
	}
	note := putAnswer(t, store, p, admin, taskOf(t, store, org.ID, p.ID, assets[2].ID),
		`{"tools": [{"objectId": "who", "schemaId": "person", "ner": {"start": 17, "end": 23}}]}`)

	b := newBrowser(t, chromium, 90*time.Second, 1000)
	defer b.close()

	b.signIn(srv.URL + "/projects")
	// From the project to its Tasks tab to the task.
	b.do("open the Tasks tab", chromedp.Navigate(srv.URL+"/projects/"+p.ID), chromedp.WaitVisible(chromedp.ID("tab-tasks")),
		chromedp.Click(chromedp.ID("tab-tasks")), chromedp.WaitVisible(chromedp.ID("task-rows")))
	b.do("open the task", chromedp.Click(chromedp.CSS(`#task-rows tr[data-task-id="`+tasks[0].ID+`"] a`)), chromedp.WaitVisible(chromedp.ID("task-overlay")))

	check := func(name string) taskPageFacts {
		t.Helper()
		b.poll("the image loads through /content", `(function () { var i = document.getElementById("task-image"); return !!i && i.complete && i.naturalWidth === 1600; })()`)
		b.poll("the drawing has its viewBox", `(document.getElementById("task-overlay").getAttribute("viewBox") || "") !== ""`)
		raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](factsJS))
		if err != nil {
			t.Fatal(err)
		}
		var f taskPageFacts
		if err := json.Unmarshal([]byte(raw), &f); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		t.Logf("%s: %s", name, raw)
		if f.NaturalW != natW || f.NaturalH != natH {
			t.Fatalf("%s: natural size %v×%v", name, f.NaturalW, f.NaturalH)
		}
		if f.Image.Width >= natW || f.Image.Width < 200 {
			t.Fatalf("%s: the image is shown %v px wide; the test wants it scaled down", name, f.Image.Width)
		}
		if !f.OverlayCovers {
			t.Fatalf("%s: the SVG does not cover the image", name)
		}
		sx, sy := f.Image.Width/natW, f.Image.Height/natH
		want := func(what string, got rectJS, x0, y0, x1, y1 float64) {
			t.Helper()
			exp := rectJS{Left: f.Image.Left + x0*sx, Top: f.Image.Top + y0*sy, Width: (x1 - x0) * sx, Height: (y1 - y0) * sy}
			if math.Abs(got.Left-exp.Left) > 1.5 || math.Abs(got.Top-exp.Top) > 1.5 ||
				math.Abs(got.Width-exp.Width) > 1.5 || math.Abs(got.Height-exp.Height) > 1.5 {
				t.Fatalf("%s: %s at %+v, want %+v", name, what, got, exp)
			}
		}
		want("box", f.Box, 160, 120, 640, 480)
		want("polygon", f.Polygon, 800, 200, 1520, 1120)
		if f.BoxSchema != "car" || f.PolygonSchema != "road" || f.ElementsDrawn != 2 {
			t.Fatalf("%s: %+v", name, f)
		}
		if f.BoxStroke != "rgb(255, 0, 0)" || f.PolygonStroke == "" || f.PolygonStroke == f.BoxStroke || f.PolygonStroke == "none" {
			t.Fatalf("%s: strokes %q %q", name, f.BoxStroke, f.PolygonStroke)
		}
		if !strings.Contains(f.Legend, "Car") || !strings.Contains(f.Legend, "Road") {
			t.Fatalf("%s: legend %q", name, f.Legend)
		}
		return f
	}
	f := check("sized")
	if f.ViewBox != "0 0 1600 1200" || f.ViewBoxFrom != "" {
		t.Fatalf("viewBox %q from %q", f.ViewBox, f.ViewBoxFrom)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(os.TempDir(), "labelhub-ui-task.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatalf("saving the screenshot: %v", err)
	}
	t.Logf("screenshot of the task page: %s (%d bytes)", file, len(shot))
	if len(shot) < 10_000 {
		t.Fatalf("screenshot of %d bytes", len(shot))
	}

	// No size in the metadata: tasks.js takes the image's natural size.
	b.do("open the unsized task", chromedp.Navigate(srv.URL+"/tasks/"+tasks[1].ID), chromedp.WaitVisible(chromedp.ID("task-overlay")))
	f = check("unsized")
	if f.ViewBox != "0 0 1600 1200" || f.ViewBoxFrom != "image" {
		t.Fatalf("viewBox %q from %q", f.ViewBox, f.ViewBoxFrom)
	}

	// A text at a URL: tasks.js fetches it through /content and marks the
	// span, counted in characters (ü is one).
	b.do("open the text task", chromedp.Navigate(srv.URL+"/tasks/"+note.ID), chromedp.WaitVisible(chromedp.ID("task-text")))
	b.poll("the text loads", `document.querySelector("#task-text[data-loaded]") !== null`)
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function () {
		var m = document.querySelector('#task-text mark[data-object-id="who"]');
		return document.getElementById("task-text").textContent + "|" + (m ? m.textContent : "") + "|" + document.querySelector("#task-spans .span-text").textContent;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got != "Ada met Grace in Zürich.|Zürich|Zürich" {
		t.Fatalf("text page: %q", got)
	}
}
