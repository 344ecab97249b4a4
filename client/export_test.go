package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func TestExport(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	p, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Export")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Import(ctx, p.ID, strings.NewReader(`{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b"]}
{"externalId":"b.jpg","data":"https://example.com/b.jpg"}
{"externalId":"c.jpg","data":"https://example.com/c.jpg","batches":["b"],"contextData":{"note":"}\n{"}}`), client.ImportOptions{Wait: true, CreateBatches: true})
	if err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v, %v", st, err)
	}
	tasks, err := c.ListTasks(ctx, p.ID, client.TaskQuery{}, labelhub.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTask(ctx, tasks.Items[0].ID, client.MoveOptions{}); err != nil {
		t.Fatal(err)
	}

	// JSON, every object, progress counted as objects pass.
	var buf bytes.Buffer
	var seen []int64
	total, err := c.Export(ctx, p.ID, client.ExportOptions{Progress: func(done, total int64) {
		if total != 3 {
			t.Errorf("progress total %d", total)
		}
		seen = append(seen, done)
	}}, &buf)
	if err != nil || total != 3 {
		t.Fatalf("Export: %d, %v", total, err)
	}
	var list []labelhub.ExportedAsset
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil || len(list) != 3 {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 3 {
		t.Errorf("progress %v", seen)
	}
	if list[0].ExternalID != "a.jpg" || list[0].Task.StageID != "label" || len(list[0].Task.StageHistory) != 1 || list[0].Batches[0] != "b" {
		t.Errorf("first object %+v", list[0])
	}

	// NDJSON with filters and options.
	buf.Reset()
	no := false
	total, err = c.Export(ctx, p.ID, client.ExportOptions{Format: labelhub.ExportNDJSON, Batches: []string{"b"}, Stage: "start", History: &no}, &buf)
	if err != nil || total != 1 {
		t.Fatalf("NDJSON export: %d, %v", total, err)
	}
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 || lines[0]["externalId"] != "c.jpg" {
		t.Fatalf("lines %v", lines)
	}
	if _, ok := lines[0]["task"].(map[string]any)["stageHistory"]; ok {
		t.Errorf("stageHistory with History=false: %v", lines[0])
	}

	// Problems are errors naming the parameter, before anything is written.
	buf.Reset()
	_, err = c.Export(ctx, p.ID, client.ExportOptions{Stage: "nope"}, &buf)
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "stage") || buf.Len() != 0 {
		t.Fatalf("bad stage: %v, %q", e, buf.Bytes())
	}
	_, err = c.Export(ctx, p.ID, client.ExportOptions{URLTTL: 8 * 24 * 3600 * 1e9}, &buf)
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "urlTTL") {
		t.Fatalf("long urlTTL: %v", e)
	}
	_, err = c.Export(ctx, "prj_nope", client.ExportOptions{}, &buf)
	wantCode(t, err, labelhub.ECodeNotFound)
}
