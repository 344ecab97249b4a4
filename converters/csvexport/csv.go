package csvexport

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/converters"
	"github.com/labelhub/labelhub/plugin"
)

// The plugin's names (firstparty lists it).
const (
	Name          = "csv"
	Title         = "CSV"
	Description   = "Exports every object and classification answer as a row of a CSV file (export.csv in a zip), for spreadsheets and scripts."
	DefaultConfig = `{"tools": [], "fileName": "export.csv", "delimiter": ","}`
)

// Config is the converter's Config JSON (docs/export.md "CSV").
type Config struct {
	// Tools chooses the tools whose objects are exported, by title or
	// schemaId; empty: every tool. Classification answers are always
	// exported (nested ones with their object).
	converters.ToolsConfig
	// FileName is the CSV file's name in the zip.
	FileName string `json:"fileName,omitempty"`
	// Delimiter separates the cells: ",", ";", "|" or a tab.
	Delimiter string `json:"delimiter,omitempty"`
}

// Defaults is the Config a run starts from.
var Defaults = Config{FileName: "export.csv", Delimiter: ","}

// Columns are the CSV's columns, in order (its header row).
var Columns = []string{
	"asset_id", "external_id", "asset_url", "task_id", "stage",
	"kind", "object_id", "parent_object_id", "schema_id", "title", "tool",
	"x", "y", "width", "height", "rotation", "points", "answer", "page",
	"updated_at", "updated_by", "image_width", "image_height",
}

// Handler serves export runs with Write.
func Handler() plugin.Handler {
	return converters.Handler(converters.Converter[Config]{Name: Name, Config: Defaults, Write: Write})
}

func (c *Config) check() error {
	if c.FileName == "" {
		c.FileName = Defaults.FileName
	}
	if n := converters.SafeName(&labelhub.ExportedAsset{ExternalID: c.FileName}); n != c.FileName {
		return fmt.Errorf("the Config JSON's fileName %q: must be a file name without path separators (%q would do)", c.FileName, n)
	}
	switch c.Delimiter {
	case "":
		c.Delimiter = Defaults.Delimiter
	case ",", ";", "|", "\t":
	default:
		return fmt.Errorf("the Config JSON's delimiter %q: must be \",\", \";\", \"|\" or \"\\t\"", c.Delimiter)
	}
	return nil
}

// Write converts the export's assets into rows of a CSV file in zw
// (docs/export.md "CSV"), streaming: one asset at a time, straight into
// the zip.
func Write(ctx context.Context, p plugin.Project, cfg Config, assets iter.Seq2[*plugin.ExportedAsset, error], zw *zip.Writer, rep *converters.Report) error {
	if err := cfg.check(); err != nil {
		return err
	}
	var chosen *converters.Categories
	if len(cfg.Tools) > 0 {
		var err error
		if chosen, err = converters.SelectCategories(p.CategorySchema, cfg.Tools, labelhub.ToolKinds, Title); err != nil {
			return err
		}
	}
	f, err := zw.Create(cfg.FileName)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	cw := csv.NewWriter(bw)
	cw.Comma, _ = utf8.DecodeRuneInString(cfg.Delimiter)
	cw.UseCRLF = true
	if err := cw.Write(Columns); err != nil {
		return err
	}
	var rows int64
	row := make([]string, len(Columns))
	for a, err := range assets {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rw := &rowWriter{cw: cw, a: a, row: row}
		if w, h, ok := converters.ImageSize(a.Metadata); ok {
			rw.w, rw.h = strconv.Itoa(w), strconv.Itoa(h)
		}
		for i := range a.Task.Tools {
			o := &a.Task.Tools[i]
			if chosen != nil {
				if _, ok := chosen.Of(o); !ok {
					rep.Count("objectsOfOtherTools", 1)
					continue
				}
			}
			rw.object(o)
			rw.classifications(o.Classifications, o.ObjectID)
		}
		rw.classifications(a.Task.Classifications, "")
		if rw.n == 0 {
			rw.emit("asset", labelhub.ItemMeta{}, nil)
		}
		if rw.err != nil {
			return fmt.Errorf("asset %s: %w", a.AssetID, rw.err)
		}
		rows += rw.n
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	rep.Count("rows", rows)
	return bw.Flush()
}

// rowWriter writes the rows of one asset.
type rowWriter struct {
	cw   *csv.Writer
	a    *labelhub.ExportedAsset
	row  []string
	w, h string
	n    int64
	err  error
}

// Column indexes.
const (
	colAssetID = iota
	colExternalID
	colAssetURL
	colTaskID
	colStage
	colKind
	colObjectID
	colParent
	colSchemaID
	colTitle
	colTool
	colX
	colY
	colWidth
	colHeight
	colRotation
	colPoints
	colAnswer
	colPage
	colUpdatedAt
	colUpdatedBy
	colImageWidth
	colImageHeight
)

// emit writes a row of the given kind; fill sets its item columns.
func (rw *rowWriter) emit(kind string, meta labelhub.ItemMeta, fill func(row []string)) {
	if rw.err != nil {
		return
	}
	row := rw.row
	clear(row)
	a := rw.a
	row[colAssetID], row[colExternalID], row[colAssetURL] = a.AssetID, a.ExternalID, a.Asset
	row[colTaskID], row[colStage], row[colKind] = a.Task.TaskID, a.Task.Stage, kind
	at, by := meta.UpdatedAt, meta.UpdatedBy
	if at.IsZero() {
		at, by = a.Task.UpdatedAt, a.Task.UpdatedBy
	}
	if !at.IsZero() {
		row[colUpdatedAt] = at.UTC().Format(time.RFC3339Nano)
	}
	row[colUpdatedBy] = by
	row[colImageWidth], row[colImageHeight] = rw.w, rw.h
	if fill != nil {
		fill(row)
	}
	for i, v := range row {
		if !numeric[i] {
			row[i] = Guard(v)
		}
	}
	rw.err = rw.cw.Write(row)
	rw.n++
}

// numeric marks the columns that hold numbers we format, which are never
// guarded (a negative x stays a number).
var numeric = func() []bool {
	m := make([]bool, len(Columns))
	for _, c := range []int{colX, colY, colWidth, colHeight, colRotation, colPage, colImageWidth, colImageHeight} {
		m[c] = true
	}
	return m
}()

func (rw *rowWriter) object(o *labelhub.Object) {
	rw.emit("object", o.ItemMeta, func(row []string) {
		row[colObjectID], row[colSchemaID], row[colTitle] = o.ObjectID, o.SchemaID, o.Title
		row[colTool] = converters.ShapeKind(o)
		if o.Page != nil {
			row[colPage] = strconv.Itoa(*o.Page)
		}
		box := func(x, y, w, h float64) {
			row[colX], row[colY], row[colWidth], row[colHeight] = num(x), num(y), num(w), num(h)
		}
		hull := func(rings ...[]labelhub.Point) {
			for _, ring := range rings {
				if len(ring) > 0 {
					r := converters.Bounds(rings)
					box(r.MinX, r.MinY, r.MaxX-r.MinX, r.MaxY-r.MinY)
					return
				}
			}
		}
		switch {
		case o.BoundingBox != nil:
			b := o.BoundingBox
			box(b.X, b.Y, b.Width, b.Height)
		case o.RotatedBoundingBox != nil:
			b := o.RotatedBoundingBox
			box(b.X, b.Y, b.Width, b.Height)
			row[colRotation] = num(b.Rotation)
		case o.Polygon != nil:
			hull(o.Polygon)
			row[colPoints] = jsonText(o.Polygon)
		case o.Polyline != nil:
			hull(o.Polyline)
			row[colPoints] = jsonText(o.Polyline)
		case o.Point != nil:
			row[colX], row[colY] = num(o.Point[0]), num(o.Point[1])
		case o.Segmentation != nil:
			var rings [][]labelhub.Point
			for _, z := range o.Segmentation.Zones {
				rings = append(rings, z.Region)
			}
			hull(rings...)
			row[colPoints] = jsonText(o.Segmentation)
		case o.NER != nil:
			row[colPoints] = jsonText(o.NER)
		case len(o.PDF) > 0:
			row[colPoints] = string(o.PDF)
		case len(o.Brush) > 0:
			row[colPoints] = string(o.Brush)
		}
	})
}

func (rw *rowWriter) classifications(list []labelhub.ClassificationAnswer, parent string) {
	for i := range list {
		c := &list[i]
		rw.emit("classification", c.ItemMeta, func(row []string) {
			row[colObjectID], row[colParent], row[colSchemaID], row[colTitle], row[colTool] = c.ObjectID, parent, c.SchemaID, c.Title, c.Tool
			row[colAnswer] = answerText(c.Answer)
		})
		rw.classifications(c.Classifications, c.ObjectID)
	}
}

// answerText is a JSON string answer's text, any other answer's JSON
// (a list of strings: ["a","b"]).
func answerText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return jsonText(v)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// num formats a coordinate: the shortest decimal that reads back the
// same, without an exponent; "" for a number that is not finite.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Guard keeps a spreadsheet from reading a cell as a formula: a cell
// starting with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe ("=SUM(A1)" becomes "'=SUM(A1)"). Write applies it to every
// text cell; the numeric columns hold numbers only and are left alone.
func Guard(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
