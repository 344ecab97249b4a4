package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r     io.ReadSeeker
	read  int64
	seeks int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) {
	c.seeks++
	return c.r.Seek(off, whence)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "probe", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMP4Fixtures(t *testing.T) {
	for _, c := range []struct {
		name string
		want Result
	}{
		{"small.mp4", Result{Width: 64, Height: 48, FrameRate: 10, FrameCount: 10, Duration: 1}},
		{"small-faststart.mp4", Result{Width: 64, Height: 48, FrameRate: 10, FrameCount: 10, Duration: 1}},
		{"small.mov", Result{Width: 64, Height: 48, FrameRate: 10, FrameCount: 10, Duration: 1}},
	} {
		b := readFixture(t, c.name)
		got, err := parseMP4(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	// A fragmented MP4 with empty moov: dimensions, and errIncomplete for
	// the timing, which lives in the fragments.
	b := readFixture(t, "small-fragmented.mp4")
	got, err := parseMP4(bytes.NewReader(b), int64(len(b)), nil)
	if !errors.Is(err, errIncomplete) || got.Width != 64 || got.Height != 48 {
		t.Errorf("fragmented: %+v, %v", got, err)
	}
}

// TestParseMP4Rotation: a track turned by 90 degrees (a phone held
// upright) reports the size players show.
func TestParseMP4Rotation(t *testing.T) {
	b := readFixture(t, "small-faststart.mp4")
	i := bytes.Index(b, []byte("tkhd"))
	if i < 0 {
		t.Fatal("no tkhd")
	}
	// tkhd v0 payload: 4 version/flags, 20 times and ids, 8 reserved,
	// 8 layer/group/volume/reserved, then the matrix.
	m := i + 4 + 4 + 20 + 8 + 8
	for k, v := range []int32{0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000} {
		binary.BigEndian.PutUint32(b[m+4*k:], uint32(v))
	}
	got, err := parseMP4(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil || got.Width != 48 || got.Height != 64 {
		t.Errorf("rotated: %+v, %v; want 48x64", got, err)
	}
}

// FuzzParseMP4 feeds the MP4 parser arbitrary bytes: it must not panic,
// must return a probe error (or errIncomplete), and must read each byte a
// bounded number of times.
func FuzzParseMP4(f *testing.F) {
	for _, dir := range []string{".", "hostile"} {
		paths, _ := filepath.Glob(filepath.Join("..", "testdata", "probe", dir, "*.m[po][4v]"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		res, err := parseMP4(cr, int64(len(data)), nil)
		if limit := 4*int64(len(data)) + 4096; cr.read > limit {
			t.Fatalf("read %d bytes of a %d-byte file", cr.read, len(data))
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) && !errors.Is(err, errIncomplete) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if res.Width <= 0 || res.Height <= 0 || res.Width > maxDimension || res.Height > maxDimension || res.FrameCount <= 0 {
			t.Fatalf("success with %+v", res)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	for h, want := range map[string][4]int64{
		"bytes 0-99/1000":  {0, 99, 1000, 1},
		"bytes 100-199/*":  {100, 199, -1, 1},
		"bytes */0":        {0, -1, 0, 1},
		"bytes 5-4/10":     {0, 0, 0, 0},
		"bytes 0-10/10":    {0, 0, 0, 0},
		"bytes -1-5/10":    {0, 0, 0, 0},
		"items 0-1/2":      {0, 0, 0, 0},
		"bytes 0-1":        {0, 0, 0, 0},
		"bytes 0-x/10":     {0, 0, 0, 0},
		"bytes 0-9/-10":    {0, 0, 0, 0},
		" bytes 0-0/1 ":    {0, 0, 1, 1},
		"bytes 9-9/999999": {9, 9, 999999, 1},
	} {
		s, e, tot, ok := parseContentRange(h)
		got := [4]int64{s, e, tot, 0}
		if ok {
			got[3] = 1
		} else {
			got = [4]int64{}
		}
		if got != want {
			t.Errorf("%q: %v, want %v", h, got, want)
		}
	}
}

func TestFFprobeValues(t *testing.T) {
	for s, want := range map[string]float64{"30000/1001": 30000.0 / 1001, "25/1": 25, "0/0": 0, "N/A": 0, "25": 25, "1/0": 0, "-5/1": 0, "1e309/1": 0} {
		if got := ratio(s); got != want {
			t.Errorf("ratio(%q) = %v, want %v", s, got, want)
		}
	}
	for s, want := range map[string]float64{"00:00:02.000000000": 2, "01:02:03.5": 3723.5, "2.0": 0, "a:b:c": 0} {
		if got := clockSeconds(s); got != want {
			t.Errorf("clockSeconds(%q) = %v, want %v", s, got, want)
		}
	}
	if _, err := parseFFprobe([]byte("not json"), "mkv"); err == nil || err.Error() != "ffprobe gave no readable answer for the mkv file" {
		t.Errorf("err = %v", err)
	}
	res, err := parseFFprobe([]byte(`{"streams":[{"width":320,"height":240,"r_frame_rate":"25/1","avg_frame_rate":"25/1","nb_frames":"50","duration":"2.000000"}]}`), "avi")
	if err != nil || res != (Result{Width: 320, Height: 240, FrameRate: 25, FrameCount: 50, Duration: 2}) {
		t.Errorf("%+v, %v", res, err)
	}
}
