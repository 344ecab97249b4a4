package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
)

var (
	tokOrg = labelhub.NewID()
	tokPrj = labelhub.NewID()
	tokRun = labelhub.NewID()
)

func sampleClaims(kind urlKind, exp time.Time) urlClaims {
	c := urlClaims{Kind: kind, Org: tokOrg, Project: tokPrj, Run: tokRun, Exp: exp.Unix()}
	switch kind {
	case urlExport:
		c.Format, c.Stage, c.Batches, c.History = labelhub.ExportNDJSON, "review", []string{labelhub.NewID()}, true
		c.After = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC).Format(time.RFC3339Nano)
	case urlUpload:
		c.Name = "result (1).zip"
	}
	return c
}

// rawToken signs payload as it is, so that the checks after the MAC can
// be reached with any claims.
func rawToken(s *urlSigner, kind urlKind, payload []byte) string {
	return tokenEncoding.EncodeToString(payload) + "." + tokenEncoding.EncodeToString(s.mac(kind, payload))
}

func TestV2TokenRoundTrip(t *testing.T) {
	s := newURLSigner([]byte("key"))
	exp := time.Now().Add(time.Hour)
	for _, k := range urlKinds {
		c := sampleClaims(k, exp)
		tok := s.sign(c)
		if strings.ContainsAny(tok, "&;+#%=/? ") {
			t.Errorf("%s token %q has a character unsafe in a query", k, tok)
		}
		got, err := s.parse(k, tok)
		c.V = 1
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("%s: %+v, %v; want %+v", k, got, err, c)
		}
		for _, other := range urlKinds {
			if other != k {
				if _, err := s.parse(other, tok); err == nil {
					t.Errorf("a %s token passes as %s", k, other)
				}
			}
		}
		if _, err := newURLSigner([]byte("another key")).parse(k, tok); err == nil {
			t.Errorf("%s: another key accepts the token", k)
		}
	}
	// Keys derived from the server key are stable and labelled apart.
	if a, b := URLKeyFrom([]byte("server")), URLKeyFrom([]byte("server")); string(a) != string(b) || string(a) == "server" {
		t.Error("URLKeyFrom is not a stable derivation")
	}
}

// Expired tokens are refused by the parser and by each route that takes
// one, with a message that says so.
func TestV2TokenExpired(t *testing.T) {
	key := []byte("expiry key")
	s := newURLSigner(key)
	srv := httptest.NewServer(New(Config{URLKey: key}))
	defer srv.Close()
	past := time.Now().Add(-time.Second)
	for _, c := range []struct {
		kind          urlKind
		method, route string
	}{{urlExport, "GET", "/v2/exports/"}, {urlUpload, "PUT", "/v2/upload/"}, {urlDownload, "GET", "/v2/download/"}} {
		tok := s.sign(sampleClaims(c.kind, past))
		if _, err := s.parse(c.kind, tok); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("%s: parse of an expired token: %v", c.kind, err)
		}
		req, _ := http.NewRequest(c.method, srv.URL+c.route+tok, strings.NewReader("x"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error labelhub.Error `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || !strings.Contains(e.Error.Message, "expired") {
			t.Errorf("%s %s with an expired token: %d %+v", c.method, c.route, res.StatusCode, e)
		}
	}
}

// Tokens the hub signed but whose claims it would never make are refused
// like forged ones: the checks after the MAC hold on their own.
func TestV2TokenHostileClaims(t *testing.T) {
	s := newURLSigner([]byte("key"))
	exp := time.Now().Add(time.Hour).Unix()
	ok := func(kind urlKind) map[string]any {
		b, _ := json.Marshal(sampleClaims(kind, time.Unix(exp, 0)))
		m := map[string]any{}
		_ = json.Unmarshal(b, &m)
		m["v"] = 1
		return m
	}
	with := func(kind urlKind, k string, v any) map[string]any {
		m := ok(kind)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		kind    urlKind
		payload any
	}{
		{urlExport, with(urlExport, "v", 2)},
		{urlExport, with(urlExport, "k", "upload")},
		{urlExport, with(urlExport, "o", "not an id")},
		{urlExport, with(urlExport, "o", nil)},
		{urlExport, with(urlExport, "p", nil)},
		{urlExport, with(urlExport, "e", nil)},
		{urlExport, with(urlExport, "e", -5)},
		{urlExport, with(urlExport, "e", 1e300)},
		{urlExport, with(urlExport, "f", "xml")},
		{urlExport, with(urlExport, "s", "../etc")},
		{urlExport, with(urlExport, "s", strings.Repeat("s", 65))},
		{urlExport, with(urlExport, "b", []string{})},
		{urlExport, with(urlExport, "b", []string{"x"})},
		{urlExport, with(urlExport, "b", make([]string, maxURLBatches+1))},
		{urlExport, with(urlExport, "ua", "yesterday")},
		{urlExport, with(urlExport, "n", "x.zip")},
		{urlExport, with(urlExport, "extra", true)},
		{urlExport, with(urlExport, "o", 42)},
		{urlUpload, with(urlUpload, "n", nil)},
		{urlUpload, with(urlUpload, "n", "../x.zip")},
		{urlUpload, with(urlUpload, "n", ".env")},
		{urlUpload, with(urlUpload, "n", "a\x00b")},
		{urlUpload, with(urlUpload, "r", nil)},
		{urlUpload, with(urlUpload, "f", "ndjson")},
		{urlDownload, with(urlDownload, "r", "' OR 1=1 --")},
		{urlDownload, with(urlDownload, "n", "x.zip")},
		{urlDownload, with(urlDownload, "h", true)},
		{urlExport, "a string"},
		{urlExport, []any{1, 2}},
		{urlExport, nil},
	}
	for i, c := range cases {
		b, _ := json.Marshal(c.payload)
		if _, err := s.parse(c.kind, rawToken(s, c.kind, b)); err != errBadURLToken {
			t.Errorf("case %d (%s %s): %v, want the refusal", i, c.kind, b, err)
		}
	}
	good, _ := json.Marshal(ok(urlExport))
	for _, b := range [][]byte{append(append([]byte{}, good...), []byte(` {}`)...), append(append([]byte{}, good...), 'x'), good[:len(good)-1]} {
		if _, err := s.parse(urlExport, rawToken(s, urlExport, b)); err != errBadURLToken {
			t.Errorf("%q: %v", b, err)
		}
	}
	if _, err := s.parse(urlExport, rawToken(s, urlExport, good)); err != nil {
		t.Errorf("the good payload: %v", err)
	}
}

// FuzzV2Token: the parser never panics, accepts nothing unsigned, and what
// it accepts (from payloads signed as they are) is claims the handlers
// could have made, which sign back to the same claims.
func FuzzV2Token(f *testing.F) {
	s := newURLSigner([]byte("fuzz key"))
	exp := time.Now().Add(24 * time.Hour)
	for _, k := range urlKinds {
		tok := s.sign(sampleClaims(k, exp))
		p64, _, _ := strings.Cut(tok, ".")
		payload, _ := tokenEncoding.DecodeString(p64)
		f.Add(tok, payload)
	}
	f.Add("", []byte(`{}`))
	f.Add("a.b.c", []byte(`{"v":1,"k":"export"}`))
	f.Add(strings.Repeat("A", 100)+"."+strings.Repeat("_", 43), []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, tok string, payload []byte) {
		for _, k := range urlKinds {
			if c, err := s.parse(k, tok); err == nil {
				// Only a token signed with the key passes; the seeds are.
				if !c.valid(k) || s.sign(c) != tok && !sameClaims(t, s, k, c) {
					t.Fatalf("accepted %q as %s: %+v", tok, k, c)
				}
			}
			c, err := s.parse(k, rawToken(s, k, payload))
			if err != nil {
				continue
			}
			if !c.valid(k) || c.Kind != k {
				t.Fatalf("accepted invalid claims %+v from %q", c, payload)
			}
			if !sameClaims(t, s, k, c) {
				t.Fatalf("claims %+v do not survive signing again", c)
			}
		}
	})
}

func sameClaims(t *testing.T, s *urlSigner, k urlKind, c urlClaims) bool {
	t.Helper()
	again, err := s.parse(k, s.sign(c))
	return err == nil && reflect.DeepEqual(again, c)
}
