package floor_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labelhub/labelhub/bench/floor"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// generated is a generator of n import items, as the hub's benchmarks use.
func generated(t *testing.T, n int) *importer.Generator {
	t.Helper()
	g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// answer is the floor tests' stored answer: the fields of an answer, with
// text that needs escaping.
var answer = floor.Answer{
	Text: `{"tools":[{"objectId":"o1","schemaId":"car","title":"Car \"1\"","bounding-box":{"x":10,"y":20,"width":50,"height":40},"createdBy":"u1"}],` +
		`"classifications":[{"tool":"radio","schemaId":"color","objectId":"o2","title":"Color","answer":"Rot\u00e9"}],"relations":[]}`,
	UserID:  "u1",
	History: 2,
}

// exportAnswer is the answer fields of a task or history entry of an
// export line.
type exportAnswer struct {
	Tools           json.RawMessage `json:"tools"`
	Classifications json.RawMessage `json:"classifications"`
	Relations       json.RawMessage `json:"relations"`
}

// exportLine is an export line as the floor writes it.
type exportLine struct {
	Asset      string          `json:"asset"`
	AssetID    string          `json:"assetId"`
	ExternalID string          `json:"externalId"`
	Metadata   json.RawMessage `json:"metadata"`
	Task       struct {
		TaskID        string    `json:"taskId"`
		StageID       string    `json:"stageId"`
		UpdatedAt     time.Time `json:"updatedAt"`
		UpdatedBy     string    `json:"updatedBy"`
		TotalDuration int64     `json:"totalDuration"`
		exportAnswer
		StageHistory []struct {
			Stage       string    `json:"stage"`
			StageID     string    `json:"stageId"`
			Duration    int64     `json:"duration"`
			CompletedAt time.Time `json:"completedAt"`
			CompletedBy string    `json:"completedBy"`
			exportAnswer
		} `json:"stageHistory"`
	} `json:"task"`
}

// checkExport checks that out has n lines that decode, in task id order,
// with the generator's external ids and metadata, and a's answer (copied
// as stored) and history entries.
func checkExport(t *testing.T, out []byte, n int, a floor.Answer) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	i, last := 0, ""
	for sc.Scan() {
		var l exportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, sc.Bytes())
		}
		if l.Task.TaskID <= last {
			t.Fatalf("line %d: task %q after %q", i+1, l.Task.TaskID, last)
		}
		last = l.Task.TaskID
		if want := fmt.Sprintf("img-%d.jpg", i); l.ExternalID != want || l.Task.StageID != floor.Stage || l.AssetID == "" || l.Asset == "" {
			t.Fatalf("line %d: %s (want externalId %s)", i+1, sc.Bytes(), want)
		}
		if l.Task.UpdatedAt.IsZero() || l.Task.UpdatedBy != a.UserID || !sameAnswer(l.Task.exportAnswer, a.Text) ||
			len(l.Task.StageHistory) != a.History {
			t.Fatalf("line %d: task %s", i+1, sc.Bytes())
		}
		for _, h := range l.Task.StageHistory {
			if h.StageID != floor.Stage || h.Stage == "" || h.Duration == 0 || h.CompletedAt.IsZero() ||
				h.CompletedBy != a.UserID || !sameAnswer(h.exportAnswer, a.Text) {
				t.Fatalf("line %d: history %s", i+1, sc.Bytes())
			}
		}
		if l.Task.TotalDuration != l.Task.StageHistory[0].Duration*int64(a.History) {
			t.Fatalf("line %d: totalDuration %d", i+1, l.Task.TotalDuration)
		}
		var meta struct{ Width, Height int }
		if err := json.Unmarshal(l.Metadata, &meta); err != nil || meta.Width == 0 || meta.Height == 0 {
			t.Fatalf("line %d: metadata %s (%v)", i+1, l.Metadata, err)
		}
		i++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("%d lines, want %d", i, n)
	}
}

// sameAnswer says whether got has the fields of the stored answer text,
// byte for byte.
func sameAnswer(got exportAnswer, text string) bool {
	var want exportAnswer
	if err := json.Unmarshal([]byte(text), &want); err != nil {
		panic(err)
	}
	return bytes.Equal(got.Tools, want.Tools) && bytes.Equal(got.Classifications, want.Classifications) &&
		bytes.Equal(got.Relations, want.Relations)
}

// n is more than one transaction and one export page, and not a multiple
// of either (nor of the rows of one SQLite INSERT).
const n = 4321

func TestSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "floor.db")
	res, err := floor.ImportSQLite(ctx, path, generated(t, n), answer)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != n || res.Bytes == 0 || res.Duration <= 0 {
		t.Fatalf("import: %+v", res)
	}
	var out bytes.Buffer
	ex, err := floor.ExportSQLite(ctx, path, &out)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Items != n || ex.Bytes != int64(out.Len()) {
		t.Fatalf("export: %+v, %d bytes written", ex, out.Len())
	}
	checkExport(t, out.Bytes(), n, answer)
	t.Logf("sqlite: import %v; export %v", res, ex)
}

func TestPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := testservers.Postgres(t)
	res, err := floor.ImportPostgres(ctx, dsn, generated(t, n), answer)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != n || res.Bytes == 0 || res.Duration <= 0 {
		t.Fatalf("import: %+v", res)
	}
	var out bytes.Buffer
	ex, err := floor.ExportPostgres(ctx, dsn, &out)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Items != n || ex.Bytes != int64(out.Len()) {
		t.Fatalf("export: %+v, %d bytes written", ex, out.Len())
	}
	checkExport(t, out.Bytes(), n, answer)
	t.Logf("postgres: import %v; export %v", res, ex)
}

func TestListS3(t *testing.T) {
	endpoint, access, secret, bucket := testservers.MinIOBucket(t, map[string]string{"other/x.jpg": "x"})
	keys := make([]string, 2345)
	for i := range keys {
		keys[i] = fmt.Sprintf("images/img-%05d.jpg", i)
	}
	testservers.MinIOPutMany(t, bucket, keys)
	res, err := floor.ListS3(context.Background(), endpoint, bucket, "images/", access, secret)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != int64(len(keys)) || res.Bytes != int64(len(keys)) {
		t.Fatalf("listed %+v, want %d objects of one byte", res, len(keys))
	}
	t.Logf("s3: %v", res)
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r\x00\x1f", "é ü 日本", "bad\xffutf8", "\u2028"} {
		var out bytes.Buffer
		if _, err := floor.ExportLineForTest(&out, s, ""); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Asset string `json:"asset"`
		}
		if err := json.Unmarshal(out.Bytes(), &back); err != nil {
			t.Fatalf("%q: %v: %s", s, err, out.Bytes())
		}
		want := s
		if s == "bad\xffutf8" {
			want = "bad\ufffdutf8"
		}
		if back.Asset != want {
			t.Fatalf("%q came back as %q", s, back.Asset)
		}
	}
}

func TestEmptyAnswerIsEmptyLists(t *testing.T) {
	for _, text := range []string{"", "{}", " { } "} {
		var out bytes.Buffer
		if _, err := floor.ExportLineForTest(&out, "x", text); err != nil {
			t.Fatal(err)
		}
		var l exportLine
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatalf("%q: %v: %s", text, err, out.Bytes())
		}
		if string(l.Task.Tools) != "[]" || string(l.Task.Classifications) != "[]" || string(l.Task.Relations) != "[]" || l.Task.StageHistory == nil {
			t.Fatalf("%q: %s", text, out.Bytes())
		}
	}
}
