package main

import (
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// TestImportFolderCommand: labelhub import-folder imports a MinIO folder
// with a progress line and a summary, a second run only the new object and
// says how many were already there; --no-wait prints the id; a bad folder
// is refused naming the field.
func TestImportFolderCommand(t *testing.T) {
	fastProgress(t)
	h := newTestHub(t)
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{"shots/a.jpg": "x", "shots/day 2/b+c.png": "x", "shots/notes.csv": "x"})
	project := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "Folders", "-o", "json"))
	t.Setenv(envStorageSecret, sk)
	st := decodeJSON[labelhub.Storage](t, h.as(t, "storage", "create", "--name", "MinIO", "--provider", "s3-compatible", "--bucket", bucket,
		"--endpoint", endpoint, "--access-key-id", ak, "-o", "json"))

	stdout, stderr, err := h.run(t, "", "import-folder", "--project", project.ID, "--storage", st.ID, "--folder", "shots", "--recursive", "--batch", "shots", "--create-batches")
	if err != nil {
		t.Fatalf("import-folder: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"succeeded in", "imported:  2", "listed:    3 (1 not an asset type)", `folder:    "shots/" and its sub-folders`,
		"2 new assets imported, 0 were already there."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "listed · ") || !strings.Contains(stderr, "already there") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}

	testservers.MinIOPutMany(t, bucket, []string{"shots/day 3/d é.jpg"})
	stdout, _, err = h.run(t, "", "import-folder", "--project", project.ID, "--storage", st.ID, "--folder", "shots/", "--recursive", "--no-progress")
	if err != nil || !strings.Contains(stdout, "1 new asset imported, 2 were already there.") {
		t.Fatalf("second run: %v\n%s", err, stdout)
	}
	assets := h.as(t, "asset", "list", "--project", project.ID, "-o", "json")
	if !strings.Contains(assets, `"shots/day 3/d é.jpg"`) || strings.Count(assets, `"externalId"`) != 3 {
		t.Fatalf("assets:\n%s", assets)
	}

	stdout = h.as(t, "import-folder", "--project", project.ID, "--storage", st.ID, "--file", "shots/a.jpg", "--no-wait")
	if !strings.Contains(stdout, "Folder import ") || !strings.Contains(stdout, "labelhub import status ") {
		t.Fatalf("--no-wait: %s", stdout)
	}
	if msg := h.fails(t, "import-folder", "--project", project.ID, "--storage", st.ID, "--folder", "../up"); !strings.Contains(msg, "folder") || !strings.Contains(msg, `".." segment`) {
		t.Fatalf("bad folder: %s", msg)
	}
}
