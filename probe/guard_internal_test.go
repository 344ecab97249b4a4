package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDialGuard: the dial-time check holds where the URL check cannot
// (a name that resolves differently later, a redirect): the guarded client
// refuses to connect to 127.0.0.1 at all.
func TestDialGuard(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	for _, base := range []*http.Client{nil, {Transport: &http.Transport{}}} {
		c := newClient(base, false)
		_, err := c.Get(srv.URL)
		if err == nil {
			t.Fatal("the guarded client reached 127.0.0.1")
		}
		e := transportError(context.Background(), err, "example.com")
		pe, ok := e.(*Error)
		if !ok || pe.Kind != KindRefused || !strings.Contains(pe.Error(), "127.0.0.1, a loopback address") || !strings.Contains(pe.Error(), AllowPrivateFlag) {
			t.Errorf("err = %v", e)
		}
	}
	if hits != 0 {
		t.Errorf("%d requests reached the server", hits)
	}
	if _, err := newClient(nil, true).Get(srv.URL); err != nil || hits != 1 {
		t.Errorf("with allowPrivate: %v, %d hits", err, hits)
	}
}
