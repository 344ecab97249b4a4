package probe_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub/probe"
)

// webmHead is the start of a WebM file: enough for sniffing.
var webmHead = []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + strings.Repeat("\x00", 64))

// fakeFFprobe writes a shell script that stands in for ffprobe.
func fakeFFprobe(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	path := filepath.Join(t.TempDir(), "ffprobe")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFFprobeArguments: ffprobe gets a relay URL on 127.0.0.1, never the
// signed URL, with the demuxer forced and only http/tcp allowed; its JSON
// becomes the Result (frame count from duration × rate for Matroska).
func TestFFprobeArguments(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "clip.webm", webmHead)
	argsFile := filepath.Join(t.TempDir(), "args")
	bin := fakeFFprobe(t, `printf '%s\n' "$@" > `+argsFile+`
cat <<'JSON'
{"programs":[],"streams":[{"width":640,"height":360,"r_frame_rate":"30/1","avg_frame_rate":"25/1","tags":{"DURATION":"00:00:04.000000000"}}],"format":{"duration":"4.100000"}}
JSON`)
	srv := serve(t, dir)
	p := loopback(probe.Options{FFprobe: bin})
	res, err := p.Video(ctx(t), srv.url("clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	if res != (probe.Result{Width: 640, Height: 360, FrameRate: 25, FrameCount: 100, Duration: 4}) {
		t.Errorf("got %+v", res)
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(b)), "\n")
	joined := strings.Join(args, " ")
	for _, want := range []string{"-protocol_whitelist http,tcp", "-f matroska", "-select_streams v:0", "-of json", "-rw_timeout "} {
		if !strings.Contains(joined, want) {
			t.Errorf("ffprobe args %q lack %q", joined, want)
		}
	}
	last := args[len(args)-1]
	if !strings.HasPrefix(last, "http://127.0.0.1:") || strings.HasPrefix(last, srv.srv.URL) || strings.Contains(joined, "secret") {
		t.Errorf("ffprobe was given %q; want the relay's URL, never the asset's", last)
	}
}

func TestFFprobeErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "clip.webm", webmHead)
	srv := serve(t, dir)

	t.Run("timeout", func(t *testing.T) {
		p := loopback(probe.Options{FFprobe: fakeFFprobe(t, "exec sleep 20"), Timeout: 300 * time.Millisecond})
		start := time.Now()
		_, err := p.Video(ctx(t), srv.url("clip.webm"))
		if err == nil || errKind(err) != probe.KindTimeout || !strings.HasPrefix(err.Error(), "the probe timed out after 300ms") {
			t.Errorf("err = %v, want a timeout", err)
		}
		if !probe.Temporary(err) {
			t.Error("a timeout is temporary")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("ffprobe fails", func(t *testing.T) {
		p := loopback(probe.Options{FFprobe: fakeFFprobe(t, `for a; do last=$a; done; echo "$last: Invalid data found when processing input" >&2; exit 1`)})
		_, err := p.Video(ctx(t), srv.url("clip.webm"))
		if err == nil || errKind(err) != probe.KindFormat || err.Error() != "ffprobe cannot read the webm file: the file: Invalid data found when processing input" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("garbage output", func(t *testing.T) {
		p := loopback(probe.Options{FFprobe: fakeFFprobe(t, `echo '{"streams":[]}'`)})
		_, err := p.Video(ctx(t), srv.url("clip.webm"))
		if err == nil || err.Error() != "no video track in the webm file" {
			t.Errorf("err = %v", err)
		}
	})
}

// TestRelayReportsStorageErrors: when the storage refuses ffprobe's
// requests, the error is the storage's answer, not ffprobe's complaint.
func TestRelayReportsStorageErrors(t *testing.T) {
	needTool(t, "ffprobe")
	dir := t.TempDir()
	ffmpeg(t, dir, "clip.webm", append(testsrc("160x120", "10", "1"), "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8")...)
	srv := serve(t, dir)
	srv.status, srv.failAfter = 403, 1 // the first read (sniffing) passes
	_, err := loopback(probe.Options{}).Video(ctx(t), srv.url("clip.webm"))
	if err == nil || err.Error() != "the signed URL was refused (403): check the storage integration's read permission" {
		t.Errorf("err = %v", err)
	}
}

func TestHTTPTimeoutAndCancel(t *testing.T) {
	srv := serve(t, t.TempDir())
	srv.block = true
	p := loopback(probe.Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := p.Video(ctx(t), srv.url("a.mp4"))
	if err == nil || errKind(err) != probe.KindTimeout || !strings.HasPrefix(err.Error(), "the probe timed out after 200ms") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	c, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = loopback(probe.Options{}).Image(c, srv.url("a.png"))
	if err == nil || errKind(err) != probe.KindCanceled {
		t.Errorf("err = %v, want canceled", err)
	}
}

// TestReadLimits: MaxVideoBytes and MaxRequests stop a probe with a message
// that names the limit.
func TestReadLimits(t *testing.T) {
	dir := t.TempDir()
	// 600 KB of mdat before moov: a second read is needed past the first.
	ffmpeg(t, dir, "a.mp4", append(testsrc("320x240", "25", "2"), "-vf", "noise=alls=80:allf=t",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p")...)
	srv := serve(t, dir)
	_, err := loopback(probe.Options{MaxVideoBytes: 64 << 10}).Video(ctx(t), srv.url("a.mp4"))
	if err == nil || errKind(err) != probe.KindLimit || err.Error() != "reading the file's metadata needs more than 64 KiB (MaxVideoBytes)" {
		t.Errorf("err = %v", err)
	}
	_, err = loopback(probe.Options{MaxRequests: 1}).Video(ctx(t), srv.url("a.mp4"))
	if err == nil || errKind(err) != probe.KindLimit || err.Error() != "reading the file's metadata needs more than 1 range requests (MaxRequests)" {
		t.Errorf("err = %v", err)
	}
}
