package labelhub

import "math"

// Corners are the corners of a rotated box: the box with its top-left
// corner at (X, Y), turned by Rotation degrees clockwise (on screen, y
// pointing down) about its centre. They start at the turned top-left
// corner and go clockwise. Non-finite fields give non-finite corners.
func (r RotatedBox) Corners() [4]Point {
	var pts [4]Point
	cx, cy := r.X+r.Width/2, r.Y+r.Height/2
	sin, cos := math.Sincos(r.Rotation * math.Pi / 180)
	hw, hh := r.Width/2, r.Height/2
	for i, c := range [4][2]float64{{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}} {
		pts[i] = Point{cx + c[0]*cos - c[1]*sin, cy + c[0]*sin + c[1]*cos}
	}
	return pts
}
