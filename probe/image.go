package probe

import (
	"context"
	"errors"
	"image"
	_ "image/gif" // registered for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"strings"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Image reads an image's width and height from the first bytes of its file:
// one range request for the first MaxHeaderBytes, more only when the header
// lies further in, up to MaxImageBytes.
func (p *Prober) Image(ctx context.Context, rawURL string) (Result, error) {
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	r, err := p.open(ctx, rawURL, int64(p.maxHeaderBytes), p.maxImageBytes, "MaxImageBytes")
	if err != nil {
		return Result{}, err
	}
	r.grow = true
	if r.size == 0 {
		return Result{}, errorf(KindFormat, "the file is empty (0 bytes)")
	}
	size := r.size
	if size < 0 {
		size = 1<<63 - 1
	}
	sec := io.NewSectionReader(r, 0, size)
	kind := sniff(r.head())

	var cfg image.Config
	var format string
	if kind.name == "tiff" {
		// A TIFF's directory may be anywhere: tiff reads it with ReadAt.
		cfg, err = tiff.DecodeConfig(sec)
		format = "tiff"
	} else {
		cfg, format, err = image.DecodeConfig(sec)
	}
	if err != nil {
		if r.err != nil {
			if e := ctxError(ctx); e != nil {
				return Result{}, e
			}
			var pe *Error
			if errors.As(r.err, &pe) && pe.Kind == KindLimit {
				return Result{}, errorf(KindLimit, "the image header is not within the first %s of the file (MaxImageBytes); the hub does not read further", formatBytes(p.maxImageBytes))
			}
			return Result{}, r.err
		}
		if errors.Is(err, image.ErrFormat) {
			return Result{}, errorf(KindFormat, "not a supported image (JPEG, PNG, GIF, WebP, BMP, TIFF): %s", kind.describe())
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Result{}, errorf(KindFormat, "the %s image is truncated: the file ends (after %d bytes) before its header does", strings.ToUpper(kind.name), r.size)
		}
		name := format
		if name == "" {
			name = kind.name
		}
		return Result{}, errorf(KindFormat, "the %s header is damaged: %s", strings.ToUpper(name), shorten(err.Error()))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Result{}, errorf(KindFormat, "the image declares %dx%d pixels", cfg.Width, cfg.Height)
	}
	if cfg.Width > maxDimension || cfg.Height > maxDimension {
		return Result{}, errorf(KindFormat, "the image declares %dx%d pixels, more than the limit of %d per side", cfg.Width, cfg.Height, maxDimension)
	}
	return Result{Width: cfg.Width, Height: cfg.Height}, nil
}

// head returns the first bytes of the file that were fetched (up to 512).
func (r *remote) head() []byte {
	for _, w := range r.wins {
		if w.off == 0 {
			return w.data[:min(len(w.data), 512)]
		}
	}
	return nil
}

// open checks the URL and reads the first window of the file, which tells
// its size.
func (p *Prober) open(ctx context.Context, rawURL string, first, maxBytes int64, limitName string) (*remote, error) {
	u, err := parseURL(ctx, rawURL, p.allowPrivate)
	if err != nil {
		return nil, err
	}
	r := &remote{
		ctx: ctx, client: p.client, url: rawURL, host: u.Host,
		size: -1, readAhead: first, maxBytes: maxBytes, maxRequests: p.maxRequests, limitName: limitName,
	}
	if err := r.fetch(0, first); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if r.size < 0 && len(r.wins) == 0 {
		return nil, errorf(KindHTTP, "%s answered with no content and no file size", r.host)
	}
	return r, nil
}
