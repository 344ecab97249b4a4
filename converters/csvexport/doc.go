// Package csvexport is labelhub's first-party CSV converter (plugin name
// "csv"): an export plugin that writes one CSV row per object and per
// classification answer (nested answers included, with their parent's
// objectId) to export.csv in a zip. It runs inside the hub by default and
// as its own process with `labelhub plugin serve csv`. Write is the
// converter itself, testable without a hub; Handler serves runs with it.
// docs/export.md ("CSV") documents every column and the Config JSON.
package csvexport
