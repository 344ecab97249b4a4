package probe_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub/probe"
)

// TestHostileCorpus probes every file of testdata/probe/hostile: each gives
// a clear error of kind format, and none panics.
func TestHostileCorpus(t *testing.T) {
	dir := filepath.Join("..", "testdata", "probe", "hostile")
	want := map[string]string{
		"empty.mp4":          "the file is empty (0 bytes)",
		"empty.png":          "the file is empty (0 bytes)",
		"garbage.mp4":        "not a video: its first bytes match no known format",
		"html.mp4":           "not a video: it looks like an HTML or XML document (often an error page)",
		"header-only.png":    "the PNG image is truncated: the file ends (after 18 bytes) before its header does",
		"huge-dims.png":      "the image declares 4000000x4 pixels, more than the limit of 1048576 per side",
		"overflow-dims.png":  "the PNG header is damaged: png: unsupported feature: dimension overflow",
		"zero-dims.png":      "the PNG header is damaged: png: invalid format: non-positive dimension",
		"truncated-moov.mp4": "the file is truncated: its moov box (the metadata) declares 946 bytes but the file ends 568 bytes after its start",
		"truncated-mdat.mp4": "moov missing: the file is truncated (its mdat box at offset 40 declares",
		"no-moov.mp4":        "moov missing: the file has no moov box (the metadata)",
		"huge-box.mp4":       "moov missing: the file is truncated (its mdat box at offset 24 declares 9223372036854775807 bytes",
		"nested.mp4":         "no video track in the file",
		"bad-stts.mp4":       "the MP4 metadata (moov) is damaged: its stts box declares 4294967295 entries and holds 1",
		"audio-only.mp4":     "no video track: the file has only audio",
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// audio-only.mp4 lives beside the corpus (it is a valid file).
	srv := serve(t, filepath.Join("..", "testdata", "probe"))
	p := loopback(probe.Options{FFprobe: "-"})
	seen := map[string]bool{"audio-only.mp4": true}
	check := func(t *testing.T, name, path string) {
		var err error
		if strings.HasSuffix(name, ".png") {
			_, err = p.Image(ctx(t), srv.url(path))
		} else {
			_, err = p.Video(ctx(t), srv.url(path))
		}
		w, ok := want[name]
		if !ok {
			t.Fatalf("no expected error for %s: got %v", name, err)
		}
		if err == nil || !strings.HasPrefix(err.Error(), w) {
			t.Errorf("%s: err = %v, want %q…", name, err, w)
		}
		if errKind(err) != probe.KindFormat {
			t.Errorf("%s: kind %q, want format", name, errKind(err))
		}
		if probe.Temporary(err) {
			t.Errorf("%s: a damaged file is not temporary", name)
		}
	}
	for _, e := range entries {
		name := e.Name()
		seen[name] = true
		t.Run(name, func(t *testing.T) { check(t, name, "hostile/"+name) })
	}
	t.Run("audio-only.mp4", func(t *testing.T) { check(t, "audio-only.mp4", "audio-only.mp4") })
	for name := range want {
		if !seen[name] {
			t.Errorf("%s is missing from the corpus", name)
		}
	}
}
