package labelhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DecodeLabels reads one JSON object of labels (formats.md §2 without
// externalId). Unknown fields are refused, numbers must fit their fields
// (1e999 does not fit a float64), points are exactly [x, y], and nothing
// may follow the object. A failure is an *Error (code invalid) with one
// detail naming the first misfit in document order by its JSON path,
// relative to data ("objects[0].bbox", "objects[1].polygon[2]"; "" for
// the document itself); a caller that decodes a part of a larger document
// prefixes the path (PrefixFieldErrors). Decoding does not validate
// against a schema: call Validate.
func DecodeLabels(data []byte) (Labels, error) {
	var l Labels
	if err := decodeStrict(data, &l, labelsShape, "labels"); err != nil {
		return Labels{}, err
	}
	return l, nil
}

// DecodeAnswer reads a task's answer ("tools", "classifications",
// "relations") as DecodeLabels reads labels.
func DecodeAnswer(data []byte) (Answer, error) {
	var a Answer
	if err := decodeStrict(data, &a, answerJSONShape, "answer"); err != nil {
		return Answer{}, err
	}
	return a, nil
}

// DecodeLabelEntry reads one entry of a label import (externalId and
// labels) as DecodeLabels reads labels. An importer that streams the
// entries of the import array reads each as a json.RawMessage and decodes
// it with this, prefixing the paths with the entry's index ("[12]").
func DecodeLabelEntry(data []byte) (LabelEntry, error) {
	var e LabelEntry
	if err := decodeStrict(data, &e, labelEntryShape, "label entry"); err != nil {
		return LabelEntry{}, err
	}
	return e, nil
}

// PrefixFieldErrors prefixes the paths of errs with prefix, in place
// ("[12].preLabels" and "objects[0].bbox" give
// "[12].preLabels.objects[0].bbox"; "" gives "[12].preLabels"), and
// returns errs.
func PrefixFieldErrors(prefix string, errs []FieldError) []FieldError {
	for i := range errs {
		errs[i].Path = joinPath(prefix, errs[i].Path)
	}
	return errs
}

// decodeStrict decodes data into v with encoding/json (unknown fields
// refused) and, when that fails, or data is not one JSON object, finds
// the first misfit with its path by walking data along shape.
func decodeStrict(data []byte, v any, shape *jsonShape, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if i := skipSpace(data, 0); i >= len(data) || data[i] != '{' {
			err = errors.New("not an object")
		} else if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the object")
		}
	}
	if err == nil {
		return nil
	}
	fe, ok := locateJSONError(data, shape)
	if !ok {
		fe = FieldError{Path: "", Message: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return Invalid("invalid "+what+" JSON", fe)
}

// jsonKind is what a jsonShape accepts.
type jsonKind uint8

const (
	jObject jsonKind = iota // a JSON object with the shape's fields
	jArray                  // a list of elem
	jString
	jFloat // a number that fits a float64
	jInt   // a whole number that fits an int
	jAny   // any JSON value, kept raw
	jPoint // [x, y]
	jTime  // an RFC 3339 time string
)

// jsonShape describes, without reflection, the JSON that a label type
// accepts, as encoding/json decodes it into that type. It serves only to
// name the place of a decoding error.
type jsonShape struct {
	kind   jsonKind
	what   string // for messages: "an object", "a number"
	fields []jsonField
	elem   *jsonShape
	noNull bool // null is refused (points in a list: Point.UnmarshalJSON refuses it)
}

type jsonField struct {
	key   string
	shape *jsonShape
}

// field finds the field a key sets, as encoding/json matches keys: the
// exact name first, then case-insensitively.
func (s *jsonShape) field(key string) *jsonShape {
	for _, f := range s.fields {
		if f.key == key {
			return f.shape
		}
	}
	for _, f := range s.fields {
		if strings.EqualFold(f.key, key) {
			return f.shape
		}
	}
	return nil
}

func (s *jsonShape) fieldNames() string {
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.key
	}
	return strings.Join(names, ", ")
}

var (
	stringShape    = &jsonShape{kind: jString, what: "a string"}
	floatShape     = &jsonShape{kind: jFloat, what: "a number"}
	intShape       = &jsonShape{kind: jInt, what: "a whole number"}
	anyShape       = &jsonShape{kind: jAny, what: "a JSON value"}
	timeShape      = &jsonShape{kind: jTime, what: "a time in RFC 3339 format (2026-11-22T12:00:00Z)"}
	pointShape     = &jsonShape{kind: jPoint, what: "a point [x, y]"}
	listPointShape = &jsonShape{kind: jPoint, what: "a point [x, y]", noNull: true}
	pointsShape    = &jsonShape{kind: jArray, what: "a list of points [[x, y], …]", elem: listPointShape}
	stringsShape   = &jsonShape{kind: jArray, what: "a list of strings", elem: stringShape}

	boxShape = &jsonShape{kind: jObject, what: "a bounding box {x, y, width, height}", fields: []jsonField{
		{"x", floatShape}, {"y", floatShape}, {"width", floatShape}, {"height", floatShape}}}
	rotatedBoxShape = &jsonShape{kind: jObject, what: "a rotated bounding box {x, y, width, height, rotation}", fields: []jsonField{
		{"x", floatShape}, {"y", floatShape}, {"width", floatShape}, {"height", floatShape}, {"rotation", floatShape}}}
	zoneShape = &jsonShape{kind: jObject, what: "a zone {region, holes}", fields: []jsonField{
		{"region", pointsShape}, {"holes", &jsonShape{kind: jArray, what: "a list of holes (lists of points)", elem: pointsShape}}}}
	segmentationShape = &jsonShape{kind: jObject, what: "a segmentation {zones}", fields: []jsonField{
		{"zones", &jsonShape{kind: jArray, what: "a list of zones", elem: zoneShape}}}}
	spanShape = &jsonShape{kind: jObject, what: "a text span {start, end}", fields: []jsonField{
		{"start", intShape}, {"end", intShape}}}

	metaFields = []jsonField{
		{"createdAt", timeShape}, {"updatedAt", timeShape}, {"createdBy", stringShape},
		{"updatedBy", stringShape}, {"createdIn", stringShape}, {"updatedIn", stringShape}}

	classificationShape  = &jsonShape{kind: jObject, what: "a classification answer"}
	classificationsShape = &jsonShape{kind: jArray, what: "a list of classification answers", elem: classificationShape}
	objectShape          = &jsonShape{kind: jObject, what: "an object"}
	objectsShape         = &jsonShape{kind: jArray, what: "a list of objects", elem: objectShape}
	relationShape        = &jsonShape{kind: jObject, what: "a relation"}
	relationsShape       = &jsonShape{kind: jArray, what: "a list of relations", elem: relationShape}
	labelsShape          = &jsonShape{kind: jObject, what: "labels"}
	answerJSONShape      = &jsonShape{kind: jObject, what: "an answer"}
	labelEntryShape      = &jsonShape{kind: jObject, what: "a label entry"}
)

func init() {
	classificationShape.fields = append([]jsonField{
		{"tool", stringShape}, {"schemaId", stringShape}, {"objectId", stringShape}, {"title", stringShape},
		{"answer", anyShape}, {"classifications", classificationsShape}}, metaFields...)
	objectShape.fields = append([]jsonField{
		{"objectId", stringShape}, {"schemaId", stringShape}, {"title", stringShape}, {"page", intShape},
		{"bounding-box", boxShape}, {"rotated-bounding-box", rotatedBoxShape}, {"polygon", pointsShape},
		{"polyline", pointsShape}, {"point", pointShape}, {"segmentation", segmentationShape}, {"ner", spanShape},
		{"pdf", anyShape}, {"brush", anyShape}, {"classifications", classificationsShape}}, metaFields...)
	relationShape.fields = append([]jsonField{
		{"objectId", stringShape}, {"schemaId", stringShape}, {"title", stringShape}, {"from", stringShape},
		{"to", stringShape}, {"direction", stringShape}, {"group", stringsShape}}, metaFields...)
	labelsShape.fields = []jsonField{{"objects", objectsShape}, {"classifications", classificationsShape}, {"relations", relationsShape}}
	answerJSONShape.fields = []jsonField{{"tools", objectsShape}, {"classifications", classificationsShape}, {"relations", relationsShape}}
	labelEntryShape.fields = append([]jsonField{{"externalId", stringShape}}, labelsShape.fields...)
}

// jsonLocator walks a JSON document token by token along a jsonShape and
// stops at the first place where the document does not fit.
type jsonLocator struct {
	data  []byte
	dec   *json.Decoder
	path  []byte
	depth int // open objects and lists
	found FieldError
}

// maxJSONDepth is the nesting limit of encoding/json.
const maxJSONDepth = 10000

// enter counts an opened object or list.
func (w *jsonLocator) enter() error {
	w.depth++
	if w.depth > maxJSONDepth {
		return w.fail("is nested more than %d levels deep", maxJSONDepth)
	}
	return nil
}

var errLocated = errors.New("located")

// locateJSONError finds the first misfit of data with shape: a syntax
// error, an unknown field, a value of the wrong kind or out of range, or
// data after the object.
func locateJSONError(data []byte, shape *jsonShape) (FieldError, bool) {
	w := jsonLocator{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	tok, err := w.dec.Token()
	switch {
	case err == io.EOF:
		return FieldError{Path: "", Message: "is empty; " + shape.what + " is a JSON object"}, true
	case err != nil:
		w.tokenError(err)
		return w.found, true
	case tok != json.Delim('{'):
		return FieldError{Path: "", Message: fmt.Sprintf("must be a JSON object (%s), not %s", shape.what, tokenKind(tok))}, true
	}
	if w.valueToken(shape, tok) != nil {
		return w.found, true
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return FieldError{Path: "", Message: "has more data after the JSON object; send one object"}, true
	}
	return FieldError{}, false
}

func (w *jsonLocator) fail(format string, args ...any) error {
	w.found = FieldError{Path: string(w.path), Message: fmt.Sprintf(format, args...)}
	return errLocated
}

func (w *jsonLocator) tokenError(err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF:
		return w.fail("the JSON ends too early (a missing } or ]?)")
	case errors.As(err, &syntax):
		return w.fail("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	}
	return w.fail("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func (w *jsonLocator) push(key string) {
	if len(w.path) > 0 {
		w.path = append(w.path, '.')
	}
	w.path = append(w.path, key...)
}

func (w *jsonLocator) value(s *jsonShape) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.tokenError(err)
	}
	return w.valueToken(s, tok)
}

func tokenKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// valueToken checks the value that starts with tok against s.
func (w *jsonLocator) valueToken(s *jsonShape, tok json.Token) error {
	if tok == nil {
		if s.noNull {
			return w.fail("must be %s, not null", s.what)
		}
		return nil
	}
	kindErr := func() error { return w.fail("must be %s, not %s", s.what, tokenKind(tok)) }
	switch s.kind {
	case jAny:
		return w.skip(tok)
	case jString:
		if _, ok := tok.(string); !ok {
			return kindErr()
		}
	case jTime:
		str, ok := tok.(string)
		if !ok {
			return kindErr()
		}
		// time.Time reads the raw string, escapes and all, so the check
		// needs the raw bytes: they end at the decoder's offset.
		var t time.Time
		if t.UnmarshalJSON(rawStringBefore(w.data, int(w.dec.InputOffset()))) != nil {
			return w.fail("must be %s, not %s", s.what, shortQuote(str))
		}
	case jFloat:
		n, ok := tok.(json.Number)
		if !ok {
			return kindErr()
		}
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return w.fail("the number %s is out of range", shortNumber(n))
		}
	case jInt:
		n, ok := tok.(json.Number)
		if !ok {
			return kindErr()
		}
		if _, err := strconv.ParseInt(string(n), 10, strconv.IntSize); err != nil {
			if strings.ContainsAny(string(n), ".eE") {
				return w.fail("must be a whole number, not %s", shortNumber(n))
			}
			return w.fail("the number %s is out of range", shortNumber(n))
		}
	case jPoint:
		if tok != json.Delim('[') {
			return kindErr()
		}
		if err := w.enter(); err != nil {
			return err
		}
		defer func() { w.depth-- }()
		i := 0
		for ; w.dec.More(); i++ {
			m := len(w.path)
			w.path = append(w.path, '[')
			w.path = strconv.AppendInt(w.path, int64(i), 10)
			w.path = append(w.path, ']')
			if i >= 2 {
				return w.fail("is one number too many: a point is [x, y]")
			}
			if err := w.value(floatShape); err != nil {
				return err
			}
			w.path = w.path[:m]
		}
		if i < 2 {
			return w.fail("has %d numbers; a point is [x, y]", i)
		}
		if _, err := w.dec.Token(); err != nil {
			return w.tokenError(err)
		}
	case jArray:
		if tok != json.Delim('[') {
			return kindErr()
		}
		if err := w.enter(); err != nil {
			return err
		}
		defer func() { w.depth-- }()
		for i := 0; w.dec.More(); i++ {
			m := len(w.path)
			w.path = append(w.path, '[')
			w.path = strconv.AppendInt(w.path, int64(i), 10)
			w.path = append(w.path, ']')
			if err := w.value(s.elem); err != nil {
				return err
			}
			w.path = w.path[:m]
		}
		if _, err := w.dec.Token(); err != nil {
			return w.tokenError(err)
		}
	case jObject:
		if tok != json.Delim('{') {
			return kindErr()
		}
		if err := w.enter(); err != nil {
			return err
		}
		defer func() { w.depth-- }()
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return w.tokenError(err)
			}
			key, _ := kt.(string)
			m := len(w.path)
			w.push(key)
			f := s.field(key)
			if f == nil {
				if key == "" {
					w.path = append(w.path, `""`...)
				}
				return w.fail("is not a field of %s; its fields are %s", s.what, s.fieldNames())
			}
			if err := w.value(f); err != nil {
				return err
			}
			w.path = w.path[:m]
		}
		if _, err := w.dec.Token(); err != nil {
			return w.tokenError(err)
		}
	}
	return nil
}

// skip reads the rest of a value that started with tok.
func (w *jsonLocator) skip(tok json.Token) error {
	if d, ok := tok.(json.Delim); !ok || d == '}' || d == ']' {
		return nil
	}
	base := w.depth
	if err := w.enter(); err != nil {
		return err
	}
	for w.depth > base {
		t, err := w.dec.Token()
		if err != nil {
			return w.tokenError(err)
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				if err := w.enter(); err != nil {
					return err
				}
			} else {
				w.depth--
			}
		}
	}
	return nil
}

// shortNumber cuts a number for a message to 40 bytes.
func shortNumber(n json.Number) string {
	if len(n) <= 40 {
		return string(n)
	}
	return string(n[:40]) + "…"
}

// rawStringBefore returns the JSON string, quotes included, that ends at
// data[end-1]: its opening quote is the first one before it that is not
// escaped (inside a JSON string every quote is escaped).
func rawStringBefore(data []byte, end int) []byte {
	if end > len(data) || end < 2 || data[end-1] != '"' {
		return nil
	}
	for j := end - 2; j >= 0; j-- {
		if data[j] != '"' {
			continue
		}
		n := 0
		for k := j - 1; k >= 0 && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return data[j:end]
		}
	}
	return nil
}
