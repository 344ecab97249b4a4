package importer

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

// Storage integrations the tests name (and the corpus files use in "storage").
var testStorages = map[string]assetref.Integration{
	"s3eu":  {Provider: assetref.S3, Bucket: "acme-data", Region: "eu-west-1"},
	"s3use": {Provider: assetref.S3, Bucket: "acme-us"},
	"minio": {Provider: assetref.S3Compatible, Bucket: "data", Endpoint: "http://127.0.0.1:9000", PathStyle: true},
	"gcs":   {Provider: assetref.GCS, Bucket: "media-bucket"},
	"azure": {Provider: assetref.Azure, Bucket: "assets", Account: "acme"},
}

const testSchemaJSON = `{
  "tools": [
    {"schemaId": "car", "title": "Car", "tool": "bounding-box",
     "classifications": [{"schemaId": "color", "title": "Color", "tool": "radio",
       "options": [{"value": "Red"}, {"value": "Blue"}]}]},
    {"schemaId": "lane", "title": "Lane", "tool": "polyline"}
  ],
  "classifications": [
    {"schemaId": "tags", "title": "Tags", "tool": "checkbox", "options": [{"value": "a"}, {"value": "b"}]},
    {"schemaId": "note", "title": "Note", "tool": "text"}
  ],
  "relations": [{"schemaId": "follows", "title": "Follows", "tool": "single"}]
}`

func testSchema(t testing.TB) labelhub.SchemaIndex {
	t.Helper()
	var s labelhub.CategorySchema
	if err := json.Unmarshal([]byte(testSchemaJSON), &s); err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("test schema: %v", errs)
	}
	return s.Index()
}

func testOptions(t testing.TB) Options {
	return Options{Schema: testSchema(t), Storages: testStorages}
}

type result struct {
	counts Counts
	items  []Item
	errs   []ItemError
	err    error
}

func decodeAll(t testing.TB, r io.Reader, opts Options) result {
	t.Helper()
	var res result
	res.counts, res.err = Decode(context.Background(), r, opts,
		func(it Item) error { res.items = append(res.items, it); return nil },
		func(e ItemError) error { res.errs = append(res.errs, e); return nil })
	return res
}

func decodeString(t testing.TB, s string, opts Options) result {
	t.Helper()
	return decodeAll(t, strings.NewReader(s), opts)
}
