package storage

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"gocloud.dev/blob"
	"golang.org/x/oauth2"

	"github.com/labelhub/labelhub"
)

// Check is one step of Validate.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// Validation is the answer of Validate: OK when every check passed.
type Validation struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// The checks, in order.
const (
	CheckCredentials = "credentials"
	CheckBucket      = "bucket"
	CheckList        = "list"
	CheckRead        = "read"
	CheckCORS        = "cors"
)

var checkOrder = []string{CheckCredentials, CheckBucket, CheckList, CheckRead, CheckCORS}

// Validate talks to the bucket of an integration and reports, check by
// check, what works and what to change: the credentials are accepted, the
// bucket exists, listing is allowed, reading one object is allowed, and the
// bucket's CORS lets a browser on origin (the hub's own, like
// https://hub.example.com) GET objects. A failed check makes the checks
// that depend on it "skipped: …" (listed, not OK). Each provider call has
// Options.Timeout. The error is for the integration itself (not found);
// provider failures are in the checks.
func (s *Service) Validate(ctx context.Context, orgID, id, origin string) (Validation, error) {
	b, err := s.Bucket(ctx, orgID, id)
	if err != nil {
		return Validation{}, err
	}
	return b.Validate(ctx, origin), nil
}

type validation struct {
	checks map[string]Check
}

func (v *validation) set(name string, ok bool, format string, args ...any) {
	if _, done := v.checks[name]; done {
		return
	}
	v.checks[name] = Check{Name: name, OK: ok, Message: fmt.Sprintf(format, args...)}
}

// skipRest marks every check not yet decided as skipped for reason.
func (v *validation) skipRest(reason string) {
	for _, n := range checkOrder {
		v.set(n, false, "skipped: %s", reason)
	}
}

func (v *validation) result() Validation {
	out := Validation{OK: true}
	for _, n := range checkOrder {
		c := v.checks[n]
		out.OK = out.OK && c.OK
		out.Checks = append(out.Checks, c)
	}
	return out
}

// Validate runs the checks of Service.Validate on this bucket.
func (b *Bucket) Validate(ctx context.Context, origin string) Validation {
	v := &validation{checks: map[string]Check{}}
	if err := b.conn.acquire(); err != nil {
		v.set(CheckCredentials, false, "%s", err.Error())
		v.skipRest("the integration was changed meanwhile")
		return v.result()
	}
	defer b.conn.release()
	timeout := b.svc.timeout
	// One attempt per call: the first failure is the one to report.
	ctx = policy.WithRetryOptions(ctx, policy.RetryOptions{MaxRetries: -1})
	call := func(fn func(ctx context.Context) error) error {
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return fn(c)
	}
	where := b.p.location()
	unreach := func(f failure) string {
		if f.kind == kPrivate {
			return fmt.Sprintf("cannot reach %s: %s", where, f.detail)
		}
		return unreachable(where, timeout, f.detail)
	}

	// credentials: GCS exchanges the key for a token; the others learn it
	// from the listing below.
	if gp, ok := b.p.(*gcsProvider); ok {
		if gp.conf == nil {
			v.set(CheckCredentials, true, "not sent: %s is used without authentication (an emulator or a GCS-compatible server); the key of %s signs URLs", where, gp.email)
		} else {
			err := call(func(c context.Context) error {
				_, err := gp.conf.TokenSource(context.WithValue(c, oauth2.HTTPClient, gp.hc)).Token()
				return err
			})
			if err != nil {
				f := classify(err)
				if f.kind == kUnreachable || f.kind == kPrivate {
					v.set(CheckCredentials, false, "%s", unreachable(googleTokenURL, timeout, f.detail))
					v.skipRest("Google's token endpoint cannot be reached")
				} else {
					v.set(CheckCredentials, false, "%s", b.authMessage(f))
					v.skipRest("needs accepted credentials")
				}
				return v.result()
			}
			v.set(CheckCredentials, true, "accepted: Google issued a token for %s", gp.email)
		}
	}

	// bucket and list.
	var first string
	err := call(func(c context.Context) error {
		objs, _, err := b.bkt.ListPage(c, blob.FirstPageToken, 10, &blob.ListOptions{BeforeList: b.p.beforeList("", true)})
		for _, o := range objs {
			if name, _ := b.p.listed(o); !o.IsDir && !strings.HasSuffix(name, "/") {
				first = name
				break
			}
		}
		return err
	})
	if err != nil {
		f := classify(err)
		switch f.kind {
		case kUnreachable, kPrivate:
			b.failFirst(v, unreach(f))
			v.skipRest(where + " cannot be reached")
			return v.result()
		case kAuth:
			b.failFirst(v, b.authMessage(f))
			v.skipRest("needs accepted credentials")
			return v.result()
		case kBucketMissing, kObjectMissing:
			v.set(CheckCredentials, true, "accepted")
			v.set(CheckBucket, false, "%s", b.bucketMissing())
			v.skipRest("the bucket does not exist")
			return v.result()
		case kWrongRegion:
			v.set(CheckCredentials, true, "accepted")
			v.set(CheckBucket, false, "%s", b.regionMessage(f))
			v.skipRest("the bucket is in another region")
			return v.result()
		case kDenied:
			v.set(CheckCredentials, true, "accepted (%s knows them)", b.providerName())
			v.set(CheckBucket, true, "exists (listing it is denied)")
			v.set(CheckList, false, "%s", b.deniedMessage(f, "list"))
			v.set(CheckRead, false, "skipped: no object could be listed to try reading")
		default:
			b.failFirst(v, "listing the bucket failed: "+providerSaid(f))
			v.skipRest("the bucket could not be listed")
			return v.result()
		}
	} else {
		v.set(CheckCredentials, true, "accepted")
		v.set(CheckBucket, true, "exists in %s", where)
		if first == "" {
			v.set(CheckList, true, "listing is allowed; the bucket is empty")
		} else {
			v.set(CheckList, true, "listing is allowed")
		}
	}

	// read: the first byte of the first object.
	if _, done := v.checks[CheckRead]; !done {
		if first == "" {
			v.set(CheckRead, true, "bucket is empty; nothing to read")
		} else {
			err := call(func(c context.Context) error {
				o, err := b.p.read(c, first, &byteRange{start: 0, length: 1}, conditions{})
				if err == nil && o.body != nil {
					o.body.Close()
				}
				return err
			})
			if err == nil || classify(err).kind == kRange { // kRange: an empty object, readable
				v.set(CheckRead, true, "can read %q", first)
			} else {
				f := classify(err)
				switch f.kind {
				case kUnreachable, kPrivate:
					v.set(CheckRead, false, "%s", unreach(f))
				case kAuth, kDenied:
					v.set(CheckRead, false, "%s", b.deniedMessage(f, "read"))
				case kObjectMissing:
					v.set(CheckRead, false, "%q was listed but could not be read (deleted meanwhile?): run Validate again", first)
				default:
					v.set(CheckRead, false, "reading %q failed: %s", first, providerSaid(f))
				}
			}
		}
	}

	// cors.
	ok, msg := b.checkCORS(ctx, call, first, origin)
	v.set(CheckCORS, ok, "%s", msg)
	return v.result()
}

// failFirst fails the first check not yet decided.
func (b *Bucket) failFirst(v *validation, msg string) {
	for _, n := range checkOrder {
		if _, done := v.checks[n]; !done {
			v.set(n, false, "%s", msg)
			return
		}
	}
}

// checkOrigin returns the origin in canonical form, or why it is not one.
func checkOrigin(origin string) (string, string) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return "", fmt.Sprintf("%q is not an origin like https://hub.example.com", origin)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), ""
}

// checkCORS sends the preflight a browser sends before a cross-origin GET
// of a signed URL from origin, and says which rule to add when it fails.
// Every provider is checked this way: it tests what a browser does, and
// works where GetBucketCors does not (MinIO keeps CORS in its server
// settings).
func (b *Bucket) checkCORS(ctx context.Context, call func(func(context.Context) error) error, key, origin string) (bool, string) {
	if b.Storage.Delivery == labelhub.DeliveryProxy {
		return true, `not needed: delivery is "proxy", the hub streams the bytes`
	}
	if origin == "" {
		return false, "skipped: no origin given (the hub's public URL, like https://hub.example.com)"
	}
	origin, bad := checkOrigin(origin)
	if bad != "" {
		return false, "skipped: " + bad
	}
	if key == "" {
		key = "labelhub-cors-check"
	}
	t0, valid := window(timeNow(), signWindow)
	target, err := b.p.signURL(key, t0, valid)
	if err != nil {
		return false, "cannot sign a URL to test: " + err.Error()
	}
	var status int
	var acao, acam string
	err = call(func(c context.Context) error {
		req, err := http.NewRequestWithContext(c, http.MethodOptions, target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodGet)
		resp, err := b.svc.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		status = resp.StatusCode
		acao = resp.Header.Get("Access-Control-Allow-Origin")
		acam = resp.Header.Get("Access-Control-Allow-Methods")
		return nil
	})
	if err != nil {
		f := classify(err)
		return false, unreachable(b.p.location(), b.svc.timeout, f.detail)
	}
	methodOK := acam == "" || acam == "*" || containsToken(acam, http.MethodGet)
	if status/100 == 2 && (acao == "*" || strings.EqualFold(acao, origin)) && methodOK {
		return true, fmt.Sprintf("a browser on %s may GET objects (preflight answered %d, Access-Control-Allow-Origin: %s)", origin, status, acao)
	}
	got := fmt.Sprintf("the preflight from %s got HTTP %d", origin, status)
	switch {
	case acao == "":
		got += " without Access-Control-Allow-Origin"
	case acao != "*" && !strings.EqualFold(acao, origin):
		got += " with Access-Control-Allow-Origin: " + acao
	case !methodOK:
		got += " with Access-Control-Allow-Methods: " + acam
	}
	return false, got + "; " + b.corsRule(origin) + `; or set the integration's delivery to "proxy"`
}

func containsToken(list, tok string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// corsRule says exactly which CORS rule to add, in the provider's terms.
func (b *Bucket) corsRule(origin string) string {
	rule := fmt.Sprintf("AllowedOrigins: %s, AllowedMethods: GET, HEAD, AllowedHeaders: *, ExposeHeaders: Content-Length, Content-Range, Content-Type, ETag, MaxAgeSeconds: 3600", origin)
	switch b.Storage.Provider {
	case labelhub.ProviderS3:
		return fmt.Sprintf("add a CORS rule to bucket %q (Permissions → CORS): %s", b.Storage.Bucket, rule)
	case labelhub.ProviderS3Compatible:
		return fmt.Sprintf("add a CORS rule to bucket %q: %s (MinIO keeps CORS in its server settings: set MINIO_API_CORS_ALLOW_ORIGIN=%s)", b.Storage.Bucket, rule, origin)
	case labelhub.ProviderGCS:
		return fmt.Sprintf(`add a CORS rule to bucket %q: %s (gcloud storage buckets update gs://%s --cors-file=cors.json with [{"origin": ["%s"], "method": ["GET", "HEAD"], "responseHeader": ["Content-Length", "Content-Range", "Content-Type", "ETag"], "maxAgeSeconds": 3600}])`,
			b.Storage.Bucket, rule, b.Storage.Bucket, origin)
	default:
		return fmt.Sprintf("add a CORS rule to the Blob service of storage account %s (Resource sharing (CORS) → Blob service): %s", b.Storage.AccountName, strings.Replace(rule, "ExposeHeaders", "ExposedHeaders", 1))
	}
}

// timeNow is time.Now; a variable for tests.
var timeNow = time.Now
