package sqlstore

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// BenchmarkWriteExport exports 20,000 answered tasks with one history
// entry each, in batches of 10,000 (SQLite, or PostgreSQL with LABELHUB_BENCH_DB=postgres;
// answers with item metadata as PutAnswer stores them)
// through WriteExportCounted, and, as a reference, through Export and
// encoding/json as the API did before WriteExport, into io.Discard:
//
//	go test ./sqlstore -run '^$' -bench WriteExport -benchtime 5x -cpuprofile cpu.prof
func BenchmarkWriteExport(b *testing.B) {
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "bench.db")
	if os.Getenv("LABELHUB_BENCH_DB") == "postgres" {
		dsn = testservers.Postgres(b)
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	org, admin, _, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "Bench", AdminEmail: "bench@example.com"}, false)
	if err != nil {
		b.Fatal(err)
	}
	name := "bench"
	p, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		b.Fatal(err)
	}
	const n = 20000
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: org.ID, ProjectID: p.ID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
		Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateAllow}, CreatedBy: admin.ID, Runner: "bench"}
	if err := s.CreateImport(ctx, im); err != nil {
		b.Fatal(err)
	}
	ib := labelhub.ImportBatch{ImportID: im.ID, Runner: "bench", OrgID: org.ID, ProjectID: p.ID, StageID: "start",
		OnDuplicate: labelhub.DuplicateAllow, Assets: make([]labelhub.NewAsset, n), Now: time.Now(), NextIndex: n,
		Delta: labelhub.ImportCounts{Received: n, Valid: n}}
	// As the generated items of TestExportThroughput: item metadata,
	// context data and one batch every 10,000 assets.
	var batches [n/10000 + 1]string
	for i := range batches {
		bt, err := s.CreateBatch(ctx, org.ID, p.ID, "batch-"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = bt.ID
	}
	for i := range ib.Assets {
		ib.Assets[i] = labelhub.NewAsset{Index: int64(i), ID: labelhub.NewID(), ExternalID: "img-" + labelhub.NewID() + ".jpg", Type: "image",
			Data: "https://example.com/" + labelhub.NewID() + ".jpg", ProbeState: "none",
			Doc:      `{"metadata":{"width":640,"height":480},"contextData":{"site":"north","camera":"cam-3","capturedAt":"2026-03-01T12:00:00Z","weather":"rain","sequence":` + strconv.Itoa(i) + `}}`,
			BatchIDs: []string{batches[i/10000]}}
	}
	if _, err := s.CommitImportBatch(ctx, ib); err != nil {
		b.Fatal(err)
	}
	// Every task: three objects (one with a nested classification), two
	// classifications and a relation, each with its item metadata.
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	meta := labelhub.ItemMeta{CreatedAt: at, UpdatedAt: at, CreatedBy: admin.ID, UpdatedBy: admin.ID, CreatedIn: "Label", UpdatedIn: "Label"}
	a := labelhub.Answer{
		Tools: []labelhub.Object{
			{ObjectID: "o1", SchemaID: "car", Title: "Car", BoundingBox: &labelhub.Box{X: 10, Y: 20, Width: 50, Height: 40},
				Classifications: []labelhub.ClassificationAnswer{{Tool: "radio", SchemaID: "color", ObjectID: "o2", Title: "Color", Answer: json.RawMessage(`"Red"`), ItemMeta: meta}},
				ItemMeta:        meta},
			{ObjectID: "o3", SchemaID: "road", Title: "Road", Polygon: []labelhub.Point{{0, 0}, {100, 0}, {100, 50}, {0, 50}}, ItemMeta: meta},
			{ObjectID: "o4", SchemaID: "kp", Title: "Point", Point: &labelhub.Point{5.5, 6.25}, ItemMeta: meta}},
		Classifications: []labelhub.ClassificationAnswer{
			{Tool: "checkbox", SchemaID: "tags", ObjectID: "o5", Title: "Tags", Answer: json.RawMessage(`["a","b"]`), ItemMeta: meta},
			{Tool: "radio", SchemaID: "weather", ObjectID: "o6", Title: "Weather", Answer: json.RawMessage(`"Rain"`), ItemMeta: meta}},
		Relations: []labelhub.Relation{{ObjectID: "r1", SchemaID: "follows", Title: "link", From: "o1", To: "o4", Direction: "straight", ItemMeta: meta}},
	}
	text, err := json.Marshal(a)
	if err != nil {
		b.Fatal(err)
	}
	// The answers as the store writes them: with answer_canonical set
	// as PutAnswer and MoveTask set it.
	canonical := CanonicalAnswer(string(text))
	if _, err := s.db.ExecContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $4, updated_by = $2, updated_at = updated_at + 1,
		stage_id = 'label', total_duration_ms = 8217 WHERE project_id = $3`, string(text), admin.ID, p.ID, canonical); err != nil {
		b.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO task_history (task_id, seq, org_id, project_id, action, stage_id, stage_name, to_stage_id,
		duration_ms, completed_at, completed_by, answer, answer_canonical)
		SELECT id, 1, org_id, project_id, 'submit', 'start', 'Start', 'label', 8217, updated_at, $1, $2, $4 FROM tasks WHERE project_id = $3`,
		admin.ID, string(text), p.ID, canonical); err != nil {
		b.Fatal(err)
	}
	for _, meta := range []bool{false, true} {
		o := labelhub.ExportOptions{Format: labelhub.ExportNDJSON, IncludeHistory: true, IncludeMetadata: meta}
		suffix := map[bool]string{false: "", true: "/metadata"}[meta]
		b.Run("WriteExport"+suffix, func(b *testing.B) {
			var size int64
			cpu0, server0 := processCPU(), postgresCPU()
			for b.Loop() {
				size = 0
				// Counted, as the API exports (in a snapshot).
				if err := s.WriteExportCounted(ctx, org.ID, p.ID, labelhub.ExportFilter{}, o, func(int64) error { return nil }, nil, func(page []byte) error {
					size += int64(len(page))
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tasks/s")
			b.ReportMetric(float64(size)/n, "bytes/task")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n*b.N), "cpu-µs/task")
			if s.postgres {
				b.ReportMetric(float64((postgresCPU()-server0).Microseconds())/float64(n*b.N), "server-cpu-µs/task")
			}
		})
		b.Run("Export"+suffix, func(b *testing.B) {
			for b.Loop() {
				enc := json.NewEncoder(io.Discard)
				enc.SetEscapeHTML(false)
				if err := s.Export(ctx, org.ID, p.ID, labelhub.ExportFilter{}, true, meta, func(page []labelhub.ExportedAsset) error {
					for j := range page {
						if err := enc.Encode(&page[j]); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used: the
// benchmark's figure that the machine's load changes least (on PostgreSQL
// without the server's).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time (user and system) all processes named
// postgres on this machine have used, from /proc (0 where there is none):
// the server's part of an export when the server runs here. Other
// clients' queries on the same server count too.
func postgresCPU() time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var ticks int64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: utime and stime are the 14th and
		// 15th fields, the 12th and 13th after the command.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || !strings.HasSuffix(string(stat[:i]), "(postgres") {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + k
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
