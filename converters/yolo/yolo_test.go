package yolo_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters/convertertest"
	"github.com/labelhub/labelhub/converters/yolo"
)

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  string
		nc   int
	}{
		// Car, Person, Road, Area, Car (the polygon tool), the odd title.
		{"detect", yolo.DefaultConfig, 6},
		// Classes chosen by schemaId and by title, in the Config's order.
		{"segment", `{"mode": "segment", "tools": ["road", "Car", "area", "Person"]}`, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cfg yolo.Config
			if err := json.Unmarshal([]byte(c.cfg), &cfg); err != nil {
				t.Fatal(err)
			}
			files, names, rep, err := convertertest.Run(context.Background(), yolo.Write, convertertest.OddProject(convertertest.Project(t)), cfg, convertertest.WithOdd(t))
			if err != nil {
				t.Fatal(err)
			}
			info := rep.Info()
			convertertest.Golden(t, c.name, append(convertertest.Dump(files, names), convertertest.InfoJSON(info)...))
			if nc := checkYOLO(t, files, cfg.Mode == yolo.ModeSegment); nc != c.nc {
				t.Errorf("nc = %d, want %d", nc, c.nc)
			}
			// 10 assets: 8 with a size get a label file; the 2 others
			// (no-size.png and the inline text) are reported.
			labels := 0
			for n := range files {
				if strings.HasPrefix(n, "labels/") {
					labels++
				}
			}
			if labels != 8 || info["assetsSkipped"] != int64(2) || info["images"] != int64(8) {
				t.Errorf("%d label files; info %v", labels, info)
			}
		})
	}
}

// checkYOLO checks the zip as a YOLO reader would, without the package's
// code: nc and names in data.yaml agree with classes.txt; every label line
// is a class below nc and 4 numbers (detect) or an even number of at least
// 6 (segment), all in [0, 1]; images.txt pairs every label file with an
// image path and a URL. It returns nc.
func checkYOLO(t testing.TB, files map[string][]byte, segment bool) int {
	t.Helper()
	byName := map[string]string{}
	for name, body := range files {
		if slices.Contains(strings.Split(name, "/"), "..") || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) {
			t.Errorf("unsafe file name %q", name)
		}
		if _, dup := byName[strings.ToLower(name)]; dup {
			t.Errorf("file name %q twice (ignoring case)", name)
		}
		byName[strings.ToLower(name)] = string(body)
	}
	nc, names := -1, 0
	inNames := false
	for _, line := range strings.Split(byName["data.yaml"], "\n") {
		switch {
		case strings.HasPrefix(line, "nc: "):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "nc: "))
			if err != nil {
				t.Fatalf("data.yaml: %q", line)
			}
			nc = n
		case strings.HasPrefix(line, "names:"):
			inNames = true
		case inNames && strings.HasPrefix(line, "  - "):
			var s string
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "  - ")), &s); err != nil {
				t.Errorf("data.yaml name %q: %v", line, err)
			}
			names++
		}
	}
	classes := strings.Count(byName["classes.txt"], "\n")
	if nc < 0 || names != nc || classes != nc {
		t.Fatalf("data.yaml nc %d, %d names, classes.txt %d lines:\n%s", nc, names, classes, byName["data.yaml"])
	}
	labels := 0
	for name, body := range byName {
		if !strings.HasPrefix(name, "labels/") {
			continue
		}
		labels++
		if !strings.HasSuffix(name, ".txt") || strings.Count(name, "/") != 1 {
			t.Errorf("label file %q", name)
		}
		for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if line == "" && body == "" {
				continue
			}
			f := strings.Fields(line)
			if len(f) == 0 {
				t.Errorf("%s:%d: empty line", name, i+1)
				continue
			}
			if c, err := strconv.Atoi(f[0]); err != nil || c < 0 || c >= nc {
				t.Errorf("%s:%d: class %q (nc %d)", name, i+1, f[0], nc)
			}
			switch n := len(f) - 1; {
			case !segment && n != 4, segment && (n < 6 || n%2 != 0):
				t.Errorf("%s:%d: %d numbers", name, i+1, n)
			}
			for _, s := range f[1:] {
				if v, err := strconv.ParseFloat(s, 64); err != nil || !(v >= 0 && v <= 1) || strings.HasPrefix(s, "-") {
					t.Errorf("%s:%d: %q is not in [0, 1]", name, i+1, s)
				}
			}
		}
	}
	images := strings.Split(strings.TrimSuffix(byName["images.txt"], "\n"), "\n")
	if byName["images.txt"] == "" {
		images = nil
	}
	if len(images) != labels {
		t.Errorf("images.txt has %d lines for %d label files", len(images), labels)
	}
	for _, line := range images {
		img, url, ok := strings.Cut(line, "\t")
		stem := strings.TrimPrefix(img, "images/")
		for _, ext := range []string{".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"} {
			if strings.HasSuffix(stem, ext) {
				stem = strings.TrimSuffix(stem, ext)
				break
			}
		}
		if _, has := byName[strings.ToLower("labels/"+stem+".txt")]; !ok || url == "" || !strings.HasPrefix(img, "images/") || !has {
			t.Errorf("images.txt line %q has no label file", line)
		}
	}
	return nc
}

// Assets without a size, or whose objects reach far outside the image,
// never make numbers outside [0, 1].
func FuzzWrite(f *testing.F) {
	f.Add(`{"width": 640, "height": 480}`, "a.jpg", `[{"schemaId": "car", "bounding-box": {"x": -10, "y": 5, "width": 1e9, "height": -3}}]`, true)
	f.Add(`{"width": 1, "height": 1}`, "../x", `[{"schemaId": "road", "segmentation": {"zones": [{"region": [[0,0],[1e308,0],[1e308,1e308]], "holes": [[[0,0]]]}, {"region": []}]}}]`, true)
	f.Add(`{"width": 3, "height": 2}`, "", `[{"title": "Sign", "rotated-bounding-box": {"x": 0, "y": 0, "width": 1e308, "height": 1, "rotation": 1e300}}, {"schemaId": "person", "polygon": [[1,1]]}]`, false)
	f.Add(`{"width": 10, "height": "x"}`, "b", `[{"schemaId": "kp", "point": [1, 2]}, {"schemaId": "nope", "polygon": [[0,0],[1,1],[2,0]]}]`, false)
	f.Fuzz(func(t *testing.T, meta, externalID, tools string, segment bool) {
		var objs []labelhub.Object
		if json.Unmarshal([]byte(tools), &objs) != nil {
			return
		}
		a := &labelhub.ExportedAsset{AssetID: "a1", ExternalID: externalID, Asset: "https://b.example/i.jpg", Metadata: json.RawMessage(meta),
			Task: labelhub.ExportedTask{Answer: labelhub.Answer{Tools: objs}}}
		if !json.Valid(a.Metadata) {
			a.Metadata = nil
		}
		cfg := yolo.Config{Mode: yolo.ModeDetect}
		if segment {
			cfg.Mode = yolo.ModeSegment
		}
		files, _, _, err := convertertest.Run(context.Background(), yolo.Write, convertertest.OddProject(convertertest.Project(t)), cfg, convertertest.Slice(a, a))
		if err != nil {
			t.Fatal(err)
		}
		checkYOLO(t, files, segment)
	})
}

func TestConfigErrors(t *testing.T) {
	convertertest.ConfigErrors(t, yolo.Write, map[string]string{
		`{"mode": "pose"}`:                       `mode: "pose" is neither "detect" nor "segment"`,
		`{"tools": ["Lane"]}`:                    `tools[0]: the tool "Lane" is a polyline tool`,
		`{"tools": ["car", "Pedestrian"]}`:       `tools[1]: "Pedestrian" is neither the title nor the schemaId`,
		`{"mode": "segment", "tools": ["sign"]}`: `tools[0]: the tool "Sign" is a point tool`,
	})
}

// TestMemory streams many assets through Write: the live heap must not
// grow with them beyond the zip's central directory and the set of names
// (a few hundred bytes an image).
func TestMemory(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for _, mode := range []string{yolo.ModeDetect, yolo.ModeSegment} {
		t.Run(mode, func(t *testing.T) {
			convertertest.Memory(t, yolo.Write, convertertest.Project(t), yolo.Config{Mode: mode}, n, 1024)
		})
	}
}
