package web_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// screenshotStorage is where the storage browser test leaves a picture of
// the validated integration for people to look at.
const screenshotStorage = "/tmp/labelhub-ui-storage.png"

// TestBrowserStorage connects a MinIO bucket through the Storage page in
// headless Chromium: the provider select shows the right fields, the form
// creates the integration, Validate shows the checks, Browse the objects.
func TestBrowserStorage(t *testing.T) {
	chromium := testservers.Chromium(t)
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{"street/cam1.jpg": "jpeg", "street/cam2.jpg": "jpeg", "readme.md": "# data", "dump.zip": "zip"})
	store, _, _ := orgStore(t)
	box, err := seal.New(bytes.Repeat([]byte{6}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	storages := storage.NewService(store, storage.Options{Box: box, AllowPrivateEndpoints: true})
	defer storages.Close()
	srv := serveHub(t, store, web.Config{Storage: storages}, httpapi.Config{Storage: storages})
	defer srv.Close()

	b := newBrowser(t, chromium, 60*time.Second, 1000)
	defer b.close()
	eval := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	hidden := func(sel string) bool {
		t.Helper()
		return eval(`document.querySelector(` + jsString(sel) + `).offsetParent === null`)
	}

	b.signIn(srv.URL + "/login")
	b.do("open Storage from the navigation",
		chromedp.Click(chromedp.CSS(`.nav a[href="/storages"]`)),
		chromedp.WaitVisible(chromedp.ID("create-storage")),
	)
	screenshot := func(path string) {
		t.Helper()
		if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(path, shot, 0o644)
		}
	}
	if !eval(`document.querySelector('.nav a[href="/storages"]').classList.contains("active")`) {
		t.Fatal("the Storage navigation entry is not active")
	}

	// The script shows the chosen provider's fields only.
	if hidden("#storage-secret-access-key") || !hidden("#storage-service-account-json") || !hidden("#storage-account-key") {
		t.Fatal("with s3 chosen, the S3 fields should show and the others hide")
	}
	b.do("choose s3-compatible", chromedp.Evaluate[chromedp.Void](`(function () {
		var s = document.getElementById("storage-provider");
		s.value = "s3-compatible";
		s.dispatchEvent(new Event("change", {bubbles: true}));
	})()`))
	if hidden("#storage-access-key-id") || hidden("#storage-region") || !hidden("input[name=pathStyle]") || !hidden("#storage-account-name") {
		t.Fatal("with s3-compatible chosen: access key and region show, path style and Azure hide")
	}
	b.do("choose gcs and back", chromedp.Evaluate[chromedp.Void](`(function () {
		var s = document.getElementById("storage-provider");
		s.value = "gcs"; s.dispatchEvent(new Event("change"));
	})()`))
	if !hidden("#storage-access-key-id") || hidden("#storage-service-account-file") {
		t.Fatal("with gcs chosen: the key file shows, the access key hides")
	}
	b.do("fill in the form",
		chromedp.Evaluate[chromedp.Void](`(function () {
			var s = document.getElementById("storage-provider");
			s.value = "s3-compatible"; s.dispatchEvent(new Event("change"));
		})()`),
		chromedp.SendKeys(chromedp.ID("storage-name"), "Lab MinIO"),
		chromedp.SendKeys(chromedp.ID("storage-bucket"), bucket),
		chromedp.SendKeys(chromedp.ID("storage-endpoint"), endpoint),
		chromedp.SendKeys(chromedp.ID("storage-access-key-id"), ak),
		chromedp.SendKeys(chromedp.ID("storage-secret-access-key"), sk),
	)
	screenshot("/tmp/labelhub-ui-storages.png")
	b.do("create the integration",
		chromedp.Click(chromedp.ID("create-storage-submit")),
		chromedp.WaitVisible(chromedp.ID("storage-title")),
	)
	if got := b.text(".flash"); !strings.Contains(got, "Storage integration created") {
		t.Fatalf("flash %q", got)
	}
	if got := b.text("#storage-details"); !strings.Contains(got, "s3-compatible") || !strings.Contains(got, endpoint) ||
		!strings.Contains(got, "secretAccessKey") || strings.Contains(got, sk) {
		t.Fatalf("details: %q", got)
	}

	b.do("validate",
		chromedp.Click(chromedp.CSS(`#validate-storage button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("checks")),
	)
	checks := b.text("#checks")
	for _, want := range []string{"✓", "credentials", "bucket", "list", "read", "cors", "listing is allowed"} {
		if !strings.Contains(checks, want) {
			t.Fatalf("checks lack %q:\n%s", want, checks)
		}
	}
	if !eval(`document.querySelectorAll("#checks li.check-ok").length === 5`) {
		t.Fatalf("not every check passed:\n%s", checks)
	}
	if got := b.text("#validation"); !strings.Contains(got, "All checks passed") || !strings.Contains(got, srv.URL) {
		t.Fatalf("validation summary: %q", got)
	}
	screenshot(screenshotStorage)

	b.do("browse",
		chromedp.Click(chromedp.ID("browse-storage")),
		chromedp.WaitVisible(chromedp.ID("objects-table")),
	)
	table := b.text("#objects-table")
	for _, want := range []string{"street", "readme.md", "✓ text", "dump.zip", "not an asset"} {
		if !strings.Contains(table, want) {
			t.Fatalf("browse table lacks %q:\n%s", want, table)
		}
	}
	b.do("open a folder",
		chromedp.Click(chromedp.CSS(`#object-rows tr.folder-row a`)),
		chromedp.WaitVisible(chromedp.CSS(`#folder-path [aria-current=location]`)),
	)
	if got := b.text("#objects-table"); !strings.Contains(got, "cam1.jpg") || !strings.Contains(got, "✓ image") {
		t.Fatalf("folder street/: %q", got)
	}
	if got := b.text("#folder-path"); !strings.Contains(got, bucket) || !strings.Contains(got, "street") {
		t.Fatalf("breadcrumbs: %q", got)
	}
	screenshot("/tmp/labelhub-ui-storage-browse.png")
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
