package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runFFprobe reads a video with ffprobe. ffprobe never sees the asset's
// URL (its query string is a credential, and ffprobe's own connections would
// escape the private-address guard, follow redirects anywhere and read
// without limits): it reads from a relay on 127.0.0.1 that forwards its
// range requests with the Prober's guarded client, within MaxVideoBytes and
// MaxRequests. The demuxer is forced to the sniffed container and the only
// protocols allowed are http and tcp, so a playlist or concat file cannot
// make ffprobe open anything else.
func (p *Prober) runFFprobe(ctx context.Context, rawURL, host, format, ext string) (Result, error) {
	rl, err := p.startRelay(ctx, rawURL, host)
	if err != nil {
		return Result{}, err
	}
	defer rl.close()

	rw := time.Until(deadline(ctx))
	args := []string{
		"-v", "error", "-hide_banner",
		"-protocol_whitelist", "http,tcp",
		"-rw_timeout", strconv.FormatInt(max(rw.Microseconds(), 1000), 10),
		"-f", format,
		"-select_streams", "v:0",
		"-show_entries", "stream=width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:stream_tags=DURATION:format=duration",
		"-of", "json",
		rl.url,
	}
	cmd := exec.CommandContext(ctx, p.ffprobe, args...)
	cmd.Env = []string{} // no http_proxy and friends
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = 1<<20, 8<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	runErr := cmd.Run()
	if e := ctxError(ctx); e != nil {
		return Result{}, e
	}
	if err := rl.error(); err != nil {
		return Result{}, err
	}
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			if errors.Is(runErr, exec.ErrNotFound) || errors.Is(runErr, fs.ErrNotExist) || errors.Is(runErr, fs.ErrPermission) {
				return Result{}, errorf(KindUnsupported, "install ffprobe to read %s metadata (%s cannot be run)", ext, p.ffprobe)
			}
			return Result{}, errorf(KindUnsupported, "ffprobe could not be run: %s", shorten(runErr.Error()))
		}
		msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), rl.url, "the file"))
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = ee.String()
		}
		return Result{}, errorf(KindFormat, "ffprobe cannot read the %s file: %s", ext, shorten(msg))
	}
	return parseFFprobe(stdout.Bytes(), ext)
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultTimeout)
}

type ffprobeOutput struct {
	Streams []struct {
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		RFrameRate   string            `json:"r_frame_rate"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		NbFrames     string            `json:"nb_frames"`
		Duration     string            `json:"duration"`
		Tags         map[string]string `json:"tags"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// parseFFprobe reads ffprobe's JSON. The frame rate is avg_frame_rate (or
// r_frame_rate); the frame count is nb_frames, or duration × rate where the
// container does not store it (Matroska, WebM).
func parseFFprobe(out []byte, ext string) (Result, error) {
	var o ffprobeOutput
	if err := json.Unmarshal(out, &o); err != nil {
		return Result{}, errorf(KindFormat, "ffprobe gave no readable answer for the %s file", ext)
	}
	if len(o.Streams) == 0 {
		return Result{}, errorf(KindFormat, "no video track in the %s file", ext)
	}
	s := o.Streams[0]
	var res Result
	if s.Width <= 0 || s.Height <= 0 {
		return Result{}, errorf(KindFormat, "the %s file's video track declares no width and height", ext)
	}
	if s.Width > maxDimension || s.Height > maxDimension {
		return Result{}, errorf(KindFormat, "the video declares %dx%d pixels, more than the limit of %d per side", s.Width, s.Height, maxDimension)
	}
	res.Width, res.Height = s.Width, s.Height
	res.FrameRate = ratio(s.AvgFrameRate)
	if res.FrameRate == 0 {
		res.FrameRate = ratio(s.RFrameRate)
	}
	res.Duration = seconds(s.Duration)
	if res.Duration == 0 {
		res.Duration = clockSeconds(s.Tags["DURATION"])
	}
	if res.Duration == 0 {
		res.Duration = seconds(o.Format.Duration)
	}
	if n, err := strconv.Atoi(s.NbFrames); err == nil && n > 0 {
		res.FrameCount = n
	} else if res.Duration > 0 && res.FrameRate > 0 {
		res.FrameCount = int(math.Round(res.Duration * res.FrameRate))
	}
	if res.FrameRate == 0 && res.FrameCount > 0 && res.Duration > 0 {
		res.FrameRate = float64(res.FrameCount) / res.Duration
	}
	return res, nil
}

// ratio reads "30000/1001"; 0 for "0/0", "N/A" and nonsense.
func ratio(s string) float64 {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		b = "1"
	}
	n, err1 := strconv.ParseFloat(a, 64)
	d, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || d <= 0 || n <= 0 || math.IsInf(n/d, 0) || n/d > 1e6 {
		return 0
	}
	return n / d
}

func seconds(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}

// clockSeconds reads Matroska's "00:00:02.000000000".
func clockSeconds(s string) float64 {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || m < 0 || sec < 0 {
		return 0
	}
	return float64(h)*3600 + float64(m)*60 + sec
}

// relay serves one asset to ffprobe on 127.0.0.1.
type relay struct {
	p    *Prober
	ctx  context.Context
	src  string // the asset's URL
	host string
	url  string // what ffprobe opens
	path string
	srv  *http.Server

	mu       sync.Mutex
	err      error
	requests int
	bytes    int64
}

func (p *Prober) startRelay(ctx context.Context, rawURL, host string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errorf(KindUnsupported, "cannot start the ffprobe relay on 127.0.0.1: %s", err)
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	rl := &relay{p: p, ctx: ctx, src: rawURL, host: host, path: "/" + hex.EncodeToString(tok[:])}
	rl.url = "http://" + ln.Addr().String() + rl.path
	rl.srv = &http.Server{
		Handler:           rl,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go rl.srv.Serve(ln) //nolint:errcheck // ends with close
	return rl, nil
}

func (rl *relay) close() { _ = rl.srv.Close() }

func (rl *relay) error() error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.err
}

func (rl *relay) fail(err error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.err == nil {
		rl.err = err
	}
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != rl.path || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	rl.mu.Lock()
	rl.requests++
	over := rl.requests > rl.p.maxRequests
	rl.mu.Unlock()
	if over {
		rl.fail(errorf(KindLimit, "ffprobe needed more than %d range requests (MaxRequests)", rl.p.maxRequests))
		http.Error(w, "too many requests", http.StatusServiceUnavailable)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, rl.src, nil)
	if err != nil {
		rl.fail(errorf(KindURL, "the asset URL is malformed"))
		http.Error(w, "bad url", http.StatusBadGateway)
		return
	}
	if rg := r.Header.Get("Range"); rg != "" {
		req.Header.Set("Range", rg)
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", userAgent)
	resp, err := rl.p.client.Do(req)
	if err != nil {
		if r.Context().Err() == nil {
			rl.fail(transportError(rl.ctx, err, rl.host))
		}
		http.Error(w, "upstream failed", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable:
	default:
		rl.fail(statusError(resp.StatusCode))
		http.Error(w, "upstream refused", resp.StatusCode)
		return
	}
	for _, k := range []string{"Content-Length", "Content-Range", "Accept-Ranges", "Content-Type"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, 32<<10)
	for {
		rl.mu.Lock()
		left := rl.p.maxVideoBytes - rl.bytes
		rl.mu.Unlock()
		if left <= 0 {
			rl.fail(errorf(KindLimit, "ffprobe needed more than %s of the file (MaxVideoBytes)", formatBytes(rl.p.maxVideoBytes)))
			return
		}
		n, rerr := resp.Body.Read(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			rl.mu.Lock()
			rl.bytes += int64(n)
			rl.mu.Unlock()
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // ffprobe has what it wanted
			}
		}
		if rerr == io.EOF {
			return
		}
		if rerr != nil {
			if r.Context().Err() == nil {
				rl.fail(transportError(rl.ctx, rerr, rl.host))
			}
			return
		}
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
