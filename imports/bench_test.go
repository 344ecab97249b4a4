//go:build unix

package imports_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

// BenchmarkImport measures an asset import through imports.Runner into a
// store, in process: generated items (importer.Generator, NDJSON, one
// batch each) → spool → decoder → writer → SQL. Every iteration imports
// LABELHUB_BENCH_ITEMS items (default 100,000) into a new project and
// reports assets/s. Writes to a SQLite file in a temporary directory;
// LABELHUB_BENCH_DB=postgres uses testservers.Postgres.
//
//	go test ./imports -run '^$' -bench Import -benchtime 1x -cpuprofile cpu.out
func BenchmarkImport(b *testing.B) {
	n := 100_000
	if v := os.Getenv("LABELHUB_BENCH_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dsn := filepath.Join(b.TempDir(), "bench.db")
	if os.Getenv("LABELHUB_BENCH_DB") == "postgres" {
		dsn = testservers.Postgres(b)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	org, user, _, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "o", AdminEmail: "a@example.com"}, false)
	if err != nil {
		b.Fatal(err)
	}
	r := imports.New(imports.Config{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SpoolDir: b.TempDir(),
		Integrations: func(context.Context, string) (map[string]assetref.Integration, error) { return nil, nil }})
	defer r.Close()
	var total time.Duration
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := "p" + strconv.Itoa(i)
		p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name})
		if err != nil {
			b.Fatal(err)
		}
		g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		im, err := r.Start(ctx, org.ID, user.ID, p.ID, labelhub.ImportOptions{CreateBatches: true}, g)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Wait(ctx, im.ID); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if im, err = s.GetImport(ctx, org.ID, im.ID); err != nil {
			b.Fatal(err)
		}
		if im.State != labelhub.ImportSucceeded || im.Counts.Imported != int64(n) {
			b.Fatalf("import %+v", im)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "assets/s")
	// CPU time of the whole process (generator, spool, decoder, writer,
	// SQLite) per asset: steadier than assets/s on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n*b.N), "cpu-µs/asset")
	b.ReportMetric(0, "ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
