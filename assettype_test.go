package labelhub

import "testing"

func TestAssetTypeOf(t *testing.T) {
	for _, c := range []struct {
		name, ct string
		want     AssetType
	}{
		{"a/b/cat.JPG", "", AssetImage},
		{"frames/clip.mp4", "", AssetVideo},
		{"x.tiff", "", AssetImage},
		{"song.flac", "", AssetAudio},
		{"doc.pdf", "", AssetPDF},
		{"notes.md", "", AssetText},
		{"scan.dcm", "", AssetDICOM},
		{"lidar.pcd", "", AssetPointCloud},
		{"noext", "image/png", AssetImage},
		{"noext", "video/quicktime; codecs=x", AssetVideo},
		{"blob", "Application/PDF", AssetPDF},
		{"archive.zip", "", ""},
		{"archive.zip", "application/zip", ""},
		{"folder.jpg/readme", "", ""},
		{".jpg", "", AssetImage},
		{"", "", ""},
	} {
		if got := AssetTypeOf(c.name, c.ct); got != c.want {
			t.Errorf("AssetTypeOf(%q, %q) = %q, want %q", c.name, c.ct, got, c.want)
		}
	}
}
