package csvexport

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/converters/convertertest"
	"github.com/labelhub/labelhub/plugin"
)

func TestGolden(t *testing.T) {
	files, names, rep, err := convertertest.Run(context.Background(), Write, convertertest.Project(t), Defaults, convertertest.Assets(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "export.csv" {
		t.Fatalf("the zip holds %q", names)
	}
	got := files["export.csv"]
	convertertest.Golden(t, "export.csv", got)

	rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatalf("export.csv is not RFC 4180 CSV: %v", err)
	}
	if strings.Join(rows[0], ",") != strings.Join(Columns, ",") {
		t.Errorf("header %q", rows[0])
	}
	if !bytes.Contains(got, []byte("\r\n")) {
		t.Error("rows do not end with CRLF")
	}
	col := func(name string) int {
		for i, c := range Columns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		if len(r) != len(Columns) {
			t.Fatalf("row of %d cells: %q", len(r), r)
		}
		byID[r[col("object_id")]] = r
	}
	// 7 objects + 2 nested + 2 top-level answers of a1, 4 objects of a2,
	// 1 of a3, an "asset" row for a4 (no labels), 1 object of a5.
	if len(rows)-1 != 18 || rep.Counted("rows") != 18 {
		t.Errorf("%d rows (report %d); want 18", len(rows)-1, rep.Counted("rows"))
	}
	for _, c := range []struct{ id, column, want string }{
		{"o1", "tool", "bounding-box"},
		{"o1", "width", "100"},
		{"o1c", "parent_object_id", "o1"},
		{"o1cs", "parent_object_id", "o1c"},
		{"o1cs", "answer", `'=HYPERLINK("http://x")`}, // formula guard
		{"c2", "answer", "'-rain"},
		{"c2", "updated_by", "rev@example.com"}, // the item's own metadata
		{"c1", "updated_by", "ann@example.com"}, // else the task's
		{"c1", "answer", `["a","b"]`},
		{"o2", "rotation", "30"},
		{"o3", "points", "[[0,300],[320,250],[640,300],[640,480],[0,480]]"},
		{"o3", "height", "230"},
		{"o5", "x", "500.5"},
		{"o8", "y", "-10"}, // numbers are not guarded
		{"o10", "page", "1"},
		{"o12", "image_width", ""},
		{"o13", "points", `{"start":0,"end":5}`},
		{"", "kind", "asset"},
		{"", "asset_id", "a4"},
	} {
		if r, ok := byID[c.id]; !ok || r[col(c.column)] != c.want {
			t.Errorf("row %q, %s = %q; want %q", c.id, c.column, r, c.want)
		}
	}
}

func TestConfig(t *testing.T) {
	files, _, rep, err := convertertest.Run(context.Background(), Write, convertertest.Project(t),
		Config{ToolsConfig: converters.ToolsConfig{Tools: []string{"Lane"}}, FileName: "rows.csv", Delimiter: ";"}, convertertest.Assets(t))
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(files["rows.csv"]))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var objects int
	for _, row := range rows[1:] {
		if row[5] == "object" {
			objects++
			if row[9] != "Lane" {
				t.Errorf("an object of a tool not chosen: %q", row)
			}
		}
	}
	if objects != 1 || rep.Counted("objectsOfOtherTools") != 12 {
		t.Errorf("%d objects, %d not chosen", objects, rep.Counted("objectsOfOtherTools"))
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{ToolsConfig: converters.ToolsConfig{Tools: []string{"Truck"}}}, `"Truck" is neither`},
		{Config{FileName: "a/b.csv"}, `fileName "a/b.csv"`},
		{Config{Delimiter: "::"}, `delimiter "::"`},
	} {
		if _, _, _, err := convertertest.Run(context.Background(), Write, convertertest.Project(t), c.cfg, convertertest.Assets(t)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.cfg, err, c.want)
		}
	}
}

func TestGuard(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+1": "'+1", "-x": "'-x", "@SUM": "'@SUM", "\tx": "'\tx", "a=b": "a=b", "": ""} {
		if got := Guard(in); got != want {
			t.Errorf("Guard(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzWrite(f *testing.F) {
	f.Add(1.0, 2.0, "=cmd|' /C calc'!A0", 2)
	f.Add(math.Inf(1), -1e308, "a\r\nb\"c", 0)
	p := convertertest.Project(f)
	f.Fuzz(func(t *testing.T, x, y float64, text string, n int) {
		n = min(max(n, 0), 5)
		pts := make([]labelhub.Point, n)
		for i := range pts {
			pts[i] = labelhub.Point{x * float64(i), y}
		}
		a := &plugin.ExportedAsset{AssetID: text, ExternalID: text, Asset: text, Task: labelhub.ExportedTask{Answer: labelhub.Answer{
			Tools: []labelhub.Object{
				{ObjectID: text, Title: text, Polygon: pts},
				{Segmentation: &labelhub.Segmentation{Zones: []labelhub.Zone{{Region: pts}, {}}}},
				{BoundingBox: &labelhub.Box{X: x, Y: y}},
				{},
			},
			Classifications: []labelhub.ClassificationAnswer{{Title: text, Answer: []byte(`"` + strings.ReplaceAll(text, `"`, "") + `"`)}, {Answer: nil}},
		}}}
		files, _, _, err := convertertest.Run(context.Background(), Write, p, Defaults, convertertest.Slice(a))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(files["export.csv"])).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v", err)
		}
		for _, r := range rows[1:] {
			for i, cell := range r {
				if !numeric[i] && cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					t.Fatalf("cell %s = %q starts a formula", Columns[i], cell)
				}
			}
		}
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
	if err := c.check(); err != nil || c.FileName != Defaults.FileName || c.Delimiter != Defaults.Delimiter || len(c.Tools) != 0 {
		t.Errorf("DefaultConfig gives %+v (%v); want %+v", c, err, Defaults)
	}
}
