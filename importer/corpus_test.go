package importer

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The corpus of hostile import files: testdata/imports/NAME (any extension)
// with its expectations in NAME.want, one a line:
//
//	# comment
//	option <name> <value>         Options for this file (see corpusOptions)
//	valid <N>                     N items are emitted
//	fatal <substring>             Decode stops with an error containing substring
//	<index> <path> [<substring>]  the next reported problem: item index, path,
//	                              and optionally a substring of its message
//
// The problems must be reported in this order and no others; without a
// fatal line Decode must succeed.
const corpusDir = "../testdata/imports"

var dumpCorpus = flag.Bool("dump", false, "print what Decode does with each corpus file, in the .want format")

type corpusWant struct {
	opts   Options
	valid  int
	fatal  string
	errors []wantError
}

type wantError struct {
	index     int
	path, msg string
}

func corpusFiles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".want") {
			names = append(names, e.Name())
		}
	}
	return names
}

func readWant(t testing.TB, name string) corpusWant {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name+".want"))
	if err != nil {
		t.Fatalf("%s: %v (every corpus file needs a .want file)", name, err)
	}
	defer f.Close()
	w := corpusWant{opts: testOptions(t), valid: -1}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch key {
		case "option":
			k, v, _ := strings.Cut(rest, " ")
			if err := corpusOption(&w.opts, k, strings.TrimSpace(v)); err != nil {
				t.Fatalf("%s.want:%d: %v", name, n, err)
			}
		case "valid":
			if w.valid, err = strconv.Atoi(rest); err != nil {
				t.Fatalf("%s.want:%d: %v", name, n, err)
			}
		case "fatal":
			w.fatal = rest
		default:
			idx, err := strconv.Atoi(key)
			if err != nil {
				t.Fatalf("%s.want:%d: unknown line %q", name, n, line)
			}
			path, msg := cutPath(rest)
			w.errors = append(w.errors, wantError{index: idx, path: path, msg: strings.TrimSpace(msg)})
		}
	}
	if w.valid < 0 {
		t.Fatalf("%s.want: no valid line", name)
	}
	return w
}

func corpusOption(o *Options, k, v string) error {
	atoi := func() int {
		n, _ := strconv.Atoi(v)
		return n
	}
	switch k {
	case "default-storage":
		o.DefaultStorageID = v
	case "batches":
		o.Batches = strings.Split(v, ",")
	case "max-items":
		o.Limits.MaxItems = atoi()
	case "max-item-bytes":
		o.Limits.MaxItemBytes = atoi()
	case "max-batches":
		o.Limits.MaxBatchesPerItem = atoi()
	case "max-attachments":
		o.Limits.MaxAttachments = atoi()
	case "max-pages":
		o.Limits.MaxDatasetPages = atoi()
	default:
		return fmt.Errorf("unknown option %q", k)
	}
	return nil
}

func TestCorpus(t *testing.T) {
	names := corpusFiles(t)
	if len(names) < 40 {
		t.Fatalf("%s has %d files, want at least 40", corpusDir, len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, name))
			if err != nil {
				t.Fatal(err)
			}
			if *dumpCorpus {
				w := readWantOptional(t, name)
				dump(t, name, decodeAll(t, bytes.NewReader(data), w))
				return
			}
			want := readWant(t, name)
			got := decodeAll(t, bytes.NewReader(data), want.opts)
			checkInvariants(t, got)
			if want.fatal == "" && got.err != nil {
				t.Errorf("Decode failed: %v", got.err)
			}
			if want.fatal != "" && (got.err == nil || !strings.Contains(got.err.Error(), want.fatal)) {
				t.Errorf("Decode error = %v, want one containing %q", got.err, want.fatal)
			}
			if got.counts.Valid != want.valid {
				t.Errorf("valid items = %d, want %d", got.counts.Valid, want.valid)
			}
			for i := 0; i < max(len(got.errs), len(want.errors)); i++ {
				switch {
				case i >= len(got.errs):
					t.Errorf("missing problem %d %s %s", want.errors[i].index, want.errors[i].path, want.errors[i].msg)
				case i >= len(want.errors):
					t.Errorf("unexpected problem %d %s: %s", got.errs[i].Index, got.errs[i].Path, got.errs[i].Message)
				default:
					g, w := got.errs[i], want.errors[i]
					if g.Index != w.index || g.Path != w.path || !strings.Contains(g.Message, w.msg) {
						t.Errorf("problem %d = %d %s: %s\n                 want %d %s …%s…", i, g.Index, g.Path, g.Message, w.index, w.path, w.msg)
					}
				}
			}
		})
	}
}

// readWantOptional reads the options of a .want file, if there is one.
func readWantOptional(t *testing.T, name string) Options {
	if _, err := os.Stat(filepath.Join(corpusDir, name+".want")); err != nil {
		return testOptions(t)
	}
	return readWant(t, name).opts
}

func dump(t *testing.T, name string, r result) {
	var b strings.Builder
	fmt.Fprintf(&b, "==== %s\n", name)
	for _, e := range r.errs {
		fmt.Fprintf(&b, "%d %s %s\n", e.Index, e.Path, e.Message)
	}
	fmt.Fprintf(&b, "valid %d\n", r.counts.Valid)
	if r.err != nil {
		fmt.Fprintf(&b, "fatal %s\n", r.err)
	}
	for _, it := range r.items {
		fmt.Fprintf(&b, "  item %d line %d %q type=%s url=%q text=%.30q ds=%q md=%s cd=%s b=%q st=%q probe=%v att=%v pl=%v\n",
			it.Index, it.Line, it.ExternalID, it.Type, it.URL, it.Text, it.Dataset, it.Metadata, it.ContextData, it.Batches, it.StorageID, it.NeedsProbe, it.Attachments, it.PreLabels != nil)
	}
	fmt.Print(b.String())
}

// checkInvariants checks what holds for every input.
func checkInvariants(t testing.TB, r result) {
	t.Helper()
	c := r.counts
	if c.Valid+c.Invalid != c.Received || c.Valid != len(r.items) {
		t.Errorf("inconsistent counts %+v with %d items emitted", c, len(r.items))
	}
	seen := map[int]bool{}
	for _, e := range r.errs {
		seen[e.Index] = true
		if !strings.HasPrefix(e.Path, "[") || e.Message == "" || e.Line < 1 {
			t.Errorf("incomplete problem %+v", e)
		}
		if !strings.HasPrefix(e.Path, indexPath(e.Index)) {
			t.Errorf("problem %+v: path does not start with its index", e)
		}
	}
	if len(seen) != c.Invalid {
		t.Errorf("counts %+v, but problems were reported for %d items", c, len(seen))
	}
	for i, it := range r.items {
		if it.ExternalID == "" || it.Type == "" || it.Line < 1 {
			t.Errorf("incomplete item %+v", it)
		}
		if n := btoi(it.URL != "") + btoi(len(it.Dataset) > 0) + btoi(it.Text != ""); n != 1 {
			t.Errorf("item %d has not exactly one of URL, Dataset, Text", it.Index)
		}
		if i > 0 && it.Index <= r.items[i-1].Index {
			t.Errorf("items out of order: %d after %d", it.Index, r.items[i-1].Index)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cutPath splits "path message" at the first space outside a quoted key.
func cutPath(s string) (path, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ' ' && !quoted:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
