package voc

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"fmt"
	"iter"
	"math"
	"strings"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/plugin"
)

// The plugin's name (labelhub plugin serve voc), title and description.
const (
	Name        = "voc"
	Title       = "Pascal VOC"
	Description = "Exports bounding boxes as Pascal VOC XML: Annotations/<image>.xml per image, ImageSets/Main/default.txt, labels.txt and images.txt (each image's path and URL)."
)

// DefaultConfig is the plugin's Config JSON: every tool with an area.
const DefaultConfig = ""

// Kinds are the tool kinds VOC exports, each object as its bounding box.
// Points and polylines have no area; their objects are reported as
// skipped.
var Kinds = []string{"bounding-box", "rotated-bounding-box", "polygon", "segmentation"}

// Config is the plugin's Config JSON, {"tools": ["Car", "<schemaId>", …]}:
// the tools exported (see converters.ToolsConfig); by default every tool
// of a kind in Kinds.
type Config struct {
	converters.ToolsConfig
}

// Handler serves Pascal VOC export runs.
func Handler() plugin.Handler {
	return converters.Handler(converters.Converter[Config]{Name: Name, Write: Write})
}

// The files of the zip besides Annotations/.
const (
	imageSet   = "ImageSets/Main/default.txt"
	labelsFile = "labels.txt"
	imagesFile = "images.txt"
	folder     = "JPEGImages"
)

// annotation is one Annotations/<stem>.xml.
type annotation struct {
	XMLName   xml.Name `xml:"annotation"`
	Folder    string   `xml:"folder"`
	Filename  string   `xml:"filename"`
	Path      string   `xml:"path"`
	Source    source   `xml:"source"`
	Size      size     `xml:"size"`
	Segmented int      `xml:"segmented"`
	Objects   []object `xml:"object"`
}

type source struct {
	Database   string `xml:"database"`
	Annotation string `xml:"annotation"`
	Image      string `xml:"image"`
}

type size struct {
	Width  int `xml:"width"`
	Height int `xml:"height"`
	Depth  int `xml:"depth"`
}

type object struct {
	Name      string `xml:"name"`
	Pose      string `xml:"pose"`
	Truncated int    `xml:"truncated"`
	Difficult int    `xml:"difficult"`
	BndBox    bndbox `xml:"bndbox"`
}

type bndbox struct {
	XMin int `xml:"xmin"`
	YMin int `xml:"ymin"`
	XMax int `xml:"xmax"`
	YMax int `xml:"ymax"`
}

// Problems of an object, reported in the run's log and result.
const (
	probOutside    = "lies outside the image: skipped"
	probTooSmall   = "less than 2 pixels wide or high: VOC needs xmin < xmax and ymin < ymax, skipped"
	probClipped    = "reaches outside the image: clipped to it, truncated 1"
	probBadOutline = "has no outline with 3 points or more and finite coordinates: skipped"
	probBadRing    = "a zone with fewer than 3 points or a coordinate that is not a number: left out of the box"
)

// Write writes the VOC files of the export into zw, one asset at a time
// (see the package documentation for the layout and conventions).
func Write(ctx context.Context, p plugin.Project, cfg Config, assets iter.Seq2[*plugin.ExportedAsset, error], zw *zip.Writer, rep *converters.Report) error {
	cats, err := converters.SelectCategories(p.CategorySchema, cfg.Tools, Kinds, Title)
	if err != nil {
		return err
	}
	if err := writeLabels(zw, cats); err != nil {
		return err
	}
	set, err := converters.NewSpool(imageSet)
	if err != nil {
		return err
	}
	defer set.Close()
	list, err := converters.NewSpool(imagesFile)
	if err != nil {
		return err
	}
	defer list.Close()
	names := converters.NewNames()
	ann := annotation{Folder: folder, Source: source{Database: "labelhub", Annotation: p.Name}, Size: size{Depth: 3}}
	for img, err := range converters.Images(ctx, assets, rep) {
		if err != nil {
			return err
		}
		a, w, h := img.ExportedAsset, img.Width, img.Height
		stem, ext := names.ImageStem(a)
		ann.Filename, ann.Path, ann.Source.Image = stem+ext, a.Asset, a.ExternalID
		ann.Size.Width, ann.Size.Height = w, h
		ann.Objects = ann.Objects[:0]
		for i := range a.Task.Tools {
			o := &a.Task.Tools[i]
			cat, ok := cats.Exported(a, o, Kinds, Title, rep)
			if !ok || converters.OnOtherPage(a, o, rep) {
				continue
			}
			box, clipped, prob := boxOf(o, w, h)
			if _, _, bad := converters.Rings(o); bad > 0 && prob == "" {
				rep.Note(a, o, probBadRing)
			}
			switch {
			case prob != "":
				rep.SkipObject(a, o, prob)
				continue
			case clipped:
				rep.Note(a, o, probClipped)
			}
			ob := object{Name: converters.OneLine(cat.Title), Pose: "Unspecified", BndBox: box}
			if clipped {
				ob.Truncated = 1
			}
			ann.Objects = append(ann.Objects, ob)
		}
		f, err := zw.Create("Annotations/" + stem + ".xml")
		if err != nil {
			return err
		}
		enc := xml.NewEncoder(f)
		enc.Indent("", "\t")
		if err := enc.Encode(&ann); err != nil {
			return fmt.Errorf("the annotation of the asset %s (%q): %w", a.AssetID, a.ExternalID, err)
		}
		if _, err := f.Write([]byte("\n")); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(set, "%s\n", stem); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(list, "%s/%s%s\t%s\n", folder, stem, ext, converters.OneLine(a.Asset)); err != nil {
			return err
		}
		rep.Count("images", 1)
		rep.Count("objects", int64(len(ann.Objects)))
	}
	if err := set.AddTo(zw); err != nil {
		return err
	}
	return list.AddTo(zw)
}

// boxOf is the VOC box of an object on a w × h image: the pixels its
// shape covers, 1-based and inclusive (xmin = floor(x) + 1, xmax =
// ceil(x + width)), clipped to the image. prob is set when the object
// cannot be written.
func boxOf(o *labelhub.Object, w, h int) (b bndbox, clipped bool, prob string) {
	rings, _, _ := converters.Rings(o)
	if len(rings) == 0 {
		return b, false, probBadOutline
	}
	r, clipped := converters.Bounds(rings).Clip(float64(w), float64(h))
	if r.Empty() {
		return b, clipped, probOutside
	}
	b = bndbox{
		XMin: int(math.Floor(r.MinX)) + 1, YMin: int(math.Floor(r.MinY)) + 1,
		XMax: int(math.Ceil(r.MaxX)), YMax: int(math.Ceil(r.MaxY)),
	}
	if !(b.XMin < b.XMax && b.YMin < b.YMax) {
		return b, clipped, probTooSmall
	}
	return b, clipped, ""
}

// writeLabels writes labels.txt: the class names, one a line, once each.
func writeLabels(zw *zip.Writer, cats *converters.Categories) error {
	var b strings.Builder
	seen := map[string]bool{}
	for _, c := range cats.List {
		n := converters.OneLine(c.Title)
		if !seen[n] {
			seen[n] = true
			b.WriteString(n + "\n")
		}
	}
	f, err := zw.Create(labelsFile)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(b.String()))
	return err
}
