package assetref

import (
	"errors"
	"testing"
)

func FuzzResolve(f *testing.F) {
	index := map[*Integration]uint8{}
	for i, in := range integrationList {
		index[in] = uint8(i)
	}
	for _, c := range resolveCases {
		if i, ok := index[c.in]; ok {
			f.Add(c.url, i)
		}
	}
	if lines, err := readCorpus(); err == nil {
		for _, l := range lines {
			f.Add(l.url, index[integrations[l.integration]])
		}
	}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		in := integrationList[int(which)%len(integrationList)]
		ref, err := Resolve(raw, in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Field == "" || e.Reason == "" {
				t.Fatalf("Resolve(%q): error %#v is not a complete *Error", raw, err)
			}
			if ref != (Ref{}) {
				t.Fatalf("Resolve(%q) returned %+v with an error", raw, ref)
			}
			return
		}
		if in == nil {
			if ref != (Ref{Public: true}) {
				t.Fatalf("Resolve(%q, nil) = %+v", raw, ref)
			}
			return
		}
		if !validKey(ref.Key) || ref.Bucket != in.Bucket || ref.Provider != in.Provider {
			t.Fatalf("Resolve(%q) = %+v: invalid ref", raw, ref)
		}
		u := URL(*in, ref.Key)
		back, err := Resolve(u, in)
		if err != nil {
			t.Fatalf("Resolve(%q) = %+v, but Resolve(URL(...) = %q): %v", raw, ref, u, err)
		}
		if back != ref {
			t.Fatalf("Resolve(%q) = %+v, but Resolve(%q) = %+v", raw, ref, u, back)
		}
	})
}
