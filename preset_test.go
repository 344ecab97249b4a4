package labelhub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var offsetRe = regexp.MustCompile(`at offset (\d+) \(line (\d+), column (\d+)\)`)

// TestConfigJSONProblemCorpus runs the hostile Config JSON texts under
// testdata/presets/bad (each must be refused with a place inside the
// text) and the good ones (each accepted).
func TestConfigJSONProblemCorpus(t *testing.T) {
	bad, _ := filepath.Glob("testdata/presets/bad/*.json")
	good, _ := filepath.Glob("testdata/presets/good/*.json")
	if len(bad) < 10 || len(good) < 4 {
		t.Fatalf("corpus missing: %d bad, %d good", len(bad), len(good))
	}
	for _, file := range bad {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		msg := ConfigJSONProblem(string(b), false)
		if msg == "" {
			t.Errorf("%s: accepted", file)
			continue
		}
		if strings.TrimSpace(string(b)) == "" {
			continue // blank: nothing to point at
		}
		m := offsetRe.FindStringSubmatch(msg)
		if m == nil {
			t.Errorf("%s: %q names no offset", file, msg)
			continue
		}
		if off, _ := strconv.Atoi(m[1]); off < 0 || off > len(b) {
			t.Errorf("%s: offset %d outside the text", file, off)
		}
	}
	for _, file := range good {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if msg := ConfigJSONProblem(string(b), false); msg != "" {
			t.Errorf("%s: refused: %s", file, msg)
		}
	}
}

func TestConfigJSONProblemPlaces(t *testing.T) {
	for _, c := range []struct {
		text      string
		off       int
		line, col int
	}{
		{`{"a": 1,}`, 8, 1, 9},
		{"{\n  \"a\": x\n}", 9, 2, 8},
		{`{"a": 1} {"b": 2}`, 9, 1, 10},
		{`{"é": ?}`, 7, 1, 7},
		{`{"a": [1, 2`, 11, 1, 12},
	} {
		msg := ConfigJSONProblem(c.text, false)
		m := offsetRe.FindStringSubmatch(msg)
		if m == nil {
			t.Errorf("%q: %q", c.text, msg)
			continue
		}
		if m[1] != strconv.Itoa(c.off) || m[2] != strconv.Itoa(c.line) || m[3] != strconv.Itoa(c.col) {
			t.Errorf("%q: %q, want offset %d line %d column %d", c.text, msg, c.off, c.line, c.col)
		}
	}
	if msg := ConfigJSONProblem(`{"k":"`+strings.Repeat("x", MaxConfigJSONBytes)+`"}`, false); !strings.Contains(msg, "longer than") {
		t.Errorf("too large: %q", msg)
	}
	if ConfigJSONProblem("  ", true) != "" || ConfigJSONProblem("  ", false) == "" {
		t.Error("blank handling")
	}
}

func TestPresetInputValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		in       PresetInput
		creating bool
		paths    []string
	}{
		{PresetInput{}, true, []string{"name", "configJSON"}},
		{PresetInput{}, false, nil},
		{PresetInput{Name: s("fast"), ConfigJSON: s(`{"q":1}`)}, true, nil},
		{PresetInput{Name: s(""), ConfigJSON: s(`{`)}, true, []string{"name", "configJSON"}},
		{PresetInput{Name: s(strings.Repeat("n", MaxNameLength+1))}, false, []string{"name"}},
		{PresetInput{ConfigJSON: s(`[1,]`)}, false, []string{"configJSON"}},
	}
	for i, c := range cases {
		err := c.in.Validate(c.creating)
		var got []string
		if e, ok := err.(*Error); ok {
			for _, d := range e.Details {
				got = append(got, d.Path)
			}
		} else if err != nil {
			t.Fatalf("case %d: %T %v", i, err, err)
		}
		if strings.Join(got, ",") != strings.Join(c.paths, ",") {
			t.Errorf("case %d: paths %v, want %v (%v)", i, got, c.paths, err)
		}
	}
}

// FuzzConfigJSONProblem checks that the check never panics, agrees with
// json.Valid (with text in UTF-8, as JSON must be), and points inside the
// text.
func FuzzConfigJSONProblem(f *testing.F) {
	for _, dir := range []string{"bad", "good"} {
		files, _ := filepath.Glob(filepath.Join("testdata/presets", dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 4096 {
				f.Add(string(b))
			}
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		msg := ConfigJSONProblem(text, false)
		valid := strings.TrimSpace(text) != "" && json.Valid([]byte(text)) && utf8.ValidString(text)
		if valid != (msg == "") {
			t.Fatalf("%q: valid=%v but problem %q", text, valid, msg)
		}
		if m := offsetRe.FindStringSubmatch(msg); m != nil {
			if off, _ := strconv.Atoi(m[1]); off < 0 || off > len(text) {
				t.Fatalf("%q: offset %d outside", text, off)
			}
		}
	})
}

// BenchmarkConfigJSONProblem checks a 10 KiB Config JSON (valid, and
// broken near its end), the cost every preset save and run pays.
func BenchmarkConfigJSONProblem(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"classes": [`)
	for i := 0; sb.Len() < 10<<10; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`{"name": "class-` + strconv.Itoa(i) + `", "minArea": 12.5, "keep": true}`)
	}
	valid := sb.String() + "]}"
	broken := sb.String() + ",]}"
	for _, c := range []struct{ name, text string }{{"valid", valid}, {"broken", broken}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				if (ConfigJSONProblem(c.text, false) == "") != (c.name == "valid") {
					b.Fatal("wrong verdict")
				}
			}
		})
	}
}
