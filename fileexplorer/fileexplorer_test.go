package fileexplorer_test

import (
	"strings"
	"testing"

	"github.com/labelhub/labelhub/fileexplorer"
)

// Folders get their trailing "/"; what could leave the bucket's tree or
// name no key is refused with the reason. The runs against a hub are in
// httpapi (TestFileExplorerPluginOnMinIO).
func TestCleanFolder(t *testing.T) {
	for in, want := range map[string]string{"": "", "cats": "cats/", "cats/": "cats/", "odd names/ü+%/": "odd names/ü+%/", "a.b/..c": "a.b/..c/"} {
		if got, err := fileexplorer.CleanFolder(in); err != nil || got != want {
			t.Errorf("CleanFolder(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"..":                      `".." segment`,
		"../x":                    `".." segment`,
		"a/../b":                  `".." segment`,
		"a/./b":                   `"." segment`,
		"/a":                      `must not start with "/"`,
		"a//b":                    `empty segment`,
		"a\x00b":                  "control character",
		"a\nb/":                   "control character",
		"\xff":                    "not valid UTF-8",
		strings.Repeat("a", 1025): "at most 1024",
	} {
		if _, err := fileexplorer.CleanFolder(in); err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "params.folder") {
			t.Errorf("CleanFolder(%q) = %v; want an error with %q", in, err, why)
		}
	}
}
