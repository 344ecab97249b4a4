package assetref

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Provider names the kind of object store of a storage integration.
type Provider string

// The providers.
const (
	S3           Provider = "s3"
	S3Compatible Provider = "s3-compatible"
	GCS          Provider = "gcs"
	Azure        Provider = "azure"
)

// Integration is what the resolver needs to know of a storage integration.
type Integration struct {
	Provider Provider
	// Bucket is the bucket, or the Azure container.
	Bucket string
	// Region is the AWS region (s3; empty means us-east-1). For
	// s3-compatible it is copied into Ref.Region as is.
	Region string
	// Endpoint is the base URL of the service, like http://127.0.0.1:9000.
	// Required for s3-compatible; optional for the others (an emulator such
	// as fake-gcs-server or Azurite). May carry a base path.
	Endpoint string
	// PathStyle (s3-compatible, s3 with an Endpoint): when false,
	// <scheme>://<bucket>.<endpoint-host>/<key> is accepted too.
	PathStyle bool
	// Account is the Azure storage account name.
	Account string
}

// Ref is the storage location an asset URL names.
type Ref struct {
	Provider Provider
	Bucket   string // bucket, or Azure container
	Key      string // object key (blob name), decoded
	Region   string // s3: the region; s3-compatible: the integration's region
	// Public is set, and nothing else, when Resolve was called without an
	// integration and the URL is a valid public http(s) URL.
	Public bool
}

// Fields of an Error: the part of the URL (or the integration) at fault.
const (
	FieldURL         = "url"         // the URL as a whole, or its scheme separator
	FieldScheme      = "scheme"      // unsupported or mismatched scheme
	FieldHost        = "host"        // host, port, credentials
	FieldBucket      = "bucket"      // bucket or container
	FieldAccount     = "account"     // Azure storage account
	FieldRegion      = "region"      // AWS region
	FieldProvider    = "provider"    // URL of another provider than the integration's
	FieldPath        = "path"        // characters or escapes of the URL path
	FieldKey         = "key"         // the decoded object key
	FieldQuery       = "query"       // query string
	FieldFragment    = "fragment"    // #fragment
	FieldIntegration = "integration" // missing or unusable storage integration
)

// Error is the error Resolve returns. Reason is a message a person can act
// on; Field says which part is wrong.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func errf(field, format string, args ...any) *Error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// MaxKeyLen is the longest key accepted, in bytes of UTF-8 (the S3, GCS
// and Azure limit).
const MaxKeyLen = 1024

const defaultS3Region = "us-east-1"

// Resolve maps an asset URL to the storage location it names, in the
// storage integration in. With in == nil only public http(s) URLs are valid;
// they are validated, not decoded, and Resolve returns Ref{Public: true}.
// The rules are in the package documentation. Every error is an *Error.
func Resolve(rawURL string, in *Integration) (Ref, error) {
	ref, e := resolve(rawURL, in)
	if e != nil {
		return Ref{}, e
	}
	return ref, nil
}

func resolve(raw string, in *Integration) (Ref, *Error) {
	var ig *integ
	if in != nil {
		var e *Error
		if ig, e = checkIntegration(*in); e != nil {
			return Ref{}, e
		}
	}
	u, e := parse(raw, ig)
	if e != nil {
		return Ref{}, e
	}
	if ig == nil {
		return Ref{Public: true}, nil
	}
	return ig.match(u)
}

// parse does everything that does not depend on the integration's
// provider: characters, scheme, split, fragment, query, escapes, authority.
func parse(raw string, ig *integ) (*parsed, *Error) {
	if raw == "" {
		return nil, errf(FieldURL, "empty URL: give the absolute URL of the file%s", exampleSuffix(ig))
	}
	if len(raw) >= 3 && isAlpha(raw[0]) && raw[1] == ':' && (raw[2] == '\\' || raw[2] == '/') {
		return nil, errf(FieldURL, "%q looks like a Windows file path, not a URL: put the file in a bucket and give its URL", raw[:3])
	}
	if e := checkChars(raw); e != nil {
		return nil, e
	}
	u, e := split(raw, ig)
	if e != nil {
		return nil, e
	}
	if ig == nil && u.scheme != "http" && u.scheme != "https" {
		return nil, errf(FieldIntegration, "this %s:// URL needs a storage integration: name one (storageId), or give a public https:// URL", u.scheme)
	}
	if u.hasFragment {
		return nil, errf(FieldFragment, "URL has a fragment (#…): remove it; if '#' is part of the file name, encode it as %%23")
	}
	if u.hasQuery && ig != nil {
		return nil, errf(FieldQuery, "remove the query string; labelhub signs URLs itself (if '?' is part of the file name, encode it as %%3F)")
	}
	if e := checkEscapes(raw, u.pathStart, u.pathStart+len(u.path), FieldPath); e != nil {
		return nil, e
	}
	if u.hasQuery {
		if e := checkEscapes(raw, u.queryStart, u.queryStart+len(u.query), FieldQuery); e != nil {
			return nil, e
		}
	}
	if e := u.parseAuthority(); e != nil {
		return nil, e
	}
	return u, nil
}

// decodeKey decodes the raw (escaped) key once and checks it.
func decodeKey(rawKey string, ig *integ) (string, *Error) {
	if rawKey == "" {
		return "", errf(FieldKey, "URL names the %s %q but no object key: add the file's key after it, e.g. %s", ig.bucketWord(), ig.Bucket, ig.example())
	}
	k, err := url.PathUnescape(rawKey)
	if err != nil { // cannot happen after checkEscapes; kept for safety
		return "", errf(FieldPath, "invalid percent-escape: write a literal '%%' as %%25")
	}
	if !utf8.ValidString(k) {
		b := firstInvalidUTF8(k)
		return "", errf(FieldKey, "percent-escapes in the key decode to invalid UTF-8 (byte 0x%02X): keys are UTF-8, encode each character as its UTF-8 bytes (é is %%C3%%A9, not %%E9)", b)
	}
	if e := checkKey(k); e != nil {
		return "", e
	}
	return k, nil
}

// CheckKey reports why an object key cannot be an asset's key (the rules
// Resolve applies to a URL's decoded key), or nil. It does no I/O.
func CheckKey(key string) error {
	if key == "" {
		return errf(FieldKey, "the key is empty")
	}
	if !utf8.ValidString(key) {
		return errf(FieldKey, "the key is not valid UTF-8 (byte 0x%02X)", firstInvalidUTF8(key))
	}
	if e := checkKey(key); e != nil {
		return e
	}
	return nil
}

// checkKey checks a decoded, valid UTF-8 key.
func checkKey(k string) *Error {
	for _, r := range k {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errf(FieldKey, "the key contains control character U+%04X (written %s): remove it", r, pctEncode(string(r)))
		}
	}
	if len(k) > MaxKeyLen {
		return errf(FieldKey, "the key is %d bytes long; object keys are at most %d bytes", len(k), MaxKeyLen)
	}
	if strings.HasPrefix(k, "/") || strings.Contains(k, "//") {
		return errf(FieldKey, "the key has an empty path segment (\"//\"): remove the extra '/'")
	}
	if strings.HasSuffix(k, "/") {
		return errf(FieldKey, "the key ends with '/', which names a folder, not a file: give the file's full key")
	}
	for _, seg := range strings.Split(k, "/") {
		if seg == "." || seg == ".." {
			return errf(FieldKey, "the key has a %q path segment: give the key without \".\" and \"..\" segments (HTTP clients would rewrite it)", seg)
		}
	}
	return nil
}

func firstInvalidUTF8(s string) byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return s[i]
		}
		i += n
	}
	return 0
}

// pctEncode writes every byte of s as %XX.
func pctEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func exampleSuffix(ig *integ) string {
	if ig == nil {
		return ", e.g. https://example.com/images/cat.jpg"
	}
	return ", e.g. " + ig.example()
}
