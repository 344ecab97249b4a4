package converters

import (
	"net/url"
	"path"
	"strings"

	"github.com/labelhub/labelhub"
)

// ImageStem returns a unique stem for an image asset's files and the
// extension (with its dot, lower-cased) its image is saved under, for
// formats that pair "images/<stem><ext>" with "labels/<stem>.txt" or
// "Annotations/<stem>.xml". The extension is that of SafeName when it is
// an image type's (formats.md §1), else that of the asset URL's path,
// else ""; a name without an image extension is kept whole as the stem
// ("scan.v2" with URL ".../a.png" gives "scan.v2" and ".png"). Stems are
// unique like those of UniqueStem.
func (n *Names) ImageStem(a *labelhub.ExportedAsset) (stem, ext string) {
	name := SafeName(a)
	stem, ext = SplitExt(name)
	if !isImageExt(ext) {
		stem, ext = name, ""
		if u, err := url.Parse(a.Asset); err == nil && u.Scheme != "" {
			if e := path.Ext(u.Path); isImageExt(e) {
				ext = e
			}
		}
	}
	return n.unique(stem, "", a.AssetID), strings.ToLower(ext)
}

func isImageExt(ext string) bool {
	return ext != "" && labelhub.AssetTypeOf("x"+ext, "") == labelhub.AssetImage
}
