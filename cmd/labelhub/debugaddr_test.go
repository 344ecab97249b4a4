package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDebugAddrServesProfilesToLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	if err := serveDebug(ctx, addr, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "labelhub") {
		t.Fatalf("cmdline over loopback: %s %q", res.Status, body)
	}
	// The same handler refuses a peer that is not loopback.
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for addr, want := range map[string]int{"10.1.2.3:5555": 403, "[2001:db8::1]:80": 403, "garbage": 403, "127.0.0.1:4000": 204, "[::1]:4000": 204} {
		r := httptest.NewRequest("GET", "/debug/pprof/", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("peer %s: status %d, want %d", addr, w.Code, want)
		}
	}
	// Taken address: a clear error naming the flag.
	if err := serveDebug(ctx, addr, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "--debug-addr") {
		t.Fatalf("second listener on %s: %v", addr, err)
	}
}
