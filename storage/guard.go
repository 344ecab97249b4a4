package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/netguard"
)

// AllowPrivateFlag is the operator setting that lets endpoints reach private
// addresses, as the messages name it.
const AllowPrivateFlag = netguard.AllowPrivateFlag

// newTransport returns the transport every provider client of a Service
// shares: base's, guarded by netguard unless allowPrivate, with pool sizes
// for many buckets. A RoundTripper of the caller's own is used as it is,
// unguarded.
func newTransport(base *http.Client, allowPrivate bool) http.RoundTripper {
	var rt http.RoundTripper
	if base != nil {
		rt = base.Transport
	}
	t, ok := netguard.Transport(rt, allowPrivate)
	if !ok {
		return rt
	}
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 60 * time.Second
	t.ForceAttemptHTTP2 = true
	return t
}

// checkEndpoint refuses an endpoint whose host is, or resolves to, a
// non-public address when allowPrivate is false. The dial-time check does
// the same for every connection; this one gives the user a clear answer
// when the integration is created.
func checkEndpoint(ctx context.Context, endpoint string, allowPrivate bool) error {
	if endpoint == "" || allowPrivate {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() == "" {
		return endpointProblem("is not an http:// or https:// URL")
	}
	err = netguard.CheckHost(ctx, u.Hostname())
	var refused *netguard.RefusedError
	var lookup *netguard.LookupError
	switch {
	case errors.As(err, &refused):
		return endpointProblem("points at %s, %s; the hub refuses loopback, private and link-local endpoints unless the operator starts it with %s", refused.Shown, refused.Why, AllowPrivateFlag)
	case errors.As(err, &lookup):
		return endpointProblem("%s: check the host name", lookup.Error())
	}
	return err
}

func endpointProblem(format string, args ...any) error {
	return labelhub.Invalid("invalid storage integration", labelhub.FieldError{Path: "endpoint", Message: fmt.Sprintf(format, args...)})
}
