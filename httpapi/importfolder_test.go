package httpapi_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/testservers"
)

// TestImportFolderAPI: the folder import endpoint's strict body, its
// errors naming the field, an import with wait=true and again (only the
// new object), the counts in GET /imports/{id}, and cancel of an import
// that is no longer running.
func TestImportFolderAPI(t *testing.T) {
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{"in/a.jpg": "x", "in/b.txt": "x", "in/c.bin": "x"})
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	var p labelhub.Project
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Folders"}`, 201, &p)
	var st labelhub.Storage
	h.must(h.rootKey, "POST", "/api/v1/storages", jsonBody(t, map[string]any{"name": "MinIO", "provider": "s3-compatible",
		"bucket": bucket, "endpoint": endpoint, "credentials": map[string]string{"accessKeyId": ak, "secretAccessKey": sk}}), 201, &st)
	path := "/api/v1/projects/" + p.ID + "/imports/folder"

	for _, c := range []struct{ body, field, msg string }{
		{`{"storageId":"` + st.ID + `","folder":"in/../x"}`, "folder", `".." segment`},
		{`{"storageId":"` + st.ID + `","folder":"/in"}`, "folder", `must not start with "/"`},
		{`{"storageId":"` + st.ID + `","folder":"in\u0007"}`, "folder", "control character"},
		{`{"storageId":"` + st.ID + `","folder":"in","recurse":true}`, "recurse", "is not a field"},
		{`{"folder":"in"}`, "storageId", "is required"},
		{`{"storageId":"` + st.ID + `","files":["in/a.jpg","in/a.jpg"]}`, "files[1]", "repeats files[0]"},
	} {
		r := h.as(h.rootKey, "POST", path, c.body)
		e := wantError(t, r, 400, labelhub.ECodeInvalid)
		wantDetail(t, r, e, c.field, c.msg)
	}

	var im importAnswer
	h.must(h.rootKey, "POST", path+"?wait=true", `{"storageId":"`+st.ID+`","folder":"in"}`, 200, &im)
	wantCountsOf(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 3, SkippedNotAsset: 1, Received: 2, Valid: 2, Imported: 2})
	if im.Options.Folder == nil || im.Options.Folder.Folder != "in/" || im.Options.OnDuplicate != labelhub.DuplicateSkip {
		t.Fatalf("options %+v", im.Options)
	}
	var again importAnswer
	h.must(h.rootKey, "POST", path, `{"storageId":"`+st.ID+`","folder":"in/"}`, 202, &again)
	if again.ImportID == "" {
		t.Fatal("no importId")
	}
	for !(again.State == labelhub.ImportSucceeded || again.State == labelhub.ImportFailed) {
		time.Sleep(10 * time.Millisecond) // poll as a client does
		h.must(h.rootKey, "GET", "/api/v1/imports/"+again.ImportID, "", 200, &again)
	}
	wantCountsOf(t, again, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 3, SkippedNotAsset: 1, Received: 2, Valid: 2, Skipped: 2})
	if n := len(h.assets(h.rootKey, p.ID, "")); n != 2 {
		t.Fatalf("%d assets, want 2", n)
	}
	e := wantError(t, h.as(h.rootKey, "POST", "/api/v1/imports/"+again.ImportID+"/cancel", ""), 409, labelhub.ECodeConflict)
	if e.Error.Message != "the import is succeeded; only a running import can be cancelled" {
		t.Fatalf("cancel of a finished import: %q", e.Error.Message)
	}
}
