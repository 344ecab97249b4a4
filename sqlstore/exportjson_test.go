package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
)

// storedAnswers are stored answer texts: the canonical form the store
// writes (fast is true: answerWriter must take the fast path) and forms it
// does not write (a slow path, an error or the same output on the fast
// path).
func storedAnswers(t testing.TB) []struct {
	text string
	fast bool
} {
	full, err := os.ReadFile(filepath.Join("..", "testdata", "answers", "valid_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a labelhub.Answer
	if err := json.Unmarshal(full, &a); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 12, 0, 0, 500_000_000, time.UTC)
	i := 0
	labelhub.WalkItemMeta(&a, func(m *labelhub.ItemMeta) {
		i++
		users := []string{"u1", "u2", "gone"}
		*m = labelhub.ItemMeta{CreatedAt: at, UpdatedAt: at.Add(time.Duration(i) * time.Microsecond), CreatedBy: users[i%3], UpdatedBy: users[(i+1)%3],
			CreatedIn: "Start", UpdatedIn: `La"bel <1>`}
	})
	a.Tools[0].ObjectID = "car-<1>&\"é\u2028\x01"
	a.Tools[0].Classifications[0].Classifications[0].Answer = json.RawMessage(`"<dark> & \"tinted\" \u2028 ✓\n"`)
	a.Tools = append(a.Tools,
		labelhub.Object{ObjectID: "seg", SchemaID: "area", Segmentation: &labelhub.Segmentation{Zones: []labelhub.Zone{
			{Region: []labelhub.Point{{0, 0}, {1e-7, 2.5}, {3e21, -0.125}}, Holes: [][]labelhub.Point{{{1, 1}, {2, 2}, {1, 2}}}}}}},
		labelhub.Object{ObjectID: "rot", RotatedBoundingBox: &labelhub.RotatedBox{X: 1.5, Y: 2, Width: 3, Height: 4, Rotation: -45}},
		labelhub.Object{ObjectID: "ner", NER: &labelhub.TextSpan{Start: 3, End: 9}},
		labelhub.Object{ObjectID: "pdf", PDF: json.RawMessage(`{"rects":[{"x":1}],"t":true,"n":null}`), Brush: json.RawMessage(`{"data":"AAE="}`)})
	canonical, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	c := string(canonical)
	var indented bytes.Buffer
	if err := json.Indent(&indented, canonical, "", "\t "); err != nil {
		t.Fatal(err)
	}
	list := []struct {
		text string
		fast bool
	}{
		{c, true},
		{"", true},
		{`{"tools":[],"classifications":[],"relations":[]}`, true},
		{string(full), false}, // page after polygon
		{indented.String(), true},
		{`{"tools":[{"objectId":"a","title":null,"page":null,"point":[1e2,0.10]}]}`, true},
		{`{"tools":[{"objectId":"a","polygon":[],"classifications":[]}],"relations":null}`, true},
		{`{"classifications":[{"objectId":"a"}]}`, true}, // answer missing: null
		{`{"classifications":[{"objectId":"a","answer":{ "k" : [ 1 , "x" ] }}]}`, true},
		{`{"relations":[{"objectId":"r","group":["a","b"]},{"objectId":"s","group":[]}]}`, true},
		{`{"tools":[{"objectId":"a","point":[-0,12345678901234567890]}]}`, true},
		{`{"tools":[{"objectId":"\u00e9\u003c","title":"\ud83d\ude00"}]}`, true},
		{`{"tools":[{"objectId":"a","page":1.5}]}`, false},
		{`{"tools":[{"objectId":"a","point":[1]}]}`, false},
		{`{"tools":[{"objectId":"a","point":null}]}`, true},
		{`{"tools":[{"Title":"a"}]}`, false},
		{`{"tools":[{"title":"a","objectId":"b"}]}`, false},
		{`{"tools":[{"title":"a","title":"b"}]}`, false},
		{`{"tools":[{"title":"a","extra":1}]}`, false},
		{`{"tools":[null]}`, false},
		{`{"tools":[{"objectId":"a"}]} x`, false},
		{`{"tools":[{"objectId":"a"}]`, false},
		{`null`, false},
		{`{"tools":[{"objectId":"a","createdAt":"2026-11-22T12:00:00+00:00","createdBy":"u1"}]}`, false},
		{`{"tools":[{"objectId":"a","createdAt":"2026-11-22T12:00:00.500Z"}]}`, false},
		{`{"tools":[{"objectId":"a","createdAt":"0001-01-01T00:00:00Z"}]}`, false},
		{`{"tools":[{"objectId":"a","createdAt":"2026-02-30T12:00:00Z"}]}`, false},
		{`{"tools":[{"objectId":"a","createdAt":"2026-11-22T12:00:00Z","createdBy":"","updatedBy":"u3"}]}`, true},
		{`{"tools":[{"objectId":"a","pdf":null,"brush":{"x":"\q"}}]}`, false},
		{`{"tools":[{"objectId":"a","bounding-box":{"x":1,"y":2,"width":3}}]}`, false},
		{`{"tools":[{"objectId":"a","segmentation":{"zones":null}}]}`, false},
		{`{"tools":[{"objectId":"a","ner":{"start":1,"end":1e1}}]}`, false},
		{"{\"tools\":[{\"objectId\":\"a\xffb\"}]}", false},
	}
	return list
}

// TestAnswerWriterMatchesEncodingJSON checks that the fast path writes
// what decoding the stored answer and encoding it with encoding/json
// writes, with and without item metadata, and that it takes the fast path
// on the stored form.
func TestAnswerWriterMatchesEncodingJSON(t *testing.T) {
	for _, meta := range []bool{false, true} {
		for i, c := range storedAnswers(t) {
			w := newAnswerWriter(meta)
			w.emails["u1"], w.emails["u2"] = "one@example.com", `t<w>o"&@example.com`
			want, slowErr := w.slow([]byte("x"), []byte(c.text))
			wantMissing := len(w.missing)
			clear(w.missing)
			got, ok := w.fast([]byte("x"), []byte(c.text))
			if ok && slowErr != nil {
				t.Errorf("meta %v, answer %d: the fast path accepts what decoding refuses (%v): %s", meta, i, slowErr, c.text)
				continue
			}
			if c.fast && !ok {
				t.Errorf("meta %v, answer %d: slow path for the stored form %s", meta, i, c.text)
			}
			if ok && !bytes.Equal(got, want) {
				t.Errorf("meta %v, answer %d:\n got %s\nwant %s", meta, i, got, want)
			}
			if ok && len(w.missing) != wantMissing {
				t.Errorf("meta %v, answer %d: %d users missing, want %d", meta, i, len(w.missing), wantMissing)
			}
			if meta && ok && strings.Contains(c.text, `"u1"`) && !bytes.Contains(got, []byte(`"one@example.com"`)) {
				t.Errorf("meta %v, answer %d: no email in %s", meta, i, got)
			}
			if !meta && bytes.Contains(got, []byte(`"createdAt"`)) {
				t.Errorf("answer %d: item metadata without meta: %s", i, got)
			}
		}
	}
}

// FuzzAnswerWriter checks on any input that the fast path either gives
// up or writes what the slow path writes.
func FuzzAnswerWriter(f *testing.F) {
	for _, c := range storedAnswers(f) {
		f.Add(c.text, false)
		f.Add(c.text, true)
	}
	f.Fuzz(func(t *testing.T, text string, meta bool) {
		w := newAnswerWriter(meta)
		w.emails["u1"] = "one@example.com"
		want, err := w.slow(nil, []byte(text))
		got, ok := w.fast(nil, []byte(text))
		if ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("fast %s\nslow %s (%v)", got, want, err)
		}
	})
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "<&>", "\x00\x01\b\f\n\r\t\x1f\x7f", "é✓😀", "\u2028\u2029", "bad\xff\xfeutf8", "\xe2\x80"} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got, want := string(appendJSONString(nil, s)), strings.TrimSuffix(b.String(), "\n"); got != want {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

// SetExportPageBytes sets the byte bound of an export page for a test of
// package sqlstore_test and returns what restores it.
func SetExportPageBytes(n int) (restore func()) {
	old := exportPageBytes
	exportPageBytes = n
	return func() { exportPageBytes = old }
}

// TestDocPartsMatchesDecoding checks that the assets' documents the export
// reads without decoding give what decoding them into assetDoc gives, and
// that the others are left to decoding.
func TestDocPartsMatchesDecoding(t *testing.T) {
	var st exportStmts
	for _, c := range []struct {
		doc  string
		fast bool
	}{
		{`{}`, true},
		{`{"metadata":{"width":640,"height":480}}`, true},
		{`{"metadata":{"w":1},"contextData":{"site":"n","seq":[1,2,{"a":null}]},"attachments":[{"type":"text","value":"x"}],"editorType":"image"}`, true},
		{`{"contextData":{"a":"\u00e9\n"}, "metadata" : { "w" : 1 } }`, true},
		{`{"editorType":"image","metadata":{}}`, true},
		{``, false},
		{`{"dataset":["https://example.com/a.jpg"],"metadata":{"w":1}}`, false},
		{`{"metadata":null}`, false},
		{`{"Metadata":{"w":1}}`, false},
		{`{"metadata":{"w":1},"metadata":{"w":2}}`, false},
		{`{"other":1,"metadata":{"w":1}}`, false},
		{`{"editorType":1}`, false},
		{`{"metadata":{"w":1}`, false},
		{`{"metadata":{"w":1}} x`, false},
	} {
		meta, contextData, ok := st.docParts([]byte(c.doc))
		if ok != c.fast {
			t.Errorf("%s: ok %v, want %v", c.doc, ok, c.fast)
		}
		if !ok {
			continue
		}
		var d assetDoc
		if err := json.Unmarshal([]byte(c.doc), &d); err != nil {
			t.Errorf("%s: read without decoding, decoding says %v", c.doc, err)
			continue
		}
		if string(meta) != string(d.Metadata) || string(contextData) != string(d.ContextData) || len(d.Dataset) > 0 {
			t.Errorf("%s: metadata %s, contextData %s; decoded %s, %s", c.doc, meta, contextData, d.Metadata, d.ContextData)
		}
	}
}

// TestCanonicalTimeDays checks the days of months canonicalTime accepts
// against the time package, leap years included.
func TestCanonicalTimeDays(t *testing.T) {
	for _, year := range []int{1900, 2000, 2023, 2024, 2026} {
		for month := 1; month <= 12; month++ {
			for day := 27; day <= 32; day++ {
				s := fmt.Sprintf("%04d-%02d-%02dT12:00:00Z", year, month, day)
				tm, err := time.Parse(time.RFC3339, s)
				want := err == nil && tm.Format(time.RFC3339Nano) == s
				if got := canonicalTime([]byte(s)); got != want {
					t.Errorf("canonicalTime(%s) = %v, want %v", s, got, want)
				}
			}
		}
	}
}
