package assetref

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parsed is a URL split into its raw parts, with offsets into the raw text
// for messages.
type parsed struct {
	raw         string
	scheme      string // lower case
	authority   string // raw
	authStart   int
	path        string // raw (escaped); "" or starts with '/'
	pathStart   int
	query       string
	queryStart  int
	hasQuery    bool
	hasFragment bool

	// Set by parseAuthority.
	host string // lower case; an IPv6 address without brackets, canonical
	port string // decimal without leading zeros; "" when absent or the scheme's default
}

func (u *parsed) web() bool { return u.scheme == "http" || u.scheme == "https" }

// checkChars rejects characters that must never appear raw in a URL.
func checkChars(raw string) *Error {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == ' ':
			if i == 0 || i == len(raw)-1 {
				return errf(partAt(raw, i), "literal space in URL at offset %d: remove the leading or trailing space (a space in a file name must be encoded as %%20)", i)
			}
			return errf(partAt(raw, i), "literal space in URL at offset %d: encode it as %%20 (a '+' is a literal plus, not a space)", i)
		case c < 0x20 || c == 0x7f:
			return errf(partAt(raw, i), "control character U+%04X in URL at offset %d: remove it (or encode it as %%%02X if it really is part of the name)", c, i, c)
		case c == '\\':
			return errf(partAt(raw, i), "backslash in URL at offset %d: use '/' to separate folders; encode a backslash that is part of a name as %%5C", i)
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError && n <= 1 {
				return errf(partAt(raw, i), "invalid UTF-8 byte 0x%02X in URL at offset %d: URLs are percent-encoded UTF-8", c, i)
			}
			if r == '\ufeff' && i == 0 {
				return errf(FieldURL, "the URL starts with a byte-order mark (U+FEFF): remove it (save the file as UTF-8 without BOM)")
			}
			if r >= 0x80 && r < 0xa0 {
				return errf(partAt(raw, i), "control character U+%04X in URL at offset %d: remove it", r, i)
			}
			if partAt(raw, i) == FieldHost {
				return errf(FieldHost, "non-ASCII character %q in the host at offset %d: write the host in its ASCII (punycode, xn--…) form", r, i)
			}
			return errf(partAt(raw, i), "non-ASCII character %q in URL at offset %d: percent-encode it as %s", r, i, pctEncode(string(r)))
		}
		i++
	}
	return nil
}

// partAt names the part of raw that holds offset i, for messages about
// characters (best effort: the URL has not been parsed yet).
func partAt(raw string, i int) string {
	s := strings.Index(raw, "://")
	if s < 0 || i < s+3 {
		return FieldURL
	}
	end := len(raw)
	if j := strings.IndexAny(raw[s+3:], "/?#"); j >= 0 {
		end = s + 3 + j
	}
	if i < end {
		switch strings.ToLower(raw[:s]) {
		case "s3", "gs", "azblob":
			return FieldBucket
		}
		return FieldHost
	}
	if f := strings.IndexByte(raw, '#'); f >= 0 && i > f {
		return FieldFragment
	}
	if q := strings.IndexByte(raw[end:], '?'); q >= 0 && i > end+q {
		if f := strings.IndexByte(raw, '#'); f < 0 || f > end+q {
			return FieldQuery
		}
	}
	return FieldPath
}

func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// split finds the scheme and splits raw into authority, path, query and
// fragment.
func split(raw string, ig *integ) (*parsed, *Error) {
	if strings.HasPrefix(raw, "//") {
		return nil, errf(FieldURL, "scheme-relative URL (//host/…): add the scheme, e.g. https:%s", raw)
	}
	colon := strings.IndexByte(raw, ':')
	if colon < 0 || !validScheme(raw[:colon]) {
		return nil, errf(FieldURL, "not an absolute URL: give the full URL with its scheme%s", exampleSuffix(ig))
	}
	scheme := strings.ToLower(raw[:colon])
	if len(scheme) == 1 {
		return nil, errf(FieldURL, "%q looks like a Windows file path, not a URL: put the file in a bucket and give its URL", raw[:min(len(raw), 3)])
	}
	switch scheme {
	case "http", "https", "s3", "gs", "azblob":
	default:
		return nil, errf(FieldScheme, "unsupported scheme %q: use https:// (or s3://, gs://, azblob:// with a storage integration)", scheme)
	}
	rest := raw[colon+1:]
	if !strings.HasPrefix(rest, "//") {
		return nil, errf(FieldURL, "%q must be followed by \"//\" and a host, e.g. %s://host/file.jpg", scheme+":", scheme)
	}
	u := &parsed{raw: raw, scheme: scheme, authStart: colon + 3}
	rest = rest[2:]
	pos := u.authStart
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	u.authority = rest[:end]
	rest, pos = rest[end:], pos+end
	end = strings.IndexAny(rest, "?#")
	if end < 0 {
		end = len(rest)
	}
	u.path, u.pathStart = rest[:end], pos
	rest, pos = rest[end:], pos+end
	if strings.HasPrefix(rest, "?") {
		end = strings.IndexByte(rest, '#')
		if end < 0 {
			end = len(rest)
		}
		u.hasQuery = true
		u.query, u.queryStart = rest[1:end], pos+1
		rest = rest[end:]
	}
	u.hasFragment = strings.HasPrefix(rest, "#")
	return u, nil
}

// checkEscapes checks that every '%' in raw[from:to] starts a valid escape.
func checkEscapes(raw string, from, to int, field string) *Error {
	for i := from; i < to; i++ {
		if raw[i] != '%' {
			continue
		}
		if i+2 >= to || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			bad := raw[i:min(to, i+3)]
			return errf(field, "invalid percent-escape %q at offset %d: a '%%' must be followed by two hex digits; write a literal '%%' as %%25", bad, i)
		}
		i += 2
	}
	return nil
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseAuthority sets host and port. For s3://, gs:// and azblob:// the
// authority is a bucket (container) name.
func (u *parsed) parseAuthority() *Error {
	a := u.authority
	if !u.web() {
		if a == "" {
			return errf(FieldBucket, "URL names no %s: write %s://<%s>/<key>", bucketWordFor(u.scheme), u.scheme, bucketWordFor(u.scheme))
		}
		for i := 0; i < len(a); i++ {
			if !isBucketChar(a[i]) {
				return errf(FieldBucket, "invalid character %q in %s name %q: names use letters, digits, '.', '-' and '_'", a[i], bucketWordFor(u.scheme), a)
			}
		}
		u.host = strings.ToLower(a)
		return nil
	}
	if strings.Contains(a, "@") {
		return errf(FieldHost, "credentials in URL (…@host): remove them; labelhub uses the storage integration's credentials")
	}
	if a == "" {
		return errf(FieldHost, "URL has no host")
	}
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return errf(FieldHost, "IPv6 address in host %q lacks its closing ']'", a)
		}
		host, port = a[1:end], a[end+1:]
		if port != "" && port[0] != ':' {
			return errf(FieldHost, "unexpected %q after the IPv6 address in host %q: only :port may follow", port, a)
		}
		port = strings.TrimPrefix(port, ":")
		zone := ""
		if z := strings.Index(host, "%25"); z >= 0 {
			host, zone = host[:z], host[z+3:]
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || strings.Contains(host, "%") || strings.Contains(zone, "%") {
			return errf(FieldHost, "invalid IPv6 address %q in host: write it like http://[::1]:9000", a)
		}
		if zone != "" {
			addr = addr.WithZone(zone)
		}
		u.host = addr.String()
	} else {
		if c := strings.LastIndexByte(a, ':'); c >= 0 {
			host, port = a[:c], a[c+1:]
		}
		if strings.Contains(host, ":") {
			return errf(FieldHost, "IPv6 address in host %q must be in brackets: http://[%s]/…", a, host)
		}
		if host == "" {
			return errf(FieldHost, "URL has no host")
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !isAlpha(c) && !isDigit(c) && c != '.' && c != '-' && c != '_' {
				return errf(FieldHost, "invalid character %q in host %q", c, host)
			}
		}
		u.host = strings.ToLower(host)
	}
	p, e := normPort(u.scheme, port, a)
	if e != nil {
		return e
	}
	u.port = p
	return nil
}

func isBucketChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '.' || c == '-' || c == '_'
}

// normPort returns port without leading zeros, "" when empty or the
// scheme's default port.
func normPort(scheme, port, authority string) (string, *Error) {
	if port == "" {
		return "", nil
	}
	for i := 0; i < len(port); i++ {
		if !isDigit(port[i]) {
			return "", errf(FieldHost, "invalid port %q in host %q: a port is a number", port, authority)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || len(port) > 5 {
		return "", errf(FieldHost, "port %s in host %q is out of range (1-65535)", port, authority)
	}
	if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
		return "", nil
	}
	return strconv.Itoa(n), nil
}

func bucketWordFor(scheme string) string {
	if scheme == "azblob" {
		return "container"
	}
	return "bucket"
}
