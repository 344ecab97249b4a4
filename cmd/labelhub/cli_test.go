package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
)

// testHub is a real hub in-process: SQLite in a temp file behind the API.
type testHub struct {
	URL      string
	Key      string
	listGets atomic.Int64 // GET /api/v1/projects requests
}

func newTestHub(t *testing.T) *testHub {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, _, key, err := store.CreateOrg(ctx, labelhub.NewOrg{Name: "Root org", AdminEmail: "root@example.com", AdminName: "Root"}, true)
	if err != nil {
		t.Fatal(err)
	}
	h := &testHub{Key: key}
	box, err := seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	storages := storage.NewService(store, storage.Options{Box: box, AllowPrivateEndpoints: true})
	t.Cleanup(func() { storages.Close() })
	runner := imports.New(imports.Config{Store: store, SpoolDir: t.TempDir(), Integrations: httpapi.StorageIntegrations(storages),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Buckets: storages.Bucket})
	t.Cleanup(runner.Close)
	api := httpapi.New(httpapi.Config{Store: store, Storage: storages, Imports: runner, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/projects" {
			h.listGets.Add(1)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	// The environment must not leak into the commands under test.
	for _, v := range []string{"LABELHUB_SERVER", "LABELHUB_API_KEY", "LABELHUB_API_KEY_FILE", envStorageSecret, envStorageSessionToken} {
		t.Setenv(v, "")
	}
	return h
}

// cli runs the labelhub command line in-process.
func cli(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return cliContext(context.Background(), t, stdin, args...)
}

// cliContext is cli with a context, for commands that run until it ends.
func cliContext(ctx context.Context, t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := rootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// as runs a client command against the hub with the root key.
func (h *testHub) as(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := cli(t, "", append(args, "--server", h.URL, "--api-key", h.Key)...)
	if err != nil {
		t.Fatalf("labelhub %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// fails runs a client command that must fail and returns its error text.
func (h *testHub) fails(t *testing.T, args ...string) string {
	t.Helper()
	_, _, err := cli(t, "", append(args, "--server", h.URL, "--api-key", h.Key)...)
	if err == nil {
		t.Fatalf("labelhub %s succeeded, want an error", strings.Join(args, " "))
	}
	return err.Error()
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}

// tableRow returns the line of a table that contains all of cells.
func tableRow(out string, cells ...string) string {
	for line := range strings.SplitSeq(out, "\n") {
		ok := true
		for _, c := range cells {
			ok = ok && strings.Contains(line, c)
		}
		if ok {
			return line
		}
	}
	return ""
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProjectCommands(t *testing.T) {
	h := newTestHub(t)
	schema := writeFile(t, "schema.json", `{"tools": [{"title": "Car", "tool": "bounding-box"}],
		"classifications": [{"title": "Weather", "tool": "radio", "options": [{"value": "sunny"}]}]}`)

	out := h.as(t, "project", "create", "Street scenes", "--description", "cars and bikes", "--schema", schema, "-o", "json")
	p := decodeJSON[labelhub.Project](t, out)
	if p.ID == "" || p.Name != "Street scenes" || p.Description != "cars and bikes" || len(p.CategorySchema.Tools) != 1 || p.CategorySchema.Tools[0].SchemaID == "" {
		t.Fatalf("created %+v", p)
	}
	// Table output of create is the project's fields.
	out = h.as(t, "project", "create", "Second")
	if !strings.Contains(out, "Name:") || !strings.Contains(out, "Second") {
		t.Fatalf("create output:\n%s", out)
	}

	out = h.as(t, "project", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "NAME") {
		t.Fatalf("list:\n%s", out)
	}
	row := tableRow(out, p.ID, "Street scenes", "cars and bikes")
	if row == "" {
		t.Fatalf("the list does not show the project:\n%s", out)
	}
	// Columns are aligned: NAME starts at the same offset on every line.
	if strings.Index(lines[0], "NAME") != strings.Index(row, "Street scenes") {
		t.Fatalf("columns not aligned:\n%s", out)
	}

	list := decodeJSON[[]labelhub.Project](t, h.as(t, "project", "list", "-o", "json"))
	if len(list) != 2 || (list[0].ID != p.ID && list[1].ID != p.ID) {
		t.Fatalf("json list = %+v", list)
	}

	out = h.as(t, "project", "show", p.ID)
	for _, want := range []string{p.ID, "Street scenes", "cars and bikes", "1 (Car)", "1 (Weather)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show lacks %q:\n%s", want, out)
		}
	}
	if got := decodeJSON[labelhub.Project](t, h.as(t, "project", "show", p.ID, "--output", "json")); got.ID != p.ID || got.CategorySchema.Classifications[0].Title != "Weather" {
		t.Fatalf("show json = %+v", got)
	}

	out = h.as(t, "project", "delete", p.ID)
	if !strings.Contains(out, p.ID) {
		t.Fatalf("delete output: %q", out)
	}
	if msg := h.fails(t, "project", "show", p.ID); !strings.Contains(msg, "project not found") {
		t.Fatalf("show after delete: %q", msg)
	}
	list = decodeJSON[[]labelhub.Project](t, h.as(t, "project", "list", "-o", "json"))
	if len(list) != 1 || list[0].Name != "Second" {
		t.Fatalf("after delete: %+v", list)
	}

	// An empty list is [] in JSON and a header in a table.
	h.as(t, "project", "delete", list[0].ID)
	if out := strings.TrimSpace(h.as(t, "project", "list", "-o", "json")); out != "[]" {
		t.Fatalf("empty json list = %q", out)
	}
	if out := strings.TrimSpace(h.as(t, "project", "list")); !strings.HasPrefix(out, "ID") || strings.Contains(out, "\n") {
		t.Fatalf("empty table = %q", out)
	}

	// The schema can come from stdin; unknown keys in it are refused.
	root := []string{"--server", h.URL, "--api-key", h.Key}
	out, _, err := cli(t, `{"tools": [{"title": "Dog", "tool": "point"}]}`, append([]string{"project", "create", "Dogs", "--schema", "-", "-o", "json"}, root...)...)
	if err != nil || len(decodeJSON[labelhub.Project](t, out).CategorySchema.Tools) != 1 {
		t.Fatalf("schema from stdin: %v\n%s", err, out)
	}
	typo := writeFile(t, "typo.json", `{"tool": [{"title": "Dog", "tool": "point"}]}`)
	if msg := h.fails(t, "project", "create", "Typo", "--schema", typo); !strings.Contains(msg, `unknown field "tool"`) {
		t.Fatalf("typo schema: %q", msg)
	}
}

func TestBatchCommands(t *testing.T) {
	h := newTestHub(t)
	p := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "P", "-o", "json"))
	b := decodeJSON[labelhub.Batch](t, h.as(t, "batch", "create", "--project", p.ID, "week 1", "-o", "json"))
	if b.ID == "" || b.ProjectID != p.ID || b.Name != "week 1" {
		t.Fatalf("batch = %+v", b)
	}
	h.as(t, "batch", "create", "week 2", "--project", p.ID)
	out := h.as(t, "batch", "list", "--project", p.ID)
	if tableRow(out, b.ID, "week 1") == "" || tableRow(out, "week 2") == "" {
		t.Fatalf("batch list:\n%s", out)
	}
	if got := decodeJSON[[]labelhub.Batch](t, h.as(t, "batch", "list", "--project", p.ID, "-o", "json", "--limit", "1")); len(got) != 1 {
		t.Fatalf("--limit 1: %+v", got)
	}
	if msg := h.fails(t, "batch", "list"); !strings.Contains(msg, `"project"`) {
		t.Fatalf("without --project: %q", msg)
	}
	if msg := h.fails(t, "batch", "list", "--project", "nope"); !strings.Contains(msg, "project not found") {
		t.Fatalf("unknown project: %q", msg)
	}
	if msg := h.fails(t, "batch", "create", "", "--project", p.ID); !strings.Contains(msg, "\n  name: is required") {
		t.Fatalf("empty batch name: %q", msg)
	}
}

func TestValidationErrorPrintsDetails(t *testing.T) {
	h := newTestHub(t)
	bad := writeFile(t, "bad.json", `{"tools": [{"title": "Car", "tool": "bounding-box"}, {"title": "Wheel", "tool": "circle"}]}`)
	msg := h.fails(t, "project", "create", "Bad", "--schema", bad)
	lines := strings.Split(msg, "\n")
	if lines[0] != "invalid project" || len(lines) < 2 || !strings.HasPrefix(lines[1], "  categorySchema.tools[1].tool: ") {
		t.Fatalf("error:\n%s", msg)
	}
	msg = h.fails(t, "project", "create", "")
	if msg != "invalid project\n  name: is required" {
		t.Fatalf("error:\n%s", msg)
	}
	msg = h.fails(t, "user", "create", "not-an-email", "--role", "overlord")
	if !strings.Contains(msg, "\n  role: ") || !strings.Contains(msg, "\n  email: ") {
		t.Fatalf("error:\n%s", msg)
	}
	// The error is still the API's, for code that inspects it.
	_, _, err := cli(t, "", "project", "create", "", "--server", h.URL, "--api-key", h.Key)
	if labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
		t.Fatalf("code = %q", labelhub.ErrorCode(err))
	}
}

func TestAPIKeyCommands(t *testing.T) {
	h := newTestHub(t)
	out, stderr, err := cli(t, "", "apikey", "create", "--name", "ci", "--server", h.URL, "--api-key", h.Key)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "lh_") || strings.Contains(key, "\n") {
		t.Fatalf("stdout = %q, want the key alone", out)
	}
	if !strings.Contains(stderr, "not be shown again") {
		t.Fatalf("stderr = %q", stderr)
	}

	// The printed key authenticates.
	me := func(key string) int {
		req, _ := http.NewRequest("GET", h.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := me(key); code != http.StatusOK {
		t.Fatalf("GET /api/v1/me with the new key: %d", code)
	}

	keys := decodeJSON[[]labelhub.APIKey](t, h.as(t, "apikey", "list", "-o", "json"))
	var id string
	for _, k := range keys {
		if k.Name == "ci" && strings.HasPrefix(key, k.Prefix) {
			id = k.ID
		}
	}
	if len(keys) != 2 || id == "" {
		t.Fatalf("keys = %+v", keys)
	}
	if out := h.as(t, "apikey", "list"); tableRow(out, id, "ci") == "" || strings.Contains(out, key) {
		t.Fatalf("table list (must show the key's id, never the key):\n%s", out)
	}

	// JSON create carries the key in apiKey.
	created := decodeJSON[client.APIKeyCreated](t, h.as(t, "apikey", "create", "-o", "json"))
	if !strings.HasPrefix(created.Key, "lh_") || created.ID == "" || me(created.Key) != http.StatusOK {
		t.Fatalf("json create = %+v", created)
	}

	// A key for another user, then that user's keys only.
	u := decodeJSON[labelhub.User](t, h.as(t, "user", "create", "bot@example.com", "--role", "labeler", "-o", "json"))
	botKey := strings.TrimSpace(h.as(t, "apikey", "create", "--user", u.ID, "--name", "bot"))
	if me(botKey) != http.StatusOK {
		t.Fatal("the bot's key does not authenticate")
	}
	if bots := decodeJSON[[]labelhub.APIKey](t, h.as(t, "apikey", "list", "--user", u.ID, "-o", "json")); len(bots) != 1 || bots[0].UserID != u.ID {
		t.Fatalf("bot keys = %+v", bots)
	}

	if out := h.as(t, "apikey", "revoke", id); !strings.Contains(out, id) {
		t.Fatalf("revoke output %q", out)
	}
	if code := me(key); code != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d", code)
	}
	if out := h.as(t, "apikey", "list"); tableRow(out, id, "ci") == "" || strings.HasSuffix(strings.TrimSpace(tableRow(out, id)), "-") {
		t.Fatalf("the revoked key should show its revocation time:\n%s", out)
	}
}

func TestUserCommands(t *testing.T) {
	h := newTestHub(t)
	out, _, err := cli(t, "correct horse battery\n", "user", "create", "Ann@Example.com", "--role", "reviewer", "--name", "Ann", "--password-stdin",
		"--server", h.URL, "--api-key", h.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "ann@example.com") || !strings.Contains(out, "reviewer") {
		t.Fatalf("create:\n%s", out)
	}
	out = h.as(t, "user", "list")
	if tableRow(out, "ann@example.com", "Ann", "reviewer") == "" || tableRow(out, "root@example.com", "admin") == "" {
		t.Fatalf("list:\n%s", out)
	}
	users := decodeJSON[[]labelhub.User](t, h.as(t, "user", "list", "-o", "json"))
	if len(users) != 2 {
		t.Fatalf("users = %+v", users)
	}
	// --role is required; an empty password on stdin is refused.
	if msg := h.fails(t, "user", "create", "bob@example.com"); !strings.Contains(msg, `"role"`) {
		t.Fatalf("without --role: %q", msg)
	}
	if msg := h.fails(t, "user", "create", "bob@example.com", "--role", "labeler", "--password-stdin"); !strings.Contains(msg, "empty") {
		t.Fatalf("empty password: %q", msg)
	}
}

func TestOrgAndMeCommands(t *testing.T) {
	h := newTestHub(t)
	out := h.as(t, "me")
	if !strings.Contains(out, "root@example.com") || tableRow(out, "Server admin", "yes") == "" {
		t.Fatalf("me:\n%s", out)
	}
	me := decodeJSON[client.Me](t, h.as(t, "me", "-o", "json"))
	if me.User.Email != "root@example.com" || !me.ServerAdmin || me.Role != labelhub.RoleAdmin {
		t.Fatalf("me json = %+v", me)
	}

	out, stderr, err := cli(t, "", "org", "create", "Acme", "--admin-email", "boss@acme.test", "--server", h.URL, "--api-key", h.Key)
	if err != nil {
		t.Fatal(err)
	}
	acmeKey := strings.TrimSpace(out)
	if !strings.HasPrefix(acmeKey, "lh_") || !strings.Contains(stderr, "not be shown again") {
		t.Fatalf("org create: stdout %q, stderr %q", out, stderr)
	}
	acme := decodeJSON[client.Me](t, func() string {
		out, _, err := cli(t, "", "me", "-o", "json", "--server", h.URL, "--api-key", acmeKey)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}())
	if acme.Organization.Name != "Acme" || acme.User.Email != "boss@acme.test" || acme.ServerAdmin {
		t.Fatalf("acme me = %+v", acme)
	}
	if out := h.as(t, "org", "list"); tableRow(out, "Acme", "no") == "" || tableRow(out, "Root org", "yes") == "" {
		t.Fatalf("org list:\n%s", out)
	}
	created := decodeJSON[client.OrgCreated](t, h.as(t, "org", "create", "Beta", "--admin-email", "b@beta.test", "-o", "json"))
	if created.Name != "Beta" || !strings.HasPrefix(created.APIKey, "lh_") || created.Admin.Email != "b@beta.test" {
		t.Fatalf("json org create = %+v", created)
	}
	// Only server admins list organisations; the error says so.
	_, _, err = cli(t, "", "org", "list", "--server", h.URL, "--api-key", acmeKey)
	if labelhub.ErrorCode(err) != labelhub.ECodeForbidden || !strings.Contains(err.Error(), "server admins") {
		t.Fatalf("acme org list: %v", err)
	}
	// Acme's projects are its own.
	_, _, err = cli(t, "", "project", "create", "Acme only", "--server", h.URL, "--api-key", acmeKey)
	if err != nil {
		t.Fatal(err)
	}
	if out := h.as(t, "project", "list"); strings.Contains(out, "Acme only") {
		t.Fatalf("the root org sees Acme's project:\n%s", out)
	}
}

func TestMissingOrWrongKey(t *testing.T) {
	h := newTestHub(t)
	_, _, err := cli(t, "", "project", "list", "--server", h.URL)
	if err == nil || !strings.Contains(err.Error(), "--api-key") || !strings.Contains(err.Error(), "LABELHUB_API_KEY") {
		t.Fatalf("without a key: %v", err)
	}
	for _, args := range [][]string{{"me"}, {"user", "list"}, {"apikey", "create"}, {"org", "list"}, {"batch", "list", "--project", "x"}} {
		_, _, err := cli(t, "", append(args, "--server", h.URL)...)
		if err != errNoAPIKey {
			t.Fatalf("%v without a key: %v", args, err)
		}
	}

	// The key from the environment, or from a file.
	t.Setenv("LABELHUB_API_KEY", h.Key)
	if _, _, err := cli(t, "", "project", "list", "--server", h.URL); err != nil {
		t.Fatalf("key from LABELHUB_API_KEY: %v", err)
	}
	t.Setenv("LABELHUB_API_KEY", "")
	keyFile := writeFile(t, "key", h.Key+"\n")
	if _, _, err := cli(t, "", "project", "list", "--server", h.URL, "--api-key-file", keyFile); err != nil {
		t.Fatalf("key from --api-key-file: %v", err)
	}
	t.Setenv("LABELHUB_API_KEY_FILE", keyFile)
	t.Setenv("LABELHUB_SERVER", h.URL)
	if _, _, err := cli(t, "", "me"); err != nil {
		t.Fatalf("key and server from the environment: %v", err)
	}
	t.Setenv("LABELHUB_API_KEY_FILE", "")
	t.Setenv("LABELHUB_SERVER", "")
	if _, _, err := cli(t, "", "me", "--server", h.URL, "--api-key", "x", "--api-key-file", keyFile); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both flags: %v", err)
	}
	empty := writeFile(t, "empty", "\n")
	if _, _, err := cli(t, "", "me", "--server", h.URL, "--api-key-file", empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty key file: %v", err)
	}

	_, _, err = cli(t, "", "project", "list", "--server", h.URL, "--api-key", "lh_wrong")
	if labelhub.ErrorCode(err) != labelhub.ECodeUnauthorized || !strings.Contains(err.Error(), "--api-key") {
		t.Fatalf("wrong key: %v", err)
	}

	// An unreachable hub and a malformed URL are explained.
	_, _, err = cli(t, "", "me", "--server", "http://127.0.0.1:1", "--api-key", h.Key)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the hub at http://127.0.0.1:1") {
		t.Fatalf("unreachable: %v", err)
	}
	_, _, err = cli(t, "", "me", "--server", "127.0.0.1:8080", "--api-key", h.Key)
	if err == nil || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("bad URL: %v", err)
	}
	_, _, err = cli(t, "", "me", "-o", "yaml", "--server", h.URL, "--api-key", h.Key)
	if err == nil || !strings.Contains(err.Error(), "table or json") {
		t.Fatalf("-o yaml: %v", err)
	}
}

func TestListsWalkEveryPage(t *testing.T) {
	h := newTestHub(t)
	old := listPageSize
	listPageSize = 50
	t.Cleanup(func() { listPageSize = old })
	c := client.New(h.URL, h.Key)
	for i := range 120 {
		name := fmt.Sprintf("P%03d", i)
		if _, err := c.CreateProject(context.Background(), labelhub.ProjectInput{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	h.listGets.Store(0)
	list := decodeJSON[[]labelhub.Project](t, h.as(t, "project", "list", "-o", "json"))
	seen := map[string]bool{}
	for _, p := range list {
		seen[p.Name] = true
	}
	if len(list) != 120 || len(seen) != 120 {
		t.Fatalf("listed %d projects (%d names), want 120", len(list), len(seen))
	}
	if n := h.listGets.Load(); n != 3 {
		t.Fatalf("%d page requests, want 3", n)
	}
	out := h.as(t, "project", "list")
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 120 { // a header and 120 rows
		t.Fatalf("table has %d rows", n)
	}

	h.listGets.Store(0)
	if got := decodeJSON[[]labelhub.Project](t, h.as(t, "project", "list", "-o", "json", "--limit", "7")); len(got) != 7 {
		t.Fatalf("--limit 7: %d", len(got))
	}
	if n := h.listGets.Load(); n != 1 {
		t.Fatalf("--limit 7 made %d requests", n)
	}
	if got := decodeJSON[[]labelhub.Project](t, h.as(t, "project", "list", "-o", "json", "--limit", "70")); len(got) != 70 {
		t.Fatalf("--limit 70: %d", len(got))
	}
	if msg := h.fails(t, "project", "list", "--limit", "-1"); !strings.Contains(msg, "--limit") {
		t.Fatalf("--limit -1: %q", msg)
	}
}

func TestCompletion(t *testing.T) {
	h := newTestHub(t)
	for shell, marker := range map[string]string{"bash": "bash completion", "zsh": "compdef", "fish": "complete -c labelhub", "powershell": "Register-ArgumentCompleter"} {
		out, _, err := cli(t, "", "completion", shell)
		if err != nil || !strings.Contains(out, marker) {
			t.Fatalf("completion %s: %v (%d bytes)", shell, err, len(out))
		}
	}

	p := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "Completed", "-o", "json"))
	for _, sub := range []string{"show", "delete"} {
		out, _, err := cli(t, "", "__complete", "project", sub, "--server", h.URL, "--api-key", h.Key, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, p.ID+"\tCompleted\n") || !strings.Contains(out, ":4\n") {
			t.Fatalf("project %s completion:\n%s", sub, out)
		}
		// The prefix typed so far filters; a second argument gets nothing.
		out, _, _ = cli(t, "", "__complete", "project", sub, "--server", h.URL, "--api-key", h.Key, "zzz")
		if strings.Contains(out, p.ID) {
			t.Fatalf("prefix zzz completed:\n%s", out)
		}
		out, _, _ = cli(t, "", "__complete", "project", sub, "--server", h.URL, "--api-key", h.Key, p.ID, "")
		if strings.Contains(out, p.ID) {
			t.Fatalf("second argument completed:\n%s", out)
		}
	}
	// --project of batch commands completes too.
	out, _, _ := cli(t, "", "__complete", "batch", "list", "--server", h.URL, "--api-key", h.Key, "--project", "")
	if !strings.Contains(out, p.ID) {
		t.Fatalf("--project completion:\n%s", out)
	}
	// On failure (wrong key, no key, hub down): no completions, no error.
	for _, args := range [][]string{
		{"--server", h.URL, "--api-key", "lh_wrong"},
		{"--server", h.URL},
		{"--server", "http://127.0.0.1:1", "--api-key", h.Key},
	} {
		out, _, err := cli(t, "", append(append([]string{"__complete", "project", "show"}, args...), "")...)
		if err != nil || strings.Contains(out, p.ID) || !strings.HasSuffix(strings.TrimSpace(out), ":4") {
			t.Fatalf("completion with %v: %v\n%s", args, err, out)
		}
	}
	// Flag values with fixed choices.
	out, _, _ = cli(t, "", "__complete", "user", "create", "a@b.c", "--role", "")
	if !strings.Contains(out, "project-manager\n") || !strings.Contains(out, "labeler\n") {
		t.Fatalf("--role completion:\n%s", out)
	}
}
