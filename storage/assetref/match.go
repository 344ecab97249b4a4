package assetref

import (
	"net/url"
	"strings"
)

// integ is a checked Integration.
type integ struct {
	Integration
	region string  // s3: the region, us-east-1 when empty
	ep     *parsed // the parsed Endpoint, nil without one
	epPath string  // the endpoint's raw path without trailing '/'
	epBase string  // scheme://authority + epPath, as given
}

func checkIntegration(in Integration) (*integ, *Error) {
	ig := &integ{Integration: in}
	switch in.Provider {
	case S3, S3Compatible, GCS, Azure:
	default:
		return nil, errf(FieldIntegration, "unknown storage provider %q: want s3, s3-compatible, gcs or azure", string(in.Provider))
	}
	word := ig.bucketWord()
	if in.Bucket == "" {
		return nil, errf(FieldIntegration, "the storage integration has no %s", word)
	}
	for i := 0; i < len(in.Bucket); i++ {
		if !isBucketChar(in.Bucket[i]) {
			return nil, errf(FieldIntegration, "the storage integration's %s %q has the invalid character %q", word, in.Bucket, in.Bucket[i])
		}
	}
	if in.Provider == S3 {
		ig.region = in.Region
		if ig.region == "" {
			ig.region = defaultS3Region
		}
		if !isRegion(ig.region) {
			return nil, errf(FieldIntegration, "the storage integration's region %q is not an AWS region like eu-west-1", in.Region)
		}
	}
	if in.Provider == Azure {
		if in.Account == "" {
			return nil, errf(FieldIntegration, "the Azure storage integration has no account name")
		}
		for i := 0; i < len(in.Account); i++ {
			if c := in.Account[i]; !('a' <= c && c <= 'z') && !isDigit(c) {
				return nil, errf(FieldIntegration, "the storage integration's account %q is not an Azure account name (lower-case letters and digits)", in.Account)
			}
		}
	}
	if in.Provider == S3Compatible && in.Endpoint == "" {
		return nil, errf(FieldIntegration, "the s3-compatible storage integration has no endpoint (like http://127.0.0.1:9000)")
	}
	if in.Endpoint != "" {
		ep, e := parseEndpoint(in.Endpoint)
		if e != nil {
			return nil, errf(FieldIntegration, "the storage integration's endpoint %q: %s", in.Endpoint, e.Reason)
		}
		ig.ep = ep
		ig.epPath = strings.TrimRight(ep.path, "/")
		ig.epBase = in.Endpoint[:ep.pathStart] + ig.epPath
	}
	return ig, nil
}

func parseEndpoint(s string) (*parsed, *Error) {
	if l := strings.ToLower(s); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
		return nil, errf(FieldScheme, "an endpoint is a base URL starting with http:// or https://, like http://127.0.0.1:9000")
	}
	if e := checkChars(s); e != nil {
		return nil, e
	}
	u, e := split(s, nil)
	if e != nil {
		return nil, e
	}
	if u.hasQuery || u.hasFragment {
		return nil, errf(FieldQuery, "an endpoint has no query string or fragment")
	}
	if e := checkEscapes(s, u.pathStart, u.pathStart+len(u.path), FieldPath); e != nil {
		return nil, e
	}
	if strings.Contains(strings.TrimRight(u.path, "/"), "//") {
		return nil, errf(FieldPath, "the endpoint's path has an empty segment (\"//\")")
	}
	if e := u.parseAuthority(); e != nil {
		return nil, e
	}
	return u, nil
}

func (ig *integ) bucketWord() string {
	if ig.Provider == Azure {
		return "container"
	}
	return "bucket"
}

// example is the canonical URL of a key, with "<key>" standing for the key.
func (ig *integ) example() string { return ig.prefix() + "<key>" }

// prefix is the canonical URL of the integration up to the key.
func (ig *integ) prefix() string {
	b := escapePath(ig.Bucket)
	if ig.ep != nil {
		if ig.Provider == Azure {
			return ig.epBase + ig.azureAccountPath() + "/" + b + "/"
		}
		return ig.epBase + "/" + b + "/"
	}
	switch ig.Provider {
	case S3:
		suffix := awsSuffix(ig.region)
		if dnsBucket(ig.Bucket) {
			return "https://" + ig.Bucket + ".s3." + ig.region + suffix + "/"
		}
		return "https://s3." + ig.region + suffix + "/" + b + "/"
	case GCS:
		return "https://storage.googleapis.com/" + b + "/"
	case Azure:
		return "https://" + ig.Account + ".blob.core.windows.net/" + b + "/"
	}
	return ""
}

// azureAccountPath is "/<account>", or "" when the endpoint's path already
// ends with the account (Azurite's BlobEndpoint=http://…/devstoreaccount1).
func (ig *integ) azureAccountPath() string {
	if ig.epPath != "" && ig.epPath[strings.LastIndexByte(ig.epPath, '/')+1:] == ig.Account {
		return ""
	}
	return "/" + ig.Account
}

func awsSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return ".amazonaws.com.cn"
	}
	return ".amazonaws.com"
}

// dnsBucket reports whether a virtual-hosted https URL works for bucket:
// one DNS label (a dot would break the TLS wildcard certificate).
func dnsBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z') && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

// isRegion reports whether s looks like an AWS region: us-east-1,
// us-gov-west-1, ap-southeast-2.
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for _, p := range parts[:len(parts)-1] {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < 'a' || p[i] > 'z' {
				return false
			}
		}
	}
	last := parts[len(parts)-1]
	if last == "" {
		return false
	}
	for i := 0; i < len(last); i++ {
		if !isDigit(last[i]) {
			return false
		}
	}
	return true
}

// loc is what the URL names, before it is compared with the integration.
type loc struct {
	provider     Provider
	account      string // azure, when the URL names one
	accountHost  bool   // account came from the host (case-insensitive)
	bucket       string // decoded; "" when the URL names none
	bucketHost   bool   // bucket came from the host (case-insensitive)
	region       string // s3 via an AWS host: the region, "" when absent
	regionCheck  bool   // the URL is an AWS host form: check the region
	keyRaw       string // escaped key
	s3Scheme     bool   // s3:// (fits s3-compatible too)
	noBucketHint string // how to write the bucket, for the "no bucket" error
}

func (ig *integ) match(u *parsed) (Ref, *Error) {
	l, e := ig.locate(u)
	if e != nil {
		return Ref{}, e
	}
	if l.provider != ig.Provider && !(l.s3Scheme && ig.Provider == S3Compatible) {
		return Ref{}, errf(FieldProvider, "URL is %s (%s) but the storage integration is %s (%s %q): write %s",
			describe(l.provider), l.provider, ig.Provider, ig.bucketWord(), ig.Bucket, ig.example())
	}
	if ig.Provider == Azure && (l.account != "" || l.accountHost) {
		if !(l.account == ig.Account || l.accountHost && strings.EqualFold(l.account, ig.Account)) {
			return Ref{}, errf(FieldAccount, "URL names storage account %q but storage integration uses account %q", l.account, ig.Account)
		}
	}
	if l.bucket == "" {
		return Ref{}, errf(FieldBucket, "URL names no %s: write %s", ig.bucketWord(), ig.example())
	}
	if !(l.bucket == ig.Bucket || l.bucketHost && strings.EqualFold(l.bucket, ig.Bucket)) {
		w := ig.bucketWord()
		return Ref{}, errf(FieldBucket, "URL names %s %q but storage integration uses %s %q", w, l.bucket, w, ig.Bucket)
	}
	if l.regionCheck {
		if l.region == "" && ig.region != defaultS3Region {
			return Ref{}, errf(FieldRegion, "URL has no region, which means %s, but the storage integration's region is %q: add the region: %s",
				defaultS3Region, ig.region, ig.example())
		}
		if l.region != "" && l.region != ig.region {
			return Ref{}, errf(FieldRegion, "URL names region %q but the storage integration's region is %q: write %s", l.region, ig.region, ig.example())
		}
	}
	key, e := decodeKey(l.keyRaw, ig)
	if e != nil {
		return Ref{}, e
	}
	ref := Ref{Provider: ig.Provider, Bucket: ig.Bucket, Key: key}
	switch ig.Provider {
	case S3:
		ref.Region = ig.region
	case S3Compatible:
		ref.Region = ig.Region
	}
	return ref, nil
}

func describe(p Provider) string {
	switch p {
	case S3:
		return "an AWS S3 URL"
	case GCS:
		return "a Google Cloud Storage URL"
	case Azure:
		return "an Azure Blob Storage URL"
	}
	return "an S3-compatible URL"
}

// locate finds what the URL names, by its form.
func (ig *integ) locate(u *parsed) (loc, *Error) {
	if ig.ep != nil && u.web() {
		if l, ok, e := ig.onEndpoint(u); ok || e != nil {
			return l, e
		}
	}
	switch u.scheme {
	case "s3":
		return loc{provider: S3, s3Scheme: true, bucket: u.host, bucketHost: true, keyRaw: trimSlash(u.path)}, nil
	case "gs":
		return loc{provider: GCS, bucket: u.host, bucketHost: true, keyRaw: trimSlash(u.path)}, nil
	case "azblob":
		return loc{provider: Azure, bucket: u.host, bucketHost: true, keyRaw: trimSlash(u.path)}, nil
	}
	h := u.host
	var l loc
	switch {
	case strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn"):
		bucket, region, ok := parseAWSHost(h)
		if !ok {
			return loc{}, errf(FieldHost, "host %q is an AWS host but not an S3 REST endpoint (website and acceleration endpoints are not supported): write %s", h, ig.example())
		}
		l = loc{provider: S3, region: region, regionCheck: true}
		if bucket != "" {
			l.bucket, l.bucketHost, l.keyRaw = bucket, true, trimSlash(u.path)
		} else if e := pathBucket(u.path, &l); e != nil {
			return loc{}, e
		}
	case h == "storage.googleapis.com" || h == "storage.cloud.google.com":
		l = loc{provider: GCS}
		if e := pathBucket(u.path, &l); e != nil {
			return loc{}, e
		}
	case strings.HasSuffix(h, ".storage.googleapis.com"):
		l = loc{provider: GCS, bucket: strings.TrimSuffix(h, ".storage.googleapis.com"), bucketHost: true, keyRaw: trimSlash(u.path)}
	case strings.HasSuffix(h, ".blob.core.windows.net") && !strings.Contains(strings.TrimSuffix(h, ".blob.core.windows.net"), "."):
		l = loc{provider: Azure, account: strings.TrimSuffix(h, ".blob.core.windows.net"), accountHost: true}
		if e := pathBucket(u.path, &l); e != nil {
			return loc{}, e
		}
	default:
		if ig.ep != nil {
			if ig.PathStyle && strings.HasSuffix(h, "."+ig.ep.host) {
				return loc{}, errf(FieldHost, "host %q is a virtual-hosted URL, but the storage integration uses path-style URLs: write %s", h, ig.example())
			}
			return loc{}, errf(FieldHost, "host %q is not the storage integration's endpoint %s: write %s", hostPort(u), ig.epBase, ig.example())
		}
		return loc{}, errf(FieldHost, "host %q is not %s: write %s", hostPort(u), describe(ig.Provider), ig.example())
	}
	if u.port != "" {
		return loc{}, errf(FieldHost, "unexpected port %s for host %q: remove it", u.port, h)
	}
	return l, nil
}

func hostPort(u *parsed) string {
	h := u.host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if u.port != "" {
		h += ":" + u.port
	}
	return h
}

// onEndpoint handles URLs on the integration's endpoint. ok is false when
// the URL is not on the endpoint.
func (ig *integ) onEndpoint(u *parsed) (l loc, ok bool, e *Error) {
	ep := ig.ep
	virtual := false
	switch {
	case u.host == ep.host:
	case (ig.Provider == S3 || ig.Provider == S3Compatible) && !ig.PathStyle &&
		!strings.Contains(ep.host, ":") && strings.HasSuffix(u.host, "."+ep.host):
		virtual = true
	default:
		return loc{}, false, nil
	}
	if u.scheme != ep.scheme {
		return loc{}, true, errf(FieldScheme, "URL uses %s:// but the storage integration's endpoint is %s: write %s", u.scheme, ig.epBase, ig.example())
	}
	if u.port != ep.port {
		return loc{}, true, errf(FieldHost, "URL uses port %s but the storage integration's endpoint is %s: write %s", orDefault(u.port), ig.epBase, ig.example())
	}
	path := u.path
	if ig.epPath != "" {
		if !strings.HasPrefix(path, ig.epPath) || len(path) > len(ig.epPath) && path[len(ig.epPath)] != '/' {
			return loc{}, true, errf(FieldPath, "URL path must start with the endpoint's path %q: write %s", ig.epPath, ig.example())
		}
		path = path[len(ig.epPath):]
	}
	l = loc{provider: ig.Provider}
	if virtual {
		l.bucket, l.bucketHost, l.keyRaw = strings.TrimSuffix(u.host, "."+ep.host), true, trimSlash(path)
		return l, true, nil
	}
	if ig.Provider == Azure && ig.azureAccountPath() != "" {
		// <endpoint>/<account>/<container>/<blob>
		seg, after, found := strings.Cut(trimSlash(path), "/")
		acct, err := url.PathUnescape(seg)
		if err != nil || acct == "" {
			return loc{}, true, errf(FieldAccount, "URL names no storage account: write %s", ig.example())
		}
		l.account, path = acct, ""
		if found {
			path = "/" + after
		}
	}
	if e := pathBucket(path, &l); e != nil {
		return loc{}, true, e
	}
	return l, true, nil
}

func orDefault(port string) string {
	if port == "" {
		return "(default)"
	}
	return port
}

func trimSlash(p string) string { return strings.TrimPrefix(p, "/") }

// pathBucket splits a path-style path /<bucket>/<key> into l.
func pathBucket(path string, l *loc) *Error {
	rest := trimSlash(path)
	seg, key, _ := strings.Cut(rest, "/")
	b, err := url.PathUnescape(seg)
	if err != nil {
		return errf(FieldPath, "invalid percent-escape in the bucket: write a literal '%%' as %%25")
	}
	l.bucket, l.keyRaw = b, key
	return nil
}

// parseAWSHost recognises S3 REST endpoints: [<bucket>.]s3[.dualstack].<region>,
// [<bucket>.]s3-<region>, [<bucket>.]s3, each followed by .amazonaws.com
// (.amazonaws.com.cn). bucket is "" for path style; region is "" when the
// host names none (us-east-1).
func parseAWSHost(h string) (bucket, region string, ok bool) {
	h = strings.TrimSuffix(strings.TrimSuffix(h, ".cn"), ".amazonaws.com")
	labels := strings.Split(h, ".")
	n := len(labels)
	s3 := -1
	switch last := labels[n-1]; {
	case last == "s3":
		s3 = n - 1
	case last == "s3-external-1":
		s3, region = n-1, defaultS3Region
	case strings.HasPrefix(last, "s3-") && isRegion(last[3:]):
		s3, region = n-1, last[3:]
	case n >= 2 && labels[n-2] == "s3" && isRegion(last):
		s3, region = n-2, last
	case n >= 3 && labels[n-3] == "s3" && labels[n-2] == "dualstack" && isRegion(last):
		s3, region = n-3, last
	default:
		return "", "", false
	}
	return strings.Join(labels[:s3], "."), region, true
}
