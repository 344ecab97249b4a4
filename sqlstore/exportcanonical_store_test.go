package sqlstore_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// TestAnswerCanonicalWritePaths checks that every path that writes an
// answer sets answer_canonical, true only for text in the form the export
// writes (sqlstore.CanonicalAnswer), and that an export writes the same
// bytes whether the rows say so or not.
func TestAnswerCanonicalWritePaths(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "canonical@example.com", 4)
		labeler := f.user(t, s, labelhub.RoleLabeler)
		check := func(step, externalID string, task bool, history ...bool) {
			t.Helper()
			gotTask, gotHistory := sqlstore.StoredCanonical(t, s, f.project.ID, externalID)
			if gotTask != task || !slices.Equal(gotHistory, history) {
				t.Fatalf("%s: %s: answer_canonical %v, history %v; want %v, %v", step, externalID, gotTask, gotHistory, task, history)
			}
		}
		taskOf := map[string]string{}
		for _, id := range f.tasks {
			tk, err := s.GetTask(ctx, f.org.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.GetAsset(ctx, f.org.ID, tk.AssetID)
			if err != nil {
				t.Fatal(err)
			}
			taskOf[a.ExternalID] = id
		}
		check("imported", "img-0.jpg", false)

		// PutAnswer and the history entry of a submit: canonical, but
		// for an answer json.Marshal stores with HTML escapes.
		put := func(externalID, src string) {
			t.Helper()
			tk, err := s.GetTask(ctx, f.org.ID, taskOf[externalID])
			if err != nil {
				t.Fatal(err)
			}
			if tk, err = s.PutAnswer(ctx, f.org.ID, tk.ID, labeler, tk.Version, validAnswer(t, src)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.MoveTask(ctx, f.org.ID, tk.ID, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
				t.Fatal(err)
			}
		}
		put("img-0.jpg", `{"tools": [{"objectId": "c1", "schemaId": "car", "title": "Car", "bounding-box": {"x": 1, "y": 2.5, "width": 3, "height": 4}}]}`)
		check("PutAnswer", "img-0.jpg", true, true)
		put("img-1.jpg", `{"tools": [{"objectId": "c<1>", "schemaId": "car", "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}]}`)
		check("PutAnswer with HTML escapes", "img-1.jpg", false, false)

		// ApplyLabels.
		indented := "{\n\"tools\": [], \"classifications\": [], \"relations\": []}"
		if _, err := s.ApplyLabels(ctx, f.org.ID, f.project.ID, f.admin.ID, []labelhub.LabelUpdate{
			{ExternalID: "img-0.jpg", Answer: indented},
			{ExternalID: "img-2.jpg", Answer: `{"tools":[],"classifications":[],"relations":[]}`}}); err != nil {
			t.Fatal(err)
		}
		check("ApplyLabels", "img-0.jpg", false, true)
		check("ApplyLabels", "img-2.jpg", true)

		// A label import and its rollback, which restores the answers
		// before it.
		im := labelhub.Import{ID: labelhub.NewID(), OrgID: f.org.ID, ProjectID: f.project.ID, Kind: labelhub.ImportKindLabels,
			State: labelhub.ImportRunning, Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateUpdate}, CreatedBy: f.admin.ID, Runner: "r"}
		if err := s.CreateImport(ctx, im); err != nil {
			t.Fatal(err)
		}
		lb := labelhub.ImportBatch{ImportID: im.ID, Runner: "r", OrgID: f.org.ID, ProjectID: f.project.ID, StageID: "start",
			OnDuplicate: labelhub.DuplicateUpdate, NextIndex: 2, Delta: labelhub.ImportCounts{Received: 2, Valid: 2}}
		if _, _, err := s.CommitLabelBatch(ctx, lb, f.admin.ID, []labelhub.LabelUpdate{
			{Index: 0, ExternalID: "img-0.jpg", Answer: `{"tools":[],"classifications":[],"relations":[]}`},
			{Index: 1, ExternalID: "img-2.jpg", Answer: `{"tools":[],"set":1}`}}); err != nil {
			t.Fatal(err)
		}
		check("label import", "img-0.jpg", true, true)
		check("label import", "img-2.jpg", false)
		if _, err := s.DeleteImportAssets(ctx, f.org.ID, im.ID, 100); err != nil {
			t.Fatal(err)
		}
		check("rollback", "img-0.jpg", false, true)
		check("rollback", "img-2.jpg", true)

		// The same export with the rows marked and not.
		for _, meta := range []bool{false, true} {
			o := labelhub.ExportOptions{Format: labelhub.ExportNDJSON, IncludeHistory: true, IncludeMetadata: meta}
			export := func() []byte {
				var b bytes.Buffer
				if err := s.WriteExport(ctx, f.org.ID, f.project.ID, labelhub.ExportFilter{}, o, nil, func(page []byte) error {
					b.Write(page)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return b.Bytes()
			}
			marked := export()
			want := oldExportBytes(t, s, f.org.ID, f.project.ID, o)
			if !bytes.Equal(marked, want) {
				t.Fatalf("meta %v: marked rows:\n got %s\nwant %s", meta, marked, want)
			}
			if meta && !bytes.Contains(marked, []byte(`"createdBy":"`+labeler.Email+`"`)) {
				t.Fatalf("no item metadata with emails in %s", marked)
			}
		}
		sqlstore.ClearCanonical(t, s)
		for _, meta := range []bool{false, true} {
			o := labelhub.ExportOptions{Format: labelhub.ExportNDJSON, IncludeHistory: true, IncludeMetadata: meta}
			var b bytes.Buffer
			if err := s.WriteExport(ctx, f.org.ID, f.project.ID, labelhub.ExportFilter{}, o, nil, func(page []byte) error {
				b.Write(page)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := oldExportBytes(t, s, f.org.ID, f.project.ID, o); !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("meta %v: rows not marked:\n got %s\nwant %s", meta, b.Bytes(), want)
			}
		}
	})
}
