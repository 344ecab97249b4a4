package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// BenchmarkTasks lists tasks page by page in a project of
// LABELHUB_BENCH_TASKS tasks (9 in 10 in Start, the newest tenth in Label,
// every other asset in a batch), on SQLite and PostgreSQL
// (LABELHUB_BENCH_DB=sqlite or postgres for one), and measures answer
// writes. The rows are written through the import path (CommitImportBatch,
// the bulk inserts of bulk.go). Without LABELHUB_BENCH_TASKS it is skipped.
//
//	LABELHUB_BENCH_TASKS=1000000 go test ./sqlstore -run '^$' -bench BenchmarkTasks -benchtime 200x -timeout 60m
func BenchmarkTasks(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LABELHUB_BENCH_TASKS"))
	if n < 1000 {
		b.Skip("set LABELHUB_BENCH_TASKS (e.g. 1000000) to run")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		if only := os.Getenv("LABELHUB_BENCH_DB"); only != "" && only != db {
			continue
		}
		b.Run(db, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "bench.db")
			if db == "postgres" {
				dsn = testservers.Postgres(b)
			}
			benchTasks(b, dsn, n)
		})
	}
}

func benchTasks(b *testing.B, dsn string, n int) {
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	org, user, p, bt := benchProject(b, s)
	start := time.Now()
	benchLoad(b, s, org.ID, user.ID, p.ID, bt.ID, n)
	load := time.Since(start)
	if s.postgres {
		if _, err := s.db.ExecContext(ctx, `ANALYZE tasks; ANALYZE assets; ANALYZE asset_batches`); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Printf("%s: loaded %d tasks in %v (%.0f tasks/s)\n", s.Dialect(), n, load.Round(time.Millisecond), float64(n)/load.Seconds())

	// Walk every page once: the cost per page must not grow with depth.
	start = time.Now()
	var ids []string
	f := labelhub.TaskFilter{Limit: labelhub.MaxPageLimit}
	for {
		page, err := s.ListTasks(ctx, org.ID, p.ID, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range page {
			ids = append(ids, t.ID)
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	walk := time.Since(start)
	if len(ids) != n {
		b.Fatalf("walked %d tasks, want %d", len(ids), n)
	}
	fmt.Printf("%s: walked all %d tasks in pages of %d in %v (%.1f ms/page)\n", s.Dialect(), n, labelhub.MaxPageLimit, walk.Round(time.Millisecond),
		walk.Seconds()*1000/float64((n+labelhub.MaxPageLimit-1)/labelhub.MaxPageLimit))

	deep := ids[n*9/10-1]     // the last Start task: the next page is the first of Label
	labelDeep := ids[n*19/20] // half way through Label
	cases := []struct {
		name string
		f    labelhub.TaskFilter
	}{
		{"first-page", labelhub.TaskFilter{}},
		{"deep-page", labelhub.TaskFilter{After: ids[n*8/10]}},
		{"stage-start-first-page", labelhub.TaskFilter{StageID: "start"}},
		{"stage-start-deep-page", labelhub.TaskFilter{StageID: "start", After: ids[n*8/10]}},
		{"stage-label-first-page", labelhub.TaskFilter{StageID: "label"}},
		{"stage-label-deep-page", labelhub.TaskFilter{StageID: "label", After: labelDeep}},
		{"batch-first-page", labelhub.TaskFilter{BatchID: bt.ID}},
		{"batch-deep-page", labelhub.TaskFilter{BatchID: bt.ID, After: deep}},
	}
	for _, c := range cases {
		c.f.Limit = labelhub.DefaultPageLimit
		plan, err := s.ExplainListTasks(ctx, org.ID, p.ID, c.f)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("%s %s plan:\n  %s\n", s.Dialect(), c.name, strings.ReplaceAll(plan, "\n", "\n  "))
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				page, err := s.ListTasks(ctx, org.ID, p.ID, c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) != labelhub.DefaultPageLimit {
					b.Fatalf("%d tasks on the page", len(page))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/page")
			b.ReportMetric(0, "ns/op")
		})
	}

	// Answer writes: one writer, then 4 at once, each on its own tasks.
	answer := labelhub.Answer{Tools: []labelhub.Object{{ObjectID: "c1", SchemaID: "car", Title: "Car", BoundingBox: &labelhub.Box{X: 1, Y: 2, Width: 3, Height: 4}}}}
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("answer-writes-%d", writers), func(b *testing.B) {
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			per := max(1, b.N/writers)
			start := time.Now()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						id := ids[(w*per+i)*7919%n]
						t, err := s.GetTask(ctx, org.ID, id)
						if err == nil {
							a := answer
							a.Tools = append([]labelhub.Object(nil), answer.Tools...)
							a.Tools[0].BoundingBox = &labelhub.Box{X: float64(i), Y: 2, Width: 3, Height: 4}
							_, err = s.PutAnswer(ctx, org.ID, id, user, t.Version, a)
						}
						if err != nil && labelhub.ErrorCode(err) != labelhub.ECodeConflict {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			el := time.Since(start)
			b.ReportMetric(float64(per*writers)/el.Seconds(), "writes/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchLoad imports n assets (and so tasks) in commits of 2,000: the first
// nine tenths in stage start, the rest in label, every other in batch.
func benchLoad(b *testing.B, s *Store, orgID, userID, projectID, batchID string, n int) {
	ctx := context.Background()
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: orgID, ProjectID: projectID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
		Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateAllow}, CreatedBy: userID, Runner: "bench"}
	if err := s.CreateImport(ctx, im); err != nil {
		b.Fatal(err)
	}
	const per = 2000
	for start := 0; start < n; start += per {
		k := min(per, n-start)
		stage := "start"
		if start >= n*9/10 {
			stage = "label"
		}
		if start < n*9/10 && start+k > n*9/10 {
			k = n*9/10 - start
		}
		ib := labelhub.ImportBatch{ImportID: im.ID, Runner: "bench", OrgID: orgID, ProjectID: projectID, StageID: stage,
			OnDuplicate: labelhub.DuplicateAllow, Assets: make([]labelhub.NewAsset, k), Now: time.Now(), NextIndex: int64(start + k),
			Delta: labelhub.ImportCounts{Received: int64(k), Valid: int64(k)}}
		for j := range ib.Assets {
			x := start + j
			a := labelhub.NewAsset{Index: int64(x), ID: labelhub.NewID(), ExternalID: fmt.Sprintf("img-%d.jpg", x), Type: "image",
				Data: fmt.Sprintf("https://example.com/images/%d/img-%d.jpg", x%1000, x), ProbeState: "none", Doc: `{"metadata":{"width":1280,"height":720}}`}
			if x%2 == 0 {
				a.BatchIDs = []string{batchID}
			}
			ib.Assets[j] = a
		}
		if _, err := s.CommitImportBatch(ctx, ib); err != nil {
			b.Fatal(err)
		}
		start -= per - k // the split at nine tenths makes a short batch
	}
}

// benchProject makes the organisation, admin, project (one bounding-box
// tool) and batch of a task benchmark.
func benchProject(b *testing.B, s *Store) (labelhub.Organization, labelhub.User, labelhub.Project, labelhub.Batch) {
	b.Helper()
	ctx := context.Background()
	org, user, _, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "o", AdminEmail: "bench@example.com"}, false)
	if err != nil {
		b.Fatal(err)
	}
	name := "bench"
	p, err := s.CreateProject(ctx, org.ID, user.ID, labelhub.ProjectInput{Name: &name, CategorySchema: &labelhub.CategorySchema{
		Tools: []labelhub.SchemaTool{{SchemaID: "car", Title: "Car", Tool: "bounding-box"}}}})
	if err != nil {
		b.Fatal(err)
	}
	bt, err := s.CreateBatch(ctx, org.ID, p.ID, "evens")
	if err != nil {
		b.Fatal(err)
	}
	return org, user, p, bt
}
