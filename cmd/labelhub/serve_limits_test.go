package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
)

// TestImportLimitsFromEnvironment starts the real binary with a lowered
// item limit and checks that an import over it stops, naming the setting.
func TestImportLimitsFromEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	hub := startHubProcess(t, bin, data, addr, "LABELHUB_IMPORT_MAX_ITEMS=2")
	kb, err := os.ReadFile(filepath.Join(data, "initial-admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(kb))
	var project labelhub.Project
	apiCall(t, "POST", hub.url+"/api/v1/projects", key, strings.NewReader(`{"name":"limits"}`), 201, &project)
	body := `{"externalId":"a","data":"https://example.com/a.jpg"}
{"externalId":"b","data":"https://example.com/b.jpg"}
{"externalId":"c","data":"https://example.com/c.jpg"}
`
	var im labelhub.Import
	apiCall(t, "POST", hub.url+"/api/v1/projects/"+project.ID+"/imports?wait=true", key, strings.NewReader(body), 200, &im)
	if im.State != labelhub.ImportFailed || !strings.Contains(im.Error+errorsText(im), "import-max-items") {
		t.Fatalf("an import over --import-max-items=2 gave %+v", im)
	}
}

func errorsText(im labelhub.Import) string {
	var b strings.Builder
	for _, e := range im.Errors {
		b.WriteString(e.Path + " " + e.Message + "\n")
	}
	return b.String()
}
