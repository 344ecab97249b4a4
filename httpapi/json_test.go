package httpapi

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
)

// FuzzDecode feeds arbitrary bodies to decode, with the input types of the
// API: it must never panic, must answer only invalid or too_large in the
// error shape with paths, and firstMisfit must agree with encoding/json:
// nothing found in a body that decodes, and the unknown key that
// encoding/json names.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"x"}`,
		`{"name":"x",}`,
		`{"name":5}`,
		`[]`,
		`"x"`,
		`null`,
		``,
		`{"name":"x"} {}`,
		`{"NAME":"x","Description":"d"}`,
		`{"name":"x","colour":"red"}`,
		`{"name":"x","categorySchema":{"tools":[{"title":"a","tool":"point"},{"title":3}]}}`,
		`{"name":"x","categorySchema":{"tools":[{"title":"a","name":"c"}]}}`,
		`{"categorySchema":{"classifications":[{"options":[{"children":[{"value":false}]}]}]}}`,
		`{"categorySchema":{"relations":[{"schemaId":{"a":[1,2,{"b":null}]}}]}}`,
		`{"categorySchema":{"tools":[[[[[[[[]]]]]]]]}}`,
		`{"email":"a@example.com","role":"labeler","password":["x"]}`,
		`{"name":"k","userId":7}`,
		`{"name":"\u017fomething"}`,
		`{"name":1e999}`,
		`{"":"0"}`,
		`{"categorySchema":{"tools":[{"":1}]}}`,
		`{"a":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return new(labelhub.ProjectInput) },
		func() any { return new(labelhub.NewUser) },
		func() any { return new(labelhub.NewOrg) },
		func() any { return new(apiKeyInput) },
		func() any { return new(batchInput) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range targets {
			v := target()
			r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
			err := decode(r, httptest.NewRecorder(), 4096, v)
			if err == nil {
				if m, ok := firstMisfit(body, reflect.TypeOf(v)); ok {
					t.Fatalf("%T: %q decodes, but firstMisfit finds %+v", v, body, m)
				}
				continue
			}
			var e *labelhub.Error
			if !errors.As(err, &e) {
				t.Fatalf("%T: %q: error %v is not a *labelhub.Error", v, body, err)
			}
			if e.Code != labelhub.ECodeInvalid && e.Code != labelhub.ECodeTooLarge {
				t.Fatalf("%T: %q: code %s", v, body, e.Code)
			}
			if e.Code == labelhub.ECodeTooLarge && len(body) <= 4096 {
				t.Fatalf("%T: %d bytes refused as too large", v, len(body))
			}
			for _, d := range e.Details {
				if d.Path == "" || d.Message == "" {
					t.Fatalf("%T: %q: empty detail %+v", v, body, d)
				}
			}
			if e.Message == "unknown field" && len(e.Details) == 1 {
				if m, ok := firstMisfit(body, reflect.TypeOf(v)); ok && !strings.HasSuffix(e.Details[0].Path, m.unknownKey) {
					t.Fatalf("%T: %q: detail %+v, misfit %+v", v, body, e.Details[0], m)
				}
			}
		}
	})
}

// The paths decode reports, for inputs whose paths encoding/json gets
// wrong or incomplete.
func TestDecodePaths(t *testing.T) {
	type inner struct {
		Title string `json:"title"`
		Count int    `json:"count,string"`
	}
	type embedded struct {
		Extra []inner `json:"extra"`
	}
	type outer struct {
		embedded
		Name   *string          `json:"name"`
		Items  []inner          `json:"items"`
		ByName map[string]inner `json:"byName"`
		Raw    any              `json:"raw"`
		Skip   string           `json:"-"`
	}
	for _, c := range []struct{ body, path, msg string }{
		{`{"items":[{"title":"a"},{"title":2}]}`, "items[1].title", "must be a string, not number"},
		{`{"items":[{"title":"a"},{"titel":"b"}]}`, "items[1].titel", "is not a field"},
		{`{"byName":{"k":{"title":true}}}`, "byName.k.title", "must be a string, not bool"},
		{`{"byName":{"k":{"nope":1}}}`, "byName.k.nope", "is not a field"},
		{`{"extra":[{"title":[]}]}`, "extra[0].title", "must be a string, not array"},
		{`{"raw":{"anything":[1]},"Skip":"x"}`, "Skip", "is not a field"},
		{`{"NAME":"ok","Items":[{"TITLE":"ok","count":"1"},{"Title":{}}]}`, "Items[1].Title", "must be a string, not object"},
		{`{"items":{}}`, "items", "must be an array, not object"},
		{`[1]`, "(body)", "must be an object, not array"},
	} {
		var v outer
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		err := decode(r, httptest.NewRecorder(), 1<<20, &v)
		var e *labelhub.Error
		if !errors.As(err, &e) || len(e.Details) != 1 || e.Details[0].Path != c.path || !strings.Contains(e.Details[0].Message, c.msg) {
			t.Errorf("%s: got %v, want %s: %s", c.body, err, c.path, c.msg)
		}
	}
	// A body that fits is decoded.
	var v outer
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"n","items":[{"title":"t","count":"3"}],"raw":[{}]}`))
	if err := decode(r, httptest.NewRecorder(), 1<<20, &v); err != nil || *v.Name != "n" || v.Items[0].Count != 3 {
		t.Errorf("decode = %v, %+v", err, v)
	}
}

// A deeply nested body with a misfit at the bottom is located in linear
// time: the path is built once, not at every level.
func TestDecodeDeepNestingIsCheap(t *testing.T) {
	const levels = 4900 // encoding/json allows 10000 nested { and [
	var b strings.Builder
	b.WriteString(`{"name":"deep","categorySchema":{"classifications":[`)
	for range levels {
		b.WriteString(`{"title":"q","tool":"text","classifications":[`)
	}
	b.WriteString(`{"title":5}`)
	for range levels {
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	body := b.String()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var v labelhub.ProjectInput
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	err := decode(r, httptest.NewRecorder(), 1<<20, &v)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	var e *labelhub.Error
	if !errors.As(err, &e) || len(e.Details) != 1 || !strings.HasSuffix(e.Details[0].Path, "].classifications[0].title") ||
		strings.Count(e.Details[0].Path, "classifications[0]") != levels+1 {
		t.Fatalf("deep misfit: %.200v", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d levels: %v, %d KB allocated", levels, took, alloc>>10)
	// Quadratic path building would allocate about 250 MB here.
	if alloc > 40<<20 {
		t.Errorf("locating a misfit %d levels deep allocates %d MB", levels, alloc>>20)
	}
}
