package coco

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/plugin"
)

// The plugin's names (firstparty lists it).
const (
	Name          = "coco"
	Title         = "COCO"
	Description   = "Exports image annotations as a COCO instances file (annotations.json in a zip): boxes, rotated boxes, polygons and segmentations, one category per tool."
	DefaultConfig = `{"tools": [], "fileName": "annotations.json", "rotatedBoxes": "hull", "supercategory": ""}`
)

// Config is the converter's Config JSON (docs/export.md "COCO").
type Config struct {
	// Tools chooses the tools exported as categories, by title or
	// schemaId, in category-id order; empty: every bounding-box,
	// rotated-bounding-box, polygon and segmentation tool.
	converters.ToolsConfig
	// FileName is the instances file's name in the zip.
	FileName string `json:"fileName,omitempty"`
	// RotatedBoxes is "hull" (a rotated box becomes its four corners as
	// a segmentation polygon with their axis-aligned hull as bbox) or
	// "skip" (rotated-bounding-box tools are not exported).
	RotatedBoxes string `json:"rotatedBoxes,omitempty"`
	// Supercategory is every category's supercategory.
	Supercategory string `json:"supercategory,omitempty"`
}

// Defaults is the Config a run starts from.
var Defaults = Config{FileName: "annotations.json", RotatedBoxes: "hull"}

// Handler serves export runs with Write.
func Handler() plugin.Handler {
	return converters.Handler(converters.Converter[Config]{Name: Name, Config: Defaults, Write: Write})
}

func (c *Config) check() error {
	if c.FileName == "" {
		c.FileName = Defaults.FileName
	}
	if n := converters.SafeName(&labelhub.ExportedAsset{ExternalID: c.FileName}); n != c.FileName || !strings.HasSuffix(n, ".json") {
		return fmt.Errorf("the Config JSON's fileName %q: must be a file name ending in .json, without path separators (%q would do)", c.FileName, strings.TrimSuffix(n, ".json")+".json")
	}
	switch c.RotatedBoxes {
	case "":
		c.RotatedBoxes = Defaults.RotatedBoxes
	case "hull", "skip":
	default:
		return fmt.Errorf("the Config JSON's rotatedBoxes %q: must be \"hull\" or \"skip\"", c.RotatedBoxes)
	}
	return nil
}

func (c *Config) kinds() []string {
	k := []string{"bounding-box", "polygon", "segmentation"}
	if c.RotatedBoxes == "hull" {
		k = append(k, "rotated-bounding-box")
	}
	return k
}

// The JSON shapes of the instances file. Fields named labelhub_* are
// ours; COCO readers ignore them.
type image struct {
	ID         int64  `json:"id"`
	FileName   string `json:"file_name"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	AssetID    string `json:"labelhub_asset_id"`
	ExternalID string `json:"labelhub_external_id"`
	URL        string `json:"labelhub_url"`
	TaskID     string `json:"labelhub_task_id"`
}

type annotation struct {
	ID           int64                      `json:"id"`
	ImageID      int64                      `json:"image_id"`
	CategoryID   int                        `json:"category_id"`
	Segmentation [][]float64                `json:"segmentation"`
	Area         float64                    `json:"area"`
	BBox         [4]float64                 `json:"bbox"`
	IsCrowd      int                        `json:"iscrowd"`
	ObjectID     string                     `json:"labelhub_object_id,omitempty"`
	Attributes   map[string]json.RawMessage `json:"attributes,omitempty"`
}

type category struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory"`
	SchemaID      string `json:"labelhub_schema_id"`
	Tool          string `json:"labelhub_tool"`
}

type info struct {
	Description string `json:"description"`
	Version     string `json:"version"`
	Year        int    `json:"year"`
	Contributor string `json:"contributor"`
	DateCreated string `json:"date_created"`
	ProjectID   string `json:"labelhub_project_id"`
}

// Write converts the export's assets into a COCO instances file in zw
// (docs/export.md "COCO"). Images are written to the zip as they come;
// annotations go to a temporary file and are copied in after the last
// image, so memory stays constant whatever the project's size. Assets
// without a size in their metadata, objects of shapes COCO has no room
// for and objects with nothing inside the image are left out and
// reported to rep; shapes reaching outside the image are cut to it.
func Write(ctx context.Context, p plugin.Project, cfg Config, assets iter.Seq2[*plugin.ExportedAsset, error], zw *zip.Writer, rep *converters.Report) error {
	if err := cfg.check(); err != nil {
		return err
	}
	kinds := cfg.kinds()
	cats, err := converters.SelectCategories(p.CategorySchema, cfg.Tools, kinds, Title)
	if err != nil {
		return err
	}
	anns, err := converters.NewSpool(cfg.FileName)
	if err != nil {
		return err
	}
	defer anns.Close()
	zf, err := zw.Create(cfg.FileName)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(zf, 64<<10)
	out.WriteString(`{"images":[`)
	names := converters.NewNames()
	var images, annID int64
	latest := p.UpdatedAt
	for img, err := range converters.Images(ctx, assets, rep) {
		if err != nil {
			return err
		}
		a, w, h := img.ExportedAsset, img.Width, img.Height
		images++
		name, _ := names.Asset(a)
		if images > 1 {
			out.WriteByte(',')
		}
		if err := writeJSON(out, image{ID: images, FileName: name, Width: w, Height: h, AssetID: a.AssetID, ExternalID: a.ExternalID, URL: a.Asset, TaskID: a.Task.TaskID}); err != nil {
			return fmt.Errorf("asset %s: %w", a.AssetID, err)
		}
		if a.Task.UpdatedAt.After(latest) {
			latest = a.Task.UpdatedAt
		}
		for i := range a.Task.Tools {
			o := &a.Task.Tools[i]
			cat, ok := cats.Exported(a, o, kinds, Title, rep)
			if !ok {
				continue
			}
			ann, ok := convert(a, o, float64(w), float64(h), rep)
			if !ok {
				continue
			}
			ann.ID, ann.ImageID, ann.CategoryID = annID+1, images, cat.Index+1
			b, err := json.Marshal(ann)
			if err != nil {
				rep.SkipObject(a, o, "not writable as JSON: "+err.Error())
				continue
			}
			if annID++; annID > 1 {
				anns.WriteString(",")
			}
			anns.Write(b)
		}
	}
	out.WriteString(`],"annotations":[`)
	if err := out.Flush(); err != nil {
		return err
	}
	if err := anns.CopyTo(zf); err != nil {
		return err
	}
	out.WriteString(`],"categories":[`)
	for i, c := range cats.List {
		if i > 0 {
			out.WriteByte(',')
		}
		writeJSON(out, category{ID: c.Index + 1, Name: c.Title, Supercategory: cfg.Supercategory, SchemaID: c.SchemaID, Tool: c.Kind})
	}
	out.WriteString(`],"licenses":[],"info":`)
	in := info{Description: p.Name, Version: "1.0", Contributor: "labelhub", ProjectID: p.ID}
	if !latest.IsZero() {
		in.Year, in.DateCreated = latest.UTC().Year(), latest.UTC().Format(time.RFC3339)
	}
	writeJSON(out, in)
	out.WriteString("}\n")
	rep.Count("images", images)
	rep.Count("annotations", annID)
	rep.Count("categories", int64(len(cats.List)))
	return out.Flush()
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func kindOf(o *labelhub.Object) string {
	if k := converters.ShapeKind(o); k != "" {
		return k
	}
	return "object without a shape"
}

// convert makes the annotation of one object of an image w × h: its
// segmentation, bbox and area, cut to the image. ok is false (and the
// object reported) when nothing of it is left.
func convert(a *labelhub.ExportedAsset, o *labelhub.Object, w, h float64, rep *converters.Report) (annotation, bool) {
	skip := func(reason string) (annotation, bool) {
		rep.SkipObject(a, o, reason)
		return annotation{}, false
	}
	if o.Page != nil && *o.Page > 0 {
		return skip(fmt.Sprintf("on page %d of a multi-page asset", *o.Page))
	}
	ann := annotation{Segmentation: [][]float64{}, ObjectID: o.ObjectID, Attributes: attributes(o.Classifications, "", nil)}
	var r converters.Rect
	clipped := false
	switch kind := converters.ShapeKind(o); kind {
	case "bounding-box":
		b := o.BoundingBox
		if !converters.Finite(labelhub.Point{b.X, b.Y}, labelhub.Point{b.Width, b.Height}) {
			return skip("a coordinate is not a finite number")
		}
		r, clipped = converters.Rect{MinX: b.X, MinY: b.Y, MaxX: b.X + b.Width, MaxY: b.Y + b.Height}.Clip(w, h)
		if r.Empty() {
			return skip("nothing of the box is inside the image")
		}
		ann.Area = round(round(r.MaxX-r.MinX) * round(r.MaxY-r.MinY))
	case "rotated-bounding-box", "polygon", "segmentation":
		var zones []labelhub.Zone
		switch kind {
		case "rotated-bounding-box":
			c := o.RotatedBoundingBox.Corners()
			zones = []labelhub.Zone{{Region: c[:]}}
		case "polygon":
			zones = []labelhub.Zone{{Region: o.Polygon}}
		default:
			zones = o.Segmentation.Zones
		}
		var rings [][]labelhub.Point
		for _, z := range zones {
			if !converters.Finite(z.Region...) {
				return skip("a coordinate is not a finite number")
			}
			if !converters.Inside(z.Region, w, h) {
				clipped = true
			}
			ring := converters.ClipPolygon(z.Region, w, h)
			area := converters.Area(ring)
			if len(ring) < 3 || area == 0 {
				continue
			}
			for _, hole := range z.Holes {
				if converters.Finite(hole...) {
					area -= converters.Area(converters.ClipPolygon(hole, w, h))
				}
			}
			ann.Area += max(area, 0)
			rings = append(rings, ring)
			flat := make([]float64, 0, 2*len(ring))
			for _, p := range ring {
				flat = append(flat, round(p[0]), round(p[1]))
			}
			ann.Segmentation = append(ann.Segmentation, flat)
		}
		if len(rings) == 0 {
			return skip(fmt.Sprintf("nothing of the %s is inside the image", kind))
		}
		r = converters.Bounds(rings)
		ann.Area = round(ann.Area)
	default:
		return skip(fmt.Sprintf("a %s: not a shape COCO instances hold", kindOf(o)))
	}
	ann.BBox = [4]float64{round(r.MinX), round(r.MinY), round(round(r.MaxX) - round(r.MinX)), round(round(r.MaxY) - round(r.MinY))}
	// A self-intersecting polygon's shoelace area may count a part twice;
	// no area is larger than its box.
	ann.Area = min(ann.Area, math.Floor(ann.BBox[2]*ann.BBox[3]*1000)/1000)
	if !(ann.Area > 0 && ann.BBox[2] > 0 && ann.BBox[3] > 0) {
		return skip("no area inside the image")
	}
	if clipped {
		rep.Note(a, o, "cut to the image")
	}
	return ann, true
}

// round rounds to a thousandth of a pixel.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// attributes flattens an object's classification answers into
// {"Color": "Red", "Color / Shade": "Dark"} (titles of nested answers
// joined with " / "); nil when there are none.
func attributes(list []labelhub.ClassificationAnswer, prefix string, m map[string]json.RawMessage) map[string]json.RawMessage {
	for _, c := range list {
		key := c.Title
		if key == "" {
			key = c.SchemaID
		}
		if prefix != "" {
			key = prefix + labelhub.TreePathSeparator + key
		}
		if len(c.Answer) > 0 && json.Valid(c.Answer) {
			if m == nil {
				m = map[string]json.RawMessage{}
			}
			m[key] = slices.Clone(c.Answer)
		}
		m = attributes(c.Classifications, key, m)
	}
	return m
}
