package convertertest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"io"
	"iter"
	"os"
	"path/filepath"
	"testing"

	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/*.golden)")

//go:embed testdata/project.json
var projectJSON []byte

//go:embed testdata/assets.ndjson
var assetsNDJSON []byte

// Project is the fixture's project: its name and category schema, with a
// tool of every kind and nested classifications.
func Project(t testing.TB) plugin.Project {
	t.Helper()
	var p plugin.Project
	if err := json.Unmarshal(projectJSON, &p); err != nil {
		t.Fatalf("the fixture's project: %v", err)
	}
	return p
}

// Assets are the fixture's assets, as the export stream yields them.
func Assets(t testing.TB) iter.Seq2[*plugin.ExportedAsset, error] {
	t.Helper()
	var list []*plugin.ExportedAsset
	sc := bufio.NewScanner(bytes.NewReader(assetsNDJSON))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		a := new(plugin.ExportedAsset)
		if err := json.Unmarshal(sc.Bytes(), a); err != nil {
			t.Fatalf("the fixture's asset %d: %v", len(list)+1, err)
		}
		list = append(list, a)
	}
	return Slice(list...)
}

// Slice yields the given assets.
func Slice(list ...*plugin.ExportedAsset) iter.Seq2[*plugin.ExportedAsset, error] {
	return func(yield func(*plugin.ExportedAsset, error) bool) {
		for _, a := range list {
			if !yield(a, nil) {
				return
			}
		}
	}
}

// Run calls write into a zip in memory and returns the zip's files by
// name (and their order in names) and the report. An error of write is
// returned as it is; the files are those of the zip as far as it got.
func Run[C any](ctx context.Context, write converters.WriteFunc[C], p plugin.Project, cfg C, assets iter.Seq2[*plugin.ExportedAsset, error]) (files map[string][]byte, names []string, rep *converters.Report, err error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	rep = converters.NewReport(nil)
	err = write(ctx, p, cfg, assets, zw, rep)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, rep, err
	}
	zr, zerr := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if zerr != nil {
		return nil, nil, rep, zerr
	}
	files = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, nil, rep, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, nil, rep, err
		}
		files[f.Name] = b
		names = append(names, f.Name)
	}
	return files, names, rep, nil
}

// Golden compares got with testdata/NAME.golden of the calling package;
// with -update it rewrites the file instead.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update after checking the change):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
