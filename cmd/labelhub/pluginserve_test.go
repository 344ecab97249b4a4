package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/firstparty"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// zipperPlugin is a first-party plugin for tests: an export that uploads
// a zip holding note.txt, "NOTE PROJECT-ID" with NOTE from its config.
var zipperPlugin = firstparty.Plugin{Name: "zipper", Title: "Zipper", Type: labelhub.PluginExport,
	Description: "zips a note", DefaultConfig: `{"note":"hello"}`,
	Handler: func() plugin.Handler {
		return plugin.ExportFunc(func(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
			var cfg struct {
				Note string `json:"note"`
			}
			if err := r.DecodeConfig(&cfg); err != nil {
				return plugin.ExportResult{}, err
			}
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, err := zw.Create("note.txt")
			if err == nil {
				_, err = io.WriteString(w, cfg.Note+" "+r.ProjectID)
			}
			if err == nil {
				err = zw.Close()
			}
			return plugin.ExportResult{FileName: "note.zip", Reader: &buf}, err
		})
	}}

// useFirstParty makes serve and plugin serve know only entries until the
// test ends.
func useFirstParty(t *testing.T, entries ...firstparty.Plugin) {
	old := firstPartyPlugins
	firstPartyPlugins = func() []firstparty.Plugin { return entries }
	t.Cleanup(func() { firstPartyPlugins = old })
}

// firstPartyHub is the hub's plugin side over a store, with the given
// first-party plugins served in-process the way serve does.
type firstPartyHub struct {
	url  string
	stop func() // idempotent; also run at the end of the test
}

func startFirstPartyHub(t *testing.T, store *sqlstore.Store, artDir string, key []byte, entries ...firstparty.Plugin) *firstPartyHub {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ph := pluginhub.New(pluginhub.Config{Store: store, Logger: log, NewToken: sqlstore.NewRunToken,
		PollInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond})
	blobs, err := artifacts.NewLocal(artDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: store, Logger: log, Plugins: ph, RunTokens: store,
		Artifacts: &artifacts.Service{Blobs: blobs, Records: store, MaxBytes: 1 << 20, TTL: time.Hour, Logger: log}}))
	stopPlugins, err := startFirstParty(context.Background(), store, key, srv.URL, entries, 2, log)
	if err != nil {
		t.Fatal(err)
	}
	h := &firstPartyHub{url: srv.URL}
	h.stop = sync.OnceFunc(func() { stopPlugins(); srv.CloseClientConnections(); srv.Close(); ph.Close() })
	t.Cleanup(h.stop)
	return h
}

// openRootStore opens a fresh SQLite store holding the root organisation;
// it returns the store, its folder and the root admin's API key.
func openRootStore(t *testing.T) (*sqlstore.Store, string, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlstore.Open(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, _, key, err := store.CreateOrg(context.Background(), labelhub.NewOrg{Name: "Root org", AdminEmail: "root@example.com", AdminName: "Root"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return store, dir, key
}

// waitUntil polls cond until it holds, for at most 15 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// builtinOf returns the one first-party plugin the organisation of c sees.
func builtinOf(t *testing.T, c *client.Client) labelhub.Plugin {
	t.Helper()
	page, err := c.ListPlugins(context.Background(), labelhub.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var found []labelhub.Plugin
	for _, p := range page.Items {
		if p.Builtin != "" {
			found = append(found, p)
		}
	}
	if len(found) != 1 || found[0].Builtin != "zipper" || found[0].Name != "Zipper" || found[0].Type != labelhub.PluginExport {
		t.Fatalf("first-party plugins seen: %+v", found)
	}
	return found[0]
}

// runZipper runs the plugin on the project and checks the zip it made.
func runZipper(t *testing.T, c *client.Client, pluginID, projectID, note string) labelhub.Run {
	t.Helper()
	ctx := context.Background()
	run, err := c.RunPlugin(ctx, pluginID, client.RunInput{ProjectID: projectID}, true)
	if err != nil || run.State != labelhub.RunSucceeded {
		t.Fatalf("run = %+v, %v", run, err)
	}
	var buf bytes.Buffer
	if _, err := c.DownloadRunArtifact(ctx, run.ID, &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("artifact is not the zip: %v", err)
	}
	f, _ := zr.File[0].Open()
	b, _ := io.ReadAll(f)
	if string(b) != note+" "+projectID {
		t.Fatalf("note.txt = %q", b)
	}
	return run
}

// TestFirstPartyPluginsInProcess: a first-party plugin is ready in every
// organisation with no registration, runs in each with the runs kept
// apart, cannot be changed, and survives a restart as the same plugin.
func TestFirstPartyPluginsInProcess(t *testing.T) {
	ctx := context.Background()
	store, dir, keyA := openRootStore(t)
	_, _, keyB, err := store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other org", AdminEmail: "other@example.com", AdminName: "Other"}, false)
	if err != nil {
		t.Fatal(err)
	}
	secretKey := bytes.Repeat([]byte{5}, 32)
	h := startFirstPartyHub(t, store, filepath.Join(dir, "artifacts"), secretKey, zipperPlugin)
	ca, cb := client.New(h.url, keyA), client.New(h.url, keyB)
	projA, err := ca.CreateProject(ctx, labelhub.ProjectInput{Name: ptrTo("A")})
	if err != nil {
		t.Fatal(err)
	}
	projB, err := cb.CreateProject(ctx, labelhub.ProjectInput{Name: ptrTo("B")})
	if err != nil {
		t.Fatal(err)
	}

	p := builtinOf(t, ca)
	if pb := builtinOf(t, cb); pb.ID != p.ID || pb.OrgID != "" {
		t.Fatalf("org B sees %+v, org A %+v", pb, p)
	}
	waitUntil(t, "the first-party plugin is online", func() bool {
		st, err := cb.GetPlugin(ctx, p.ID)
		return err == nil && st.Online && len(st.Instances) == 1 && st.Instances[0].Concurrency == 2
	})

	runA := runZipper(t, ca, p.ID, projA.ID, "hello")
	runB := runZipper(t, cb, p.ID, projB.ID, "hello")
	if runA.OrgID == runB.OrgID {
		t.Fatalf("both runs belong to %s", runA.OrgID)
	}
	_, err = cb.GetRun(ctx, runA.ID)
	wantClientCode(t, err, labelhub.ECodeNotFound)
	_, err = cb.CancelRun(ctx, runA.ID)
	wantClientCode(t, err, labelhub.ECodeNotFound)
	_, err = cb.DownloadRunArtifact(ctx, runA.ID, io.Discard)
	wantClientCode(t, err, labelhub.ECodeNotFound)
	if runs, err := cb.ListRuns(ctx, projB.ID, labelhub.PageRequest{}); err != nil || len(runs.Items) != 1 || runs.Items[0].ID != runB.ID {
		t.Fatalf("org B's runs = %+v, %v", runs, err)
	}

	// Nobody changes it, not even the root organisation's admin.
	for _, key := range []string{keyA, keyB} {
		c := client.New(h.url, key)
		wantRefusal(t, c.DeletePlugin(ctx, p.ID))
		_, err := c.RotatePluginSecret(ctx, p.ID)
		wantRefusal(t, err)
		req, _ := http.NewRequest(http.MethodPatch, h.url+"/api/v1/plugins/"+p.ID, strings.NewReader(`{"description":"mine"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error labelhub.Error `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("PATCH = %d %+v", resp.StatusCode, body)
		}
		wantRefusal(t, &body.Error)
	}

	// A restart: the same row, online again, its runs still there.
	h.stop()
	h2 := startFirstPartyHub(t, store, filepath.Join(dir, "artifacts"), secretKey, zipperPlugin)
	ca, cb = client.New(h2.url, keyA), client.New(h2.url, keyB)
	if again := builtinOf(t, cb); again.ID != p.ID {
		t.Fatalf("after a restart the plugin is %s, was %s", again.ID, p.ID)
	}
	waitUntil(t, "the first-party plugin is online after the restart", func() bool {
		st, err := ca.GetPlugin(ctx, p.ID)
		return err == nil && st.Online && len(st.Instances) == 1
	})
	runZipper(t, cb, p.ID, projB.ID, "hello")
	if got, err := ca.GetRun(ctx, runA.ID); err != nil || got.State != labelhub.RunSucceeded {
		t.Fatalf("org A's first run after the restart = %+v, %v", got, err)
	}
}

func wantClientCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := labelhub.ErrorCode(err); got != code {
		t.Fatalf("error = %v (%s), want %s", err, got, code)
	}
}

// wantRefusal checks the answer to changing the first-party plugin.
func wantRefusal(t *testing.T, err error) {
	t.Helper()
	wantClientCode(t, err, labelhub.ECodeForbidden)
	if msg := err.Error(); !strings.Contains(msg, "Zipper") || !strings.Contains(msg, "your own plugin") {
		t.Fatalf("the refusal %q names neither the plugin nor the way out", msg)
	}
}

// TestPluginServe runs a first-party plugin as a separate process (in
// this test, in-process through the command line) for a plugin an
// organisation registered.
func TestPluginServe(t *testing.T) {
	useFirstParty(t, zipperPlugin)
	for _, v := range []string{"LABELHUB_SERVER", "LABELHUB_API_KEY", "LABELHUB_API_KEY_FILE", "LABELHUB_PLUGIN_ID", "LABELHUB_PLUGIN_SECRET"} {
		t.Setenv(v, "")
	}
	store, dir, key := openRootStore(t)
	fh := startFirstPartyHub(t, store, filepath.Join(dir, "artifacts"), nil) // no first-party plugin in-process
	h := &pluginTestHub{URL: fh.url, Key: key}
	ctx := context.Background()
	c := client.New(h.URL, h.Key)

	out, _ := h.ok(t, "plugin", "serve", "--list")
	if row := tableRow(out, "zipper", "Zipper", "export", "zips a note"); row == "" {
		t.Fatalf("--list:\n%s", out)
	}
	out, _ = h.ok(t, "plugin", "serve", "--list", "-o", "json")
	if got := decodeJSON[[]firstPartyInfo](t, out); len(got) != 1 || got[0] != (firstPartyInfo{"zipper", "Zipper", "export", "zips a note"}) {
		t.Fatalf("--list -o json: %s", out)
	}
	if _, _, err := h.run(t, "", "plugin", "serve", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "zipper") {
		t.Fatalf("unknown name: %v", err)
	}
	if _, _, err := h.run(t, "", "plugin", "serve", "zipper"); err == nil || !strings.Contains(err.Error(), "LABELHUB_PLUGIN_SECRET") {
		t.Fatalf("no credentials: %v", err)
	}

	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptrTo("P")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "Our zipper", Type: labelhub.PluginExport, DefaultConfig: `{"note":"ours"}`})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LABELHUB_PLUGIN_SECRET", p.Secret)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := cliContext(sctx, t, "", "plugin", "serve", "zipper", "--id", p.ID, "--concurrency", "3", "--server", h.URL)
		done <- err
	}()
	waitUntil(t, "plugin serve is online", func() bool {
		st, err := c.GetPlugin(ctx, p.ID)
		return err == nil && st.Online && len(st.Instances) == 1 && st.Instances[0].Concurrency == 3
	})
	runZipper(t, c, p.ID, proj.ID, "ours")
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("plugin serve ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("plugin serve did not stop")
	}
}

func TestLoopbackURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080",
		"[::]:8080":      "http://127.0.0.1:8080",
		"127.0.0.1:9000": "http://127.0.0.1:9000",
		"10.1.2.3:80":    "http://10.1.2.3:80",
		"[::1]:8080":     "http://[::1]:8080",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := loopbackURL(a); got != want {
			t.Errorf("loopbackURL(%s) = %s, want %s", addr, got, want)
		}
	}
}

// TestServeFirstPartyProcess starts the real hub: every first-party
// plugin is online in the first organisation with nothing registered, and
// SIGTERM stops the hub cleanly, the plugins first, without error noise.
func TestServeFirstPartyProcess(t *testing.T) {
	e := newProcessEnv(t)
	ctx := context.Background()
	want := firstparty.All()
	waitUntil(t, "every first-party plugin is online", func() bool {
		page, err := e.c.ListPlugins(ctx, labelhub.PageRequest{})
		if err != nil || len(page.Items) != len(want) {
			return false
		}
		for _, p := range page.Items {
			if st, err := e.c.GetPlugin(ctx, p.ID); err != nil || p.Builtin == "" || !st.Online || st.Instances[0].Concurrency != 4 {
				return false
			}
		}
		return true
	})
	if err := e.stopServer(); err != nil {
		t.Fatalf("the hub exited with %v\n%s", err, e.serverOut.String())
	}
	log := e.serverOut.String()
	if i := strings.Index(log, "shutting down"); i < 0 || strings.Contains(log[i:], "level=ERROR") || strings.Contains(log[i:], "level=WARN") {
		t.Fatalf("a clean shutdown logged trouble:\n%s", log)
	}
}
