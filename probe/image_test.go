package probe_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/labelhub/labelhub/probe"
)

func pattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	return m
}

func write(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// withAPP inserts n bytes of APPn segments (at most 65533 bytes each) after
// a JPEG's SOI marker, as large EXIF, ICC or XMP blocks do.
func withAPP(jpg []byte, n int) []byte {
	var b bytes.Buffer
	b.Write(jpg[:2])
	for n > 0 {
		k := min(n, 65533)
		b.Write([]byte{0xff, 0xe2})
		_ = binary.Write(&b, binary.BigEndian, uint16(k+2))
		b.Write(bytes.Repeat([]byte{'x'}, k))
		n -= k
	}
	b.Write(jpg[2:])
	return b.Bytes()
}

func TestImage(t *testing.T) {
	dir := t.TempDir()
	enc := func(name string, f func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		write(t, dir, name, b.Bytes())
	}
	img := pattern(321, 123)
	enc("a.png", func(b *bytes.Buffer) error { return png.Encode(b, img) })
	enc("a.jpg", func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) })
	enc("a.gif", func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) })
	enc("a.bmp", func(b *bytes.Buffer) error { return bmp.Encode(b, img) })
	enc("a.tiff", func(b *bytes.Buffer) error { return tiff.Encode(b, img, nil) })
	// x/image/tiff writes the directory after the pixels: a large TIFF is
	// read at its start and where the directory is, not through.
	enc("big.tif", func(b *bytes.Buffer) error { return tiff.Encode(b, pattern(1500, 1000), nil) })
	var small bytes.Buffer
	if err := jpeg.Encode(&small, pattern(40, 30), nil); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "exif.jpg", withAPP(small.Bytes(), 700<<10)) // header at 700 KiB
	for _, name := range []string{"tiny.webp", "tiny-lossless.webp"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "probe", name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, name, b)
	}

	srv := serve(t, dir)
	p := loopback(probe.Options{})
	cases := []struct {
		name     string
		w, h     int
		requests int64
	}{
		{"a.png", 321, 123, 1}, {"a.jpg", 321, 123, 1}, {"a.gif", 321, 123, 1}, {"a.bmp", 321, 123, 1},
		{"a.tiff", 321, 123, 1}, {"tiny.webp", 24, 16, 1}, {"tiny-lossless.webp", 24, 16, 1},
		{"big.tif", 1500, 1000, 2},
		{"exif.jpg", 40, 30, 3}, // 256 KiB, then 512 KiB more
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv.reset()
			res, err := p.Image(ctx(t), srv.url(c.name))
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if res != (probe.Result{Width: c.w, Height: c.h}) {
				t.Errorf("got %+v, want %dx%d", res, c.w, c.h)
			}
			if n := srv.requests.Load(); n != c.requests {
				t.Errorf("%d requests %v, want %d", n, srv.rangesSeen(), c.requests)
			}
			if rg := srv.rangesSeen(); rg[0] != "bytes=0-262143" {
				t.Errorf("first request asked %q, want bytes=0-262143", rg[0])
			}
		})
	}
	st, _ := os.Stat(filepath.Join(dir, "big.tif"))
	srv.reset()
	if _, err := p.Image(ctx(t), srv.url("big.tif")); err != nil {
		t.Fatal(err)
	}
	if read := srv.bytes.Load(); read*10 > st.Size() {
		t.Errorf("big.tif: read %d of %d bytes", read, st.Size())
	}

	t.Run("header beyond the cap", func(t *testing.T) {
		capped := loopback(probe.Options{MaxHeaderBytes: 64 << 10, MaxImageBytes: 512 << 10})
		srv.reset()
		_, err := capped.Image(ctx(t), srv.url("exif.jpg"))
		want := "the image header is not within the first 512 KiB of the file (MaxImageBytes); the hub does not read further"
		if err == nil || err.Error() != want || errKind(err) != probe.KindLimit {
			t.Errorf("err = %v, want %q", err, want)
		}
		if read := srv.bytes.Load(); read > 512<<10 {
			t.Errorf("read %d bytes past the 512 KiB cap", read)
		}
	})

	t.Run("server without ranges", func(t *testing.T) {
		// A server that ignores Range still gives the header; the prober
		// reads only what it asked for and hangs up.
		plain := serve(t, dir)
		plain.noRanges = true
		res, err := p.Image(ctx(t), plain.url("a.png"))
		if err != nil || res.Width != 321 {
			t.Errorf("got %+v, %v", res, err)
		}
		_, err = p.Image(ctx(t), plain.url("exif.jpg"))
		if err == nil || !strings.Contains(err.Error(), "ignores range requests") || errKind(err) != probe.KindUnsupported {
			t.Errorf("err = %v, want ignores range requests", err)
		}
	})

	t.Run("not an image", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "probe", "small.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, "video.jpg", b)
		_, err = p.Image(ctx(t), srv.url("video.jpg"))
		want := "not a supported image (JPEG, PNG, GIF, WebP, BMP, TIFF): it looks like an MP4/MOV video"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	})
}
