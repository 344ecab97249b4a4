package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "#\t") {
			continue
		}
		if strings.Contains(line, `\x`) {
			u, err := strconv.Unquote(`"` + line + `"`)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			line = u
		}
		out = append(out, line)
	}
	return out
}

var tree = fstest.MapFS{
	"a.jpg":           {Data: []byte("x")},
	"b.jpg":           {Data: []byte("x")},
	"cats/c1.jpg":     {Data: []byte("x")},
	"cats/2024/x.jpg": {Data: []byte("x")},
	"dogs/d.jpg":      {Data: []byte("x")},
	"z.png":           {Data: []byte("x")},
}

// Paging walks the whole folder once, in order, folders with "/".
func TestListPages(t *testing.T) {
	var folders, files []string
	tok := ""
	pages := 0
	for {
		res, err := listPage(tree, "", tok, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		folders, files = append(folders, res.Folders...), append(files, res.Files...)
		if res.ScrollToken == nil {
			break
		}
		tok = *res.ScrollToken
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 || strings.Join(folders, ",") != "cats/,dogs/" || strings.Join(files, ",") != "a.jpg,b.jpg,z.png" {
		t.Fatalf("%d pages: folders %v files %v", pages, folders, files)
	}
	res, err := listPage(tree, "cats", "", 10)
	if err != nil || strings.Join(res.Folders, ",") != "cats/2024/" || strings.Join(res.Files, ",") != "cats/c1.jpg" || res.ScrollToken != nil {
		t.Fatalf("cats: %+v %v", res, err)
	}
	if _, err := listPage(tree, "nope/", "", 10); err == nil {
		t.Fatal("a missing folder listed")
	}
}

func TestHostileFoldersAndTokens(t *testing.T) {
	folders := readLines(t, filepath.Join("testdata", "hostile-folders.txt"))
	tokens := readLines(t, filepath.Join("testdata", "hostile-tokens.txt"))
	if len(folders) < 10 || len(tokens) < 5 {
		t.Fatalf("read %d folders, %d tokens", len(folders), len(tokens))
	}
	for _, f := range folders {
		if res, err := listPage(tree, f, "", 10); err == nil {
			t.Errorf("folder %q listed: %+v", f, res)
		}
	}
	for _, tok := range tokens {
		if res, err := listPage(tree, "", tok, 10); err == nil {
			t.Errorf("token %q accepted: %+v", tok, res)
		}
	}
}

// The root folder cannot be left, through '..' or a symbolic link.
func TestRootIsNotLeft(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("x"), 0o600)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "in"), 0o700)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("no symbolic links here")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if res, err := listPage(root.FS(), "link/", "", 10); err == nil {
		t.Fatalf("listed through a link out of the root: %+v", res)
	}
	res, err := listPage(root.FS(), "", "", 10)
	if err != nil || strings.Join(res.Folders, ",") != "in/" || strings.Join(res.Files, ",") != "link" {
		t.Fatalf("root: %+v %v", res, err)
	}
}

// Whatever folder and token come in, a listing names only entries inside
// the folder asked for.
func FuzzListPage(f *testing.F) {
	for _, s := range []string{"", "cats/", "../", "cats/2024", "a//b"} {
		f.Add(s, "")
	}
	f.Add("", encodeToken("b.jpg"))
	f.Fuzz(func(t *testing.T, folder, token string) {
		res, err := listPage(tree, folder, token, 3)
		if err != nil {
			return
		}
		clean, _ := cleanFolder(folder)
		for _, p := range append(res.Folders, res.Files...) {
			if !strings.HasPrefix(p, clean) || strings.Contains(p, "..") || strings.HasPrefix(p, "/") {
				t.Fatalf("folder %q token %q listed %q", folder, token, p)
			}
		}
	})
}
