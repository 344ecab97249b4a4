package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

// Item is one valid asset of an import file, ready to store. Every slice
// and string is the item's own (nothing aliases the decoder's buffers),
// except Batches, which may share its backing array with Options.Batches
// when the item names no batches of its own: do not modify it.
type Item struct {
	Index int // 0-based index of the item in the file's list of assets
	Line  int // 1-based line of the item's first byte (NDJSON and arrays alike)

	ExternalID string
	Type       labelhub.AssetType
	// URL is `data` as given (not normalised); "" when Dataset is set or
	// the asset is inline text.
	URL string
	// Text is the inline text of a text asset whose `editorType` says that
	// `data` holds the text itself; EditorType is then "markdown", "html"
	// or "text" and Type is AssetText.
	Text       string
	EditorType string
	// Dataset is the page URLs of a multi-page asset, in page order.
	Dataset []string
	// Metadata and ContextData are the JSON objects exactly as given, with
	// the whitespace outside strings removed; nil when not given.
	Metadata    json.RawMessage
	ContextData json.RawMessage
	Attachments []Attachment
	// Batches are the batch names or ids as given, request-level ones
	// first, without duplicates; nil when there are none.
	Batches []string
	// PreLabels are the item's pre-labels (`preLabels` or `annotations`),
	// validated against Options.Schema; nil when not given.
	PreLabels *labelhub.Labels
	// StorageID is the item's `storage`, else Options.DefaultStorageID.
	StorageID string
	// NeedsProbe is set for a video without all four of frameRate,
	// frameCount, width and height, and for an image without width and
	// height: someone must read the file to learn them.
	NeedsProbe bool
}

// Attachment is an extra file or text shown beside an asset.
type Attachment struct {
	Type  string `json:"type"`  // "IMAGE", "VIDEO" (Value is a URL) or "TEXT"
	Value string `json:"value"` // the URL, or the text
}

// ItemError is one problem of one invalid item. An item with several
// problems gets several ItemErrors, in document order.
type ItemError struct {
	Index int    // 0-based item index
	Line  int    // 1-based line of the item's first byte
	Path  string // JSON path from the file's list of assets: "[12].metadata.frameRate"
	// Message says what is wrong and how to fix it.
	Message string
}

func (e ItemError) Error() string { return e.Path + ": " + e.Message }

// Counts says how many items Decode saw.
type Counts struct {
	Received int // items found in the file (Valid + Invalid)
	Valid    int // items passed to emit
	Invalid  int // items reported (once each, whatever their number of problems)
}

// Error is the fatal error that stops Decode: the file is not valid JSON
// in one of the accepted forms, or a limit that protects the server was
// hit. Items before the error were emitted; the caller decides whether to
// keep them.
type Error struct {
	Offset int64 // 0-based byte offset in the file (a UTF-8 BOM counts)
	Line   int   // 1-based line
	// Limit names the setting of the limit that stopped the import
	// ("--import-max-items", "--import-max-item-bytes"); "" for a syntax error.
	Limit   string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("import file, line %d (byte offset %d): %s", e.Line, e.Offset, e.Message)
}

// Limits bound what one import file may hold. A zero field takes its
// default. Hitting a limit is an error naming it and its setting.
type Limits struct {
	// MaxItems is the number of assets in one file (default 10,000,000).
	// One more stops the import: a fatal Error after that item is reported.
	MaxItems int
	// MaxItemBytes is the size of one asset object in the file, whitespace
	// included (default 1 MiB). A larger item stops the import (a fatal
	// Error after it is reported): the decoder never holds more than about
	// this much of an item in memory, however large the file.
	MaxItemBytes int
	// MaxStringBytes is the length of one string after unescaping: data
	// (as a URL), externalId, dataset pages, attachment values, storage
	// (default 64 KiB). contextData, metadata, preLabels and inline text
	// are limited by MaxItemBytes only.
	MaxStringBytes int
	// MaxDepth is the nesting depth of an item, the item object counting as
	// 1 (default 32).
	MaxDepth int
	// MaxDatasetPages is the number of pages of a multi-page asset
	// (default 10,000).
	MaxDatasetPages int
	// MaxAttachments is the number of attachments of one asset (default 100).
	MaxAttachments int
	// MaxBatchesPerItem is the number of batches one item names (default 100).
	MaxBatchesPerItem int
}

// Default limits.
const (
	DefaultMaxItems          = 10_000_000
	DefaultMaxItemBytes      = 1 << 20
	DefaultMaxStringBytes    = 64 << 10
	DefaultMaxDepth          = 32
	DefaultMaxDatasetPages   = 10_000
	DefaultMaxAttachments    = 100
	DefaultMaxBatchesPerItem = 100
)

// Settings that change the limits, named in error messages.
const (
	SettingMaxItems          = "--import-max-items"
	SettingMaxItemBytes      = "--import-max-item-bytes"
	SettingMaxStringBytes    = "--import-max-string-bytes"
	SettingMaxDepth          = "--import-max-depth"
	SettingMaxDatasetPages   = "--import-max-dataset-pages"
	SettingMaxAttachments    = "--import-max-attachments"
	SettingMaxBatchesPerItem = "--import-max-batches-per-item"
)

// Fixed limits (not settings).
const (
	// MaxBatchNameBytes is the length of a batch name (as for every name
	// in labelhub, docs/limits.md).
	MaxBatchNameBytes = 200
	// MaxErrorsPerItem is the number of problems reported for one item;
	// the last one says that more were left out.
	MaxErrorsPerItem = 20
	// MaxMetadataNumber bounds frameRate, frameCount, width and height.
	MaxMetadataNumber = 1e9
)

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxItems:          DefaultMaxItems,
		MaxItemBytes:      DefaultMaxItemBytes,
		MaxStringBytes:    DefaultMaxStringBytes,
		MaxDepth:          DefaultMaxDepth,
		MaxDatasetPages:   DefaultMaxDatasetPages,
		MaxAttachments:    DefaultMaxAttachments,
		MaxBatchesPerItem: DefaultMaxBatchesPerItem,
	}
}

// withDefaults fills the zero (or negative) fields of l with the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxItems, d.MaxItems)
	set(&l.MaxItemBytes, d.MaxItemBytes)
	set(&l.MaxStringBytes, d.MaxStringBytes)
	set(&l.MaxDepth, d.MaxDepth)
	set(&l.MaxDatasetPages, d.MaxDatasetPages)
	set(&l.MaxAttachments, d.MaxAttachments)
	set(&l.MaxBatchesPerItem, d.MaxBatchesPerItem)
	return l
}

// Options configure Decode.
type Options struct {
	// Schema is the project's category schema, for the validation of
	// pre-labels.
	Schema labelhub.SchemaIndex
	// Storages are the storage integrations items may name in `storage`,
	// by id. The "" key, when present, is the request's default
	// integration (its id is DefaultStorageID).
	Storages map[string]assetref.Integration
	// DefaultStorageID is the request's storageId: the integration of
	// items without `storage`. When empty and Storages has no "" key,
	// such items must have public http(s) URLs.
	DefaultStorageID string
	// Batches are the request-level batches, added to every item's.
	Batches []string
	// Limits; zero fields take the defaults.
	Limits Limits
}

// Decode reads an import file (docs/formats.md §1) from r as a stream:
// a JSON array of assets, NDJSON (one asset object per line) or a single
// object {"assets": [...]}. It calls emit with each valid item and report
// with each problem of each invalid item, in file order, and goes on with
// the next item. It stops at the first fatal problem: a syntax error, a
// limit of MaxItems or MaxItemBytes (an *Error naming the byte offset and
// line), a read error, ctx being done, or an error returned by emit or
// report (returned as is). The counts are those of the items seen until
// then. Memory use does not depend on the size of the file. A nil emit or
// report drops what it would be given.
//
// Options are checked first: a request batch that is not a valid batch
// name, or a DefaultStorageID missing from Storages, is an error before
// anything is read.
func Decode(ctx context.Context, r io.Reader, opts Options, emit func(Item) error, report func(ItemError) error) (Counts, error) {
	d, err := newDecoder(r, opts, emit, report)
	if err != nil {
		return Counts{}, err
	}
	err = d.run(ctx)
	return d.counts, err
}

// checkOptions validates the caller's options (not the file).
func checkOptions(opts *Options) error {
	for i, b := range opts.Batches {
		if msg := batchProblem(b); msg != "" {
			return fmt.Errorf("importer: request batch %d %s", i, msg)
		}
	}
	if opts.DefaultStorageID != "" {
		if _, ok := opts.Storages[""]; !ok {
			if _, ok := opts.Storages[opts.DefaultStorageID]; !ok {
				return fmt.Errorf("importer: the default storage %q is not in Options.Storages", opts.DefaultStorageID)
			}
		}
	}
	return nil
}

// batchProblem says what is wrong with a batch name, "" when nothing.
func batchProblem(b string) string {
	switch {
	case b == "":
		return "must not be empty"
	case len(b) > MaxBatchNameBytes:
		return fmt.Sprintf("is %d bytes long; a batch name is at most %d bytes", len(b), MaxBatchNameBytes)
	case !utf8.ValidString(b):
		return "is not valid UTF-8"
	case isBlank(b):
		return "must not be blank"
	}
	return ""
}

func isBlank(s string) bool {
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\u00a0', '\u3000', '\u200b', '\ufeff':
		default:
			return false
		}
	}
	return true
}
