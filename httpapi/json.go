package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// statusOf maps an error code to its HTTP status.
var statusOf = map[string]int{
	labelhub.ECodeInvalid:      http.StatusBadRequest,
	labelhub.ECodeNotFound:     http.StatusNotFound,
	labelhub.ECodeConflict:     http.StatusConflict,
	labelhub.ECodeUnauthorized: http.StatusUnauthorized,
	labelhub.ECodeForbidden:    http.StatusForbidden,
	labelhub.ECodeTooLarge:     http.StatusRequestEntityTooLarge,
	labelhub.ECodeRateLimited:  http.StatusTooManyRequests,
	labelhub.ECodeUnavailable:  http.StatusServiceUnavailable,
	labelhub.ECodeInternal:     http.StatusInternalServerError,
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes err in the error shape. Errors that are not
// *labelhub.Error are logged and answered as internal, without details.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *labelhub.Error
	if !errors.As(err, &e) {
		// The route's pattern, not the path: a path may hold a signed
		// token (the /v2 URLs of Python plugins).
		log.Error("request failed", "method", r.Method, "route", r.Pattern, "err", err)
		e = labelhub.Errorf(labelhub.ECodeInternal, "internal error; the server log has the details")
	}
	if e.Code == labelhub.ECodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="labelhub"`)
	}
	if e.Code == labelhub.ECodeRateLimited && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, statusOf[e.Code], map[string]*labelhub.Error{"error": e})
}

// decode reads one JSON value from the body into v: at most max bytes,
// unknown fields refused, nothing after the value. Errors name the field
// by its full path ("categorySchema.tools[1].title").
// The Content-Type is not checked (curl -d sends a form type); cookie
// sessions are protected by the X-CSRF-Token header instead.
func decode(r *http.Request, w http.ResponseWriter, max int64, v any) error {
	// The whole body is read first (it is at most max bytes): an error is
	// then located in it by firstMisfit.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return decodeError(err, max, nil, v)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, max, body, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeError(err, max, body, v)
		}
		return labelhub.Errorf(labelhub.ECodeInvalid, "the body has data after its JSON value")
	}
	return nil
}

func decodeError(err error, max int64, body []byte, v any) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return labelhub.Errorf(labelhub.ECodeTooLarge, "the body is larger than the limit of %d bytes (--max-body)", max)
	case body == nil:
		return labelhub.Errorf(labelhub.ECodeInvalid, "could not read the body: %v", err)
	case errors.Is(err, io.EOF):
		return labelhub.Errorf(labelhub.ECodeInvalid, "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return labelhub.Errorf(labelhub.ECodeInvalid, "the body is truncated JSON")
	case errors.As(err, &syntax):
		return labelhub.Errorf(labelhub.ECodeInvalid, "malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		path := typ.Field
		kind, _, _ := strings.Cut(typ.Value, " ") // "number 300" for overflows
		if m, ok := firstMisfit(body, reflect.TypeOf(v)); ok && m.unknownKey == "" && m.jsonKind == kind &&
			strings.EqualFold(lastKey(m.path), lastKey(path)) {
			path = m.path
		}
		if path == "" {
			path = "(body)"
		}
		return labelhub.Invalid("wrong type", labelhub.FieldError{Path: path, Message: fmt.Sprintf("must be %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		path := name
		if m, ok := firstMisfit(body, reflect.TypeOf(v)); ok && m.unknownKey == name {
			path = m.path
		}
		if name == "" {
			path += `""` // an empty key: the path still names it
		}
		return labelhub.Invalid("unknown field", labelhub.FieldError{Path: path, Message: "is not a field of this object"})
	}
	return labelhub.Errorf(labelhub.ECodeInvalid, "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// misfit is the first place where a JSON document does not fit a Go type.
type misfit struct {
	path       string // "categorySchema.tools[1].title"; "" for the whole body
	unknownKey string // set when an object has a key its struct lacks
	jsonKind   string // otherwise the JSON kind of the value: object, array, string, number, bool
}

var (
	errMisfit       = errors.New("misfit")
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	errObjectKey    = errors.New("object key is not a string")
)

// firstMisfit walks a syntactically valid JSON document alongside type t
// and finds, in document order, the first unknown struct key or value of
// a kind t cannot hold, as encoding/json reports them, but with the full
// path. encoding/json names neither array indices nor the parents of an
// unknown field, so decodeError uses this to name the item and field. It
// is conservative: values of types with their own unmarshalling, of
// interface type or with the ",string" option are not looked into, and
// when in doubt it finds nothing and the caller keeps encoding/json's
// account.
func firstMisfit(body []byte, t reflect.Type) (misfit, bool) {
	w := misfitWalker{dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber()
	if err := w.value(t); err == errMisfit {
		return w.found, true
	}
	return misfit{}, false
}

// misfitWalker keeps the path as a stack of segments (".key", "[3]") and
// joins it only for the misfit, so that deep documents cost linear time.
type misfitWalker struct {
	dec   *json.Decoder
	path  []string
	found misfit
}

func (w *misfitWalker) fail(m misfit) error {
	m.path = strings.TrimPrefix(strings.Join(w.path, ""), ".")
	w.found = m
	return errMisfit
}

func (w *misfitWalker) value(t reflect.Type) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	// Dereference pointers; a type that decodes itself is not looked into.
	for t != nil {
		if t.Kind() == reflect.Interface || t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
			t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
			t = nil
		} else if t.Kind() == reflect.Pointer {
			t = t.Elem()
		} else {
			break
		}
	}
	kind := tokenKind(tok)
	if t == nil {
		return w.skip(kind)
	}
	if kind != "null" && !kindFits(t, kind) {
		return w.fail(misfit{jsonKind: kind})
	}
	switch kind {
	case "object":
		for w.dec.More() {
			kt, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, ok := kt.(string)
			if !ok {
				return errObjectKey
			}
			w.path = append(w.path, "."+key)
			var et reflect.Type
			switch t.Kind() {
			case reflect.Map:
				et = t.Elem()
			case reflect.Struct:
				f, known := structField(t, key)
				if !known {
					return w.fail(misfit{unknownKey: key})
				}
				et = f
			}
			if err := w.value(et); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
		_, err = w.dec.Token()
		return err
	case "array":
		var et reflect.Type
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			et = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			w.path = append(w.path, "["+strconv.Itoa(i)+"]")
			if err := w.value(et); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
		_, err = w.dec.Token()
		return err
	}
	return nil
}

// skip reads the rest of a value whose first token was of kind.
func (w *misfitWalker) skip(kind string) error {
	if kind != "object" && kind != "array" {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func tokenKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// kindFits reports whether encoding/json can put a JSON value of kind into
// a (non-pointer) t.
func kindFits(t reflect.Type, kind string) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return kind == "object"
	case reflect.Slice:
		return kind == "array" || kind == "string" && t.Elem().Kind() == reflect.Uint8
	case reflect.Array:
		return kind == "array"
	case reflect.String:
		return kind == "string"
	case reflect.Bool:
		return kind == "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return kind == "number"
	}
	return true
}

// structField finds the field of struct t that a JSON key sets, as
// encoding/json matches them (exact name first, then case-insensitively;
// fields of embedded structs after the struct's own). The type is nil for
// a field whose value is not looked into (",string").
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	type field struct {
		name string
		typ  reflect.Type
	}
	var fields []field
	queue := []reflect.Type{t}
	for depth := 0; len(queue) > 0 && depth < 10; depth++ {
		var next []reflect.Type
		for _, st := range queue {
			for i := 0; i < st.NumField(); i++ {
				sf := st.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if sf.Anonymous && name == "" {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if et.Kind() == reflect.Struct {
						next = append(next, et)
						continue
					}
				}
				if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = sf.Name
				}
				ft := sf.Type
				if strings.Contains(","+opts+",", ",string,") {
					ft = nil
				}
				fields = append(fields, field{name, ft})
			}
		}
		queue = next
	}
	for _, f := range fields {
		if f.name == key {
			return f.typ, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f.typ, true
		}
	}
	return nil, false
}

// lastKey is the last object key of a path: "title" of "tools[1].title",
// "tools" of "tools[1]".
func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64", "float32":
		return "a number"
	}
	return "a " + kind
}

// pageRequest reads ?limit= and ?cursor=.
func pageRequest(r *http.Request) (labelhub.PageRequest, error) {
	q := r.URL.Query()
	p := labelhub.PageRequest{Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > labelhub.MaxPageLimit {
			return p, labelhub.Invalid("invalid page", labelhub.FieldError{Path: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", labelhub.MaxPageLimit)})
		}
		p.Limit = n
	}
	if _, err := labelhub.DecodeCursor(p.Cursor); err != nil {
		return p, err
	}
	return p, nil
}
