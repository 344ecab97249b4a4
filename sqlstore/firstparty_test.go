package sqlstore_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// TestFirstPartyPlugins: a first-party plugin is one row for the server,
// seen by every organisation, changed by none; its runs belong to the
// organisation that started them.
func TestFirstPartyPlugins(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		key := bytes.Repeat([]byte{7}, 32)
		fp := sqlstore.FirstPartyPlugin{Builtin: "zipper", Name: "Zipper", Type: labelhub.PluginExport, Description: "zips",
			DefaultConfig: `{"level":1}`, Secret: sqlstore.FirstPartySecret(key, "zipper")}
		_, err := s.EnsureFirstPartyPlugins(ctx, []sqlstore.FirstPartyPlugin{fp})
		wantCode(t, err, labelhub.ECodeConflict) // no organisation yet

		orgA, adminA, _ := newOrg(t, s, "a@example.com")
		orgB, adminB, _ := newOrg(t, s, "b@example.com")
		// Replicas starting at once: one row.
		var wg sync.WaitGroup
		ids := make([]string, 4)
		for i := range ids {
			wg.Go(func() {
				ps, err := s.EnsureFirstPartyPlugins(ctx, []sqlstore.FirstPartyPlugin{fp})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = ps[0].ID
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Fatalf("concurrent starts made several rows: %v", ids)
			}
		}
		id := ids[0]
		for _, org := range []labelhub.Organization{orgA, orgB} {
			p, err := s.GetPlugin(ctx, org.ID, id)
			if err != nil || p.Builtin != "zipper" || p.Name != "Zipper" || p.OrgID != "" || p.DefaultConfig != `{"level":1}` {
				t.Fatalf("org %s: get = %+v, %v", org.Name, p, err)
			}
			list, err := s.ListPlugins(ctx, org.ID, labelhub.PageRequest{})
			if err != nil || len(list.Items) != 1 || list.Items[0].ID != id {
				t.Fatalf("org %s: list = %+v, %v", org.Name, list, err)
			}
		}
		// An organisation's own plugins stay its own.
		own, _, err := s.CreatePlugin(ctx, orgA.ID, adminA.ID, labelhub.PluginInput{Name: ptr("Mine"), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		if list, _ := s.ListPlugins(ctx, orgB.ID, labelhub.PageRequest{}); len(list.Items) != 1 {
			t.Fatalf("org B sees %+v", list.Items)
		}
		if list, _ := s.ListPlugins(ctx, orgA.ID, labelhub.PageRequest{}); len(list.Items) != 2 {
			t.Fatalf("org A sees %+v", list.Items)
		}
		if _, err := s.GetPlugin(ctx, orgB.ID, own.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			t.Fatalf("org B reads org A's plugin: %v", err)
		}

		// The derived secret authenticates; another key's does not.
		if p, err := s.AuthenticatePlugin(ctx, id, fp.Secret); err != nil || p.Builtin != "zipper" {
			t.Fatalf("authenticate = %+v, %v", p, err)
		}
		_, err = s.AuthenticatePlugin(ctx, id, sqlstore.FirstPartySecret(bytes.Repeat([]byte{8}, 32), "zipper"))
		wantCode(t, err, labelhub.ECodeUnauthorized)

		// Nobody changes it, not even the organisation that owns the row.
		for _, org := range []labelhub.Organization{orgA, orgB} {
			_, err := s.UpdatePlugin(ctx, org.ID, id, labelhub.PluginInput{Description: ptr("mine now")})
			wantCode(t, err, labelhub.ECodeForbidden)
			if !strings.Contains(err.Error(), "Zipper") || !strings.Contains(err.Error(), "your own plugin") {
				t.Fatalf("refusal %q names neither the plugin nor the way out", err)
			}
			wantCode(t, s.DeletePlugin(ctx, org.ID, id), labelhub.ECodeForbidden)
			_, err = s.RotatePluginSecret(ctx, org.ID, id)
			wantCode(t, err, labelhub.ECodeForbidden)
		}
		if _, err := s.AuthenticatePlugin(ctx, id, fp.Secret); err != nil {
			t.Fatalf("the secret changed: %v", err)
		}

		// Runs belong to who started them.
		projA, err := s.CreateProject(ctx, orgA.ID, adminA.ID, labelhub.ProjectInput{Name: ptr("A")})
		if err != nil {
			t.Fatal(err)
		}
		projB, err := s.CreateProject(ctx, orgB.ID, adminB.ID, labelhub.ProjectInput{Name: ptr("B")})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC()
		newRun := func(org labelhub.Organization, user labelhub.User, proj labelhub.Project) labelhub.Run {
			t.Helper()
			r := labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: id, ProjectID: proj.ID, RunBy: user.ID, CreatedAt: t0, Deadline: t0.Add(time.Minute)}
			cfg, err := s.CreatePluginRun(ctx, r, nil, sqlstore.NewRunToken(), 0)
			if err != nil || cfg != `{"level":1}` {
				t.Fatalf("run in %s: config %q, %v", org.Name, cfg, err)
			}
			got, err := s.GetRun(ctx, org.ID, r.ID)
			if err != nil || got.OrgID != org.ID {
				t.Fatalf("run in %s = %+v, %v", org.Name, got, err)
			}
			return got
		}
		runA, runB := newRun(orgA, adminA, projA), newRun(orgB, adminB, projB)
		_, err = s.CreatePluginRun(ctx, labelhub.Run{ID: labelhub.NewID(), OrgID: orgB.ID, PluginID: id, ProjectID: projA.ID, RunBy: adminB.ID,
			CreatedAt: t0, Deadline: t0.Add(time.Minute)}, nil, sqlstore.NewRunToken(), 0)
		wantCode(t, err, labelhub.ECodeNotFound) // another organisation's project
		_, err = s.GetRun(ctx, orgB.ID, runA.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.RequestCancel(ctx, orgB.ID, runA.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.ListRunLogs(ctx, orgA.ID, runB.ID, 0, 10)
		wantCode(t, err, labelhub.ECodeNotFound)
		if runs, err := s.ListRuns(ctx, orgB.ID, projB.ID, labelhub.PageRequest{}); err != nil || len(runs.Items) != 1 || runs.Items[0].ID != runB.ID {
			t.Fatalf("org B's runs = %+v, %v", runs, err)
		}
		if got, _ := s.GetRun(ctx, orgA.ID, runA.ID); got.State != labelhub.RunQueued {
			t.Fatalf("org B's cancel reached org A's run: %+v", got)
		}
		// Presets of it are per project, so per organisation.
		if _, err := s.SavePreset(ctx, orgB.ID, adminB.ID, labelhub.Preset{ProjectID: projB.ID, PluginID: id, Name: "fast", ConfigJSON: `{}`}); err != nil {
			t.Fatal(err)
		}
		if ps, err := s.ListPresets(ctx, orgA.ID, projB.ID, id, labelhub.PageRequest{}); err != nil || len(ps.Items) != 0 {
			t.Fatalf("org A lists org B's presets: %+v, %v", ps, err)
		}

		// A new version (or a new key) updates the row in place.
		fp.Description, fp.Secret = "zips better", sqlstore.FirstPartySecret(bytes.Repeat([]byte{9}, 32), "zipper")
		ps, err := s.EnsureFirstPartyPlugins(ctx, []sqlstore.FirstPartyPlugin{fp})
		if err != nil || ps[0].ID != id || ps[0].Description != "zips better" {
			t.Fatalf("ensure again = %+v, %v", ps, err)
		}
		if _, err := s.AuthenticatePlugin(ctx, id, fp.Secret); err != nil {
			t.Fatalf("new secret: %v", err)
		}
		if got, err := s.GetRun(ctx, orgA.ID, runA.ID); err != nil || got.PluginID != id {
			t.Fatalf("runs survive an update: %+v, %v", got, err)
		}
	})
}
