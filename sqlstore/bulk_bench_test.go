//go:build unix

package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// BenchmarkCommitImportBatch measures the store's side of an import alone:
// batches of 2,000 ready assets (the shape of importer.Generator's items:
// URL, doc of ~200 bytes, one batch link) committed one after the other
// into one project, 200,000 assets an iteration. LABELHUB_BENCH_DB=postgres
// uses testservers.Postgres.
//
//	go test ./sqlstore -run '^$' -bench CommitImportBatch -benchtime 1x
func BenchmarkCommitImportBatch(b *testing.B) {
	const batch, batches = 2000, 100
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
	var total, cpu time.Duration
	n := 0
	for i := 0; i < b.N; i++ {
		name := fmt.Sprint("p", i)
		p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name})
		if err != nil {
			b.Fatal(err)
		}
		im := labelhub.Import{ID: labelhub.NewID(), OrgID: org.ID, ProjectID: p.ID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
			Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateAllow}, CreatedBy: user.ID, Runner: "bench"}
		if err := s.CreateImport(ctx, im); err != nil {
			b.Fatal(err)
		}
		bt, err := s.CreateBatch(ctx, org.ID, p.ID, "batch-0")
		if err != nil {
			b.Fatal(err)
		}
		for k := 0; k < batches; k++ {
			ib := labelhub.ImportBatch{ImportID: im.ID, Runner: "bench", OrgID: org.ID, ProjectID: p.ID, StageID: "start",
				OnDuplicate: labelhub.DuplicateAllow, Assets: make([]labelhub.NewAsset, batch), Now: time.Now(), NextIndex: int64((k + 1) * batch)}
			for j := range ib.Assets {
				x := k*batch + j
				ib.Assets[j] = labelhub.NewAsset{Index: int64(x), ID: labelhub.NewID(), ExternalID: fmt.Sprintf("img-%d.jpg", x), Type: "image",
					Data: fmt.Sprintf("https://example.com/images/2026/03/%d/img-%d.jpg", x%1000, x), ProbeState: "none", BatchIDs: []string{bt.ID},
					Doc: fmt.Sprintf(`{"metadata":{"width":1280,"height":720},"contextData":{"site":"north","camera":"cam-%d","capturedAt":"2026-03-01T12:00:00Z","weather":"rain","sequence":%d}}`, x%17, x)}
			}
			ib.Delta = labelhub.ImportCounts{Received: batch, Valid: batch}
			start, cpu0 := time.Now(), cpuTime()
			if _, err := s.CommitImportBatch(ctx, ib); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			cpu += cpuTime() - cpu0
			n += batch
		}
	}
	b.ReportMetric(float64(n)/total.Seconds(), "assets/s")
	b.ReportMetric(total.Seconds()*1e6/float64(n), "µs/asset")
	// CPU time of the process (the writer, SQLite, GC) per asset: steadier
	// than the wall time on a shared machine.
	b.ReportMetric(cpu.Seconds()*1e6/float64(n), "cpu-µs/asset")
	b.ReportMetric(0, "ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
