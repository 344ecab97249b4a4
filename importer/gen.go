package importer

import (
	"fmt"
	"io"
	"strconv"

	"github.com/labelhub/labelhub/storage/assetref"
)

// Forms of a generated import file.
const (
	FormArray  = "array"  // [ {...}, ... ]
	FormNDJSON = "ndjson" // one object per line
	FormAssets = "assets" // {"assets": [ ... ]}
)

// Generator is an io.Reader that produces an import file of n valid items
// in the realistic shape of a cloud import: an image in the storage
// integration's bucket (a public https URL when the integration is the
// zero value), an externalId, metadata with width and height, contextData
// with five keys and one batch. About 400 bytes an item. It holds one item
// at a time, so it can produce files of any size for benchmarks and tests
// of memory use.
type Generator struct {
	n, i   int
	form   string
	prefix string // URL up to the key
	buf    []byte
	off    int
	done   bool
}

// NewGenerator returns a Generator of n items in the given form (FormArray,
// FormNDJSON or FormAssets) whose URLs name objects of storage.
func NewGenerator(n int, form string, storage assetref.Integration) (*Generator, error) {
	switch form {
	case FormArray, FormNDJSON, FormAssets:
	default:
		return nil, fmt.Errorf("importer: unknown form %q (want %q, %q or %q)", form, FormArray, FormNDJSON, FormAssets)
	}
	prefix := "https://example.com/"
	if storage != (assetref.Integration{}) {
		if prefix = assetref.URL(storage, ""); prefix == "" {
			_, err := assetref.Resolve("https://example.com/x.jpg", &storage)
			return nil, fmt.Errorf("importer: unusable storage integration: %v", err)
		}
	}
	g := &Generator{n: n, form: form, prefix: prefix, buf: make([]byte, 0, 1024)}
	switch form {
	case FormArray:
		g.buf = append(g.buf, '[')
	case FormAssets:
		g.buf = append(g.buf, `{"assets":[`...)
	}
	return g, nil
}

// Generate writes an import file of n generated items (see Generator) to w.
func Generate(w io.Writer, n int, form string, storage assetref.Integration) error {
	g, err := NewGenerator(n, form, storage)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, g)
	return err
}

// Read implements io.Reader.
func (g *Generator) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if g.off == len(g.buf) {
			if g.done {
				break
			}
			g.next()
		}
		c := copy(p[n:], g.buf[g.off:])
		g.off += c
		n += c
	}
	if n == 0 && g.done && g.off == len(g.buf) {
		return 0, io.EOF
	}
	return n, nil
}

var (
	sites   = [...]string{"north", "south", "east", "west", "harbour", "airport", "depot"}
	weather = [...]string{"clear", "cloudy", "rain", "fog", "snow"}
)

// next puts the next item (or the end of the file) into buf.
func (g *Generator) next() {
	b := g.buf[:0]
	g.off = 0
	if g.i == g.n {
		switch g.form {
		case FormArray:
			b = append(b, "]\n"...)
		case FormAssets:
			b = append(b, "]}\n"...)
		}
		g.buf, g.done = b, true
		return
	}
	i := g.i
	if i > 0 && g.form != FormNDJSON {
		b = append(b, ",\n"...)
	}
	name := strconv.AppendInt(make([]byte, 0, 16), int64(i), 10)
	b = append(b, `{"externalId":"img-`...)
	b = append(b, name...)
	b = append(b, `.jpg","data":"`...)
	b = append(b, g.prefix...)
	b = append(b, "images/2026/03/"...)
	b = strconv.AppendInt(b, int64(i%1000), 10)
	b = append(b, "/img-"...)
	b = append(b, name...)
	b = append(b, `.jpg","metadata":{"width":`...)
	b = strconv.AppendInt(b, int64(1280+i%3*320), 10)
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, int64(720+i%3*180), 10)
	b = append(b, `},"contextData":{"site":"`...)
	b = append(b, sites[i%len(sites)]...)
	b = append(b, `","camera":"cam-`...)
	b = strconv.AppendInt(b, int64(i%17), 10)
	b = append(b, `","capturedAt":"2026-03-`...)
	b = append(b, byte('1'+i%9))
	b = append(b, `T12:00:00Z","weather":"`...)
	b = append(b, weather[i%len(weather)]...)
	b = append(b, `","sequence":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `},"batches":["batch-`...)
	b = strconv.AppendInt(b, int64(i/10000), 10)
	b = append(b, `"]}`...)
	if g.form == FormNDJSON {
		b = append(b, '\n')
	}
	g.buf = b
	g.i++
}
