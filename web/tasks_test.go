package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/web"
)

// taskTestSchema has a box tool (with a colour and a nested radio), a
// polygon tool, a segmentation tool, a ner tool, a top-level checkbox and
// a single and a group relation.
const taskTestSchema = `{"tools": [
	{"schemaId": "car", "title": "Car", "tool": "bounding-box", "color": "#ff0000",
	 "classifications": [{"schemaId": "car-color", "title": "Colour", "tool": "radio", "options": [{"value": "red"}, {"value": "blue"}]}]},
	{"schemaId": "road", "title": "Road", "tool": "polygon"},
	{"schemaId": "field", "title": "Field", "tool": "segmentation"},
	{"schemaId": "person", "title": "Person", "tool": "ner"}],
 "classifications": [{"schemaId": "weather", "title": "Weather", "tool": "checkbox", "options": [{"value": "sunny"}, {"value": "windy"}]}],
 "relations": [{"schemaId": "follows", "title": "Follows", "tool": "single"}, {"schemaId": "convoy", "title": "Convoy", "tool": "group"}]}`

// newTaskProject makes a project with schema in the organisation.
func newTaskProject(t *testing.T, s *sqlstore.Store, orgID, userID, schema string) labelhub.Project {
	t.Helper()
	var cs labelhub.CategorySchema
	if err := json.Unmarshal([]byte(schema), &cs); err != nil {
		t.Fatal(err)
	}
	name := "Street scenes"
	p, err := s.CreateProject(context.Background(), orgID, userID, labelhub.ProjectInput{Name: &name, CategorySchema: &cs})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// importAssets adds assets to a project through the import path; each
// asset gets its task in the first stage.
func importAssets(t *testing.T, s *sqlstore.Store, orgID, userID, projectID string, assets []labelhub.NewAsset) {
	t.Helper()
	ctx := context.Background()
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: orgID, ProjectID: projectID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
		Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateAllow}, CreatedBy: userID, Runner: "test"}
	if err := s.CreateImport(ctx, im); err != nil {
		t.Fatal(err)
	}
	for i := range assets {
		assets[i].Index = int64(i)
		if assets[i].ID == "" {
			assets[i].ID = labelhub.NewID()
		}
		if assets[i].ProbeState == "" {
			assets[i].ProbeState = "none"
		}
	}
	n := int64(len(assets))
	if _, err := s.CommitImportBatch(ctx, labelhub.ImportBatch{ImportID: im.ID, Runner: "test", OrgID: orgID, ProjectID: projectID, StageID: "start",
		OnDuplicate: labelhub.DuplicateAllow, Assets: assets, Now: time.Now(), NextIndex: n, Delta: labelhub.ImportCounts{Received: n, Valid: n}}); err != nil {
		t.Fatal(err)
	}
}

// taskOf is the task of the asset with the given id.
func taskOf(t *testing.T, s *sqlstore.Store, orgID, projectID, assetID string) labelhub.Task {
	t.Helper()
	list, err := s.ListTasks(context.Background(), orgID, projectID, labelhub.TaskFilter{Limit: labelhub.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range list {
		if tk.AssetID == assetID {
			return tk
		}
	}
	t.Fatalf("no task for asset %s", assetID)
	return labelhub.Task{}
}

// putAnswer validates src against the project's schema and stores it.
func putAnswer(t *testing.T, s *sqlstore.Store, p labelhub.Project, user labelhub.User, tk labelhub.Task, src string) labelhub.Task {
	t.Helper()
	a, err := labelhub.DecodeAnswer([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if fes := a.Validate(p.CategorySchema.Index(), labelhub.LabelLimits{}, ""); len(fes) > 0 {
		t.Fatalf("answer invalid: %v", fes)
	}
	tk, err = s.PutAnswer(context.Background(), p.OrgID, tk.ID, user, tk.Version, a)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// rowsOf lists the task ids of a Tasks page, in order.
var taskRowRE = regexp.MustCompile(`<tr data-task-id="([^"]+)"`)

func rowsOf(body string) []string {
	var ids []string
	for _, m := range taskRowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestTasksTab: the Tasks tab lists a project's tasks with their stage,
// batches and last change, filters them by stage and batch, and pages
// through them with "next page" links that neither repeat nor skip.
func TestTasksTab(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	p := newTaskProject(t, e.store, e.org.ID, e.admin.ID, taskTestSchema)
	b, err := e.store.CreateBatch(ctx, e.org.ID, p.ID, "night-shift")
	if err != nil {
		t.Fatal(err)
	}
	var assets []labelhub.NewAsset
	for i := range 57 {
		a := labelhub.NewAsset{ExternalID: fmt.Sprintf("cam-%02d.png", i), Type: labelhub.AssetImage, Data: fmt.Sprintf("https://example.com/cam-%02d.png", i)}
		if i%3 == 0 {
			a.BatchIDs = []string{b.ID}
		}
		assets = append(assets, a)
	}
	importAssets(t, e.store, e.org.ID, e.admin.ID, p.ID, assets)
	moved := taskOf(t, e.store, e.org.ID, p.ID, assets[4].ID)
	moved = putAnswer(t, e.store, p, e.admin, moved, `{"tools": [{"schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 2, "height": 2}}]}`)
	if _, err := e.store.MoveTask(ctx, e.org.ID, moved.ID, e.admin, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
		t.Fatal(err)
	}

	c := e.client()
	c.login(adminEmail, adminPassword)
	r := c.get("/projects/" + p.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/projects/`+p.ID+`/tasks" id="tab-tasks"`)

	// The first page: 50 rows, the stages of the workflow in the filter,
	// the batch, the moved task in Label with who moved it.
	r = c.get("/projects/" + p.ID + "/tasks")
	wantStatus(t, r, http.StatusOK)
	first := rowsOf(r.body)
	if len(first) != 50 {
		t.Fatalf("first page has %d rows", len(first))
	}
	wantContains(t, r.body, `<option value="label">Label</option>`, `<option value="review">Review</option>`,
		`<option value="`+b.ID+`">night-shift</option>`, `cam-00.png`, `night-shift`, `href="/tasks/`+moved.ID+`"`, adminEmail)
	row := regexp.MustCompile(`(?s)<tr data-task-id="` + moved.ID + `">.*?</tr>`).FindString(r.body)
	if !strings.Contains(row, "Label") || !strings.Contains(row, "cam-04.png") || !strings.Contains(row, adminEmail) {
		t.Fatalf("moved task row: %s", row)
	}
	next := find(t, regexp.MustCompile(`id="tasks-next" href="([^"]+)"`), r.body)
	r = c.get(next)
	wantStatus(t, r, http.StatusOK)
	second := rowsOf(r.body)
	if len(second) != 7 || strings.Contains(r.body, `id="tasks-next"`) {
		t.Fatalf("second page: %d rows, next link %v", len(second), strings.Contains(r.body, `id="tasks-next"`))
	}
	seen := map[string]bool{}
	for _, id := range append(first, second...) {
		if seen[id] {
			t.Fatalf("task %s on two pages", id)
		}
		seen[id] = true
	}
	if len(seen) != 57 {
		t.Fatalf("%d distinct tasks", len(seen))
	}

	// Filters.
	r = c.get("/projects/" + p.ID + "/tasks?stage=label")
	wantStatus(t, r, http.StatusOK)
	if got := rowsOf(r.body); len(got) != 1 || got[0] != moved.ID {
		t.Fatalf("stage=label: %v", got)
	}
	wantContains(t, r.body, `<option value="label" selected>Label</option>`)
	r = c.get("/projects/" + p.ID + "/tasks?batch=" + b.ID)
	wantStatus(t, r, http.StatusOK)
	if got := rowsOf(r.body); len(got) != 19 {
		t.Fatalf("batch filter: %d rows", len(got))
	}
	r = c.get("/projects/" + p.ID + "/tasks?stage=review")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="no-tasks"`, "No tasks match.")
	r = c.get("/projects/" + p.ID + "/tasks?cursor=bogus")
	wantStatus(t, r, http.StatusBadRequest)
}

// TestTaskPage: the task page draws each shape of the shown page as an SVG
// element in the image's coordinates, coloured by its tool, with a legend;
// beside it the classifications (nested too), the relations, the stage,
// version and history. ?page picks a page of a multi-page asset.
func TestTaskPage(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	p := newTaskProject(t, e.store, e.org.ID, e.admin.ID, taskTestSchema)
	assets := []labelhub.NewAsset{
		{ExternalID: "street.png", Type: labelhub.AssetImage, Data: "https://example.com/street.png", Doc: `{"metadata":{"width":640,"height":480}}`},
		{ExternalID: "scan.tiff", Type: labelhub.AssetImage, Doc: `{"dataset":["https://example.com/p0.png","https://example.com/p1.png"]}`},
		{ExternalID: "note.txt", Type: labelhub.AssetText, Data: "Ada met Grace in Zürich."},
		{ExternalID: "drive.mp4", Type: labelhub.AssetVideo, Data: "https://example.com/drive.mp4"},
		{ExternalID: "call.mp3", Type: labelhub.AssetAudio, Data: "https://example.com/call.mp3"},
		{ExternalID: "form.pdf", Type: labelhub.AssetPDF, Data: "https://example.com/form.pdf"},
		{ExternalID: "far.txt", Type: labelhub.AssetText, Data: "https://example.com/far.txt"},
	}
	importAssets(t, e.store, e.org.ID, e.admin.ID, p.ID, assets)
	labeler := e.user("lin@example.com", labelhub.RoleLabeler)

	tk := taskOf(t, e.store, e.org.ID, p.ID, assets[0].ID)
	tk = putAnswer(t, e.store, p, labeler, tk, `{"tools": [
		{"objectId": "b1", "schemaId": "car", "bounding-box": {"x": 10, "y": 20, "width": 100, "height": 50},
		 "classifications": [{"schemaId": "car-color", "answer": "blue"}]},
		{"objectId": "b2", "title": "Car", "bounding-box": {"x": 200, "y": 20, "width": 30, "height": 30}},
		{"objectId": "p1", "schemaId": "road", "polygon": [[0, 400], [320, 300], [640, 400]]},
		{"objectId": "s1", "schemaId": "field", "segmentation": {"zones": [{"region": [[0, 0], [50, 0], [50, 50], [0, 50]], "holes": [[[10, 10], [20, 10], [20, 20]]]}]}}],
		"classifications": [{"schemaId": "weather", "answer": ["sunny", "windy"]}],
		"relations": [{"objectId": "r1", "schemaId": "follows", "from": "b2", "to": "b1"}, {"objectId": "r2", "schemaId": "convoy", "group": ["b1", "b2"]}]}`)
	d := int64(65_000)
	if _, err := e.store.MoveTask(ctx, e.org.ID, tk.ID, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit, DurationMs: &d}); err != nil {
		t.Fatal(err)
	}

	c := e.client()
	c.login(adminEmail, adminPassword)
	r := c.get("/tasks/" + tk.ID)
	wantStatus(t, r, http.StatusOK)
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	wantNotContains(t, r.body, "<script>", " style=", "NaN")
	wantContains(t, r.body,
		`viewBox="0 0 640 480"`, `preserveAspectRatio="none"`,
		`src="/api/v1/assets/`+tk.AssetID+`/content"`,
		`<rect class="shape" x="10" y="20" width="100" height="50" fill="#ff0000" stroke="#ff0000" data-object-id="b1" data-schema-id="car" data-kind="bounding-box"><title>Car</title></rect>`,
		`x="200" y="20" width="30" height="30" fill="#ff0000" stroke="#ff0000" data-object-id="b2"`,
		`<polygon class="shape" points="0,400 320,300 640,400"`, `data-object-id="p1" data-schema-id="road" data-kind="polygon"`,
		`d="M0 0L50 0L50 50L0 50ZM10 10L20 10L20 20Z" fill-rule="evenodd"`, `data-object-id="s1" data-schema-id="field" data-kind="segmentation" data-zone="0"`,
		// Legend: every tool of the schema, with the count on this page.
		`<li data-schema-id="car">`, `<span class="legend-title">Car</span>`, `<span class="legend-title">Road</span>`, `<span class="legend-title">Field</span>`,
		// Classifications, nested under the object too.
		`<span class="entry-title">Weather</span> <span class="kind kind-class">checkbox</span> <span class="answer">sunny, windy</span>`,
		`<span class="entry-title">Colour</span> <span class="kind kind-class">radio</span> <span class="answer">blue</span>`,
		// Relations.
		`<span class="rel-from">Car (b2)</span> <span class="rel-arrow" title="straight">→</span> <span class="rel-to">Car (b1)</span>`,
		`<span class="rel-group">Car (b1), Car (b2)</span>`,
		// Stage, version, who changed it, history.
		`<dd id="task-stage">Label</dd>`, `<dd id="task-version">3</dd>`, `lin@example.com`,
		`<td>Start</td><td><span class="tag action-submit">submit</span></td><td class="nowrap">1m 05s</td>`,
		`<script src="/static/tasks.js?v=`, `<link rel="stylesheet" href="/static/tasks.css?v=`,
	)
	if n := strings.Count(r.body, `<li data-schema-id="`); n != 4 {
		t.Fatalf("legend has %d entries", n)
	}
	if li := find(t, regexp.MustCompile(`<li data-schema-id="car">(.*?)</li>`), r.body); !strings.Contains(li, `legend-count">2</span>`) {
		t.Fatalf("legend entry of Car: %s", li)
	}

	// A multi-page asset: the shapes of the shown page only; no size in
	// the metadata lets tasks.js size the drawing.
	scan := taskOf(t, e.store, e.org.ID, p.ID, assets[1].ID)
	putAnswer(t, e.store, p, labeler, scan, `{"tools": [
		{"objectId": "on0", "schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 5, "height": 5}},
		{"objectId": "on1", "schemaId": "road", "page": 1, "polygon": [[1, 1], [9, 1], [5, 9]]}]}`)
	r = c.get("/tasks/" + scan.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `data-object-id="on0"`, `data-auto-viewbox="task-image"`, `src="/api/v1/assets/`+scan.AssetID+`/content?page=0"`,
		`<span class="page-current" aria-current="page">0</span>`, `href="/tasks/`+scan.ID+`?page=1"`)
	wantNotContains(t, r.body, `<polygon class="shape" points="1,1 9,1 5,9" fill="`)
	r = c.get("/tasks/" + scan.ID + "?page=1")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `points="1,1 9,1 5,9"`, `data-object-id="on1"`, `content?page=1"`)
	wantNotContains(t, r.body, `<rect class="shape" x="1"`)
	wantStatus(t, c.get("/tasks/"+scan.ID+"?page=2"), http.StatusBadRequest)
	wantStatus(t, c.get("/tasks/"+tk.ID+"?page=1"), http.StatusBadRequest)
	wantStatus(t, c.get("/tasks/"+tk.ID+"?page=x"), http.StatusBadRequest)

	// A text asset kept inline: its spans are marked in the text, counted
	// in characters.
	note := taskOf(t, e.store, e.org.ID, p.ID, assets[2].ID)
	putAnswer(t, e.store, p, labeler, note, `{"tools": [
		{"objectId": "n1", "schemaId": "person", "ner": {"start": 0, "end": 3}},
		{"objectId": "n2", "schemaId": "person", "ner": {"start": 17, "end": 23}}]}`)
	r = c.get("/tasks/" + note.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `<mark class="span-mark" data-object-id="n1"`, `>Ada</mark> met Grace in <mark class="span-mark" data-object-id="n2"`, `>Zürich</mark>.</pre>`,
		`<td class="span-text">Zürich</td>`)

	// The native viewers: video, audio, PDF, and a text at a URL that
	// tasks.js fetches, its spans listed for it to mark.
	for i, want := range []string{
		`<video class="preview" id="task-media" src="/api/v1/assets/` + assets[3].ID + `/content" controls`,
		`<audio id="task-media" src="/api/v1/assets/` + assets[4].ID + `/content" controls`,
		`<object class="task-pdf" id="task-pdf" data="/api/v1/assets/` + assets[5].ID + `/content" type="application/pdf">`,
		`<pre class="task-text" id="task-text" data-src="/api/v1/assets/` + assets[6].ID + `/content">`,
	} {
		tk := taskOf(t, e.store, e.org.ID, p.ID, assets[3+i].ID)
		if i == 3 {
			putAnswer(t, e.store, p, labeler, tk, `{"tools": [{"objectId": "far1", "schemaId": "person", "ner": {"start": 2, "end": 5}}]}`)
		}
		r = c.get("/tasks/" + tk.ID)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r.body, want)
		if i == 3 {
			wantContains(t, r.body, `<tr data-object-id="far1" data-start="2" data-end="5"`)
		}
		if i == 2 && !strings.Contains(r.Header.Get("Content-Security-Policy"), "object-src 'self' http: https:") {
			t.Fatalf("PDF page CSP %q", r.Header.Get("Content-Security-Policy"))
		}
	}

	// Hostile text in objectIds and answers stays text.
	hostile := taskOf(t, e.store, e.org.ID, p.ID, assets[0].ID)
	hostile, err := e.store.GetTask(ctx, e.org.ID, hostile.ID)
	if err != nil {
		t.Fatal(err)
	}
	putAnswer(t, e.store, p, e.admin, hostile, `{"tools": [{"objectId": "x\"><script>alert(1)</script>", "schemaId": "car",
		"bounding-box": {"x": 1, "y": 1, "width": 1, "height": 1}}]}`)
	r = c.get("/tasks/" + hostile.ID)
	wantStatus(t, r, http.StatusOK)
	wantNotContains(t, r.body, "<script>alert(1)")
	wantContains(t, r.body, `data-object-id="x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)
}

// TestTaskPagesIsolation: another organisation's task and project are
// not found, never forbidden; a malformed id is not found either.
func TestTaskPagesIsolation(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	p := newTaskProject(t, e.store, e.org.ID, e.admin.ID, taskTestSchema)
	assets := []labelhub.NewAsset{{ExternalID: "a.png", Type: labelhub.AssetImage, Data: "https://example.com/a.png"}}
	importAssets(t, e.store, e.org.ID, e.admin.ID, p.ID, assets)
	tk := taskOf(t, e.store, e.org.ID, p.ID, assets[0].ID)

	if _, _, _, err := e.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other", AdminEmail: "eve@example.com", AdminName: "Eve", AdminPassword: adminPassword}, false); err != nil {
		t.Fatal(err)
	}
	other := e.client()
	other.remote = "192.0.2.11:40000"
	other.login("eve@example.com", adminPassword)
	for _, path := range []string{"/tasks/" + tk.ID, "/projects/" + p.ID + "/tasks", "/tasks/not-an-id", "/tasks/" + labelhub.NewID()} {
		r := other.get(path)
		wantStatus(t, r, http.StatusNotFound)
		wantNotContains(t, r.body, "a.png", "Street scenes")
	}
	// The owner sees them.
	c := e.client()
	c.login(adminEmail, adminPassword)
	wantStatus(t, c.get("/tasks/"+tk.ID), http.StatusOK)
	// Signed out: the sign-in page.
	anon := e.client()
	if r := anon.get("/tasks/" + tk.ID); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed out: %d", r.StatusCode)
	}
}
