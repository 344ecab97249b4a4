package web_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// onePixelPNG is a 1×1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// TestBrowserImportAssets: sign in, open a project's Assets tab, upload an
// NDJSON file of 3 public-URL images and 1 invalid item, watch the import
// finish, see the 3 assets and the error, open an asset.
func TestBrowserImportAssets(t *testing.T) {
	chromium := testservers.Chromium(t)
	store, _, _ := orgStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := imports.New(imports.Config{Store: store, SpoolDir: t.TempDir(), Logger: log})
	defer runner.Close()
	srv := serveHub(t, store, web.Config{Logger: log, Imports: runner}, httpapi.Config{Logger: log, Imports: runner})
	defer srv.Close()
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(onePixelPNG)
	}))
	defer images.Close()

	var items strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&items, `{"externalId":"street-%d","data":"%s/img/street-%d.png","metadata":{"width":1,"height":1,"camera":"front-%d"},"contextData":{"route":"A%d"}}`+"\n", i, images.URL, i, i, i)
	}
	items.WriteString(`{"externalId":"broken","data":"https://example.com/broken.jpg","metadata":{"width":"wide"}}` + "\n")
	file := filepath.Join(t.TempDir(), "assets.ndjson")
	if err := os.WriteFile(file, []byte(items.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, chromium, 90*time.Second, 1000)
	defer b.close()

	b.signIn(srv.URL + "/projects")
	b.do("create a project",
		chromedp.SendKeys(chromedp.ID("project-name"), "Street scenes"),
		chromedp.Click(chromedp.CSS(`#create-project button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("project-title")),
	)
	b.do("open the Assets tab", chromedp.Click(chromedp.ID("tab-assets")), chromedp.WaitVisible(chromedp.ID("import-form")))
	if got := b.text("#no-assets"); !strings.Contains(got, "No assets yet") {
		t.Fatalf("empty list says %q", got)
	}
	b.do("upload the file",
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}),
		chromedp.SendKeys(chromedp.ID("import-new-batches"), "day-1"),
		chromedp.Click(chromedp.ID("import-submit")),
	)
	b.poll("the import finishes", `document.querySelector("#import-result[data-done]") !== null`)
	b.poll("three assets listed", `document.querySelectorAll("#asset-rows tr").length === 3`)
	if got := b.text("#import-state"); got != "succeeded" {
		t.Fatalf("state %q", got)
	}
	if got := b.text(`#import-counts [data-count="imported"]`); got != "3" {
		t.Fatalf("imported %q", got)
	}
	if got := b.text(`#import-counts [data-count="invalid"]`); got != "1" {
		t.Fatalf("invalid %q", got)
	}
	errs := b.text("#import-error-rows")
	if !strings.Contains(errs, "[3].metadata.width") || !strings.Contains(errs, "4") {
		t.Fatalf("error table %q", errs)
	}
	list := b.text("#asset-rows")
	for i := 1; i <= 3; i++ {
		if !strings.Contains(list, fmt.Sprintf("street-%d", i)) {
			t.Fatalf("list lacks street-%d: %q", i, list)
		}
	}
	if !strings.Contains(list, "day-1") || !strings.Contains(list, "image") {
		t.Fatalf("list lacks the batch or type: %q", list)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/tmp/labelhub-ui-assets.png", shot, 0o644); err != nil {
		t.Logf("could not save the screenshot: %v", err)
	}

	// Filters: the type select and the externalId search.
	b.do("filter", chromedp.SendKeys(chromedp.ID("filter-external-id"), "street-2"),
		chromedp.Click(chromedp.CSS(`#asset-filters button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("asset-rows")))
	// The submit navigates; until the new page is in, #asset-rows may still
	// be the old page's, so wait for the filtered list.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// A read that races the navigation fails; try again.
		got, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#asset-rows")))
		if err == nil && strings.Contains(got, "street-2") && !strings.Contains(got, "street-1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("filtered list %q (%v)", got, err)
		}
	}

	// The asset page: metadata, contextData, batches and a preview.
	b.do("open an asset", chromedp.Click(chromedp.CSS(`#asset-rows a`)), chromedp.WaitVisible(chromedp.ID("asset-metadata")))
	if got := b.text("#asset-title"); got != "street-2" {
		t.Fatalf("title %q", got)
	}
	if got := b.text("#asset-metadata"); !strings.Contains(got, `"camera": "front-2"`) || !strings.Contains(got, `"width": 1`) {
		t.Fatalf("metadata %q", got)
	}
	if got := b.text("#asset-context-data"); !strings.Contains(got, `"route": "A2"`) {
		t.Fatalf("contextData %q", got)
	}
	if got := b.text("#asset-batches"); got != "day-1" {
		t.Fatalf("batches %q", got)
	}
	b.poll("the preview loads through /content", `document.getElementById("asset-preview").complete && document.getElementById("asset-preview").naturalWidth === 1`)
}
