// Package converters holds what labelhub's first-party export converters
// (converters/coco, converters/csvexport, converters/yolo,
// converters/voc) share: the image size of an asset, safe and unique file
// names, the category mapping chosen by a converter's Config JSON, the
// report of what was skipped, and the Handler plumbing that turns a
// converter's Write function into a plugin.ExportFunc writing a zip.
//
// Every converter follows one shape, testable without a hub:
//
//	func Write(ctx context.Context, p plugin.Project, cfg Config,
//		assets iter.Seq2[*plugin.ExportedAsset, error], zw *zip.Writer,
//		rep *converters.Report) error
//
// and wires it with
//
//	func Handler() plugin.Handler {
//		return converters.Handler(converters.Converter[Config]{Name: Name, Config: defaults, Write: Write})
//	}
//
// Converters never hold the project in memory: assets are read one at a
// time from the export stream and written to the zip as they come. Only
// the set of file names handed out grows with the project (8 bytes a
// name, see Names).
package converters
