package web_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// TestBrowserFileExplorer imports a MinIO folder from the File Explorer
// dialog in headless Chromium: pick the integration (a broken one first:
// its error shows in place), browse folders with odd names, go back with
// the breadcrumbs, load more, see a non-asset marked, import the folder
// with its sub-folders into a new batch, watch the session end with the
// right counts, and import again: everything is already there.
func TestBrowserFileExplorer(t *testing.T) {
	chromium := testservers.Chromium(t)
	h := newExplorerHub(t, map[string]string{
		"scenes/day one/cam 2.jpg": "jpeg", "scenes/day one/cam+1.jpg": "jpeg", "scenes/day one/été.png": "png",
		"scenes/day one/dump.zip": "zip", "scenes/day one/deep/x.jpg": "jpeg", "scenes/other.jpg": "jpeg", "root.jpg": "jpeg",
	}, 3)
	ctx := context.Background()
	broken, err := h.storages.Create(ctx, h.org.ID, h.admin.ID, labelhub.StorageInput{Name: "Gone", Provider: labelhub.ProviderS3Compatible,
		Bucket: "no-such-bucket-" + strings.ToLower(h.org.ID), Endpoint: h.integration.Endpoint,
		Credentials: labelhub.StorageCredentials{AccessKeyID: "nobody", SecretAccessKey: "nothing-at-all"}})
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, chromium, 150*time.Second, 1000)
	defer b.close()
	b.pollFor = 45 * time.Second
	// navigate runs an action that leaves the page and waits for the next
	// one to hold the element id.
	navigate := func(what string, action chromedp.Action[chromedp.Void], id string) {
		t.Helper()
		b.eval("mark the page", `(function () { window.oldPage = true; return ""; })()`)
		b.do(what, action)
		b.settle(what, `!window.oldPage && document.readyState === "complete" && document.getElementById(`+jsString(id)+`) !== null`)
	}
	rows := func() string {
		t.Helper()
		return b.eval("rows", `Array.prototype.map.call(document.querySelectorAll("#explorer-rows tr"), function (tr) {
			return tr.getAttribute("data-folder") || tr.getAttribute("data-key"); }).join("|")`)
	}
	pick := func(id string) {
		t.Helper()
		navigate("pick an integration", chromedp.Evaluate[chromedp.Void](`(function () { var s = document.getElementById("explorer-integration");
			s.value = `+jsString(id)+`; s.dispatchEvent(new Event("change")); })()`), "explorer")
	}
	screenshot := func(path string) {
		if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(path, shot, 0o644)
		}
	}

	b.signIn(h.srv.URL + "/projects")
	b.do("open the project's Plugins tab", chromedp.Navigate(h.srv.URL+"/projects/"+h.project.ID+"/plugins"),
		chromedp.WaitVisible(chromedp.ID("project-plugin-rows")))
	navigate("open the File Explorer", chromedp.Click(chromedp.CSS(`[data-open-plugin="`+h.plugin.ID+`"]`)), "explorer-integration")
	if got := b.eval("project", `document.getElementById("explorer-project").value`); got != "Street scenes" {
		t.Fatalf("project %q", got)
	}
	if got := b.eval("open button", `String(document.getElementById("explorer-open").hidden)`); got != "true" {
		t.Fatal("with scripts the Open button should be hidden: the select opens the bucket")
	}

	// The broken integration: the plugin's error shows in the dialog.
	pick(broken.ID)
	if got := b.text("#explorer-error"); !strings.Contains(got, "Bucket explorer could not list the folder") || !strings.Contains(got, "session") {
		t.Fatalf("error %q", got)
	}

	// The lab's bucket: prefilled, read-only.
	pick(h.integration.ID)
	if got := b.eval("bucket", `document.getElementById("explorer-bucket").value + " " + document.getElementById("explorer-bucket").readOnly`); got != h.bucket+" true" {
		t.Fatalf("bucket field %q", got)
	}
	if got := rows(); got != "root.jpg|scenes/" && got != "scenes/|root.jpg" {
		t.Fatalf("root rows %q", got)
	}
	navigate("open scenes/", chromedp.Click(chromedp.CSS(`tr[data-folder="scenes/"] a`)), "explorer-rows")
	navigate("open day one/", chromedp.Click(chromedp.CSS(`tr[data-folder="scenes/day one/"] a`)), "explorer-rows")
	navigate("open deep/", chromedp.Click(chromedp.CSS(`tr[data-folder="scenes/day one/deep/"] a`)), "explorer-rows")
	if got := b.text("#explorer-path"); !strings.Contains(got, h.bucket) || !strings.Contains(got, "day one") || !strings.Contains(got, "deep") {
		t.Fatalf("breadcrumbs %q", got)
	}
	// Back up one level with the breadcrumbs.
	navigate("breadcrumb day one", chromedp.Click(chromedp.CSS(`#explorer-path a[data-prefix="scenes/day one/"]`)), "explorer-rows")
	if got := b.eval("current", `document.querySelector("#explorer-path [aria-current=location]").textContent`); got != "day one" {
		t.Fatalf("current folder %q", got)
	}
	first := rows()
	if n := strings.Count(first, "|") + 1; n != 3 {
		t.Fatalf("the first page has %d rows: %q", n, first)
	}
	b.do("load more", chromedp.Click(chromedp.CSS(`a[data-load-more="explorer-rows"]`)))
	b.poll("the next page is added", `document.querySelectorAll("#explorer-rows tr").length === 5`)
	b.poll("no more pages", `document.querySelector('a[data-load-more="explorer-rows"]') === null`)
	all := rows()
	for _, want := range []string{"scenes/day one/cam 2.jpg", "scenes/day one/cam+1.jpg", "scenes/day one/été.png", "scenes/day one/dump.zip", "scenes/day one/deep/"} {
		if !strings.Contains(all, want) {
			t.Fatalf("rows lack %q: %q", want, all)
		}
	}
	if got := b.text(`tr[data-key="scenes/day one/dump.zip"]`); !strings.Contains(got, "✗ not an asset") || !strings.Contains(got, "3 B") {
		t.Fatalf("the zip row %q", got)
	}
	if got := b.text(`tr[data-key="scenes/day one/été.png"]`); !strings.Contains(got, "✓ image") {
		t.Fatalf("the png row %q", got)
	}
	// Selecting a file enables "Import selected files".
	if got := b.eval("disabled", `String(document.getElementById("explorer-import-files").disabled)`); got != "true" {
		t.Fatal("with nothing selected, Import selected files should be disabled")
	}
	b.do("select a file", chromedp.Click(chromedp.CSS(`tr[data-key="scenes/day one/cam+1.jpg"] input.file-check`)))
	b.poll("the selection is counted", `document.getElementById("explorer-selected").textContent === "1 file selected" && !document.getElementById("explorer-import-files").disabled`)
	b.do("unselect it", chromedp.Click(chromedp.CSS(`tr[data-key="scenes/day one/cam+1.jpg"] input.file-check`)))

	b.do("include sub-folders, name a batch",
		chromedp.Click(chromedp.ID("explorer-recursive")),
		chromedp.SendKeys(chromedp.ID("explorer-new-batch"), "week 12"))
	screenshot("/tmp/labelhub-ui-file-explorer.png")
	navigate("import the folder", chromedp.Click(chromedp.ID("explorer-import-folder")), "explorer-summary")

	// The session: the bar fills, the state ends succeeded, the summary counts.
	b.runSucceeds("the import")
	b.poll("the summary arrives", `document.querySelector('[data-summary="imported"]').textContent === "4"`)
	summary := func() string {
		return b.eval("summary", `Array.prototype.map.call(document.querySelectorAll("#explorer-counts dd"), function (dd) {
			return dd.getAttribute("data-summary") + "=" + dd.textContent; }).join(" ")`)
	}
	if got := summary(); got != "listed=5 imported=4 alreadyThere=0 notAssets=1 invalid=0" {
		t.Fatalf("summary %q", got)
	}
	if got := b.eval("progress", `String(document.getElementById("run-progress").value) + "/" + String(document.getElementById("run-progress").max)`); got != "5/5" {
		t.Fatalf("progress bar at %s", got)
	}
	if got := b.text("#explorer-what"); !strings.Contains(got, "scenes/day one/") || !strings.Contains(got, "sub-folders") || !strings.Contains(got, "week 12") {
		t.Fatalf("what was imported: %q", got)
	}
	screenshot("/tmp/labelhub-ui-file-explorer-session.png")
	keys := h.assetKeys()
	for _, want := range []string{"scenes/day one/cam 2.jpg", "scenes/day one/cam+1.jpg", "scenes/day one/été.png", "scenes/day one/deep/x.jpg"} {
		if !keys[want] {
			t.Fatalf("asset %q missing: %v", want, keys)
		}
	}
	if len(keys) != 4 {
		t.Fatalf("assets %v", keys)
	}
	batches, err := h.store.ListBatches(ctx, h.org.ID, h.project.ID, labelhub.PageRequest{})
	if err != nil || len(batches.Items) != 1 || batches.Items[0].Name != "week 12" {
		t.Fatalf("batches %+v, %v", batches.Items, err)
	}
	inBatch, err := h.store.ListAssets(ctx, h.org.ID, h.project.ID, labelhub.AssetFilter{BatchID: batches.Items[0].ID}, labelhub.PageRequest{})
	if err != nil || len(inBatch.Items) != 4 {
		t.Fatalf("assets in the batch: %d, %v", len(inBatch.Items), err)
	}

	// Again, from the session's link: nothing new.
	navigate("import again", chromedp.Click(chromedp.ID("run-explorer-again")), "explorer-rows")
	if got := b.eval("current", `document.querySelector("#explorer-path [aria-current=location]").textContent`); got != "day one" {
		t.Fatalf("import again opens %q", got)
	}
	b.do("include sub-folders", chromedp.Click(chromedp.ID("explorer-recursive")))
	navigate("import the folder again", chromedp.Click(chromedp.ID("explorer-import-folder")), "explorer-summary")
	b.runSucceeds("the import")
	b.poll("the summary arrives", `document.querySelector('[data-summary="alreadyThere"]').textContent === "4"`)
	if got := summary(); got != "listed=5 imported=0 alreadyThere=4 notAssets=1 invalid=0" {
		t.Fatalf("summary of the second import %q", got)
	}
	if n := len(h.assetKeys()); n != 4 {
		t.Fatalf("the second import left %d assets", n)
	}
}
