package sqlstore_test

import (
	"context"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

func TestPresets(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, s, "admin@example.com")
		org2, admin2, _ := newOrg(t, s, "other@example.com")
		plug, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("COCO"), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		plug2, _, err := s.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("YOLO"), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		otherProj, err := s.CreateProject(ctx, org2.ID, admin2.ID, labelhub.ProjectInput{Name: ptr("Q")})
		if err != nil {
			t.Fatal(err)
		}

		_, err = s.CreatePreset(ctx, org.ID, admin.ID, proj.ID, plug.ID, labelhub.PresetInput{Name: ptr("fast"), ConfigJSON: ptr(`{"q":`)})
		wantCode(t, err, labelhub.ECodeInvalid)
		fast, err := s.CreatePreset(ctx, org.ID, admin.ID, proj.ID, plug.ID, labelhub.PresetInput{Name: ptr("fast"), ConfigJSON: ptr(`{"q":1}`)})
		if err != nil || fast.Name != "fast" || fast.ConfigJSON != `{"q":1}` || fast.CreatedBy != admin.ID || !labelhub.ValidID(fast.ID) {
			t.Fatalf("create = %+v, %v", fast, err)
		}
		// Same name, same project and plugin: conflict; another plugin or
		// project may use it.
		_, err = s.CreatePreset(ctx, org.ID, admin.ID, proj.ID, plug.ID, labelhub.PresetInput{Name: ptr("fast"), ConfigJSON: ptr(`{}`)})
		wantCode(t, err, labelhub.ECodeConflict)
		if _, err := s.CreatePreset(ctx, org.ID, admin.ID, proj.ID, plug2.ID, labelhub.PresetInput{Name: ptr("fast"), ConfigJSON: ptr(`{}`)}); err != nil {
			t.Fatal(err)
		}
		slow, err := s.CreatePreset(ctx, org.ID, admin.ID, proj.ID, plug.ID, labelhub.PresetInput{Name: ptr("slow"), ConfigJSON: ptr(`[1]`)})
		if err != nil {
			t.Fatal(err)
		}
		// Another organisation's project or plugin is not found.
		_, err = s.CreatePreset(ctx, org2.ID, admin2.ID, proj.ID, plug.ID, labelhub.PresetInput{Name: ptr("x"), ConfigJSON: ptr(`{}`)})
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.CreatePreset(ctx, org2.ID, admin2.ID, otherProj.ID, plug.ID, labelhub.PresetInput{Name: ptr("x"), ConfigJSON: ptr(`{}`)})
		wantCode(t, err, labelhub.ECodeNotFound)

		got, err := s.GetPreset(ctx, org.ID, fast.ID)
		if err != nil || got.ConfigJSON != `{"q":1}` || got.ProjectID != proj.ID || got.PluginID != plug.ID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		_, err = s.GetPreset(ctx, org2.ID, fast.ID)
		wantCode(t, err, labelhub.ECodeNotFound)

		// Rename onto another name is a conflict; the row is unchanged.
		_, err = s.UpdatePreset(ctx, org.ID, slow.ID, labelhub.PresetInput{Name: ptr("fast")})
		wantCode(t, err, labelhub.ECodeConflict)
		_, err = s.UpdatePreset(ctx, org.ID, slow.ID, labelhub.PresetInput{ConfigJSON: ptr(`nope`)})
		wantCode(t, err, labelhub.ECodeInvalid)
		_, err = s.UpdatePreset(ctx, org2.ID, slow.ID, labelhub.PresetInput{Name: ptr("mine")})
		wantCode(t, err, labelhub.ECodeNotFound)
		up, err := s.UpdatePreset(ctx, org.ID, slow.ID, labelhub.PresetInput{ConfigJSON: ptr(`{"q":9}`)})
		if err != nil || up.Name != "slow" || up.ConfigJSON != `{"q":9}` || !up.UpdatedAt.After(up.CreatedAt) && !up.UpdatedAt.Equal(up.CreatedAt) {
			t.Fatalf("update = %+v, %v", up, err)
		}
		up, err = s.UpdatePreset(ctx, org.ID, slow.ID, labelhub.PresetInput{Name: ptr("thorough")})
		if err != nil || up.Name != "thorough" || up.ConfigJSON != `{"q":9}` {
			t.Fatalf("rename = %+v, %v", up, err)
		}

		// Lists are per project and plugin, in creation order, paginated.
		page, err := s.ListPresets(ctx, org.ID, proj.ID, plug.ID, labelhub.PageRequest{Limit: 1})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != fast.ID || page.NextCursor == "" {
			t.Fatalf("page 1 = %+v, %v", page, err)
		}
		page, err = s.ListPresets(ctx, org.ID, proj.ID, plug.ID, labelhub.PageRequest{Limit: 1, Cursor: page.NextCursor})
		if err != nil || len(page.Items) != 1 || page.Items[0].Name != "thorough" {
			t.Fatalf("page 2 = %+v, %v", page, err)
		}
		if page, err := s.ListPresets(ctx, org2.ID, proj.ID, plug.ID, labelhub.PageRequest{}); err != nil || len(page.Items) != 0 {
			t.Fatalf("org2 sees %+v, %v", page, err)
		}

		wantCode(t, s.DeletePreset(ctx, org2.ID, fast.ID), labelhub.ECodeNotFound)
		if err := s.DeletePreset(ctx, org.ID, fast.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetPreset(ctx, org.ID, fast.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		// The name is free again.
		if _, err := s.CreatePreset(ctx, org.ID, admin.ID, proj.ID, plug.ID, labelhub.PresetInput{Name: ptr("fast"), ConfigJSON: ptr(`{}`)}); err != nil {
			t.Fatal(err)
		}
		// Presets go with their plugin.
		if err := s.DeletePlugin(ctx, org.ID, plug.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetPreset(ctx, org.ID, slow.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
	})
}
