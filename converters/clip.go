package converters

import (
	"math"

	"github.com/labelhub/labelhub"
)

// ClipPolygon cuts a polygon to the image [0, w] × [0, h]
// (Sutherland–Hodgman, one image edge at a time). The result lies within
// the image; it is empty, or shorter than three points, when nothing of
// the polygon is inside. A concave polygon cut in two comes back as one
// ring joined along the image's edge, which keeps its area. Points must be
// finite.
func ClipPolygon(pts []labelhub.Point, w, h float64) []labelhub.Point {
	if Inside(pts, w, h) {
		return pts
	}
	out := pts
	for edge := range 4 {
		in := out
		out = make([]labelhub.Point, 0, len(in)+4)
		if len(in) == 0 {
			break
		}
		inside := func(p labelhub.Point) bool {
			switch edge {
			case 0:
				return p[0] >= 0
			case 1:
				return p[0] <= w
			case 2:
				return p[1] >= 0
			}
			return p[1] <= h
		}
		cross := func(p, q labelhub.Point) labelhub.Point {
			var t float64
			switch edge {
			case 0:
				t = (0 - p[0]) / (q[0] - p[0])
			case 1:
				t = (w - p[0]) / (q[0] - p[0])
			case 2:
				t = (0 - p[1]) / (q[1] - p[1])
			default:
				t = (h - p[1]) / (q[1] - p[1])
			}
			c := labelhub.Point{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}
			// Exactly on the edge, whatever the rounding.
			switch edge {
			case 0:
				c[0] = 0
			case 1:
				c[0] = w
			case 2:
				c[1] = 0
			default:
				c[1] = h
			}
			return c
		}
		prev := in[len(in)-1]
		for _, p := range in {
			switch pin, qin := inside(p), inside(prev); {
			case pin && qin:
				out = append(out, p)
			case pin:
				out = append(out, cross(prev, p), p)
			case qin:
				out = append(out, cross(prev, p))
			}
			prev = p
		}
	}
	// Cutting may leave coordinates a rounding error outside the image;
	// edges longer than a float64 can measure give points that are not
	// numbers, which are dropped.
	kept := out[:0]
	for _, p := range out {
		if Finite(p) {
			kept = append(kept, labelhub.Point{min(max(p[0], 0), w), min(max(p[1], 0), h)})
		}
	}
	return kept
}

// Area is the area of a polygon (shoelace formula), whatever its winding.
func Area(pts []labelhub.Point) float64 {
	if len(pts) < 3 {
		return 0
	}
	var s float64
	prev := pts[len(pts)-1]
	for _, p := range pts {
		s += prev[0]*p[1] - p[0]*prev[1]
		prev = p
	}
	return math.Abs(s) / 2
}

// Finite reports whether every point has finite coordinates.
func Finite(pts ...labelhub.Point) bool { return finitePoints(pts) }
