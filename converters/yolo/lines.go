package yolo

import (
	"strconv"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
)

// Problems of an object, reported in the run's log and result; an object
// with a skip problem has no line.
const (
	probOutside    = "lies outside the image: skipped"
	probClipped    = "reaches outside the image: clipped to it"
	probHoles      = "has holes: YOLO polygons have none, they are left out"
	probBadOutline = "has an outline with fewer than 3 points or a coordinate that is not a number: skipped"
	probNoOutline  = "has no shape with an area: skipped"
)

// appendObject appends the lines of one object of class to b, for an
// image of w × h pixels: "class cx cy w h" (detect) or "class x1 y1 x2 y2
// …" (segment, one line per ring), every number normalised to [0, 1]
// with 6 decimals. It returns b and probs with the object's problems
// appended (probClipped and probHoles change the object, the others skip
// it or a ring of it).
func appendObject(b []byte, o *labelhub.Object, class int, w, h float64, segment bool, probs []string) ([]byte, []string) {
	rings, holes, bad := converters.Rings(o)
	switch {
	case bad > 0:
		probs = append(probs, probBadOutline)
	case len(rings) == 0:
		probs = append(probs, probNoOutline)
	}
	if len(rings) == 0 {
		return b, probs
	}
	if !segment {
		r, clipped := converters.Bounds(rings).Clip(w, h)
		if r.Empty() {
			return b, append(probs, probOutside)
		}
		if clipped {
			probs = append(probs, probClipped)
		}
		b = strconv.AppendInt(b, int64(class), 10)
		b = appendNorm(b, (r.MinX+r.MaxX)/2/w)
		b = appendNorm(b, (r.MinY+r.MaxY)/2/h)
		b = appendNorm(b, (r.MaxX-r.MinX)/w)
		b = appendNorm(b, (r.MaxY-r.MinY)/h)
		return append(b, '\n'), probs
	}
	if holes > 0 {
		probs = append(probs, probHoles)
	}
	clipped, outside := false, false
	for _, ring := range rings {
		if !converters.Inside(ring, w, h) {
			clipped = true
			ring = converters.ClipPolygon(ring, w, h)
		}
		if converters.Area(ring) == 0 {
			outside = true
			continue
		}
		b = strconv.AppendInt(b, int64(class), 10)
		for _, p := range ring {
			b = appendNorm(b, p[0]/w)
			b = appendNorm(b, p[1]/h)
		}
		b = append(b, '\n')
	}
	if outside {
		probs = append(probs, probOutside)
	} else if clipped {
		probs = append(probs, probClipped)
	}
	return b, probs
}

// appendNorm appends " v" with v clamped to [0, 1], 6 decimals.
func appendNorm(b []byte, v float64) []byte {
	v = min(max(v, 0), 1)
	if v != v { // NaN
		v = 0
	}
	return strconv.AppendFloat(append(b, ' '), v, 'f', 6, 64)
}
