package voc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters/convertertest"
	"github.com/labelhub/labelhub/converters/voc"
)

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name   string
		cfg    string
		labels int
	}{
		// Car (twice in the schema, once in labels.txt), Person, Road,
		// Area, the odd title.
		{"default", `{}`, 5},
		// Tools chosen by schemaId and by title.
		{"tools", `{"tools": ["person", "Car"]}`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cfg voc.Config
			if err := json.Unmarshal([]byte(c.cfg), &cfg); err != nil {
				t.Fatal(err)
			}
			files, names, rep, err := convertertest.Run(context.Background(), voc.Write, convertertest.OddProject(convertertest.Project(t)), cfg, convertertest.WithOdd(t))
			if err != nil {
				t.Fatal(err)
			}
			info := rep.Info()
			convertertest.Golden(t, c.name, append(convertertest.Dump(files, names), convertertest.InfoJSON(info)...))
			if n := checkVOC(t, files); n != 8 {
				t.Errorf("%d annotations, want 8 (the 2 assets without a size are reported)", n)
			}
			if n := strings.Count(string(files["labels.txt"]), "\n"); n != c.labels || info["assetsSkipped"] != int64(2) {
				t.Errorf("%d labels, info %v", n, info)
			}
		})
	}
}

// checkVOC reads the zip as a VOC reader would, without the package's
// types: every Annotations/*.xml parses, names its file and size, and its
// boxes have 1 ≤ xmin < xmax ≤ width and 1 ≤ ymin < ymax ≤ height and a
// name of labels.txt; ImageSets/Main/default.txt lists each stem once and
// images.txt gives each image a URL. It returns the number of annotations.
func checkVOC(t testing.TB, files map[string][]byte) int {
	t.Helper()
	lines := func(name string) []string {
		if len(files[name]) == 0 {
			return nil
		}
		return strings.Split(strings.TrimSuffix(string(files[name]), "\n"), "\n")
	}
	labels, stems, images := lines("labels.txt"), lines("ImageSets/Main/default.txt"), lines("images.txt")
	n := 0
	seen := map[string]bool{}
	for name, body := range files {
		if slices.Contains(strings.Split(name, "/"), "..") || strings.HasPrefix(name, "/") || strings.Contains(name, `\`) {
			t.Errorf("unsafe file name %q", name)
		}
		if seen[strings.ToLower(name)] {
			t.Errorf("file name %q twice (ignoring case)", name)
		}
		seen[strings.ToLower(name)] = true
		stem, ok := strings.CutPrefix(name, "Annotations/")
		if !ok {
			continue
		}
		n++
		stem, ok = strings.CutSuffix(stem, ".xml")
		if !ok || !slices.Contains(stems, stem) {
			t.Errorf("%s: not an .xml listed in default.txt", name)
		}
		// Element paths and their text, as a reader of any VOC file sees
		// them.
		var path []string
		vals := map[string]string{}
		var boxes []map[string]string
		var objNames []string
		dec := xml.NewDecoder(bytes.NewReader(body))
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, body)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				path = append(path, tok.Name.Local)
				if strings.Join(path, "/") == "annotation/object/bndbox" {
					boxes = append(boxes, map[string]string{})
				}
			case xml.EndElement:
				path = path[:len(path)-1]
			case xml.CharData:
				p := strings.Join(path, "/")
				switch {
				case strings.HasPrefix(p, "annotation/object/bndbox/"):
					boxes[len(boxes)-1][strings.TrimPrefix(p, "annotation/object/bndbox/")] += string(tok)
				case p == "annotation/object/name":
					objNames = append(objNames, string(tok))
				default:
					vals[p] += string(tok)
				}
			}
		}
		w, werr := strconv.Atoi(vals["annotation/size/width"])
		h, herr := strconv.Atoi(vals["annotation/size/height"])
		if werr != nil || herr != nil || w < 1 || h < 1 || vals["annotation/filename"] == "" || vals["annotation/size/depth"] != "3" {
			t.Errorf("%s: size %q × %q, filename %q", name, vals["annotation/size/width"], vals["annotation/size/height"], vals["annotation/filename"])
		}
		if !slices.ContainsFunc(images, func(l string) bool { return strings.HasPrefix(l, "JPEGImages/"+vals["annotation/filename"]+"\t") }) {
			t.Errorf("%s: %q is not in images.txt", name, vals["annotation/filename"])
		}
		if len(objNames) != len(boxes) {
			t.Errorf("%s: %d names for %d boxes", name, len(objNames), len(boxes))
		}
		for _, o := range objNames {
			if !slices.Contains(labels, o) {
				t.Errorf("%s: object name %q is not in labels.txt", name, o)
			}
		}
		for _, b := range boxes {
			var v [4]int
			for i, k := range []string{"xmin", "ymin", "xmax", "ymax"} {
				x, err := strconv.Atoi(b[k])
				if err != nil {
					t.Errorf("%s: %s %q", name, k, b[k])
				}
				v[i] = x
			}
			if !(1 <= v[0] && v[0] < v[2] && v[2] <= w && 1 <= v[1] && v[1] < v[3] && v[3] <= h) {
				t.Errorf("%s: box %v on %d × %d", name, v, w, h)
			}
		}
	}
	if len(stems) != n || len(images) != n {
		t.Errorf("%d annotations, %d stems in default.txt, %d images", n, len(stems), len(images))
	}
	return n
}

// Hostile answers and names never make an invalid file.
func FuzzWrite(f *testing.F) {
	f.Add(`{"width": 640, "height": 480}`, "a.jpg", "https://b.example/a.jpg?x=1&y=<2>", `[{"schemaId": "car", "bounding-box": {"x": -10, "y": 5, "width": 1e9, "height": -3}}]`)
	f.Add(`{"width": 1, "height": 1}`, "../\x00x", "\x01", `[{"schemaId": "area", "segmentation": {"zones": [{"region": [[0,0],[1e308,0],[1e308,1e308]]}, {"region": []}]}}]`)
	f.Add(`{"width": 3, "height": 2}`, "]]>", "", `[{"title": "Person", "rotated-bounding-box": {"x": 0, "y": 0, "width": 1e308, "height": 1, "rotation": 1e300}}, {"schemaId": "road", "polygon": [[1,1]]}]`)
	f.Add(`{"width": 10, "height": "x"}`, "b", "u", `[{"schemaId": "sign", "point": [1, 2]}, {"schemaId": "nope", "polygon": [[0,0],[1,1],[2,0]]}]`)
	f.Fuzz(func(t *testing.T, meta, externalID, url, tools string) {
		var objs []labelhub.Object
		if json.Unmarshal([]byte(tools), &objs) != nil {
			return
		}
		a := &labelhub.ExportedAsset{AssetID: "a1", ExternalID: externalID, Asset: url, Metadata: json.RawMessage(meta),
			Task: labelhub.ExportedTask{Answer: labelhub.Answer{Tools: objs}}}
		if !json.Valid(a.Metadata) {
			a.Metadata = nil
		}
		files, _, _, err := convertertest.Run(context.Background(), voc.Write, convertertest.OddProject(convertertest.Project(t)), voc.Config{}, convertertest.Slice(a, a))
		if err != nil {
			t.Fatal(err)
		}
		checkVOC(t, files)
	})
}

func TestConfigErrors(t *testing.T) {
	convertertest.ConfigErrors(t, voc.Write, map[string]string{
		`{"tools": ["Lane"]}`:              `tools[0]: the tool "Lane" is a polyline tool`,
		`{"tools": ["car", "Pedestrian"]}`: `tools[1]: "Pedestrian" is neither the title nor the schemaId`,
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
	convertertest.Memory(t, voc.Write, convertertest.Project(t), voc.Config{}, n, 1024)
}
