// Package probe reads an asset's dimensions and timing from the first bytes
// of its file over HTTP range requests; it never downloads a whole video.
//
// A [Prober] is given the asset's (signed) URL:
//
//   - [Prober.Image] reads the header of a JPEG, PNG, GIF, WebP, BMP or TIFF
//     file: one request for the first Options.MaxHeaderBytes (256 KiB), more
//     only when the header lies further in (a JPEG with a large EXIF or ICC
//     block; a TIFF whose directory is at the end), up to
//     Options.MaxImageBytes, and then it fails saying so.
//   - [Prober.Video] reads MP4 and MOV files in pure Go (github.com/abema/go-mp4)
//     through an io.ReadSeeker over range requests: it walks the top-level
//     boxes, seeks over mdat, reads moov wherever it is (often at the end) and
//     in it only the boxes it needs (tkhd, mdhd, hdlr, stsd, stts), never
//     the sample tables or the media. Other containers (WebM, Matroska, AVI,
//     MPEG-TS, …) are read by ffprobe when it is installed. ffprobe never gets
//     the asset's URL: it reads through a relay on 127.0.0.1 that forwards its
//     range requests with the Prober's guarded HTTP client and counts them.
//
// # Private addresses
//
// Unless Options.AllowPrivate is set (the operator's --allow-private-endpoints),
// a URL whose host is, or resolves to, a loopback, private, link-local or
// otherwise non-public address is refused before any connection, and every
// connection is checked again at dial time (so redirects and DNS rebinding
// cannot reach one either). This is the approach of package storage's guard.
//
// # Limits
//
// Every probe has a deadline (Options.Timeout, 30 s), a cap on the bytes it
// reads (Options.MaxImageBytes, Options.MaxVideoBytes) and on the number of
// requests it makes (Options.MaxRequests). Errors are [*Error] values whose
// message a person can act on; they never contain the URL's query string
// (the signature of a signed URL).
//
// A Prober is safe for concurrent use; bounding how many probes run at once
// is the caller's job (a background worker pool).
//
// probe must not import httpapi, web, sqlstore or storage (it is kept free
// of the cloud SDKs).
package probe
