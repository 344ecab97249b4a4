package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func importProject(t *testing.T, c *client.Client) labelhub.Project {
	t.Helper()
	p, err := c.CreateProject(context.Background(), labelhub.ProjectInput{Name: ptr("Imports")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitDone(t *testing.T, c *client.Client, id string) client.ImportStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := c.GetImport(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s still %s", id, st.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestImportAndAssets(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	p := importProject(t, c)
	if _, err := c.CreateBatch(ctx, p.ID, "week-1"); err != nil {
		t.Fatal(err)
	}
	body := `{"externalId":"a1","data":"https://example.com/a1.jpg","metadata":{"width":640,"height":480},"contextData":{"camera":"front","n":[1,2]}}
{"externalId":"a2","data":"https://example.com/a2.mp4","batches":["extra"]}
{"externalId":"bad","data":"https://example.com/bad.jpg","metadata":{"width":"wide"}}
{"externalId":"a3","data":"https://example.com/a3.png"}
`
	st, err := c.Import(ctx, p.ID, strings.NewReader(body), client.ImportOptions{Batches: []string{"week-1"}, CreateBatches: true, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.ImportID == "" || st.ID != st.ImportID || st.State != labelhub.ImportSucceeded || !st.Done() {
		t.Fatalf("status %+v", st)
	}
	if c := st.Counts; c.Received != 4 || c.Imported != 3 || c.Invalid != 1 {
		t.Fatalf("counts %+v", c)
	}
	if len(st.Errors) != 1 || st.Errors[0].Index != 2 || st.Errors[0].Line != 3 || !strings.HasPrefix(st.Errors[0].Path, "[2].metadata.width") {
		t.Fatalf("errors %+v", st.Errors)
	}
	got, err := c.GetImport(ctx, st.ID)
	if err != nil || got.Counts != st.Counts {
		t.Fatalf("GetImport = %+v, %v", got, err)
	}
	errs, err := c.ImportErrors(ctx, st.ID, labelhub.PageRequest{Limit: 10})
	if err != nil || len(errs.Items) != 1 || errs.Items[0] != st.Errors[0] {
		t.Fatalf("ImportErrors = %+v, %v", errs, err)
	}

	// Filters and pages.
	all := collect(t, client.All(ctx, func(ctx context.Context, pr labelhub.PageRequest) (labelhub.Page[labelhub.Asset], error) {
		pr.Limit = 2
		return c.ListAssets(ctx, p.ID, client.AssetFilter{}, pr)
	}))
	if len(all) != 3 || all[0].ExternalID != "a1" || all[2].ExternalID != "a3" {
		t.Fatalf("assets %+v", all)
	}
	page, err := c.ListAssets(ctx, p.ID, client.AssetFilter{Batch: "extra"}, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ExternalID != "a2" {
		t.Fatalf("batch filter %+v, %v", page, err)
	}
	page, err = c.ListAssets(ctx, p.ID, client.AssetFilter{Type: labelhub.AssetImage, Batch: "week-1"}, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("type filter %+v, %v", page, err)
	}
	page, err = c.ListAssets(ctx, p.ID, client.AssetFilter{ExternalID: "a3"}, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Type != labelhub.AssetImage {
		t.Fatalf("externalId filter %+v, %v", page, err)
	}
	_, err = c.ListAssets(ctx, p.ID, client.AssetFilter{Batch: "no-such"}, labelhub.PageRequest{})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "batch") {
		t.Fatalf("unknown batch: %+v", e)
	}

	a, err := c.GetAsset(ctx, all[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.ContextData) != `{"camera":"front","n":[1,2]}` || a.ImportID != st.ID || len(a.Batches) != 1 || a.Batches[0] != "week-1" {
		t.Fatalf("asset %+v (contextData %s)", a, a.ContextData)
	}
	var md map[string]any
	if err := json.Unmarshal(a.Metadata, &md); err != nil || md["width"] != float64(640) {
		t.Fatalf("metadata %s", a.Metadata)
	}

	// The content URL redirects to the public URL.
	u := c.AssetContentURL(a.ID, 0)
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+h.RootKey)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://example.com/a1.jpg" {
		t.Fatalf("content: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !strings.HasSuffix(c.AssetContentURL("x", 2), "/api/v1/assets/x/content?page=2") {
		t.Fatal(c.AssetContentURL("x", 2))
	}

	// Labels: matched by externalId; an unknown one is an error.
	lst, err := c.ImportLabels(ctx, p.ID, strings.NewReader(`[{"externalId":"a1"},{"externalId":"ghost"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if lst.Kind != labelhub.ImportKindLabels || lst.Counts.Invalid != 1 || len(lst.Errors) != 1 || lst.Errors[0].Path != "[1].externalId" {
		t.Fatalf("labels %+v", lst)
	}

	// Roll back removes the assets.
	rb, err := c.RollbackImport(ctx, st.ID, true)
	if err != nil || rb.State != labelhub.ImportRolledBack {
		t.Fatalf("rollback %+v, %v", rb, err)
	}
	page, err = c.ListAssets(ctx, p.ID, client.AssetFilter{}, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("after rollback %+v, %v", page, err)
	}
	// Resuming a rolled back import is refused.
	_, err = c.ResumeImport(ctx, st.ID)
	if err == nil {
		t.Fatal("resume of a rolled back import succeeded")
	}

	// Bad options name the parameter.
	_, err = c.Import(ctx, p.ID, strings.NewReader("[]"), client.ImportOptions{OnDuplicate: "sometimes"})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "onDuplicate") {
		t.Fatalf("bad onDuplicate: %+v", e)
	}
	_, err = c.GetImport(ctx, "imp_nope")
	wantCode(t, err, labelhub.ECodeNotFound)
}

// TestImportStreams checks that the body is sent as it is produced: assets
// are committed while the body is still open.
func TestImportStreams(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	p := importProject(t, c)
	pr, pw := io.Pipe()
	type result struct {
		st  client.ImportStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := c.Import(ctx, p.ID, pr, client.ImportOptions{})
		done <- result{st, err}
	}()
	for i := range 10 {
		fmt.Fprintf(pw, `{"externalId":"s%d","data":"https://example.com/s%d.jpg"}`+"\n", i, i)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		page, err := c.ListAssets(ctx, p.ID, client.AssetFilter{}, labelhub.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no asset committed while the body is open: the body is not streamed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("Import answered before the body ended: %+v %v", r.st, r.err)
	default:
	}
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := waitDone(t, c, r.st.ID)
	if st.State != labelhub.ImportSucceeded || st.Counts.Imported != 10 || st.Bytes == 0 || !st.Uploaded {
		t.Fatalf("status %+v", st)
	}
}
