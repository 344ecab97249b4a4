package importer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzDecode: no input makes Decode panic or break its promises: counts
// add up, every item is complete, every problem has a path and a message,
// a fatal error points into the file, and reading byte by byte gives the
// same result. small switches to tiny limits, to reach them.
func FuzzDecode(f *testing.F) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".want") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 64<<10 {
			continue // the fuzzer mutates small inputs best
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, small bool) {
		opts := testOptions(t)
		opts.Batches = []string{"req"}
		if small {
			opts.Limits = Limits{MaxItems: 3, MaxItemBytes: 200, MaxStringBytes: 40, MaxDepth: 4,
				MaxDatasetPages: 2, MaxAttachments: 2, MaxBatchesPerItem: 2}
		}
		r := decodeAll(t, bytes.NewReader(data), opts)
		checkInvariants(t, r)
		for _, it := range r.items {
			if it.ExternalID == "" || it.Type == "" {
				t.Fatalf("incomplete item %+v", it)
			}
		}
		for _, e := range r.errs {
			if !strings.HasPrefix(e.Path, "[") || e.Message == "" {
				t.Fatalf("incomplete problem %+v", e)
			}
		}
		var fe *Error
		if errors.As(r.err, &fe) {
			if fe.Offset < 0 || fe.Offset > int64(len(data)) || fe.Line < 1 || fe.Line > bytes.Count(data, []byte{'\n'})+1 || fe.Message == "" {
				t.Fatalf("fatal error %+v out of the file (%d bytes)", fe, len(data))
			}
		} else if r.err != nil {
			t.Fatalf("error %v is not an *Error", r.err)
		}
		if r.counts.Received > opts.Limits.withDefaults().MaxItems+1 {
			t.Fatalf("counts %+v past MaxItems", r.counts)
		}
		slow := decodeAll(t, iotest.OneByteReader(bytes.NewReader(data)), opts)
		if !sameResult(r, slow) {
			t.Fatalf("byte by byte: %+v %v, at once: %+v %v", slow.counts, slow.err, r.counts, r.err)
		}
	})
}
