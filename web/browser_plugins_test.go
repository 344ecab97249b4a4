package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// tickingPlugin logs a line and reports progress every tick; with
// {"mode": "block"} in its config it goes on until it is cancelled,
// otherwise it stops after three ticks.
var tickingPlugin = plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
	var cfg struct {
		Mode    string   `json:"mode"`
		Classes []string `json:"classes"`
	}
	if err := r.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	r.Log.Info("started", "classes", strings.Join(cfg.Classes, ","))
	for i := 1; ; i++ {
		r.Log.Info(fmt.Sprintf("tick %d", i))
		r.Progress(int64(i), 1000, "working")
		if cfg.Mode != "block" && i == 3 {
			return map[string]any{"ticks": i}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
})

// TestBrowserPluginRun: a real SDK plugin connects; in Chromium, see it
// online on the Plugins page, open it from a project, pick a preset, edit
// the Config JSON, be stopped by invalid JSON before anything is sent,
// run, watch the console and the progress bar live, cancel.
func TestBrowserPluginRun(t *testing.T) {
	chromium := testservers.Chromium(t)
	store, org, admin := orgStore(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := pluginhub.New(pluginhub.Config{Store: store, Logger: log, NewToken: sqlstore.NewRunToken,
		PollInterval: 50 * time.Millisecond, Heartbeat: time.Second, CancelGrace: 5 * time.Second})
	srv := serveHub(t, store, web.Config{Logger: log, Plugins: hub}, httpapi.Config{Logger: log, Plugins: hub, RunTokens: store})
	defer func() { srv.CloseClientConnections(); srv.Close(); hub.Close() }()

	proj, err := store.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("Street scenes")})
	if err != nil {
		t.Fatal(err)
	}
	p, secret, err := store.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("Ticker"), Type: ptr(labelhub.PluginExport),
		Description: ptr("Counts while it works."), DefaultConfig: ptr(`{"mode": "quick"}`)})
	if err != nil {
		t.Fatal(err)
	}
	preset, err := store.CreatePreset(ctx, org.ID, admin.ID, proj.ID, p.ID, labelhub.PresetInput{Name: ptr("keep going"),
		ConfigJSON: ptr(`{"mode": "block", "classes": ["car"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	servePlugin(t, store, srv.URL, p, secret, tickingPlugin)

	b := newBrowser(t, chromium, 120*time.Second, 1000)
	defer b.close()
	b.pollFor = 45 * time.Second
	runs := func() []labelhub.Run {
		t.Helper()
		page, err := store.ListRuns(ctx, org.ID, proj.ID, labelhub.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return page.Items
	}

	b.signIn(srv.URL + "/projects")
	b.do("open the Plugins page", chromedp.Click(chromedp.ID("nav-plugins")), chromedp.WaitVisible(chromedp.ID("plugins-table")))
	row := `#plugin-rows tr[data-plugin="` + p.ID + `"]`
	if got := b.eval("online dot", `document.querySelector('`+row+` .dot').getAttribute("data-online")`); got != "true" {
		t.Fatalf("the plugin shows online=%s", got)
	}
	if got := b.text(row); !strings.Contains(got, "Ticker") || !strings.Contains(got, "SDK") || !strings.Contains(got, "Counts while it works.") {
		t.Fatalf("plugin row %q", got)
	}

	b.do("open the project's Plugins tab", chromedp.Navigate(srv.URL+"/projects/"+proj.ID), chromedp.WaitVisible(chromedp.ID("tab-plugins")),
		chromedp.Click(chromedp.ID("tab-plugins")), chromedp.WaitVisible(chromedp.ID("project-plugin-rows")))
	b.do("open the plugin", chromedp.Click(chromedp.CSS(`[data-open-plugin="`+p.ID+`"]`)), chromedp.WaitVisible(chromedp.ID("config-json")))
	if got := b.text("#plugin-online"); !strings.Contains(got, "online") || strings.Contains(got, "offline") {
		t.Fatalf("dialog says %q", got)
	}
	if got := b.text("#plugin-description"); got != "Counts while it works." {
		t.Fatalf("description %q", got)
	}
	if got, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("config-json"))); !strings.Contains(got, `"quick"`) {
		t.Fatalf("the editor starts with %q, not the default config", got)
	}
	if hidden := b.eval("load button", `String(document.getElementById("preset-load").hidden)`); hidden != "true" {
		t.Fatal("with scripts the preset Load button should be hidden")
	}

	// Pick the preset: the editor takes its config.
	b.eval("pick the preset", `(function () { var s = document.getElementById("preset-select"); s.value = "`+preset.ID+`";
		s.dispatchEvent(new Event("change")); return s.value; })()`)
	got, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("config-json")))
	if err != nil || !strings.Contains(got, `"block"`) || !strings.Contains(got, `"car"`) {
		t.Fatalf("after picking the preset the editor holds %q (%v)", got, err)
	}

	if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile("/tmp/labelhub-ui-run-dialog.png", shot, 0o644)
	}

	// Invalid JSON: the error shows next to the editor and Run sends nothing.
	b.do("type invalid JSON", chromedp.SetValue(chromedp.ID("config-json"), `{"mode": "block", "classes": ["car", "bike"],`),
		chromedp.SendKeys(chromedp.ID("config-json"), " "))
	b.poll("the JSON error shows", `!document.getElementById("config-error").hidden && document.getElementById("config-error").textContent.indexOf("Not valid JSON") >= 0`)
	// A listener on the document runs after the form's own: it records
	// whether the submit was stopped (a sent form would leave the page, and
	// the poll below would not find the record).
	b.eval("watch submits", `(function () { document.addEventListener("submit", function (ev) {
		window.lastSubmitPrevented = ev.defaultPrevented; }); return ""; })()`)
	b.do("click Run with invalid JSON", chromedp.Click(chromedp.ID("run-submit")))
	b.poll("the submit is stopped", `window.lastSubmitPrevented === true`)
	if n := len(runs()); n != 0 {
		t.Fatalf("invalid JSON started %d runs", n)
	}
	if got := b.text("#config-error"); !strings.Contains(got, "Not valid JSON") {
		t.Fatalf("error %q", got)
	}

	// Fix it and run.
	b.do("fix the JSON", chromedp.SetValue(chromedp.ID("config-json"), `{"mode": "block", "classes": ["car", "bike"]}`),
		chromedp.SendKeys(chromedp.ID("config-json"), " "))
	b.poll("the JSON error goes", `document.getElementById("config-error").hidden`)
	b.do("run", chromedp.Click(chromedp.ID("run-submit")))
	b.settle("the session page opens", `location.pathname.indexOf("/runs/") === 0 && document.readyState === "complete" && document.getElementById("run-console") !== null`)
	all := runs()
	if len(all) != 1 || all[0].ConfigJSON != `{"mode": "block", "classes": ["car", "bike"]}` {
		t.Fatalf("runs %+v", all)
	}
	run := all[0]
	if loc := b.eval("location", `location.href`); loc != srv.URL+"/runs/"+run.ID {
		t.Fatalf("after Run at %s", loc)
	}

	// The console follows the log; the progress bar moves.
	// Lines after those the page was rendered with come over the stream.
	rendered := b.eval("rendered lines", `document.getElementById("run-live").getAttribute("data-after")`)
	b.poll("log lines arrive live", `document.querySelector('#run-console li[data-seq="' + (`+rendered+` + 2) + '"]') !== null`)
	b.poll("the run shows running", `document.getElementById("run-state").getAttribute("data-state") === "running"`)
	b.poll("the progress bar is set", `document.getElementById("run-progress").value >= 1`)
	first, err := strconv.ParseFloat(b.eval("progress", `String(document.getElementById("run-progress").value)`), 64)
	if err != nil {
		t.Fatal(err)
	}
	b.poll("the progress bar moves", fmt.Sprintf(`document.getElementById("run-progress").value > %v`, first))
	lines := b.text("#run-console")
	if !strings.Contains(lines, "started") || !strings.Contains(lines, "tick 1") || !strings.Contains(lines, "car,bike") {
		t.Fatalf("console %q", lines)
	}
	// Lines are in order and none twice.
	seqs := b.eval("seqs", `Array.prototype.map.call(document.querySelectorAll("#run-console li"), function (li) { return li.getAttribute("data-seq"); }).join(",")`)
	prev := int64(0)
	for _, s := range strings.Split(seqs, ",") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= prev {
			t.Fatalf("console sequence %s", seqs)
		}
		prev = n
	}

	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err == nil {
		_ = os.WriteFile("/tmp/labelhub-ui-session.png", shot, 0o644)
	}

	// Cancel: the page comes back and shows the run cancelled.
	b.eval("mark the page", `(function () { window.beforeCancel = true; return ""; })()`)
	b.do("cancel", chromedp.Click(chromedp.ID("run-cancel")))
	b.settle("the page comes back", `!window.beforeCancel && document.readyState === "complete" && document.getElementById("run-state") !== null`)
	b.poll("the run is cancelled", `document.getElementById("run-state").getAttribute("data-state") === "cancelled"`)
	b.poll("the cancel button goes", `!document.getElementById("run-cancel") || document.getElementById("cancel-form").hidden`)
	if got := b.text("#run-state"); got != "cancelled" {
		t.Fatalf("state %q", got)
	}
	final, err := store.GetRun(ctx, org.ID, run.ID)
	if err != nil || final.State != labelhub.RunCancelled {
		t.Fatalf("stored run %+v, %v", final, err)
	}

	// The Sessions tab lists it.
	b.do("open the Sessions tab", chromedp.Navigate(srv.URL+"/projects/"+proj.ID+"/runs"), chromedp.WaitVisible(chromedp.ID("runs-table")))
	if got := b.text(`#run-rows tr[data-run="` + run.ID + `"]`); !strings.Contains(got, "Ticker") || !strings.Contains(got, "cancelled") || !strings.Contains(got, "Ada") {
		t.Fatalf("sessions row %q", got)
	}
}
