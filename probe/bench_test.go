package probe_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labelhub/labelhub/probe"
)

// BenchmarkProbeMP4 probes MP4 files over loopback: a 2 s 320x240 clip and
// a ~20 MB one, both with moov at the end (ffmpeg's default, the worst
// case: the prober seeks past mdat). It reports probes/s and the bytes and
// requests one probe costs.
func BenchmarkProbeMP4(b *testing.B) {
	dir := b.TempDir()
	ffmpeg(b, dir, "clip.mp4", append(testsrc("320x240", "25", "2"), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")...)
	ffmpeg(b, dir, "large.mp4", append(testsrc("320x240", "25", "5"), "-vf", "noise=alls=80:allf=t",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p")...)
	srv := serve(b, dir)
	p := loopback(probe.Options{FFprobe: "-"})
	for _, name := range []string{"clip.mp4", "large.mp4"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			srv.reset()
			u := srv.url(name)
			start := time.Now()
			for b.Loop() {
				res, err := p.Video(b.Context(), u)
				if err != nil || res.FrameCount == 0 {
					b.Fatalf("%+v, %v", res, err)
				}
			}
			n := float64(b.N)
			b.ReportMetric(n/time.Since(start).Seconds(), "probes/s")
			b.ReportMetric(float64(srv.bytes.Load())/n, "bytes/probe")
			b.ReportMetric(float64(srv.requests.Load())/n, "requests/probe")
			b.ReportMetric(float64(srv.conns.Load())/n, "conns/probe")
			b.ReportMetric(float64(st.Size()), "file-bytes")
		})
	}
}
