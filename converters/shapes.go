package converters

import (
	"math"

	"github.com/labelhub/labelhub"
)

// ShapeKind is the tool kind (formats.md §0) of o's shape: the first of
// its shape fields that is set, "" when none is.
func ShapeKind(o *labelhub.Object) string {
	switch {
	case o.BoundingBox != nil:
		return "bounding-box"
	case o.RotatedBoundingBox != nil:
		return "rotated-bounding-box"
	case o.Polygon != nil:
		return "polygon"
	case o.Polyline != nil:
		return "polyline"
	case o.Point != nil:
		return "point"
	case o.Segmentation != nil:
		return "segmentation"
	case o.NER != nil:
		return "ner"
	case len(o.PDF) > 0:
		return "pdf"
	case len(o.Brush) > 0:
		return "brush"
	}
	return ""
}

// Rings are the outlines of an object with an area, in pixels: a box's
// and a rotated box's four corners (clockwise from the top-left one), a
// polygon's points, and the region of each segmentation zone. Zones' holes
// are not included; holes counts them. Rings with fewer than three points
// or a non-finite coordinate are left out and counted in bad. Other shapes
// (point, polyline, ner, pdf, brush) have no rings.
func Rings(o *labelhub.Object) (rings [][]labelhub.Point, holes, bad int) {
	add := func(r []labelhub.Point) {
		if len(r) < 3 || !finitePoints(r) {
			bad++
			return
		}
		rings = append(rings, r)
	}
	switch {
	case o.BoundingBox != nil:
		b := o.BoundingBox
		add([]labelhub.Point{{b.X, b.Y}, {b.X + b.Width, b.Y}, {b.X + b.Width, b.Y + b.Height}, {b.X, b.Y + b.Height}})
	case o.RotatedBoundingBox != nil:
		// Rounded to a billionth of a pixel, so that sin and cos of right
		// angles do not put corners a rounding error outside the image.
		c := o.RotatedBoundingBox.Corners()
		for i := range c {
			c[i] = labelhub.Point{math.Round(c[i][0]*1e9) / 1e9, math.Round(c[i][1]*1e9) / 1e9}
		}
		add(c[:])
	case o.Polygon != nil:
		add(o.Polygon)
	case o.Segmentation != nil:
		for _, z := range o.Segmentation.Zones {
			add(z.Region)
			holes += len(z.Holes)
		}
	}
	return rings, holes, bad
}

func finitePoints(pts []labelhub.Point) bool {
	for _, p := range pts {
		if math.IsNaN(p[0]) || math.IsInf(p[0], 0) || math.IsNaN(p[1]) || math.IsInf(p[1], 0) {
			return false
		}
	}
	return true
}

// Rect is an axis-aligned rectangle in pixels, Min the top-left corner.
type Rect struct{ MinX, MinY, MaxX, MaxY float64 }

// Bounds is the smallest Rect holding every point of rings; the zero Rect
// when there are none.
func Bounds(rings [][]labelhub.Point) Rect {
	r := Rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, ring := range rings {
		for _, p := range ring {
			r.MinX, r.MaxX = min(r.MinX, p[0]), max(r.MaxX, p[0])
			r.MinY, r.MaxY = min(r.MinY, p[1]), max(r.MaxY, p[1])
		}
	}
	if r.MinX > r.MaxX {
		return Rect{}
	}
	return r
}

// Clip is r cut to the image [0, w] × [0, h], and whether anything was
// cut. The result is empty (Empty) when r lies outside the image.
func (r Rect) Clip(w, h float64) (Rect, bool) {
	c := Rect{max(r.MinX, 0), max(r.MinY, 0), min(r.MaxX, w), min(r.MaxY, h)}
	return c, c != r
}

// Empty reports whether r has no area.
func (r Rect) Empty() bool { return !(r.MaxX > r.MinX && r.MaxY > r.MinY) }

// Inside reports whether every point lies in the image [0, w] × [0, h].
func Inside(pts []labelhub.Point, w, h float64) bool {
	for _, p := range pts {
		if !(p[0] >= 0 && p[0] <= w && p[1] >= 0 && p[1] <= h) {
			return false
		}
	}
	return true
}
