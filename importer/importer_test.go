package importer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

const twoItems = `{"externalId": "a.jpg", "data": "https://example.com/a.jpg", "batches": ["x"]}
{"externalId": "b.mp4", "data": "https://example.com/b.mp4", "contextData": {"k": [1, 2]}}
`

// The three forms of a file give the same items.
func TestForms(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(twoItems), "\n")
	forms := map[string]string{
		"ndjson":        twoItems,
		"array":         "[" + strings.Join(lines, ",\n") + "]",
		"assets":        `{"assets": [` + strings.Join(lines, ",\n") + "]}",
		"assets-spaced": "{\n  \"assets\"\n  :\n  [\n" + strings.Join(lines, ",\n") + "\n  ]\n}\n",
	}
	var first []Item
	for name, file := range forms {
		r := decodeString(t, file, testOptions(t))
		if r.err != nil || len(r.errs) > 0 || len(r.items) != 2 {
			t.Fatalf("%s: %+v", name, r)
		}
		for i := range r.items {
			r.items[i].Line = 0
		}
		if first == nil {
			first = r.items
		} else if !reflect.DeepEqual(first, r.items) {
			t.Errorf("%s: items differ:\n%+v\n%+v", name, r.items, first)
		}
	}
	if first[0].ExternalID != "a.jpg" || first[1].Type != labelhub.AssetVideo || string(first[1].ContextData) != `{"k":[1,2]}` {
		t.Errorf("items %+v", first)
	}
}

// An object whose first key is not "assets" starts NDJSON, even on one line.
func TestFormDetectionNDJSONSingleObject(t *testing.T) {
	r := decodeString(t, `{"externalId": "a.jpg", "data": "https://example.com/a.jpg"}`, testOptions(t))
	if r.err != nil || r.counts.Valid != 1 {
		t.Fatalf("%+v", r)
	}
	// A pretty-printed NDJSON item spanning lines is accepted.
	r = decodeString(t, "{\n \"externalId\": \"a.jpg\",\n \"data\": \"https://example.com/a.jpg\"\n}\n{\"externalId\": \"b\", \"data\": \"https://example.com/b.jpg\"}", testOptions(t))
	if r.err != nil || r.counts.Valid != 2 || r.items[1].Line != 5 {
		t.Fatalf("%+v", r)
	}
}

func TestLines(t *testing.T) {
	file := "\xef\xbb\xbf[\n" +
		"  {\"externalId\": \"a\", \"data\": \"https://example.com/a.jpg\"},\n" +
		"\n" +
		"  {\n    \"externalId\": \"b\",\n    \"data\": \"https://example.com/b.jpg\"\n  },\n" +
		"  {\"externalId\": \"c\", \"data\": \"https://example.com/c b.jpg\"}\n" +
		"]"
	r := decodeString(t, file, testOptions(t))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.items) != 2 || r.items[0].Line != 2 || r.items[1].Line != 4 || r.items[1].Index != 1 {
		t.Errorf("items %+v", r.items)
	}
	if len(r.errs) != 1 || r.errs[0].Line != 8 || r.errs[0].Index != 2 || r.errs[0].Path != "[2].data" {
		t.Errorf("problems %+v", r.errs)
	}

	crlf := "{\"externalId\": \"a\", \"data\": \"https://example.com/a.jpg\"}\r\n\r\n\r\n{\"externalId\": \"b\", \"data\": 1}\r\n"
	r = decodeString(t, crlf, testOptions(t))
	if r.err != nil || len(r.errs) != 1 || r.errs[0].Line != 4 || r.errs[0].Index != 1 {
		t.Errorf("%+v", r)
	}
}

// A syntax error names the byte offset and line of the offending byte.
func TestSyntaxErrorOffsetAndLine(t *testing.T) {
	for _, c := range []struct{ file, at string }{
		{"[\n{\"externalId\": \"a\", \"data\": \"https://example.com/a.jpg\"},\n{\"externalId\": \"b\",\n \"data\": x}]", "x}"},
		{"[\n{\"externalId\": \"a\", \"data\": \"https://example.com/a.jpg\"}\n\n  oops", "oops"},
		{"{\"externalId\": \"a\", \"data\": \"https://example.com/a.jpg\"}\n\n{\"externalId\": \"b\"} {}", "{}"},
		{"[{\"externalId\": \"a\", \"data\": \"https://example.com/a.jpg\"},\n\n]", "]"},
	} {
		r := decodeString(t, c.file, testOptions(t))
		var e *Error
		if !errors.As(r.err, &e) {
			t.Errorf("%q: error %v is not an *Error", c.file, r.err)
			continue
		}
		off := strings.Index(c.file, c.at)
		line := strings.Count(c.file[:off], "\n") + 1
		if e.Offset != int64(off) || e.Line != line || e.Limit != "" {
			t.Errorf("%q: error at offset %d line %d (%v), want offset %d line %d", c.file, e.Offset, e.Line, e, off, line)
		}
		if r.counts.Valid != 1 || len(r.items) != 1 {
			t.Errorf("%q: the item before the error was not emitted: %+v", c.file, r.counts)
		}
	}
}

func TestItemFields(t *testing.T) {
	opts := testOptions(t)
	opts.DefaultStorageID = "s3eu"
	opts.Batches = []string{"req", "shared"}
	file := `[{
	  "externalId": "clip",
	  "data": "https://acme-data.s3.eu-west-1.amazonaws.com/v/clip%20one.MP4",
	  "metadata": { "frameRate" : 25, "frameCount": 250, "width": 640, "height": 480.5, "note": "a  b", "x": [1, { "y" : null }] },
	  "contextData": {"s": "with \"quotes\" and  spaces", "n": 1.50, "e": "\u00e9"},
	  "batches": ["shared", "own", "own"],
	  "attachments": [{"value": "https://acme-data.s3.eu-west-1.amazonaws.com/ref.png", "type": "IMAGE"}, {"type": "TEXT", "value": "note"}]
	}]`
	r := decodeString(t, file, opts)
	if r.err != nil || len(r.errs) > 0 || len(r.items) != 1 {
		t.Fatalf("%+v", r)
	}
	it := r.items[0]
	want := Item{
		Index: 0, Line: 1, ExternalID: "clip", Type: labelhub.AssetVideo,
		URL:         "https://acme-data.s3.eu-west-1.amazonaws.com/v/clip%20one.MP4",
		Metadata:    []byte(`{"frameRate":25,"frameCount":250,"width":640,"height":480.5,"note":"a  b","x":[1,{"y":null}]}`),
		ContextData: []byte(`{"s":"with \"quotes\" and  spaces","n":1.50,"e":"\u00e9"}`),
		Attachments: []Attachment{{Type: "IMAGE", Value: "https://acme-data.s3.eu-west-1.amazonaws.com/ref.png"}, {Type: "TEXT", Value: "note"}},
		Batches:     []string{"req", "shared", "own"},
		StorageID:   "s3eu",
		NeedsProbe:  false,
	}
	if !reflect.DeepEqual(it, want) {
		t.Errorf("item\n%+v\nwant\n%+v", it, want)
	}
	// Request batches are shared by items without their own.
	r = decodeString(t, `{"externalId": "a", "data": "https://acme-data.s3.eu-west-1.amazonaws.com/a.jpg"}`, opts)
	if len(r.items) != 1 || !reflect.DeepEqual(r.items[0].Batches, opts.Batches) {
		t.Errorf("%+v", r)
	}
}

func TestNeedsProbe(t *testing.T) {
	for _, c := range []struct {
		data, meta string
		want       bool
	}{
		{"a.jpg", ``, true},
		{"a.jpg", `"metadata": {"width": 1}`, true},
		{"a.jpg", `"metadata": {"width": 1, "height": 2}`, false},
		{"a.mp4", `"metadata": {"width": 1, "height": 2}`, true},
		{"a.mp4", `"metadata": {"width": 1, "height": 2, "frameRate": 30, "frameCount": 1}`, false},
		{"a.mp4", `"metadata": {"width": 1, "height": 2, "frameRate": 30}`, true},
		{"a.mp3", ``, false},
		{"a.pdf", ``, false},
	} {
		file := `{"externalId": "x", "data": "https://example.com/` + c.data + `"`
		if c.meta != "" {
			file += ", " + c.meta
		}
		r := decodeString(t, file+"}", testOptions(t))
		if len(r.items) != 1 || r.items[0].NeedsProbe != c.want {
			t.Errorf("%s %s: %+v, want NeedsProbe %v", c.data, c.meta, r, c.want)
		}
	}
}

// Items keep their values after the decoder's buffers are reused.
func TestItemsDoNotAlias(t *testing.T) {
	var file bytes.Buffer
	if err := Generate(&file, 2000, FormNDJSON, assetref.Integration{}); err != nil {
		t.Fatal(err)
	}
	r := decodeAll(t, iotest.HalfReader(bytes.NewReader(file.Bytes())), testOptions(t))
	if r.err != nil || len(r.items) != 2000 {
		t.Fatalf("%v %+v", r.err, r.counts)
	}
	for i, it := range r.items {
		again := decodeString(t, strings.Split(file.String(), "\n")[i], testOptions(t))
		again.items[0].Line, again.items[0].Index = it.Line, it.Index
		if !reflect.DeepEqual(it, again.items[0]) {
			t.Fatalf("item %d changed after decoding went on:\n%+v\n%+v", i, it, again.items[0])
		}
	}
}

// Reading in small or odd pieces gives the same results as reading at once,
// for every file of the corpus (buffer boundaries inside tokens, BOM, CRLF).
func TestChunkedReads(t *testing.T) {
	for _, name := range corpusFiles(t) {
		data, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		opts := readWant(t, name).opts
		whole := decodeAll(t, bytes.NewReader(data), opts)
		readers := map[string]io.Reader{
			"one-byte": iotest.OneByteReader(bytes.NewReader(data)),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
			"data-err": iotest.DataErrReader(bytes.NewReader(data)),
			"random":   &randomReader{r: bytes.NewReader(data), rnd: rand.New(rand.NewPCG(1, uint64(len(data))))},
		}
		for rname, rd := range readers {
			got := decodeAll(t, rd, opts)
			if !sameResult(whole, got) {
				t.Errorf("%s with %s reader: %+v, %d items, %d problems, error %v; whole: %+v, %d items, %d problems, error %v",
					name, rname, got.counts, len(got.items), len(got.errs), got.err, whole.counts, len(whole.items), len(whole.errs), whole.err)
			}
		}
	}
}

func sameResult(a, b result) bool {
	return reflect.DeepEqual(withoutLabels(a.items), withoutLabels(b.items)) && reflect.DeepEqual(a.errs, b.errs) && a.counts == b.counts &&
		(a.err == nil) == (b.err == nil) && (a.err == nil || a.err.Error() == b.err.Error())
}

// withoutLabels replaces the pre-labels (whose generated objectIds differ
// from one decoding to the next) by their number of objects.
func withoutLabels(items []Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		if it.PreLabels != nil {
			it.PreLabels = &labelhub.Labels{Objects: make([]labelhub.Object, len(it.PreLabels.Objects))}
		}
		out[i] = it
	}
	return out
}

// randomReader returns 0 to 100 bytes a call, sometimes (0, nil).
type randomReader struct {
	r   io.Reader
	rnd *rand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	n := r.rnd.IntN(101)
	if n == 0 {
		return 0, nil
	}
	return r.r.Read(p[:min(n, len(p))])
}

func TestCallbackErrors(t *testing.T) {
	stop := errors.New("stop")
	file := "[" + strings.Repeat(`{"externalId": "a", "data": "https://example.com/a.jpg"}, {"externalId": 1}, `, 10) + `{}]`
	emitted := 0
	c, err := Decode(context.Background(), strings.NewReader(file), testOptions(t),
		func(Item) error { emitted++; return stop }, func(ItemError) error { return nil })
	if !errors.Is(err, stop) || emitted != 1 || c.Valid != 1 {
		t.Errorf("emit error: %v, %d emitted, %+v", err, emitted, c)
	}
	reported := 0
	c, err = Decode(context.Background(), strings.NewReader(file), testOptions(t),
		func(Item) error { return nil }, func(ItemError) error { reported++; return stop })
	if !errors.Is(err, stop) || reported != 1 || c.Valid != 1 || c.Invalid != 1 {
		t.Errorf("report error: %v, %d reported, %+v", err, reported, c)
	}
}

func TestContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	g, _ := NewGenerator(1_000_000, FormNDJSON, assetref.Integration{})
	n := 0
	_, err := Decode(ctx, g, testOptions(t), func(Item) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	}, func(ItemError) error { return nil })
	if !errors.Is(err, context.Canceled) || n > 2000 {
		t.Errorf("error %v after %d items", err, n)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`[{"externalId": "a", "data": "https://example.com/a.jpg"}, {"exte`), iotest.ErrReader(boom))
	res := decodeAll(t, r, testOptions(t))
	if !errors.Is(res.err, boom) || res.counts.Valid != 1 {
		t.Errorf("%+v", res)
	}
	var e *Error
	if errors.As(res.err, &e) {
		t.Errorf("a read error is not a syntax error: %v", res.err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, opts := range []Options{
		{Batches: []string{""}},
		{Batches: []string{strings.Repeat("b", 201)}},
		{DefaultStorageID: "nope", Storages: testStorages},
	} {
		if _, err := Decode(context.Background(), strings.NewReader("[]"), opts, nil, nil); err == nil {
			t.Errorf("Options %+v accepted", opts)
		}
	}
	// The "" key is the request's default integration.
	opts := Options{Storages: map[string]assetref.Integration{"": testStorages["gcs"]}, DefaultStorageID: "st-1"}
	r := decodeString(t, `[{"externalId": "a", "data": "gs://media-bucket/a.jpg"}]`, opts)
	if len(r.items) != 1 || r.items[0].StorageID != "st-1" {
		t.Errorf("%+v", r)
	}
}

func TestLimitsDefaults(t *testing.T) {
	if got := (Limits{}).withDefaults(); got != DefaultLimits() {
		t.Errorf("zero limits give %+v", got)
	}
	l := Limits{MaxItems: 5, MaxDepth: -1}.withDefaults()
	if l.MaxItems != 5 || l.MaxDepth != DefaultMaxDepth || l.MaxItemBytes != 1<<20 || l.MaxStringBytes != 64<<10 {
		t.Errorf("%+v", l)
	}
}

// The list of extensions in messages is the list AssetTypeOf knows.
func TestSupportedExtensions(t *testing.T) {
	n := 0
	for _, part := range strings.Split(supportedExtensions, ";") {
		part, _, _ = strings.Cut(strings.TrimSpace(part), " (")
		for _, ext := range strings.Split(part, ",") {
			ext = strings.TrimSpace(ext)
			if labelhub.AssetTypeOf("f."+ext, "") == "" {
				t.Errorf("%q is listed but not supported", ext)
			}
			n++
		}
	}
	// Every extension AssetTypeOf knows (docs/formats.md §1) is listed.
	for _, ext := range []string{"jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff", "mp4", "mov", "webm", "mkv", "avi",
		"mp3", "wav", "ogg", "flac", "m4a", "pdf", "txt", "md", "html", "htm", "dcm", "pcd", "las"} {
		if !strings.Contains(supportedExtensions, ext) {
			t.Errorf("%q missing from the message", ext)
		}
	}
	if n != 26 {
		t.Errorf("%d extensions listed, want 26", n)
	}
}

func TestGenerator(t *testing.T) {
	s3 := assetref.Integration{Provider: assetref.S3, Bucket: "acme-data", Region: "eu-west-1"}
	for _, form := range []string{FormArray, FormNDJSON, FormAssets} {
		for _, n := range []int{0, 1, 2500} {
			if n == 0 && form == FormNDJSON {
				continue // an empty file is an error
			}
			var buf bytes.Buffer
			if err := Generate(&buf, n, form, s3); err != nil {
				t.Fatal(err)
			}
			opts := Options{Storages: map[string]assetref.Integration{"s3": s3}, DefaultStorageID: "s3"}
			r := decodeAll(t, &buf, opts)
			if r.err != nil || len(r.errs) > 0 || r.counts.Valid != n {
				t.Fatalf("%s %d: %v %+v %v", form, n, r.err, r.counts, r.errs)
			}
			if n > 0 {
				it := r.items[n-1]
				if it.NeedsProbe || it.Type != labelhub.AssetImage || len(it.Batches) != 1 || !strings.HasPrefix(it.URL, "https://acme-data.s3.eu-west-1.amazonaws.com/") ||
					bytes.Count(it.ContextData, []byte(":")) < 5 {
					t.Errorf("%s: generated item %+v", form, it)
				}
			}
		}
	}
	if _, err := NewGenerator(1, "csv", assetref.Integration{}); err == nil {
		t.Error("unknown form accepted")
	}
	if _, err := NewGenerator(1, FormArray, assetref.Integration{Provider: "s3"}); err == nil {
		t.Error("integration without bucket accepted")
	}
}

// At most MaxErrorsPerItem problems are reported for one item, then one more.
func TestMaxErrorsPerItem(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"externalId": "a", "data": "https://example.com/a.jpg"`)
	for i := range 50 {
		b.WriteString(`, "x` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `": 1`)
	}
	r := decodeString(t, b.String()+"}", testOptions(t))
	if len(r.errs) != MaxErrorsPerItem+1 || !strings.Contains(r.errs[MaxErrorsPerItem].Message, "more than 20 problems") {
		t.Errorf("%d problems: %+v", len(r.errs), r.errs[len(r.errs)-1])
	}
}
