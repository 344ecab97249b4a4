package converters

import (
	"context"
	"encoding/json"
	"iter"
	"math"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/plugin"
)

// ImageSize reads an asset's size from its metadata (formats.md §1:
// numbers "width" and "height", probed on import or given by the import
// file). ok is false when either is missing, not a number, not above 0,
// or above labelhub.DefaultMaxCoordinate; fractional sizes are rounded.
func ImageSize(metadata json.RawMessage) (width, height int, ok bool) {
	if len(metadata) == 0 {
		return 0, 0, false
	}
	var m struct {
		Width  *float64 `json:"width"`
		Height *float64 `json:"height"`
	}
	if json.Unmarshal(metadata, &m) != nil || m.Width == nil || m.Height == nil {
		return 0, 0, false
	}
	w, h := math.Round(*m.Width), math.Round(*m.Height)
	if !(w >= 1 && h >= 1 && w <= labelhub.DefaultMaxCoordinate && h <= labelhub.DefaultMaxCoordinate) {
		return 0, 0, false
	}
	return int(w), int(h), true
}

// Image is an exported asset with its image size.
type Image struct {
	*plugin.ExportedAsset
	Width, Height int
}

// NoSizeReason is the reason reported for an asset without an image size.
const NoSizeReason = "no image size (numbers width and height) in its metadata"

// Images yields the assets that have an image size and reports the others
// to rep (never silently dropped). It yields the stream's first error, or
// ctx's once it ends, and stops.
func Images(ctx context.Context, assets iter.Seq2[*plugin.ExportedAsset, error], rep *Report) iter.Seq2[Image, error] {
	return func(yield func(Image, error) bool) {
		for a, err := range assets {
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				yield(Image{}, err)
				return
			}
			w, h, ok := ImageSize(a.Metadata)
			if !ok {
				rep.SkipAsset(a, NoSizeReason)
				continue
			}
			if !yield(Image{ExportedAsset: a, Width: w, Height: h}, nil) {
				return
			}
		}
	}
}
