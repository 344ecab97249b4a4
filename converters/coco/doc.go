// Package coco is labelhub's first-party COCO converter: an export plugin
// that writes a project's image annotations as a COCO instances file
// (annotations.json in a zip: info, licenses, images, annotations,
// categories). It runs inside the hub by default and as its own process
// with `labelhub plugin serve coco`. Write is the converter itself,
// testable without a hub; Handler serves runs with it. docs/export.md
// ("COCO") describes the output and the Config JSON.
package coco
