// Package convertertest helps test converters: a hand-made project with
// every shape kind, nested classifications, assets without a size and
// names with slashes (Project, Assets), a runner that calls a converter's
// Write into an in-memory zip (Run), and golden files
// (testdata/NAME.golden of the calling package, rewritten with
// `go test -update`).
package convertertest
