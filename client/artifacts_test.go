package client_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/labelhub/labelhub/client"
)

func TestAttachmentName(t *testing.T) {
	for header, want := range map[string]string{
		`attachment; filename="result.zip"`:                                       "result.zip",
		`attachment; filename="r_sultat.zip"; filename*=UTF-8''r%C3%A9sultat.zip`: "résultat.zip",
		`attachment; filename="a b's (1).zip"`:                                    "a b's (1).zip",
		`attachment; filename="../../x.zip"`:                                      "x.zip",
		`garbage`:                                                                 "",
	} {
		if got := client.AttachmentName(header); got != want {
			t.Errorf("AttachmentName(%q) = %q, want %q", header, got, want)
		}
	}
}

func safeName(name string) bool {
	if name == "" {
		return true
	}
	if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// testdata/hostile-content-disposition.txt: no header yields a name that
// leaves the folder or hides itself.
func TestAttachmentNameHostileHeaders(t *testing.T) {
	f, err := os.Open("testdata/hostile-content-disposition.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		n++
		if got := client.AttachmentName(line); !safeName(got) {
			t.Errorf("AttachmentName(%q) = %q", line, got)
		}
	}
	if n < 10 {
		t.Fatalf("read only %d headers", n)
	}
}

func FuzzAttachmentName(f *testing.F) {
	for _, s := range []string{`attachment; filename="a.zip"`, `attachment; filename*=UTF-8''..%2Fx`, `attachment; filename="."`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if got := client.AttachmentName(header); !safeName(got) {
			t.Fatalf("AttachmentName(%q) = %q", header, got)
		}
	})
}
