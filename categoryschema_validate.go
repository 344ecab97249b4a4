package labelhub

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on a category schema. An entry is a tool, a classification, a
// relation or an option (tree-dropdown children included). A top-level
// tool, classification or relation is at depth 1; every nested list
// (classifications, options, children) adds one level, so
// tools[0].classifications[0].options[0].children[0] is at depth 4.
const (
	MaxSchemaEntries        = 1000 // entries in the whole schema
	MaxSchemaDepth          = 8    // nesting depth of any entry
	MaxSchemaIDLength       = 100  // bytes of a schemaId
	MaxSchemaTitleLength    = 200  // bytes of a title
	MaxSchemaOptionValueLen = 200  // bytes of an option value
)

// TreePathSeparator joins the option values of a tree-dropdown answer
// ("Vehicle / Car", formats.md §2); tree option values must not contain it.
const TreePathSeparator = " / "

// Classification kinds whose answers are chosen from options.
var classificationKindsWithOptions = []string{"radio", "checkbox", "single-dropdown", "multi-dropdown", "tree-dropdown", "rank"}

// Validate checks the schema against formats.md §0 and the limits above and
// returns its problems in document order, each with a JSON path relative to
// the schema ("tools[0].classifications[1].options[2].value").
//
// When it returns no problems it has normalised s in place: every empty
// schemaId is replaced by a new id (NewID) that collides with no other, and
// nil top-level lists become empty lists. When it returns problems, s is
// left unchanged. Validating a normalised schema again changes nothing.
//
// Rules: kinds come from ToolKinds, ClassificationKinds and RelationKinds;
// given schemaIds are 1..MaxSchemaIDLength bytes of [A-Za-z0-9_.:-] and
// unique in the whole schema; titles are required, valid UTF-8, not blank,
// at most MaxSchemaTitleLength bytes and unique (case-sensitive) among the
// entries of one list; classifications of the kinds radio, checkbox,
// single-dropdown, multi-dropdown, tree-dropdown and rank have at least one
// option and text has none; option values follow the title rules (unique
// among sibling options) and, for tree-dropdown, cannot contain
// TreePathSeparator nor begin with "/ " or end with " /" (either would make
// a tree answer ambiguous); only tree-dropdown options have children;
// colors are "#rgb" or "#rrggbb". Past MaxSchemaEntries entries nothing
// more is looked at, and a list nested deeper than MaxSchemaDepth is
// reported once, at its first entry, and not walked.
func (s *CategorySchema) Validate() []FieldError {
	c := schemaChecker{ids: map[string]string{}}
	c.tools(s.Tools)
	c.classifications("classifications", s.Classifications, 1)
	c.relations(s.Relations)
	if len(c.problems) > 0 {
		return c.problems
	}
	for _, id := range c.missing {
		for *id == "" {
			if n := NewID(); c.ids[n] == "" {
				*id = n
				c.ids[n] = "generated"
			}
		}
	}
	if s.Tools == nil {
		s.Tools = []SchemaTool{}
	}
	if s.Classifications == nil {
		s.Classifications = []SchemaClassification{}
	}
	if s.Relations == nil {
		s.Relations = []SchemaRelation{}
	}
	return nil
}

// schemaChecker walks a schema once, in document order.
type schemaChecker struct {
	problems Problems
	ids      map[string]string // valid schemaId -> path of its entry
	missing  []*string         // empty schemaIds, filled in on success
	entries  int
	stopped  bool // the entry limit was hit; nothing more is looked at
}

// enter reports whether the n entries of the list at path, at the given
// depth, should be walked; a list nested too deep is reported once.
func (c *schemaChecker) enter(path string, n, depth int) bool {
	if c.stopped || n == 0 {
		return false
	}
	if depth > MaxSchemaDepth {
		c.problems.Add(path+"[0]", "is nested %d levels deep; the limit is %d", depth, MaxSchemaDepth)
		return false
	}
	return true
}

// count counts the entry at path and reports whether it is within the limit.
func (c *schemaChecker) count(path string) bool {
	if c.stopped {
		return false
	}
	c.entries++
	if c.entries > MaxSchemaEntries {
		c.problems.Add(path, "is one entry too many: a schema has at most %d entries (tools, classifications, relations and options)", MaxSchemaEntries)
		c.stopped = true
		return false
	}
	return true
}

func (c *schemaChecker) tools(list []SchemaTool) {
	if !c.enter("tools", len(list), 1) {
		return
	}
	titles := map[string]string{}
	for i := range list {
		t := &list[i]
		path := fmt.Sprintf("tools[%d]", i)
		if !c.count(path) {
			return
		}
		c.schemaID(path, &t.SchemaID)
		c.text(path, "title", t.Title, MaxSchemaTitleLength, titles)
		c.kind(path+".tool", t.Tool, ToolKinds, "tool")
		if t.Color != "" && !validColor(t.Color) {
			c.problems.Add(path+".color", "must be a hex color like #rgb or #rrggbb, not %s", shortQuote(t.Color))
		}
		c.classifications(path+".classifications", t.Classifications, 2)
	}
}

func (c *schemaChecker) classifications(path string, list []SchemaClassification, depth int) {
	if !c.enter(path, len(list), depth) {
		return
	}
	titles := map[string]string{}
	for i := range list {
		cl := &list[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		if !c.count(p) {
			return
		}
		c.schemaID(p, &cl.SchemaID)
		c.text(p, "title", cl.Title, MaxSchemaTitleLength, titles)
		known := c.kind(p+".tool", cl.Tool, ClassificationKinds, "classification")
		walkOptions := true
		switch {
		case !known:
		case cl.Tool == "text" && len(cl.Options) > 0:
			c.problems.Add(p+".options", "a text classification has no options")
			walkOptions = false
		case len(cl.Options) == 0 && slices.Contains(classificationKindsWithOptions, cl.Tool):
			c.problems.Add(p+".options", "a %s classification needs at least one option", cl.Tool)
		}
		if walkOptions {
			c.options(p+".options", cl.Options, depth+1, cl.Tool, known)
		}
		c.classifications(p+".classifications", cl.Classifications, depth+1)
	}
}

// options walks the options (or children) of a classification of the given
// kind; known is false when the kind itself is wrong.
func (c *schemaChecker) options(path string, list []SchemaOption, depth int, kind string, known bool) {
	if !c.enter(path, len(list), depth) {
		return
	}
	tree := kind == "tree-dropdown"
	values := map[string]string{}
	for i := range list {
		o := &list[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		if !c.count(p) {
			return
		}
		if c.text(p, "value", o.Value, MaxSchemaOptionValueLen, values) && tree {
			switch {
			case strings.Contains(o.Value, TreePathSeparator):
				c.problems.Add(p+".value", "must not contain %q, the path separator of tree-dropdown answers", TreePathSeparator)
			case strings.HasPrefix(o.Value, "/ "), strings.HasSuffix(o.Value, " /"):
				c.problems.Add(p+".value", "must not begin with \"/ \" or end with \" /\": joined with %q it would make a tree-dropdown answer ambiguous", TreePathSeparator)
			}
		}
		if len(o.Children) > 0 && known && !tree {
			c.problems.Add(p+".children", "only options of a tree-dropdown classification have children, not those of a %s", kind)
		} else {
			c.options(p+".children", o.Children, depth+1, kind, known)
		}
		c.classifications(p+".classifications", o.Classifications, depth+1)
	}
}

func (c *schemaChecker) relations(list []SchemaRelation) {
	if !c.enter("relations", len(list), 1) {
		return
	}
	titles := map[string]string{}
	for i := range list {
		r := &list[i]
		path := fmt.Sprintf("relations[%d]", i)
		if !c.count(path) {
			return
		}
		c.schemaID(path, &r.SchemaID)
		c.text(path, "title", r.Title, MaxSchemaTitleLength, titles)
		c.kind(path+".tool", r.Tool, RelationKinds, "relation")
	}
}

// schemaID checks the schemaId of the entry at path; an empty one is
// remembered to be generated.
func (c *schemaChecker) schemaID(path string, id *string) {
	p := path + ".schemaId"
	switch {
	case *id == "":
		c.missing = append(c.missing, id)
		return
	case len(*id) > MaxSchemaIDLength:
		c.problems.Add(p, "is longer than %d bytes", MaxSchemaIDLength)
		return
	}
	for _, r := range *id {
		if !schemaIDChar(r) {
			c.problems.Add(p, "contains %q; use only letters A-Z a-z, digits and _ . : -", r)
			return
		}
	}
	if prev, dup := c.ids[*id]; dup {
		c.problems.Add(p, "duplicate schemaId %q (also at %s)", *id, prev)
		return
	}
	c.ids[*id] = path
}

func schemaIDChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '_' || r == '.' || r == ':' || r == '-'
}

// text checks a title or an option value (field of the entry at path):
// required, not blank, valid UTF-8, at most max bytes, unique among the
// siblings (value -> path of the entry that has it). It reports whether
// the value passed.
func (c *schemaChecker) text(path, field, v string, max int, siblings map[string]string) bool {
	p := path + "." + field
	switch {
	case v == "":
		c.problems.Add(p, "is required")
	case len(v) > max:
		c.problems.Add(p, "is longer than %d bytes", max)
	case !utf8.ValidString(v):
		c.problems.Add(p, "is not valid UTF-8")
	case strings.TrimSpace(v) == "":
		c.problems.Add(p, "is blank")
	default:
		if prev, dup := siblings[v]; dup {
			c.problems.Add(p, "duplicate %s %q among siblings (also at %s)", field, v, prev)
			return false
		}
		siblings[v] = path
		return true
	}
	return false
}

// kind checks the tool field at path against the allowed kinds of what
// ("tool", "classification", "relation") and reports whether it is known.
func (c *schemaChecker) kind(path, kind string, allowed []string, what string) bool {
	if slices.Contains(allowed, kind) {
		return true
	}
	if kind == "" {
		c.problems.Add(path, "is required: one of %s", strings.Join(allowed, ", "))
	} else {
		c.problems.Add(path, "unknown %s kind %s: use one of %s", what, shortQuote(kind), strings.Join(allowed, ", "))
	}
	return false
}

func validColor(s string) bool {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// shortQuote quotes s for a message, cut to 40 bytes at a rune boundary.
func shortQuote(s string) string {
	const n = 40
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}

// SchemaPart names the list of a schema an entry belongs to.
type SchemaPart string

// Schema parts.
const (
	SchemaPartTool           SchemaPart = "tool"
	SchemaPartClassification SchemaPart = "classification"
	SchemaPartRelation       SchemaPart = "relation"
)

// SchemaEntry is one tool, classification or relation of a schema, as
// found by a SchemaIndex. Exactly one of Tool, Classification and Relation
// is set, according to Part; they point into the indexed schema.
type SchemaEntry struct {
	Part           SchemaPart
	Kind           string // the entry's tool field: "bounding-box", "radio", "single", …
	SchemaID       string
	Title          string
	Path           string // JSON path in the schema, e.g. "tools[0].classifications[1]"
	Parent         string // schemaId of the enclosing tool or classification; "" at top level
	TopLevel       bool
	Tool           *SchemaTool
	Classification *SchemaClassification
	Relation       *SchemaRelation
}

// SchemaIndex looks up the entries of a schema by schemaId (at any depth)
// and the top-level tools, classifications and relations by title, for the
// validation of labels (formats.md §2). Build it with CategorySchema.Index
// from a validated schema; it must not outlive changes to that schema.
type SchemaIndex struct {
	byID    map[string]SchemaEntry
	byTitle map[SchemaPart]map[string][]SchemaEntry
}

// Index builds a SchemaIndex of s. Entries without a schemaId are only
// found by title; if s (unvalidated) repeats a schemaId, the first entry in
// document order wins.
func (s *CategorySchema) Index() SchemaIndex {
	x := SchemaIndex{
		byID: map[string]SchemaEntry{},
		byTitle: map[SchemaPart]map[string][]SchemaEntry{
			SchemaPartTool: {}, SchemaPartClassification: {}, SchemaPartRelation: {},
		},
	}
	add := func(e SchemaEntry) {
		if _, dup := x.byID[e.SchemaID]; e.SchemaID != "" && !dup {
			x.byID[e.SchemaID] = e
		}
		if e.TopLevel {
			x.byTitle[e.Part][e.Title] = append(x.byTitle[e.Part][e.Title], e)
		}
	}
	var classes func(path, parent string, list []SchemaClassification, top bool)
	var options func(path, parent string, list []SchemaOption)
	classes = func(path, parent string, list []SchemaClassification, top bool) {
		for i := range list {
			cl := &list[i]
			p := fmt.Sprintf("%s[%d]", path, i)
			add(SchemaEntry{Part: SchemaPartClassification, Kind: cl.Tool, SchemaID: cl.SchemaID, Title: cl.Title,
				Path: p, Parent: parent, TopLevel: top, Classification: cl})
			options(p+".options", cl.SchemaID, cl.Options)
			classes(p+".classifications", cl.SchemaID, cl.Classifications, false)
		}
	}
	options = func(path, parent string, list []SchemaOption) {
		for i := range list {
			p := fmt.Sprintf("%s[%d]", path, i)
			options(p+".children", parent, list[i].Children)
			classes(p+".classifications", parent, list[i].Classifications, false)
		}
	}
	for i := range s.Tools {
		t := &s.Tools[i]
		p := fmt.Sprintf("tools[%d]", i)
		add(SchemaEntry{Part: SchemaPartTool, Kind: t.Tool, SchemaID: t.SchemaID, Title: t.Title,
			Path: p, TopLevel: true, Tool: t})
		classes(p+".classifications", t.SchemaID, t.Classifications, false)
	}
	classes("classifications", "", s.Classifications, true)
	for i := range s.Relations {
		r := &s.Relations[i]
		add(SchemaEntry{Part: SchemaPartRelation, Kind: r.Tool, SchemaID: r.SchemaID, Title: r.Title,
			Path: fmt.Sprintf("relations[%d]", i), TopLevel: true, Relation: r})
	}
	return x
}

// ByID returns the entry with the given schemaId, at any depth.
func (x SchemaIndex) ByID(schemaID string) (SchemaEntry, bool) {
	e, ok := x.byID[schemaID]
	return e, ok
}

// Resolve finds the top-level entry of the given part that a label item
// names by schemaId or, when schemaID is empty, by title. The error message
// is meant for a FieldError: an unknown schemaId or title, a schemaId of
// another part or of a nested entry, or a title shared by several entries
// (ambiguous; the item must name a schemaId).
func (x SchemaIndex) Resolve(part SchemaPart, schemaID, title string) (SchemaEntry, error) {
	if schemaID != "" {
		e, ok := x.byID[schemaID]
		switch {
		case !ok:
			return SchemaEntry{}, fmt.Errorf("unknown schemaId %s", shortQuote(schemaID))
		case e.Part != part:
			return SchemaEntry{}, fmt.Errorf("schemaId %s is a %s, not a %s", shortQuote(schemaID), e.Part, part)
		case !e.TopLevel:
			return SchemaEntry{}, fmt.Errorf("schemaId %s is nested at %s, not a top-level %s", shortQuote(schemaID), e.Path, part)
		}
		return e, nil
	}
	if title == "" {
		return SchemaEntry{}, fmt.Errorf("names no schemaId nor title")
	}
	found := x.byTitle[part][title]
	switch len(found) {
	case 0:
		return SchemaEntry{}, fmt.Errorf("no %s titled %s", part, shortQuote(title))
	case 1:
		return found[0], nil
	}
	paths := make([]string, len(found))
	for i, e := range found {
		paths[i] = e.Path
	}
	return SchemaEntry{}, fmt.Errorf("title %s is ambiguous: %d %ss have it (%s); name the schemaId", shortQuote(title), len(found), part, strings.Join(paths, ", "))
}
