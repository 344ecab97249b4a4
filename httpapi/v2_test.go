package httpapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/sqlstore"
)

// v2Hub is a hub serving the /v2 calls with result files and signed URLs,
// a project (the label corpus's schema) with four assets — a.jpg (batch
// b1), b.jpg (b1 and b2), c.jpg and d.jpg — where b.jpg was submitted
// once (stage label) and a.jpg answered and submitted twice (review), a
// storage integration, and an export and a file-explorer plugin whose
// runs wait (heldRuns) so that their tokens can be used.
type v2Hub struct {
	*taskHub
	project, other labelhub.Project // other: a second project of the organisation
	b1, b2         labelhub.Batch
	storage        labelhub.Storage
	clock          *artifactClock
	held           *heldRuns
	exportPlugin   string
	fePlugin       string
}

func newV2Hub(t *testing.T, s *sqlstore.Store) *v2Hub {
	t.Helper()
	blobs, err := artifacts.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk := &artifactClock{}
	svc := &artifacts.Service{Blobs: blobs, Records: s, MaxBytes: 1 << 20, TTL: time.Hour, Now: clk.now, Logger: quietLogger()}
	h := newHub(t, s, httpapi.Config{Artifacts: svc, URLKey: httpapi.URLKeyFrom(bytes.Repeat([]byte{7}, 32))})
	x := &v2Hub{taskHub: &taskHub{hub: h}, clock: clk, held: &heldRuns{tokens: map[string]string{}, release: map[string]chan struct{}{}}}
	schema, err := os.ReadFile(filepath.Join("..", "testdata", "labels", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Street","categorySchema":`+string(schema)+`}`, 201, &x.project)
	h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"Other"}`, 201, &x.other)
	var imp struct{ State string }
	h.must(h.rootKey, "POST", "/api/v1/projects/"+x.project.ID+"/imports?wait=true&createBatches=true", `[
		{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b1"],"metadata":{"width":1024,"height":768},"contextData":{"site":"A"}},
		{"externalId":"b.jpg","data":"https://example.com/b.jpg","batches":["b1","b2"]},
		{"externalId":"c.jpg","data":"https://example.com/c.jpg"},
		{"externalId":"d.jpg","data":"https://example.com/d.jpg"}]`, 200, &imp)
	if imp.State != "succeeded" {
		t.Fatalf("import %+v", imp)
	}
	var batches labelhub.Page[labelhub.Batch]
	h.must(h.rootKey, "GET", "/api/v1/projects/"+x.project.ID+"/batches", "", 200, &batches)
	for _, b := range batches.Items {
		switch b.Name {
		case "b1":
			x.b1 = b
		case "b2":
			x.b2 = b
		}
	}
	var tasks labelhub.Page[labelhub.Task]
	h.must(h.rootKey, "GET", "/api/v1/projects/"+x.project.ID+"/tasks", "", 200, &tasks)
	byExt := map[string]string{}
	for _, tk := range tasks.Items {
		byExt[tk.Asset.ExternalID] = tk.ID
	}
	x.labeler, x.labelerKey = x.member(t, labelhub.RoleLabeler)
	if r := x.move(t, x.labelerKey, byExt["b.jpg"], "submit", `{"durationMs":100}`); r.Status != 200 {
		t.Fatal(r)
	}
	answer, err := os.ReadFile(filepath.Join("..", "testdata", "answers", "valid_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r := x.put(t, x.labelerKey, byExt["a.jpg"], "1", string(answer)); r.Status != 200 {
		t.Fatal(r)
	}
	for range 2 {
		if r := x.move(t, x.labelerKey, byExt["a.jpg"], "submit", `{"durationMs":500}`); r.Status != 200 {
			t.Fatal(r)
		}
	}
	h.must(h.rootKey, "POST", "/api/v1/storages", `{"name":"lab","provider":"s3","bucket":"lab-bucket","region":"eu-west-1",
		"credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"very-secret-value"}}`, 201, &x.storage)
	x.exportPlugin = x.serve(t, labelhub.PluginExport)
	x.fePlugin = x.serve(t, labelhub.PluginFileExplorer)
	return x
}

// serve registers a plugin of type typ whose runs wait in x.held, serves
// it in-process with room for several runs at once, and returns its id
// once it is online.
func (x *v2Hub) serve(t *testing.T, typ labelhub.PluginType) string {
	t.Helper()
	var p struct {
		labelhub.Plugin
		Secret string `json:"secret"`
	}
	x.must(x.rootKey, "POST", "/api/v1/plugins", `{"name":"held `+string(typ)+`","type":"`+string(typ)+`"}`, 201, &p)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		plugin.Run(ctx, plugin.Config{Host: x.srv.URL, ID: p.ID, Secret: p.Secret, Concurrency: 4, Logger: quietLogger()}, plugin.HandlerFunc(x.held.serve))
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	for deadline := time.Now().Add(10 * time.Second); ; {
		var v struct{ Online bool }
		x.must(x.rootKey, "GET", "/api/v1/plugins/"+p.ID, "", 200, &v)
		if v.Online {
			return p.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s plugin did not come online", typ)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start runs plugin on project with params and returns the run and its
// token once the plugin holds it; the run is released at the end of the
// test.
func (x *v2Hub) start(t *testing.T, pluginID, projectID string, params map[string]any) (labelhub.Run, string) {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"projectId": projectID, "params": params})
	var run labelhub.Run
	x.with(t).must(x.rootKey, "POST", "/api/v1/plugins/"+pluginID+"/runs", string(in), 202, &run)
	tok := x.held.token(t, run.ID)
	t.Cleanup(func() {
		x.held.mu.Lock()
		ch := x.held.release[run.ID]
		x.held.release[run.ID] = nil
		x.held.mu.Unlock()
		if ch != nil {
			close(ch)
		}
	})
	return run, tok
}

// v2 calls path with key in the apikey header, as the SDK does.
func (x *v2Hub) v2(t *testing.T, key, method, path, body string) response {
	t.Helper()
	return x.with(t).call(method, path, body, apikeyHeader(key))
}

// v2Data checks a success answer of the SDK's shape and decodes its data.
func v2Data(t *testing.T, r response, out any) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s, want 200", r)
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || env.Status != "success" || len(env.Data) == 0 {
		t.Fatalf("%s: not {status: success, data}: %v", r, err)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			t.Fatalf("%s: data: %v", r, err)
		}
	}
}

// fetch GETs or PUTs an absolute URL with no header at all, as Python's
// urlretrieve and requests.put(url, data=…) do.
func fetch(t *testing.T, method, u string, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Del("User-Agent")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return response{method: method, path: u, Status: res.StatusCode, Header: res.Header, Body: b}
}

// tokenOf is the last path element of a signed URL, checked to be safe
// to paste unencoded into a query string.
func tokenOf(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil || pu.RawQuery != "" || pu.Fragment != "" {
		t.Fatalf("signed URL %q: %v (must have no query)", u, err)
	}
	tok := pu.Path[strings.LastIndexByte(pu.Path, '/')+1:]
	if tok == "" || strings.ContainsAny(tok, "&;+#%?/ ") {
		t.Fatalf("token %q of %q has a character that is not safe in a query", tok, u)
	}
	return tok
}

// firstZipEntry opens a zip and returns its first entry's name and bytes.
func firstZipEntry(t *testing.T, b []byte) (string, []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip (%d bytes): %v", len(b), err)
	}
	if len(zr.File) == 0 {
		t.Fatal("the zip is empty")
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("entry %s: %v", zr.File[0].Name, err)
	}
	return zr.File[0].Name, out
}

// The export of GET /v2/export (and /v2/exportV3): an absolute URL on the
// request's origin, fetched with no header, is a zip whose first entry is
// byte for byte the /api/v1 export with the same filters; tokens are
// refused when changed, and the URL of a run's export dies with the run.
func TestV2Export(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newV2Hub(t, s)
		run, tok := x.start(t, x.exportPlugin, x.project.ID, nil)
		p := x.project.ID
		after := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z"))
		cases := []struct{ v2, v1 string }{
			// What ExportPlugin sends for a run without stage.
			{"/v2/export?sendEmail=false&includeMetadata=true&includeHistory=true&doNotNotify=true&format=ndjson&type=task&includeOnlyKeyFrames=false&includeIdleBlurDurations=false&taskTypes=%5B%22default%22%5D&project=" + p,
				"format=ndjson&includeMetadata=true&includeHistory=true"},
			// The SDK's default stage, by name.
			{"/v2/export?format=ndjson&stage=%5B%22Complete%22%5D&project=" + p, "format=ndjson&stage=complete"},
			// A stage by name and a batch by name, as json.dumps sends them.
			{"/v2/export?format=ndjson&stage=%5B%22Review%22%5D&batches=%5B%22b1%22%5D&includeHistory=true&includeMetadata=true&project=" + p,
				"format=ndjson&stage=review&batch=" + x.b1.ID + "&includeHistory=true&includeMetadata=true"},
			// Batches by id, one asset in both.
			{"/v2/export?format=ndjson&batches=" + url.QueryEscape(`["`+x.b1.ID+`","`+x.b2.ID+`"]`) + "&project=" + p,
				"format=ndjson&batch=" + x.b1.ID + "&batch=" + x.b2.ID},
			// The older exportV3 with a JSON string stage, JSON format.
			{"/v2/exportV3?project=" + p + "&sendEmail=false&format=json&includeMetadata=true&includeHistory=false&includeSegmentationPoints=true&doNotNotify=true&type=None&stage=%22label%22",
				"format=json&stage=label&includeMetadata=true&includeHistory=false"},
			{"/v2/export?exportFormat=ndjson&updatedAt=" + url.QueryEscape(`{"$gt": "`) + after + url.QueryEscape(`"}`) + "&project=" + p,
				"format=ndjson&updatedAfter=" + after},
		}
		nonEmpty := 0
		for _, c := range cases {
			var data struct {
				ExportPath string `json:"exportPath"`
			}
			v2Data(t, x.v2(t, tok, "GET", c.v2, ""), &data)
			if !strings.HasPrefix(data.ExportPath, x.srv.URL+"/v2/exports/") {
				t.Fatalf("%s: exportPath %q is not on %s", c.v2, data.ExportPath, x.srv.URL)
			}
			tokenOf(t, data.ExportPath)
			z := fetch(t, "GET", data.ExportPath, nil)
			if z.Status != 200 || z.Header.Get("Content-Type") != "application/zip" {
				t.Fatalf("%s → %s", c.v2, z)
			}
			name, got := firstZipEntry(t, z.Body)
			want := x.as(x.rootKey, "GET", "/api/v1/projects/"+p+"/export?"+c.v1, "")
			if want.Status != 200 {
				t.Fatal(want)
			}
			if !bytes.Equal(got, want.Body) {
				t.Errorf("%s: the zip's %s differs from GET /api/v1 export?%s:\n%s\nwant\n%s", c.v2, name, c.v1, got, want.Body)
			}
			if strings.Contains(c.v1, "ndjson") {
				if !strings.HasSuffix(name, ".ndjson") {
					t.Errorf("entry %q", name)
				}
				if len(got) > 0 {
					nonEmpty++
					if got[len(got)-1] != '\n' {
						t.Errorf("%s: the NDJSON does not end with a newline", c.v2)
					}
				}
			} else if !strings.HasSuffix(name, ".json") || !json.Valid(got) {
				t.Errorf("%s: entry %q is not a JSON document", c.v2, name)
			}
		}
		if nonEmpty < 3 {
			t.Errorf("only %d of the NDJSON exports hold anything; the comparison proves little", nonEmpty)
		}

		// The origin the request came to, or the one a proxy names.
		var data struct {
			ExportPath string `json:"exportPath"`
		}
		v2Data(t, x.with(t).call("GET", "/v2/export?project="+p, "", apikeyHeader(tok), header("X-Forwarded-Proto", "https"),
			header("X-Forwarded-Host", "hub.example.com")), &data)
		if !strings.HasPrefix(data.ExportPath, "https://hub.example.com/v2/exports/") {
			t.Errorf("behind a proxy: %q", data.ExportPath)
		}
		// A user's API key gets one too.
		v2Data(t, x.v2(t, x.rootKey, "GET", "/v2/export?format=ndjson&project="+p, ""), &data)
		userURL := data.ExportPath
		if z := fetch(t, "GET", userURL, nil); z.Status != 200 {
			t.Fatal(z)
		}

		// Wrong requests name their parameter.
		for q, path := range map[string]string{
			"format=xml&project=" + p:                                               "format",
			"stage=%5B%22Nowhere%22%5D&project=" + p:                                "stage[0]",
			"stage=%5B%22Label%22,%22Review%22%5D&project=" + p:                     "stage",
			"batches=%5B%22nope%22%5D&project=" + p:                                 "batches[0]",
			"batches=%5Bnot%20json&project=" + p:                                    "batches",
			"includeHistory=maybe&project=" + p:                                     "includeHistory",
			"type=issue&project=" + p:                                               "type",
			"taskTypes=%5B%22consensus%22%5D&project=" + p:                          "taskTypes",
			"createdAt=" + url.QueryEscape(`{"$gt":"x"}`) + "&project=" + p:         "createdAt",
			"updatedAt=" + url.QueryEscape(`{"$gt":"yesterday"}`) + "&project=" + p: "updatedAt.$gt",
			"format=ndjson": "project",
		} {
			r := x.v2(t, tok, "GET", "/v2/export?"+q, "")
			wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), path, "")
		}
		// Another project of the organisation is out of the run token's reach.
		wantError(t, x.v2(t, tok, "GET", "/v2/export?project="+x.other.ID, ""), 404, labelhub.ECodeNotFound)
		wantError(t, x.v2(t, tok, "GET", "/v2/export?project=not-an-id", ""), 404, labelhub.ECodeNotFound)

		// Changed tokens are refused, whatever part was changed.
		v2Data(t, x.v2(t, tok, "GET", "/v2/export?format=ndjson&project="+p, ""), &data)
		good := tokenOf(t, data.ExportPath)
		payload, mac, _ := strings.Cut(good, ".")
		for _, bad := range []string{flip(payload, 3) + "." + mac, payload + "." + flip(mac, 5), payload + "." + mac[:len(mac)-2],
			payload + "." + mac + "A", payload, "." + mac, payload + ".." + mac, payload + "." + mac + "=",
			strings.ToUpper(payload) + "." + mac} {
			r := fetch(t, "GET", x.srv.URL+"/v2/exports/"+bad, nil)
			if r.Status != 403 || !strings.Contains(string(r.Body), "not valid") {
				t.Errorf("changed token %.60q: %s", bad, r)
			}
		}
		// A token of another kind is no export token.
		var up struct {
			UploadURL string `json:"uploadUrl"`
		}
		v2Data(t, x.v2(t, tok, "GET", "/v2/getUploadUrl?name=r.zip&project="+p+"&type=exports", ""), &up)
		if r := fetch(t, "GET", x.srv.URL+"/v2/exports/"+tokenOf(t, up.UploadURL), nil); r.Status != 403 {
			t.Errorf("an upload token as an export token: %s", r)
		}

		// The run ends: its export URL dies with it; a user's does not.
		r := x.v2(t, tok, "POST", "/v2/pluginResponse", `{"response": {"ok": true}, "session": "`+run.ID+`"}`)
		v2Data(t, r, nil)
		waitRunFinal(t, x.hub, run.ID)
		if r := fetch(t, "GET", data.ExportPath, nil); r.Status != 403 || !strings.Contains(string(r.Body), "ended") {
			t.Errorf("the export URL of an ended run: %s", r)
		}
		if z := fetch(t, "GET", userURL, nil); z.Status != 200 {
			t.Errorf("a user's export URL: %s", z)
		}
		wantError(t, x.v2(t, tok, "GET", "/v2/export?project="+p, ""), 401, labelhub.ECodeUnauthorized)
	})
}

// flip changes the byte at i of s (from the end when i < 0).
func flip(s string, i int) string {
	b := []byte(s)
	if i < 0 {
		i += len(b)
	}
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// waitRunFinal waits until a run has ended and returns it.
func waitRunFinal(t *testing.T, h *hub, runID string) labelhub.Run {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var run labelhub.Run
		h.with(t).must(h.rootKey, "GET", "/api/v1/runs/"+runID, "", 200, &run)
		if run.State.Final() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is still %s", runID, run.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The result file over /v2: the upload URL (one without a query, whose
// token survives being pasted unencoded into getSignedUrl's query) takes
// a PUT with no header and makes the run's artifact, downloadable from
// the run and from the signed URL with no header.
func TestV2ResultFile(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newV2Hub(t, s)
		run, tok := x.start(t, x.exportPlugin, x.project.ID, nil)
		run2, tok2 := x.start(t, x.exportPlugin, x.project.ID, nil)
		p := x.project.ID
		var up struct {
			UploadURL string `json:"uploadUrl"`
		}
		v2Data(t, x.v2(t, tok, "GET", "/v2/getUploadUrl?name=Street%20export.zip&project="+p+"&type=exports", ""), &up)
		if !strings.HasPrefix(up.UploadURL, x.srv.URL+"/v2/upload/") {
			t.Fatalf("uploadUrl %q", up.UploadURL)
		}
		tokenOf(t, up.UploadURL)
		// The SDK asks for the download URL before it uploads, with the
		// upload URL inserted as it is.
		var signed struct {
			SignedURL string `json:"signedUrl"`
		}
		v2Data(t, x.v2(t, tok, "GET", "/v2/getSignedUrl?name="+up.UploadURL+"&project="+p+"&type=exports", ""), &signed)
		if !strings.HasPrefix(signed.SignedURL, x.srv.URL+"/v2/download/") {
			t.Fatalf("signedUrl %q", signed.SignedURL)
		}
		tokenOf(t, signed.SignedURL)
		if r := fetch(t, "GET", signed.SignedURL, nil); r.Status != 404 {
			t.Errorf("download before the upload: %s", r)
		}
		zipBytes := append(artifactPattern(100<<10), emptyZip...)
		if r := fetch(t, "PUT", up.UploadURL, zipBytes); r.Status != 200 {
			t.Fatalf("PUT: %s", r)
		}
		got := x.as(x.rootKey, "GET", "/api/v1/runs/"+run.ID+"/artifact", "")
		if got.Status != 200 || !bytes.Equal(got.Body, zipBytes) {
			t.Fatalf("the run's artifact: %d, %d bytes", got.Status, len(got.Body))
		}
		dl := fetch(t, "GET", signed.SignedURL, nil)
		if dl.Status != 200 || !bytes.Equal(dl.Body, zipBytes) {
			t.Fatalf("the signed URL: %d, %d bytes", dl.Status, len(dl.Body))
		}
		if cd := dl.Header.Get("Content-Disposition"); cd != got.Header.Get("Content-Disposition") || !strings.Contains(cd, `filename="Street export.zip"`) {
			t.Errorf("Content-Disposition %q, the run's %q", cd, got.Header.Get("Content-Disposition"))
		}

		// The same checks as PUT /api/v1/runs/{runId}/artifact: a .zip
		// that is not one is refused.
		var up2 struct {
			UploadURL string `json:"uploadUrl"`
		}
		v2Data(t, x.v2(t, tok2, "GET", "/v2/getUploadUrl?name=bad.zip&project="+p+"&type=exports", ""), &up2)
		if r := fetch(t, "PUT", up2.UploadURL, []byte("not a zip at all")); r.Status != 400 {
			t.Errorf("not a zip: %s", r)
		}
		if r := x.as(x.rootKey, "GET", "/api/v1/runs/"+run2.ID+"/artifact", ""); r.Status != 404 {
			t.Errorf("a refused upload left %s", r)
		}
		// The SDK only logs the status of a refused PUT: the hub fails the
		// run with its own reason.
		if end := waitRunFinal(t, x.hub, run2.ID); end.State != labelhub.RunFailed ||
			!strings.Contains(end.Error, "the hub refused the plugin's result file") || !strings.Contains(end.Error, "not a valid zip") {
			t.Errorf("run after a refused upload: %s %q", end.State, end.Error)
		}
		// The older SDK's form: name=<projectId>/exports/<file>, nothing else.
		_, tok3 := x.start(t, x.exportPlugin, x.project.ID, nil)
		var old struct {
			UploadURL string `json:"uploadUrl"`
		}
		v2Data(t, x.v2(t, tok3, "GET", "/v2/getUploadUrl?name="+p+"/exports/old.json", ""), &old)
		if r := fetch(t, "PUT", old.UploadURL, []byte(`{"old": true}`)); r.Status != 200 {
			t.Fatalf("old form PUT: %s", r)
		}
		v2Data(t, x.v2(t, tok3, "GET", "/v2/getSignedUrl?name="+old.UploadURL, ""), &signed)
		if r := fetch(t, "GET", signed.SignedURL, nil); r.Status != 200 || string(r.Body) != `{"old": true}` {
			t.Errorf("old form download: %s", r)
		}

		// Refusals.
		r := x.v2(t, x.rootKey, "GET", "/v2/getUploadUrl?name=x.zip&project="+p+"&type=exports", "")
		wantError(t, r, 403, labelhub.ECodeForbidden)
		wantError(t, x.v2(t, tok, "GET", "/v2/getUploadUrl?name=x.zip&project="+x.other.ID+"&type=exports", ""), 404, labelhub.ECodeNotFound)
		for q, path := range map[string]string{
			"name=x.png&project=" + p + "&type=brushes": "type",
			"name=.env&project=" + p:                    "name",
			"name=a%2Fb.zip&project=" + p:               "name",
			"name=x.zip":                                "project",
		} {
			r := x.v2(t, tok, "GET", "/v2/getUploadUrl?"+q, "")
			wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), path, "")
		}
		// Another run's upload URL: not for this token.
		wantError(t, x.v2(t, tok3, "GET", "/v2/getSignedUrl?name="+up.UploadURL, ""), 404, labelhub.ECodeNotFound)
		r = x.v2(t, tok, "GET", "/v2/getSignedUrl?name=https://bucket.s3.amazonaws.com/brush.png&project="+p, "")
		wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), "name", "not an upload URL")
		// A user who may see the run may sign its file too.
		v2Data(t, x.v2(t, x.rootKey, "GET", "/v2/getSignedUrl?name="+up.UploadURL, ""), &signed)
		// Changed upload and download tokens.
		upTok, dlTok := tokenOf(t, up.UploadURL), tokenOf(t, signed.SignedURL)
		for _, u := range []string{x.srv.URL + "/v2/upload/" + flip(upTok, -1), x.srv.URL + "/v2/upload/" + flip(upTok, 2), x.srv.URL + "/v2/upload/" + dlTok} {
			if r := fetch(t, "PUT", u, zipBytes); r.Status != 403 {
				t.Errorf("PUT %s: %s", u, r)
			}
		}
		for _, u := range []string{x.srv.URL + "/v2/download/" + flip(dlTok, -1), x.srv.URL + "/v2/download/" + flip(dlTok, 2), x.srv.URL + "/v2/download/" + upTok} {
			if r := fetch(t, "GET", u, nil); r.Status != 403 {
				t.Errorf("GET %s: %s", u, r)
			}
		}

		// The run ends: no more uploads; the download still works until
		// the file expires (--artifact-ttl), then 410.
		v2Data(t, x.v2(t, tok, "POST", "/v2/pluginResponse", `{"export": true, "response": "`+signed.SignedURL+`", "session": "`+run.ID+`"}`), nil)
		if end := waitRunFinal(t, x.hub, run.ID); end.State != labelhub.RunSucceeded {
			t.Errorf("run after pluginResponse: %+v", end)
		}
		if r := fetch(t, "PUT", up.UploadURL, zipBytes); r.Status != 409 {
			t.Errorf("PUT after the run ended: %s", r)
		}
		if r := fetch(t, "GET", signed.SignedURL, nil); r.Status != 200 || !bytes.Equal(r.Body, zipBytes) {
			t.Errorf("download after the run ended: %d", r.Status)
		}
		x.clock.add(2 * time.Hour)
		if r := fetch(t, "GET", signed.SignedURL, nil); r.Status != 410 {
			t.Errorf("download after the file's TTL: %s", r)
		}
	})
}

// Logs and ends of runs over REST, and who may send them.
func TestV2PluginLogAndResponse(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newV2Hub(t, s)
		run, tok := x.start(t, x.exportPlugin, x.project.ID, nil)
		other, otherTok := x.start(t, x.exportPlugin, x.project.ID, nil)
		body := func(session, level, msg string) string {
			return fmt.Sprintf(`{"level": %q, "organization": %q, "pluginId": %q, "runBy": %q, "session": %q, "msg": %q, "extra": {"k": 1}}`,
				level, x.rootOrg.ID, x.exportPlugin, x.rootAdmin.ID, session, msg)
		}
		v2Data(t, x.v2(t, tok, "POST", "/v2/pluginLog", body(run.ID, "WARNING", "careful: 3 assets without size")), nil)
		wantError(t, x.v2(t, tok, "POST", "/v2/pluginLog", body(other.ID, "INFO", "not mine")), 404, labelhub.ECodeNotFound)
		wantError(t, x.v2(t, x.rootKey, "POST", "/v2/pluginLog", body(run.ID, "INFO", "a user")), 403, labelhub.ECodeForbidden)
		r := x.v2(t, tok, "POST", "/v2/pluginLog", `{"level": "INFO", "session": "`+run.ID+`"}`)
		wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), "msg", "")
		var logs struct {
			Items []labelhub.RunLog `json:"items"`
		}
		x.must(x.rootKey, "GET", "/api/v1/runs/"+run.ID+"/logs", "", 200, &logs)
		found := false
		for _, l := range logs.Items {
			if l.Message == "careful: 3 assets without size" {
				found = true
				if l.Level != "warn" {
					t.Errorf("level %q, want warn", l.Level)
				}
			}
		}
		if !found {
			t.Errorf("the log line is not in the run's log: %+v", logs.Items)
		}
		wantError(t, x.v2(t, tok, "POST", "/v2/pluginResponse", `{"response": 1, "session": "`+other.ID+`"}`), 404, labelhub.ECodeNotFound)
		wantError(t, x.v2(t, x.rootKey, "POST", "/v2/pluginResponse", `{"response": 1, "session": "`+run.ID+`"}`), 403, labelhub.ECodeForbidden)
		v2Data(t, x.v2(t, otherTok, "POST", "/v2/pluginResponse", `{"error": true, "session": "`+other.ID+`"}`), nil)
		if end := waitRunFinal(t, x.hub, other.ID); end.State != labelhub.RunFailed {
			t.Errorf("run after an error response: %+v", end)
		}
		if run := waitRunOf(t, x.hub, run.ID); run.State != labelhub.RunRunning {
			t.Errorf("the other run: %s", run.State)
		}
	})
}

func waitRunOf(t *testing.T, h *hub, id string) labelhub.Run {
	t.Helper()
	var run labelhub.Run
	h.with(t).must(h.rootKey, "GET", "/api/v1/runs/"+id, "", 200, &run)
	return run
}

// The project, its assets, its batches and the organisation's storages as
// the SDK reads and writes them, and imports of assets and labels.
func TestV2ProjectCalls(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newV2Hub(t, s)
		p := x.project.ID
		_, feTok := x.start(t, x.fePlugin, p, map[string]any{"integrationId": x.storage.ID})
		_, exTok := x.start(t, x.exportPlugin, p, nil)

		var proj struct {
			Project struct {
				ID             string `json:"_id"`
				Name           string `json:"name"`
				CategorySchema struct {
					Tools []struct {
						SchemaID string `json:"schemaId"`
					} `json:"tools"`
				} `json:"categorySchema"`
				Batches []struct {
					ID   string `json:"_id"`
					Name string `json:"name"`
				} `json:"batches"`
				Stages []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
					Type string `json:"type"`
				} `json:"stages"`
			} `json:"project"`
		}
		v2Data(t, x.v2(t, exTok, "GET", "/v2/project/"+p, ""), &proj)
		if proj.Project.ID != p || proj.Project.Name != "Street" || len(proj.Project.CategorySchema.Tools) == 0 || len(proj.Project.Batches) != 2 ||
			proj.Project.Batches[0].ID != x.b1.ID || len(proj.Project.Stages) != 4 || proj.Project.Stages[3].Type != "Complete" || proj.Project.Stages[0].Type != "Start" {
			t.Fatalf("project %+v", proj.Project)
		}
		wantError(t, x.v2(t, exTok, "GET", "/v2/project/"+x.other.ID, ""), 404, labelhub.ECodeNotFound)
		wantError(t, x.v2(t, "", "GET", "/v2/project/"+p, ""), 401, labelhub.ECodeUnauthorized)

		// Assets: pages and filters.
		type assetsData struct {
			Assets []struct {
				ID         string   `json:"_id"`
				ExternalID string   `json:"externalId"`
				Batches    []string `json:"batches"`
			} `json:"assets"`
			HasMore bool `json:"hasMore"`
		}
		var page assetsData
		var seen []string
		for n := 1; n <= 3; n++ {
			v2Data(t, x.v2(t, exTok, "GET", fmt.Sprintf("/v2/project/%s/assets?page=%d&limit=2&filters={}", p, n), ""), &page)
			for _, a := range page.Assets {
				seen = append(seen, a.ExternalID)
			}
			if page.HasMore != (n == 1) {
				t.Errorf("page %d: hasMore %v", n, page.HasMore)
			}
		}
		if strings.Join(seen, ",") != "a.jpg,b.jpg,c.jpg,d.jpg" {
			t.Errorf("pages: %v", seen)
		}
		v2Data(t, x.v2(t, exTok, "GET", "/v2/project/"+p+"/assets?filters="+url.QueryEscape(`{"batches":["b1","`+x.b2.ID+`"]}`), ""), &page)
		if len(page.Assets) != 1 || page.Assets[0].ExternalID != "b.jpg" || len(page.Assets[0].Batches) != 2 || page.Assets[0].Batches[0] != x.b1.ID {
			t.Errorf("both batches: %+v", page.Assets)
		}
		id := page.Assets[0].ID
		v2Data(t, x.v2(t, exTok, "GET", "/v2/project/"+p+"/assets?filters="+url.QueryEscape(`{"_id":"`+id+`"}`), ""), &page)
		if len(page.Assets) != 1 || page.Assets[0].ID != id {
			t.Errorf("by _id: %+v", page.Assets)
		}
		for q, path := range map[string]string{
			"filters=" + url.QueryEscape(`{"isPreLabeled":true}`): "filters.isPreLabeled",
			"filters=" + url.QueryEscape(`{"colour":"red"}`):      "filters.colour",
			"filters=" + url.QueryEscape(`{"batches":["nope"]}`):  "filters.batches[0]",
			"filters=nope": "filters",
			"page=0":       "page",
			"limit=5000":   "limit",
		} {
			r := x.v2(t, exTok, "GET", "/v2/project/"+p+"/assets?"+q, "")
			wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), path, "")
		}

		// Storages: never a secret; a file-explorer token sees its own.
		var sts struct {
			Storages []map[string]any `json:"storages"`
		}
		r := x.v2(t, x.rootKey, "GET", "/v2/storages", "")
		v2Data(t, r, &sts)
		if len(sts.Storages) != 1 || sts.Storages[0]["_id"] != x.storage.ID || sts.Storages[0]["provider"] != "AWS" || strings.Contains(string(r.Body), "very-secret-value") {
			t.Errorf("storages: %s", r.Body)
		}
		v2Data(t, x.v2(t, feTok, "GET", "/v2/storages", ""), &sts)
		if len(sts.Storages) != 1 || sts.Storages[0]["_id"] != x.storage.ID {
			t.Errorf("file-explorer storages: %+v", sts)
		}
		var second labelhub.Storage
		x.must(x.rootKey, "POST", "/api/v1/storages", `{"name":"second","provider":"s3-compatible","bucket":"second-bucket","endpoint":"http://minio.example.com:9000",
			"credentials":{"accessKeyId":"second","secretAccessKey":"second-secret-value"}}`, 201, &second)
		v2Data(t, x.v2(t, feTok, "GET", "/v2/storages", ""), &sts)
		if len(sts.Storages) != 1 {
			t.Errorf("file-explorer token sees %d storages", len(sts.Storages))
		}
		v2Data(t, x.v2(t, x.rootKey, "GET", "/v2/storages?_id="+second.ID, ""), &sts)
		if len(sts.Storages) != 1 || sts.Storages[0]["provider"] != "AWS" || sts.Storages[0]["labelhubProvider"] != "s3-compatible" {
			t.Errorf("?_id=: %+v", sts)
		}

		// The export token reads only.
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v2/project/" + p + "/cloud", `{"assets": []}`},
			{"POST", "/v2/batches/" + p, `{"batches": [{"name": "x"}]}`},
			{"POST", "/v2/import/labels", `{"project": "` + p + `", "jsonContent": []}`},
			{"GET", "/v2/storages", ""},
		} {
			wantError(t, x.v2(t, exTok, c.method, c.path, c.body), 403, labelhub.ECodeForbidden)
		}
		wantError(t, x.v2(t, feTok, "POST", "/v2/import/labels", `{"project": "`+p+`", "jsonContent": []}`), 403, labelhub.ECodeForbidden)
		wantError(t, x.v2(t, feTok, "POST", "/v2/batches/"+x.other.ID, `{"batches": [{"name": "x"}]}`), 404, labelhub.ECodeNotFound)

		// Batches: the new ones are created, again changes nothing.
		call := `{"batches": [{"_id": "` + x.b1.ID + `", "name": "b1"}, {"name": "b2"}, {"name": "week-3"}, {"name": "week-3"}]}`
		var once, twice struct {
			Project struct {
				Batches []struct {
					ID   string `json:"_id"`
					Name string `json:"name"`
				} `json:"batches"`
			} `json:"project"`
		}
		v2Data(t, x.v2(t, feTok, "POST", "/v2/batches/"+p, call), &once)
		v2Data(t, x.v2(t, feTok, "POST", "/v2/batches/"+p, call), &twice)
		if len(once.Project.Batches) != 3 || once.Project.Batches[2].Name != "week-3" || fmt.Sprint(once) != fmt.Sprint(twice) {
			t.Errorf("batches %+v then %+v", once, twice)
		}
		for body, path := range map[string]string{
			`{"batches": [{"name": ""}]}`:                                  "batches[0].name",
			`{"batches": [{"name": "ok"}, {"_id": "` + x.other.ID + `"}]}`: "batches[1]._id",
			`{"batches": [{"name": "` + strings.Repeat("x", 300) + `"}]}`:  "batches[0].name",
			`{"nope": []}`: "batches",
		} {
			r := x.v2(t, feTok, "POST", "/v2/batches/"+p, body)
			wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), path, "")
		}
		v2Data(t, x.v2(t, feTok, "POST", "/v2/batches/"+p, call), &twice)
		if len(twice.Project.Batches) != 3 {
			t.Errorf("a refused call created batches: %+v", twice)
		}

		// Cloud import, as upload_files_cloud sends it.
		var st struct {
			ImportID string                `json:"importId"`
			State    string                `json:"state"`
			Counts   labelhub.ImportCounts `json:"counts"`
		}
		v2Data(t, x.v2(t, feTok, "POST", "/v2/project/"+p+"/cloud?batches="+url.QueryEscape(`["`+x.b2.ID+`"]`),
			`{"assets": [{"data": "https://example.com/e.jpg", "externalId": "e.jpg", "contextData": null, "metadata": null},
			             {"data": "https://example.com/f.jpg", "externalId": "f.jpg", "batches": ["`+x.b1.ID+`"], "contextData": {"k": 1}, "metadata": {"width": 10, "height": 20}}],
			  "uploadLocal": null, "priority": 0}`), &st)
		if st.State != "succeeded" || st.Counts.Imported != 2 {
			t.Fatalf("cloud import %+v", st)
		}
		v2Data(t, x.v2(t, feTok, "GET", "/v2/project/"+p+"/assets?filters="+url.QueryEscape(`{"externalId":"f.jpg"}`), ""), &page)
		if len(page.Assets) != 1 || len(page.Assets[0].Batches) != 2 {
			t.Errorf("the imported asset: %+v", page.Assets)
		}
		var empty struct {
			State  string                `json:"state"`
			Counts labelhub.ImportCounts `json:"counts"`
		}
		v2Data(t, x.v2(t, x.rootKey, "POST", "/v2/project/"+p+"/cloud", `{"assets": []}`), &empty)
		if empty.State != "succeeded" || empty.Counts.Received != 0 {
			t.Errorf("an empty list: %+v", empty)
		}
		// Another integration, of a file-explorer token: nothing starts.
		wantError(t, x.v2(t, feTok, "POST", "/v2/project/"+p+"/cloud",
			`{"assets": [{"data": "https://example.com/g.jpg", "externalId": "g.jpg", "storage": "`+second.ID+`"}]}`), 404, labelhub.ECodeNotFound)
		v2Data(t, x.v2(t, x.rootKey, "GET", "/v2/project/"+p+"/assets?filters="+url.QueryEscape(`{"externalId":"g.jpg"}`), ""), &page)
		if len(page.Assets) != 0 {
			t.Errorf("a refused import imported %+v", page.Assets)
		}
		// Broken bodies are named before anything starts.
		for _, body := range []string{`[]`, `{"assets": {}}`, `{"assets": [{"externalId": "x"}`, `{"priority": 0}`, `{"assets": []} x`} {
			wantError(t, x.v2(t, x.rootKey, "POST", "/v2/project/"+p+"/cloud", body), 400, labelhub.ECodeInvalid)
		}
		big := `{"assets": [{"externalId": "big", "contextData": {"x": "` + strings.Repeat("y", 2<<20) + `"}}]}`
		wantError(t, x.v2(t, x.rootKey, "POST", "/v2/project/"+p+"/cloud", big), 413, labelhub.ECodeTooLarge)

		// Labels, as import_labels sends them (project after the list too).
		var ls struct {
			Kind   string                `json:"kind"`
			State  string                `json:"state"`
			Counts labelhub.ImportCounts `json:"counts"`
		}
		v2Data(t, x.v2(t, x.rootKey, "POST", "/v2/import/labels",
			`{"jsonContent": [{"externalId": "c.jpg", "classifications": [{"schemaId": "tags", "answer": ["a"]}]}, {"externalId": "nobody"}], "project": "`+p+`"}`), &ls)
		if ls.Kind != labelhub.ImportKindLabels || ls.State != "succeeded" || ls.Counts.Received != 2 || ls.Counts.Invalid != 1 {
			t.Errorf("labels %+v", ls)
		}
		r = x.v2(t, x.rootKey, "POST", "/v2/import/labels", `{"jsonContent": []}`)
		wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), "project", "")
		wantError(t, x.v2(t, x.labelerKey, "POST", "/v2/import/labels", `{"project": "`+p+`", "jsonContent": []}`), 403, labelhub.ECodeForbidden)

		// Unknown calls are a JSON 404 that says so.
		r = x.v2(t, x.rootKey, "GET", "/v2/task/"+labelhub.NewID(), "")
		if e := wantError(t, r, 404, labelhub.ECodeNotFound); !strings.Contains(e.Error.Message, "does not serve") {
			t.Errorf("unknown call: %s", r)
		}
	})
}

// Another organisation reaches none of the project's /v2 calls: 404,
// and nothing changes.
func TestV2OrganizationIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		x := newV2Hub(t, s)
		p := x.project.ID
		_, tok := x.start(t, x.exportPlugin, p, nil)
		var up struct {
			UploadURL string `json:"uploadUrl"`
		}
		v2Data(t, x.v2(t, tok, "GET", "/v2/getUploadUrl?name=r.zip&project="+p+"&type=exports", ""), &up)
		var orgB struct {
			APIKey string `json:"apiKey"`
		}
		x.must(x.rootKey, "POST", "/api/v1/organizations", `{"name":"Org B","adminEmail":"admin-b@example.com","adminName":"Admin B"}`, 201, &orgB)
		b := orgB.APIKey
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v2/project/" + p, ""},
			{"GET", "/v2/project/" + p + "/assets", ""},
			{"GET", "/v2/export?project=" + p, ""},
			{"GET", "/v2/exportV3?project=" + p, ""},
			{"POST", "/v2/batches/" + p, `{"batches": [{"name": "stolen"}]}`},
			{"POST", "/v2/project/" + p + "/cloud", `{"assets": [{"externalId": "stolen", "data": "https://example.com/s.jpg"}]}`},
			{"POST", "/v2/import/labels", `{"project": "` + p + `", "jsonContent": [{"externalId": "a.jpg"}]}`},
			{"GET", "/v2/getSignedUrl?name=" + up.UploadURL, ""},
		} {
			wantError(t, x.v2(t, b, c.method, c.path, c.body), 404, labelhub.ECodeNotFound)
		}
		var sts struct {
			Storages []map[string]any `json:"storages"`
		}
		v2Data(t, x.v2(t, b, "GET", "/v2/storages", ""), &sts)
		if len(sts.Storages) != 0 {
			t.Errorf("org b sees %+v", sts)
		}
		var batches labelhub.Page[labelhub.Batch]
		x.must(x.rootKey, "GET", "/api/v1/projects/"+p+"/batches", "", 200, &batches)
		var assets labelhub.Page[labelhub.Asset]
		x.must(x.rootKey, "GET", "/api/v1/projects/"+p+"/assets", "", 200, &assets)
		if len(batches.Items) != 2 || len(assets.Items) != 4 {
			t.Errorf("org b changed the project: %d batches, %d assets", len(batches.Items), len(assets.Items))
		}
	})
}

// Hostile tokens: each is refused with 403 (or, when it is not one path
// element, 404 from the router), and never reaches a store.
func TestV2HostileTokens(t *testing.T) {
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{URLKey: []byte("k")})
	hostile := []string{
		"", ".", "..", "a.b", "AAAA.BBBB", strings.Repeat("A", 9000) + ".AA",
		"eyJ2IjoxfQ.", ".eyJ2IjoxfQ", "eyJ2IjoxfQ.AAAA.AAAA",
		"eyJ2IjoxfQ==.AAAA", "eyJ2IjoxfQ.AAAA%3D", "%00", "%2e%2e", "..%2F..", "x%0Ay",
		"eyJ2IjoxLCJrIjoiZXhwb3J0In0." + strings.Repeat("A", 43),
		"____.____", "----.----", "\u202e", "e30.e30",
	}
	for _, tok := range hostile {
		for _, c := range []struct{ method, prefix string }{{"GET", "/v2/exports/"}, {"PUT", "/v2/upload/"}, {"GET", "/v2/download/"}} {
			r := h.call(c.method, c.prefix+tok, "")
			if r.Status != 403 && r.Status != 404 {
				t.Errorf("%s %s%.40q: %s", c.method, c.prefix, tok, r)
			}
			if r.Status == 403 {
				wantError(t, r, 403, labelhub.ECodeForbidden)
			}
		}
	}
}
