package labelhub

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const labelsCorpusDir = "testdata/labels"

// labelsIndex returns the index of testdata/labels/schema.json, which has
// every tool kind, every classification kind and both relation kinds.
func labelsIndex(t testing.TB) SchemaIndex {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(labelsCorpusDir, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return labelsSchemaIndex(t, string(src))
}

func labelsSchemaIndex(t testing.TB, src string) SchemaIndex {
	t.Helper()
	var s CategorySchema
	if err := json.Unmarshal([]byte(src), &s); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("schema: %v", errs)
	}
	return s.Index()
}

func labelsJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeLabelsT(t testing.TB, src string) Labels {
	t.Helper()
	l, err := DecodeLabels([]byte(src))
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, src)
	}
	return l
}

func TestLabelsSchemaCoversEveryKind(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(labelsCorpusDir, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s CategorySchema
	if err := json.Unmarshal(src, &s); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var classes func([]SchemaClassification)
	classes = func(list []SchemaClassification) {
		for _, c := range list {
			seen[c.Tool] = true
			classes(c.Classifications)
			for _, o := range c.Options {
				classes(o.Classifications)
			}
		}
	}
	for _, tl := range s.Tools {
		seen[tl.Tool] = true
		classes(tl.Classifications)
	}
	classes(s.Classifications)
	for _, r := range s.Relations {
		seen[r.Tool] = true
	}
	for _, k := range slices.Concat(ToolKinds, ClassificationKinds, RelationKinds) {
		if !seen[k] {
			t.Errorf("schema.json has no %s", k)
		}
	}
}

type labelsCase struct {
	name     string
	json     string        // labels (objects), or
	answer   string        // an answer (tools), or
	build    func() Labels // when JSON cannot say it
	lim      LabelLimits
	prefix   string
	wantPath string
	wantMsg  string
}

func TestLabelsValidateRules(t *testing.T) {
	box := `"bounding-box":{"x":1,"y":2,"width":3,"height":4}`
	car := func(extra string) string { return `{"schemaId":"car",` + box + extra + `}` }
	objs := func(list ...string) string { return `{"objects":[` + strings.Join(list, ",") + `]}` }
	cls := func(list ...string) string { return `{"classifications":[` + strings.Join(list, ",") + `]}` }
	two := car(`,"objectId":"o1"`) + "," + car(`,"objectId":"o2"`)
	rels := func(list ...string) string {
		return `{"objects":[` + two + `],"relations":[` + strings.Join(list, ",") + `]}`
	}
	long := strings.Repeat("x", MaxObjectIDLength+1)
	cases := []labelsCase{
		// Naming the schema entry.
		{name: "unknown tool schemaId", json: objs(`{"schemaId":"truck",` + box + `}`),
			wantPath: "objects[0].schemaId", wantMsg: `unknown schemaId "truck"`},
		{name: "unknown tool title", json: objs(`{"title":"Truck",` + box + `}`),
			wantPath: "objects[0].title", wantMsg: `no tool titled "Truck"`},
		{name: "title is case-sensitive", json: objs(`{"title":"car",` + box + `}`),
			wantPath: "objects[0].title", wantMsg: `no tool titled "car"`},
		{name: "no schemaId nor title", json: objs(`{` + box + `}`),
			wantPath: "objects[0]", wantMsg: "names no schemaId nor title"},
		{name: "a classification's schemaId for an object", json: objs(`{"schemaId":"tags",` + box + `}`),
			wantPath: "objects[0].schemaId", wantMsg: `schemaId "tags" is a classification, not a tool`},
		{name: "a nested classification's schemaId for an object", json: objs(`{"schemaId":"color",` + box + `}`),
			wantPath: "objects[0].schemaId", wantMsg: `schemaId "color" is a classification`},
		{name: "title that is not the schemaId's", json: objs(`{"schemaId":"car","title":"Road",` + box + `}`),
			wantPath: "objects[0].title", wantMsg: `is "Road", but schemaId "car" is the tool titled "Car"`},

		// Shapes.
		{name: "polygon for a bounding-box tool",
			json:     objs(car(""), car(""), car(""), `{"title":"Car","polygon":[[0,0],[1,0],[1,1]]}`),
			wantPath: "objects[3]", wantMsg: `the tool "Car" is a bounding-box; this object has a polygon`},
		{name: "bounding-box for a ner tool", json: objs(`{"schemaId":"person",` + box + `}`),
			wantPath: "objects[0]", wantMsg: `the tool "Person" is a ner; this object has a bounding-box`},
		{name: "no shape", json: objs(`{"schemaId":"car"}`),
			wantPath: "objects[0]", wantMsg: `has no shape: the tool "Car" is a bounding-box; give its "bounding-box"`},
		{name: "no shape and an unknown tool", json: objs(`{"schemaId":"nope"}`),
			wantPath: "objects[0].schemaId", wantMsg: "unknown schemaId"},
		{name: "null shape is no shape", json: objs(`{"schemaId":"car","bounding-box":null,"pdf":null}`),
			wantPath: "objects[0]", wantMsg: "has no shape"},
		{name: "two shapes", json: objs(car(`,"polygon":[[0,0],[1,0],[1,1]]`)),
			wantPath: "objects[0]", wantMsg: "has 2 shapes (bounding-box, polygon); an object has exactly one"},
		{name: "zero width", json: objs(`{"schemaId":"car","bounding-box":{"x":1,"y":2,"width":0,"height":4}}`),
			wantPath: "objects[0].bounding-box.width", wantMsg: "must be greater than 0"},
		{name: "negative height", json: objs(`{"schemaId":"car","bounding-box":{"x":1,"y":2,"width":3,"height":-4}}`),
			wantPath: "objects[0].bounding-box.height", wantMsg: "must be greater than 0"},
		{name: "missing box fields are zero", json: objs(`{"schemaId":"car","bounding-box":{"x":1}}`),
			wantPath: "objects[0].bounding-box.width", wantMsg: "is 0"},
		{name: "coordinate beyond the default limit", json: objs(`{"schemaId":"car","bounding-box":{"x":-1e7,"y":10000001,"width":3,"height":4}}`),
			wantPath: "objects[0].bounding-box.y", wantMsg: "is 1.0000001e+07; coordinates are at most 1e+07 in absolute value"},
		{name: "coordinate beyond a set limit", lim: LabelLimits{MaxCoordinate: 100},
			json:     objs(`{"schemaId":"car","bounding-box":{"x":1,"y":2,"width":101,"height":4}}`),
			wantPath: "objects[0].bounding-box.width", wantMsg: "at most 100"},
		{name: "NaN", build: func() Labels {
			return Labels{Objects: []Object{{SchemaID: "car", BoundingBox: &Box{X: math.NaN(), Y: 1, Width: 1, Height: 1}}}}
		}, wantPath: "objects[0].bounding-box.x", wantMsg: "is not a finite number"},
		{name: "infinite width", build: func() Labels {
			return Labels{Objects: []Object{{SchemaID: "car", BoundingBox: &Box{Width: math.Inf(1), Height: 1}}}}
		}, wantPath: "objects[0].bounding-box.width", wantMsg: "is not a finite number"},
		{name: "rotation beyond 360", json: objs(`{"schemaId":"plate","rotated-bounding-box":{"x":1,"y":2,"width":3,"height":4,"rotation":360.5}}`),
			wantPath: "objects[0].rotated-bounding-box.rotation", wantMsg: "from -360 to 360"},
		{name: "rotation below -360", json: objs(`{"schemaId":"plate","rotated-bounding-box":{"x":1,"y":2,"width":3,"height":4,"rotation":-361}}`),
			wantPath: "objects[0].rotated-bounding-box.rotation", wantMsg: "is -361"},
		{name: "rotated box without width", json: objs(`{"schemaId":"plate","rotated-bounding-box":{"x":1,"y":2,"height":4}}`),
			wantPath: "objects[0].rotated-bounding-box.width", wantMsg: "must be greater than 0"},
		{name: "polygon of 2 points", json: objs(`{"schemaId":"road","polygon":[[0,0],[1,1]]}`),
			wantPath: "objects[0].polygon", wantMsg: "has 2 points; a polygon needs at least 3"},
		{name: "empty polygon", json: objs(`{"schemaId":"road","polygon":[]}`),
			wantPath: "objects[0].polygon", wantMsg: "has 0 points"},
		{name: "polyline of 1 point", json: objs(`{"schemaId":"lane","polyline":[[0,0]]}`),
			wantPath: "objects[0].polyline", wantMsg: "a polyline needs at least 2"},
		{name: "polygon point out of range", json: objs(`{"schemaId":"road","polygon":[[0,0],[1,0],[1,2e7]]}`),
			wantPath: "objects[0].polygon[2][1]", wantMsg: "at most 1e+07"},
		{name: "polyline infinite point", build: func() Labels {
			return Labels{Objects: []Object{{SchemaID: "lane", Polyline: []Point{{0, 0}, {math.Inf(-1), 0}}}}}
		}, wantPath: "objects[0].polyline[1][0]", wantMsg: "is not a finite number"},
		{name: "polygon over the point limit", lim: LabelLimits{MaxPoints: 3},
			json:     objs(`{"schemaId":"road","polygon":[[0,0],[1,0],[1,1],[0,1]]}`),
			wantPath: "objects[0].polygon", wantMsg: "has 4 points; the limit is 3"},
		{name: "point out of range", json: objs(`{"schemaId":"keypoint","point":[-2e7,0]}`),
			wantPath: "objects[0].point[0]", wantMsg: "at most"},
		{name: "segmentation without zones", json: objs(`{"schemaId":"sky","segmentation":{"zones":[]}}`),
			wantPath: "objects[0].segmentation.zones", wantMsg: "has no zone"},
		{name: "segmentation of an empty object", json: objs(`{"schemaId":"sky","segmentation":{}}`),
			wantPath: "objects[0].segmentation.zones", wantMsg: "has no zone"},
		{name: "segmentation region of 2 points", json: objs(`{"schemaId":"sky","segmentation":{"zones":[{"region":[[0,0],[1,1]]}]}}`),
			wantPath: "objects[0].segmentation.zones[0].region", wantMsg: "a region needs at least 3"},
		{name: "segmentation hole of 2 points",
			json: objs(`{"schemaId":"sky","segmentation":{"zones":[{"region":[[0,0],[9,0],[9,9]]},
			        {"region":[[0,0],[9,0],[9,9]],"holes":[[[1,1],[2,1]]]}]}}`),
			wantPath: "objects[0].segmentation.zones[1].holes[0]", wantMsg: "a hole needs at least 3"},
		{name: "segmentation hole point out of range",
			json:     objs(`{"schemaId":"sky","segmentation":{"zones":[{"region":[[0,0],[9,0],[9,9]],"holes":[[[1,1],[2,1],[2,3e9]]]}]}}`),
			wantPath: "objects[0].segmentation.zones[0].holes[0][2][1]", wantMsg: "at most"},
		{name: "segmentation over the point limit counting holes", lim: LabelLimits{MaxPoints: 5},
			json:     objs(`{"schemaId":"sky","segmentation":{"zones":[{"region":[[0,0],[9,0],[9,9]],"holes":[[[1,1],[2,1],[2,2]]]}]}}`),
			wantPath: "objects[0].segmentation", wantMsg: "has 6 points in all its zones and holes; the limit is 5"},
		{name: "ner negative start", json: objs(`{"schemaId":"person","ner":{"start":-1,"end":4}}`),
			wantPath: "objects[0].ner.start", wantMsg: "starts at 0 or later"},
		{name: "ner empty span", json: objs(`{"schemaId":"person","ner":{"start":4,"end":4}}`),
			wantPath: "objects[0].ner.end", wantMsg: "ends after its start (4)"},
		{name: "pdf that is a list", json: objs(`{"schemaId":"highlight","pdf":[1,2]}`),
			wantPath: "objects[0].pdf", wantMsg: "must be a JSON object, not a list"},
		{name: "brush that is a string", json: objs(`{"schemaId":"paint","brush":"rle:1,2"}`),
			wantPath: "objects[0].brush", wantMsg: "must be a JSON object, not a string"},
		{name: "brush that is not JSON", build: func() Labels {
			return Labels{Objects: []Object{{SchemaID: "paint", Brush: json.RawMessage(`{"rle":`)}}}
		}, wantPath: "objects[0].brush", wantMsg: "must be a JSON object"},
		{name: "negative page", json: objs(car(`,"page":-1`)),
			wantPath: "objects[0].page", wantMsg: "pages count from 0"},
		{name: "page beyond the asset's pages", lim: LabelLimits{Pages: 3}, json: objs(car(`,"page":2`), car(`,"page":3`)),
			wantPath: "objects[1].page", wantMsg: "is 3, but the asset has 3 pages (0 to 2)"},
		{name: "too many objects", lim: LabelLimits{MaxObjects: 2}, json: objs(car(""), car(""), car("")),
			wantPath: "objects", wantMsg: "has 3 objects; the limit is 2"},

		// objectIds.
		{name: "objectId too long", json: objs(car(`,"objectId":"` + long + `"`)),
			wantPath: "objects[0].objectId", wantMsg: "is longer than 100 bytes"},
		{name: "objectId with a control character", json: objs(car(`,"objectId":"a\u0000b"`)),
			wantPath: "objects[0].objectId", wantMsg: "contains a control character"},
		{name: "objectId not UTF-8", build: func() Labels {
			return Labels{Objects: []Object{{ObjectID: "a\xffb", SchemaID: "car", BoundingBox: &Box{Width: 1, Height: 1}}}}
		}, wantPath: "objects[0].objectId", wantMsg: "is not valid UTF-8"},
		{name: "duplicate objectId of objects", json: objs(car(`,"objectId":"o1"`), car(""), car(`,"objectId":"o1"`)),
			wantPath: "objects[2].objectId", wantMsg: `duplicate objectId "o1" (also at objects[0])`},
		{name: "duplicate objectId of an object and its classification",
			json:     objs(car(`,"objectId":"o1","classifications":[{"schemaId":"color","objectId":"o1","answer":"Blue"}]`)),
			wantPath: "objects[0].classifications[0].objectId", wantMsg: `duplicate objectId "o1" (also at objects[0])`},
		{name: "duplicate objectId of nested classifications",
			json: objs(car(`,"classifications":[{"schemaId":"color","objectId":"c","answer":"Red",
			          "classifications":[{"schemaId":"shade","objectId":"c","answer":"dark"}]}]`)),
			wantPath: "objects[0].classifications[0].classifications[0].objectId", wantMsg: `(also at objects[0].classifications[0])`},
		{name: "duplicate objectId of a classification and a relation",
			json: `{"objects":[` + two + `],"classifications":[{"schemaId":"comment","objectId":"x","answer":""}],
			        "relations":[{"schemaId":"follows","objectId":"x","from":"o1","to":"o2"}]}`,
			wantPath: "relations[0].objectId", wantMsg: `duplicate objectId "x" (also at classifications[0])`},
		{name: "duplicate objectId of a top-level and a nested classification",
			json: `{"objects":[` + car(`,"classifications":[{"schemaId":"color","objectId":"x","answer":"Blue"}]`) + `],
			        "classifications":[{"schemaId":"comment","objectId":"x","answer":""}]}`,
			wantPath: "classifications[0].objectId", wantMsg: `(also at objects[0].classifications[0])`},

		// Classifications: naming.
		{name: "unknown classification title", json: cls(`{"title":"Mood","answer":"x"}`),
			wantPath: "classifications[0].title", wantMsg: `no classification titled "Mood"`},
		{name: "nested classification's schemaId at the top level", json: cls(`{"schemaId":"color","answer":"Red"}`),
			wantPath: "classifications[0].schemaId", wantMsg: `schemaId "color" is nested at tools[0].classifications[0]`},
		{name: "tool's schemaId for a classification", json: cls(`{"schemaId":"car","answer":"Red"}`),
			wantPath: "classifications[0].schemaId", wantMsg: `is a tool, not a classification`},
		{name: "top-level classification under a tool",
			json:     objs(car(`,"classifications":[{"schemaId":"tags","answer":["a"]}]`)),
			wantPath: "objects[0].classifications[0].schemaId", wantMsg: `schemaId "tags" is the classification at classifications[0], not a classification under the tool "Car"`},
		{name: "another tool's classification",
			json:     objs(car(`,"classifications":[{"schemaId":"role","answer":"author"}]`)),
			wantPath: "objects[0].classifications[0].schemaId", wantMsg: `is the classification at tools[7].classifications[0], not a classification under the tool "Car"`},
		{name: "unknown nested schemaId",
			json:     objs(car(`,"classifications":[{"schemaId":"size","answer":"big"}]`)),
			wantPath: "objects[0].classifications[0].schemaId", wantMsg: `unknown schemaId "size"`},
		{name: "unknown nested title",
			json:     objs(car(`,"classifications":[{"title":"Size","answer":"big"}]`)),
			wantPath: "objects[0].classifications[0].title", wantMsg: `no classification titled "Size" under the tool "Car"`},
		{name: "nested classification naming nothing",
			json:     objs(car(`,"classifications":[{"answer":"big"}]`)),
			wantPath: "objects[0].classifications[0]", wantMsg: "names no schemaId nor title"},
		{name: "nested title that is not the schemaId's",
			json:     objs(car(`,"classifications":[{"schemaId":"color","title":"Occluded","answer":"Red"}]`)),
			wantPath: "objects[0].classifications[0].title", wantMsg: `is "Occluded", but schemaId "color" is the classification titled "Color"`},
		{name: "classification answered twice", json: cls(`{"schemaId":"tags","answer":["a"]}`, `{"schemaId":"comment","answer":""}`, `{"title":"Tags","answer":["b"]}`),
			wantPath: "classifications[2]", wantMsg: `answers the classification "Tags" again (also at classifications[0])`},
		{name: "nested classification answered twice",
			json:     objs(car(`,"classifications":[{"schemaId":"color","answer":"Red"},{"title":"Color","answer":"Blue"}]`)),
			wantPath: "objects[0].classifications[1]", wantMsg: `answers the classification "Color" again (also at objects[0].classifications[0])`},
		{name: "nested under an option not chosen",
			json:     cls(`{"schemaId":"weather","answer":"Sunny","classifications":[{"schemaId":"intensity","answer":"light"}]}`),
			wantPath: "classifications[0].classifications[0].schemaId", wantMsg: `the classification "Intensity" belongs to the option "Rain" of the classification "Weather", which is not chosen`},
		{name: "nested by title under an option not chosen",
			json:     objs(car(`,"classifications":[{"schemaId":"color","answer":"Blue","classifications":[{"title":"Shade","answer":"dark"}]}]`)),
			wantPath: "objects[0].classifications[0].classifications[0].title", wantMsg: `belongs to the option "Red" of the classification "Color", which is not chosen`},
		{name: "nested under a tree node not chosen",
			json:     cls(`{"schemaId":"kind","answer":"Vehicle / Car","classifications":[{"schemaId":"seats","answer":"40"}]}`),
			wantPath: "classifications[0].classifications[0].schemaId", wantMsg: `belongs to the option "Vehicle / Bus" of the classification "Kind", which is not chosen`},
		{name: "ambiguous nested title",
			json:     cls(`{"schemaId":"quality","answer":"bad","classifications":[{"title":"Note","answer":"x"}]}`),
			wantPath: "classifications[0].classifications[0].title", wantMsg: `title "Note" is ambiguous under the classification "Quality": 2 classifications have it (classifications[7].classifications[0], classifications[7].options[1].classifications[0]); name the schemaId`},

		// Classifications: answers.
		{name: "radio answer not an option", json: cls(`{"schemaId":"weather","answer":"Snow"}`),
			wantPath: "classifications[0].answer", wantMsg: `"Snow" is not an option of the classification "Weather": use one of "Sunny", "Rain"`},
		{name: "radio answer is case-sensitive", json: cls(`{"schemaId":"weather","answer":"sunny"}`),
			wantPath: "classifications[0].answer", wantMsg: `"sunny" is not an option`},
		{name: "radio answer list", json: cls(`{"schemaId":"weather","answer":["Sunny"]}`),
			wantPath: "classifications[0].answer", wantMsg: `must be a string, one of the option values of the radio "Weather", not a list`},
		{name: "single-dropdown answer number", json: cls(`{"schemaId":"daytime","answer":1}`),
			wantPath: "classifications[0].answer", wantMsg: "not a number"},
		{name: "nested single-dropdown answer not an option",
			json:     objs(`{"schemaId":"person","ner":{"start":0,"end":3},"classifications":[{"title":"Role","answer":"editor"}]}`),
			wantPath: "objects[0].classifications[0].answer", wantMsg: `"editor" is not an option of the classification "Role"`},
		{name: "answer missing", json: cls(`{"schemaId":"comment"}`),
			wantPath: "classifications[0].answer", wantMsg: "is required: a string (text)"},
		{name: "answer null", json: cls(`{"schemaId":"tags","answer":null}`),
			wantPath: "classifications[0].answer", wantMsg: `is required: a list of option values of the checkbox "Tags"`},
		{name: "answer not UTF-8", build: func() Labels {
			return Labels{Classifications: []ClassificationAnswer{{SchemaID: "comment", Answer: json.RawMessage("\"a\xffb\"")}}}
		}, wantPath: "classifications[0].answer", wantMsg: "is not valid UTF-8"},
		{name: "answer not JSON", build: func() Labels {
			return Labels{Classifications: []ClassificationAnswer{{SchemaID: "comment", Answer: json.RawMessage(`"abc`)}}}
		}, wantPath: "classifications[0].answer", wantMsg: "must be a string (text), not a string"},
		{name: "checkbox answer string", json: cls(`{"schemaId":"tags","answer":"a"}`),
			wantPath: "classifications[0].answer", wantMsg: `must be a list of option values of the checkbox "Tags", not a string`},
		{name: "checkbox value not an option", json: cls(`{"schemaId":"tags","answer":["a","d"]}`),
			wantPath: "classifications[0].answer[1]", wantMsg: `"d" is not an option of the classification "Tags"`},
		{name: "checkbox list of numbers", json: cls(`{"schemaId":"tags","answer":["a",1]}`),
			wantPath: "classifications[0].answer", wantMsg: "must be a list of option values"},
		{name: "checkbox duplicate value", json: cls(`{"schemaId":"tags","answer":["b","a","b"]}`),
			wantPath: "classifications[0].answer[2]", wantMsg: `repeats "b" (also at [0]); the values of a checkbox answer are distinct`},
		{name: "checkbox duplicate value by escape", json: cls(`{"schemaId":"tags","answer":["a","\u0061"]}`),
			wantPath: "classifications[0].answer[1]", wantMsg: `repeats "a"`},
		{name: "nested checkbox value not an option",
			json:     objs(car(`,"classifications":[{"schemaId":"occluded","answer":["left"]}]`)),
			wantPath: "objects[0].classifications[0].answer[0]", wantMsg: `"left" is not an option of the classification "Occluded"`},
		{name: "multi-dropdown duplicate", json: cls(`{"schemaId":"present","answer":["cars","cars"]}`),
			wantPath: "classifications[0].answer[1]", wantMsg: "the values of a multi-dropdown answer are distinct"},
		{name: "rank duplicate", json: cls(`{"schemaId":"priority","answer":["high","low","high"]}`),
			wantPath: "classifications[0].answer[2]", wantMsg: "the values of a rank answer are distinct"},
		{name: "rank value not an option", json: cls(`{"schemaId":"priority","answer":["urgent"]}`),
			wantPath: "classifications[0].answer[0]", wantMsg: `"urgent" is not an option of the classification "Priority"`},
		{name: "rank answer object", json: cls(`{"schemaId":"priority","answer":{"high":1}}`),
			wantPath: "classifications[0].answer", wantMsg: "not an object"},
		{name: "text too long", lim: LabelLimits{MaxText: 5}, json: cls(`{"schemaId":"comment","answer":"abcdef"}`),
			wantPath: "classifications[0].answer", wantMsg: "is 6 bytes long; the limit is 5"},
		{name: "text too long in bytes", lim: LabelLimits{MaxText: 5}, json: cls(`{"schemaId":"comment","answer":"ééé"}`),
			wantPath: "classifications[0].answer", wantMsg: "is 6 bytes long"},
		{name: "text number", json: cls(`{"schemaId":"comment","answer":12}`),
			wantPath: "classifications[0].answer", wantMsg: "must be a string (text), not a number"},
		{name: "tree path with an unknown child", json: cls(`{"schemaId":"kind","answer":"Vehicle / Train"}`),
			wantPath: "classifications[0].answer", wantMsg: `"Vehicle / Train" is not in the option tree of "Kind": "Vehicle" has no child "Train" (use one of "Car", "Bus")`},
		{name: "tree path with an unknown root", json: cls(`{"schemaId":"kind","answer":"Plant / Tree"}`),
			wantPath: "classifications[0].answer", wantMsg: `its first value "Plant" is not a top-level option (use one of "Vehicle", "Animal")`},
		{name: "tree path below a leaf", json: cls(`{"schemaId":"kind","answer":"Vehicle / Car / Red"}`),
			wantPath: "classifications[0].answer", wantMsg: `"Vehicle / Car" has no children`},
		{name: "tree path of a leaf alone", json: cls(`{"schemaId":"kind","answer":"Car"}`),
			wantPath: "classifications[0].answer", wantMsg: `its first value "Car" is not a top-level option`},
		{name: "tree path without spaces", json: cls(`{"schemaId":"kind","answer":"Vehicle/Car"}`),
			wantPath: "classifications[0].answer", wantMsg: `"Vehicle/Car" is not a top-level option`},
		{name: "tree path with a trailing separator", json: cls(`{"schemaId":"kind","answer":"Vehicle / "}`),
			wantPath: "classifications[0].answer", wantMsg: `"Vehicle" has no child ""`},
		{name: "tree path empty", json: cls(`{"schemaId":"kind","answer":""}`),
			wantPath: "classifications[0].answer", wantMsg: `its first value "" is not a top-level option`},
		{name: "tree path list", json: cls(`{"schemaId":"kind","answer":["Vehicle","Car"]}`),
			wantPath: "classifications[0].answer", wantMsg: "must be a string, the path of an option of the tree-dropdown"},
		{name: "tool that is not the kind", json: cls(`{"schemaId":"tags","tool":"radio","answer":["a"]}`),
			wantPath: "classifications[0].tool", wantMsg: `is "radio", but the classification "Tags" is a checkbox`},
		{name: "nested answer wrong under a tool and an option (formats path)",
			json: objs(car(""), car(`,"classifications":[{"schemaId":"color","answer":"Red",
			          "classifications":[{"schemaId":"shade","answer":["dark"]}]}]`)),
			wantPath: "objects[1].classifications[0].classifications[0].answer", wantMsg: "must be a string (text), not a list"},

		// Relations.
		{name: "relation from an unknown object", json: rels(`{"schemaId":"follows","from":"o9","to":"o2"}`),
			wantPath: "relations[0].from", wantMsg: `no object of this answer has the objectId "o9"`},
		{name: "relation without to", json: rels(`{"schemaId":"follows","from":"o1"}`),
			wantPath: "relations[0].to", wantMsg: "is required"},
		{name: "relation to itself", json: rels(`{"schemaId":"follows","from":"o1","to":"o1"}`),
			wantPath: "relations[0].to", wantMsg: "is the same object as from"},
		{name: "relation from a classification",
			json: `{"objects":[` + two + `],"classifications":[{"schemaId":"comment","objectId":"c1","answer":""}],
			        "relations":[{"schemaId":"follows","from":"c1","to":"o2"}]}`,
			wantPath: "relations[0].from", wantMsg: `objectId "c1" is a classification answer (at classifications[0]), not an object`},
		{name: "relation to a relation",
			json:     rels(`{"schemaId":"follows","objectId":"r1","from":"o1","to":"o2"}`, `{"schemaId":"follows","from":"o1","to":"r1"}`),
			wantPath: "relations[1].to", wantMsg: `objectId "r1" is a relation (at relations[0]), not an object`},
		{name: "relation to a nested classification",
			json:     `{"objects":[` + car(`,"objectId":"o1","classifications":[{"schemaId":"color","objectId":"c","answer":"Red"}]`) + `],"relations":[{"schemaId":"follows","from":"o1","to":"c"}]}`,
			wantPath: "relations[0].to", wantMsg: "is a classification answer (at objects[0].classifications[0])"},
		{name: "relation direction unknown", json: rels(`{"schemaId":"follows","from":"o1","to":"o2","direction":"forward"}`),
			wantPath: "relations[0].direction", wantMsg: `is "forward"; use one of straight, reverse, bidirectional, none`},
		{name: "group for a single relation", json: rels(`{"schemaId":"follows","group":["o1","o2"]}`),
			wantPath: "relations[0].group", wantMsg: `the relation "Follows" is single: it links from and to, not a group`},
		{name: "from for a group relation", json: rels(`{"schemaId":"members","from":"o1","to":"o2"}`),
			wantPath: "relations[0].from", wantMsg: `the relation "Members" is a group: list its objects in group, not from and to`},
		{name: "to for a group relation", json: rels(`{"schemaId":"members","to":"o2","group":["o1","o2"]}`),
			wantPath: "relations[0].to", wantMsg: "is a group"},
		{name: "direction for a group relation", json: rels(`{"schemaId":"members","group":["o1","o2"],"direction":"none"}`),
			wantPath: "relations[0].direction", wantMsg: "it has no direction"},
		{name: "group of one", json: rels(`{"schemaId":"members","group":["o1"]}`),
			wantPath: "relations[0].group", wantMsg: "has 1 objects; a group relation needs at least 2"},
		{name: "group relation without group", json: rels(`{"title":"Members"}`),
			wantPath: "relations[0].group", wantMsg: "has 0 objects"},
		{name: "group repeating an object", json: rels(`{"schemaId":"members","group":["o1","o2","o1"]}`),
			wantPath: "relations[0].group[2]", wantMsg: `repeats the object "o1"`},
		{name: "group with an unknown object", json: rels(`{"schemaId":"members","group":["o1","o3"]}`),
			wantPath: "relations[0].group[1]", wantMsg: `no object of this answer has the objectId "o3"`},
		{name: "group with an empty objectId", json: rels(`{"schemaId":"members","group":["o1",""]}`),
			wantPath: "relations[0].group[1]", wantMsg: "is required"},
		{name: "unknown relation", json: rels(`{"schemaId":"precedes","from":"o1","to":"o2"}`),
			wantPath: "relations[0].schemaId", wantMsg: `unknown schemaId "precedes"`},
		{name: "relation by a tool's title", json: rels(`{"title":"Car","from":"o1","to":"o2"}`),
			wantPath: "relations[0].title", wantMsg: `no relation titled "Car"`},
		{name: "relation by a classification's schemaId", json: rels(`{"schemaId":"tags","from":"o1","to":"o2"}`),
			wantPath: "relations[0].schemaId", wantMsg: "is a classification, not a relation"},
		{name: "too many relations", lim: LabelLimits{MaxRelations: 1},
			json:     rels(`{"schemaId":"follows","from":"o1","to":"o2"}`, `{"schemaId":"follows","from":"o2","to":"o1"}`),
			wantPath: "relations", wantMsg: "has 2 relations; the limit is 1"},

		// Answers and prefixes.
		{name: "answer paths name tools", answer: `{"tools":[{"schemaId":"road","polygon":[[0,0],[1,1]]}]}`,
			wantPath: "tools[0].polygon", wantMsg: "needs at least 3"},
		{name: "prefixed path", prefix: "[12].preLabels",
			json:     objs(car(""), car(""), `{"schemaId":"road","polygon":[[0,0],[1,1]]}`),
			wantPath: "[12].preLabels.objects[2].polygon", wantMsg: "needs at least 3"},
		{name: "prefixed answer path", prefix: "answer", answer: `{"relations":[{"schemaId":"follows","from":"a","to":"b"}]}`,
			wantPath: "answer.relations[0].from", wantMsg: `no object of this answer has the objectId "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx := labelsIndex(t)
			var errs []FieldError
			var before, after string
			switch {
			case c.answer != "":
				a, err := DecodeAnswer([]byte(c.answer))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				before = labelsJSON(t, a)
				errs = a.Validate(idx, c.lim, c.prefix)
				after = labelsJSON(t, a)
			default:
				var l Labels
				if c.build != nil {
					l = c.build()
				} else {
					l = decodeLabelsT(t, c.json)
				}
				before = jsonOrErr(l)
				errs = l.Validate(idx, c.lim, c.prefix)
				after = jsonOrErr(l)
			}
			if len(errs) == 0 {
				t.Fatalf("no problems; want %s: %s", c.wantPath, c.wantMsg)
			}
			if errs[0].Path != c.wantPath || !strings.Contains(errs[0].Message, c.wantMsg) {
				t.Errorf("first problem = %s: %s\nwant        %s: …%s…\nall: %v", errs[0].Path, errs[0].Message, c.wantPath, c.wantMsg, errs)
			}
			if after != before {
				t.Errorf("invalid labels were changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// jsonOrErr marshals v, or describes it when it cannot be marshalled (NaN).
func jsonOrErr(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func TestLabelsValidateAmbiguousTitle(t *testing.T) {
	// A validated schema has unique top-level titles; an unvalidated one may not.
	s := CategorySchema{Tools: []SchemaTool{
		{SchemaID: "a", Title: "Car", Tool: "bounding-box"},
		{SchemaID: "b", Title: "Car", Tool: "polygon"},
	}}
	l := decodeLabelsT(t, `{"objects":[{"title":"Car","polygon":[[0,0],[1,0],[1,1]]}]}`)
	errs := l.Validate(s.Index(), LabelLimits{}, "")
	if len(errs) != 1 || errs[0].Path != "objects[0].title" || !strings.Contains(errs[0].Message, `title "Car" is ambiguous: 2 tools have it (tools[0], tools[1]); name the schemaId`) {
		t.Errorf("problems: %v", errs)
	}
	l.Objects[0].SchemaID = "b"
	if errs := l.Validate(s.Index(), LabelLimits{}, ""); len(errs) > 0 {
		t.Errorf("a schemaId should settle it: %v", errs)
	}
}

func TestLabelsValidateReportsInDocumentOrder(t *testing.T) {
	l := decodeLabelsT(t, `{
	  "objects": [
	    {"objectId": "o1", "schemaId": "car", "page": -1, "bounding-box": {"x": 0, "y": 0, "width": 0, "height": 1},
	     "classifications": [{"schemaId": "color", "tool": "text", "answer": "Green"}]},
	    {"objectId": "o1", "title": "Road", "polygon": [[0, 0]]},
	    {"schemaId": "nope"}
	  ],
	  "classifications": [
	    {"schemaId": "tags", "answer": ["a", "z"]},
	    {"schemaId": "kind", "answer": "Animal / Cat"}
	  ],
	  "relations": [
	    {"schemaId": "follows", "from": "o1", "to": "o9", "direction": "up"},
	    {"schemaId": "members", "group": ["o1"]}
	  ]
	}`)
	var got []string
	for _, e := range l.Validate(labelsIndex(t), LabelLimits{}, "") {
		got = append(got, e.Path)
	}
	want := []string{
		"objects[0].page",
		"objects[0].bounding-box.width",
		"objects[0].classifications[0].tool",
		"objects[0].classifications[0].answer",
		"objects[1].objectId",
		"objects[1].polygon",
		"objects[2].schemaId",
		"objects[2]", // no shape either
		"classifications[0].answer[1]",
		"classifications[1].answer",
		"relations[0].to",
		"relations[0].direction",
		"relations[1].group",
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths\n got %q\nwant %q", got, want)
	}
}

func TestLabelsValidateStopsAfterManyProblems(t *testing.T) {
	var l Labels
	for range MaxLabelProblems + 50 {
		l.Objects = append(l.Objects, Object{SchemaID: "car"})
	}
	errs := l.Validate(labelsIndex(t), LabelLimits{}, "")
	if len(errs) != MaxLabelProblems+1 {
		t.Fatalf("%d problems", len(errs))
	}
	if last := errs[len(errs)-1]; !strings.Contains(last.Message, "validation stopped after 1000") {
		t.Errorf("last problem: %v", last)
	}
}

// formatsTask is the task part of the example of formats.md §3, with the
// object "o5" that its relation points to (the example leaves it out).
const formatsTask = `{
    "tools": [{"bounding-box": {"x": 10, "y": 20, "width": 50, "height": 40},
               "objectId": "o1", "schemaId": "s1", "title": "Car", "page": 0,
               "classifications": [{"tool": "radio", "schemaId": "s2",
                 "objectId": "o2", "title": "Color", "answer": "Red",
                 "classifications": []}]},
              {"bounding-box": {"x": 70, "y": 20, "width": 50, "height": 40},
               "objectId": "o5", "schemaId": "s1", "title": "Car", "page": 0}],
    "classifications": [{"tool": "checkbox", "schemaId": "s3", "objectId": "o3",
                         "title": "Tags", "answer": ["a", "b"]}],
    "relations": [{"objectId": "r1", "schemaId": "s4", "title": "link",
                   "from": "o1", "to": "o5", "direction": "straight"}]
}`

const formatsTaskSchema = `{
  "tools": [{"schemaId": "s1", "title": "Car", "tool": "bounding-box",
             "classifications": [{"schemaId": "s2", "title": "Color", "tool": "radio",
                                  "options": [{"value": "Red"}, {"value": "Blue"}]}]}],
  "classifications": [{"schemaId": "s3", "title": "Tags", "tool": "checkbox",
                       "options": [{"value": "a"}, {"value": "b"}]}],
  "relations": [{"schemaId": "s4", "title": "link", "tool": "single"}]
}`

func TestLabelsValidateFormatsExample(t *testing.T) {
	idx := labelsSchemaIndex(t, formatsTaskSchema)
	a, err := DecodeAnswer([]byte(formatsTask))
	if err != nil {
		t.Fatal(err)
	}
	before := labelsJSON(t, a)
	if errs := a.Validate(idx, LabelLimits{Pages: 1}, ""); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	if after := labelsJSON(t, a); after != before {
		t.Errorf("a complete answer was changed:\n%s\n%s", before, after)
	}
	// The same as labels (objects) validates the same.
	l := a.Labels()
	if errs := l.Validate(idx, LabelLimits{}, ""); len(errs) > 0 {
		t.Fatalf("as labels: %v", errs)
	}
	if got := labelsJSON(t, l.Answer()); got != before {
		t.Errorf("round trip through Labels: %s", got)
	}
}

func TestLabelsValidateNormalises(t *testing.T) {
	idx := labelsIndex(t)
	// Every §2 shape, named by title only, without objectIds.
	l := decodeLabelsT(t, `{
	  "objects": [
	    {"title": "Car", "bounding-box": {"x": -5, "y": 0, "width": 10, "height": 1e7},
	     "classifications": [{"title": "Color", "answer": "Red", "classifications": [{"title": "Shade", "answer": "dark"}]},
	                         {"title": "Occluded", "answer": []}]},
	    {"title": "Plate", "rotated-bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": -360}},
	    {"title": "Road", "polygon": [[0, 0], [10, 0], [10, 10]], "page": 2},
	    {"title": "Lane", "polyline": [[0, 0], [1e7, -1e7]]},
	    {"title": "Keypoint", "point": [3.5, 4.25]},
	    {"title": "Sky", "segmentation": {"zones": [{"region": [[0, 0], [9, 0], [9, 9]], "holes": [[[1, 1], [2, 1], [2, 2]]]}]}},
	    {"title": "Paint", "brush": {"rle": [1, 2, 3]}},
	    {"title": "Person", "ner": {"start": 0, "end": 5}, "classifications": [{"title": "Role", "answer": "author"}]},
	    {"title": "Highlight", "pdf": {"rects": [[1, 2, 3, 4]]}, "brush": null},
	    {"objectId": "given", "schemaId": "car", "bounding-box": {"x": 0, "y": 0, "width": 1, "height": 1}}
	  ],
	  "classifications": [
	    {"title": "Tags", "answer": ["c", "a"]},
	    {"title": "Weather", "answer": "Rain", "classifications": [{"title": "Intensity", "answer": "heavy"}]},
	    {"title": "Present", "answer": []},
	    {"title": "Comment", "answer": ""},
	    {"title": "Kind", "answer": "Vehicle / Bus", "classifications": [{"title": "Seats", "answer": "40"}]},
	    {"title": "Priority", "answer": ["high", "low"]},
	    {"title": "Daytime", "answer": "\u006eight"},
	    {"title": "Quality", "answer": "bad", "classifications": [{"schemaId": "note", "answer": "x"}, {"schemaId": "bad-note", "answer": "y"}]}
	  ],
	  "relations": [
	    {"title": "Follows", "from": "given", "to": "given2"},
	    {"title": "Members", "group": ["given", "given2"]}
	  ]
	}`)
	l.Objects[9].ObjectID = "given"
	l.Objects = append(l.Objects, Object{ObjectID: "given2", Title: "Keypoint", Point: &Point{0, 0}})
	if errs := l.Validate(idx, LabelLimits{Pages: 3}, ""); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	wantObjects := []struct{ schemaID, title string }{
		{"car", "Car"}, {"plate", "Plate"}, {"road", "Road"}, {"lane", "Lane"}, {"keypoint", "Keypoint"},
		{"sky", "Sky"}, {"paint", "Paint"}, {"person", "Person"}, {"highlight", "Highlight"}, {"car", "Car"}, {"keypoint", "Keypoint"},
	}
	ids := map[string]bool{}
	checkID := func(what, id string, generated bool) {
		if generated && (len(id) != 26 || !ValidID(id)) {
			t.Errorf("%s: objectId %q was not generated", what, id)
		}
		if ids[id] {
			t.Errorf("%s: objectId %q twice", what, id)
		}
		ids[id] = true
	}
	for i, o := range l.Objects {
		w := wantObjects[i]
		if o.SchemaID != w.schemaID || o.Title != w.title {
			t.Errorf("objects[%d]: schemaId %q title %q; want %q %q", i, o.SchemaID, o.Title, w.schemaID, w.title)
		}
		checkID(fmt.Sprintf("objects[%d]", i), o.ObjectID, i < 9)
	}
	if l.Objects[9].ObjectID != "given" || l.Objects[10].ObjectID != "given2" {
		t.Errorf("given objectIds were replaced")
	}
	if l.Objects[8].Brush != nil {
		t.Errorf("a null brush was kept: %s", l.Objects[8].Brush)
	}
	var walk func(path string, list []ClassificationAnswer)
	walk = func(path string, list []ClassificationAnswer) {
		for i, c := range list {
			p := fmt.Sprintf("%s[%d]", path, i)
			e, ok := idx.ByID(c.SchemaID)
			if !ok || e.Title != c.Title || e.Kind != c.Tool {
				t.Errorf("%s: schemaId %q title %q tool %q not filled in", p, c.SchemaID, c.Title, c.Tool)
			}
			checkID(p, c.ObjectID, true)
			walk(p+".classifications", c.Classifications)
		}
	}
	for i, o := range l.Objects {
		walk(fmt.Sprintf("objects[%d].classifications", i), o.Classifications)
	}
	walk("classifications", l.Classifications)
	if got := string(l.Classifications[6].Answer); got != `"\u006eight"` {
		t.Errorf("the answer was rewritten: %s", got)
	}
	for i, r := range l.Relations {
		checkID(fmt.Sprintf("relations[%d]", i), r.ObjectID, true)
	}
	if r := l.Relations[0]; r.SchemaID != "follows" || r.Direction != "straight" {
		t.Errorf("relation 0: %+v", r)
	}
	if r := l.Relations[1]; r.SchemaID != "members" || r.Title != "Members" || r.Direction != "" {
		t.Errorf("relation 1: %+v", r)
	}

	// Validating again changes nothing.
	first := labelsJSON(t, l)
	if errs := l.Validate(idx, LabelLimits{Pages: 3}, ""); len(errs) > 0 {
		t.Fatalf("second validation: %v", errs)
	}
	if again := labelsJSON(t, l); again != first {
		t.Errorf("second validation changed the labels:\n%s\n%s", first, again)
	}
}

func TestLabelsValidateAccepts(t *testing.T) {
	cases := []struct {
		name string
		json string
		lim  LabelLimits
		want string // the normalised JSON, when set
	}{
		{name: "empty", json: `{}`, want: `{"objects":[],"classifications":[],"relations":[]}`},
		{name: "null lists", json: `{"objects":null,"classifications":null,"relations":null}`, want: `{"objects":[],"classifications":[],"relations":[]}`},
		{name: "tree inner node", json: `{"classifications":[{"schemaId":"kind","answer":"Vehicle"}]}`,
			want: `{"objects":[],"classifications":[{"tool":"tree-dropdown","schemaId":"kind","objectId":"*","title":"Kind","answer":"Vehicle"}],"relations":[]}`},
		{name: "tree leaf", json: `{"classifications":[{"schemaId":"kind","answer":"Animal / Dog"}]}`},
		{name: "nested under an inner tree node's descendant", json: `{"classifications":[{"schemaId":"kind","answer":"Vehicle / Bus","classifications":[{"title":"Seats","answer":""}]}]}`},
		{name: "unambiguous nested title when the option is not chosen",
			json: `{"classifications":[{"schemaId":"quality","answer":"good","classifications":[{"title":"Note","answer":"x"}]}]}`},
		{name: "every direction", json: `{"objects":[{"objectId":"a","schemaId":"keypoint","point":[0,0]},{"objectId":"b","schemaId":"keypoint","point":[0,0]}],
			"relations":[{"schemaId":"follows","from":"a","to":"b","direction":"straight"},{"schemaId":"follows","from":"a","to":"b","direction":"reverse"},
			             {"schemaId":"follows","from":"b","to":"a","direction":"bidirectional"},{"schemaId":"follows","from":"a","to":"b","direction":"none"}]}`},
		{name: "escaped answers", json: `{"classifications":[{"schemaId":"tags","answer":["\u0061", "b"]},{"schemaId":"weather","answer":"Sunn\u0079"}]}`},
		{name: "text at its limit", lim: LabelLimits{MaxText: 4}, json: `{"classifications":[{"schemaId":"comment","answer":"ab\"c"}]}`},
		{name: "coordinates at their limit", lim: LabelLimits{MaxCoordinate: 10},
			json: `{"objects":[{"schemaId":"car","bounding-box":{"x":-10,"y":10,"width":10,"height":0.001}}]}`},
		{name: "points at their limit", lim: LabelLimits{MaxPoints: 3},
			json: `{"objects":[{"schemaId":"sky","segmentation":{"zones":[{"region":[[0,0],[9,0],[9,9]],"holes":[]}]}}]}`},
		{name: "objects at their limit", lim: LabelLimits{MaxObjects: 2},
			json: `{"objects":[{"schemaId":"keypoint","point":[0,0]},{"schemaId":"keypoint","point":[0,0]}]}`},
		{name: "page without known pages", json: `{"objects":[{"schemaId":"keypoint","point":[0,0],"page":500}]}`},
		{name: "objectId of 100 bytes", json: `{"objects":[{"objectId":"` + strings.Repeat("é", 50) + `","schemaId":"keypoint","point":[0,0]}]}`},
		{name: "metadata is kept", json: `{"objects":[{"schemaId":"keypoint","point":[0,0],"createdAt":"2026-01-02T03:04:05Z","createdBy":"a@example.com","updatedIn":"Review"}]}`},
	}
	idx := labelsIndex(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := decodeLabelsT(t, c.json)
			if errs := l.Validate(idx, c.lim, ""); len(errs) > 0 {
				t.Fatalf("problems: %v", errs)
			}
			got := labelsJSON(t, l)
			if c.want != "" {
				// Generated objectIds are compared as "*".
				var masked strings.Builder
				rest := got
				for {
					i := strings.Index(rest, `"objectId":"`)
					if i < 0 {
						masked.WriteString(rest)
						break
					}
					i += len(`"objectId":"`)
					masked.WriteString(rest[:i] + "*")
					rest = rest[i:]
					rest = rest[strings.IndexByte(rest, '"'):]
				}
				if masked.String() != c.want {
					t.Errorf("normalised to %s\nwant %s", masked.String(), c.want)
				}
			}
			if errs := l.Validate(idx, c.lim, ""); len(errs) > 0 {
				t.Fatalf("second validation: %v", errs)
			}
			if again := labelsJSON(t, l); again != got {
				t.Errorf("second validation changed the labels:\n%s\n%s", got, again)
			}
		})
	}
}

func TestLabelEntryValidate(t *testing.T) {
	idx := labelsIndex(t)
	e, err := DecodeLabelEntry([]byte(`{"externalId":"","objects":[{"title":"Keypoint","point":[1,2]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	errs := e.Validate(idx, LabelLimits{}, "[4]")
	if len(errs) != 1 || errs[0].Path != "[4].externalId" || !strings.Contains(errs[0].Message, "is required") {
		t.Fatalf("problems: %v", errs)
	}
	if e.Objects[0].SchemaID != "" || e.Objects[0].ObjectID != "" || e.Relations != nil {
		t.Errorf("an invalid entry was normalised: %s", labelsJSON(t, e))
	}
	e.ExternalID = "img.jpg"
	e.Objects[0].Point = &Point{1, 2e9}
	errs = e.Validate(idx, LabelLimits{}, "[4]")
	if len(errs) != 1 || errs[0].Path != "[4].objects[0].point[1]" {
		t.Fatalf("problems: %v", errs)
	}
	e.Objects[0].Point = &Point{1, 2}
	if errs := e.Validate(idx, LabelLimits{}, "[4]"); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	if e.Objects[0].SchemaID != "keypoint" || e.Objects[0].ObjectID == "" {
		t.Errorf("not normalised: %s", labelsJSON(t, e))
	}
	if got := labelsJSON(t, e); !strings.HasPrefix(got, `{"externalId":"img.jpg","objects":[{"objectId":"`) {
		t.Errorf("the entry does not flatten its labels: %s", got)
	}
	for _, bad := range []string{" \t", "a\xffb"} {
		e.ExternalID = bad
		if errs := e.Validate(idx, LabelLimits{}, ""); len(errs) != 1 || errs[0].Path != "externalId" {
			t.Errorf("externalId %q: %v", bad, errs)
		}
	}
}

func TestLabelsValidateGeneratesUniqueIDs(t *testing.T) {
	var l Labels
	for range 500 {
		l.Objects = append(l.Objects, Object{Title: "Keypoint", Point: &Point{1, 1}})
	}
	if errs := l.Validate(labelsIndex(t), LabelLimits{}, ""); len(errs) > 0 {
		t.Fatal(errs)
	}
	seen := map[string]bool{}
	for _, o := range l.Objects {
		if seen[o.ObjectID] || !ValidID(o.ObjectID) {
			t.Fatalf("objectId %q", o.ObjectID)
		}
		seen[o.ObjectID] = true
	}
}

func TestDecodeLabelsErrors(t *testing.T) {
	cases := []struct {
		name, src        string
		answer, entry    bool
		wantPath, wanted string
	}{
		{name: "unknown field", src: `{"objects":[{"schemaId":"car","bbox":{"x":1}}]}`,
			wantPath: "objects[0].bbox", wanted: "is not a field of an object; its fields are objectId, schemaId, title, page, bounding-box,"},
		{name: "unknown top-level field", src: `{"objects":[],"tools":[]}`,
			wantPath: "tools", wanted: "is not a field of labels; its fields are objects, classifications, relations"},
		{name: "objects in an answer", answer: true, src: `{"objects":[]}`,
			wantPath: "objects", wanted: "is not a field of an answer; its fields are tools, classifications, relations"},
		{name: "unknown field of a box", src: `{"objects":[{"bounding-box":{"x":1,"w":2}}]}`,
			wantPath: "objects[0].bounding-box.w", wanted: "is not a field of a bounding box {x, y, width, height}"},
		{name: "unknown field of a nested classification",
			src:      `{"objects":[{"classifications":[{"classifications":[{"answers":"x"}]}]}]}`,
			wantPath: "objects[0].classifications[0].classifications[0].answers", wanted: "is not a field of a classification answer"},
		{name: "unknown field of a relation", src: `{"relations":[{"source":"a"}]}`,
			wantPath: "relations[0].source", wanted: "is not a field of a relation"},
		{name: "empty key", src: `{"objects":[{"":1}]}`,
			wantPath: `objects[0].""`, wanted: "is not a field of an object"},
		{name: "huge exponent in a box", src: `{"objects":[{"bounding-box":{"x":1e999,"y":0}}]}`,
			wantPath: "objects[0].bounding-box.x", wanted: "the number 1e999 is out of range"},
		{name: "huge exponent in a polygon", src: `{"objects":[{"polygon":[[0,0],[-1e400,1],[1,1]]}]}`,
			wantPath: "objects[0].polygon[1][0]", wanted: "the number -1e400 is out of range"},
		{name: "huge exponent in a point", src: `{"objects":[{"point":[0,1E999]}]}`,
			wantPath: "objects[0].point[1]", wanted: "out of range"},
		{name: "huge exponent in a hole", src: `{"objects":[{"segmentation":{"zones":[{"region":[],"holes":[[[1,1e999]]]}]}}]}`,
			wantPath: "objects[0].segmentation.zones[0].holes[0][0][1]", wanted: "out of range"},
		{name: "point of three numbers", src: `{"objects":[{"point":[1,2,3]}]}`,
			wantPath: "objects[0].point[2]", wanted: "is one number too many: a point is [x, y]"},
		{name: "point of one number", src: `{"objects":[{"point":[1]}]}`,
			wantPath: "objects[0].point", wanted: "has 1 numbers; a point is [x, y]"},
		{name: "point of strings", src: `{"objects":[{"polyline":[[0,0],["1","2"]]}]}`,
			wantPath: "objects[0].polyline[1][0]", wanted: "must be a number, not a string"},
		{name: "point as an object", src: `{"objects":[{"point":{"x":1,"y":2}}]}`,
			wantPath: "objects[0].point", wanted: "must be a point [x, y], not an object"},
		{name: "null point in a polygon", src: `{"objects":[{"polygon":[[0,0],null,[1,1]]}]}`,
			wantPath: "objects[0].polygon[1]", wanted: "must be a point [x, y], not null"},
		{name: "fractional page", src: `{"objects":[{"page":1.5}]}`,
			wantPath: "objects[0].page", wanted: "must be a whole number, not 1.5"},
		{name: "huge page", src: `{"objects":[{"page":99999999999999999999}]}`,
			wantPath: "objects[0].page", wanted: "the number 99999999999999999999 is out of range"},
		{name: "ner start as a string", src: `{"objects":[{"ner":{"start":"0","end":1}}]}`,
			wantPath: "objects[0].ner.start", wanted: "must be a whole number, not a string"},
		{name: "string for a coordinate", src: `{"objects":[{"bounding-box":{"x":"1"}}]}`,
			wantPath: "objects[0].bounding-box.x", wanted: "must be a number, not a string"},
		{name: "objects as an object", src: `{"objects":{"a":1}}`,
			wantPath: "objects", wanted: "must be a list of objects, not an object"},
		{name: "schemaId as a number", src: `{"objects":[{"schemaId":7}]}`,
			wantPath: "objects[0].schemaId", wanted: "must be a string, not a number"},
		{name: "group of numbers", src: `{"relations":[{"group":["a",2]}]}`,
			wantPath: "relations[0].group[1]", wanted: "must be a string, not a number"},
		{name: "bad time", src: `{"classifications":[{"createdAt":"yesterday"}]}`,
			wantPath: "classifications[0].createdAt", wanted: `must be a time in RFC 3339 format (2026-11-22T12:00:00Z), not "yesterday"`},
		{name: "escaped time", src: `{"classifications":[{"createdAt":"2026-11-22T12:00:00\u005a"}]}`,
			wantPath: "classifications[0].createdAt", wanted: "must be a time"},
		{name: "time with a quote", src: `{"classifications":[{"updatedBy":"\"","createdAt":"\"2026-11-22T12:00:00Z\""}]}`,
			wantPath: "classifications[0].createdAt", wanted: "must be a time"},
		{name: "time of a number", src: `{"classifications":[{"createdAt":12}]}`,
			wantPath: "classifications[0].createdAt", wanted: "must be a time in RFC 3339 format (2026-11-22T12:00:00Z), not a number"},
		{name: "first misfit in document order", src: `{"objects":[{"bbox":1,"polygon":[[1,2,3]]}]}`,
			wantPath: "objects[0].bbox", wanted: "is not a field"},
		{name: "a bad point before an unknown field", src: `{"objects":[{"polygon":[[1,2,3]],"bbox":1}]}`,
			wantPath: "objects[0].polygon[0][2]", wanted: "one number too many"},
		{name: "truncated", src: `{"objects":[{"polygon":[[1,2],`,
			wantPath: "objects[0].polygon[1]", wanted: "the JSON ends too early"},
		{name: "syntax error", src: `{"objects":[{"schemaId":"car",}]}`,
			wantPath: "objects[0]", wanted: "malformed JSON at byte 30: invalid character '}'"},
		{name: "top-level list", src: `[{"objects":[]}]`, wantPath: "", wanted: "must be a JSON object (labels), not a list"},
		{name: "top-level null", src: `null`, wantPath: "", wanted: "must be a JSON object (labels), not null"},
		{name: "empty", src: ` `, wantPath: "", wanted: "is empty"},
		{name: "two objects", src: `{} {}`, wantPath: "", wanted: "has more data after the JSON object"},
		{name: "trailing garbage", src: `{"objects":[]} x`, wantPath: "", wanted: "has more data after the JSON object"},
		{name: "entry with an unknown field", entry: true, src: `{"externalId":"a","object":[]}`,
			wantPath: "object", wanted: "is not a field of a label entry; its fields are externalId, objects, classifications, relations"},
		{name: "entry with a numeric externalId", entry: true, src: `{"externalId":12}`,
			wantPath: "externalId", wanted: "must be a string, not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			switch {
			case c.answer:
				_, err = DecodeAnswer([]byte(c.src))
			case c.entry:
				_, err = DecodeLabelEntry([]byte(c.src))
			default:
				var l Labels
				l, err = DecodeLabels([]byte(c.src))
				if err != nil && labelsJSON(t, l) != `{"objects":null,"classifications":null,"relations":null}` {
					t.Errorf("a failed decode returned labels: %s", labelsJSON(t, l))
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != ECodeInvalid || len(e.Details) != 1 {
				t.Fatalf("error = %#v", err)
			}
			if d := e.Details[0]; d.Path != c.wantPath || !strings.Contains(d.Message, c.wanted) {
				t.Errorf("detail = %s: %s\nwant     %s: …%s…", d.Path, d.Message, c.wantPath, c.wanted)
			}
		})
	}
}

func TestDecodeLabelsAccepts(t *testing.T) {
	// encoding/json matches keys case-insensitively; so does the decoder.
	l, err := DecodeLabels([]byte(`{"Objects":[{"SCHEMAID":"car","Bounding-Box":{"X":1,"y":2,"width":3,"height":4}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Objects) != 1 || l.Objects[0].SchemaID != "car" || l.Objects[0].BoundingBox.X != 1 {
		t.Errorf("decoded %s", labelsJSON(t, l))
	}
	l, err = DecodeLabels([]byte(" {\"objects\":[{\"point\":[ 1.5 , -2e3 ],\"polygon\":[[0,0]]}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if *l.Objects[0].Point != (Point{1.5, -2000}) {
		t.Errorf("point %v", *l.Objects[0].Point)
	}
	a, err := DecodeAnswer([]byte(formatsTask))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tools) != 2 || string(a.Classifications[0].Answer) != `["a", "b"]` {
		t.Errorf("decoded %s", labelsJSON(t, a))
	}
	errs := PrefixFieldErrors("[3].preLabels", []FieldError{{Path: "objects[0].bbox"}, {Path: ""}, {Path: "[1]"}})
	if got := []string{errs[0].Path, errs[1].Path, errs[2].Path}; !slices.Equal(got, []string{"[3].preLabels.objects[0].bbox", "[3].preLabels", "[3].preLabels[1]"}) {
		t.Errorf("prefixed: %q", got)
	}
}

func TestPointUnmarshalJSON(t *testing.T) {
	for _, bad := range []string{`null`, `[]`, `[1]`, `[1,2,3]`, `[1,]`, `["1",2]`, `[1,2`, `{"x":1}`, `[1e999,0]`, `[1 2]`, `[1,2] x`} {
		var p Point
		if err := p.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s: accepted as %v", bad, p)
		}
	}
	for src, want := range map[string]Point{`[1,2]`: {1, 2}, ` [ -0.5 , 1e3 ] `: {-0.5, 1000}, "[\n0,\t0]": {0, 0}} {
		var p Point
		if err := p.UnmarshalJSON([]byte(src)); err != nil || p != want {
			t.Errorf("%s: %v, %v", src, p, err)
		}
	}
}

func TestLabelsCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(labelsCorpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := labelsIndex(t)
	n := 0
	for _, file := range files {
		name := filepath.Base(file)
		if name == "schema.json" {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			valid := strings.HasPrefix(name, "valid_")
			if !valid && !strings.HasPrefix(name, "invalid_") {
				t.Fatalf("corpus files are named valid_*.json or invalid_*.json")
			}
			var want string
			if !valid {
				w, err := os.ReadFile(file + ".want")
				if err != nil {
					t.Fatalf("missing expectation: %v", err)
				}
				want = strings.TrimSpace(string(w))
				if want == "(root)" {
					want = ""
				}
			}
			var a Answer
			if strings.Contains(name, "_answer_") {
				a, err = DecodeAnswer(src)
			} else {
				var l Labels
				l, err = DecodeLabels(src)
				a = l.Answer()
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || len(e.Details) != 1 {
					t.Fatalf("decode error %#v", err)
				}
				if valid || !strings.HasPrefix(name, "invalid_decode_") {
					t.Fatalf("decode: %v", err)
				}
				if e.Details[0].Path != want {
					t.Errorf("decode error at %q (%s); want %q", e.Details[0].Path, e.Details[0].Message, want)
				}
				return
			}
			if strings.HasPrefix(name, "invalid_decode_") {
				t.Fatalf("decoded, but the file is named invalid_decode_")
			}
			lim := LabelLimits{Pages: 4}
			objects := "objects"
			if strings.Contains(name, "_answer_") {
				objects = "tools"
			}
			before := labelsJSON(t, a)
			errs := validateLabels(nil, &a.Tools, &a.Classifications, &a.Relations, objects, idx, lim, "")
			if valid {
				if len(errs) > 0 {
					t.Fatalf("problems: %v", errs)
				}
				first := labelsJSON(t, a)
				if errs := a.Validate(idx, lim, ""); len(errs) > 0 {
					t.Fatalf("second validation: %v", errs)
				}
				if again := labelsJSON(t, a); again != first {
					t.Errorf("second validation changed the answer")
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("no problems; want one at %s", want)
			}
			if errs[0].Path != want {
				t.Errorf("first problem at %s (%s); want %s", errs[0].Path, errs[0].Message, want)
			}
			if after := labelsJSON(t, a); after != before {
				t.Errorf("invalid labels were changed")
			}
		})
	}
	if n < 25 {
		t.Errorf("only %d corpus files", n)
	}
	wants, _ := filepath.Glob(filepath.Join(labelsCorpusDir, "*.want"))
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want")); err != nil {
			t.Errorf("%s has no labels file", w)
		}
	}
}

// benchAnswer is an answer of 20 boxes, each with a nested radio, two
// top-level classifications and a relation, as the hub stores it.
func benchAnswer(b testing.TB) Answer {
	var sb strings.Builder
	sb.WriteString(`{"tools":[`)
	for i := range 20 {
		if i > 0 {
			sb.WriteString(",")
		}
		color := []string{"Red", "Blue"}[i%2]
		fmt.Fprintf(&sb, `{"objectId":"obj%02d","schemaId":"car","title":"Car","page":0,
		  "bounding-box":{"x":%d,"y":%d.5,"width":40,"height":30},
		  "classifications":[{"tool":"radio","schemaId":"color","objectId":"cls%02d","title":"Color","answer":%q}]}`, i, 10*i, 5*i, i, color)
	}
	sb.WriteString(`],"classifications":[
	  {"tool":"checkbox","schemaId":"tags","objectId":"t1","title":"Tags","answer":["a","c"]},
	  {"tool":"tree-dropdown","schemaId":"kind","objectId":"t2","title":"Kind","answer":"Vehicle / Car"}],
	 "relations":[{"objectId":"r1","schemaId":"follows","title":"Follows","from":"obj00","to":"obj01","direction":"straight"}]}`)
	a, err := DecodeAnswer([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkValidateAnswer(b *testing.B) {
	idx := labelsIndex(b)
	a := benchAnswer(b)
	if errs := a.Validate(idx, LabelLimits{}, ""); len(errs) > 0 {
		b.Fatal(errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if errs := a.Validate(idx, LabelLimits{}, ""); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkValidateAnswerByTitle validates the same answer named by title
// only, without ids (a typical pre-label): every iteration normalises a
// fresh copy.
func BenchmarkValidateAnswerByTitle(b *testing.B) {
	idx := labelsIndex(b)
	src := benchAnswer(b)
	for i := range src.Tools {
		o := &src.Tools[i]
		o.ObjectID, o.SchemaID = "", ""
		o.Classifications[0].ObjectID, o.Classifications[0].SchemaID, o.Classifications[0].Tool = "", "", ""
	}
	src.Relations = nil
	copies := make([]Answer, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if len(copies) == 0 {
			b.StopTimer()
			for range cap(copies) {
				a := Answer{Tools: slices.Clone(src.Tools), Classifications: slices.Clone(src.Classifications)}
				for i := range a.Tools {
					a.Tools[i].Classifications = slices.Clone(a.Tools[i].Classifications)
				}
				copies = append(copies, a)
			}
			b.StartTimer()
		}
		a := &copies[len(copies)-1]
		copies = copies[:len(copies)-1]
		if errs := a.Validate(idx, LabelLimits{}, ""); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkDecodeAnswer(b *testing.B) {
	a := benchAnswer(b)
	src := []byte(labelsJSON(b, a))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAnswer(src); err != nil {
			b.Fatal(err)
		}
	}
}
