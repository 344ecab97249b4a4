package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sigV4 presigns S3 GET URLs (AWS Signature Version 4, query parameters,
// UNSIGNED-PAYLOAD). It does what the AWS SDK's presigner does for a GET and
// nothing else, at a fraction of its cost: the day's signing key and the
// window's date strings are cached, and a URL is built in one buffer.
type sigV4 struct {
	scheme, host string // host as sent in the Host header (default port dropped)
	pathPrefix   string // escaped path before the key: "/bucket/" or "/base/bucket/" or "/"
	region       string
	accessKeyID  string
	secret       string
	token        string // session token, or ""

	cur atomic.Pointer[sigV4Day]
}

// sigV4Day is what is cached per signing window (one minute): the date
// strings and the day's signing key, with a pool of keyed HMACs.
type sigV4Day struct {
	unix    int64  // start of the window
	amzDate string // 20060102T150405Z
	scope   string // 20060102/region/s3/aws4_request
	query   string // the canonical query up to X-Amz-Expires= (escaped)
	key     []byte
	macs    sync.Pool
}

const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

var isUnreserved = func() (t [256]bool) {
	for i := 0; i < len(unreserved); i++ {
		t[unreserved[i]] = true
	}
	return t
}()

// appendEscaped appends s percent-encoded as SigV4 wants it: every byte but
// the unreserved characters (and '/' when keepSlash) becomes %XX.
func appendEscaped(dst []byte, s string, keepSlash bool) []byte {
	const hexUpper = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved[c] || (keepSlash && c == '/') {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

func escapePath(s string) string { return string(appendEscaped(nil, s, true)) }

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// day returns the cached state for the window starting at t0.
func (s *sigV4) day(t0 time.Time) *sigV4Day {
	unix := t0.Unix()
	if d := s.cur.Load(); d != nil && d.unix == unix {
		return d
	}
	date := t0.UTC().Format("20060102")
	d := &sigV4Day{unix: unix, amzDate: t0.UTC().Format("20060102T150405Z")}
	d.scope = date + "/" + s.region + "/s3/aws4_request"
	if old := s.cur.Load(); old != nil && old.scope == d.scope {
		d.key = old.key // same day: same signing key
	} else {
		k := hmacSHA256([]byte("AWS4"+s.secret), date)
		k = hmacSHA256(k, s.region)
		k = hmacSHA256(k, "s3")
		d.key = hmacSHA256(k, "aws4_request")
	}
	key := d.key
	d.macs.New = func() any { return hmac.New(sha256.New, key) }
	q := []byte("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
	q = appendEscaped(q, s.accessKeyID+"/"+d.scope, false)
	q = append(q, "&X-Amz-Date="...)
	q = append(q, d.amzDate...)
	q = append(q, "&X-Amz-Expires="...)
	d.query = string(q)
	s.cur.Store(d)
	return d
}

// presign returns the URL of key signed at t0 (the window start), valid
// for expires seconds from t0.
func (s *sigV4) presign(key string, t0 time.Time, expires int64) string {
	d := s.day(t0)
	var buf [1024]byte
	// The canonical request and the URL share the escaped path and query.
	b := append(buf[:0], "GET\n"...)
	pathStart := len(b)
	b = append(b, s.pathPrefix...)
	b = appendEscaped(b, key, true)
	pathEnd := len(b)
	b = append(b, '\n')
	queryStart := len(b)
	b = append(b, d.query...)
	b = strconv.AppendInt(b, expires, 10)
	if s.token != "" {
		b = append(b, "&X-Amz-Security-Token="...)
		b = appendEscaped(b, s.token, false)
	}
	b = append(b, "&X-Amz-SignedHeaders=host"...)
	queryEnd := len(b)
	b = append(b, "\nhost:"...)
	b = append(b, s.host...)
	b = append(b, "\n\nhost\nUNSIGNED-PAYLOAD"...)
	crHash := sha256.Sum256(b)

	var sts [256]byte
	t := append(sts[:0], "AWS4-HMAC-SHA256\n"...)
	t = append(t, d.amzDate...)
	t = append(t, '\n')
	t = append(t, d.scope...)
	t = append(t, '\n')
	t = hex.AppendEncode(t, crHash[:])
	mac := d.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(t)
	var sum [sha256.Size]byte
	sig := mac.Sum(sum[:0])
	d.macs.Put(mac)

	out := make([]byte, 0, len(s.scheme)+3+len(s.host)+(pathEnd-pathStart)+1+(queryEnd-queryStart)+17+64)
	out = append(out, s.scheme...)
	out = append(out, "://"...)
	out = append(out, s.host...)
	out = append(out, b[pathStart:pathEnd]...)
	out = append(out, '?')
	out = append(out, b[queryStart:queryEnd]...)
	out = append(out, "&X-Amz-Signature="...)
	out = hex.AppendEncode(out, sig)
	return string(out)
}
