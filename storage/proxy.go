package storage

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labelhub/labelhub"
)

// parseRange reads a Range header. It returns (nil, true) when the whole
// object is to be served: no header, another unit, or several ranges (which
// the hub may ignore, RFC 9110 §14.2). ok is false for a byte range that is
// malformed, which is answered 416.
func parseRange(h string) (rg *byteRange, ok bool) {
	if h == "" {
		return nil, true
	}
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found {
		return nil, true
	}
	if strings.Contains(spec, ",") {
		return nil, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return nil, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || b[0] == '+' {
			return nil, false
		}
		return &byteRange{start: -n, length: -1}, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || a[0] == '+' {
		return nil, false
	}
	if b == "" {
		return &byteRange{start: start, length: -1}, true
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < start || b[0] == '+' {
		return nil, false
	}
	return &byteRange{start: start, length: end - start + 1}, true
}

// activeTypes are content types a browser runs script in when opened as a
// page: served as attachments (and every proxied answer carries a CSP
// sandbox), so a bucket's HTML cannot act on the hub's origin.
func activeType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true
	}
	switch mt {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
		"text/javascript", "application/javascript", "application/x-javascript", "text/ecmascript",
		"application/ecmascript", "application/wasm", "application/pdf", "text/xsl", "application/xslt+xml",
		"multipart/x-mixed-replace":
		return true
	}
	return strings.HasSuffix(mt, "+xml")
}

// safeFileName returns the last segment of key with only characters that
// are harmless in a quoted header parameter.
func safeFileName(key string) string {
	name := path.Base(key)
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '/' || r == ';' || r == '%':
			b.WriteByte('_')
		case r > 0x7e:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	if s == "" || s == "." || s == ".." {
		s = "file"
	}
	return s
}

// contentDisposition is "inline" or "attachment" with an ASCII file name
// and, for other names, the UTF-8 one (RFC 6266, RFC 8187).
func contentDisposition(kind, key string) string {
	name := path.Base(key)
	ascii := safeFileName(key)
	v := kind + `; filename="` + ascii + `"`
	if ascii != name {
		v += "; filename*=UTF-8''" + string(appendEscaped(nil, name, false))
	}
	return v
}

// proxyCSP forbids everything a document could do; images, audio and
// video loaded by the hub's pages are not affected (CSP applies to
// documents), but a page opened from the proxy cannot run script.
const proxyCSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Proxy streams key to w: GET and HEAD, one byte range (206 with
// Content-Range; a malformed or unsatisfiable range 416), ETag,
// Last-Modified, Content-Type and Content-Length passed through, and
// If-None-Match / If-Modified-Since answered 304 (S3 and Azure judge them,
// GCS after opening the object, before any byte of it is read). The body is
// copied through a fixed buffer, never held whole. Headers make the answer
// safe on the hub's origin: nosniff, a sanitised inline file name, a CSP
// sandbox, and active content (HTML, SVG, XML, script, PDF) as attachment.
// Errors are JSON {"error": {...}} like the API's; a provider failure is
// 502.
func (b *Bucket) Proxy(w http.ResponseWriter, r *http.Request, key string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProxyError(w, http.StatusMethodNotAllowed, labelhub.Errorf(labelhub.ECodeInvalid, "only GET and HEAD are allowed"))
		return
	}
	if err := checkKey(key); err != nil {
		writeProxyError(w, http.StatusBadRequest, err)
		return
	}
	rg, ok := parseRange(r.Header.Get("Range"))
	if !ok {
		b.unsatisfiable(w, r, key)
		return
	}
	var cond conditions
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		cond.ifNoneMatch = inm
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil {
			cond.ifModifiedSince = t
		}
	}
	ifRange := r.Header.Get("If-Range")
	if err := b.conn.acquire(); err != nil {
		writeProxyError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer b.conn.release()

	ctx := r.Context()
	var o *object
	var err error
	if r.Method == http.MethodHead {
		o, err = b.head(r, key, rg, cond)
	} else {
		o, err = b.p.read(ctx, key, rg, cond)
	}
	if err == nil && o.partial && ifRange != "" && !ifRangeHolds(ifRange, o.info) {
		// The client's copy is stale: send the whole object instead.
		if o.body != nil {
			o.body.Close()
		}
		rg = nil
		if r.Method == http.MethodHead {
			o, err = b.head(r, key, nil, cond)
		} else {
			o, err = b.p.read(ctx, key, nil, cond)
		}
	}
	if err != nil {
		f := classify(err)
		switch f.kind {
		case kNotModified:
			for _, k := range []string{"ETag", "Last-Modified"} {
				if v := f.header.Get(k); v != "" {
					w.Header().Set(k, v)
				}
			}
			w.Header().Set("Cache-Control", "private, max-age=300")
			w.WriteHeader(http.StatusNotModified)
		case kRange:
			b.unsatisfiable(w, r, key)
		case kObjectMissing:
			writeProxyError(w, http.StatusNotFound, labelhub.NotFound("object"))
		default:
			writeProxyError(w, http.StatusBadGateway, b.opError(err, "read", key))
		}
		return
	}
	if o.body != nil {
		defer o.body.Close()
	}
	if !o.notModified && cond.matches(o.info) {
		o.notModified = true
	}

	h := w.Header()
	if o.notModified && o.info.ETag == "" && cond.ifNoneMatch != "" && !strings.ContainsAny(cond.ifNoneMatch, ",*") {
		// The provider's 304 carried no ETag (Azurite): the one asked
		// about is the current one.
		o.info.ETag = strings.TrimSpace(cond.ifNoneMatch)
	}
	if o.info.ETag != "" {
		h.Set("ETag", o.info.ETag)
	}
	if !o.info.ModTime.IsZero() {
		h.Set("Last-Modified", o.info.ModTime.UTC().Format(http.TimeFormat))
	}
	h.Set("Cache-Control", "private, max-age=300")
	if o.notModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ct := o.info.ContentType
	if ct == "" || ct == "binary/octet-stream" {
		ct = mime.TypeByExtension(path.Ext(key))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	if o.info.ContentEncoding != "" {
		h.Set("Content-Encoding", o.info.ContentEncoding)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", proxyCSP)
	if activeType(ct) {
		h.Set("Content-Disposition", contentDisposition("attachment", key))
	} else {
		h.Set("Content-Disposition", contentDisposition("inline", key))
	}
	h.Set("Accept-Ranges", "bytes")
	status := http.StatusOK
	if o.partial && rg != nil {
		if o.info.Size == 0 || o.start >= o.info.Size {
			b.unsatisfiable(w, r, key)
			return
		}
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(o.start, 10)+"-"+strconv.FormatInt(o.start+o.length-1, 10)+"/"+strconv.FormatInt(o.info.Size, 10))
	}
	h.Set("Content-Length", strconv.FormatInt(o.length, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead || o.body == nil {
		return
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	// The client going away ends the copy; nothing more can be said then.
	_, _ = io.CopyBuffer(w, io.LimitReader(o.body, o.length), *buf)
}

// head answers a HEAD from the object's attributes.
func (b *Bucket) head(r *http.Request, key string, rg *byteRange, cond conditions) (*object, error) {
	info, err := b.p.stat(r.Context(), key)
	if err != nil {
		return nil, err
	}
	o := &object{info: info, length: info.Size}
	if rg != nil {
		start, length := rg.start, rg.length
		if start < 0 {
			start = max(info.Size+start, 0)
			length = info.Size - start
		} else if length < 0 || start+length > info.Size {
			length = info.Size - start
		}
		if start >= info.Size {
			return nil, &rangeError{}
		}
		o.start, o.length, o.partial = start, length, true
	}
	o.notModified = cond.matches(info)
	return o, nil
}

// rangeError is a range outside the object, found by the hub itself.
type rangeError struct{}

func (*rangeError) Error() string { return "range not satisfiable" }

// ifRangeHolds reports whether the If-Range validator names the current
// representation (strong ETag match, or the exact Last-Modified date).
func ifRangeHolds(v string, info objectInfo) bool {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return !strings.HasPrefix(v, "W/") && v == info.ETag
	}
	t, err := http.ParseTime(v)
	return err == nil && !info.ModTime.IsZero() && info.ModTime.UTC().Truncate(time.Second).Equal(t)
}

// unsatisfiable answers 416 with the object's size when it can be had.
func (b *Bucket) unsatisfiable(w http.ResponseWriter, r *http.Request, key string) {
	if info, err := b.p.stat(r.Context(), key); err == nil {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
	} else if classify(err).kind == kObjectMissing {
		writeProxyError(w, http.StatusNotFound, labelhub.NotFound("object"))
		return
	}
	writeProxyError(w, http.StatusRequestedRangeNotSatisfiable,
		labelhub.Invalid("range not satisfiable", labelhub.FieldError{Path: "Range", Message: "is malformed or outside the object; ask for one range like bytes=0-1023"}))
}

func writeProxyError(w http.ResponseWriter, status int, err error) {
	var e *labelhub.Error
	if !errors.As(err, &e) {
		e = labelhub.Errorf(labelhub.ECodeInternal, "internal error")
	}
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Disposition", "Content-Range", "Accept-Ranges"} {
		if k != "Content-Range" || status != http.StatusRequestedRangeNotSatisfiable {
			h.Del(k)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]*labelhub.Error{"error": e})
}
