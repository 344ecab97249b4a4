package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// AllowPrivateFlag is the operator setting that lifts the guard, as
// messages name it.
const AllowPrivateFlag = "--allow-private-endpoints"

// nonPublic lists ranges that are not covered by netip's predicates but are
// not the public internet either.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Reason says why addr is not a public unicast address ("a loopback
// address", …), or "" when it is one.
func Reason(addr netip.Addr) string {
	addr = addr.Unmap()
	// NAT64 (64:ff9b::/96) embeds an IPv4 address: judge that one.
	if addr.Is6() && nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case !addr.IsValid():
		return "an invalid address"
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "a link-local address"
	case addr.IsUnspecified():
		return "the unspecified address"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return "a reserved address"
		}
	}
	return ""
}

// RefusedError is a host or address the guard refuses.
type RefusedError struct {
	Shown string // the host as written, with its address when they differ
	Why   string // what Reason said, or "a loopback name"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is %s; the hub refuses those unless started with %s", e.Shown, e.Why, AllowPrivateFlag)
}

// LookupError is a host name that did not resolve.
type LookupError struct {
	Host, Reason string
}

func (e *LookupError) Error() string { return fmt.Sprintf("cannot resolve %s (%s)", e.Host, e.Reason) }

// DialControl is a net.Dialer Control function that refuses connections to
// non-public addresses. It runs on the address actually dialled.
func DialControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return &RefusedError{Shown: host, Why: "not an IP address"}
	}
	if why := Reason(addr); why != "" {
		return &RefusedError{Shown: addr.String(), Why: why}
	}
	return nil
}

// Transport returns a clone of base (nil: http.DefaultTransport) with a new
// dialer; unless allowPrivate, the dialer refuses non-public addresses and
// no HTTP proxy is used (a proxy is usually a private address itself).
// ok is false when base is a RoundTripper of the caller's own, which
// cannot be guarded; the caller then uses base as it is.
func Transport(base http.RoundTripper, allowPrivate bool) (t *http.Transport, ok bool) {
	if base == nil {
		base = http.DefaultTransport
	}
	bt, ok := base.(*http.Transport)
	if !ok {
		return nil, false
	}
	t = bt.Clone()
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = DialControl
		t.Proxy = nil
	}
	t.DialContext = d.DialContext
	return t, true
}

// CheckHost refuses a host that is, or resolves to, a non-public address:
// a *RefusedError, or a *LookupError when the name does not resolve, or
// the context's error.
func CheckHost(ctx context.Context, hostname string) error {
	host := strings.TrimSuffix(strings.ToLower(hostname), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return &RefusedError{Shown: host, Why: "a loopback name"}
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			reason := "no address"
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) {
				reason = dnsErr.Err
			}
			return &LookupError{Host: host, Reason: reason}
		}
	}
	for _, a := range addrs {
		if why := Reason(a); why != "" {
			shown := host
			if shown != a.String() {
				shown = fmt.Sprintf("%s (%s)", host, a)
			}
			return &RefusedError{Shown: shown, Why: why}
		}
	}
	return nil
}
