package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// A first-party plugin shows in the plugin pages with a "built-in" badge
// and without the controls that would change it; posting them anyway is
// refused.
func TestFirstPartyPluginPages(t *testing.T) {
	e, _ := newPluginEnv(t)
	ctx := context.Background()
	ps, err := e.store.EnsureFirstPartyPlugins(ctx, []sqlstore.FirstPartyPlugin{{Builtin: "zipper", Name: "Zipper", Type: labelhub.PluginExport,
		Description: "zips a note", Secret: sqlstore.FirstPartySecret(bytes.Repeat([]byte{1}, 32), "zipper")}})
	if err != nil {
		t.Fatal(err)
	}
	id := ps[0].ID
	proj, err := e.store.CreateProject(ctx, e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr("Street scenes")})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.login(adminEmail, adminPassword)
	csrf := c.csrf()

	r := c.get("/plugins")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/plugins/`+id+`">Zipper</a> <span class="badge badge-muted" data-builtin="zipper"`, ">built-in</span>")
	r = c.get("/plugins/" + id)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `data-builtin="zipper"`, `id="plugin-builtin"`, "labelhub plugin serve zipper")
	wantNotContains(t, r.body, `id="rotate-secret"`, `id="delete-plugin"`)
	r = c.get("/projects/" + proj.ID + "/plugins")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `data-builtin="zipper"`, `data-open-plugin="`+id+`"`)
	// The run dialog opens as for any plugin.
	wantStatus(t, c.get("/projects/"+proj.ID+"/plugins/"+id), http.StatusOK)

	for _, action := range []string{"rotate-secret", "delete"} {
		r = c.post("/plugins/"+id+"/"+action, url.Values{"csrf": {csrf}})
		wantStatus(t, r, http.StatusForbidden)
		wantContains(t, r.body, "built-in plugin", "your own plugin")
	}
	if _, err := e.store.GetPlugin(ctx, e.org.ID, id); err != nil {
		t.Fatalf("the plugin is gone: %v", err)
	}
}
