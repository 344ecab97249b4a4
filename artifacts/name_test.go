package artifacts_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
)

func nameProblems(name string) labelhub.Problems {
	var p labelhub.Problems
	artifacts.ValidName(&p, "name", name)
	return p
}

func TestValidNameAccepts(t *testing.T) {
	for _, name := range []string{"result.zip", "export-2026-11-22.zip", "COCO (final) v2.zip", "données_été.json", "結果.zip",
		"a", "x+y=z,@~[1]#&!'.tar.gz", strings.Repeat("a", 255)} {
		if p := nameProblems(name); len(p) != 0 {
			t.Errorf("%q refused: %v", name, p)
		}
	}
}

// testdata/hostile-names.txt: every line must be refused, at path "name".
func TestValidNameRefusesHostileNames(t *testing.T) {
	f, err := os.Open("testdata/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "#\t") || line == "" {
			continue
		}
		name := line
		if line == "<256 a>" {
			name = strings.Repeat("a", 256)
		} else if strings.Contains(line, `\`) && !strings.Contains(line, `:\`) && line != `a\b` {
			u, err := strconv.Unquote(`"` + strings.ReplaceAll(line, `"`, `\"`) + `"`)
			if err != nil {
				t.Fatalf("testdata line %q: %v", line, err)
			}
			name = u
		}
		n++
		p := nameProblems(name)
		if len(p) != 1 || p[0].Path != "name" || p[0].Message == "" {
			t.Errorf("%q: problems %v, want one at \"name\"", name, p)
		}
	}
	if n < 20 {
		t.Fatalf("only %d hostile names read", n)
	}
}

// Whatever ValidName accepts is a plain file name: valid UTF-8, within the
// limit, no separators or control characters, not a dot name.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"result.zip", "../x", "a/b", "..", "結果.zip", "\x00", "a\u202eb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if len(nameProblems(name)) == 0 {
			if !utf8.ValidString(name) || len(name) == 0 || len(name) > artifacts.MaxNameBytes || strings.ContainsAny(name, "/\\\x00\r\n\t\"%;") ||
				name == "." || name == ".." || strings.HasPrefix(name, ".") {
				t.Fatalf("accepted %q", name)
			}
			for _, c := range name {
				if c < 0x20 || c == 0x7f || c == 0x202e {
					t.Fatalf("accepted %q with %U", name, c)
				}
			}
		}
	})
}

func TestContentType(t *testing.T) {
	for _, c := range []struct{ name, declared, want string }{
		{"result.zip", "", "application/zip"},
		{"result.ZIP", "", "application/zip"},
		{"result.zip", "application/x-custom; v=1", "application/x-custom; v=1"},
		{"result.zip", "not a type", "application/zip"},
		{"result", "", "application/octet-stream"},
		{"result.zip", "application/x-www-form-urlencoded", "application/zip"}, // curl --data-binary's default
	} {
		if got := artifacts.ContentType(c.name, c.declared); got != c.want {
			t.Errorf("ContentType(%q, %q) = %q, want %q", c.name, c.declared, got, c.want)
		}
	}
}
