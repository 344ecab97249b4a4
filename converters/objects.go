package converters

import (
	"fmt"
	"slices"
	"strings"

	"github.com/labelhub/labelhub"
)

// Exported returns the category of an object for a format that exports
// objects of the given kinds, and reports those it leaves out: an object
// of another kind (a point for a format of boxes) is skipped with a
// reason naming the kind and the format; an object of a tool the Config
// JSON's tools left out is only counted, as "objectsOfOtherTools".
func (c *Categories) Exported(a *labelhub.ExportedAsset, o *labelhub.Object, kinds []string, format string, rep *Report) (Category, bool) {
	if cat, ok := c.Of(o); ok {
		return cat, true
	}
	switch kind := ShapeKind(o); {
	case kind == "":
		rep.SkipObject(a, o, "no shape")
	case !slices.Contains(kinds, kind):
		rep.SkipObject(a, o, "a "+kind+": "+format+" keeps only "+strings.Join(kinds, ", "))
	default:
		rep.Count("objectsOfOtherTools", 1)
	}
	return Category{}, false
}

// OneLine replaces line breaks and tabs, which would break a line of a
// list or a tab-separated file, with spaces.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t', '\v', '\f', '\u0085', '\u2028', '\u2029':
			return ' '
		}
		return r
	}, s)
}

// OnOtherPage reports, and skips, an object on a page other than the
// first: an image has one page, so a page above 0 belongs to a multi-page
// asset whose other pages the image formats do not hold.
func OnOtherPage(a *labelhub.ExportedAsset, o *labelhub.Object, rep *Report) bool {
	if o.Page == nil || *o.Page == 0 {
		return false
	}
	rep.SkipObject(a, o, fmt.Sprintf("on page %d of a multi-page asset", *o.Page))
	return true
}
