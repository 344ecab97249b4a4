package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

// EditorTypes are the values of `editorType`, which says that `data` holds
// the text of a text asset itself rather than its URL.
var EditorTypes = []string{"markdown", "html", "text"}

// Attachment types.
const (
	AttachmentImage = "IMAGE"
	AttachmentVideo = "VIDEO"
	AttachmentText  = "TEXT"
)

// supportedExtensions lists the extensions labelhub.AssetTypeOf knows, for
// messages (a test checks it against AssetTypeOf).
const supportedExtensions = "jpg, jpeg, png, bmp, gif, webp, tif, tiff (images); mp4, mov, webm, mkv, avi (video); " +
	"mp3, wav, ogg, flac, m4a (audio); pdf; txt, md, html, htm (text); dcm (DICOM); pcd, las (point clouds)"

// knownFields are the fields of an asset object, for messages.
const knownFields = "externalId, data, dataset, editorType, metadata, contextData, batches, attachments, preLabels (or annotations) and storage"

var fieldNames = []string{"externalId", "data", "dataset", "editorType", "metadata", "contextData", "batches", "attachments", "preLabels", "annotations", "storage"}

// modelFields are fields that the model system or labelhub's exports know
// but an import file of labelhub does not take; each gets its own message.
var modelFields = map[string]string{
	"asset":       `is a field of exports, not of import files: give the file's URL in "data"`,
	"assetId":     `is assigned by labelhub and cannot be imported: name the asset with "externalId"`,
	"task":        `is a field of exports and cannot be imported: give pre-labels in "preLabels"`,
	"answer":      `is the field of the label import: in an asset import file, pre-labels go in "preLabels" (or "annotations")`,
	"labels":      `is not a field of an asset: pre-labels go in "preLabels" (or "annotations")`,
	"priority":    `is not supported by labelhub: tasks have no priority`,
	"uploadLocal": `is not supported by labelhub: assets stay in your bucket and are never copied`,
	"storageId":   `is the import request's setting; the storage integration of one asset is given in "storage"`,
	"batch":       `is not a field of an asset: give the batches as a list in "batches"`,
	"url":         `is not a field of an asset: give the file's URL in "data"`,
}

// errInvalidUTF8 is the error jsontext wraps for invalid UTF-8 in a string.
var errInvalidUTF8 = func() error {
	_, err := jsontext.AppendUnquote(nil, "\"\xff\"")
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && se.Err != nil {
		return se.Err
	}
	panic("importer: jsontext accepts invalid UTF-8")
}()

// loc is the place of a value in an item, turned into a path only when a
// problem is reported: [index].field, [index].field[i], [index].field.sub
// or [index].field[i].sub.
type loc struct {
	field string
	i     int // -1: none
	sub   string
}

func at(field string) loc { return loc{field: field, i: -1} }

// span is a string of the item being read: p.strs[off:off+n]; or a raw
// JSON value in p.raws.
type span struct{ off, n int }

// attachment is a valid attachment of the item being read.
type attachment struct {
	typ   string
	value span
	at    int // index in the file
}

// fields are the values read from an item, checked in finish. Strings are
// spans of p.strs and raw values spans of p.raws, so that the strings of
// an Item share one allocation and its raw values another.
type fields struct {
	externalID                 span
	hasExternalID, badExternal bool
	data                       span
	hasData, badData           bool
	hasDataset, badDataset     bool
	editorType                 string
	badEditorType              bool
	storage                    span
	hasStorage, badStorage     bool
	metadata, contextData      span
	hasMetadata, hasContext    bool
	width, height              bool
	frameRate, frameCount      bool
	preLabels                  []byte
	preLabelsField             string
}

// parser decodes and validates one item's bytes.
type parser struct {
	d       *decoder
	dec     jsontext.Decoder
	bb      bytes.Buffer
	scratch []byte

	item   []byte
	idx    int
	line   int
	off    int64
	prefix string
	errs   []ItemError
	fatal  error
	abort  bool
	f      fields

	strs       []byte // the item's strings
	raws       []byte // the item's metadata and contextData, compacted
	pageSpans  []span
	batchSpans []span
	attSpans   []attachment
	all        string // strs as a string, in finish
}

// bytesOf returns the bytes of a string of the item being read.
func (p *parser) bytesOf(s span) []byte { return p.strs[s.off : s.off+s.n] }

// text returns a string of the item; valid in finish.
func (p *parser) text(s span) string { return p.all[s.off : s.off+s.n] }

// parse decodes the item; it returns the item and true when it is valid,
// false with the problems in p.errs when not, and a fatal error when the
// item is not JSON.
func (p *parser) parse(item []byte, idx, line int, off int64) (Item, bool, error) {
	p.item, p.idx, p.line, p.off = item, idx, line, off
	p.prefix, p.errs, p.fatal, p.abort = "", p.errs[:0], nil, false
	p.f = fields{}
	p.strs, p.raws, p.all = p.strs[:0], p.raws[:0], ""
	p.pageSpans, p.batchSpans, p.attSpans = p.pageSpans[:0], p.batchSpans[:0], p.attSpans[:0]
	p.bb.Reset()
	p.bb.Write(item)
	p.dec.Reset(&p.bb)
	p.object()
	if p.fatal != nil {
		return Item{}, false, p.fatal
	}
	if !p.abort {
		if _, err := p.dec.ReadToken(); err != io.EOF {
			if err == nil {
				err = &jsontext.SyntacticError{ByteOffset: p.dec.InputOffset(), Err: errors.New("unexpected data after the item")}
			}
			p.fail(err)
			if p.fatal != nil {
				return Item{}, false, p.fatal
			}
		}
	}
	if p.abort || len(p.errs) > 0 {
		return Item{}, false, nil
	}
	it := p.finish()
	return it, len(p.errs) == 0, nil
}

func (p *parser) pfx() string {
	if p.prefix == "" {
		p.prefix = indexPath(p.idx)
	}
	return p.prefix
}

func (p *parser) path(l loc) string {
	s := p.pfx()
	if l.field != "" {
		s += fieldSuffix(l.field)
	}
	if l.i >= 0 {
		s += "[" + strconv.Itoa(l.i) + "]"
	}
	if l.sub != "" {
		s += fieldSuffix(l.sub)
	}
	return s
}

// add records a problem; past MaxErrorsPerItem one last problem says so.
func (p *parser) add(path, msg string) {
	switch {
	case len(p.errs) < MaxErrorsPerItem:
		p.errs = append(p.errs, ItemError{Index: p.idx, Line: p.line, Path: path, Message: msg})
	case len(p.errs) == MaxErrorsPerItem:
		p.errs = append(p.errs, ItemError{Index: p.idx, Line: p.line, Path: p.pfx(),
			Message: fmt.Sprintf("has more than %d problems; the rest are not reported: fix these and import it again", MaxErrorsPerItem)})
	}
}

func (p *parser) addf(l loc, format string, args ...any) {
	p.add(p.path(l), fmt.Sprintf(format, args...))
}

// fail handles an error of the JSON decoder: a duplicate key or invalid
// UTF-8 makes the item invalid; anything else is a fatal syntax error.
// Either way the item is not read further.
func (p *parser) fail(err error) {
	p.abort = true
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			p.fatal = p.syntax(int64(len(p.item)), "the item ends early")
		} else {
			p.fatal = err
		}
		return
	}
	switch se.Err {
	case jsontext.ErrDuplicateName:
		name := se.JSONPointer.LastToken()
		p.add(p.pointerPath(se.JSONPointer), fmt.Sprintf("key %s appears twice in the same object: give each key once", shortQuote(name)))
		return
	case errInvalidUTF8:
		p.add(p.pointerPath(se.JSONPointer), "holds invalid UTF-8: save the file as UTF-8 (not Latin-1 or Windows-1252)")
		return
	}
	// A \u escape of half a UTF-16 surrogate pair is valid JSON grammar
	// but no Unicode character: a problem of the item, like invalid UTF-8.
	if se.Err != nil && strings.HasPrefix(se.Err.Error(), "invalid surrogate pair") {
		p.add(p.pointerPath(se.JSONPointer), `holds a \u escape of half a UTF-16 surrogate pair (like \ud800), which is not a character: escape characters above U+FFFF as a full pair, or write them as UTF-8`)
		return
	}
	msg := "syntax error"
	if se.Err != nil {
		msg = se.Err.Error()
	}
	if se.JSONPointer != "" {
		msg += " (in " + p.pointerPath(se.JSONPointer) + ")"
	}
	p.fatal = p.syntax(se.ByteOffset, msg)
}

// syntax returns the fatal error for a syntax error at offset rel of the item.
func (p *parser) syntax(rel int64, msg string) *Error {
	rel = max(0, min(rel, int64(len(p.item))))
	return &Error{Offset: p.off + rel, Line: p.line + bytes.Count(p.item[:rel], []byte{'\n'}),
		Message: fmt.Sprintf("item [%d] is not valid JSON: %s", p.idx, msg)}
}

// pointerPath turns a JSON pointer relative to the item into a path. An
// all-digit token is taken for an array index.
func (p *parser) pointerPath(ptr jsontext.Pointer) string {
	s := p.pfx()
	for tok := range ptr.Tokens() {
		if isIndex(tok) {
			s += "[" + tok + "]"
		} else {
			s += fieldSuffix(tok)
		}
	}
	return s
}

func isIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fieldSuffix is ".name" for plain names and ["name"] for others.
func fieldSuffix(name string) string {
	plain := name != "" && !(name[0] >= '0' && name[0] <= '9') && name[0] != '-'
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$'
	}
	if plain {
		return "." + name
	}
	return "[" + strconv.Quote(name) + "]"
}

func unquoteKey(raw []byte) (string, bool) {
	b, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// shortQuote quotes s for a message, cut to 60 bytes.
func shortQuote(s string) string {
	const n = 60
	if len(s) <= n {
		return strconv.Quote(s)
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "invalid JSON"
}

// --- reading ---

func (p *parser) peek() jsontext.Kind {
	k := p.dec.PeekKind()
	if k == 0 {
		_, err := p.dec.ReadToken()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		p.fail(err)
	}
	return k
}

func (p *parser) token() {
	if _, err := p.dec.ReadToken(); err != nil {
		p.fail(err)
	}
}

func (p *parser) skip() {
	if err := p.dec.SkipValue(); err != nil {
		p.fail(err)
	}
}

// name reads an object key; the bytes are valid until the next read.
func (p *parser) name() ([]byte, bool) {
	v, err := p.dec.ReadValue()
	if err != nil {
		p.fail(err)
		return nil, false
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, true
	}
	p.scratch, _ = jsontext.AppendUnquote(p.scratch[:0], v)
	return p.scratch, true
}

// str reads a string value (already peeked) of at most max bytes into
// p.strs.
func (p *parser) str(l loc, max int, setting string) (span, bool) {
	v, err := p.dec.ReadValue()
	if err != nil {
		p.fail(err)
		return span{}, false
	}
	start := len(p.strs)
	if b := v[1 : len(v)-1]; bytes.IndexByte(b, '\\') < 0 {
		p.strs = append(p.strs, b...)
	} else {
		p.strs, _ = jsontext.AppendUnquote(p.strs, v)
	}
	if n := len(p.strs) - start; n > max {
		p.strs = p.strs[:start]
		p.addf(l, "is %d bytes long; the limit is %d bytes (%s)", n, max, setting)
		return span{}, false
	}
	return span{start, len(p.strs) - start}, true
}

// drop forgets the string s, the last one read.
func (p *parser) drop(s span) { p.strs = p.strs[:s.off] }

// is checks the kind of the next value; when it is not want, it reports
// the problem and skips the value.
func (p *parser) is(l loc, k, want jsontext.Kind, what string) bool {
	if k == want {
		return true
	}
	p.addf(l, "must be %s, not %s", what, kindName(k))
	p.skip()
	return false
}

// null consumes a null (an optional field given as null is left out).
func (p *parser) null(k jsontext.Kind) bool {
	if k == 'n' {
		p.token()
		return true
	}
	return false
}

// object reads the item: one asset object.
func (p *parser) object() {
	k := p.peek()
	if k == 0 {
		return
	}
	if k != '{' {
		p.add(p.pfx(), fmt.Sprintf(`must be an asset object like {"externalId": "cat.jpg", "data": "https://…/cat.jpg"}, not %s`, kindName(k)))
		p.skip()
		return
	}
	p.token()
	for !p.abort {
		k := p.peek()
		if k == 0 {
			return
		}
		if k == '}' {
			p.token()
			return
		}
		name, ok := p.name()
		if !ok {
			return
		}
		switch string(name) {
		case "externalId":
			p.externalID()
		case "data":
			p.data()
		case "dataset":
			p.dataset()
		case "editorType":
			p.editorType()
		case "metadata":
			p.metadata()
		case "contextData":
			p.contextData()
		case "batches":
			p.batches()
		case "attachments":
			p.attachments()
		case "preLabels":
			p.preLabels("preLabels")
		case "annotations":
			p.preLabels("annotations")
		case "storage":
			p.storage()
		default:
			p.unknownField(string(name))
			p.skip()
		}
	}
}

func (p *parser) unknownField(name string) {
	l := at(name)
	if msg, ok := modelFields[name]; ok {
		p.add(p.path(l), msg)
		return
	}
	for _, f := range fieldNames {
		if strings.EqualFold(f, name) {
			p.addf(l, "unknown field %s: did you mean %q? Field names are case-sensitive", shortQuote(name), f)
			return
		}
	}
	p.addf(l, "unknown field %s: an asset has the fields %s", shortQuote(name), knownFields)
}

func (p *parser) externalID() {
	l := at("externalId")
	k := p.peek()
	switch {
	case k == 0:
		return
	case k == 'n':
		p.token()
		p.add(p.path(l), "must be a string (the asset's name, such as its file name), not null")
		p.f.badExternal = true
		return
	case !p.is(l, k, '"', "a string (the asset's name, such as its file name)"):
		p.f.badExternal = true
		return
	}
	s, ok := p.str(l, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
	switch {
	case !ok:
		p.f.badExternal = true
	case s.n == 0:
		p.add(p.path(l), "must not be empty: give the asset's name, such as its file name")
		p.f.badExternal = true
	case isBlank(string(p.bytesOf(s))):
		p.add(p.path(l), "must not be blank: give the asset's name, such as its file name")
		p.f.badExternal = true
	default:
		p.f.externalID, p.f.hasExternalID = s, true
	}
}

func (p *parser) data() {
	l := at("data")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '"', "a string (the file's URL)") {
		p.f.badData = true
		return
	}
	// Inline text is limited by the item size only; URLs are checked in finish.
	s, ok := p.str(l, p.d.lim.MaxItemBytes, SettingMaxItemBytes)
	if !ok {
		p.f.badData = true
		return
	}
	p.f.data, p.f.hasData = s, true
}

func (p *parser) dataset() {
	l := at("dataset")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '[', "an array of page URLs") {
		p.f.badDataset = true
		return
	}
	p.token()
	max := p.d.lim.MaxDatasetPages
	n := 0
	for ; !p.abort; n++ {
		k := p.peek()
		if k == 0 {
			return
		}
		if k == ']' {
			p.token()
			break
		}
		if n >= max {
			if n == max {
				p.addf(l, "has more than %d pages; the limit is %d (%s)", max, max, SettingMaxDatasetPages)
				p.f.badDataset = true
			}
			p.skip()
			continue
		}
		el := loc{field: "dataset", i: n}
		if !p.is(el, k, '"', "a string (a page URL)") {
			p.f.badDataset = true
			continue
		}
		s, ok := p.str(el, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
		if !ok {
			p.f.badDataset = true
			continue
		}
		p.pageSpans = append(p.pageSpans, s)
	}
	if n == 0 {
		p.add(p.path(l), "is empty: list the page URLs of the multi-page asset, in page order (or give one file in data)")
		p.f.badDataset = true
		return
	}
	p.f.hasDataset = true
}

func (p *parser) editorType() {
	l := at("editorType")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	const what = `"markdown", "html" or "text"`
	if !p.is(l, k, '"', what) {
		p.f.badEditorType = true
		return
	}
	s, ok := p.str(l, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
	if !ok {
		p.f.badEditorType = true
		return
	}
	b := p.bytesOf(s)
	p.drop(s)
	for _, t := range EditorTypes {
		if string(b) == t {
			p.f.editorType = t
			return
		}
	}
	p.addf(l, "must be %s (data then holds the text itself), not %s", what, shortQuote(string(b)))
	p.f.badEditorType = true
}

func (p *parser) metadata() {
	l := at("metadata")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '{', "an object") {
		return
	}
	start := p.dec.InputOffset()
	p.token()
	for !p.abort {
		k := p.peek()
		if k == 0 {
			return
		}
		if k == '}' {
			p.token()
			break
		}
		name, ok := p.name()
		if !ok {
			return
		}
		switch string(name) {
		case "frameRate":
			p.f.frameRate = p.positive(loc{field: "metadata", i: -1, sub: "frameRate"}, false, "frames per second, like 30 or 29.97")
		case "frameCount":
			p.f.frameCount = p.positive(loc{field: "metadata", i: -1, sub: "frameCount"}, true, "the number of frames, like 900")
		case "width":
			p.f.width = p.positive(loc{field: "metadata", i: -1, sub: "width"}, false, "pixels, like 1920")
		case "height":
			p.f.height = p.positive(loc{field: "metadata", i: -1, sub: "height"}, false, "pixels, like 1080")
		default:
			p.skip()
		}
	}
	if p.abort {
		return
	}
	raw := p.item[start:p.dec.InputOffset()]
	raw = raw[bytes.IndexByte(raw, '{'):]
	off := len(p.raws)
	p.raws = appendCompact(p.raws, raw)
	p.f.metadata, p.f.hasMetadata = span{off, len(p.raws) - off}, true
}

// positive reads a number > 0 (a whole number when integer) and says
// whether it is one.
func (p *parser) positive(l loc, integer bool, example string) bool {
	k := p.peek()
	if k == 0 {
		return false
	}
	what := "a number greater than 0"
	if integer {
		what = "a whole number greater than 0"
	}
	if k != '0' {
		p.addf(l, "must be %s (%s), not %s", what, example, kindName(k))
		p.skip()
		return false
	}
	tok, err := p.dec.ReadToken()
	if err != nil {
		p.fail(err)
		return false
	}
	v := tok.Float() // 1e999 gives math.MaxFloat64
	switch {
	case v > MaxMetadataNumber:
		p.addf(l, "is too large: must be %s and at most %g (%s)", what, float64(MaxMetadataNumber), example)
	case v <= 0:
		p.addf(l, "must be %s (%s), not %s", what, example, strconv.FormatFloat(v, 'g', -1, 64))
	case integer && (v != math.Trunc(v) || v > 1<<53):
		p.addf(l, "must be %s (%s), not %s", what, example, strconv.FormatFloat(v, 'g', -1, 64))
	default:
		return true
	}
	return false
}

func (p *parser) contextData() {
	l := at("contextData")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '{', "an object (any JSON object, kept as is)") {
		return
	}
	v, err := p.dec.ReadValue()
	if err != nil {
		p.fail(err)
		return
	}
	off := len(p.raws)
	p.raws = appendCompact(p.raws, v)
	p.f.contextData, p.f.hasContext = span{off, len(p.raws) - off}, true
}

func (p *parser) batches() {
	l := at("batches")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '[', "an array of batch names or ids") {
		return
	}
	p.token()
	max := p.d.lim.MaxBatchesPerItem
	for n := 0; !p.abort; n++ {
		k := p.peek()
		if k == 0 {
			return
		}
		if k == ']' {
			p.token()
			return
		}
		if n >= max {
			if n == max {
				p.addf(l, "names more than %d batches; the limit is %d (%s)", max, max, SettingMaxBatchesPerItem)
			}
			p.skip()
			continue
		}
		el := loc{field: "batches", i: n}
		if !p.is(el, k, '"', "a string (a batch name or id)") {
			continue
		}
		s, ok := p.str(el, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
		if !ok {
			continue
		}
		b := p.bytesOf(s)
		if msg := batchProblem(string(b)); msg != "" {
			p.drop(s)
			p.add(p.path(el), msg)
			continue
		}
		dup := false
		for _, o := range p.batchSpans {
			dup = dup || string(p.bytesOf(o)) == string(b)
		}
		if dup {
			p.drop(s)
		} else {
			p.batchSpans = append(p.batchSpans, s)
		}
	}
}

func (p *parser) attachments() {
	l := at("attachments")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	const shape = `{"type": "IMAGE" | "VIDEO" | "TEXT", "value": "<url or text>"}`
	if !p.is(l, k, '[', "an array of "+shape+" objects") {
		return
	}
	p.token()
	max := p.d.lim.MaxAttachments
	for n := 0; !p.abort; n++ {
		k := p.peek()
		if k == 0 {
			return
		}
		if k == ']' {
			p.token()
			return
		}
		if n >= max {
			if n == max {
				p.addf(l, "has more than %d attachments; the limit is %d (%s)", max, max, SettingMaxAttachments)
			}
			p.skip()
			continue
		}
		if !p.is(loc{field: "attachments", i: n}, k, '{', "an object "+shape) {
			continue
		}
		p.token()
		var a attachment
		hasType, hasValue, bad := false, false, false
		for !p.abort {
			k := p.peek()
			if k == 0 {
				return
			}
			if k == '}' {
				p.token()
				break
			}
			name, ok := p.name()
			if !ok {
				return
			}
			switch string(name) {
			case "type":
				el := loc{field: "attachments", i: n, sub: "type"}
				const what = `"IMAGE", "VIDEO" or "TEXT"`
				k := p.peek()
				if k == 0 {
					return
				}
				if !p.is(el, k, '"', what) {
					bad = true
					break
				}
				s, ok := p.str(el, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
				if !ok {
					bad = true
					break
				}
				b := p.bytesOf(s)
				p.drop(s)
				switch string(b) {
				case AttachmentImage:
					a.typ, hasType = AttachmentImage, true
				case AttachmentVideo:
					a.typ, hasType = AttachmentVideo, true
				case AttachmentText:
					a.typ, hasType = AttachmentText, true
				default:
					p.addf(el, "must be %s (upper case), not %s", what, shortQuote(string(b)))
					bad = true
				}
			case "value":
				el := loc{field: "attachments", i: n, sub: "value"}
				k := p.peek()
				if k == 0 {
					return
				}
				if !p.is(el, k, '"', "a string (a URL, or the text of a TEXT attachment)") {
					bad = true
					break
				}
				s, ok := p.str(el, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
				if !ok {
					bad = true
					break
				}
				a.value, hasValue = s, true
			default:
				p.addf(loc{field: "attachments", i: n, sub: string(name)}, `unknown field %s: an attachment has "type" and "value"`, shortQuote(string(name)))
				p.skip()
				bad = true
			}
		}
		if p.abort {
			return
		}
		if !hasType && !bad {
			p.addf(loc{field: "attachments", i: n, sub: "type"}, `is required: "IMAGE", "VIDEO" or "TEXT"`)
			bad = true
		}
		if !hasValue && !bad {
			p.addf(loc{field: "attachments", i: n, sub: "value"}, "is required: the attachment's URL, or its text for TEXT")
			bad = true
		}
		if !bad {
			a.at = n
			p.attSpans = append(p.attSpans, a)
		}
	}
}

func (p *parser) preLabels(field string) {
	l := at(field)
	if p.f.preLabelsField != "" {
		p.addf(l, "give pre-labels in preLabels or in annotations (its alias), not in both")
		p.skip()
		return
	}
	p.f.preLabelsField = field
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '{', `an object {"objects": […], "classifications": […], "relations": […]}`) {
		return
	}
	v, err := p.dec.ReadValue()
	if err != nil {
		p.fail(err)
		return
	}
	p.f.preLabels = append([]byte(nil), v...)
}

func (p *parser) storage() {
	l := at("storage")
	k := p.peek()
	if k == 0 || p.null(k) {
		return
	}
	if !p.is(l, k, '"', "a string (the id of a storage integration)") {
		p.f.badStorage = true
		return
	}
	s, ok := p.str(l, p.d.lim.MaxStringBytes, SettingMaxStringBytes)
	switch {
	case !ok:
		p.f.badStorage = true
	case s.n == 0:
		p.add(p.path(l), "must not be empty: leave it out to use the import's storage integration")
		p.f.badStorage = true
	default:
		p.f.storage, p.f.hasStorage = s, true
	}
}

// --- checks across fields ---

// finish checks what needs several fields and builds the item.
func (p *parser) finish() Item {
	f := &p.f
	d := p.d
	p.all = string(p.strs) // the one allocation of the item's strings
	if !f.hasExternalID && !f.badExternal {
		p.add(p.path(at("externalId")), "is required: the asset's name, such as its file name")
	}
	in, storageID, storageOK := d.defaultInt, d.opts.DefaultStorageID, !f.badStorage
	if f.hasStorage {
		storageID = p.text(f.storage)
		if in = d.storages[storageID]; in == nil {
			p.addf(at("storage"), "names no storage integration of this project: %s is not the id of one", shortQuote(storageID))
			storageOK = false
		}
	}
	inline := f.editorType != ""
	data := p.text(f.data)
	var typ labelhub.AssetType
	switch {
	case f.hasData && f.hasDataset:
		p.add(p.path(at("dataset")), "cannot be given with data: give data for one file, or dataset for the pages of a multi-page asset")
	case f.hasDataset:
		if inline {
			p.add(p.path(at("editorType")), "applies to inline text in data, not to a dataset")
		}
		if storageOK {
			typ = p.pages(in)
		}
	case f.hasData && inline:
		if data == "" {
			p.add(p.path(at("data")), "must not be empty: with editorType, data holds the text itself")
		}
		typ = labelhub.AssetText
	case f.hasData:
		if n := len(data); n > d.lim.MaxStringBytes {
			p.addf(at("data"), "is %d bytes long; the limit is %d bytes (%s); for inline text set editorType", n, d.lim.MaxStringBytes, SettingMaxStringBytes)
		} else if storageOK {
			typ = p.url(at("data"), data, in)
		}
	case inline && !f.badData:
		p.add(p.path(at("data")), "is required: with editorType, data holds the text itself")
	case !f.badData && !f.badDataset:
		p.add(p.path(at("data")), "is required: the file's URL (or give dataset, the page URLs of a multi-page asset)")
	}
	for _, a := range p.attSpans {
		l := loc{field: "attachments", i: a.at, sub: "value"}
		switch {
		case a.typ == AttachmentText:
			if a.value.n == 0 {
				p.add(p.path(l), "must not be empty: the text of the attachment")
			}
		case storageOK:
			if _, err := assetref.Resolve(p.text(a.value), in); err != nil {
				p.add(p.path(l), resolveMessage(err))
			}
		}
	}
	var labels *labelhub.Labels
	if f.preLabels != nil {
		var errs []labelhub.FieldError
		labels, errs = decodePreLabels(f.preLabels, d.opts.Schema, p.path(at(f.preLabelsField)), len(p.pageSpans))
		for _, e := range errs {
			p.add(e.Path, e.Message)
		}
	}
	if len(p.errs) > 0 {
		return Item{}
	}
	it := Item{
		Index: p.idx, Line: p.line,
		ExternalID: p.text(f.externalID), Type: typ,
		Batches: p.mergeBatches(), PreLabels: labels, StorageID: storageID,
	}
	switch {
	case inline:
		it.Text, it.EditorType = data, f.editorType
	case !f.hasDataset:
		it.URL = data
	}
	if f.hasDataset {
		it.Dataset = make([]string, len(p.pageSpans))
		for i, s := range p.pageSpans {
			it.Dataset[i] = p.text(s)
		}
	}
	if len(p.attSpans) > 0 {
		it.Attachments = make([]Attachment, len(p.attSpans))
		for i, a := range p.attSpans {
			it.Attachments[i] = Attachment{Type: a.typ, Value: p.text(a.value)}
		}
	}
	if f.hasMetadata || f.hasContext {
		raws := bytes.Clone(p.raws) // the one allocation of the item's raw values
		if f.hasMetadata {
			m := f.metadata
			it.Metadata = raws[m.off : m.off+m.n : m.off+m.n]
		}
		if f.hasContext {
			c := f.contextData
			it.ContextData = raws[c.off : c.off+c.n : c.off+c.n]
		}
	}
	switch typ {
	case labelhub.AssetVideo:
		it.NeedsProbe = !(f.frameRate && f.frameCount && f.width && f.height)
	case labelhub.AssetImage:
		it.NeedsProbe = !(f.width && f.height)
	}
	return it
}

// mergeBatches returns the request's batches and then the item's own.
func (p *parser) mergeBatches() []string {
	req := p.d.opts.Batches
	if len(p.batchSpans) == 0 {
		return req
	}
	out := make([]string, len(req), len(req)+len(p.batchSpans))
	copy(out, req)
	for _, s := range p.batchSpans {
		b := p.text(s)
		dup := false
		for _, r := range req {
			dup = dup || r == b
		}
		if !dup {
			out = append(out, b)
		}
	}
	return out
}

// pages checks the URLs of a dataset; all pages must be of one type.
func (p *parser) pages(in *assetref.Integration) labelhub.AssetType {
	var first labelhub.AssetType
	for i, s := range p.pageSpans {
		t := p.url(loc{field: "dataset", i: i}, p.text(s), in)
		switch {
		case t == "":
		case first == "":
			first = t
		case t != first:
			p.addf(loc{field: "dataset", i: i}, "is %s file, but the pages of a dataset must all be of one type (the first page is %s file)", withArticle(t), withArticle(first))
		}
	}
	return first
}

// url resolves an asset URL in the integration (nil: public http(s)) and
// returns the asset type its extension gives; "" after reporting a problem.
func (p *parser) url(l loc, raw string, in *assetref.Integration) labelhub.AssetType {
	ref, err := assetref.Resolve(raw, in)
	if err != nil {
		msg := resolveMessage(err)
		if l.field == "data" && !strings.Contains(raw, "://") && !looksLikeWindowsPath(raw) {
			msg += `; if data holds the text itself, set editorType to "markdown", "html" or "text"`
		}
		p.add(p.path(l), msg)
		return ""
	}
	name := ref.Key
	if ref.Public {
		name = urlPath(raw)
	}
	if t := labelhub.AssetTypeOf(name, ""); t != "" {
		return t
	}
	ext := path.Ext(name)
	if ext == "" || strings.Contains(ext, "/") {
		p.addf(l, "names a file without an extension: labelhub tells an asset's type by its extension (supported: %s)", supportedExtensions)
	} else {
		p.addf(l, "names a %s file, which is not a supported asset type (supported: %s)", shortQuote(ext), supportedExtensions)
	}
	return ""
}

func looksLikeWindowsPath(s string) bool {
	return len(s) >= 3 && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z') && s[1] == ':' && (s[2] == '\\' || s[2] == '/')
}

// withArticle is "an image", "a video", ….
func withArticle(t labelhub.AssetType) string {
	switch t {
	case labelhub.AssetImage, labelhub.AssetAudio:
		return "an " + string(t)
	case labelhub.AssetPDF:
		return "a PDF"
	case labelhub.AssetDICOM:
		return "a DICOM"
	}
	return "a " + string(t)
}

func resolveMessage(err error) string {
	var ae *assetref.Error
	if errors.As(err, &ae) && ae.Reason != "" {
		return ae.Reason
	}
	return err.Error()
}

// urlPath is the path of an absolute URL, without query and fragment.
func urlPath(raw string) string {
	s := raw
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			s = s[j:]
		} else {
			return ""
		}
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return s
}

// appendCompact appends the valid JSON value src without the whitespace
// outside its strings.
func appendCompact(dst, src []byte) []byte {
	run := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '"':
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[run:i]...)
			run = i + 1
		}
	}
	return append(dst, src[run:]...)
}
