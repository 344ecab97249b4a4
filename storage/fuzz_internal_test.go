package storage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseRange: any Range header is either refused, ignored, or parsed
// into a range whose canonical form parses back to itself.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=10-", "bytes=0-1,3-4", "bytes=abc", "bytes=5-2", "bytes=--1", "bytes= 1 - 2 ", "items=1-2", "bytes=9223372036854775807-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		rg, ok := parseRange(h)
		if !ok || rg == nil {
			return
		}
		if rg.start < 0 && rg.length != -1 || rg.length == 0 || rg.length < -1 {
			t.Fatalf("parseRange(%q) = %+v", h, *rg)
		}
		back, ok := parseRange(rg.header())
		if !ok || back == nil || *back != *rg {
			t.Fatalf("parseRange(%q) = %+v; its header %q parses to %+v, %v", h, *rg, rg.header(), back, ok)
		}
	})
}

// FuzzPageToken: a token parses back for its own prefix only, and garbage
// never panics.
func FuzzPageToken(f *testing.F) {
	f.Add("a/", "b/", []byte("token"), "garbage")
	f.Fuzz(func(t *testing.T, p1, p2 string, provider []byte, garbage string) {
		_, _ = parsePageToken(p1, garbage)
		if len(provider) == 0 {
			return
		}
		tok := pageToken(p1, provider)
		raw, err := parsePageToken(p1, tok)
		if err != nil || string(raw) != string(provider) {
			t.Fatalf("round trip of %q for %q: %q %v", provider, p1, raw, err)
		}
	})
}

// FuzzContentDisposition: whatever the key, the header is one line of
// printable ASCII with exactly one quoted file name free of quotes,
// backslashes and separators.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"a/b.jpg", `x"; y=".html`, "ünï/日本.png", "a\r\nb", "..", "a/", "%41.txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !utf8.ValidString(key) {
			return
		}
		cd := contentDisposition("inline", key)
		for i := 0; i < len(cd); i++ {
			if cd[i] < 0x20 || cd[i] > 0x7e {
				t.Fatalf("%q: byte %#x in %q", key, cd[i], cd)
			}
		}
		if strings.Count(cd, `"`) != 2 || !strings.HasPrefix(cd, `inline; filename="`) {
			t.Fatalf("%q: %q", key, cd)
		}
		_, name, _ := strings.Cut(cd, `filename="`)
		name, _, _ = strings.Cut(name, `"`)
		if name == "" || strings.ContainsAny(name, `\;/%`) {
			t.Fatalf("%q: file name %q", key, name)
		}
	})
}
