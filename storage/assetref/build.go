package assetref

import "strings"

// URL builds the canonical URL of key in the storage integration in:
//
//   - s3: https://<bucket>.s3.<region>.amazonaws.com/<key> (region
//     us-east-1 when empty; .amazonaws.com.cn for cn- regions). A bucket
//     that is not a single DNS label (dots, upper case, '_') gets the path
//     style https://s3.<region>.amazonaws.com/<bucket>/<key>, since a
//     virtual-hosted https URL would fail the TLS certificate check.
//   - s3-compatible: <endpoint>/<bucket>/<key> (always path style).
//   - gcs: https://storage.googleapis.com/<bucket>/<key>.
//   - azure: https://<account>.blob.core.windows.net/<container>/<blob>.
//
// When the integration has an Endpoint, every provider uses it, path style
// (Azure: <endpoint>/<account>/<container>/<blob>).
//
// Each path segment is percent-encoded exactly: every byte but the RFC 3986
// unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX, so a space is
// %20, '+' is %2B, 'é' is %C3%A9; '/' is kept as the separator. URL does not
// check key; Resolve(URL(in, k), &in) returns k for every key Resolve
// accepts. It returns "" when in is not a usable integration (Resolve
// reports why).
func URL(in Integration, key string) string {
	ig, e := checkIntegration(in)
	if e != nil {
		return ""
	}
	return appendEscaped(ig.prefix(), key)
}

// URLs returns URL(in, ·) for many keys of one integration: in is checked
// once, and each URL is one allocation (a folder import builds one per
// listed object).
func URLs(in Integration) func(key string) string {
	ig, e := checkIntegration(in)
	if e != nil {
		return func(string) string { return "" }
	}
	prefix := ig.prefix()
	return func(key string) string { return appendEscaped(prefix, key) }
}

// escapePath percent-encodes every byte of p except the unreserved
// characters and '/'.
func escapePath(p string) string { return appendEscaped("", p) }

// appendEscaped is prefix followed by escapePath(p).
func appendEscaped(prefix, p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(prefix) + len(p) + len(p)/4)
	b.WriteString(prefix)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
