package labelhub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// formatsExample is the example of formats.md §0.
const formatsExample = `{
  "tools": [
    {"schemaId": "car", "title": "Car", "tool": "bounding-box", "color": "#e6194b",
     "classifications": [
       {"schemaId": "color", "title": "Color", "tool": "radio",
        "options": [{"value": "Red"}, {"value": "Blue"}]}]}
  ],
  "classifications": [
    {"schemaId": "tags", "title": "Tags", "tool": "checkbox",
     "options": [{"value": "a"}, {"value": "b"}]},
    {"schemaId": "kind", "title": "Kind", "tool": "tree-dropdown",
     "options": [{"value": "Vehicle", "children": [{"value": "Car"}, {"value": "Bus"}]}]}
  ],
  "relations": [{"schemaId": "follows", "title": "Follows", "tool": "single"}]
}`

func decodeSchema(t testing.TB, src string) CategorySchema {
	t.Helper()
	var s CategorySchema
	if err := json.Unmarshal([]byte(src), &s); err != nil {
		t.Fatalf("decode: %v\n%s", err, src)
	}
	return s
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nestedClassifications returns a top-level text classification with n-1
// levels of classifications nested under it (so its deepest entry is at
// depth n), and the path of that deepest entry.
func nestedClassifications(n int) (SchemaClassification, string) {
	path := "classifications[0]"
	leaf := SchemaClassification{Title: fmt.Sprintf("L%d", n), Tool: "text"}
	for d := n - 1; d >= 1; d-- {
		leaf = SchemaClassification{Title: fmt.Sprintf("L%d", d), Tool: "text", Classifications: []SchemaClassification{leaf}}
		path += ".classifications[0]"
	}
	return leaf, path
}

// treeOptions returns n levels of tree-dropdown options (one per level).
func treeOptions(n int) []SchemaOption {
	var opts []SchemaOption
	for d := n; d >= 1; d-- {
		opts = []SchemaOption{{Value: fmt.Sprintf("V%d", d), Children: opts}}
	}
	return opts
}

func TestCategorySchemaValidateRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	type tc struct {
		name     string
		json     string                // the schema, or
		build    func() CategorySchema // when JSON cannot say it
		wantPath string                // path of the first problem
		wantMsg  string                // substring of its message
	}
	cases := []tc{
		{name: "unknown tool kind",
			json:     `{"tools":[{"title":"Car","tool":"box"}]}`,
			wantPath: "tools[0].tool", wantMsg: `unknown tool kind "box": use one of bounding-box, rotated-bounding-box, polygon, polyline, point, segmentation, brush, ner, pdf`},
		{name: "missing tool kind",
			json:     `{"tools":[{"title":"Car"}]}`,
			wantPath: "tools[0].tool", wantMsg: "is required: one of bounding-box,"},
		{name: "classification kind is not a tool kind",
			json:     `{"tools":[{"title":"Car","tool":"radio"}]}`,
			wantPath: "tools[0].tool", wantMsg: `unknown tool kind "radio"`},
		{name: "unknown classification kind at top level",
			json:     `{"classifications":[{"title":"Q","tool":"polygon"}]}`,
			wantPath: "classifications[0].tool", wantMsg: `unknown classification kind "polygon": use one of radio, checkbox, single-dropdown, multi-dropdown, text, tree-dropdown, rank`},
		{name: "unknown classification kind under a tool",
			json:     `{"tools":[{"title":"Car","tool":"point","classifications":[{"title":"Q","tool":"Radio","options":[{"value":"a"}]}]}]}`,
			wantPath: "tools[0].classifications[0].tool", wantMsg: `unknown classification kind "Radio"`},
		{name: "unknown classification kind under a classification",
			json:     `{"classifications":[{"title":"Q","tool":"text","classifications":[{"title":"R","tool":"dropdown"}]}]}`,
			wantPath: "classifications[0].classifications[0].tool", wantMsg: `unknown classification kind "dropdown"`},
		{name: "unknown classification kind under an option",
			json:     `{"classifications":[{"title":"Q","tool":"radio","options":[{"value":"a","classifications":[{"title":"R","tool":"x"}]}]}]}`,
			wantPath: "classifications[0].options[0].classifications[0].tool", wantMsg: `unknown classification kind "x"`},
		{name: "missing classification kind",
			json:     `{"classifications":[{"title":"Q"}]}`,
			wantPath: "classifications[0].tool", wantMsg: "is required: one of radio,"},
		{name: "unknown relation kind",
			json:     `{"relations":[{"title":"R","tool":"triple"}]}`,
			wantPath: "relations[0].tool", wantMsg: `unknown relation kind "triple": use one of single, group`},
		{name: "unknown kind is cut in the message",
			json:     `{"relations":[{"title":"R","tool":"` + long(5000) + `"}]}`,
			wantPath: "relations[0].tool", wantMsg: `unknown relation kind "` + long(40) + `"…`},
		{name: "schemaId too long",
			json:     `{"tools":[{"schemaId":"` + long(101) + `","title":"Car","tool":"point"}]}`,
			wantPath: "tools[0].schemaId", wantMsg: "is longer than 100 bytes"},
		{name: "schemaId with a space",
			json:     `{"relations":[{"schemaId":"a b","title":"R","tool":"group"}]}`,
			wantPath: "relations[0].schemaId", wantMsg: `contains ' '; use only letters A-Z a-z, digits and _ . : -`},
		{name: "schemaId with a slash",
			json:     `{"classifications":[{"schemaId":"a/b","title":"Q","tool":"text"}]}`,
			wantPath: "classifications[0].schemaId", wantMsg: `contains '/'`},
		{name: "schemaId with a non-ASCII letter",
			json:     `{"tools":[{"schemaId":"voiture-é","title":"Car","tool":"point"}]}`,
			wantPath: "tools[0].schemaId", wantMsg: `contains 'é'`},
		{name: "duplicate schemaId among top-level tools",
			json:     `{"tools":[{"schemaId":"x","title":"A","tool":"point"},{"schemaId":"x","title":"B","tool":"point"}]}`,
			wantPath: "tools[1].schemaId", wantMsg: `duplicate schemaId "x" (also at tools[0])`},
		{name: "duplicate schemaId between a tool and a relation",
			json:     `{"tools":[{"schemaId":"x","title":"A","tool":"point"}],"relations":[{"schemaId":"x","title":"R","tool":"single"}]}`,
			wantPath: "relations[0].schemaId", wantMsg: `duplicate schemaId "x" (also at tools[0])`},
		{name: "duplicate schemaId at different depths",
			json: `{"tools":[{"schemaId":"x","title":"A","tool":"point"}],
			        "classifications":[{"schemaId":"q","title":"Q","tool":"radio","options":[{"value":"a",
			           "classifications":[{"schemaId":"x","title":"R","tool":"text"}]}]}]}`,
			wantPath: "classifications[0].options[0].classifications[0].schemaId", wantMsg: `duplicate schemaId "x" (also at tools[0])`},
		{name: "duplicate schemaId nested then top level",
			json: `{"tools":[{"schemaId":"t","title":"A","tool":"point","classifications":[{"schemaId":"x","title":"Q","tool":"text"}]}],
			        "classifications":[{"schemaId":"x","title":"Q","tool":"text"}]}`,
			wantPath: "classifications[0].schemaId", wantMsg: `duplicate schemaId "x" (also at tools[0].classifications[0])`},
		{name: "missing title on a tool",
			json:     `{"tools":[{"tool":"point"}]}`,
			wantPath: "tools[0].title", wantMsg: "is required"},
		{name: "missing title on a nested classification",
			json:     `{"tools":[{"title":"A","tool":"point","classifications":[{"tool":"text"}]}]}`,
			wantPath: "tools[0].classifications[0].title", wantMsg: "is required"},
		{name: "missing title on a relation",
			json:     `{"relations":[{"tool":"single"}]}`,
			wantPath: "relations[0].title", wantMsg: "is required"},
		{name: "title too long",
			json:     `{"classifications":[{"title":"` + long(201) + `","tool":"text"}]}`,
			wantPath: "classifications[0].title", wantMsg: "is longer than 200 bytes"},
		{name: "title of 201 bytes in 2-byte runes",
			json:     `{"classifications":[{"title":"x` + strings.Repeat("é", 100) + `","tool":"text"}]}`,
			wantPath: "classifications[0].title", wantMsg: "is longer than 200 bytes"},
		{name: "blank title",
			json:     `{"tools":[{"title":" \t\u00a0","tool":"point"}]}`,
			wantPath: "tools[0].title", wantMsg: "is blank"},
		{name: "title not UTF-8",
			build: func() CategorySchema {
				return CategorySchema{Relations: []SchemaRelation{{Title: "a\xffb", Tool: "single"}}}
			},
			wantPath: "relations[0].title", wantMsg: "is not valid UTF-8"},
		{name: "duplicate sibling titles of tools",
			json:     `{"tools":[{"title":"Car","tool":"point"},{"title":"Bus","tool":"point"},{"title":"Car","tool":"polygon"}]}`,
			wantPath: "tools[2].title", wantMsg: `duplicate title "Car" among siblings (also at tools[0])`},
		{name: "duplicate sibling titles of nested classifications",
			json: `{"tools":[{"title":"Car","tool":"point","classifications":[
			          {"title":"Color","tool":"text"},{"title":"Color","tool":"text"}]}]}`,
			wantPath: "tools[0].classifications[1].title", wantMsg: `duplicate title "Color" among siblings (also at tools[0].classifications[0])`},
		{name: "duplicate sibling titles of relations",
			json:     `{"relations":[{"title":"Follows","tool":"single"},{"title":"Follows","tool":"group"}]}`,
			wantPath: "relations[1].title", wantMsg: `duplicate title "Follows"`},
		{name: "text with options",
			json:     `{"classifications":[{"title":"Q","tool":"text","options":[{"value":"a"}]}]}`,
			wantPath: "classifications[0].options", wantMsg: "a text classification has no options"},
		{name: "option value missing",
			json:     `{"classifications":[{"title":"Q","tool":"radio","options":[{"value":"a"},{}]}]}`,
			wantPath: "classifications[0].options[1].value", wantMsg: "is required"},
		{name: "option value too long",
			json:     `{"classifications":[{"title":"Q","tool":"checkbox","options":[{"value":"` + long(201) + `"}]}]}`,
			wantPath: "classifications[0].options[0].value", wantMsg: "is longer than 200 bytes"},
		{name: "option value blank",
			json:     `{"classifications":[{"title":"Q","tool":"checkbox","options":[{"value":"  "}]}]}`,
			wantPath: "classifications[0].options[0].value", wantMsg: "is blank"},
		{name: "duplicate option values",
			json:     `{"tools":[{"title":"Car","tool":"point","classifications":[{"title":"Q","tool":"rank","options":[{"value":"a"},{"value":"b"},{"value":"a"}]}]}]}`,
			wantPath: "tools[0].classifications[0].options[2].value", wantMsg: `duplicate value "a" among siblings (also at tools[0].classifications[0].options[0])`},
		{name: "duplicate tree children values",
			json:     `{"classifications":[{"title":"Q","tool":"tree-dropdown","options":[{"value":"V","children":[{"value":"Car"},{"value":"Car"}]}]}]}`,
			wantPath: "classifications[0].options[0].children[1].value", wantMsg: `duplicate value "Car"`},
		{name: "children on a radio option",
			json:     `{"classifications":[{"title":"Q","tool":"radio","options":[{"value":"a","children":[{"value":"b"}]}]}]}`,
			wantPath: "classifications[0].options[0].children", wantMsg: "only options of a tree-dropdown classification have children, not those of a radio"},
		{name: "children on a nested checkbox option",
			json:     `{"tools":[{"title":"A","tool":"ner","classifications":[{"title":"Q","tool":"checkbox","options":[{"value":"a"},{"value":"b","children":[{"value":"c"}]}]}]}]}`,
			wantPath: "tools[0].classifications[0].options[1].children", wantMsg: "not those of a checkbox"},
		{name: "tree value with the path separator",
			json:     `{"classifications":[{"title":"Q","tool":"tree-dropdown","options":[{"value":"Vehicle","children":[{"value":"Car / Bus"}]}]}]}`,
			wantPath: "classifications[0].options[0].children[0].value", wantMsg: `must not contain " / "`},
		{name: "tree value ending with space slash",
			json:     `{"classifications":[{"title":"Q","tool":"tree-dropdown","options":[{"value":"A /"}]}]}`,
			wantPath: "classifications[0].options[0].value", wantMsg: `must not begin with "/ " or end with " /"`},
		{name: "tree value beginning with slash space",
			json:     `{"classifications":[{"title":"Q","tool":"tree-dropdown","options":[{"value":"A","children":[{"value":"/ B"}]}]}]}`,
			wantPath: "classifications[0].options[0].children[0].value", wantMsg: `must not begin with "/ "`},
		{name: "color by name",
			json:     `{"tools":[{"title":"Car","tool":"point","color":"red"}]}`,
			wantPath: "tools[0].color", wantMsg: `must be a hex color like #rgb or #rrggbb, not "red"`},
		{name: "color of 4 digits",
			json:     `{"tools":[{"title":"Car","tool":"point","color":"#1234"}]}`,
			wantPath: "tools[0].color", wantMsg: "must be a hex color"},
		{name: "color not hex",
			json:     `{"tools":[{"title":"Car","tool":"point","color":"#ggg"}]}`,
			wantPath: "tools[0].color", wantMsg: "must be a hex color"},
		{name: "color without hash",
			json:     `{"tools":[{"title":"Car","tool":"point","color":"e6194b"}]}`,
			wantPath: "tools[0].color", wantMsg: "must be a hex color"},
		{name: "too many relations",
			build: func() CategorySchema {
				var s CategorySchema
				for i := range MaxSchemaEntries + 5 {
					s.Relations = append(s.Relations, SchemaRelation{Title: fmt.Sprint("R", i), Tool: "single"})
				}
				return s
			},
			wantPath: "relations[1000]", wantMsg: "a schema has at most 1000 entries"},
		{name: "too many entries counting options",
			build: func() CategorySchema {
				opts := make([]SchemaOption, MaxSchemaEntries-2) // the classification and the tool make 1000
				for i := range opts {
					opts[i].Value = fmt.Sprint("v", i)
				}
				return CategorySchema{
					Tools:     []SchemaTool{{Title: "T", Tool: "point", Classifications: []SchemaClassification{{Title: "Q", Tool: "radio", Options: opts}}}},
					Relations: []SchemaRelation{{Title: "R", Tool: "single"}},
				}
			},
			wantPath: "relations[0]", wantMsg: "at most 1000 entries"},
		{name: "classifications nested too deep",
			build: func() CategorySchema {
				c, _ := nestedClassifications(MaxSchemaDepth + 1)
				return CategorySchema{Classifications: []SchemaClassification{c}}
			},
			wantPath: "classifications[0]" + strings.Repeat(".classifications[0]", 8), wantMsg: "is nested 9 levels deep; the limit is 8"},
		{name: "options and classifications nested too deep",
			json: `{"tools":[{"title":"T","tool":"point","classifications":[
			  {"title":"Q","tool":"radio","options":[{"value":"a","classifications":[
			    {"title":"Q","tool":"radio","options":[{"value":"a","classifications":[
			      {"title":"Q","tool":"radio","options":[{"value":"a","classifications":[
			        {"title":"Q","tool":"radio","options":[{"value":"a"}]}]}]}]}]}]}]}]}]}`,
			wantPath: "tools[0]" + strings.Repeat(".classifications[0].options[0]", 4), wantMsg: "the limit is 8"},
		{name: "tree children nested too deep",
			build: func() CategorySchema {
				return CategorySchema{Classifications: []SchemaClassification{{Title: "Q", Tool: "tree-dropdown", Options: treeOptions(MaxSchemaDepth)}}}
			},
			wantPath: "classifications[0].options[0]" + strings.Repeat(".children[0]", 7), wantMsg: "is nested 9 levels deep"},
	}
	for _, kind := range classificationKindsWithOptions {
		cases = append(cases,
			tc{name: kind + " without options",
				json:     `{"classifications":[{"title":"Q","tool":"` + kind + `"}]}`,
				wantPath: "classifications[0].options", wantMsg: "a " + kind + " classification needs at least one option"},
			tc{name: kind + " with an empty options list under a tool",
				json:     `{"tools":[{"title":"T","tool":"polyline","classifications":[{"title":"Q","tool":"` + kind + `","options":[]}]}]}`,
				wantPath: "tools[0].classifications[0].options", wantMsg: "needs at least one option"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s CategorySchema
			if c.build != nil {
				s = c.build()
			} else {
				s = decodeSchema(t, c.json)
			}
			before := mustJSON(t, s)
			errs := s.Validate()
			if len(errs) == 0 {
				t.Fatalf("no problems; want %s: %s", c.wantPath, c.wantMsg)
			}
			if errs[0].Path != c.wantPath || !strings.Contains(errs[0].Message, c.wantMsg) {
				t.Errorf("first problem = %s: %s\nwant %s: …%s…\nall: %v", errs[0].Path, errs[0].Message, c.wantPath, c.wantMsg, errs)
			}
			if after := mustJSON(t, s); after != before {
				t.Errorf("an invalid schema was changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestCategorySchemaValidateReportsInDocumentOrder(t *testing.T) {
	s := decodeSchema(t, `{
	  "tools": [
	    {"schemaId": "a b", "title": "", "tool": "box", "color": "blue",
	     "classifications": [{"title": "Q", "tool": "radio", "options": [{"value": "x", "children": [{"value": "y"}]}]}]},
	    {"schemaId": "t2", "title": "T2", "tool": "point"}
	  ],
	  "classifications": [
	    {"schemaId": "t2", "title": "C", "tool": "text", "options": [{"value": "z"}]},
	    {"title": "C", "tool": "checkbox"}
	  ],
	  "relations": [{"title": "R", "tool": "many"}]
	}`)
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Path)
	}
	want := []string{
		"tools[0].schemaId",
		"tools[0].title",
		"tools[0].tool",
		"tools[0].color",
		"tools[0].classifications[0].options[0].children",
		"classifications[0].schemaId",
		"classifications[0].options",
		"classifications[1].title",
		"classifications[1].options",
		"relations[0].tool",
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths\n got %q\nwant %q", got, want)
	}
}

func TestCategorySchemaValidateAcceptsAndNormalises(t *testing.T) {
	maxTitle := strings.Repeat("é", MaxSchemaTitleLength/2)
	maxID := strings.Repeat("a", MaxSchemaIDLength-4) + "_.:-"
	cases := []struct {
		name     string
		json     string
		build    func() CategorySchema
		wantJSON string // when set, the normalised schema must marshal to this
	}{
		{name: "formats.md example", json: formatsExample},
		{name: "empty object", json: `{}`, wantJSON: `{"tools":[],"classifications":[],"relations":[]}`},
		{name: "null lists", json: `{"tools":null,"classifications":null,"relations":null}`, wantJSON: `{"tools":[],"classifications":[],"relations":[]}`},
		{name: "empty lists", json: `{"tools":[],"classifications":[],"relations":[]}`, wantJSON: `{"tools":[],"classifications":[],"relations":[]}`},
		{name: "every tool kind", build: func() CategorySchema {
			var s CategorySchema
			for i, k := range ToolKinds {
				s.Tools = append(s.Tools, SchemaTool{SchemaID: fmt.Sprint("t", i), Title: k, Tool: k})
			}
			return s
		}},
		{name: "every classification kind, nested everywhere", build: func() CategorySchema {
			var list []SchemaClassification
			for i, k := range ClassificationKinds {
				c := SchemaClassification{SchemaID: fmt.Sprint("c", i), Title: k, Tool: k}
				if k != "text" {
					c.Options = []SchemaOption{{Value: "a"}}
				}
				list = append(list, c)
			}
			nested := func(prefix string) []SchemaClassification {
				out := slices.Clone(list)
				for i := range out {
					out[i].SchemaID = prefix + out[i].SchemaID
				}
				return out
			}
			return CategorySchema{
				Tools: []SchemaTool{{SchemaID: "t", Title: "T", Tool: "point", Classifications: nested("t.")}},
				Classifications: []SchemaClassification{
					{SchemaID: "q", Title: "Q", Tool: "text", Classifications: nested("q.")},
					{SchemaID: "r", Title: "R", Tool: "radio", Options: []SchemaOption{{Value: "a", Classifications: nested("r.")}}},
				},
				Relations: []SchemaRelation{{SchemaID: "s", Title: "S", Tool: "single"}, {SchemaID: "g", Title: "G", Tool: "group"}},
			}
		}},
		{name: "same titles in different lists and parents",
			json: `{"tools":[{"title":"Car","tool":"point","classifications":[{"title":"Color","tool":"text"}]},
			                {"title":"car","tool":"point","classifications":[{"title":"Color","tool":"text"}]}],
			        "classifications":[{"title":"Car","tool":"radio","options":[{"value":"Car","classifications":[{"title":"Car","tool":"text"}]}]}],
			        "relations":[{"title":"Car","tool":"single"}]}`},
		{name: "same option values under different parents",
			json: `{"classifications":[{"title":"Q","tool":"tree-dropdown","options":[
			          {"value":"A","children":[{"value":"X"}]},{"value":"B","children":[{"value":"X"}]},{"value":"X"}]}]}`},
		{name: "tree values with slashes that are not separators",
			json: `{"classifications":[{"title":"Q","tool":"tree-dropdown","options":[{"value":"A/B","children":[{"value":"1 /2"},{"value":"/"},{"value":"a/ b"}]}]}]}`},
		{name: "a radio value may contain the separator",
			json: `{"classifications":[{"title":"Q","tool":"radio","options":[{"value":"A / B"}]}]}`},
		{name: "short and upper-case colors",
			json: `{"tools":[{"title":"A","tool":"point","color":"#abc"},{"title":"B","tool":"point","color":"#A1B2C3"},{"title":"C","tool":"point","color":""}]}`},
		{name: "strings at their limits",
			json: `{"tools":[{"schemaId":"` + maxID + `","title":"` + maxTitle + `","tool":"point"}],
			        "classifications":[{"title":"Q","tool":"radio","options":[{"value":"` + maxTitle + `"}]}]}`},
		{name: "unicode titles",
			json: `{"tools":[{"title":"車 🚗","tool":"point"},{"title":"سيارة","tool":"point"},{"title":"e\u0301","tool":"point"},{"title":"\u00e9","tool":"point"}]}`},
		{name: "classifications nested to the limit", build: func() CategorySchema {
			c, _ := nestedClassifications(MaxSchemaDepth)
			return CategorySchema{Classifications: []SchemaClassification{c}}
		}},
		{name: "tree options nested to the limit", build: func() CategorySchema {
			return CategorySchema{Classifications: []SchemaClassification{{Title: "Q", Tool: "tree-dropdown", Options: treeOptions(MaxSchemaDepth - 1)}}}
		}},
		{name: "exactly the entry limit", build: func() CategorySchema {
			opts := make([]SchemaOption, MaxSchemaEntries-2)
			for i := range opts {
				opts[i].Value = fmt.Sprint("v", i)
			}
			return CategorySchema{Tools: []SchemaTool{{Title: "T", Tool: "point", Classifications: []SchemaClassification{{Title: "Q", Tool: "radio", Options: opts}}}}}
		}},
		{name: "empty children on a radio option",
			json: `{"classifications":[{"title":"Q","tool":"radio","options":[{"value":"a","children":[]}]}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s CategorySchema
			if c.build != nil {
				s = c.build()
			} else {
				s = decodeSchema(t, c.json)
			}
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("problems: %v", errs)
			}
			got := mustJSON(t, s)
			if c.wantJSON != "" && got != c.wantJSON {
				t.Errorf("normalised to %s\nwant %s", got, c.wantJSON)
			}
			if s.Tools == nil || s.Classifications == nil || s.Relations == nil {
				t.Errorf("a top-level list is still nil")
			}
			checkSchemaIDs(t, &s)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("second validation: %v", errs)
			}
			if again := mustJSON(t, s); again != got {
				t.Errorf("second validation changed the schema:\n%s\n%s", got, again)
			}
		})
	}
}

func TestCategorySchemaValidateKeepsTheExample(t *testing.T) {
	s := decodeSchema(t, formatsExample)
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	want := decodeSchema(t, formatsExample)
	if !reflect.DeepEqual(s, want) {
		t.Errorf("the example changed:\n%s\nwant\n%s", mustJSON(t, s), mustJSON(t, want))
	}
}

func TestCategorySchemaValidateGeneratesIDs(t *testing.T) {
	s := decodeSchema(t, `{
	  "tools": [{"title": "Car", "tool": "bounding-box",
	             "classifications": [{"title": "Color", "tool": "radio",
	               "options": [{"value": "Red", "classifications": [{"title": "Shade", "tool": "text"}]}]}]},
	            {"schemaId": "bus", "title": "Bus", "tool": "polygon"}],
	  "classifications": [{"title": "Tags", "tool": "checkbox", "options": [{"value": "a"}]}],
	  "relations": [{"title": "Follows", "tool": "single"}, {"schemaId": "", "title": "Group", "tool": "group"}]
	}`)
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	if s.Tools[1].SchemaID != "bus" {
		t.Errorf("a given schemaId was replaced: %q", s.Tools[1].SchemaID)
	}
	generated := []string{
		s.Tools[0].SchemaID,
		s.Tools[0].Classifications[0].SchemaID,
		s.Tools[0].Classifications[0].Options[0].Classifications[0].SchemaID,
		s.Classifications[0].SchemaID,
		s.Relations[0].SchemaID,
		s.Relations[1].SchemaID,
	}
	seen := map[string]bool{}
	for _, id := range generated {
		if len(id) != 26 || !ValidID(id) {
			t.Errorf("generated schemaId %q is not a 26-character id", id)
		}
		if seen[id] {
			t.Errorf("generated schemaId %q twice", id)
		}
		seen[id] = true
	}
	checkSchemaIDs(t, &s)
}

func TestCategorySchemaValidateInvalidSchemaGetsNoIDs(t *testing.T) {
	s := decodeSchema(t, `{"tools":[{"title":"Car","tool":"box"}]}`)
	if errs := s.Validate(); len(errs) != 1 {
		t.Fatalf("problems: %v", errs)
	}
	if s.Tools[0].SchemaID != "" || s.Classifications != nil || s.Relations != nil {
		t.Errorf("an invalid schema was normalised: %s", mustJSON(t, s))
	}
}

// checkSchemaIDs asserts that every entry has a valid schemaId, unique in
// the schema.
func checkSchemaIDs(t testing.TB, s *CategorySchema) {
	t.Helper()
	seen := map[string]bool{}
	check := func(id string) {
		if id == "" || len(id) > MaxSchemaIDLength || seen[id] {
			t.Errorf("schemaId %q is empty, too long or repeated", id)
		}
		seen[id] = true
	}
	var classes func([]SchemaClassification)
	var options func([]SchemaOption)
	classes = func(list []SchemaClassification) {
		for _, c := range list {
			check(c.SchemaID)
			options(c.Options)
			classes(c.Classifications)
		}
	}
	options = func(list []SchemaOption) {
		for _, o := range list {
			options(o.Children)
			classes(o.Classifications)
		}
	}
	for _, tl := range s.Tools {
		check(tl.SchemaID)
		classes(tl.Classifications)
	}
	classes(s.Classifications)
	for _, r := range s.Relations {
		check(r.SchemaID)
	}
}

func TestCategorySchemaIndex(t *testing.T) {
	s := decodeSchema(t, formatsExample)
	s.Classifications[1].Options[0].Classifications = []SchemaClassification{{SchemaID: "deep", Title: "Deep", Tool: "text"}}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	x := s.Index()

	byID := []struct {
		id, part, kind, path, parent string
		top                          bool
	}{
		{"car", "tool", "bounding-box", "tools[0]", "", true},
		{"color", "classification", "radio", "tools[0].classifications[0]", "car", false},
		{"tags", "classification", "checkbox", "classifications[0]", "", true},
		{"deep", "classification", "text", "classifications[1].options[0].classifications[0]", "kind", false},
		{"follows", "relation", "single", "relations[0]", "", true},
	}
	for _, w := range byID {
		e, ok := x.ByID(w.id)
		if !ok {
			t.Errorf("ByID(%q): not found", w.id)
			continue
		}
		if string(e.Part) != w.part || e.Kind != w.kind || e.Path != w.path || e.Parent != w.parent || e.TopLevel != w.top || e.SchemaID != w.id {
			t.Errorf("ByID(%q) = %+v", w.id, e)
		}
	}
	if e, _ := x.ByID("color"); e.Classification != &s.Tools[0].Classifications[0] {
		t.Errorf("the entry does not point into the schema")
	}
	if e, _ := x.ByID("car"); e.Tool != &s.Tools[0] || e.Classification != nil || e.Relation != nil {
		t.Errorf("the tool entry points to the wrong things")
	}
	if _, ok := x.ByID("nope"); ok {
		t.Errorf("ByID found an unknown id")
	}

	resolve := []struct {
		part            SchemaPart
		schemaID, title string
		wantID, wantErr string
	}{
		{SchemaPartTool, "car", "", "car", ""},
		{SchemaPartTool, "", "Car", "car", ""},
		{SchemaPartClassification, "", "Kind", "kind", ""},
		{SchemaPartRelation, "", "Follows", "follows", ""},
		{SchemaPartTool, "", "car", "", `no tool titled "car"`},
		{SchemaPartTool, "", "Tags", "", `no tool titled "Tags"`},
		{SchemaPartTool, "tags", "", "", `schemaId "tags" is a classification, not a tool`},
		{SchemaPartClassification, "color", "", "", `schemaId "color" is nested at tools[0].classifications[0]`},
		{SchemaPartRelation, "x", "", "", `unknown schemaId "x"`},
		{SchemaPartRelation, "", "", "", "names no schemaId nor title"},
	}
	for _, w := range resolve {
		e, err := x.Resolve(w.part, w.schemaID, w.title)
		switch {
		case w.wantErr == "" && (err != nil || e.SchemaID != w.wantID):
			t.Errorf("Resolve(%s, %q, %q) = %q, %v; want %q", w.part, w.schemaID, w.title, e.SchemaID, err, w.wantID)
		case w.wantErr != "" && (err == nil || !strings.Contains(err.Error(), w.wantErr)):
			t.Errorf("Resolve(%s, %q, %q) error = %v; want …%s…", w.part, w.schemaID, w.title, err, w.wantErr)
		}
	}

	// An unvalidated schema may repeat titles: resolving one by title is ambiguous.
	amb := CategorySchema{Tools: []SchemaTool{
		{SchemaID: "a", Title: "Car", Tool: "point"},
		{SchemaID: "b", Title: "Car", Tool: "polygon"},
		{SchemaID: "a", Title: "Other", Tool: "point"},
	}}
	ax := amb.Index()
	if _, err := ax.Resolve(SchemaPartTool, "", "Car"); err == nil || !strings.Contains(err.Error(), `title "Car" is ambiguous: 2 tools have it (tools[0], tools[1])`) {
		t.Errorf("ambiguous title: %v", err)
	}
	if e, err := ax.Resolve(SchemaPartTool, "b", "Car"); err != nil || e.Kind != "polygon" {
		t.Errorf("a schemaId resolves an ambiguous title: %+v, %v", e, err)
	}
	if e, _ := ax.ByID("a"); e.Path != "tools[0]" {
		t.Errorf("a repeated schemaId should find the first entry, got %s", e.Path)
	}
}

const corpusDir = "testdata/categoryschema"

func TestCategorySchemaCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d corpus files", len(files))
	}
	wants, _ := filepath.Glob(filepath.Join(corpusDir, "*.want"))
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want")); err != nil {
			t.Errorf("%s has no schema file", w)
		}
	}
	for _, file := range files {
		name := filepath.Base(file)
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
			}
			var s CategorySchema
			if err := json.Unmarshal(src, &s); err != nil {
				if !strings.HasPrefix(name, "invalid_decode_") {
					t.Fatalf("decode: %v", err)
				}
				// The expectation of a decode failure is a part of its message.
				if !strings.Contains(err.Error(), want) {
					t.Errorf("decode error %q does not contain %q", err, want)
				}
				return
			}
			if strings.HasPrefix(name, "invalid_decode_") {
				t.Fatalf("decoded, but the file is named invalid_decode_")
			}
			errs := s.Validate()
			if valid {
				if len(errs) > 0 {
					t.Fatalf("problems: %v", errs)
				}
				checkSchemaIDs(t, &s)
				return
			}
			if len(errs) == 0 {
				t.Fatalf("no problems; want one at %s", want)
			}
			if errs[0].Path != want {
				t.Errorf("first problem at %s (%s); want %s", errs[0].Path, errs[0].Message, want)
			}
		})
	}
}

// FuzzCategorySchemaValidate checks that Validate never panics, leaves an
// invalid schema unchanged, and is idempotent on a valid one. It is seeded
// from the corpus, except the files over 8 KiB: those are tested above,
// and the fuzzer would spend its time minimising their mutations.
func FuzzCategorySchemaValidate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil && len(src) <= 8<<10 {
			f.Add(src)
		}
	}
	f.Add([]byte(formatsExample))
	f.Fuzz(func(t *testing.T, src []byte) {
		var s CategorySchema
		if json.Unmarshal(src, &s) != nil {
			return
		}
		before := mustJSON(t, s)
		errs := s.Validate()
		_ = s.Index()
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Path == "" || e.Message == "" {
					t.Fatalf("problem without path or message: %+v", e)
				}
			}
			if after := mustJSON(t, s); after != before {
				t.Fatalf("an invalid schema was changed:\n%s\n%s", before, after)
			}
			return
		}
		first := mustJSON(t, s)
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("valid once, then: %v\n%s", errs, first)
		}
		if second := mustJSON(t, s); !bytes.Equal([]byte(first), []byte(second)) {
			t.Fatalf("validating again changed the schema:\n%s\n%s", first, second)
		}
		checkSchemaIDs(t, &s)
	})
}
