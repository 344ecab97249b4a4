package probe

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labelhub/labelhub/netguard"
)

// AllowPrivateFlag is the operator setting that lets probes reach private
// addresses, as the messages name it: the same setting as the storage
// endpoints' (netguard.AllowPrivateFlag).
const AllowPrivateFlag = netguard.AllowPrivateFlag

// refused turns the guard's refusal into the probe's error.
func refused(e *netguard.RefusedError) *Error {
	return errorf(KindRefused, "refused to read from %s, %s: the hub does not fetch from loopback, private or link-local addresses unless the operator starts it with %s", e.Shown, e.Why, AllowPrivateFlag)
}

// newClient returns the HTTP client of a Prober: base's transport guarded
// by netguard (unless allowPrivate); another RoundTripper is used as it is,
// unguarded.
func newClient(base *http.Client, allowPrivate bool) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Timeout = 0 // each probe has its own deadline
	t, ok := netguard.Transport(c.Transport, allowPrivate)
	if !ok {
		return c
	}
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 30 * time.Second
	// Range answers must arrive as they are stored: a transparently
	// decompressed body would have other offsets.
	t.DisableCompression = true
	c.Transport = t
	if c.CheckRedirect == nil {
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errorf(KindHTTP, "the storage redirected more than 5 times")
			}
			return nil
		}
	}
	return c
}

// parseURL checks that raw is an absolute http(s) URL and, unless
// allowPrivate, that its host is not (and does not resolve to) a
// non-public address. It returns the URL and the host to name in messages.
func parseURL(ctx context.Context, raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errorf(KindURL, "the asset URL is malformed")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errorf(KindURL, "the asset URL must be http:// or https://, not %q", u.Scheme+":")
	}
	if u.Hostname() == "" {
		return nil, errorf(KindURL, "the asset URL has no host")
	}
	if allowPrivate {
		return u, nil
	}
	return u, checkHost(ctx, u.Hostname())
}

// checkHost refuses a host that is, or resolves to, a non-public address.
func checkHost(ctx context.Context, hostname string) error {
	err := netguard.CheckHost(ctx, hostname)
	var ref *netguard.RefusedError
	var lookup *netguard.LookupError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ref):
		return refused(ref)
	case errors.As(err, &lookup):
		return errorf(KindNetwork, "%s", lookup.Error())
	}
	if e := ctxError(ctx); e != nil {
		return e
	}
	return err
}

// redact returns the URL without query, fragment and user info, for
// messages.
func redact(u *url.URL) string {
	v := *u
	v.RawQuery, v.Fragment, v.User, v.RawFragment = "", "", nil, ""
	return v.String()
}
