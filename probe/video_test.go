package probe_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub/probe"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestVideoMP4(t *testing.T) {
	dir := t.TempDir()
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	cases := []struct {
		name       string
		args       []string
		w, h       int
		rate       float64
		frames     int
		maxRequest int64
	}{
		// ffmpeg writes moov at the end by default: the prober seeks there.
		{"moov-end.mp4", append(testsrc("320x240", "25", "2"), x264...), 320, 240, 25, 50, 3},
		{"faststart.mp4", append(append(testsrc("320x240", "25", "2"), x264...), "-movflags", "+faststart"), 320, 240, 25, 50, 1},
		{"ntsc.mp4", append(testsrc("320x240", "30000/1001", "2"), x264...), 320, 240, 30000.0 / 1001, 60, 3},
		{"quicktime.mov", append(testsrc("176x144", "25", "2"), "-c:v", "mpeg4"), 176, 144, 25, 50, 3},
		{"hevc-less.mp4", append(testsrc("160x90", "10", "3"), "-c:v", "mpeg4"), 160, 90, 10, 30, 3},
	}
	for _, c := range cases {
		ffmpeg(t, dir, c.name, c.args...)
	}
	srv := serve(t, dir)
	p := loopback(probe.Options{FFprobe: "-"}) // pure Go only
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.reset()
			res, err := p.Video(ctx(t), srv.url(c.name))
			if err != nil {
				t.Fatalf("Video: %v", err)
			}
			if res.Width != c.w || res.Height != c.h || res.FrameCount != c.frames || !near(res.FrameRate, c.rate, 1e-6) {
				t.Errorf("got %+v, want %dx%d %d frames at %.6f fps", res, c.w, c.h, c.frames, c.rate)
			}
			if want := float64(c.frames) / c.rate; !near(res.Duration, want, 1e-6) {
				t.Errorf("duration %.6f, want %.6f", res.Duration, want)
			}
			if n := srv.requests.Load(); n > c.maxRequest {
				t.Errorf("%d requests (%v), want at most %d", n, srv.rangesSeen(), c.maxRequest)
			}
			for _, rg := range srv.rangesSeen() {
				if !strings.HasPrefix(rg, "bytes=") {
					t.Errorf("a request without a byte range: %q", rg)
				}
			}
		})
	}
}

// TestVideoLargeReadsLittle: a ~20 MB MP4 with moov at the end is probed
// with less than 5% of its bytes.
func TestVideoLargeReadsLittle(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		extra []string
	}{{"large.mp4", nil}, {"large-faststart.mp4", []string{"-movflags", "+faststart"}}} {
		args := append(testsrc("320x240", "25", "5"), "-vf", "noise=alls=80:allf=t",
			"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p")
		ffmpeg(t, dir, c.name, append(args, c.extra...)...)
		st, err := os.Stat(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() < 15<<20 {
			t.Fatalf("%s is %d bytes; the test wants a large file", c.name, st.Size())
		}
		srv := serve(t, dir)
		p := loopback(probe.Options{FFprobe: "-"})
		res, err := p.Video(ctx(t), srv.url(c.name))
		if err != nil {
			t.Fatal(err)
		}
		if res.Width != 320 || res.Height != 240 || res.FrameCount != 125 || !near(res.FrameRate, 25, 1e-9) {
			t.Errorf("%s: got %+v, want 320x240, 125 frames at 25 fps", c.name, res)
		}
		read := srv.bytes.Load()
		if read*20 >= st.Size() {
			t.Errorf("%s: read %d of %d bytes (%.1f%%), want < 5%%", c.name, read, st.Size(), 100*float64(read)/float64(st.Size()))
		}
		t.Logf("%s: %d bytes, %d requests, %d bytes read (%.2f%%) %v", c.name, st.Size(), srv.requests.Load(), read, 100*float64(read)/float64(st.Size()), srv.rangesSeen())
	}
}

func TestVideoFFprobe(t *testing.T) {
	needTool(t, "ffprobe")
	dir := t.TempDir()
	vp8 := []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"}
	cases := []struct {
		name   string
		args   []string
		w, h   int
		rate   float64
		frames int
	}{
		{"clip.webm", append(testsrc("320x240", "25", "2"), vp8...), 320, 240, 25, 50},
		{"clip.mkv", append(testsrc("320x240", "30000/1001", "2"), "-c:v", "mpeg4"), 320, 240, 30000.0 / 1001, 60},
		{"clip.avi", append(testsrc("320x240", "25", "2"), "-c:v", "mpeg4"), 320, 240, 25, 50},
		// A WebM named .mp4 is sniffed, not trusted by its name.
		{"webm-named.mp4", append(append(testsrc("160x120", "10", "2"), vp8...), "-f", "webm"), 160, 120, 10, 20},
	}
	for _, c := range cases {
		ffmpeg(t, dir, c.name, c.args...)
	}
	srv := serve(t, dir)
	p := loopback(probe.Options{})
	if !p.HasFFprobe() {
		t.Fatal("HasFFprobe is false with ffprobe in PATH")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := p.Video(ctx(t), srv.url(c.name))
			if err != nil {
				t.Fatalf("Video: %v", err)
			}
			if res.Width != c.w || res.Height != c.h || res.FrameCount != c.frames || !near(res.FrameRate, c.rate, 1e-3) {
				t.Errorf("got %+v, want %dx%d %d frames at %.3f fps", res, c.w, c.h, c.frames, c.rate)
			}
		})
	}

	t.Run("no ffprobe", func(t *testing.T) {
		none := loopback(probe.Options{FFprobe: "-"})
		_, err := none.Video(ctx(t), srv.url("clip.webm"))
		if err == nil || !strings.Contains(err.Error(), "install ffprobe to read webm metadata") || errKind(err) != probe.KindUnsupported {
			t.Errorf("err = %v, want install ffprobe to read webm metadata", err)
		}
		missing := loopback(probe.Options{FFprobe: filepath.Join(dir, "no-such-ffprobe")})
		_, err = missing.Video(ctx(t), srv.url("clip.mkv"))
		if err == nil || !strings.Contains(err.Error(), "install ffprobe to read mkv metadata") {
			t.Errorf("err = %v, want install ffprobe to read mkv metadata", err)
		}
	})

	t.Run("ffprobe sees only the relay", func(t *testing.T) {
		// The storage refuses: the error is the storage's, not ffprobe's.
		refusing := serve(t, dir)
		refusing.status = 403
		_, err := p.Video(ctx(t), refusing.url("clip.webm"))
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("err = %v, want a 403 message", err)
		}
	})

	t.Run("fragmented mp4 falls back to ffprobe", func(t *testing.T) {
		ffmpeg(t, dir, "frag.mp4", append(testsrc("320x240", "25", "2"), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
			"-movflags", "+frag_keyframe+empty_moov")...)
		res, err := p.Video(ctx(t), srv.url("frag.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Width != 320 || res.Height != 240 || res.FrameCount != 50 || !near(res.FrameRate, 25, 1e-3) {
			t.Errorf("got %+v, want 320x240 50 frames at 25 fps", res)
		}
	})
}

func TestVideoErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "image.mp4"), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, dir)
	p := loopback(probe.Options{FFprobe: "-"})

	_, err := p.Video(ctx(t), srv.url("image.mp4"))
	if err == nil || err.Error() != "not a video: it looks like a PNG image" {
		t.Errorf("png named .mp4: %v", err)
	}
	_, err = p.Video(ctx(t), srv.url("missing.mp4"))
	if err == nil || !strings.Contains(err.Error(), "(404)") || errKind(err) != probe.KindHTTP {
		t.Errorf("missing file: %v", err)
	}
	srv.status = 403
	_, err = p.Video(ctx(t), srv.url("image.mp4"))
	if err == nil || err.Error() != "the signed URL was refused (403): check the storage integration's read permission" {
		t.Errorf("403: %v", err)
	}
	if probe.Temporary(err) {
		t.Error("a 403 is not temporary")
	}
	srv.status = 503
	_, err = p.Video(ctx(t), srv.url("image.mp4"))
	if err == nil || !strings.Contains(err.Error(), "503") || !probe.Temporary(err) {
		t.Errorf("503: %v (temporary %v)", err, probe.Temporary(err))
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("the error repeats the signature: %v", err)
	}
}
