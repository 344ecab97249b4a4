package probe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path"
	"strings"
	"time"
)

// Result is what a probe read. Zero fields are unknown.
type Result struct {
	Width, Height int
	FrameRate     float64 // frames per second
	FrameCount    int
	Duration      float64 // seconds
}

// Options configure a Prober. The zero value is usable: guarded HTTP,
// ffprobe from PATH, the default limits.
type Options struct {
	// AllowPrivate lets probes read from loopback, private and link-local
	// addresses (the operator's --allow-private-endpoints; tests).
	AllowPrivate bool
	// HTTPClient is the base client. Its *http.Transport is cloned and given
	// the private-address guard; another RoundTripper is used unguarded.
	HTTPClient *http.Client
	// FFprobe is the ffprobe binary: "" looks up "ffprobe" in PATH, "-"
	// never runs it.
	FFprobe string
	// Timeout bounds one probe, ffprobe included (default 30s).
	Timeout time.Duration
	// MaxHeaderBytes is the size of the first read of an image (default
	// 256 KiB, enough for nearly every header).
	MaxHeaderBytes int
	// MaxImageBytes is the hard cap on bytes read for one image (default
	// 16 MiB); a header further in is refused with a clear error.
	MaxImageBytes int64
	// MaxVideoBytes is the cap on bytes read for one video, by the MP4
	// reader or by ffprobe through its relay (default 64 MiB).
	MaxVideoBytes int64
	// MaxRequests caps the range requests of one probe (default 64).
	MaxRequests int
}

// Defaults of Options.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultMaxHeaderBytes = 256 << 10
	DefaultMaxImageBytes  = 16 << 20
	DefaultMaxVideoBytes  = 64 << 20
	DefaultMaxRequests    = 64
	// videoReadAhead is what the MP4 reader fetches on every miss.
	videoReadAhead = 64 << 10
)

// Prober reads metadata of assets over HTTP. It is safe for concurrent use.
type Prober struct {
	client         *http.Client
	allowPrivate   bool
	ffprobe        string // "" when not available
	ffprobeWanted  bool   // false for Options.FFprobe "-"
	timeout        time.Duration
	maxHeaderBytes int
	maxImageBytes  int64
	maxVideoBytes  int64
	maxRequests    int
}

// New returns a Prober.
func New(opts Options) *Prober {
	p := &Prober{
		client:         newClient(opts.HTTPClient, opts.AllowPrivate),
		allowPrivate:   opts.AllowPrivate,
		timeout:        opts.Timeout,
		maxHeaderBytes: opts.MaxHeaderBytes,
		maxImageBytes:  opts.MaxImageBytes,
		maxVideoBytes:  opts.MaxVideoBytes,
		maxRequests:    opts.MaxRequests,
		ffprobeWanted:  opts.FFprobe != "-",
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.maxHeaderBytes <= 0 {
		p.maxHeaderBytes = DefaultMaxHeaderBytes
	}
	if p.maxImageBytes <= 0 {
		p.maxImageBytes = DefaultMaxImageBytes
	}
	p.maxImageBytes = max(p.maxImageBytes, int64(p.maxHeaderBytes))
	if p.maxVideoBytes <= 0 {
		p.maxVideoBytes = DefaultMaxVideoBytes
	}
	p.maxVideoBytes = max(p.maxVideoBytes, videoReadAhead)
	if p.maxRequests <= 0 {
		p.maxRequests = DefaultMaxRequests
	}
	switch opts.FFprobe {
	case "-":
	case "":
		if path, err := exec.LookPath("ffprobe"); err == nil {
			p.ffprobe = path
		}
	default:
		p.ffprobe = opts.FFprobe
	}
	return p
}

// HasFFprobe reports whether the Prober can read containers other than
// MP4/MOV.
func (p *Prober) HasFFprobe() bool { return p.ffprobe != "" }

func (p *Prober) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, p.timeout, timeoutError{p.timeout.String()})
}

// Video reads a video's width, height, frame rate, frame count and duration.
// MP4 and MOV files are read in pure Go through range requests (moov
// wherever it is; never mdat); other containers need ffprobe.
func (p *Prober) Video(ctx context.Context, rawURL string) (Result, error) {
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	r, err := p.open(ctx, rawURL, videoReadAhead, p.maxVideoBytes, "MaxVideoBytes")
	if err != nil {
		return Result{}, err
	}
	if r.size == 0 {
		return Result{}, errorf(KindFormat, "the file is empty (0 bytes)")
	}
	kind := sniff(r.head())
	switch {
	case kind.isoBMFF:
		if r.size < 0 {
			return Result{}, errorf(KindUnsupported, "%s did not tell the file's size, which reading an MP4 needs", r.host)
		}
		res, err := safeParseMP4(io.NewSectionReader(r, 0, r.size), r.size, r)
		if err != nil && r.err != nil {
			if e := ctxError(ctx); e != nil {
				return Result{}, e
			}
			return Result{}, r.err
		}
		if errors.Is(err, errIncomplete) {
			if p.ffprobe == "" {
				return Result{}, errorf(KindUnsupported, "the MP4 is fragmented and keeps its frame timing in the fragments: install ffprobe to read it")
			}
			return p.runFFprobe(ctx, rawURL, r.host, "mov", "mp4")
		}
		return res, err
	case kind.video:
		if p.ffprobe == "" {
			return Result{}, errorf(KindUnsupported, "install ffprobe to read %s metadata", extOr(rawURL, kind.name))
		}
		return p.runFFprobe(ctx, rawURL, r.host, kind.ffFormat, extOr(rawURL, kind.name))
	}
	return Result{}, errorf(KindFormat, "not a video: %s", kind.describe())
}

// safeParseMP4 is parseMP4 with a last line of defence: a panic in the box
// parser becomes an error instead of taking the hub down.
func safeParseMP4(r io.ReadSeeker, size int64, pf prefetcher) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = Result{}, errorf(KindFormat, "the MP4 metadata is damaged (the box parser gave up)")
		}
	}()
	return parseMP4(r, size, pf)
}

// extOr returns the URL path's extension ("webm") or, without one, def.
func extOr(rawURL, def string) string {
	i := strings.IndexAny(rawURL, "?#")
	if i >= 0 {
		rawURL = rawURL[:i]
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(rawURL), "."))
	if ext == "" || len(ext) > 8 || strings.ContainsAny(ext, "/:") {
		return def
	}
	return ext
}
