// Package importer reads an import file as a stream and validates each
// asset; pure: no database, no HTTP, no network.
//
// [Decode] reads the cloud asset import file of docs/formats.md §1 and
// hands each valid asset to a callback as an [Item], and each problem of
// each invalid asset to another as an [ItemError] with the item's index,
// line and the JSON path of the field ("[12].metadata.frameRate"). Memory
// use does not depend on the size of the file: one item at a time is held,
// and an item is at most Limits.MaxItemBytes.
//
// # Forms
//
// The first byte that is not whitespace (after an optional UTF-8 byte
// order mark, which is skipped) decides the form:
//
//   - '[': a JSON array of asset objects.
//   - '{' whose first key is "assets": a single object {"assets": [...]};
//     any other key in it is an error.
//   - '{' otherwise: NDJSON, one asset object per line. Blank lines are
//     skipped; CRLF line ends are accepted; an object may span lines, but
//     two items may not share a line. (A first object that has "assets"
//     as a later key is an error: the {"assets"} form has no other key.)
//
// Anything else (an empty file, a number, a string) is a fatal error. Item
// paths are always relative to the list of assets: "[0]" is the first
// asset of the array, of the "assets" array, or the first line of NDJSON.
//
// # Errors
//
// A problem with one item (a wrong type, a missing or unknown field, a
// duplicate key, invalid UTF-8 in a string, a bad URL, nesting deeper than
// MaxDepth, …) is reported through the report callback, and decoding goes
// on with the next item. A problem with the file (truncated JSON, a syntax
// error anywhere, a trailing comma, data between or after items) stops
// decoding with an *[Error] naming the byte offset and the line; the items
// before it were emitted, and the caller decides whether to keep them. An
// item larger than MaxItemBytes, or one item more than MaxItems, is
// reported and then stops decoding too (Error.Limit names the setting):
// reading on could mean reading gigabytes of a file that was generated
// wrong. At most MaxErrorsPerItem problems are reported per item.
//
// # The asset object
//
// Field names are those of docs/formats.md §1 (a contract with the model
// system's files). A field given as null is treated as left out.
//
//   - externalId: required non-empty string.
//   - data: the file's URL; required unless dataset is given, and not
//     together with dataset. With editorType ("markdown", "html" or
//     "text"), data holds the text of a text asset itself: Item.Text and
//     Item.EditorType are set and Item.Type is text. editorType is
//     labelhub's choice for the "editorType/content type" of the format.
//   - dataset: non-empty array of page URLs, all of one asset type.
//   - URLs (data, dataset pages, IMAGE and VIDEO attachments) are resolved
//     with [assetref.Resolve] in the item's storage integration (`storage`,
//     else the request's), or as public http(s) URLs when there is none;
//     assetref's reason is the message (a literal space, a bucket or
//     region that is not the integration's, …). The asset type comes from
//     the extension of the object key (public URLs: of the URL path) by
//     [labelhub.AssetTypeOf]; an unsupported or missing extension is an
//     error naming it.
//   - metadata: an object, kept as given (compacted). frameRate, width and
//     height are numbers > 0; frameCount is a whole number > 0; other
//     keys are kept as they are. Item.NeedsProbe is set for a video
//     without all four, and for an image without width and height.
//   - contextData: any JSON object, kept as given (compacted).
//   - batches: array of non-empty batch names or ids (at most
//     MaxBatchNameBytes bytes each), deduplicated; the request's batches
//     come first.
//   - attachments: array of {"type": "IMAGE"|"VIDEO"|"TEXT", "value": …};
//     IMAGE and VIDEO values are URLs, TEXT values are text.
//   - preLabels, or its alias annotations (not both): pre-labels in the
//     label format of docs/formats.md §2, decoded and validated against
//     Options.Schema; their problems keep their paths ("[3].preLabels.objects[0].schemaId").
//   - storage: the id of a storage integration in Options.Storages.
//
// Unknown fields are errors, never silently dropped: a misspelt field
// would otherwise lose data. Fields that the model system or labelhub's
// exports know but an import does not take (asset, assetId, task, answer,
// priority, uploadLocal, storageId, …) get a message that says so, and a
// field that differs from a known one only in case gets a "did you mean".
//
// # Limits
//
// See [Limits] for the defaults and the settings that change them; every
// message of a limit names the limit, its value and its setting.
//
// # Implementation
//
// The framer scans the bytes once, without recursion, to find where each
// item ends, count lines, and enforce MaxItemBytes and MaxDepth; the
// item's bytes are then decoded with github.com/go-json-experiment/json's
// jsontext, which rejects duplicate keys and invalid UTF-8 (encoding/json
// silently keeps the last of duplicate keys and replaces invalid UTF-8)
// and decodes without reflection or per-token allocation.
package importer
