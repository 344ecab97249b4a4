package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// exportAll collects an export and checks the pages' sizes.
func exportAll(t *testing.T, s *sqlstore.Store, orgID, projectID string, f labelhub.ExportFilter, history, meta bool) []labelhub.ExportedAsset {
	t.Helper()
	var out []labelhub.ExportedAsset
	pages := 0
	err := s.Export(context.Background(), orgID, projectID, f, history, meta, func(page []labelhub.ExportedAsset) error {
		pages++
		if len(page) == 0 || len(page) > labelhub.ExportPageSize {
			t.Errorf("page of %d", len(page))
		}
		out = append(out, page...) // the page is reused: copy the values
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(out) + labelhub.ExportPageSize - 1) / labelhub.ExportPageSize; pages != want {
		t.Errorf("%d pages for %d tasks", pages, len(out))
	}
	n, err := s.CountExport(context.Background(), orgID, projectID, f)
	if err != nil || n != int64(len(out)) {
		t.Errorf("CountExport %d (%v), exported %d", n, err, len(out))
	}
	return out
}

func TestExportPagesFiltersAndUsers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		const n = 2*labelhub.ExportPageSize + 17
		f := newTaskFixture(t, s, "export@example.com", 1)
		addAssets(t, s, f.org.ID, f.admin.ID, f.project.ID, "start", f.batch.ID, n-1)
		f.tasks = nil
		for after := ""; ; {
			list, err := s.ListTasks(ctx, f.org.ID, f.project.ID, labelhub.TaskFilter{After: after, Limit: labelhub.MaxPageLimit})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				break
			}
			for _, tk := range list {
				f.tasks = append(f.tasks, tk.ID)
			}
			after = list[len(list)-1].ID
		}
		if len(f.tasks) != n {
			t.Fatalf("%d tasks", len(f.tasks))
		}
		labeler := f.user(t, s, labelhub.RoleLabeler)
		first, second := f.tasks[0], f.tasks[labelhub.ExportPageSize+3] // on two pages
		for _, id := range []string{first, second} {
			a := validAnswer(t, `{"tools": [{"objectId": "c1", "schemaId": "car", "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}],
				"classifications": [{"objectId": "w1", "schemaId": "weather", "answer": "sunny"}]}`)
			if _, err := s.PutAnswer(ctx, f.org.ID, id, labeler, 1, a); err != nil {
				t.Fatal(err)
			}
			d := int64(42)
			if _, err := s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit, DurationMs: &d}); err != nil {
				t.Fatal(err)
			}
		}

		all := exportAll(t, s, f.org.ID, f.project.ID, labelhub.ExportFilter{}, true, false)
		if len(all) != n {
			t.Fatalf("exported %d of %d", len(all), n)
		}
		for i, e := range all {
			if e.Task.TaskID != f.tasks[i] {
				t.Fatalf("object %d is task %s, want %s (id order, no repeats)", i, e.Task.TaskID, f.tasks[i])
			}
			if wantBatch := i == 0 || (i-1)%2 == 0; (len(e.Batches) == 1 && e.Batches[0] == "evens") != wantBatch {
				t.Fatalf("object %d batches %v", i, e.Batches)
			}
			if string(e.Metadata) != `{"width":640,"height":480}` || e.Asset == "" || e.ExternalID == "" || e.Task.StageHistory == nil {
				t.Fatalf("object %d: %+v", i, e)
			}
		}
		for _, i := range []int{0, labelhub.ExportPageSize + 3} {
			e := all[i]
			h := e.Task.StageHistory
			if e.Task.Stage != "Label" || e.Task.StageID != "label" || e.Task.UpdatedBy != labeler.Email || e.Task.TotalDuration != 42 ||
				len(h) != 1 || h[0].CompletedBy != labeler.Email || h[0].Stage != "Start" || h[0].Duration != 42 || len(h[0].Tools) != 1 ||
				len(e.Task.Tools) != 1 || e.Task.Tools[0].ItemMeta != (labelhub.ItemMeta{}) || h[0].Tools[0].ItemMeta != (labelhub.ItemMeta{}) ||
				e.Task.Classifications[0].ItemMeta != (labelhub.ItemMeta{}) {
				t.Fatalf("answered task %d: %+v", i, e.Task)
			}
		}
		if all[1].Task.UpdatedBy != "" || len(all[1].Task.StageHistory) != 0 || all[1].Task.Tools == nil {
			t.Fatalf("untouched task %+v", all[1].Task)
		}

		// Metadata on: users as emails, in the answer and in the history.
		withMeta := exportAll(t, s, f.org.ID, f.project.ID, labelhub.ExportFilter{StageID: "label"}, true, true)
		if len(withMeta) != 2 {
			t.Fatalf("stage label: %d", len(withMeta))
		}
		for _, e := range withMeta {
			m := e.Task.Tools[0].ItemMeta
			hm := e.Task.StageHistory[0].Classifications[0].ItemMeta
			if m.CreatedBy != labeler.Email || m.UpdatedBy != labeler.Email || m.CreatedIn != "Start" || m.CreatedAt.IsZero() ||
				hm.CreatedBy != labeler.Email {
				t.Fatalf("metadata %+v, history %+v", m, hm)
			}
		}
		// History off.
		for _, e := range exportAll(t, s, f.org.ID, f.project.ID, labelhub.ExportFilter{StageID: "label"}, false, false) {
			if e.Task.StageHistory != nil {
				t.Fatalf("history without includeHistory: %+v", e.Task)
			}
		}
		// Batch and time filters.
		evens := exportAll(t, s, f.org.ID, f.project.ID, labelhub.ExportFilter{BatchIDs: []string{f.batch.ID}}, false, false)
		if len(evens) != (n+1)/2 {
			t.Fatalf("batch: %d", len(evens))
		}
		tk, err := s.GetTask(ctx, f.org.ID, first)
		if err != nil {
			t.Fatal(err)
		}
		after := exportAll(t, s, f.org.ID, f.project.ID, labelhub.ExportFilter{UpdatedAfter: tk.UpdatedAt.Add(-time.Microsecond)}, false, false)
		if len(after) != 2 {
			t.Fatalf("updatedAfter: %d", len(after))
		}
		before := exportAll(t, s, f.org.ID, f.project.ID, labelhub.ExportFilter{UpdatedBefore: tk.UpdatedAt}, false, false)
		if len(before) != n-2 {
			t.Fatalf("updatedBefore: %d", len(before))
		}
		// Another organisation sees nothing of the project.
		other, _, _ := newOrg(t, s, "other-export@example.com")
		if err := s.Export(ctx, other.ID, f.project.ID, labelhub.ExportFilter{}, true, false, func([]labelhub.ExportedAsset) error {
			t.Fatal("a page for another organisation")
			return nil
		}); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			t.Fatalf("other org: %v", err)
		}
	})
}

// BenchmarkExport reads and encodes an export of 5,000 answered tasks with
// one history entry each (SQLite), as the API does, into io.Discard.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	org, admin, _, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "Bench", AdminEmail: "bench@example.com", AdminPassword: "correct horse battery"}, false)
	if err != nil {
		b.Fatal(err)
	}
	name := "bench"
	p, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		b.Fatal(err)
	}
	const n = 5000
	addAssets(b, s, org.ID, admin.ID, p.ID, "start", "", n)
	answer := validAnswerTB(b)
	for after := ""; ; {
		list, err := s.ListTasks(ctx, org.ID, p.ID, labelhub.TaskFilter{After: after, Limit: labelhub.MaxPageLimit})
		if err != nil {
			b.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		for _, tk := range list {
			if _, err := s.PutAnswer(ctx, org.ID, tk.ID, admin, 1, answer); err != nil {
				b.Fatal(err)
			}
			if _, err := s.MoveTask(ctx, org.ID, tk.ID, admin, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
				b.Fatal(err)
			}
		}
		after = list[len(list)-1].ID
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		enc := json.NewEncoder(io.Discard)
		err := s.Export(ctx, org.ID, p.ID, labelhub.ExportFilter{}, true, false, func(page []labelhub.ExportedAsset) error {
			for j := range page {
				if err := enc.Encode(&page[j]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tasks/s")
}

func validAnswerTB(b *testing.B) labelhub.Answer {
	a, err := labelhub.DecodeAnswer([]byte(`{"tools": [{"objectId": "c1", "schemaId": "car", "title": "Car", "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}},
		{"objectId": "r1", "schemaId": "road", "title": "Road", "polygon": [[0, 0], [100, 0], [100, 50], [0, 50]]}],
		"classifications": [{"objectId": "w1", "schemaId": "weather", "title": "Weather", "answer": "sunny"}],
		"relations": [{"objectId": "f1", "schemaId": "follows", "title": "Follows", "from": "c1", "to": "r1"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// oldExportBytes is the export as the API wrote it with Export and
// encoding/json: the reference WriteExport must match byte for byte.
func oldExportBytes(t *testing.T, s *sqlstore.Store, orgID, projectID string, o labelhub.ExportOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	first := true
	for _, e := range exportAll(t, s, orgID, projectID, labelhub.ExportFilter{}, o.IncludeHistory, o.IncludeMetadata) {
		if o.Format == labelhub.ExportJSON && !first {
			b.WriteString(",")
		}
		first = false
		if err := enc.Encode(&e); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestWriteExportMatchesExport compares WriteExport with the encoding of
// Export on two pages of tasks whose answers have item metadata of two
// users, nested classifications, relations (single and group), strings
// that encoding/json escapes and history, in every combination of
// format, history and metadata.
func TestWriteExportMatchesExport(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "write-export@example.com", 0)
		schemaText, err := os.ReadFile(filepath.Join("..", "testdata", "labels", "schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		var schema labelhub.CategorySchema
		if err := json.Unmarshal(schemaText, &schema); err != nil {
			t.Fatal(err)
		}
		name := "Rich export"
		p, err := s.CreateProject(ctx, f.org.ID, f.admin.ID, labelhub.ProjectInput{Name: &name, CategorySchema: &schema})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateBatch(ctx, f.org.ID, p.ID, `odd <"batch"> & é`)
		if err != nil {
			t.Fatal(err)
		}
		const n = labelhub.ExportPageSize + 5
		addAssets(t, s, f.org.ID, f.admin.ID, p.ID, "start", b.ID, n)
		labeler := f.user(t, s, labelhub.RoleLabeler)
		list, err := s.ListTasks(ctx, f.org.ID, p.ID, labelhub.TaskFilter{Limit: labelhub.MaxPageLimit})
		if err != nil {
			t.Fatal(err)
		}
		full, err := os.ReadFile(filepath.Join("..", "testdata", "answers", "valid_full.json"))
		if err != nil {
			t.Fatal(err)
		}
		odd := strings.NewReplacer(`"car-1"`, `"car-<1>&\"é\u2028"`, `"dark"`, `"<dark> & \"tinted\" \u2028 ✓\n"`).Replace(string(full))
		answer := func(src string) labelhub.Answer {
			a, err := labelhub.DecodeAnswer([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if fes := a.Validate(schema.Index(), labelhub.LabelLimits{}, ""); len(fes) > 0 {
				t.Fatalf("answer invalid: %v", fes)
			}
			return a
		}
		// Tasks on both pages: answered by the labeler and submitted,
		// then changed by the admin (another user in the metadata).
		rest, err := s.ListTasks(ctx, f.org.ID, p.ID, labelhub.TaskFilter{After: list[len(list)-1].ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range []string{list[0].ID, list[3].ID, rest[1].ID} {
			src := string(full)
			if i == 1 {
				src = odd
			}
			tk, err := s.PutAnswer(ctx, f.org.ID, id, labeler, 1, answer(src))
			if err != nil {
				t.Fatal(err)
			}
			d := int64(1234)
			if tk, err = s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit, DurationMs: &d}); err != nil {
				t.Fatal(err)
			}
			changed := strings.Replace(src, `"answer": ["a", "c"]`, `"answer": ["c"]`, 1)
			if _, err := s.PutAnswer(ctx, f.org.ID, id, f.admin, tk.Version, answer(changed)); err != nil {
				t.Fatal(err)
			}
		}
		for _, format := range []string{labelhub.ExportNDJSON, labelhub.ExportJSON} {
			for _, history := range []bool{true, false} {
				for _, meta := range []bool{false, true} {
					o := labelhub.ExportOptions{Format: format, IncludeHistory: history, IncludeMetadata: meta}
					want := oldExportBytes(t, s, f.org.ID, p.ID, o)
					minPages, restore := 2, func() {}
					if format == labelhub.ExportJSON && history && meta {
						// Pages cut by their bytes: each ends after an
						// answered task (the others have no answer).
						restore, minPages = sqlstore.SetExportPageBytes(1), 4
					}
					var got bytes.Buffer
					pages := 0
					signed := 0
					err := s.WriteExport(ctx, f.org.ID, p.ID, labelhub.ExportFilter{}, o, func(e *labelhub.ExportedAsset) error {
						signed++
						return nil
					}, func(page []byte) error {
						pages++
						got.Write(page)
						return nil
					})
					restore()
					if err != nil {
						t.Fatal(err)
					}
					if pages < minPages || signed != n {
						t.Errorf("%+v: %d pages, %d assets signed", o, pages, signed)
					}
					if !bytes.Equal(got.Bytes(), want) {
						g, w := got.String(), string(want)
						i := 0
						for i < len(g) && i < len(w) && g[i] == w[i] {
							i++
						}
						t.Fatalf("%+v: WriteExport differs from Export at byte %d:\n got %.300q\nwant %.300q", o, i, g[max(0, i-100):], w[max(0, i-100):])
					}
					// Counted, in a snapshot (on PostgreSQL read with pgx).
					var counted bytes.Buffer
					total := int64(-1)
					restore = func() {}
					if minPages == 4 {
						restore = sqlstore.SetExportPageBytes(1)
					}
					err = s.WriteExportCounted(ctx, f.org.ID, p.ID, labelhub.ExportFilter{}, o, func(n int64) error {
						total = n
						return nil
					}, nil, func(page []byte) error {
						counted.Write(page)
						return nil
					})
					restore()
					if err != nil {
						t.Fatal(err)
					}
					if total != n || !bytes.Equal(counted.Bytes(), want) {
						t.Fatalf("%+v: WriteExportCounted (count %d) differs from Export:\n got %.300q\nwant %.300q", o, total, counted.Bytes(), want)
					}
					if meta && !bytes.Contains(want, []byte(`"createdBy":"`+labeler.Email+`"`)) {
						t.Fatalf("%+v: no item metadata with emails in %s", o, want)
					}
				}
			}
		}
		// A sign error ends the export with it.
		boom := errors.New("boom")
		if err := s.WriteExport(ctx, f.org.ID, p.ID, labelhub.ExportFilter{}, labelhub.ExportOptions{Format: labelhub.ExportNDJSON},
			func(*labelhub.ExportedAsset) error { return boom }, func([]byte) error { return nil }); !errors.Is(err, boom) {
			t.Fatalf("sign error: %v", err)
		}
	})
}

// TestExportHistoryOfInterleavedProjects: the history and batch names of
// an export's tasks are theirs alone, whether a page's tasks lie apart
// from other projects' (read by the range of the history's key on SQLite
// and, in a snapshot, on PostgreSQL, where the batch names are read by
// the range of the assets' ids too) or between tasks of another project
// made alongside them, with history and batches of their own (read
// through the page's filter or by the list of the page's ids).
func TestExportHistoryOfInterleavedProjects(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "interleaved@example.com", 0)
		var projects [2]labelhub.Project
		var batches [2]string // each project's, on half of its assets
		var second string     // project 0's other batch, made first: its id comes before, its name after
		for i := range projects {
			name := fmt.Sprint("interleaved ", i)
			p, err := s.CreateProject(ctx, f.org.ID, f.admin.ID, labelhub.ProjectInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			projects[i] = p
			if i == 0 {
				b, err := s.CreateBatch(ctx, f.org.ID, p.ID, "z 0")
				if err != nil {
					t.Fatal(err)
				}
				second = b.ID
			}
			b, err := s.CreateBatch(ctx, f.org.ID, p.ID, fmt.Sprint("batch ", i))
			if err != nil {
				t.Fatal(err)
			}
			batches[i] = b.ID
		}
		for k := range 12 { // ids of the two projects' tasks and assets alternate
			for i, p := range projects {
				batch := ""
				if k%2 == 0 {
					batch = batches[i]
				}
				addAssets(t, s, f.org.ID, f.admin.ID, p.ID, "start", batch, 1)
			}
		}
		// And then lie apart, every other one (the last too) in both of
		// project 0's batches.
		addAssetsInBatches(t, s, f.org.ID, f.admin.ID, projects[0].ID, "start", []string{second, batches[0]}, 7)
		submitted := map[string]bool{}
		for _, p := range projects {
			list, err := s.ListTasks(ctx, f.org.ID, p.ID, labelhub.TaskFilter{Limit: labelhub.MaxPageLimit})
			if err != nil {
				t.Fatal(err)
			}
			for i, tk := range list {
				if i%3 == 0 {
					continue
				}
				if _, err := s.MoveTask(ctx, f.org.ID, tk.ID, f.admin, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
					t.Fatal(err)
				}
				submitted[tk.ID] = true
			}
		}
		for i, p := range projects {
			o := labelhub.ExportOptions{Format: labelhub.ExportNDJSON, IncludeHistory: true}
			want := oldExportBytes(t, s, f.org.ID, p.ID, o)
			both := 0 // the assets in both of project 0's batches
			if i == 0 {
				both = 4
			}
			for list, want2 := range map[string]int{fmt.Sprintf(`[%q]`, fmt.Sprint("batch ", i)): 6, `["batch 0","z 0"]`: both} {
				if n := bytes.Count(want, []byte(list)); n != want2 {
					t.Fatalf("project %s: the reference export has %s %d times, want %d", p.Name, list, n, want2)
				}
			}
			// Without a snapshot, and in one (on PostgreSQL the pages
			// read with pgx, history and names by queries of their own).
			for name, write := range map[string]func(fn func([]byte) error) error{
				"WriteExport": func(fn func([]byte) error) error {
					return s.WriteExport(ctx, f.org.ID, p.ID, labelhub.ExportFilter{}, o, nil, fn)
				},
				"WriteExportCounted": func(fn func([]byte) error) error {
					return s.WriteExportCounted(ctx, f.org.ID, p.ID, labelhub.ExportFilter{}, o, func(int64) error { return nil }, nil, fn)
				},
			} {
				var got bytes.Buffer
				if err := write(func(b []byte) error {
					got.Write(b)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("project %s: %s differs from Export:\n got %.600q\nwant %.600q", p.Name, name, got.Bytes(), want)
				}
			}
			entries := 0
			for _, e := range exportAll(t, s, f.org.ID, p.ID, labelhub.ExportFilter{}, true, false) {
				want := 0
				if submitted[e.Task.TaskID] {
					want = 1
				}
				if len(e.Task.StageHistory) != want {
					t.Fatalf("task %s of %s: %d history entries, want %d", e.Task.TaskID, p.Name, len(e.Task.StageHistory), want)
				}
				entries += len(e.Task.StageHistory)
			}
			if entries == 0 {
				t.Fatalf("project %s: no history exported", p.Name)
			}
		}
	})
}
