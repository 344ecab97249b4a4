package web

import (
	"hash/fnv"
	"math"
	"strconv"

	"github.com/labelhub/labelhub"
)

// svgShape is one SVG element of an object drawn over its asset, in the
// asset's pixel coordinates (x to the right, y down, origin at the top-left
// corner). Element says which fields apply:
//
//   - "rect": X, Y, Width, Height (a bounding box);
//   - "polygon", "polyline": Points, "x1,y1 x2,y2 …" (a polygon, a polyline,
//     and a rotated box as the polygon of its four corners);
//   - "path": D, drawn with fill-rule evenodd (a segmentation zone: its
//     region and its holes as closed subpaths), or a zero-length subpath
//     with round caps (a point, so that its dot keeps its size on screen
//     whatever the image's scale).
//
// Every number is finite: an object whose shape has a NaN or an infinity
// (which a validated answer never has) is left out.
type svgShape struct {
	Element  string
	Kind     string // the tool kind: "bounding-box", "segmentation", …
	ObjectID string
	SchemaID string
	Title    string // the tool's title, for the element's <title>
	Color    string // "#rrggbb" or "#rgb"
	Zone     int    // the zone of a segmentation; 0 otherwise

	X, Y, Width, Height float64
	Points              string
	D                   string
}

// legendEntry is one tool of the legend: its colour, title and kind, and
// how many of its objects the shown page has.
type legendEntry struct {
	SchemaID, Title, Kind, Color string
	Count                        int
}

// palette gives tools without a color in the schema a colour picked by
// their schemaId: the same tool gets the same colour on every page.
var palette = []string{
	"#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
	"#469990", "#9a6324", "#800000", "#808000", "#000075", "#bfef45", "#dcbeff",
}

// toolColor is the schema colour of a tool, or its palette colour.
func toolColor(schemaID, color string) string {
	if color != "" {
		return color
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(schemaID))
	return palette[h.Sum32()%uint32(len(palette))]
}

// objectPage is the page an object is on; no page is the first.
func objectPage(o *labelhub.Object) int {
	if o.Page == nil {
		return 0
	}
	return *o.Page
}

// shapesSVG draws the objects of the answer that are on page (0-based) as
// SVG elements, in the answer's order. Each object's tool is looked up in
// idx by schemaId, then among the top-level tools by title; its colour is
// the tool's color or its palette colour. Objects without a drawable shape
// (ner, pdf, brush) or with a non-finite number are left out.
func shapesSVG(a *labelhub.Answer, idx labelhub.SchemaIndex, page int) []svgShape {
	var out []svgShape
	for i := range a.Tools {
		o := &a.Tools[i]
		if objectPage(o) != page {
			continue
		}
		base := svgShape{ObjectID: o.ObjectID, SchemaID: o.SchemaID, Title: o.Title}
		if e, ok := toolEntry(idx, o); ok {
			base.SchemaID, base.Title, base.Kind = e.SchemaID, e.Title, e.Kind
			base.Color = toolColor(e.SchemaID, e.Tool.Color)
		} else {
			base.Color = toolColor(o.SchemaID+"\x00"+o.Title, "")
		}
		if base.Title == "" {
			base.Title = base.SchemaID
		}
		out = appendShape(out, base, o)
	}
	return out
}

// toolEntry finds the schema tool an object names.
func toolEntry(idx labelhub.SchemaIndex, o *labelhub.Object) (labelhub.SchemaEntry, bool) {
	e, err := idx.Resolve(labelhub.SchemaPartTool, o.SchemaID, o.Title)
	if err != nil || e.Tool == nil {
		return labelhub.SchemaEntry{}, false
	}
	return e, true
}

func appendShape(out []svgShape, s svgShape, o *labelhub.Object) []svgShape {
	switch {
	case o.BoundingBox != nil:
		b := o.BoundingBox
		if !finite(b.X, b.Y, b.Width, b.Height) {
			return out
		}
		s.Element, s.X, s.Y, s.Width, s.Height = "rect", b.X, b.Y, b.Width, b.Height
		if s.Kind == "" {
			s.Kind = "bounding-box"
		}
		return append(out, s)
	case o.RotatedBoundingBox != nil:
		pts, ok := rotatedCorners(*o.RotatedBoundingBox)
		if !ok {
			return out
		}
		s.Element, s.Points = "polygon", pointList(pts[:])
		if s.Kind == "" {
			s.Kind = "rotated-bounding-box"
		}
		return append(out, s)
	case len(o.Polygon) > 0:
		if !finitePoints(o.Polygon) {
			return out
		}
		s.Element, s.Points = "polygon", pointList(o.Polygon)
		if s.Kind == "" {
			s.Kind = "polygon"
		}
		return append(out, s)
	case len(o.Polyline) > 0:
		if !finitePoints(o.Polyline) {
			return out
		}
		s.Element, s.Points = "polyline", pointList(o.Polyline)
		if s.Kind == "" {
			s.Kind = "polyline"
		}
		return append(out, s)
	case o.Point != nil:
		if !finite(o.Point[0], o.Point[1]) {
			return out
		}
		s.Element = "path"
		s.D = "M" + num(o.Point[0]) + " " + num(o.Point[1]) + "h0"
		if s.Kind == "" {
			s.Kind = "point"
		}
		return append(out, s)
	case o.Segmentation != nil:
		if s.Kind == "" {
			s.Kind = "segmentation"
		}
		for z, zone := range o.Segmentation.Zones {
			d, ok := zonePath(zone)
			if !ok {
				continue
			}
			zs := s
			zs.Element, zs.D, zs.Zone = "path", d, z
			out = append(out, zs)
		}
	}
	return out
}

// rotatedCorners are the corners of a rotated box (RotatedBox.Corners),
// false when a number is not finite.
func rotatedCorners(r labelhub.RotatedBox) ([4]labelhub.Point, bool) {
	var pts [4]labelhub.Point
	if !finite(r.X, r.Y, r.Width, r.Height, r.Rotation) {
		return pts, false
	}
	pts = r.Corners()
	for _, p := range pts {
		if !finite(p[0], p[1]) {
			return pts, false
		}
	}
	return pts, true
}

// zonePath is the path of a segmentation zone: the region and each hole
// as a closed subpath. Drawn with fill-rule evenodd, the holes are cut out
// whatever their winding. A zone with a non-finite number, or without a
// region, has no path; a hole with one is left out.
func zonePath(z labelhub.Zone) (string, bool) {
	if len(z.Region) == 0 || !finitePoints(z.Region) {
		return "", false
	}
	b := make([]byte, 0, len(z.Region)*12)
	subpath(&b, z.Region)
	for _, h := range z.Holes {
		if len(h) > 0 && finitePoints(h) {
			subpath(&b, h)
		}
	}
	return string(b), true
}

func subpath(b *[]byte, pts []labelhub.Point) {
	for i, p := range pts {
		if i == 0 {
			*b = append(*b, 'M')
		} else {
			*b = append(*b, 'L')
		}
		*b = appendNum(*b, p[0])
		*b = append(*b, ' ')
		*b = appendNum(*b, p[1])
	}
	*b = append(*b, 'Z')
}

func pointList(pts []labelhub.Point) string {
	b := make([]byte, 0, len(pts)*12)
	for i, p := range pts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendNum(b, p[0])
		b = append(b, ',')
		b = appendNum(b, p[1])
	}
	return string(b)
}

// num writes a coordinate in the shortest form that reads back the same,
// without an exponent (SVG attributes accept one, but the shortest plain
// form is easier to read); -0 is 0.
func num(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// appendNum appends num(v) to b.
func appendNum(b []byte, v float64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func finitePoints(pts []labelhub.Point) bool {
	for _, p := range pts {
		if !finite(p[0], p[1]) {
			return false
		}
	}
	return true
}

// legend lists the schema's tools, each with its colour and the number of
// shapes drawn with it on the shown page, followed by the tools the answer
// names that the schema lacks (a schema changed after the answer).
func legend(cs labelhub.CategorySchema, shapes []svgShape) []legendEntry {
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, s := range shapes {
		if s.Kind == "segmentation" && s.Zone > 0 {
			continue // one object, several zones
		}
		counts[s.SchemaID]++
	}
	var out []legendEntry
	for _, t := range cs.Tools {
		seen[t.SchemaID] = true
		out = append(out, legendEntry{SchemaID: t.SchemaID, Title: t.Title, Kind: t.Tool, Color: toolColor(t.SchemaID, t.Color), Count: counts[t.SchemaID]})
	}
	for _, s := range shapes {
		if !seen[s.SchemaID] {
			seen[s.SchemaID] = true
			out = append(out, legendEntry{SchemaID: s.SchemaID, Title: s.Title, Kind: s.Kind, Color: s.Color, Count: counts[s.SchemaID]})
		}
	}
	return out
}

// The numbers of a rect as attribute values.
func (s svgShape) XAttr() string      { return num(s.X) }
func (s svgShape) YAttr() string      { return num(s.Y) }
func (s svgShape) WidthAttr() string  { return num(s.Width) }
func (s svgShape) HeightAttr() string { return num(s.Height) }
