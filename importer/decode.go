package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/labelhub/labelhub/storage/assetref"
)

// The decoder reads the file in two stages. The framer (this file) scans
// the bytes once, outside the JSON grammar of items: it finds the form of
// the file, the delimiters between items and where each item ends
// (brackets and strings), counts lines, and enforces MaxItemBytes and
// MaxDepth without recursion. Each item's bytes then go to the parser
// (item.go), which decodes them with jsontext, checks the grammar and
// validates the asset. A buffer holds the current item only, so memory is
// bounded by MaxItemBytes whatever the size of the file.

type form int

const (
	formArray  form = iota + 1 // [ {...}, ... ]
	formNDJSON                 // {...}\n{...}\n
	formAssets                 // {"assets": [ {...}, ... ]}
)

const initialBufSize = 64 << 10

var (
	errTooLarge  = errors.New("item too large")
	errTruncated = errors.New("unexpected end of file")
)

type decoder struct {
	in   io.Reader
	buf  []byte
	pos  int   // next unread byte of buf
	end  int   // end of the data in buf
	keep int   // start of the bytes that must stay in buf (the current item)
	base int64 // file offset of buf[0]
	line int   // line at pos
	eof  bool  // the reader returned an error (io.EOF or another)
	rerr error // the reader's error other than io.EOF

	maxBuf int
	lim    Limits
	opts   Options
	form   form
	emit   func(Item) error
	report func(ItemError) error
	counts Counts

	curLine int // line of the current item's first byte

	stack []uint64 // one bit per open bracket of the current item: 1 = object
	p     parser

	storages   map[string]*assetref.Integration
	defaultInt *assetref.Integration
}

func newDecoder(r io.Reader, opts Options, emit func(Item) error, report func(ItemError) error) (*decoder, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	if emit == nil {
		emit = func(Item) error { return nil }
	}
	if report == nil {
		report = func(ItemError) error { return nil }
	}
	// The request's batches without duplicates (items share this slice).
	var batches []string
	for _, b := range opts.Batches {
		if !slices.Contains(batches, b) {
			batches = append(batches, b)
		}
	}
	opts.Batches = batches
	d := &decoder{in: r, opts: opts, lim: opts.Limits.withDefaults(), emit: emit, report: report, line: 1}
	d.maxBuf = max(initialBufSize, d.lim.MaxItemBytes+initialBufSize)
	d.buf = make([]byte, min(initialBufSize, d.maxBuf))
	d.storages = make(map[string]*assetref.Integration, len(opts.Storages))
	for id, in := range opts.Storages {
		d.storages[id] = &in
	}
	if in, ok := d.storages[""]; ok {
		d.defaultInt = in
	} else if opts.DefaultStorageID != "" {
		d.defaultInt = d.storages[opts.DefaultStorageID]
	}
	d.p.d = d
	return d, nil
}

// fatalf returns a fatal *Error at buf position pos, on the current line.
func (d *decoder) fatalf(pos int, format string, args ...any) *Error {
	return &Error{Offset: d.base + int64(pos), Line: d.line, Message: fmt.Sprintf(format, args...)}
}

func (d *decoder) readError() error {
	return fmt.Errorf("importer: reading the import file: %w", d.rerr)
}

// fill reads more input into buf, keeping buf[keep:end] (it may move it to
// the front of buf, or grow buf up to maxBuf). It returns false at the end
// of the input, on a read error (d.rerr) or when buf is full.
func (d *decoder) fill() bool {
	if d.eof {
		return false
	}
	if d.end == len(d.buf) {
		switch {
		case d.keep > 0:
			n := copy(d.buf, d.buf[d.keep:d.end])
			d.base += int64(d.keep)
			d.pos -= d.keep
			d.end = n
			d.keep = 0
		case len(d.buf) < d.maxBuf:
			nb := make([]byte, min(2*len(d.buf), d.maxBuf))
			copy(nb, d.buf[:d.end])
			d.buf = nb
		default:
			return false
		}
	}
	for tries := 0; ; tries++ {
		n, err := d.in.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			d.eof, d.rerr = true, errors.New("the reader returned an invalid count")
			return false
		}
		d.end += n
		if err != nil {
			d.eof = true
			if err != io.EOF {
				d.rerr = err
			}
		}
		if n > 0 {
			return true
		}
		if d.eof {
			return false
		}
		if tries >= 100 {
			d.eof, d.rerr = true, io.ErrNoProgress
			return false
		}
	}
}

// skipSpace skips whitespace, counting lines, and returns the next byte
// without consuming it; false at the end of the input.
func (d *decoder) skipSpace() (byte, bool) {
	for {
		for d.pos < d.end {
			switch c := d.buf[d.pos]; c {
			case ' ', '\t', '\r':
			case '\n':
				d.line++
			default:
				return c, true
			}
			d.pos++
		}
		d.keep = d.pos
		if !d.fill() {
			return 0, false
		}
	}
}

// window is the part of the current item in buf, cut at MaxItemBytes+1.
func (d *decoder) window() []byte {
	w := d.buf[d.keep:d.end]
	if len(w) > d.lim.MaxItemBytes {
		w = w[:d.lim.MaxItemBytes+1]
	}
	return w
}

// more is called by the framer when it has used the whole window (p bytes
// of the item): it returns a longer window, errTooLarge, errTruncated or
// the read error.
func (d *decoder) more(p int) ([]byte, error) {
	if p > d.lim.MaxItemBytes {
		return nil, errTooLarge
	}
	if !d.fill() {
		if d.rerr != nil {
			return nil, d.readError()
		}
		if d.end-d.keep > d.lim.MaxItemBytes {
			return nil, errTooLarge // cannot happen: maxBuf > MaxItemBytes
		}
		return nil, errTruncated
	}
	return d.window(), nil
}

func (d *decoder) run(ctx context.Context) error {
	if err := d.skipBOM(); err != nil {
		return err
	}
	c, ok := d.skipSpace()
	if !ok {
		if d.rerr != nil {
			return d.readError()
		}
		if d.base+int64(d.pos) == 0 {
			return d.fatalf(d.pos, `the file is empty: an import file is a JSON array of assets, NDJSON (one asset object per line) or {"assets": [...]}`)
		}
		return d.fatalf(d.pos, `the file holds only whitespace: an import file is a JSON array of assets, NDJSON (one asset object per line) or {"assets": [...]}`)
	}
	switch c {
	case '[':
		d.form = formArray
		d.pos++
		if err := d.array(ctx); err != nil {
			return err
		}
		return d.expectEOF("the array of assets")
	case '{':
		assets, err := d.firstKeyIsAssets()
		if err != nil {
			return err
		}
		if !assets {
			d.form = formNDJSON
			return d.ndjson(ctx)
		}
		d.form = formAssets
		d.pos++ // '{'
		d.skipSpace()
		d.pos += len(`"assets"`)
		if c, ok := d.skipSpace(); !ok || c != ':' {
			return d.unexpected(c, ok, `':' after "assets"`)
		}
		d.pos++
		if c, ok := d.skipSpace(); !ok || c != '[' {
			if ok && c != '[' {
				return d.fatalf(d.pos, `"assets" must be an array of asset objects, not %s`, describeStart(c))
			}
			return d.unexpected(c, ok, `'[' after "assets":`)
		}
		d.pos++
		if err := d.array(ctx); err != nil {
			return err
		}
		c, ok := d.skipSpace()
		switch {
		case ok && c == ',':
			return d.fatalf(d.pos, `the top-level object has keys besides "assets": a file of the form {"assets": [...]} has no other key; remove them`)
		case !ok || c != '}':
			return d.unexpected(c, ok, `'}' closing the top-level object after the "assets" array`)
		}
		d.pos++
		return d.expectEOF(`the top-level object`)
	default:
		return d.fatalf(d.pos, `an import file starts with '[' (a JSON array of assets) or '{' (NDJSON, one asset object per line, or {"assets": [...]}), not with %s`, describeStart(c))
	}
}

// skipBOM skips a UTF-8 byte order mark and refuses UTF-16 and UTF-32.
func (d *decoder) skipBOM() error {
	for d.end < 4 && d.fill() {
	}
	if d.rerr != nil {
		return d.readError()
	}
	b := d.buf[:d.end]
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		d.pos = 3
	case len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE),
		len(b) >= 2 && (b[0] == 0 || b[1] == 0):
		return d.fatalf(0, "the file is UTF-16 or UTF-32 encoded: save it as UTF-8")
	}
	return nil
}

// expectEOF checks that nothing but whitespace follows the file's JSON value.
func (d *decoder) expectEOF(what string) error {
	c, ok := d.skipSpace()
	if ok {
		return d.fatalf(d.pos, "unexpected %s after the end of %s: the file must hold one JSON value", describeByte(c), what)
	}
	if d.rerr != nil {
		return d.readError()
	}
	return nil
}

// unexpected reports byte c (or the end of the file when !ok) where want was expected.
func (d *decoder) unexpected(c byte, ok bool, want string) error {
	if !ok {
		if d.rerr != nil {
			return d.readError()
		}
		return d.fatalf(d.pos, "the file ends where %s was expected: it is truncated", want)
	}
	return d.fatalf(d.pos, "expected %s, found %s", want, describeByte(c))
}

// firstKeyIsAssets peeks at the object that starts at pos: does its first
// key read "assets"? It consumes nothing.
func (d *decoder) firstKeyIsAssets() (bool, error) {
	d.keep = d.pos
	w := d.window()
	p := 1
	const key = `"assets"`
	for {
		for p < len(w) && isSpace(w[p]) {
			p++
		}
		if p+len(key) <= len(w) || (p < len(w) && w[p] != '"') {
			break
		}
		var err error
		if w, err = d.more(p); err != nil {
			if err == errTooLarge || err == errTruncated {
				return false, nil // the framer will say what is wrong
			}
			return false, err
		}
	}
	return p+len(key) <= len(w) && string(w[p:p+len(key)]) == key, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// array decodes items up to and including the closing ']'; pos is after '['.
func (d *decoder) array(ctx context.Context) error {
	c, ok := d.skipSpace()
	if !ok {
		return d.unexpected(c, ok, "an asset object or ']'")
	}
	if c == ']' {
		d.pos++
		return nil
	}
	for {
		if err := d.item(ctx); err != nil {
			return err
		}
		c, ok := d.skipSpace()
		if !ok {
			return d.unexpected(c, ok, fmt.Sprintf("',' or ']' after item [%d]", d.counts.Received-1))
		}
		switch c {
		case ',':
			d.pos++
			c, ok := d.skipSpace()
			if !ok {
				return d.unexpected(c, ok, "an asset object after ','")
			}
			if c == ']' {
				return d.fatalf(d.pos, "trailing comma after the last item [%d]: remove the ',' before ']'", d.counts.Received-1)
			}
		case ']':
			d.pos++
			return nil
		default:
			return d.fatalf(d.pos, "expected ',' or ']' after item [%d], found %s", d.counts.Received-1, describeByte(c))
		}
	}
}

// ndjson decodes one item per line until the end of the input.
func (d *decoder) ndjson(ctx context.Context) error {
	for {
		if _, ok := d.skipSpace(); !ok {
			if d.rerr != nil {
				return d.readError()
			}
			return nil
		}
		if err := d.item(ctx); err != nil {
			return err
		}
		// The rest of the line must be blank.
		for {
			if d.pos == d.end {
				d.keep = d.pos
				if !d.fill() {
					if d.rerr != nil {
						return d.readError()
					}
					return nil
				}
			}
			c := d.buf[d.pos]
			if c == ' ' || c == '\t' || c == '\r' {
				d.pos++
				continue
			}
			if c != '\n' {
				return d.fatalf(d.pos, "expected the end of the line after item [%d], found %s: NDJSON has one asset object per line (for a JSON array, start the file with '[')", d.counts.Received-1, describeByte(c))
			}
			break
		}
	}
}

// item frames, parses and hands on the item that starts at pos.
func (d *decoder) item(ctx context.Context) error {
	idx := d.counts.Received
	if idx&1023 == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	d.keep = d.pos
	line, off := d.line, d.base+int64(d.pos)
	d.curLine = line
	if idx >= d.lim.MaxItems {
		d.counts.Received++
		d.counts.Invalid++
		msg := fmt.Sprintf("is one item too many: an import file has at most %d items (%s)", d.lim.MaxItems, SettingMaxItems)
		if err := d.report(ItemError{Index: idx, Line: line, Path: indexPath(idx), Message: msg}); err != nil {
			return err
		}
		return &Error{Offset: off, Line: line, Limit: SettingMaxItems,
			Message: fmt.Sprintf("item [%d] is one too many: an import file has at most %d items (%s); decoding stopped", idx, d.lim.MaxItems, SettingMaxItems)}
	}
	n, deep, err := d.frame(idx)
	if err != nil {
		return err
	}
	item := d.buf[d.keep : d.keep+n]
	d.pos = d.keep + n
	d.counts.Received++
	if deep != "" {
		d.counts.Invalid++
		msg := fmt.Sprintf("is nested more than %d levels deep (the item object is level 1); the limit is %d (%s)", d.lim.MaxDepth, d.lim.MaxDepth, SettingMaxDepth)
		return d.report(ItemError{Index: idx, Line: line, Path: deep, Message: msg})
	}
	it, ok, err := d.p.parse(item, idx, line, off)
	if err != nil {
		d.counts.Received-- // not JSON: neither valid nor reported
		return err
	}
	if !ok {
		d.counts.Invalid++
		for _, e := range d.p.errs {
			if err := d.report(e); err != nil {
				return err
			}
		}
		return nil
	}
	d.counts.Valid++
	return d.emit(it)
}

func indexPath(idx int) string { return "[" + strconv.Itoa(idx) + "]" }

// special marks the bytes the framer must look at outside strings.
var special = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true, ',': true, '\n': true}

// inString marks the bytes that end a run of plain string bytes.
var inString = [256]bool{'"': true, '\\': true, '\n': true}

// frame finds the end of the item that starts at keep (== pos) and
// returns its length. deep is the path to report when the item nests
// deeper than MaxDepth ("" otherwise). Errors are fatal: the item is too
// large (reported first), truncated, malformed at the bracket level, or a
// read failed.
func (d *decoder) frame(idx int) (n int, deep string, err error) {
	w := d.window()
	p := 0
	if len(w) == 0 {
		if w, err = d.more(0); err != nil {
			return 0, "", d.frameErr(err, idx, 0, -1, -1, false)
		}
	}
	c := w[0]
	switch {
	case c == '{' || c == '[':
	case c == '"':
		p = 1
		for {
			for p < len(w) && !inString[w[p]] {
				p++
			}
			if p >= len(w) {
				if w, err = d.more(p); err != nil {
					return 0, "", d.frameErr(err, idx, p, -1, -1, false)
				}
				continue
			}
			switch w[p] {
			case '"':
				return p + 1, "", nil
			case '\\':
				p += 2
			default: // '\n'
				d.line++
				p++
			}
		}
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		for {
			for p < len(w) && !isDelim(w[p]) {
				p++
			}
			if p < len(w) {
				return p, "", nil
			}
			if w, err = d.more(p); err != nil {
				if err == errTruncated {
					return p, "", nil
				}
				return 0, "", d.frameErr(err, idx, p, -1, -1, false)
			}
		}
	default:
		return 0, "", d.fatalf(d.pos, "expected an asset object, found %s", describeByte(c))
	}

	depth := 0
	stack := d.stack[:0]
	expectKey := false         // at depth 1 of an object, the next string is a key
	keyStart, keyEnd := -1, -1 // the last key at depth 1 (quoted), relative to the item
	for {
		if p >= len(w) {
			if w, err = d.more(p); err != nil {
				d.stack = stack
				return 0, "", d.frameErr(err, idx, p, keyStart, keyEnd, false)
			}
		}
		c := w[p]
		if !special[c] {
			p++
			continue
		}
		switch c {
		case '"':
			start := p
			p++
			for {
				for p < len(w) && !inString[w[p]] {
					p++
				}
				if p >= len(w) {
					if w, err = d.more(p); err != nil {
						d.stack = stack
						inKey := expectKey && depth == 1
						return 0, "", d.frameErr(err, idx, p, keyStart, keyEnd, inKey)
					}
					continue
				}
				if w[p] == '"' {
					break
				}
				if w[p] == '\\' {
					p += 2
					continue
				}
				d.line++ // '\n' (invalid in a string; the parser will say so)
				p++
			}
			p++
			if expectKey && depth == 1 {
				keyStart, keyEnd, expectKey = start, p, false
				if d.form == formNDJSON && idx == 0 && string(w[start:p]) == `"assets"` {
					d.stack = stack
					return 0, "", &Error{Offset: d.base + int64(d.keep+start), Line: d.line,
						Message: `the first object of the file has an "assets" key, but not as its first key: a file of the form {"assets": [...]} has no other key (and NDJSON items have no "assets" field)`}
				}
			}
			continue
		case '{', '[':
			depth++
			if i := (depth - 1) >> 6; i >= len(stack) {
				stack = append(stack, 0)
			}
			bit := uint64(1) << ((depth - 1) & 63)
			if c == '{' {
				stack[(depth-1)>>6] |= bit
				if depth == 1 {
					expectKey = true
				}
			} else {
				stack[(depth-1)>>6] &^= bit
			}
			if depth > d.lim.MaxDepth && deep == "" {
				deep = d.keyPath(idx, w, keyStart, keyEnd, depth > 1)
			}
		case '}', ']':
			isObj := stack[(depth-1)>>6]&(uint64(1)<<((depth-1)&63)) != 0
			if isObj != (c == '}') {
				d.stack = stack
				want := "']' closing an array"
				if isObj {
					want = "'}' closing an object"
				}
				return 0, "", d.fatalf(d.keep+p, "in item [%d]: expected %s, found '%c'", idx, want, c)
			}
			depth--
			if depth == 0 {
				d.stack = stack
				return p + 1, deep, nil
			}
		case ',':
			if depth == 1 && stack[0]&1 != 0 {
				expectKey = true
			}
		case '\n':
			d.line++
		}
		p++
	}
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ']', '}', '[', '{', '"', ':':
		return true
	}
	return false
}

// keyPath is the path of the item's field whose key is w[ks:ke] (quoted),
// "[i]" when there is none or the position is not inside its value.
func (d *decoder) keyPath(idx int, w []byte, ks, ke int, inValue bool) string {
	if ks < 0 || !inValue {
		return indexPath(idx)
	}
	name, ok := unquoteKey(w[ks:ke])
	if !ok {
		return indexPath(idx)
	}
	return indexPath(idx) + fieldSuffix(name)
}

// frameErr turns a framing error into the fatal error to return, after
// reporting a too-large item.
func (d *decoder) frameErr(err error, idx, p, ks, ke int, inKey bool) error {
	switch err {
	case errTooLarge:
		d.counts.Received++
		d.counts.Invalid++
		path := indexPath(idx)
		if !inKey {
			path = d.keyPath(idx, d.buf[d.keep:d.end], ks, ke, ks >= 0)
		}
		msg := fmt.Sprintf("item is larger than %d bytes (%s)", d.lim.MaxItemBytes, SettingMaxItemBytes)
		if rerr := d.report(ItemError{Index: idx, Line: d.itemLine(), Path: path, Message: msg}); rerr != nil {
			return rerr
		}
		// The offset is that of the first byte over the limit.
		return &Error{Offset: d.base + int64(d.keep+min(p, d.lim.MaxItemBytes)), Line: d.line, Limit: SettingMaxItemBytes,
			Message: fmt.Sprintf("item [%d] is larger than %d bytes (%s); decoding stopped", idx, d.lim.MaxItemBytes, SettingMaxItemBytes)}
	case errTruncated:
		return &Error{Offset: d.base + int64(d.end), Line: d.line,
			Message: fmt.Sprintf("the file ends inside item [%d] (which starts on line %d): it is truncated, or a closing bracket or quote is missing", idx, d.itemLine())}
	}
	return err
}

// itemLine is the line of the current item's first byte.
func (d *decoder) itemLine() int { return d.curLine }

// describeByte names a byte for a message.
func describeByte(c byte) string {
	switch {
	case c >= 0x21 && c < 0x7f:
		return fmt.Sprintf("'%c'", c)
	default:
		return fmt.Sprintf("byte 0x%02X", c)
	}
}

// describeStart names the JSON value that starts with c.
func describeStart(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	}
	return describeByte(c)
}
