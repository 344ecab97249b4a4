package floor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Result is what a floor program did: how many items (assets imported,
// tasks exported, objects listed), how many bytes it read or wrote, and how
// long it took.
type Result struct {
	Items    int64
	Bytes    int64
	Duration time.Duration
}

// PerSecond is Items per second of Duration.
func (r Result) PerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Items) / r.Duration.Seconds()
}

// String is e.g. "100000 items, 41.2 MB in 1.234s (81037/s)".
func (r Result) String() string {
	return fmt.Sprintf("%d items, %.1f MB in %v (%.0f/s)", r.Items, float64(r.Bytes)/1e6, r.Duration.Round(time.Millisecond), r.PerSecond())
}

// Project is the project id every floor row gets.
const Project = "floor"

// Stage is the stage id of every task the floor imports.
const Stage = "start"

const (
	importBatch = 2000 // items a transaction
	exportPage  = 1000 // tasks a query
)

// item is what the floor keeps of an import item.
type item struct {
	ExternalID string          `json:"externalId"`
	Data       string          `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
}

// row is one decoded item with its ids, ready to insert.
type row struct {
	assetID, taskID, externalID, data, metadata string
}

// decoder reads the items of an NDJSON import file, numbering them from
// start.
type decoder struct {
	cr   *countingReader
	dec  *json.Decoder
	next int64
}

func newDecoder(r io.Reader, start int64) *decoder {
	cr := &countingReader{r: r}
	return &decoder{cr: cr, dec: json.NewDecoder(cr), next: start}
}

// batch fills rows (up to its capacity) and returns them; an empty slice
// at the end of the file.
func (d *decoder) batch(rows []row) ([]row, error) {
	rows = rows[:0]
	for len(rows) < cap(rows) {
		var it item
		if err := d.dec.Decode(&it); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("floor: item %d: %w", d.next, err)
		}
		meta := "{}"
		if len(it.Metadata) > 0 {
			meta = string(it.Metadata)
		}
		rows = append(rows, row{
			assetID: string(appendID(nil, 'a', d.next)), taskID: string(appendID(nil, 't', d.next)),
			externalID: it.ExternalID, data: it.Data, metadata: meta,
		})
		d.next++
	}
	return rows, nil
}

// appendID appends a fixed-width id (prefix and 12 digits), so that text
// order is insertion order.
func appendID(b []byte, prefix byte, n int64) []byte {
	b = append(b, prefix)
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	for i := len(d); i < 12; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Answer is what the floor's import gives every task besides its asset:
// a stored answer (JSON text, the object of the task's tools,
// classifications and relations) by a user, and History history entries
// that carry the same answer. The zero Answer leaves the tasks unanswered
// (an empty answer, no history), as an import does.
type Answer struct {
	Text    string
	UserID  string
	History int
}

// historyDuration is the time (ms) of each history entry the floor writes.
const historyDuration = 8217

// span is a part of a page's arena.
type span struct{ off, end int }

// exportTask is a task of an export page as read, with its asset; its
// history entries are the page's hist[h0:h1].
type exportTask struct {
	taskID, stage, updatedBy, answer    span
	assetID, externalID, data, metadata span
	updatedAt, totalDuration            int64
	h0, h1                              int
}

// exportHist is a history entry as read.
type exportHist struct {
	taskID, stageID, stageName, completedBy, answer span
	duration, completedAt                           int64
}

// pageRows is a page of an export: the text of its rows in one arena,
// reused from page to page.
type pageRows struct {
	arena []byte
	tasks []exportTask
	hist  []exportHist
}

func (p *pageRows) reset() {
	p.arena, p.tasks, p.hist = p.arena[:0], p.tasks[:0], p.hist[:0]
}

func (p *pageRows) keep(b []byte) span {
	s := span{len(p.arena), len(p.arena) + len(b)}
	p.arena = append(p.arena, b...)
	return s
}

func (p *pageRows) text(s span) []byte { return p.arena[s.off:s.end] }

// attach gives each task its history entries: both are in task id order.
func (p *pageRows) attach() {
	j := 0
	for i := range p.hist {
		id := p.text(p.hist[i].taskID)
		for j < len(p.tasks) && string(p.text(p.tasks[j].taskID)) < string(id) {
			j++
		}
		if j == len(p.tasks) {
			return
		}
		t := &p.tasks[j]
		if string(p.text(t.taskID)) != string(id) {
			continue
		}
		if t.h1 == 0 {
			t.h0 = i
		}
		t.h1 = i + 1
	}
}

// lineWriter appends export lines into a buffer and writes it to w in
// chunks of about 64 KiB.
type lineWriter struct {
	w   io.Writer
	buf []byte
	n   int64
}

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{w: w, buf: make([]byte, 0, 80<<10)}
}

// page appends the export lines of a page's tasks.
func (lw *lineWriter) page(p *pageRows) error {
	for i := range p.tasks {
		if err := lw.line(p, &p.tasks[i]); err != nil {
			return err
		}
	}
	return nil
}

// line appends the export line of one task: its asset's fields, the task's,
// its stored answer and those of its history entries copied as they are
// (their fields spliced into the task's object, formats.md §3), metadata
// left out when empty.
func (lw *lineWriter) line(p *pageRows, t *exportTask) error {
	b := lw.buf
	b = append(b, `{"asset":`...)
	b = appendString(b, p.text(t.data))
	b = append(b, `,"assetId":`...)
	b = appendString(b, p.text(t.assetID))
	b = append(b, `,"externalId":`...)
	b = appendString(b, p.text(t.externalID))
	if meta := p.text(t.metadata); len(meta) > 0 {
		b = append(b, `,"metadata":`...)
		b = append(b, meta...)
	}
	b = append(b, `,"task":{"taskId":`...)
	b = appendString(b, p.text(t.taskID))
	b = append(b, `,"stageId":`...)
	b = appendString(b, p.text(t.stage))
	b = append(b, `,"updatedAt":`...)
	b = appendTime(b, t.updatedAt)
	b = append(b, `,"updatedBy":`...)
	b = appendString(b, p.text(t.updatedBy))
	b = appendAnswer(b, p.text(t.answer))
	b = append(b, `,"stageHistory":[`...)
	for j := t.h0; j < t.h1; j++ {
		h := &p.hist[j]
		if j > t.h0 {
			b = append(b, ',')
		}
		b = append(b, `{"stage":`...)
		b = appendString(b, p.text(h.stageName))
		b = append(b, `,"stageId":`...)
		b = appendString(b, p.text(h.stageID))
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, h.duration, 10)
		b = append(b, `,"completedAt":`...)
		b = appendTime(b, h.completedAt)
		b = append(b, `,"completedBy":`...)
		b = appendString(b, p.text(h.completedBy))
		b = appendAnswer(b, p.text(h.answer))
		b = append(b, '}')
	}
	b = append(b, `],"totalDuration":`...)
	b = strconv.AppendInt(b, t.totalDuration, 10)
	b = append(b, "}}\n"...)
	lw.buf = b
	if len(b) >= 64<<10 {
		return lw.flush()
	}
	return nil
}

// appendAnswer appends ',' and the fields of a stored answer (the text
// inside its braces, as stored); an empty answer is the empty lists.
func appendAnswer(b, answer []byte) []byte {
	inner := bytes.TrimSpace(answer)
	if len(inner) >= 2 && inner[0] == '{' && inner[len(inner)-1] == '}' {
		inner = bytes.TrimSpace(inner[1 : len(inner)-1])
	} else {
		inner = nil
	}
	if len(inner) == 0 {
		return append(b, `,"tools":[],"classifications":[],"relations":[]`...)
	}
	b = append(b, ',')
	return append(b, inner...)
}

// appendTime appends a time stored in microseconds as a JSON string
// (RFC 3339, UTC).
func appendTime(b []byte, micros int64) []byte {
	b = append(b, '"')
	b = time.UnixMicro(micros).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func (lw *lineWriter) flush() error {
	if len(lw.buf) == 0 {
		return nil
	}
	n, err := lw.w.Write(lw.buf)
	lw.n += int64(n)
	lw.buf = lw.buf[:0]
	return err
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// exportPages writes the pages that read gives (the tasks after the
// last task id of the page before, exportPage at most) to w as NDJSON
// until a page is short.
func exportPages(start time.Time, w io.Writer, read func(last string, p *pageRows) error) (Result, error) {
	lw := newLineWriter(w)
	p := &pageRows{}
	var items int64
	var last []byte
	for {
		p.reset()
		if err := read(string(last), p); err != nil {
			return Result{}, err
		}
		if err := lw.page(p); err != nil {
			return Result{}, err
		}
		n := len(p.tasks)
		if n > 0 {
			last = append(last[:0], p.text(p.tasks[n-1].taskID)...)
		}
		items += int64(n)
		if n < exportPage {
			break
		}
	}
	if err := lw.flush(); err != nil {
		return Result{}, err
	}
	return Result{Items: items, Bytes: lw.n, Duration: time.Since(start)}, nil
}
