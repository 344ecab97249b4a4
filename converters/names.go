package converters

import (
	"hash/fnv"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
)

// MaxNameBytes bounds a file name made by SafeName, extension included.
const MaxNameBytes = 200

// SafeName is a file name for the asset, safe in any zip and on any file
// system: its externalId, else the last element of its URL's path, else
// "asset-" and its assetId. Path separators (/ and \), control
// characters and the characters Windows refuses (< > : " | ? *) become
// "_"; leading and trailing dots and spaces are removed (so neither "."
// nor ".." remains); a name longer than MaxNameBytes is cut before its
// extension. "cams/front/1.jpg" gives "cams_front_1.jpg". Names of two
// assets may be equal; Names makes them unique.
func SafeName(a *labelhub.ExportedAsset) string {
	if n := clean(a.ExternalID); n != "" {
		return n
	}
	if u, err := url.Parse(a.Asset); err == nil && u.Scheme != "" && u.Path != "" {
		if n := clean(path.Base(u.Path)); n != "" {
			return n
		}
	}
	if n := clean("asset-" + a.AssetID); n != "asset-" {
		return n
	}
	return "asset"
}

func clean(s string) string {
	s = strings.ToValidUTF8(s, "_")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r < 0x20 || r == 0x7f || unicode.IsControl(r):
			return '_'
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(s, ". ")
	if len(s) > MaxNameBytes {
		stem, ext := SplitExt(s)
		if len(ext) > 20 {
			stem, ext = s, ""
		}
		s = strings.TrimRight(cutUTF8(stem, MaxNameBytes-len(ext)), ". ") + ext
	}
	return s
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SplitExt splits a file name into its stem and its extension (with the
// dot): "a.b.jpg" gives "a.b" and ".jpg"; "README" gives "README" and "".
// A name starting with its only dot has no extension.
func SplitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	return name[:i], name[i:]
}

// Names hands out unique file names. Names are compared without regard to
// case, as a zip unpacked on macOS or Windows would. It keeps a 64-bit
// hash of each name, so its memory grows by about 8 bytes (plus map
// overhead) a name, not by the names themselves.
type Names struct {
	used map[uint64]struct{}
	next map[uint64]int // the next counter of a name and key already taken
}

// NewNames returns an empty set of names.
func NewNames() *Names { return &Names{used: map[uint64]struct{}{}} }

// Reserve marks name as used, so that Unique never hands it out; it
// reports whether the name was free.
func (n *Names) Reserve(name string) bool {
	h := nameHash(name)
	if _, ok := n.used[h]; ok {
		return false
	}
	n.used[h] = struct{}{}
	return true
}

// Unique returns name if it is free, else the name with "-" and key
// (an assetId: stable, so the same export gives the same names) before its
// extension, else with a counter too; the result is reserved.
// "img.jpg" with key "a1" gives "img.jpg", then "img-a1.jpg", then
// "img-a1-2.jpg".
func (n *Names) Unique(name, key string) string {
	stem, ext := SplitExt(name)
	return n.unique(stem, ext, key)
}

func (n *Names) unique(stem, ext, key string) string {
	if n.Reserve(stem + ext) {
		return stem + ext
	}
	if k := clean(key); k != "" {
		stem += "-" + k
	}
	if c := stem + ext; n.Reserve(c) {
		return c
	}
	// Counters go on from the last one given for this name, so that many
	// assets of one name and key cost no more than a few.
	h := nameHash(stem + ext)
	for i := max(n.next[h], 2); ; i++ {
		c := stem + "-" + strconv.Itoa(i) + ext
		if n.Reserve(c) {
			if n.next == nil {
				n.next = map[uint64]int{}
			}
			n.next[h] = i + 1
			return c
		}
	}
}

// Asset returns a unique name for the asset (SafeName made unique with
// its assetId) and that name's stem, for converters that write one file
// per asset: "cams_front_1.jpg" and "cams_front_1". When the stem must be
// unique (one label file per asset, whatever the image's extension), use
// UniqueStem instead.
func (n *Names) Asset(a *labelhub.ExportedAsset) (name, stem string) {
	name = n.Unique(SafeName(a), a.AssetID)
	stem, _ = SplitExt(name)
	return name, stem
}

// UniqueStem returns a unique stem for the asset (SafeName without its
// extension, made unique with its assetId) and the asset's extension:
// "1.jpg" and "1.png" give the stems "1" and "1-<assetId>".
func (n *Names) UniqueStem(a *labelhub.ExportedAsset) (stem, ext string) {
	stem, ext = SplitExt(SafeName(a))
	return n.unique(stem, "", a.AssetID), ext
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(name)))
	return h.Sum64()
}
