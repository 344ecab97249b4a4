package floor

import (
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

// line appends one export line; metadata is stored JSON text, written as
// is (left out when empty).
func (lw *lineWriter) line(taskID, stage, assetID, externalID, data, metadata []byte) error {
	b := lw.buf
	b = append(b, `{"asset":`...)
	b = appendString(b, data)
	b = append(b, `,"assetId":`...)
	b = appendString(b, assetID)
	b = append(b, `,"externalId":`...)
	b = appendString(b, externalID)
	if len(metadata) > 0 {
		b = append(b, `,"metadata":`...)
		b = append(b, metadata...)
	}
	b = append(b, `,"task":{"taskId":`...)
	b = appendString(b, taskID)
	b = append(b, `,"stageId":`...)
	b = appendString(b, stage)
	b = append(b, "}}\n"...)
	lw.buf = b
	if len(b) >= 64<<10 {
		return lw.flush()
	}
	return nil
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
