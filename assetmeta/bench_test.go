package assetmeta_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub/assetmeta"
)

// BenchmarkProbeMinIO measures assets probed per second against MinIO
// through signed URLs, end to end (claim, sign, range requests, merge,
// write), on SQLite, with 4 and 16 probes at once:
//
//	go test ./assetmeta -run '^$' -bench ProbeMinIO -benchtime 1x
//
// images: 300 PNGs of 640×480 with noise (~900 KB each: the probe reads the
// first 256 KiB in one request); mp4: 100 H.264 MP4s of 1280×720, 5 s at
// 25 fps, moov at the end (three range requests each).
func BenchmarkProbeMinIO(b *testing.B) {
	for _, kind := range []struct {
		name, ext string
		n         int
		content   func(b *testing.B) []byte
	}{
		{"images", "png", 300, noisePNG},
		{"mp4", "mp4", 100, func(b *testing.B) []byte { return mp4Bytes(b, "1280x720", "25", "5") }},
	} {
		for _, workers := range []int{4, 16} {
			b.Run(fmt.Sprintf("%s/workers=%d", kind.name, workers), func(b *testing.B) {
				content := kind.content(b)
				var total time.Duration
				probed := 0
				for range b.N {
					h := newHub(b, "")
					objects := map[string][]byte{}
					for i := range kind.n {
						objects[fmt.Sprintf("f/%04d.%s", i, kind.ext)] = content
					}
					st, base := h.minioStorage(b, objects, "")
					var body strings.Builder
					for key := range objects {
						body.WriteString(line(key, base+key, ""))
					}
					im := h.importFile(b, st.ID, body.String())
					w := h.worker(b, assetmeta.Config{Workers: workers})
					start := time.Now()
					w.Start()
					for {
						pending, failed, err := h.store.ImportProbeCounts(context.Background(), h.org.ID, im.ID)
						if err != nil || failed > 0 {
							b.Fatalf("counts: %d pending, %d failed, %v", pending, failed, err)
						}
						if pending == 0 {
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
					total += time.Since(start)
					probed += kind.n
					w.Close()
				}
				b.ReportMetric(float64(probed)/total.Seconds(), "assets/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// noisePNG is a 640×480 PNG of random pixels (it does not compress).
func noisePNG(b *testing.B) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
