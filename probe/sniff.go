package probe

import (
	"bytes"
	"encoding/binary"
)

// container is what the first bytes of a file say it is.
type container struct {
	name     string // short: "mp4", "webm", "png", …
	desc     string // for messages: "a WebM video", "an HTML or XML document"
	ffFormat string // ffprobe's demuxer for a video container other than MP4/MOV
	isoBMFF  bool   // MP4, MOV, 3GP, …: read in pure Go
	video    bool
	image    bool
}

// isoTopLevel lists box types that may start an ISO base media (MP4) or
// QuickTime file.
var isoTopLevel = map[string]bool{
	"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true,
	"wide": true, "pnot": true, "uuid": true, "styp": true, "sidx": true,
	"moof": true, "junk": true, "pdin": true, "meta": true,
}

// sniff looks at the first bytes of a file (at least 16 when the file is
// that long).
func sniff(b []byte) container {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch {
	case len(b) >= 8 && isoTopLevel[string(b[4:8])]:
		if sz := binary.BigEndian.Uint32(b); sz == 0 || sz == 1 || sz >= 8 {
			return container{name: "mp4", desc: "an MP4/MOV video", isoBMFF: true, video: true}
		}
	case has(0, "\x1a\x45\xdf\xa3"):
		name, desc := "mkv", "a Matroska (MKV) video"
		if bytes.Contains(b[:min(len(b), 64)], []byte("webm")) {
			name, desc = "webm", "a WebM video"
		}
		return container{name: name, desc: desc, ffFormat: "matroska", video: true}
	case has(0, "RIFF") && has(8, "AVI "):
		return container{name: "avi", desc: "an AVI video", ffFormat: "avi", video: true}
	case len(b) > 188 && b[0] == 0x47 && b[188] == 0x47:
		return container{name: "ts", desc: "an MPEG-TS video", ffFormat: "mpegts", video: true}
	case has(0, "\x00\x00\x01\xba"):
		return container{name: "mpeg", desc: "an MPEG-PS video", ffFormat: "mpeg", video: true}
	case has(0, "FLV\x01"):
		return container{name: "flv", desc: "an FLV video", ffFormat: "flv", video: true}
	case has(0, "OggS"):
		return container{name: "ogg", desc: "an Ogg file", ffFormat: "ogg", video: true}
	case has(0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
		return container{name: "asf", desc: "an ASF (WMV) video", ffFormat: "asf", video: true}
	case has(0, "\x89PNG\r\n\x1a\n"):
		return container{name: "png", desc: "a PNG image", image: true}
	case has(0, "\xff\xd8\xff"):
		return container{name: "jpeg", desc: "a JPEG image", image: true}
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return container{name: "gif", desc: "a GIF image", image: true}
	case has(0, "RIFF") && has(8, "WEBP"):
		return container{name: "webp", desc: "a WebP image", image: true}
	case has(0, "BM"):
		return container{name: "bmp", desc: "a BMP image", image: true}
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return container{name: "tiff", desc: "a TIFF image", image: true}
	case has(0, "%PDF"):
		return container{name: "pdf", desc: "a PDF document"}
	case has(0, "PK\x03\x04"):
		return container{name: "zip", desc: "a zip archive"}
	}
	t := bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf")
	if len(t) > 0 && t[0] == '<' {
		return container{name: "html", desc: "an HTML or XML document (often an error page)"}
	}
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return container{name: "json", desc: "a JSON document"}
	}
	return container{}
}

// describe says what a file that is not the expected kind looks like.
func (c container) describe() string {
	if c.desc == "" {
		return "its first bytes match no known format"
	}
	return "it looks like " + c.desc
}
