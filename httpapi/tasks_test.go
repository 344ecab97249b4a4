package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/sqlstore"
)

// taskHub is a hub with a project (the label corpus's schema) holding
// three imported assets, the first two in batch "b1", and a labeler and a
// reviewer with their keys.
type taskHub struct {
	*hub
	project        labelhub.Project
	tasks          []labelhub.Task // in id order
	labeler        labelhub.User
	labelerKey     string
	reviewer       labelhub.User
	reviewerKey    string
	firstAssetPath string
}

func newTaskHub(t *testing.T, s *sqlstore.Store) *taskHub {
	t.Helper()
	h := newHub(t, s, httpapi.Config{})
	th := &taskHub{hub: h}
	schema, err := os.ReadFile(filepath.Join("..", "testdata", "labels", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Tasks","categorySchema":`+string(schema)+`}`, 201, &th.project)
	var imp struct{ State string }
	h.must(h.rootKey, "POST", "/api/v1/projects/"+th.project.ID+"/imports?wait=true&createBatches=true", `[
		{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b1"]},
		{"externalId":"b.jpg","data":"https://example.com/b.jpg","batches":["b1"]},
		{"externalId":"c.jpg","data":"https://example.com/c.jpg"}]`, 200, &imp)
	if imp.State != "succeeded" {
		t.Fatalf("import %+v", imp)
	}
	var page labelhub.Page[labelhub.Task]
	h.must(h.rootKey, "GET", "/api/v1/projects/"+th.project.ID+"/tasks", "", 200, &page)
	if len(page.Items) != 3 || page.NextCursor != "" {
		t.Fatalf("tasks %+v", page)
	}
	th.tasks = page.Items
	th.labeler, th.labelerKey = th.member(t, labelhub.RoleLabeler)
	th.reviewer, th.reviewerKey = th.member(t, labelhub.RoleReviewer)
	return th
}

func (th *taskHub) member(t *testing.T, role labelhub.Role) (labelhub.User, string) {
	t.Helper()
	var u labelhub.User
	th.must(th.rootKey, "POST", "/api/v1/users", `{"email":"`+string(role)+`@example.com","name":"`+string(role)+`","role":"`+string(role)+`"}`, 201, &u)
	var k struct {
		APIKey string `json:"apiKey"`
	}
	th.must(th.rootKey, "POST", "/api/v1/api-keys", `{"name":"k","userId":"`+u.ID+`"}`, 201, &k)
	return u, k.APIKey
}

// getTask reads a task and checks that its ETag is its version.
func (th *taskHub) getTask(t *testing.T, key, id string) labelhub.Task {
	t.Helper()
	var tk labelhub.Task
	r := th.with(t).must(key, "GET", "/api/v1/tasks/"+id, "", 200, &tk)
	if et := r.Header.Get("ETag"); et != `"`+strconv.FormatInt(tk.Version, 10)+`"` {
		t.Fatalf("ETag %q for version %d", et, tk.Version)
	}
	return tk
}

func (th *taskHub) put(t *testing.T, key, id, ifMatch, body string) response {
	t.Helper()
	opts := []reqOpt{bearer(key)}
	if ifMatch != "" {
		opts = append(opts, header("If-Match", ifMatch))
	}
	return th.with(t).call("PUT", "/api/v1/tasks/"+id+"/answer", body, opts...)
}

func (th *taskHub) move(t *testing.T, key, id, action, body string, opts ...reqOpt) response {
	t.Helper()
	return th.with(t).call("POST", "/api/v1/tasks/"+id+"/"+action, body, append([]reqOpt{bearer(key)}, opts...)...)
}

func decodeTask(t *testing.T, r response) labelhub.Task {
	t.Helper()
	var tk labelhub.Task
	if r.Status != 200 {
		t.Fatalf("%s, want 200", r)
	}
	if err := json.Unmarshal(r.Body, &tk); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	return tk
}

func TestTaskAPIFromStartToComplete(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		th := newTaskHub(t, s)
		id := th.tasks[0].ID
		tk := th.getTask(t, th.labelerKey, id)
		if tk.StageID != "start" || tk.StageName != "Start" || tk.Asset.ExternalID != "a.jpg" || tk.Asset.Data != "https://example.com/a.jpg" ||
			len(tk.Asset.Batches) != 1 || tk.History == nil || len(tk.History) != 0 {
			t.Fatalf("task %+v", tk)
		}
		var raw map[string]any
		th.must(th.labelerKey, "GET", "/api/v1/tasks/"+id, "", 200, &raw)
		for _, k := range []string{"id", "assetId", "stage", "stageId", "answer", "version", "stageHistory", "totalDuration", "asset"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("task JSON has no %q: %v", k, raw)
			}
		}
		answer, err := os.ReadFile(filepath.Join("..", "testdata", "answers", "valid_full.json"))
		if err != nil {
			t.Fatal(err)
		}
		// If-Match is required, and must be current.
		e := wantError(t, th.put(t, th.labelerKey, id, "", string(answer)), http.StatusPreconditionRequired, labelhub.ECodeInvalid)
		wantDetail(t, response{}, e, "If-Match", "required")
		wantError(t, th.put(t, th.labelerKey, id, "abc", string(answer)), http.StatusBadRequest, labelhub.ECodeInvalid)
		r := th.put(t, th.labelerKey, id, `"7"`, string(answer))
		e = wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
		wantDetail(t, r, e, "If-Match", "version 1")
		r = th.put(t, th.labelerKey, id, `"1"`, string(answer))
		tk = decodeTask(t, r)
		if r.Header.Get("ETag") != `"2"` || tk.Version != 2 || len(tk.Answer.Tools) != 3 || tk.UpdatedBy != th.labeler.ID {
			t.Fatalf("after PUT: %s", r)
		}
		if m := tk.Answer.Tools[0].Classifications[0].Classifications[0].ItemMeta; m.CreatedBy != th.labeler.ID || m.CreatedIn != "Start" || m.CreatedAt.IsZero() {
			t.Errorf("nested classification meta %+v", m)
		}
		// Submit with a measured duration; a bad one is refused.
		r = th.move(t, th.labelerKey, id, "submit", `{"durationMs":-5}`)
		wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), "durationMs", "")
		r = th.move(t, th.labelerKey, id, "submit", `{"durationMs":1200}`, header("If-Match", "1"))
		wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
		tk = decodeTask(t, th.move(t, th.labelerKey, id, "submit", `{"durationMs":1200}`, header("If-Match", `"2"`)))
		if tk.StageID != "label" || tk.TotalDurationMs != 1200 || len(tk.History) != 1 || tk.History[0].DurationMs != 1200 || len(tk.History[0].Tools) != 3 {
			t.Fatalf("after submit: %+v", tk)
		}
		// Reject is for review stages only.
		r = th.move(t, th.reviewerKey, id, "reject", "")
		wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
		tk = decodeTask(t, th.move(t, th.labelerKey, id, "submit", ""))
		if tk.StageID != "review" {
			t.Fatalf("stage %s", tk.StageID)
		}
		// In review, a labeler may neither write nor submit.
		r = th.put(t, th.labelerKey, id, strconv.FormatInt(tk.Version, 10), string(answer))
		wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
		wantError(t, th.move(t, th.labelerKey, id, "submit", ""), http.StatusForbidden, labelhub.ECodeForbidden)
		wantError(t, th.move(t, th.labelerKey, id, "reject", ""), http.StatusForbidden, labelhub.ECodeForbidden)
		// The reviewer corrects one object and rejects.
		fixed := strings.Replace(string(answer), `"point": [5.5, 6.25]`, `"point": [7, 8]`, 1)
		tk = decodeTask(t, th.put(t, th.reviewerKey, id, strconv.FormatInt(tk.Version, 10), fixed))
		key := tk.Answer.Tools[2].ItemMeta
		car := tk.Answer.Tools[0].ItemMeta
		if key.CreatedBy != th.labeler.ID || key.UpdatedBy != th.reviewer.ID || key.UpdatedIn != "Review" || car.UpdatedBy != th.labeler.ID {
			t.Errorf("meta after the review edit: key %+v, car %+v", key, car)
		}
		tk = decodeTask(t, th.move(t, th.reviewerKey, id, "reject", ""))
		if tk.StageID != "label" || tk.History[2].Action != "reject" || tk.History[2].StageName != "Review" {
			t.Fatalf("after reject: %+v", tk.History)
		}
		decodeTask(t, th.move(t, th.labelerKey, id, "submit", ""))
		tk = decodeTask(t, th.move(t, th.reviewerKey, id, "submit", ""))
		if tk.StageID != "complete" || tk.StageName != "Complete" || len(tk.History) != 5 {
			t.Fatalf("at the end: %+v", tk)
		}
		r = th.move(t, th.rootKey, id, "submit", "")
		e = wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
		if !strings.Contains(e.Error.Message, "last stage (Complete)") {
			t.Errorf("submit from the last stage: %s", r)
		}
		if got := th.getTask(t, th.rootKey, id); got.Version != tk.Version || len(got.History) != 5 {
			t.Errorf("the refused submit changed the task: %+v", got)
		}

		// The list's filters.
		list := func(q string) []string {
			var page labelhub.Page[labelhub.Task]
			th.with(t).must(th.rootKey, "GET", "/api/v1/projects/"+th.project.ID+"/tasks?"+q, "", 200, &page)
			ids := []string{}
			for _, x := range page.Items {
				ids = append(ids, x.ID)
			}
			return ids
		}
		if got := list("stage=complete"); fmt.Sprint(got) != fmt.Sprint([]string{id}) {
			t.Errorf("stage=complete: %v", got)
		}
		if got := list("batch=b1"); len(got) != 2 || got[0] != id {
			t.Errorf("batch=b1: %v", got)
		}
		if got := list("updatedBy=" + th.reviewer.ID); fmt.Sprint(got) != fmt.Sprint([]string{id}) {
			t.Errorf("updatedBy: %v", got)
		}
		if got := list("updatedAfter=" + url.QueryEscape(tk.UpdatedAt.Add(-1).Format("2006-01-02T15:04:05.999999999Z07:00"))); fmt.Sprint(got) != fmt.Sprint([]string{id}) {
			t.Errorf("updatedAfter: %v", got)
		}
		if got := list("updatedBefore=" + url.QueryEscape(tk.UpdatedAt.Format("2006-01-02T15:04:05.999999999Z07:00"))); len(got) != 2 {
			t.Errorf("updatedBefore: %v", got)
		}
		var page labelhub.Page[labelhub.Task]
		th.must(th.rootKey, "GET", "/api/v1/projects/"+th.project.ID+"/tasks?limit=2", "", 200, &page)
		if len(page.Items) != 2 || page.NextCursor == "" || page.Items[0].History != nil {
			t.Fatalf("page 1: %+v", page)
		}
		var page2 labelhub.Page[labelhub.Task]
		th.must(th.rootKey, "GET", "/api/v1/projects/"+th.project.ID+"/tasks?limit=2&cursor="+page.NextCursor, "", 200, &page2)
		if len(page2.Items) != 1 || page2.NextCursor != "" || page2.Items[0].ID != th.tasks[2].ID {
			t.Fatalf("page 2: %+v", page2)
		}
		for q, path := range map[string]string{"stage=nope": "stage", "batch=nope": "batch", "updatedAfter=yesterday": "updatedAfter",
			"updatedBefore=2026-13-01": "updatedBefore", "cursor=zzz": "cursor", "limit=0": "limit"} {
			r := th.with(t).as(th.rootKey, "GET", "/api/v1/projects/"+th.project.ID+"/tasks?"+q, "")
			wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), path, "")
		}
	})
}

func TestWorkflowAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		th := newTaskHub(t, s)
		path := "/api/v1/projects/" + th.project.ID + "/workflow"
		var w labelhub.Workflow
		th.must(th.labelerKey, "GET", path, "", 200, &w)
		if fmt.Sprint(w) != fmt.Sprint(labelhub.DefaultWorkflow()) {
			t.Fatalf("default workflow %+v", w)
		}
		body := `{"stages":[{"name":"Start"},{"name":"Annotate","kind":"label"},{"name":"QA","kind":"review"},{"stageId":"accepted","name":"Accepted"}]}`
		wantError(t, th.as(th.labelerKey, "PUT", path, body), http.StatusForbidden, labelhub.ECodeForbidden)
		wantError(t, th.as(th.reviewerKey, "PUT", path, body), http.StatusForbidden, labelhub.ECodeForbidden)
		for bad, where := range map[string]string{
			`{"stages":[{"name":"Start"},{"name":""},{"name":"Done"}]}`:                          "stages[1].name",
			`{"stages":[{"name":"Start"},{"name":"Start"},{"name":"Done"}]}`:                     "stages[1].name",
			`{"stages":[{"name":"Start"},{"name":"Done","kind":"review"}]}`:                      "stages[1].kind",
			`{"stages":[{"name":"A","kind":"done"},{"name":"B"}]}`:                               "stages[0].kind",
			`{"stages":[{"name":"A"},{"name":"B","kind":"nope"},{"name":"C"}]}`:                  "stages[1].kind",
			`{"stages":[{"name":"A","stageId":"x y"},{"name":"B"}]}`:                             "stages[0].stageId",
			`{"stages":[{"name":"A","stageId":"x"},{"name":"B","stageId":"x"}]}`:                 "stages[1].stageId",
			`{"stages":[{"name":"A"}]}`:                                                          "stages",
			`{"stages":[{"name":"A","colour":"red"},{"name":"B"}]}`:                              "stages[0].colour",
			`{"stages":[{"name":"A"},{"name":"B","kind":"start"},{"name":"C"}]}`:                 "stages[1].kind",
			`{"stages":[{"name":"A"},{"name":"B","kind":"done"},{"name":"C","kind":"done"}]}`:    "stages[1].kind",
			`{"stages":[{"name":"A"},{"name":"` + strings.Repeat("n", 201) + `"},{"name":"C"}]}`: "stages[1].name",
		} {
			r := th.as(th.rootKey, "PUT", path, bad)
			wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), where, "")
		}
		th.must(th.rootKey, "GET", path, "", 200, &w)
		if fmt.Sprint(w) != fmt.Sprint(labelhub.DefaultWorkflow()) {
			t.Fatalf("refused edits changed the workflow: %+v", w)
		}
		th.must(th.rootKey, "PUT", path, body, 200, &w)
		if len(w.Stages) != 4 || w.Stages[0].StageID != "start" || w.Stages[1].StageID == "" || w.Stages[3].StageID != "accepted" || w.Stages[3].Kind != labelhub.StageDone {
			t.Fatalf("stored workflow %+v", w)
		}
		// Tasks follow it; once one moved on, the workflow is fixed.
		id := th.tasks[1].ID
		tk := decodeTask(t, th.move(t, th.labelerKey, id, "submit", ""))
		if tk.StageName != "Annotate" || tk.StageKind != labelhub.StageLabel {
			t.Fatalf("submitted into %+v", tk)
		}
		r := th.as(th.rootKey, "PUT", path, body)
		e := wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
		if !strings.Contains(e.Error.Message, id) || !strings.Contains(e.Error.Message, "Annotate") {
			t.Errorf("conflict does not name the task and its stage: %s", r)
		}
	})
}

// TestHostileAnswers sends every file of testdata/answers as an answer.
// A file with a .want file ("STATUS PATH", "-" for the document itself)
// must be refused with that status and a detail at that path, and leave
// the task unchanged; the others must be stored.
func TestHostileAnswers(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "answers", "*.json"))
	if err != nil || len(files) < 20 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		th := newTaskHub(t, s)
		id := th.tasks[2].ID
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(name, func(t *testing.T) {
				body, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				before := th.getTask(t, th.rootKey, id)
				r := th.put(t, th.labelerKey, id, strconv.FormatInt(before.Version, 10), string(body))
				want, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".want")
				if os.IsNotExist(err) {
					tk := decodeTask(t, r)
					if tk.Version != before.Version+1 {
						t.Errorf("version %d after %d", tk.Version, before.Version)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				status, path, _ := strings.Cut(strings.TrimSpace(string(want)), " ")
				code, _ := strconv.Atoi(status)
				if path == "-" {
					path = ""
				}
				e := wantError(t, r, code, labelhub.ECodeInvalid)
				wantDetail(t, r, e, path, "")
				after := th.getTask(t, th.rootKey, id)
				b1, _ := json.Marshal(before)
				b2, _ := json.Marshal(after)
				if !bytes.Equal(b1, b2) {
					t.Errorf("a refused answer changed the task:\n%s\n%s", b1, b2)
				}
			})
		}
	})
}

// TestConcurrentAnswerWriters has clients add objects to one task at the
// same time through the API, each retrying on 409 with the version the
// conflict names: no object may be lost.
func TestConcurrentAnswerWriters(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		th := newTaskHub(t, s)
		id := th.tasks[0].ID
		const writers, each = 5, 4
		var wg sync.WaitGroup
		fail := make(chan string, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < each; k++ {
					for attempt := 0; ; attempt++ {
						if attempt > 200 {
							fail <- "too many conflicts"
							return
						}
						req, _ := http.NewRequest("GET", th.srv.URL+"/api/v1/tasks/"+id, nil)
						req.Header.Set("Authorization", "Bearer "+th.rootKey)
						res, err := th.srv.Client().Do(req)
						if err != nil {
							fail <- err.Error()
							return
						}
						var tk labelhub.Task
						err = json.NewDecoder(res.Body).Decode(&tk)
						res.Body.Close()
						if err != nil {
							fail <- err.Error()
							return
						}
						tk.Answer.Tools = append(tk.Answer.Tools, labelhub.Object{ObjectID: fmt.Sprintf("w%d-%d", w, k), SchemaID: "keypoint", Point: &labelhub.Point{float64(w), float64(k)}})
						body, _ := json.Marshal(tk.Answer)
						req, _ = http.NewRequest("PUT", th.srv.URL+"/api/v1/tasks/"+id+"/answer", bytes.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+th.rootKey)
						req.Header.Set("If-Match", res.Header.Get("ETag"))
						res, err = th.srv.Client().Do(req)
						if err != nil {
							fail <- err.Error()
							return
						}
						res.Body.Close()
						if res.StatusCode == http.StatusConflict {
							continue
						}
						if res.StatusCode != 200 {
							fail <- res.Status
							return
						}
						break
					}
				}
			}()
		}
		wg.Wait()
		close(fail)
		for msg := range fail {
			t.Fatal(msg)
		}
		tk := th.getTask(t, th.rootKey, id)
		if len(tk.Answer.Tools) != writers*each || tk.Version != 1+writers*each {
			t.Fatalf("%d objects at version %d, want %d at %d", len(tk.Answer.Tools), tk.Version, writers*each, 1+writers*each)
		}
	})
}
