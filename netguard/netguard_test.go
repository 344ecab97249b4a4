package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestReason(t *testing.T) {
	for a, want := range map[string]string{
		"8.8.8.8": "", "1.1.1.1": "", "2606:4700:4700::1111": "", "64:ff9b::808:808": "",
		"127.0.0.1": "a loopback address", "::1": "a loopback address", "::ffff:127.0.0.1": "a loopback address",
		"10.1.2.3": "a private address", "172.31.255.255": "a private address", "192.168.0.1": "a private address",
		"fd00::1": "a private address", "64:ff9b::a00:1": "a private address", // NAT64 of 10.0.0.1
		"169.254.169.254": "a link-local address", "fe80::1": "a link-local address", "224.0.0.1": "a link-local address",
		"0.0.0.0": "the unspecified address", "::": "the unspecified address",
		"239.1.1.1":  "a multicast address",
		"100.64.0.1": "a reserved address", "192.0.2.1": "a reserved address", "255.255.255.255": "a reserved address",
	} {
		if got := Reason(netip.MustParseAddr(a)); got != want {
			t.Errorf("Reason(%s) = %q, want %q", a, got, want)
		}
	}
}

func TestDialControl(t *testing.T) {
	if err := DialControl("tcp", "8.8.8.8:443", nil); err != nil {
		t.Errorf("a public address was refused: %v", err)
	}
	err := DialControl("tcp", "[::1]:9000", nil)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "::1 is a loopback address") || !strings.Contains(err.Error(), AllowPrivateFlag) {
		t.Errorf("DialControl(::1) = %v", err)
	}
}

func TestCheckHost(t *testing.T) {
	ctx := context.Background()
	for host, want := range map[string]string{
		"localhost":       "localhost is a loopback name",
		"App.Localhost.":  "app.localhost is a loopback name",
		"127.0.0.1":       "127.0.0.1 is a loopback address",
		"[::1]":           "[::1] (::1) is a loopback address",
		"169.254.169.254": "169.254.169.254 is a link-local address",
		"10.0.0.1":        "10.0.0.1 is a private address",
	} {
		err := CheckHost(ctx, host)
		var re *RefusedError
		if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckHost(%s) = %v, want %q…", host, err, want)
		}
	}
	if err := CheckHost(ctx, "8.8.8.8"); err != nil {
		t.Errorf("CheckHost(8.8.8.8) = %v", err)
	}
	var le *LookupError
	if err := CheckHost(ctx, "no-such-host.invalid"); !errors.As(err, &le) {
		t.Errorf("CheckHost of an unresolvable name = %v, want a LookupError", err)
	}
}

// TestTransport: the guarded transport does not connect to loopback at all;
// with the operator's setting it does; a foreign RoundTripper is not guarded.
func TestTransport(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	guarded, ok := Transport(nil, false)
	if !ok || guarded.Proxy != nil {
		t.Fatalf("Transport(nil, false) = %v, %v", guarded, ok)
	}
	_, err := (&http.Client{Transport: guarded}).Get(srv.URL)
	var re *RefusedError
	if !errors.As(err, &re) || hits != 0 {
		t.Fatalf("guarded GET of loopback: %v (hits %d)", err, hits)
	}
	open, _ := Transport(&http.Transport{}, true)
	resp, err := (&http.Client{Transport: open}).Get(srv.URL)
	if err != nil || hits != 1 {
		t.Fatalf("allowed GET of loopback: %v (hits %d)", err, hits)
	}
	resp.Body.Close()
	if _, ok := Transport(roundTripFunc(nil), false); ok {
		t.Fatal("a foreign RoundTripper was reported as guarded")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
