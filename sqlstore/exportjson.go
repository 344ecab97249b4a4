package sqlstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
)

// The export writes the stored answers (the JSON of labelhub.Answer as
// PutAnswer and the imports store it) without decoding them into structs:
// answerWriter reads the stored text once, token by token, and writes
// what encoding/json would write for the decoded answer (with SetEscapeHTML
// false, as the export encodes), dropping the item metadata or mapping its
// user ids to emails on the way. It knows the fields of every type of the
// answer in their order; whenever the stored text is not in the form the
// store writes (a key it does not know or out of order, a null where
// decoding would change the output, a string whose escapes encoding/json
// would write differently is re-encoded, not refused), it gives up on that
// answer and the answer takes the slow path, decodeStoredAnswer and
// encoding/json, so the output is the same byte for byte either way.
//
// What it writes is mostly the stored text itself (PutAnswer stores what
// encoding/json writes), so it copies the text in runs: the output is
// always w.out followed by w.src[w.cp:w.i], the part read since the last
// copy, which is the same in the output; only what differs (white space,
// a user id written as an email, item metadata left out, a missing list,
// a number or string encoding/json writes differently) makes it copy the
// run and write its own bytes. Keys are written from the field table.

// errSlowPath makes an answer take the slow path.
var errSlowPath = errors.New("stored answer not in the canonical form")

// fieldKind is how a field of an answer type is read and written.
type fieldKind uint8

const (
	kString   fieldKind = iota // string, omitempty
	kInt                       // *int, omitempty
	kFloat                     // float64, required
	kIntReq                    // int, required
	kStruct                    // pointer to a struct of sub (omitempty)
	kPoints                    // []Point
	kPoint                     // *Point, omitempty
	kHoles                     // [][]Point, omitempty
	kRaw                       // json.RawMessage: copied compact
	kList                      // []struct of sub
	kStrings                   // []string, omitempty
	kTime                      // item metadata time.Time, omitzero
	kUser                      // item metadata user id, written as the user's email, omitempty
	kMetaText                  // item metadata string, omitempty
)

// field is one field of an answer type, in the order encoding/json writes
// them. omitEmpty drops an empty list or raw value; def is written when
// the key is missing (or the list is null) unless it is ""; required
// fields that are missing take the slow path.
type field struct {
	name      string
	key       string // "name":
	kind      fieldKind
	sub       *[]field
	omitEmpty bool
	required  bool
	def       string
}

var (
	answerFields, objectFields, classFields, relationFields    []field
	boxFields, rotBoxFields, segFields, zoneFields, spanFields []field
)

func init() {
	meta := []field{{name: "createdAt", kind: kTime}, {name: "updatedAt", kind: kTime}, {name: "createdBy", kind: kUser},
		{name: "updatedBy", kind: kUser}, {name: "createdIn", kind: kMetaText}, {name: "updatedIn", kind: kMetaText}}
	f := func(name string) field { return field{name: name, kind: kFloat, required: true} }
	boxFields = []field{f("x"), f("y"), f("width"), f("height")}
	rotBoxFields = []field{f("x"), f("y"), f("width"), f("height"), f("rotation")}
	spanFields = []field{{name: "start", kind: kIntReq, required: true}, {name: "end", kind: kIntReq, required: true}}
	zoneFields = []field{{name: "region", kind: kPoints, required: true}, {name: "holes", kind: kHoles, omitEmpty: true}}
	segFields = []field{{name: "zones", kind: kList, sub: &zoneFields, required: true}}
	classFields = append([]field{{name: "tool"}, {name: "schemaId"}, {name: "objectId"}, {name: "title"},
		{name: "answer", kind: kRaw, def: "null"}, {name: "classifications", kind: kList, sub: &classFields, omitEmpty: true}}, meta...)
	objectFields = append([]field{{name: "objectId"}, {name: "schemaId"}, {name: "title"}, {name: "page", kind: kInt},
		{name: "bounding-box", kind: kStruct, sub: &boxFields}, {name: "rotated-bounding-box", kind: kStruct, sub: &rotBoxFields},
		{name: "polygon", kind: kPoints, omitEmpty: true}, {name: "polyline", kind: kPoints, omitEmpty: true}, {name: "point", kind: kPoint},
		{name: "segmentation", kind: kStruct, sub: &segFields}, {name: "ner", kind: kStruct, sub: &spanFields},
		{name: "pdf", kind: kRaw, omitEmpty: true}, {name: "brush", kind: kRaw, omitEmpty: true},
		{name: "classifications", kind: kList, sub: &classFields, omitEmpty: true}}, meta...)
	relationFields = append([]field{{name: "objectId"}, {name: "schemaId"}, {name: "title"}, {name: "from"}, {name: "to"},
		{name: "direction"}, {name: "group", kind: kStrings, omitEmpty: true}}, meta...)
	answerFields = []field{{name: "tools", kind: kList, sub: &objectFields, def: "[]"},
		{name: "classifications", kind: kList, sub: &classFields, def: "[]"},
		{name: "relations", kind: kList, sub: &relationFields, def: "[]"}}
	for _, fs := range []*[]field{&answerFields, &objectFields, &classFields, &relationFields, &boxFields, &rotBoxFields, &segFields, &zoneFields, &spanFields} {
		for i := range *fs {
			(*fs)[i].key = `"` + (*fs)[i].name + `":`
		}
	}
}

// answerWriter writes the answers of one export. emails maps the user ids
// seen so far to their emails ("" to ""); ids it does not know yet are
// added to missing (and written as they are), so that the caller looks
// them up and writes the page again.
type answerWriter struct {
	meta    bool
	emails  map[string]string
	missing map[string]bool
	src     []byte
	i       int // the next byte of src to read
	cp      int // the first byte of src read but not copied to out yet
	out     []byte
	// metaKeys counts the item metadata fields written, for
	// CanonicalAnswer.
	metaKeys int
	slowBuf  bytes.Buffer
	slowEnc  *json.Encoder
}

func newAnswerWriter(meta bool) *answerWriter {
	w := &answerWriter{meta: meta, emails: map[string]string{"": ""}, missing: map[string]bool{}}
	w.slowEnc = json.NewEncoder(&w.slowBuf)
	w.slowEnc.SetEscapeHTML(false)
	return w
}

// email returns the email of a user id (the id itself when it is not
// known yet, recording it as missing).
func (w *answerWriter) email(id string) string {
	e, ok := w.emails[id]
	if !ok {
		w.missing[id] = true
		return id
	}
	return e
}

// appendAnswer appends the fields of the answer stored as text
// ("tools":[…],"classifications":[…],"relations":[…], without braces) to
// dst.
func (w *answerWriter) appendAnswer(dst, text []byte) ([]byte, error) {
	if out, ok := w.fast(dst, text); ok {
		return out, nil
	}
	return w.slow(dst, text)
}

func (w *answerWriter) fast(dst, text []byte) (out []byte, ok bool) {
	if len(text) == 0 {
		return append(dst, `"tools":[],"classifications":[],"relations":[]`...), true
	}
	defer func() {
		if r := recover(); r != nil {
			if r != errSlowPath { //nolint:errorlint // a sentinel value
				panic(r)
			}
			out, ok = dst, false
		}
		w.src, w.out = nil, nil
	}()
	w.src, w.i, w.cp, w.out = text, 0, 0, dst
	w.object(answerFields, true)
	w.ws()
	if w.i != len(w.src) {
		panic(errSlowPath)
	}
	w.flush()
	return w.out, true
}

// flush copies the part of src read since the last copy to out.
func (w *answerWriter) flush() {
	w.out = append(w.out, w.src[w.cp:w.i]...)
	w.cp = w.i
}

// replace writes b instead of the last n bytes read (one token: nothing
// of it was copied yet).
func (w *answerWriter) replace(n int, b []byte) {
	w.out = append(w.out, w.src[w.cp:w.i-n]...)
	w.out = append(w.out, b...)
	w.cp = w.i
}

// replaceString is replace with b a string written as JSON.
func (w *answerWriter) replaceString(n int, s string) {
	w.out = append(w.out, w.src[w.cp:w.i-n]...)
	w.out = appendJSONString(w.out, s)
	w.cp = w.i
}

// slow decodes the answer as the store always did and encodes its fields.
func (w *answerWriter) slow(dst, text []byte) ([]byte, error) {
	var a labelhub.Answer
	if err := decodeStoredAnswer(string(text), &a); err != nil {
		return dst, err
	}
	labelhub.WalkItemMeta(&a, func(m *labelhub.ItemMeta) {
		if !w.meta {
			*m = labelhub.ItemMeta{}
			return
		}
		m.CreatedBy, m.UpdatedBy = w.email(m.CreatedBy), w.email(m.UpdatedBy)
	})
	w.slowBuf.Reset()
	if err := w.slowEnc.Encode(&a); err != nil {
		return dst, err
	}
	b := bytes.TrimSuffix(w.slowBuf.Bytes(), []byte("\n"))
	return append(dst, b[1:len(b)-1]...), nil
}

// ws skips white space, which the output leaves out.
func (w *answerWriter) ws() {
	if w.i == len(w.src) || !isSpace(w.src[w.i]) {
		return
	}
	w.flush()
	for w.i < len(w.src) && isSpace(w.src[w.i]) {
		w.i++
	}
	w.cp = w.i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// peek returns the next byte after white space (0 at the end).
func (w *answerWriter) peek() byte {
	w.ws()
	if w.i >= len(w.src) {
		return 0
	}
	return w.src[w.i]
}

func (w *answerWriter) expect(c byte) {
	if w.peek() != c {
		panic(errSlowPath)
	}
	w.i++
}

// null reads a null if there is one.
func (w *answerWriter) null() bool {
	if w.peek() == 'n' {
		if !bytes.HasPrefix(w.src[w.i:], []byte("null")) {
			panic(errSlowPath)
		}
		w.i += 4
		return true
	}
	return false
}

// object reads an object of the fields fs and writes it; top leaves out
// its braces (the answer's fields go into the task's object).
func (w *answerWriter) object(fs []field, top bool) {
	w.expect('{')
	if top {
		w.cp = w.i
	}
	first := true
	next := 0
	if w.peek() != '}' {
		for {
			// Copy what came before the key; the key and its colon
			// are written by name (or not at all).
			w.flush()
			key := w.key()
			w.cp = w.i
			w.expect(':')
			w.cp = w.i
			j := next
			for j < len(fs) && fs[j].name != string(key) {
				j++
			}
			if j == len(fs) {
				panic(errSlowPath) // unknown, repeated or out of order
			}
			for ; next < j; next++ {
				w.missingField(&fs[next], &first)
			}
			next = j + 1
			w.field(&fs[j], &first)
			if w.peek() == ',' {
				w.flush() // the comma is written by name
				w.i++
				w.cp = w.i
				continue
			}
			break
		}
	}
	flushed := false
	for ; next < len(fs); next++ {
		if f := &fs[next]; f.required || f.def != "" {
			if !flushed {
				w.flush()
				flushed = true
			}
			w.missingField(f, &first)
		}
	}
	if top {
		w.flush()
	}
	w.expect('}')
	if top {
		w.cp = w.i
	}
}

// key reads an object key without escapes.
func (w *answerWriter) key() []byte {
	w.expect('"')
	j := w.i
	for j < len(w.src) && w.src[j] != '"' {
		if w.src[j] == '\\' {
			panic(errSlowPath)
		}
		j++
	}
	if j == len(w.src) {
		panic(errSlowPath)
	}
	k := w.src[w.i:j]
	w.i = j + 1
	return k
}

func (w *answerWriter) missingField(f *field, first *bool) {
	switch {
	case f.required:
		panic(errSlowPath)
	case f.def != "":
		w.name(f, first)
		w.out = append(w.out, f.def...)
	}
}

// name writes the key of f.
func (w *answerWriter) name(f *field, first *bool) {
	if !*first {
		w.out = append(w.out, ',')
	}
	*first = false
	w.out = append(w.out, f.key...)
}

// field reads the value of f and writes it with its key unless
// encoding/json would leave it out. Everything read before it was copied
// (w.cp == w.i).
func (w *answerWriter) field(f *field, first *bool) {
	mark, wasFirst := len(w.out), *first
	drop := func() { w.out, *first, w.cp = w.out[:mark], wasFirst, w.i }
	switch f.kind {
	case kTime, kUser, kMetaText:
		if !w.meta {
			w.skipMeta(f)
			w.out, w.cp = w.out[:mark], w.i
			return
		}
	}
	w.name(f, first)
	switch f.kind {
	case kString, kMetaText:
		if w.null() || w.str() {
			drop()
		} else if f.kind == kMetaText {
			w.metaKeys++
		}
	case kInt:
		if w.null() {
			drop()
			return
		}
		w.integer()
	case kIntReq:
		w.integer()
	case kFloat:
		w.float()
	case kStruct:
		if w.null() {
			drop()
			return
		}
		w.object(*f.sub, false)
	case kPoints:
		if w.null() {
			panic(errSlowPath)
		}
		if w.points() == 0 && f.omitEmpty {
			drop()
		}
	case kPoint:
		if w.null() {
			drop()
			return
		}
		w.point()
	case kHoles:
		if w.null() || w.list(func() { w.points() }) == 0 {
			drop()
		}
	case kRaw:
		start := len(w.out) + w.i - w.cp
		w.raw()
		if f.omitEmpty && len(w.out)+w.i-w.cp == start {
			drop()
		}
	case kList:
		if w.null() {
			switch {
			case f.def != "": // a nil top-level list is made empty
				w.replace(len("null"), []byte(f.def))
			case f.omitEmpty:
				drop()
			default:
				panic(errSlowPath)
			}
			return
		}
		if w.list(func() { w.object(*f.sub, false) }) == 0 && f.omitEmpty {
			drop()
		}
	case kStrings:
		if w.null() || w.list(func() {
			if w.null() {
				panic(errSlowPath)
			}
			w.str()
		}) == 0 {
			drop()
		}
	case kTime:
		if w.null() {
			drop()
			return
		}
		w.time(true)
		w.metaKeys++
	case kUser:
		if w.null() {
			drop()
			return
		}
		id := w.plainStr()
		e, ok := w.emails[string(id)]
		if !ok {
			e = string(id)
			w.missing[e] = true
		}
		if e == "" {
			drop()
			return
		}
		w.replaceString(len(id)+2, e)
		w.metaKeys++
	default:
		panic(errSlowPath)
	}
}

// skipMeta reads an item metadata value that the export leaves out,
// checking what decoding would check.
func (w *answerWriter) skipMeta(f *field) {
	if w.null() {
		return
	}
	switch f.kind {
	case kTime:
		w.time(false)
	default:
		w.str()
	}
}

// list reads a JSON array whose elements elem reads and writes, and
// returns the number of elements.
func (w *answerWriter) list(elem func()) int {
	w.expect('[')
	n := 0
	if w.peek() == ']' {
		w.i++
	} else {
		for {
			if w.peek() == 'n' {
				panic(errSlowPath) // a null element
			}
			elem()
			n++
			if w.peek() == ',' {
				w.i++
				continue
			}
			w.expect(']')
			break
		}
	}
	return n
}

func (w *answerWriter) points() int {
	return w.list(w.point)
}

func (w *answerWriter) point() {
	w.expect('[')
	w.float()
	w.expect(',')
	w.float()
	w.expect(']')
}

// str reads a string and writes it as encoding/json writes the decoded
// string; it reports whether the string is empty.
func (w *answerWriter) str() bool {
	w.expect('"')
	start, esc, ascii := w.i, false, true
	j := w.i
	for j < len(w.src) && plainASCII[w.src[j]] {
		j++
	}
	if j < len(w.src) && w.src[j] == '"' { // the usual string: copied as it is
		w.i = j + 1
		return j == start
	}
	for ; j < len(w.src); j++ {
		c := w.src[j]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			panic(errSlowPath)
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if j >= len(w.src) {
		panic(errSlowPath)
	}
	body := w.src[start:j]
	w.i = j + 1
	if !esc && (ascii || plainUTF8(body)) {
		return len(body) == 0
	}
	var s string
	if err := json.Unmarshal(w.src[start-1:j+1], &s); err != nil {
		panic(errSlowPath)
	}
	w.replaceString(j+1-(start-1), s)
	return s == ""
}

// plainStr reads a string without escapes and returns its text.
func (w *answerWriter) plainStr() []byte {
	w.expect('"')
	j := w.i
	for j < len(w.src) && plainASCII[w.src[j]] {
		j++
	}
	if j < len(w.src) && w.src[j] == '"' {
		s := w.src[w.i:j]
		w.i = j + 1
		return s
	}
	for j < len(w.src) && w.src[j] != '"' {
		if c := w.src[j]; c == '\\' || c < 0x20 {
			panic(errSlowPath)
		}
		j++
	}
	if j == len(w.src) || !utf8.Valid(w.src[w.i:j]) {
		panic(errSlowPath)
	}
	s := w.src[w.i:j]
	w.i = j + 1
	return s
}

// plainASCII tells the bytes that a JSON string holds as they are and
// encoding/json writes as they are: ASCII but for controls, the quote and
// the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainUTF8 reports whether b is valid UTF-8 that encoding/json writes as
// it is (no U+2028, U+2029).
func plainUTF8(b []byte) bool {
	return utf8.Valid(b) && !bytes.Contains(b, []byte("\u2028")) && !bytes.Contains(b, []byte("\u2029"))
}

// number reads a JSON number and returns its text; intOnly refuses
// fractions and exponents.
func (w *answerWriter) number(intOnly bool) []byte {
	w.ws()
	s := w.src
	i := w.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		panic(errSlowPath)
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d || intOnly {
			panic(errSlowPath)
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d || intOnly {
			panic(errSlowPath)
		}
	}
	n := s[w.i:i]
	w.i = i
	return n
}

// float reads a number into a float64 and writes it as encoding/json
// does.
func (w *answerWriter) float() {
	n := w.number(false)
	if simpleInt(n) {
		return
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		panic(errSlowPath)
	}
	var buf [32]byte
	if b := appendJSONFloat(buf[:0], f); !bytes.Equal(b, n) {
		w.replace(len(n), b)
	}
}

// simpleInt reports whether a JSON number is an integer that a float64
// holds exactly and encoding/json writes as it is.
func simpleInt(n []byte) bool {
	d := n
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || len(d) != len(n) && d[0] == '0' {
		return false // "-0" is written "-0" too, but rare: take the long way
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (w *answerWriter) integer() {
	n := w.number(true)
	v, err := strconv.ParseInt(string(n), 10, strconv.IntSize)
	if err != nil {
		panic(errSlowPath)
	}
	if v == 0 && n[0] == '-' {
		w.replace(len(n), []byte("0")) // the only integer written otherwise
	}
}

// appendJSONFloat appends f as encoding/json writes a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic(errSlowPath)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// time reads an item metadata time. The form time.Time writes
// (2026-11-22T12:00:00.5Z, UTC) is copied; any other takes the slow path.
func (w *answerWriter) time(write bool) {
	s := w.plainStr()
	if !canonicalTime(s) {
		panic(errSlowPath)
	}
	_ = write // copied as it is (or dropped by the caller)
}

// canonicalTime reports whether s is a UTC time as time.Time's
// MarshalJSON writes it (RFC 3339, "Z", a fraction without trailing
// zeros), valid for time.Parse and not the zero time.
func canonicalTime(s []byte) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return false
	}
	num := func(a, b int) int {
		v := 0
		for _, c := range s[a:b] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 2 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	if day > days {
		return false
	}
	frac := s[19 : len(s)-1]
	switch {
	case len(frac) == 0:
		return true
	case len(frac) < 2 || len(frac) > 10 || frac[0] != '.' || frac[len(frac)-1] == '0':
		return false
	}
	for _, c := range frac[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// raw copies a JSON value without white space outside strings, as
// encoding/json writes a json.RawMessage, checking its syntax.
func (w *answerWriter) raw() {
	switch w.peek() {
	case '"':
		j := w.i + 1
		for ; j < len(w.src) && w.src[j] != '"'; j++ {
			switch c := w.src[j]; {
			case c == '\\':
				j++
				if j < len(w.src) && w.src[j] == 'u' {
					if j+4 >= len(w.src) {
						panic(errSlowPath)
					}
					for _, h := range w.src[j+1 : j+5] {
						if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
							panic(errSlowPath)
						}
					}
				} else if j >= len(w.src) || !bytes.ContainsRune([]byte(`"\\/bfnrt`), rune(w.src[j])) {
					panic(errSlowPath)
				}
			case c < 0x20:
				panic(errSlowPath)
			}
		}
		if j >= len(w.src) {
			panic(errSlowPath)
		}
		w.i = j + 1
	case '{':
		w.i++
		if w.peek() == '}' {
			w.i++
		} else {
			for {
				if w.peek() != '"' {
					panic(errSlowPath)
				}
				w.raw()
				w.expect(':')
				w.raw()
				if w.peek() == ',' {
					w.i++
					continue
				}
				w.expect('}')
				break
			}
		}
	case '[':
		w.i++
		if w.peek() == ']' {
			w.i++
		} else {
			for {
				w.raw()
				if w.peek() == ',' {
					w.i++
					continue
				}
				w.expect(']')
				break
			}
		}
	case 't', 'f', 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(w.src[w.i:], []byte(lit)) {
				w.i += len(lit)
				return
			}
		}
		panic(errSlowPath)
	default:
		w.number(false)
	}
}

// appendJSONString appends s as encoding/json writes a string with
// SetEscapeHTML(false).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
