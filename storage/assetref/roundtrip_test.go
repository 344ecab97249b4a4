package assetref

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// keyAlphabet mixes plain characters with everything that needs care in a
// URL: space, '+', '%', '?', '#', sub-delims, non-ASCII.
var keyAlphabet = []rune("abcXYZ019-._~ +%?#&=;:@!$'()*,\"<>{}|^`[]\\é日本🙂ß\u00a0\u200b")

// randomKey returns a key Resolve accepts: non-empty segments that are not
// "." or "..", no control characters, at most MaxKeyLen bytes.
func randomKey(r *rand.Rand) string {
	for {
		nseg := 1 + r.IntN(4)
		segs := make([]string, nseg)
		for i := range segs {
			var b strings.Builder
			n := 1 + r.IntN(12)
			for range n {
				b.WriteRune(keyAlphabet[r.IntN(len(keyAlphabet))])
			}
			segs[i] = b.String()
		}
		k := strings.Join(segs, "/")
		if validKey(k) {
			return k
		}
	}
}

func validKey(k string) bool {
	if k == "" || len(k) > MaxKeyLen || !utf8.ValidString(k) ||
		strings.HasPrefix(k, "/") || strings.HasSuffix(k, "/") || strings.Contains(k, "//") {
		return false
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	for _, s := range strings.Split(k, "/") {
		if s == "." || s == ".." {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fixed := []string{"a b.jpg", "a+b.jpg", "a%20b.jpg", "100%", "what?.jpg", "#1.png", "café/日本/🙂.png",
		"a/b/c/d.txt", "..a", "a..", ".hidden", "~user/x", "+", "%2F", "a%2Fb", strings.Repeat("é", MaxKeyLen/2)}
	for _, in := range integrationList[1:] {
		keys := append([]string(nil), fixed...)
		for range 2000 {
			keys = append(keys, randomKey(r))
		}
		urls := URLs(*in)
		for _, k := range keys {
			u := URL(*in, k)
			if v := urls(k); v != u {
				t.Fatalf("URLs(%s)(%q) = %q, URL = %q", in.Provider, k, v, u)
			}
			ref, err := Resolve(u, in)
			if err != nil {
				t.Fatalf("%s: Resolve(URL(%q) = %q): %v", in.Provider, k, u, err)
			}
			if ref.Key != k || ref.Bucket != in.Bucket || ref.Provider != in.Provider || ref.Public {
				t.Fatalf("%s: Resolve(URL(%q) = %q) = %+v", in.Provider, k, u, ref)
			}
			// The URL is plain ASCII and needs no further encoding.
			for i := 0; i < len(u); i++ {
				if u[i] <= ' ' || u[i] >= 0x7f {
					t.Fatalf("URL(%q) = %q has byte %#x", k, u, u[i])
				}
			}
		}
	}
}

func TestURLsOfAnUnusableIntegration(t *testing.T) {
	in := Integration{Provider: S3Compatible}
	if u, v := URL(in, "a.jpg"), URLs(in)("a.jpg"); u != "" || v != "" {
		t.Fatalf("URL %q, URLs %q: want both empty", u, v)
	}
}
