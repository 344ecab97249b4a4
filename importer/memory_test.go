package importer

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub/storage/assetref"
)

// peakHeap samples the heap in use while f runs and returns the largest
// value seen (and f's own final sample).
func peakHeap(t *testing.T, f func()) uint64 {
	t.Helper()
	runtime.GC()
	var peak uint64
	var mu sync.Mutex
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapAlloc)
		mu.Unlock()
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	f()
	sample()
	close(done)
	<-stopped
	return peak
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A 200 MB import file goes through Decode with a flat heap: memory does
// not depend on the size of the file.
func TestMemoryFlat200MB(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 200 MB")
	}
	const fileSize = 200 << 20
	const limit = 64 << 20
	s3 := assetref.Integration{Provider: assetref.S3, Bucket: "acme-data", Region: "eu-west-1"}
	opts := Options{Storages: map[string]assetref.Integration{"s3": s3}, DefaultStorageID: "s3", Batches: []string{"import-1"}}
	// The size of one generated item, to generate at least fileSize bytes.
	var one strings.Builder
	if err := Generate(&one, 1, FormNDJSON, s3); err != nil {
		t.Fatal(err)
	}
	n := fileSize/one.Len() + 1
	for _, form := range []string{FormNDJSON, FormArray} {
		t.Run(form, func(t *testing.T) {
			g, err := NewGenerator(n, form, s3)
			if err != nil {
				t.Fatal(err)
			}
			in := &countingReader{r: g}
			var c Counts
			var derr error
			var lastExternalID string
			peak := peakHeap(t, func() {
				c, derr = Decode(context.Background(), in, opts,
					func(it Item) error { lastExternalID = it.ExternalID; return nil },
					func(e ItemError) error { return errors.New(e.Error()) })
			})
			if derr != nil || c.Valid != n || c.Received != n {
				t.Fatalf("counts %+v, want %d valid; error %v", c, n, derr)
			}
			if in.n < fileSize || lastExternalID == "" {
				t.Fatalf("read %d bytes, want at least %d", in.n, fileSize)
			}
			t.Logf("%s: %d items, %d MB, peak heap %.1f MB", form, n, in.n>>20, float64(peak)/(1<<20))
			if peak > limit {
				t.Errorf("peak heap %d MB, want at most %d MB", peak>>20, limit>>20)
			}
		})
	}
}

// hugeItemReader produces prefix, then size bytes of 'a', then suffix:
// one item with a 2 GB string, generated without holding it.
type hugeItemReader struct {
	prefix, suffix string
	size, off      int64
}

func (h *hugeItemReader) Read(p []byte) (int, error) {
	total := int64(len(h.prefix)) + h.size + int64(len(h.suffix))
	if h.off >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && h.off < total {
		switch {
		case h.off < int64(len(h.prefix)):
			c := copy(p[n:], h.prefix[h.off:])
			n += c
			h.off += int64(c)
		case h.off < int64(len(h.prefix))+h.size:
			c := int(min(int64(len(p)-n), int64(len(h.prefix))+h.size-h.off))
			for i := range c {
				p[n+i] = 'a'
			}
			n += c
			h.off += int64(c)
		default:
			c := copy(p[n:], h.suffix[h.off-int64(len(h.prefix))-h.size:])
			n += c
			h.off += int64(c)
		}
	}
	return n, nil
}

// An item with a 2 GB string fails fast on the item-size limit: a problem
// naming the field and the limit, then a fatal error, after reading little
// more than the limit, with a small heap.
func TestHugeItemFailsFast(t *testing.T) {
	const twoGB = 2 << 30
	for _, c := range []struct {
		name, prefix, suffix, path string
	}{
		{"ndjson-data", `{"externalId": "x", "data": "https://example.com/`, `.jpg"}` + "\n", "[0].data"},
		{"array-contextData", `[{"externalId": "ok", "data": "https://example.com/ok.jpg"}, {"externalId": "x", "contextData": {"blob": "`, `"}}]`, "[1].contextData"},
		{"assets-key", `{"assets": [{"externalId": "x", "`, `": 1}]}`, "[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := &countingReader{r: &hugeItemReader{prefix: c.prefix, suffix: c.suffix, size: twoGB}}
			var r result
			start := time.Now()
			peak := peakHeap(t, func() { r = decodeAll(t, in, testOptions(t)) })
			elapsed := time.Since(start)
			var e *Error
			if !errors.As(r.err, &e) || e.Limit != SettingMaxItemBytes {
				t.Fatalf("error %v, want the item-size limit", r.err)
			}
			want := "item is larger than 1048576 bytes (--import-max-item-bytes)"
			if len(r.errs) != 1 || r.errs[len(r.errs)-1].Path != c.path || r.errs[0].Message != want {
				t.Errorf("problems %+v, want %s: %s", r.errs, c.path, want)
			}
			if r.counts.Invalid != 1 || r.counts.Received != r.counts.Valid+1 {
				t.Errorf("counts %+v", r.counts)
			}
			if in.n > 4<<20 {
				t.Errorf("read %d bytes of the 2 GB item before failing, want at most 4 MB", in.n)
			}
			if peak > 32<<20 {
				t.Errorf("peak heap %d MB, want at most 32 MB", peak>>20)
			}
			t.Logf("failed after reading %d KB in %v; peak heap %.1f MB", in.n>>10, elapsed, float64(peak)/(1<<20))
		})
	}
}
