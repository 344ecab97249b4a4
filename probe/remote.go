package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// remote is an io.ReaderAt over HTTP range requests. It keeps the last few
// windows it fetched, reads ahead readAhead bytes on every miss, and counts
// requests and bytes against its limits. It is not safe for concurrent use.
type remote struct {
	ctx    context.Context
	client *http.Client
	url    string // the full (signed) URL; never shown
	host   string // for messages

	size      int64 // -1 until known
	noRanges  bool  // the server answered 200 to a range request
	readAhead int64
	grow      bool // double readAhead on every miss (image headers)

	maxBytes    int64 // cap on bytes fetched
	maxRequests int
	limitName   string // the option that sets maxBytes, for messages

	requests int
	fetched  int64
	wins     []window // most recent last
	err      error    // the first error that was not io.EOF
}

type window struct {
	off  int64
	data []byte
}

const maxWindows = 4

// userAgent names the hub's probe in the storage's access logs.
const userAgent = "labelhub-probe/1"

func (r *remote) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if r.size >= 0 && pos >= r.size {
			return n, io.EOF
		}
		if w := r.find(pos); w != nil {
			n += copy(p[n:], w.data[pos-w.off:])
			continue
		}
		want := max(r.readAhead, int64(len(p)-n))
		if err := r.fetch(pos, want); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (r *remote) find(pos int64) *window {
	for i := len(r.wins) - 1; i >= 0; i-- {
		w := &r.wins[i]
		if pos >= w.off && pos < w.off+int64(len(w.data)) {
			return w
		}
	}
	return nil
}

// prefetch makes sure [off, off+n) is read in one request if it is not
// cached yet and fits the limits; it is a hint, errors show up later.
func (r *remote) prefetch(off, n int64) {
	if w := r.find(off); w != nil && w.off+int64(len(w.data)) >= off+n {
		return
	}
	if r.fetched+n <= r.maxBytes {
		_ = r.fetch(off, n)
	}
}

// fetch reads [off, off+n) (clipped to the file's end) into a new window.
func (r *remote) fetch(off, n int64) error {
	if r.err != nil {
		return r.err
	}
	if r.size >= 0 {
		n = min(n, r.size-off)
	}
	if n <= 0 {
		return io.EOF
	}
	if r.noRanges && off > 0 {
		return r.fail(errorf(KindUnsupported, "%s ignores range requests (it answered 200 with the whole file); the probe reads only parts of files, so it cannot read this one", r.host))
	}
	if left := r.maxBytes - r.fetched; n > left {
		// Read what is left, but never less than a useful minimum.
		if left < 4096 {
			return r.fail(errorf(KindLimit, "reading the file's metadata needs more than %s (%s)", formatBytes(r.maxBytes), r.limitName))
		}
		n = left
	}
	if r.requests >= r.maxRequests {
		return r.fail(errorf(KindLimit, "reading the file's metadata needs more than %d range requests (MaxRequests)", r.maxRequests))
	}
	r.requests++
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return r.fail(errorf(KindURL, "the asset URL is malformed"))
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", userAgent)
	resp, err := r.client.Do(req)
	if err != nil {
		return r.fail(transportError(r.ctx, err, r.host))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, end, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != off || end < start || end-start+1 > n {
			return r.fail(errorf(KindHTTP, "%s answered a range request with a wrong Content-Range (%q)", r.host, resp.Header.Get("Content-Range")))
		}
		if total >= 0 {
			r.size = total
		}
		n = end - start + 1
	case http.StatusOK:
		if off > 0 {
			r.noRanges = true
			return r.fetch(off, n)
		}
		if resp.ContentLength >= 0 {
			r.size = resp.ContentLength
			n = min(n, r.size)
		}
		if r.size < 0 || r.size > n {
			r.noRanges = true
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if _, _, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && total >= 0 {
			r.size = total
		} else if off == 0 {
			r.size = 0 // no byte at offset 0: an empty file
		}
		return io.EOF
	default:
		return r.fail(statusError(resp.StatusCode))
	}
	if n <= 0 {
		return io.EOF
	}
	buf := make([]byte, n)
	got, err := io.ReadFull(resp.Body, buf)
	r.fetched += int64(got)
	switch {
	case err == nil:
	case (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) && r.size < 0:
		r.size = off + int64(got) // a body of unknown length ended: the file's end
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return r.fail(errorf(KindNetwork, "%s broke off the answer after %d of %d bytes", r.host, got, n))
	default:
		return r.fail(transportError(r.ctx, err, r.host))
	}
	if got == 0 {
		return io.EOF
	}
	r.wins = append(r.wins, window{off: off, data: buf[:got]})
	if len(r.wins) > maxWindows {
		r.wins = r.wins[1:]
	}
	if r.grow {
		r.readAhead *= 2
	}
	return nil
}

func (r *remote) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return err
}

// parseContentRange reads "bytes START-END/TOTAL" or "bytes */TOTAL";
// total is -1 for "*".
func parseContentRange(h string) (start, end, total int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(spec, "/")
	if !found {
		return 0, 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return 0, -1, total, true
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	s, err1 := strconv.ParseInt(a, 10, 64)
	e, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || s < 0 || e < s || (total >= 0 && e >= total) {
		return 0, 0, 0, false
	}
	return s, e, total, true
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
