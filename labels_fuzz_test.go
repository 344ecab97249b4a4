package labelhub

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidateAnswer checks that decoding and validating an answer never
// panics, that a decoding error is an *Error naming one place (found by
// the locator whenever encoding/json fails, and only then), that
// Validate leaves an invalid answer unchanged, and that it is idempotent
// on a valid one. It is seeded from the corpus (labels files are turned
// into answers), except files over 8 KiB, which are tested above and
// would have the fuzzer spend its time minimising their mutations.
func FuzzValidateAnswer(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(labelsCorpusDir, "*.json"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil || len(src) > 8<<10 || filepath.Base(file) == "schema.json" {
			continue
		}
		if l, err := DecodeLabels(src); err == nil && !strings.Contains(file, "_answer_") {
			if b, err := json.Marshal(l.Answer()); err == nil {
				src = b
			}
		}
		f.Add(src)
	}
	f.Add([]byte(formatsTask))
	idx := labelsIndex(f)
	lim := LabelLimits{Pages: 4, MaxPoints: 64, MaxObjects: 64, MaxRelations: 64, MaxText: 256}
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := DecodeAnswer(src)
		// The locator agrees with encoding/json: it finds a misfit exactly
		// when decoding fails (else the error would have no path).
		misfit, found := locateJSONError(src, answerJSONShape)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != ECodeInvalid || len(e.Details) != 1 || e.Details[0].Message == "" {
				t.Fatalf("decode error %#v", err)
			}
			if !found {
				t.Fatalf("decoding failed (%v) but the locator found nothing", err)
			}
			return
		}
		if found {
			t.Fatalf("decoded, but the locator found %s: %s", misfit.Path, misfit.Message)
		}
		before, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("a decoded answer does not encode: %v", err)
		}
		errs := a.Validate(idx, lim, "")
		after, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("a validated answer does not encode: %v", err)
		}
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Path == "" || e.Message == "" {
					t.Fatalf("problem without path or message: %+v", e)
				}
			}
			if string(after) != string(before) {
				t.Fatalf("an invalid answer was changed:\n%s\n%s", before, after)
			}
			return
		}
		if errs := a.Validate(idx, lim, ""); len(errs) > 0 {
			t.Fatalf("valid once, then: %v\n%s", errs, after)
		}
		if again, _ := json.Marshal(a); string(again) != string(after) {
			t.Fatalf("validating again changed the answer:\n%s\n%s", after, again)
		}
		// The normalised answer survives its own JSON.
		b, err := DecodeAnswer(after)
		if err != nil {
			t.Fatalf("the normalised answer does not decode: %v\n%s", err, after)
		}
		if errs := b.Validate(idx, lim, ""); len(errs) > 0 {
			t.Fatalf("the decoded normalised answer is invalid: %v\n%s", errs, after)
		}
		if again, _ := json.Marshal(b); string(again) != string(after) {
			t.Fatalf("the decoded normalised answer changed:\n%s\n%s", after, again)
		}
	})
}
