package yolo

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/plugin"
)

// The plugin's name (labelhub plugin serve yolo), title and description.
const (
	Name        = "yolo"
	Title       = "YOLO"
	Description = "Exports boxes (detect) or polygons (segment) as YOLO label files: labels/<image>.txt with normalised class cx cy w h or class x1 y1 …, data.yaml, classes.txt and images.txt (each image's path and URL)."
)

// DefaultConfig is the plugin's Config JSON: detection boxes of every
// tool with an area.
const DefaultConfig = `{"mode": "detect"}`

// The modes of Config.Mode.
const (
	ModeDetect  = "detect"
	ModeSegment = "segment"
)

// Kinds are the tool kinds YOLO exports: those with an area. Points and
// polylines have none; their objects are reported as skipped.
var Kinds = []string{"bounding-box", "rotated-bounding-box", "polygon", "segmentation"}

// Config is the plugin's Config JSON:
//
//	{"mode": "detect" | "segment", "tools": ["Car", "<schemaId>", …]}
//
// detect writes one bounding box per object (a polygon's, a rotated
// box's or a segmentation's — all its zones — enclosing box); segment
// writes polygons (a box as its 4 corners, a segmentation as one line per
// zone, holes left out). tools chooses the classes and their order (see
// converters.ToolsConfig): by default every tool of a kind in Kinds, in
// the schema's order.
type Config struct {
	Mode string `json:"mode"`
	converters.ToolsConfig
}

// Handler serves YOLO export runs.
func Handler() plugin.Handler {
	return converters.Handler(converters.Converter[Config]{Name: Name, Config: Config{Mode: ModeDetect}, Write: Write})
}

// Write writes the YOLO files of the export into zw, one asset at a time
// (see the package documentation for the layout).
func Write(ctx context.Context, p plugin.Project, cfg Config, assets iter.Seq2[*plugin.ExportedAsset, error], zw *zip.Writer, rep *converters.Report) error {
	segment := false
	switch cfg.Mode {
	case ModeDetect, "":
	case ModeSegment:
		segment = true
	default:
		return fmt.Errorf("the Config JSON's mode: %q is neither %q nor %q", cfg.Mode, ModeDetect, ModeSegment)
	}
	cats, err := converters.SelectCategories(p.CategorySchema, cfg.Tools, Kinds, Title)
	if err != nil {
		return err
	}
	if err := writeClasses(zw, p, cats, segment); err != nil {
		return err
	}
	list, err := converters.NewSpool("images.txt")
	if err != nil {
		return err
	}
	defer list.Close()
	names := converters.NewNames()
	var buf []byte
	var probs []string
	for img, err := range converters.Images(ctx, assets, rep) {
		if err != nil {
			return err
		}
		a, w, h := img.ExportedAsset, img.Width, img.Height
		stem, ext := names.ImageStem(a)
		buf = buf[:0]
		lines := int64(0)
		for i := range a.Task.Tools {
			o := &a.Task.Tools[i]
			cat, ok := cats.Exported(a, o, Kinds, Title, rep)
			if !ok || converters.OnOtherPage(a, o, rep) {
				continue
			}
			n := len(buf)
			buf, probs = appendObject(buf, o, cat.Index, float64(w), float64(h), segment, probs[:0])
			lines += int64(bytes.Count(buf[n:], []byte{'\n'}))
			for _, pr := range probs {
				if pr == probClipped || pr == probHoles {
					rep.Note(a, o, pr)
				} else {
					rep.SkipObject(a, o, pr)
				}
			}
		}
		f, err := zw.Create("labels/" + stem + ".txt")
		if err != nil {
			return err
		}
		if _, err := f.Write(buf); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(list, "images/%s%s\t%s\n", stem, ext, converters.OneLine(a.Asset)); err != nil {
			return err
		}
		rep.Count("images", 1)
		rep.Count("labels", lines)
	}
	return list.AddTo(zw)
}

// writeClasses writes classes.txt and data.yaml.
func writeClasses(zw *zip.Writer, p plugin.Project, cats *converters.Categories, segment bool) error {
	var classes, yaml strings.Builder
	task := "detect"
	if segment {
		task = "segment"
	}
	fmt.Fprintf(&yaml, "# YOLO %s dataset of the labelhub project %s.\n", task, yamlString(p.Name))
	yaml.WriteString("# Labels are in labels/; the images are not in this file. Fetch each image of\n" +
		"# images.txt (a path and a URL, tab-separated) to its path, for instance:\n" +
		"#   while IFS=$'\\t' read -r f u; do mkdir -p \"$(dirname \"$f\")\"; curl -fsS -o \"$f\" \"$u\"; done < images.txt\n" +
		"# Signed URLs expire (an hour by default): run the export again for fresh ones.\n" +
		"# train and val are the same images; split them as you see fit.\n")
	fmt.Fprintf(&yaml, "path: .\ntrain: images\nval: images\nnc: %d\nnames:", len(cats.List))
	if len(cats.List) == 0 {
		yaml.WriteString(" []")
	}
	yaml.WriteString("\n")
	for _, c := range cats.List {
		classes.WriteString(converters.OneLine(c.Title))
		classes.WriteString("\n")
		fmt.Fprintf(&yaml, "  - %s\n", yamlString(c.Title))
	}
	for _, f := range [][2]string{{"data.yaml", yaml.String()}, {"classes.txt", classes.String()}} {
		w, err := zw.Create(f[0])
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			return err
		}
	}
	return nil
}

// yamlString quotes s as a JSON string, which YAML reads as a
// double-quoted scalar.
func yamlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(strings.ToValidUTF8(s, "\uFFFD")) != nil {
		return `""`
	}
	return strings.TrimSuffix(b.String(), "\n")
}
