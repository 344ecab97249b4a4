package labelhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Labels are the labels of one asset in the label format of formats.md §2
// (without externalId): the objects drawn with the schema's tools, the
// answers to its top-level classifications and the relations between the
// objects. Pre-labels in an asset import file (§1 preLabels/annotations)
// have this shape too.
type Labels struct {
	Objects         []Object               `json:"objects"`
	Classifications []ClassificationAnswer `json:"classifications"`
	Relations       []Relation             `json:"relations"`
}

// LabelEntry is one entry of a label import (formats.md §2): the labels
// of every asset with the given externalId.
type LabelEntry struct {
	ExternalID string `json:"externalId"`
	Labels
}

// Answer is a task's answer, the "task" part of an export (formats.md §3)
// and the body of PUT /tasks/{id}/answer. It is Labels with the objects
// named "tools".
type Answer struct {
	Tools           []Object               `json:"tools"`
	Classifications []ClassificationAnswer `json:"classifications"`
	Relations       []Relation             `json:"relations"`
}

// Answer returns l as an Answer; the two share their slices.
func (l Labels) Answer() Answer {
	return Answer{Tools: l.Objects, Classifications: l.Classifications, Relations: l.Relations}
}

// Labels returns a as Labels; the two share their slices.
func (a Answer) Labels() Labels {
	return Labels{Objects: a.Tools, Classifications: a.Classifications, Relations: a.Relations}
}

// ItemMeta is the annotation metadata of an object, a classification
// answer or a relation. The server sets it; Validate neither checks nor
// changes it (input may carry it, as an export does; the server
// overwrites it when it stores an answer), and an export includes it only
// when asked to (formats.md §3). CreatedIn and UpdatedIn name the stage the
// item was created or last changed in. The times use omitzero, not
// omitempty, so that an unset time is left out.
type ItemMeta struct {
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	CreatedBy string    `json:"createdBy,omitempty"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	CreatedIn string    `json:"createdIn,omitempty"`
	UpdatedIn string    `json:"updatedIn,omitempty"`
}

// Object is one object drawn with a tool of the schema. It carries exactly
// one shape, the one of its tool's kind. PDF and Brush shapes are kept as
// they are given; Validate only checks that they are JSON objects (their
// inner format belongs to the editors that draw them). A null shape is the
// same as no shape.
type Object struct {
	ObjectID           string                 `json:"objectId,omitempty"`
	SchemaID           string                 `json:"schemaId,omitempty"`
	Title              string                 `json:"title,omitempty"`
	Page               *int                   `json:"page,omitempty"`
	BoundingBox        *Box                   `json:"bounding-box,omitempty"`
	RotatedBoundingBox *RotatedBox            `json:"rotated-bounding-box,omitempty"`
	Polygon            []Point                `json:"polygon,omitempty"`
	Polyline           []Point                `json:"polyline,omitempty"`
	Point              *Point                 `json:"point,omitempty"`
	Segmentation       *Segmentation          `json:"segmentation,omitempty"`
	NER                *TextSpan              `json:"ner,omitempty"`
	PDF                json.RawMessage        `json:"pdf,omitempty"`
	Brush              json.RawMessage        `json:"brush,omitempty"`
	Classifications    []ClassificationAnswer `json:"classifications,omitempty"`
	ItemMeta
}

// Point is a point [x, y]. In JSON it is an array of exactly two numbers.
type Point [2]float64

// UnmarshalJSON reads [x, y]: exactly two numbers, each within the range
// of a float64. Anything else (null included) is an error, where
// encoding/json would silently drop or zero-fill elements of an array.
func (p *Point) UnmarshalJSON(data []byte) error {
	var q Point
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return errPointShape
	}
	for k := 0; k < 2; k++ {
		i = skipSpace(data, i+1)
		j := i
		for j < len(data) && isNumberByte(data[j]) {
			j++
		}
		if j == i {
			return errPointShape
		}
		v, err := strconv.ParseFloat(string(data[i:j]), 64)
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("point: the number %s is out of range", data[i:j])
		} else if err != nil {
			return errPointShape
		}
		q[k] = v
		i = skipSpace(data, j)
		if i >= len(data) || k == 0 && data[i] != ',' || k == 1 && data[i] != ']' {
			return errPointShape
		}
	}
	if skipSpace(data, i+1) != len(data) {
		return errPointShape
	}
	*p = q
	return nil
}

var errPointShape = errors.New("a point must be [x, y]: an array of two numbers")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// Box is an axis-aligned bounding box: its top-left corner and its size.
type Box struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// RotatedBox is a bounding box turned by Rotation degrees.
type RotatedBox struct {
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	Width    float64 `json:"width"`
	Height   float64 `json:"height"`
	Rotation float64 `json:"rotation"`
}

// Segmentation is a set of zones, each a polygon with optional holes.
type Segmentation struct {
	Zones []Zone `json:"zones"`
}

// Zone is one polygon of a segmentation.
type Zone struct {
	Region []Point   `json:"region"`
	Holes  [][]Point `json:"holes,omitempty"`
}

// TextSpan is a span of a text asset (named-entity recognition): the
// characters from Start up to, not including, End.
type TextSpan struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// ClassificationAnswer answers one classification of the schema. Answer is
// kept as given: a JSON string (radio, single-dropdown, text, and the path
// "A / B / C" of a tree-dropdown node) or a list of strings (checkbox,
// multi-dropdown, rank).
type ClassificationAnswer struct {
	Tool            string                 `json:"tool,omitempty"`
	SchemaID        string                 `json:"schemaId,omitempty"`
	ObjectID        string                 `json:"objectId,omitempty"`
	Title           string                 `json:"title,omitempty"`
	Answer          json.RawMessage        `json:"answer"`
	Classifications []ClassificationAnswer `json:"classifications,omitempty"`
	ItemMeta
}

// Relation links objects of the same answer: a single relation From → To
// (with a Direction), or a group relation listing its objects in Group.
type Relation struct {
	ObjectID  string   `json:"objectId,omitempty"`
	SchemaID  string   `json:"schemaId,omitempty"`
	Title     string   `json:"title,omitempty"`
	From      string   `json:"from,omitempty"`
	To        string   `json:"to,omitempty"`
	Direction string   `json:"direction,omitempty"`
	Group     []string `json:"group,omitempty"`
	ItemMeta
}

// Relation directions. An empty direction is DirectionStraight.
const (
	DirectionStraight      = "straight"
	DirectionReverse       = "reverse"
	DirectionBidirectional = "bidirectional"
	DirectionNone          = "none"
)

// RelationDirections are the directions of a single relation.
var RelationDirections = []string{DirectionStraight, DirectionReverse, DirectionBidirectional, DirectionNone}

// Label limits: the defaults of LabelLimits and the fixed ones.
const (
	DefaultMaxCoordinate = 1e7     // absolute value of any coordinate
	DefaultMaxPoints     = 100_000 // points of one shape
	DefaultMaxObjects    = 10_000  // objects of one answer
	DefaultMaxRelations  = 10_000  // relations of one answer
	DefaultMaxText       = 65_536  // bytes of a text answer
	MaxObjectIDLength    = 100     // bytes of an objectId
	MaxLabelProblems     = 1000    // problems reported for one answer; then Validate stops
	MinPolygonPoints     = 3
	MinPolylinePoints    = 2
	MinRegionPoints      = 3 // points of a segmentation region or hole
	MaxRotation          = 360
)

// LabelLimits are the limits and the asset facts an answer is validated
// with. A zero or negative field means its default.
type LabelLimits struct {
	MaxCoordinate float64 // |x|, |y|, width, height; default DefaultMaxCoordinate
	MaxPoints     int     // points of one shape (a segmentation counts all its zones and holes); default DefaultMaxPoints
	MaxObjects    int     // objects of one answer; default DefaultMaxObjects
	MaxRelations  int     // relations of one answer; default DefaultMaxRelations
	MaxText       int     // bytes of a text answer; default DefaultMaxText
	Pages         int     // pages of the asset (multi-page assets); when > 0, page must be below it. 0: not known
}

func (v LabelLimits) withDefaults() LabelLimits {
	if !(v.MaxCoordinate > 0) {
		v.MaxCoordinate = DefaultMaxCoordinate
	}
	if v.MaxPoints <= 0 {
		v.MaxPoints = DefaultMaxPoints
	}
	if v.MaxObjects <= 0 {
		v.MaxObjects = DefaultMaxObjects
	}
	if v.MaxRelations <= 0 {
		v.MaxRelations = DefaultMaxRelations
	}
	if v.MaxText <= 0 {
		v.MaxText = DefaultMaxText
	}
	if v.Pages < 0 {
		v.Pages = 0
	}
	return v
}

// Validate checks the labels against the schema indexed by idx and the
// limits v (see Answer.Validate for the rules) and returns the problems in
// document order. Paths are prefixed by path: with path "[12].preLabels" a
// problem of the third object's polygon is at
// "[12].preLabels.objects[2].polygon". On success l is normalised in place
// as Answer.Validate describes; on failure it is left unchanged.
func (l *Labels) Validate(idx SchemaIndex, v LabelLimits, path string) []FieldError {
	return validateLabels(nil, &l.Objects, &l.Classifications, &l.Relations, "objects", idx, v, path)
}

// Validate checks the externalId (required, valid UTF-8, not blank) and
// the labels, as Labels.Validate does; path prefixes the paths ("[3]" gives
// "[3].externalId", "[3].objects[0].polygon"). Nothing is normalised
// unless the whole entry is valid.
func (e *LabelEntry) Validate(idx SchemaIndex, v LabelLimits, path string) []FieldError {
	var head Problems
	p := joinPath(path, "externalId")
	switch {
	case e.ExternalID == "":
		head.Add(p, "is required: the externalId of the assets the labels are for")
	case !utf8.ValidString(e.ExternalID):
		head.Add(p, "is not valid UTF-8")
	case strings.TrimSpace(e.ExternalID) == "":
		head.Add(p, "is blank")
	}
	return validateLabels(head, &e.Objects, &e.Classifications, &e.Relations, "objects", idx, v, path)
}

// Validate checks a task's answer against the schema indexed by idx (build
// it from a validated schema) and the limits v, and returns the problems in
// document order, each with a path prefixed by path ("tools[2].polygon",
// "classifications[0].answer", "relations[0].to"). The rules:
//
//   - Every item names its schema entry by schemaId or, when schemaId is
//     empty, by title. A title given with a schemaId must be the entry's.
//     Objects name top-level tools, the top-level classification answers
//     name top-level classifications, relations name relations. Nested
//     classification answers name classifications nested under the
//     object's tool, under the answered classification or under one of its
//     options; those under an option only when that option is chosen (for
//     a tree-dropdown: any option on the chosen path). A classification is
//     answered at most once in one place.
//   - An object has exactly one shape, the one of its tool's kind. Numbers
//     are finite and at most MaxCoordinate in absolute value; boxes have a
//     width and a height above 0; a rotation is within ±360; a polygon has
//     at least 3 points, a polyline 2, a segmentation one zone, each region
//     and hole 3; a shape at most MaxPoints points; a ner span has
//     0 <= start < end; pdf and brush shapes are JSON objects; page is
//     optional, >= 0 and below Pages when Pages is known. At most
//     MaxObjects objects.
//   - objectIds are optional; given ones are at most MaxObjectIDLength
//     bytes of valid UTF-8 without control characters, and unique in the
//     whole answer (objects, classification answers at any depth and
//     relations share one space). They are compared byte for byte (no
//     Unicode normalisation).
//   - A classification answer's tool, when given, is the kind of its
//     classification. Its answer is: radio, single-dropdown: a string, one
//     of the option values; checkbox, multi-dropdown, rank: a list of
//     distinct option values (possibly empty; for rank in rank order);
//     text: a string of at most MaxText bytes; tree-dropdown: the path of
//     any node of the option tree, its values joined with
//     TreePathSeparator ("Vehicle / Car", or "Vehicle" for the inner node).
//     A missing or null answer is an error.
//   - A single relation links two different objects of the answer by
//     objectId in from and to; its direction is one of RelationDirections
//     (default "straight"). A group relation lists at least 2 distinct
//     objects in group and has neither from, to nor direction. At most
//     MaxRelations relations.
//
// After MaxLabelProblems problems Validate stops looking.
//
// When it returns no problems it has normalised a in place: every item has
// its schemaId and title (the schema entry's), every classification answer
// its tool, every item without an objectId a new one (NewID, unique in the
// answer), every single relation a direction, null pdf and brush shapes
// are removed and nil top-level lists are empty lists. Validating a
// normalised answer again changes nothing. When it returns problems, a is
// left unchanged. ItemMeta is neither checked nor changed.
func (a *Answer) Validate(idx SchemaIndex, v LabelLimits, path string) []FieldError {
	return validateLabels(nil, &a.Tools, &a.Classifications, &a.Relations, "tools", idx, v, path)
}

// validateLabels is the one implementation of Labels.Validate and
// Answer.Validate; objectsName is the JSON name of the objects list. The
// problems found are appended to pre; nothing is normalised when there
// are any.
func validateLabels(pre Problems, objects *[]Object, classes *[]ClassificationAnswer, relations *[]Relation, objectsName string,
	idx SchemaIndex, v LabelLimits, path string) []FieldError {
	c := getLabelChecker(idx, v, pre, path)
	defer putLabelChecker(c)
	c.objects(objectsName, *objects)
	if !c.stopped {
		c.classifications("classifications", *classes, nil)
	}
	if !c.stopped {
		c.relations(*relations)
	}
	if len(c.problems) > 0 {
		return c.problems
	}
	c.apply()
	if *objects == nil {
		*objects = []Object{}
	}
	if *classes == nil {
		*classes = []ClassificationAnswer{}
	}
	if *relations == nil {
		*relations = []Relation{}
	}
	return nil
}

// labelCheckers keeps checkers, with their map and buffers, for reuse:
// validating many small answers then allocates little.
var labelCheckers = sync.Pool{New: func() any {
	return &labelChecker{ids: map[string]idInfo{}}
}}

func getLabelChecker(idx SchemaIndex, v LabelLimits, pre Problems, path string) *labelChecker {
	c := labelCheckers.Get().(*labelChecker)
	c.idx, c.lim, c.problems, c.stopped = idx, v.withDefaults(), pre, false
	c.path = append(c.path[:0], path...)
	return c
}

// putLabelChecker returns c to the pool without the references it holds
// into the answer and the schema. A checker grown by a huge answer is
// dropped rather than kept.
func putLabelChecker(c *labelChecker) {
	if len(c.ids) > 4096 || cap(c.arena) > 1<<20 || cap(c.fills) > 8192 {
		return
	}
	clear(c.ids)
	clear(c.fills)
	clear(c.missing)
	clear(c.directions)
	clear(c.nulls)
	clear(c.seen[:cap(c.seen)])
	clear(c.strs[:cap(c.strs)])
	c.idx, c.problems = SchemaIndex{}, nil
	c.path, c.arena, c.fills, c.missing, c.directions, c.nulls, c.seen =
		c.path[:0], c.arena[:0], c.fills[:0], c.missing[:0], c.directions[:0], c.nulls[:0], c.seen[:0]
	labelCheckers.Put(c)
}

// What an objectId names.
type idKind uint8

const (
	idObject idKind = iota + 1
	idClassification
	idRelation
)

func (k idKind) String() string {
	switch k {
	case idObject:
		return "an object"
	case idClassification:
		return "a classification answer"
	}
	return "a relation"
}

// idInfo is what the checker knows of a given objectId: what it names and
// where (arena[off:end] is the item's path).
type idInfo struct {
	kind     idKind
	off, end int32
	group    int32 // the last group relation (index+1) that listed it
}

// labelFill is the schema data an item gets on success; tool is nil for
// objects and relations.
type labelFill struct {
	schemaID, title, tool *string
	sid, ttl, kind        string
}

// labelChecker walks an answer once, in document order. The path of the
// current item is kept in one byte buffer that grows and shrinks as the
// walk goes; strings are made of it only for problems.
type labelChecker struct {
	idx      SchemaIndex
	lim      LabelLimits
	path     []byte
	problems Problems
	stopped  bool // MaxLabelProblems was reached

	ids   map[string]idInfo
	arena []byte // paths of the items with a given objectId

	// Normalisation, applied on success.
	fills      []labelFill
	missing    []*string // empty objectIds
	directions []*string // empty directions of single relations
	nulls      []*json.RawMessage

	seen []answered // classifications answered, per list: a stack
	strs [][]byte   // scratch for list answers
}

// push appends the field name to the path and returns the mark to pop to.
func (c *labelChecker) push(name string) int {
	m := len(c.path)
	if m > 0 {
		c.path = append(c.path, '.')
	}
	c.path = append(c.path, name...)
	return m
}

// pushIndex appends "[i]" to the path.
func (c *labelChecker) pushIndex(i int) int {
	m := len(c.path)
	c.path = append(c.path, '[')
	c.path = strconv.AppendInt(c.path, int64(i), 10)
	c.path = append(c.path, ']')
	return m
}

func (c *labelChecker) pop(m int) { c.path = c.path[:m] }

// errorf records a problem at the current path.
func (c *labelChecker) errorf(format string, args ...any) {
	if c.stopped {
		return
	}
	if len(c.problems) >= MaxLabelProblems {
		c.problems.Add(string(c.path), "and more problems: validation stopped after %d", MaxLabelProblems)
		c.stopped = true
		return
	}
	c.problems.Add(string(c.path), format, args...)
}

// errorAt records a problem at the current path's field name.
func (c *labelChecker) errorAt(name, format string, args ...any) {
	m := c.push(name)
	c.errorf(format, args...)
	c.pop(m)
}

// objectID checks a given objectId (the current path is its item's) and
// registers it; an empty one is remembered to be generated.
func (c *labelChecker) objectID(id *string, kind idKind) {
	s := *id
	if s == "" {
		c.missing = append(c.missing, id)
		return
	}
	switch {
	case len(s) > MaxObjectIDLength:
		c.errorAt("objectId", "is longer than %d bytes", MaxObjectIDLength)
		return
	case !utf8.ValidString(s):
		c.errorAt("objectId", "is not valid UTF-8")
		return
	case hasControl(s):
		c.errorAt("objectId", "contains a control character")
		return
	}
	if prev, dup := c.ids[s]; dup {
		c.errorAt("objectId", "duplicate objectId %s (also at %s)", shortQuote(s), c.arena[prev.off:prev.end])
		return
	}
	off := int32(len(c.arena))
	c.arena = append(c.arena, c.path...)
	c.ids[s] = idInfo{kind: kind, off: off, end: int32(len(c.arena))}
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// resolveTop resolves a top-level item and reports a failure at the field
// that named it.
func (c *labelChecker) resolveTop(part SchemaPart, schemaID, title string) (SchemaEntry, bool) {
	e, err := c.idx.Resolve(part, schemaID, title)
	if err != nil {
		switch {
		case schemaID != "":
			c.errorAt("schemaId", "%v", err)
		case title != "":
			c.errorAt("title", "%v", err)
		default:
			c.errorf("%v", err)
		}
		return SchemaEntry{}, false
	}
	if schemaID != "" && title != "" && title != e.Title {
		c.errorAt("title", "is %s, but schemaId %s is the %s titled %s; give the schemaId alone or with its title",
			shortQuote(title), shortQuote(schemaID), e.Part, shortQuote(e.Title))
		return SchemaEntry{}, false
	}
	return e, true
}

// Objects.

func (c *labelChecker) objects(name string, list []Object) {
	if len(list) == 0 {
		return
	}
	m := c.push(name)
	defer c.pop(m)
	if len(list) > c.lim.MaxObjects {
		c.errorf("has %d objects; the limit is %d", len(list), c.lim.MaxObjects)
		c.stopped = true // nothing else is looked at: the answer is too large
		return
	}
	for i := range list {
		if c.stopped {
			return
		}
		im := c.pushIndex(i)
		c.object(&list[i])
		c.pop(im)
	}
}

// Shape keys, in the order of the Object fields.
const (
	shapeBoundingBox = iota
	shapeRotatedBox
	shapePolygon
	shapePolyline
	shapePoint
	shapeSegmentation
	shapeNER
	shapePDF
	shapeBrush
	shapeCount
)

var shapeNames = [shapeCount]string{"bounding-box", "rotated-bounding-box", "polygon", "polyline", "point", "segmentation", "ner", "pdf", "brush"}

func shapeOfKind(kind string) int {
	for i, n := range shapeNames {
		if n == kind {
			return i
		}
	}
	return -1
}

func isNullJSON(raw json.RawMessage) bool {
	return len(raw) > 0 && string(bytes.TrimSpace(raw)) == "null"
}

// shapes returns which shapes o has (null pdf and brush do not count).
func (c *labelChecker) shapes(o *Object) (present [shapeCount]bool, n int) {
	present = [shapeCount]bool{
		o.BoundingBox != nil, o.RotatedBoundingBox != nil, o.Polygon != nil, o.Polyline != nil,
		o.Point != nil, o.Segmentation != nil, o.NER != nil,
		o.PDF != nil && !isNullJSON(o.PDF), o.Brush != nil && !isNullJSON(o.Brush),
	}
	for _, p := range present {
		if p {
			n++
		}
	}
	return present, n
}

func (c *labelChecker) object(o *Object) {
	c.objectID(&o.ObjectID, idObject)
	e, ok := c.resolveTop(SchemaPartTool, o.SchemaID, o.Title)
	if o.Page != nil {
		switch p := *o.Page; {
		case p < 0:
			c.errorAt("page", "is %d; pages count from 0", p)
		case c.lim.Pages > 0 && p >= c.lim.Pages:
			c.errorAt("page", "is %d, but the asset has %d pages (0 to %d)", p, c.lim.Pages, c.lim.Pages-1)
		}
	}
	present, n := c.shapes(o)
	want := -1
	if ok {
		want = shapeOfKind(e.Kind)
	}
	switch {
	case n == 0 && ok && want >= 0:
		c.errorf("has no shape: the tool %s is a %s; give its %q", shortQuote(e.Title), e.Kind, e.Kind)
	case n == 0:
		c.errorf("has no shape: give one of %s", strings.Join(shapeNames[:], ", "))
	case n > 1:
		var names []string
		for i, p := range present {
			if p {
				names = append(names, shapeNames[i])
			}
		}
		c.errorf("has %d shapes (%s); an object has exactly one", n, strings.Join(names, ", "))
	default:
		got := 0
		for present[got] == false {
			got++
		}
		if ok && got != want {
			c.errorf("the tool %s is a %s; this object has a %s", shortQuote(e.Title), e.Kind, shapeNames[got])
		} else {
			c.shape(o, got)
		}
	}
	if o.PDF != nil && isNullJSON(o.PDF) {
		c.nulls = append(c.nulls, &o.PDF)
	}
	if o.Brush != nil && isNullJSON(o.Brush) {
		c.nulls = append(c.nulls, &o.Brush)
	}
	if ok {
		c.fills = append(c.fills, labelFill{schemaID: &o.SchemaID, title: &o.Title, sid: e.SchemaID, ttl: e.Title})
		if len(o.Classifications) > 0 {
			sc := classScope{ownerKind: "tool", ownerTitle: e.Title, always: e.Tool.Classifications, known: true}
			c.classifications("classifications", o.Classifications, &sc)
		}
	}
}

// shape checks the one shape of o.
func (c *labelChecker) shape(o *Object, which int) {
	m := c.push(shapeNames[which])
	defer c.pop(m)
	switch which {
	case shapeBoundingBox:
		b := o.BoundingBox
		c.box(b.X, b.Y, b.Width, b.Height)
	case shapeRotatedBox:
		b := o.RotatedBoundingBox
		c.box(b.X, b.Y, b.Width, b.Height)
		if !(b.Rotation >= -MaxRotation && b.Rotation <= MaxRotation) {
			c.errorAt("rotation", "is %v; a rotation is in degrees, from -%d to %d", b.Rotation, MaxRotation, MaxRotation)
		}
	case shapePolygon:
		c.points(o.Polygon, MinPolygonPoints, "a polygon")
	case shapePolyline:
		c.points(o.Polyline, MinPolylinePoints, "a polyline")
	case shapePoint:
		c.coords(o.Point)
	case shapeSegmentation:
		c.segmentation(o.Segmentation)
	case shapeNER:
		s := o.NER
		switch {
		case s.Start < 0:
			c.errorAt("start", "is %d; a span starts at 0 or later", s.Start)
		case s.End <= s.Start:
			c.errorAt("end", "is %d; a span ends after its start (%d)", s.End, s.Start)
		}
	case shapePDF:
		c.rawObject(o.PDF)
	case shapeBrush:
		c.rawObject(o.Brush)
	}
}

func (c *labelChecker) rawObject(raw json.RawMessage) {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(raw) {
		c.errorf("must be a JSON object, not %s", rawKind(raw))
	}
}

// number reports whether v is a finite coordinate within the limit; if not,
// it records a problem at the current path.
func (c *labelChecker) number(v float64) bool {
	max := c.lim.MaxCoordinate
	if v >= -max && v <= max {
		return true
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		c.errorf("is not a finite number")
	} else {
		c.errorf("is %v; coordinates are at most %v in absolute value", v, max)
	}
	return false
}

func (c *labelChecker) box(x, y, w, h float64) {
	names := [4]string{"x", "y", "width", "height"}
	for i, v := range [4]float64{x, y, w, h} {
		m := c.push(names[i])
		if c.number(v) && i >= 2 && !(v > 0) {
			c.errorf("is %v; a box's %s must be greater than 0", v, names[i])
		}
		c.pop(m)
	}
}

// points checks a polygon or polyline: the current path is its field.
func (c *labelChecker) points(pts []Point, min int, what string) {
	switch {
	case len(pts) < min:
		c.errorf("has %d points; %s needs at least %d", len(pts), what, min)
	case len(pts) > c.lim.MaxPoints:
		c.errorf("has %d points; the limit is %d", len(pts), c.lim.MaxPoints)
	default:
		c.pointList(pts)
	}
}

// pointList checks the coordinates of pts and reports the first bad one,
// at "[i][0]" or "[i][1]".
func (c *labelChecker) pointList(pts []Point) {
	max := c.lim.MaxCoordinate
	for i := range pts {
		p := &pts[i]
		if p[0] >= -max && p[0] <= max && p[1] >= -max && p[1] <= max {
			continue
		}
		m := c.pushIndex(i)
		c.coords(p)
		c.pop(m)
		return
	}
}

// coords checks the coordinates of p, at "[0]" and "[1]" of the current
// path, and reports the first bad one.
func (c *labelChecker) coords(p *Point) {
	for k := 0; k < 2; k++ {
		m := c.pushIndex(k)
		ok := c.number(p[k])
		c.pop(m)
		if !ok {
			return
		}
	}
}

func (c *labelChecker) segmentation(s *Segmentation) {
	total := 0
	for _, z := range s.Zones {
		total += len(z.Region)
		for _, h := range z.Holes {
			total += len(h)
		}
	}
	switch {
	case len(s.Zones) == 0:
		c.errorAt("zones", "has no zone; a segmentation needs at least one")
		return
	case total > c.lim.MaxPoints:
		c.errorf("has %d points in all its zones and holes; the limit is %d", total, c.lim.MaxPoints)
		return
	}
	zm := c.push("zones")
	defer c.pop(zm)
	for i := range s.Zones {
		z := &s.Zones[i]
		im := c.pushIndex(i)
		rm := c.push("region")
		c.points(z.Region, MinRegionPoints, "a region")
		c.pop(rm)
		if len(z.Holes) > 0 {
			hm := c.push("holes")
			for j, h := range z.Holes {
				jm := c.pushIndex(j)
				c.points(h, MinRegionPoints, "a hole")
				c.pop(jm)
				if c.stopped {
					break
				}
			}
			c.pop(hm)
		}
		c.pop(im)
		if c.stopped {
			return
		}
	}
}

// Classifications.

// classScope is where nested classification answers are looked up: the
// classifications under a tool or a classification (always), and those
// under the options of a classification (opts).
type classScope struct {
	ownerKind  string // "tool" or "classification"
	ownerTitle string
	always     []SchemaClassification
	opts       []optionScope
	// known is false when the parent's answer was wrong: which options are
	// chosen is then not known, and none is blamed for not being chosen.
	known bool
}

// optionScope is an option that opens classifications.
type optionScope struct {
	option *SchemaOption
	path   string // for tree-dropdowns, the option's path; else its value
	chosen bool
}

func (sc *classScope) owner() string {
	return fmt.Sprintf("the %s %s", sc.ownerKind, shortQuote(sc.ownerTitle))
}

// answered is a classification already answered in one list.
type answered struct {
	schemaID string
	off, end int32 // its path in the arena
}

func (c *labelChecker) classifications(name string, list []ClassificationAnswer, sc *classScope) {
	if len(list) == 0 {
		return
	}
	m := c.push(name)
	defer c.pop(m)
	// This list's answered classifications are c.seen[base:]; nested
	// lists push theirs above and pop them before the next item.
	base := len(c.seen)
	defer func() { c.seen = c.seen[:base] }()
	for i := range list {
		if c.stopped {
			return
		}
		im := c.pushIndex(i)
		c.classification(&list[i], sc, base)
		c.pop(im)
	}
}

// classification checks one answer; sc is nil at the top level.
// c.seen[base:] are the classifications answered before in the same list.
func (c *labelChecker) classification(a *ClassificationAnswer, sc *classScope, base int) {
	c.objectID(&a.ObjectID, idClassification)
	var cl *SchemaClassification
	if sc == nil {
		if e, ok := c.resolveTop(SchemaPartClassification, a.SchemaID, a.Title); ok {
			cl = e.Classification
		}
	} else {
		cl = c.resolveNested(sc, a.SchemaID, a.Title)
	}
	if cl == nil {
		return
	}
	for _, s := range c.seen[base:] {
		if s.schemaID == cl.SchemaID {
			c.errorf("answers the classification %s again (also at %s)", shortQuote(cl.Title), c.arena[s.off:s.end])
			return
		}
	}
	off := int32(len(c.arena))
	c.arena = append(c.arena, c.path...)
	c.seen = append(c.seen, answered{schemaID: cl.SchemaID, off: off, end: int32(len(c.arena))})

	if a.Tool != "" && a.Tool != cl.Tool {
		c.errorAt("tool", "is %s, but the classification %s is a %s", shortQuote(a.Tool), shortQuote(cl.Title), cl.Tool)
	}
	am := c.push("answer")
	var chosenBuf [4]*SchemaOption
	chosen, valid := c.answer(a.Answer, cl, chosenBuf[:0])
	c.pop(am)
	c.fills = append(c.fills, labelFill{schemaID: &a.SchemaID, title: &a.Title, tool: &a.Tool, sid: cl.SchemaID, ttl: cl.Title, kind: cl.Tool})
	if len(a.Classifications) > 0 {
		nested := classScope{ownerKind: "classification", ownerTitle: cl.Title, always: cl.Classifications, known: valid}
		if cl.Tool == "tree-dropdown" {
			nested.opts = treeOptionScopes(nil, "", cl.Options, chosen)
		} else {
			for i := range cl.Options {
				o := &cl.Options[i]
				if len(o.Classifications) > 0 {
					nested.opts = append(nested.opts, optionScope{option: o, path: o.Value, chosen: containsOption(chosen, o)})
				}
			}
		}
		c.classifications("classifications", a.Classifications, &nested)
	}
}

func containsOption(list []*SchemaOption, o *SchemaOption) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}

// treeOptionScopes collects the nodes of a tree that open classifications.
func treeOptionScopes(out []optionScope, prefix string, opts []SchemaOption, chosen []*SchemaOption) []optionScope {
	for i := range opts {
		o := &opts[i]
		p := o.Value
		if prefix != "" {
			p = prefix + TreePathSeparator + o.Value
		}
		if len(o.Classifications) > 0 {
			out = append(out, optionScope{option: o, path: p, chosen: containsOption(chosen, o)})
		}
		out = treeOptionScopes(out, p, o.Children, chosen)
	}
	return out
}

// resolveNested finds the classification a nested answer names in sc and
// reports a failure at the field that named it.
func (c *labelChecker) resolveNested(sc *classScope, schemaID, title string) *SchemaClassification {
	field, key := "schemaId", schemaID
	if schemaID == "" {
		field, key = "title", title
	}
	if key == "" {
		c.errorf("names no schemaId nor title")
		return nil
	}
	match := func(cl *SchemaClassification) bool {
		if schemaID != "" {
			return cl.SchemaID == schemaID
		}
		return cl.Title == title
	}
	// Active lists first: the owner's classifications and those of the
	// chosen options (all options when the choice is not known).
	var found *SchemaClassification
	n := 0
	active := func(yield func([]SchemaClassification) bool) {
		if !yield(sc.always) {
			return
		}
		for _, o := range sc.opts {
			if (o.chosen || !sc.known) && !yield(o.option.Classifications) {
				return
			}
		}
	}
	for list := range active {
		for i := range list {
			if match(&list[i]) {
				if found == nil {
					found = &list[i]
				}
				n++
			}
		}
	}
	switch {
	case n == 1:
		if title != "" && schemaID != "" && found.Title != title {
			c.errorAt("title", "is %s, but schemaId %s is the classification titled %s; give the schemaId alone or with its title",
				shortQuote(title), shortQuote(schemaID), shortQuote(found.Title))
			return nil
		}
		return found
	case n > 1:
		var paths []string
		for list := range active {
			for i := range list {
				if match(&list[i]) {
					e, _ := c.idx.ByID(list[i].SchemaID)
					paths = append(paths, e.Path)
				}
			}
		}
		c.errorAt(field, "title %s is ambiguous under %s: %d classifications have it (%s); name the schemaId",
			shortQuote(title), sc.owner(), n, strings.Join(paths, ", "))
		return nil
	}
	// Options not chosen.
	for _, o := range sc.opts {
		if o.chosen || !sc.known {
			continue
		}
		for i := range o.option.Classifications {
			if match(&o.option.Classifications[i]) {
				c.errorAt(field, "the classification %s belongs to the option %s of %s, which is not chosen",
					shortQuote(o.option.Classifications[i].Title), shortQuote(o.path), sc.owner())
				return nil
			}
		}
	}
	if schemaID == "" {
		c.errorAt(field, "no classification titled %s under %s", shortQuote(title), sc.owner())
		return nil
	}
	if e, ok := c.idx.ByID(schemaID); ok {
		c.errorAt(field, "schemaId %s is the %s at %s, not a classification under %s", shortQuote(schemaID), e.Part, e.Path, sc.owner())
	} else {
		c.errorAt(field, "unknown schemaId %s", shortQuote(schemaID))
	}
	return nil
}

// rawKind names the JSON kind of a raw value for messages.
func rawKind(raw []byte) string {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '[':
		return "a list"
	case '{':
		return "an object"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// answer checks a raw answer (the current path is "answer") against cl and
// returns the options it chooses (appended to chosen) and whether it is
// valid.
func (c *labelChecker) answer(raw json.RawMessage, cl *SchemaClassification, chosen []*SchemaOption) ([]*SchemaOption, bool) {
	if len(raw) == 0 || isNullJSON(raw) {
		c.errorf("is required: %s", answerShape(cl))
		return chosen, false
	}
	if !utf8.Valid(raw) {
		c.errorf("is not valid UTF-8")
		return chosen, false
	}
	switch cl.Tool {
	case "radio", "single-dropdown", "text", "tree-dropdown":
		s, ok := rawString(raw)
		if !ok {
			c.errorf("must be %s, not %s", answerShape(cl), rawKind(raw))
			return chosen, false
		}
		switch cl.Tool {
		case "text":
			if len(s) > c.lim.MaxText {
				c.errorf("is %d bytes long; the limit is %d", len(s), c.lim.MaxText)
				return chosen, false
			}
			return chosen, true
		case "tree-dropdown":
			return c.treeAnswer(s, cl, chosen)
		}
		o := findOption(cl.Options, s)
		if o == nil {
			c.errorf("%s is not an option of the classification %s: %s", shortQuote(string(s)), shortQuote(cl.Title), optionList(cl.Options))
			return chosen, false
		}
		return append(chosen, o), true
	case "checkbox", "multi-dropdown", "rank":
		list, ok := c.rawStrings(raw)
		if !ok {
			c.errorf("must be %s, not %s", answerShape(cl), rawKind(raw))
			return chosen, false
		}
		start := len(chosen)
		for i, s := range list {
			o := findOption(cl.Options, s)
			if o == nil {
				m := c.pushIndex(i)
				c.errorf("%s is not an option of the classification %s: %s", shortQuote(string(s)), shortQuote(cl.Title), optionList(cl.Options))
				c.pop(m)
				return chosen[:start], false
			}
			for j := start; j < len(chosen); j++ {
				if chosen[j] == o {
					m := c.pushIndex(i)
					c.errorf("repeats %s (also at [%d]); the values of a %s answer are distinct", shortQuote(string(s)), j-start, cl.Tool)
					c.pop(m)
					return chosen[:start], false
				}
			}
			chosen = append(chosen, o)
		}
		return chosen, true
	}
	// A schema kind Validate would have refused: nothing to check against.
	c.errorf("the classification %s has the unknown kind %s", shortQuote(cl.Title), shortQuote(cl.Tool))
	return chosen, false
}

func answerShape(cl *SchemaClassification) string {
	switch cl.Tool {
	case "radio", "single-dropdown":
		return "a string, one of the option values of the " + cl.Tool + " " + shortQuote(cl.Title)
	case "text":
		return "a string (text)"
	case "tree-dropdown":
		return fmt.Sprintf("a string, the path of an option of the tree-dropdown %s (values joined with %q)", shortQuote(cl.Title), TreePathSeparator)
	}
	return "a list of option values of the " + cl.Tool + " " + shortQuote(cl.Title)
}

func findOption(opts []SchemaOption, v []byte) *SchemaOption {
	for i := range opts {
		if opts[i].Value == string(v) {
			return &opts[i]
		}
	}
	return nil
}

// optionList names the options for a message: the first few.
func optionList(opts []SchemaOption) string {
	const n = 10
	var b strings.Builder
	b.WriteString("use one of ")
	for i := range opts {
		if i == n {
			fmt.Fprintf(&b, ", … (%d in all)", len(opts))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(shortQuote(opts[i].Value))
	}
	return b.String()
}

// treeAnswer walks the path s down the option tree of cl.
func (c *labelChecker) treeAnswer(s []byte, cl *SchemaClassification, chosen []*SchemaOption) ([]*SchemaOption, bool) {
	start := len(chosen)
	level := cl.Options
	rest := s
	sep := []byte(TreePathSeparator)
	for depth := 0; ; depth++ {
		seg := rest
		i := bytes.Index(rest, sep)
		if i >= 0 {
			seg = rest[:i]
		}
		o := findOption(level, seg)
		if o == nil {
			switch {
			case depth == 0:
				c.errorf("%s is not in the option tree of %s: its first value %s is not a top-level option (%s)",
					shortQuote(string(s)), shortQuote(cl.Title), shortQuote(string(seg)), optionList(level))
			case len(level) == 0:
				c.errorf("%s is not in the option tree of %s: %s has no children",
					shortQuote(string(s)), shortQuote(cl.Title), shortQuote(string(s[:len(s)-len(rest)-len(sep)])))
			default:
				c.errorf("%s is not in the option tree of %s: %s has no child %s (%s)",
					shortQuote(string(s)), shortQuote(cl.Title), shortQuote(string(s[:len(s)-len(rest)-len(sep)])), shortQuote(string(seg)), optionList(level))
			}
			return chosen[:start], false
		}
		chosen = append(chosen, o)
		if i < 0 {
			return chosen, true
		}
		rest = rest[i+len(sep):]
		level = o.Children
	}
}

// rawString returns the string a raw JSON value holds, without copying
// when it has no escapes.
func rawString(raw []byte) ([]byte, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		if s, ok := plainString(t[1 : len(t)-1]); ok {
			return s, true
		}
	}
	var s string
	if len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// plainString reports whether the inside of a JSON string has nothing to
// unescape (then it is the string itself).
func plainString(b []byte) ([]byte, bool) {
	for _, ch := range b {
		if ch == '\\' || ch == '"' || ch < 0x20 {
			return nil, false
		}
	}
	return b, true
}

// rawStrings returns the strings of a raw JSON list of strings. The result
// is scratch space, valid until the next call.
func (c *labelChecker) rawStrings(raw []byte) ([][]byte, bool) {
	out := c.strs[:0]
	defer func() { c.strs = out[:0] }()
	t := bytes.TrimSpace(raw)
	if len(t) >= 2 && t[0] == '[' {
		i := skipSpace(t, 1)
		ok := true
		if t[i] != ']' {
			for ok {
				if t[i] != '"' {
					ok = false
					break
				}
				j := i + 1
				for j < len(t) && t[j] != '"' && t[j] != '\\' && t[j] >= 0x20 {
					j++
				}
				if j >= len(t) || t[j] != '"' {
					ok = false
					break
				}
				out = append(out, t[i+1:j])
				i = skipSpace(t, j+1)
				if i < len(t) && t[i] == ',' {
					i = skipSpace(t, i+1)
					if i >= len(t) {
						ok = false
					}
					continue
				}
				break
			}
		}
		if ok && i == len(t)-1 && t[i] == ']' {
			return out, true
		}
	}
	out = out[:0]
	var list []string
	if len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &list) != nil {
		return nil, false
	}
	for _, s := range list {
		out = append(out, []byte(s))
	}
	return out, true
}

// Relations.

func (c *labelChecker) relations(list []Relation) {
	if len(list) == 0 {
		return
	}
	m := c.push("relations")
	defer c.pop(m)
	if len(list) > c.lim.MaxRelations {
		c.errorf("has %d relations; the limit is %d", len(list), c.lim.MaxRelations)
		return
	}
	for i := range list {
		if c.stopped {
			return
		}
		im := c.pushIndex(i)
		c.relation(&list[i], int32(i+1))
		c.pop(im)
	}
}

func (c *labelChecker) relation(r *Relation, stamp int32) {
	c.objectID(&r.ObjectID, idRelation)
	e, ok := c.resolveTop(SchemaPartRelation, r.SchemaID, r.Title)
	kind := ""
	if ok {
		kind = e.Kind
		c.fills = append(c.fills, labelFill{schemaID: &r.SchemaID, title: &r.Title, sid: e.SchemaID, ttl: e.Title})
	}
	switch kind {
	case "single":
		if len(r.Group) > 0 {
			c.errorAt("group", "the relation %s is single: it links from and to, not a group", shortQuote(e.Title))
			return
		}
	case "group":
		switch {
		case r.From != "":
			c.errorAt("from", "the relation %s is a group: list its objects in group, not from and to", shortQuote(e.Title))
			return
		case r.To != "":
			c.errorAt("to", "the relation %s is a group: list its objects in group, not from and to", shortQuote(e.Title))
			return
		case r.Direction != "":
			c.errorAt("direction", "the relation %s is a group: it has no direction", shortQuote(e.Title))
			return
		}
	}
	if kind == "single" || kind == "" && len(r.Group) == 0 {
		c.ref("from", r.From)
		if c.ref("to", r.To) && r.To == r.From {
			c.errorAt("to", "is the same object as from; a relation links two different objects")
		}
		switch {
		case r.Direction == "":
			if ok {
				c.directions = append(c.directions, &r.Direction)
			}
		case !validDirection(r.Direction):
			c.errorAt("direction", "is %s; use one of %s", shortQuote(r.Direction), strings.Join(RelationDirections, ", "))
		}
		return
	}
	gm := c.push("group")
	defer c.pop(gm)
	if len(r.Group) < 2 {
		c.errorf("has %d objects; a group relation needs at least 2", len(r.Group))
		return
	}
	for i, id := range r.Group {
		im := c.pushIndex(i)
		if c.refCheck(id) {
			info := c.ids[id]
			if info.group == stamp {
				c.errorf("repeats the object %s; the objects of a group are distinct", shortQuote(id))
			} else {
				info.group = stamp
				c.ids[id] = info
			}
		}
		c.pop(im)
		if c.stopped {
			return
		}
	}
}

func validDirection(d string) bool {
	for _, x := range RelationDirections {
		if d == x {
			return true
		}
	}
	return false
}

// ref checks the objectId in the field name of a relation.
func (c *labelChecker) ref(name, id string) bool {
	m := c.push(name)
	defer c.pop(m)
	return c.refCheck(id)
}

// refCheck checks that id (at the current path) names an object.
func (c *labelChecker) refCheck(id string) bool {
	if id == "" {
		c.errorf("is required: the objectId of an object of this answer")
		return false
	}
	info, ok := c.ids[id]
	switch {
	case !ok:
		c.errorf("no object of this answer has the objectId %s", shortQuote(id))
		return false
	case info.kind != idObject:
		c.errorf("objectId %s is %s (at %s), not an object", shortQuote(id), info.kind, c.arena[info.off:info.end])
		return false
	}
	return true
}

// apply normalises the answer after a successful walk.
func (c *labelChecker) apply() {
	for _, f := range c.fills {
		*f.schemaID, *f.title = f.sid, f.ttl
		if f.tool != nil {
			*f.tool = f.kind
		}
	}
	for _, id := range c.missing {
		for *id == "" {
			if n := NewID(); c.ids[n].kind == 0 {
				*id = n
				c.ids[n] = idInfo{kind: idObject}
			}
		}
	}
	for _, d := range c.directions {
		*d = DirectionStraight
	}
	for _, n := range c.nulls {
		*n = nil
	}
}

// joinPath joins a path prefix and a relative path ("" + "a" = "a",
// "p" + "a" = "p.a", "p" + "[0]" = "p[0]").
func joinPath(prefix, rel string) string {
	switch {
	case prefix == "":
		return rel
	case rel == "":
		return prefix
	case rel[0] == '[':
		return prefix + rel
	}
	return prefix + "." + rel
}
