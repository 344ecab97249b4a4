package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/labelhub/labelhub/storage/assetref"
)

// benchStorage is the integration of the generated items' URLs.
var benchStorage = assetref.Integration{Provider: assetref.S3, Bucket: "acme-data", Region: "eu-west-1"}

// BenchmarkDecode decodes 100,000 generated items (an image in an S3 bucket
// with a region, externalId, metadata width/height, contextData with five
// keys, one batch) and reports items/s and allocations per item.
func BenchmarkDecode(b *testing.B) {
	const n = 100_000
	for _, form := range []string{FormNDJSON, FormArray} {
		b.Run(form, func(b *testing.B) {
			var file bytes.Buffer
			if err := Generate(&file, n, form, benchStorage); err != nil {
				b.Fatal(err)
			}
			opts := Options{Storages: map[string]assetref.Integration{"s3": benchStorage}, DefaultStorageID: "s3", Batches: []string{"import-1"}}
			emit := func(Item) error { return nil }
			report := func(e ItemError) error { b.Fatalf("unexpected problem: %v", e); return nil }
			b.SetBytes(int64(file.Len()))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, cpuOK := cpuTime()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				c, err := Decode(context.Background(), bytes.NewReader(file.Bytes()), opts, emit, report)
				if err != nil || c.Valid != n {
					b.Fatalf("counts %+v, error %v", c, err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			perItem := b.Elapsed().Seconds() / float64(b.N) / n
			b.ReportMetric(1/perItem, "items/s")
			b.ReportMetric(perItem*1e9, "ns/item")
			// CPU time of the whole process (GC included) per item: steadier
			// than wall time on a busy machine.
			if cpu1, ok := cpuTime(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N)/n, "cpu-ns/item")
			}
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/n, "allocs/item")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/n, "B/item")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkTokenize measures the two ways to walk the tokens of the items
// (needed to see duplicate keys, which encoding/json's Unmarshal silently
// resolves to the last): encoding/json's Decoder.Token and jsontext's
// ReadToken, over the same 100,000 generated NDJSON items.
func BenchmarkTokenize(b *testing.B) {
	const n = 100_000
	var file bytes.Buffer
	if err := Generate(&file, n, FormNDJSON, benchStorage); err != nil {
		b.Fatal(err)
	}
	report := func(b *testing.B, tokens int) {
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/n*1e9, "ns/item")
		b.ReportMetric(float64(tokens)/n, "tokens/item")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("encoding-json-v1", func(b *testing.B) {
		b.ReportAllocs()
		tokens := 0
		for b.Loop() {
			tokens = 0
			dec := json.NewDecoder(bytes.NewReader(file.Bytes()))
			dec.UseNumber()
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				tokens++
			}
		}
		report(b, tokens)
	})
	b.Run("jsontext", func(b *testing.B) {
		b.ReportAllocs()
		tokens := 0
		for b.Loop() {
			tokens = 0
			dec := jsontext.NewDecoder(bytes.NewReader(file.Bytes()))
			for {
				if _, err := dec.ReadToken(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				tokens++
			}
		}
		report(b, tokens)
	})
}
