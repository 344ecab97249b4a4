package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/bench/floor"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage/assetref"
)

// benchAnswer is the answer every task of the export benchmark gets: three
// objects (one with a nested classification), two classifications and a
// relation, each with its item metadata, as a labeler's answer is stored.
func benchAnswer(userID string) string {
	meta := fmt.Sprintf(`"createdAt":"2026-11-22T12:00:00Z","updatedAt":"2026-11-22T12:00:00Z","createdBy":%q,"updatedBy":%q,"createdIn":"Label","updatedIn":"Label"`, userID, userID)
	return `{"tools":[` +
		`{"objectId":"o1","schemaId":"car","title":"Car","bounding-box":{"x":10,"y":20,"width":50,"height":40},` +
		`"classifications":[{"tool":"radio","schemaId":"color","objectId":"o2","title":"Color","answer":"Red",` + meta + `}],` + meta + `},` +
		`{"objectId":"o3","schemaId":"road","title":"Road","polygon":[[0,0],[100,0],[100,50],[0,50]],` + meta + `},` +
		`{"objectId":"o4","schemaId":"kp","title":"Point","point":[5.5,6.25],` + meta + `}],` +
		`"classifications":[{"tool":"checkbox","schemaId":"tags","objectId":"o5","title":"Tags","answer":["a","b"],` + meta + `},` +
		`{"tool":"radio","schemaId":"weather","objectId":"o6","title":"Weather","answer":"Rain",` + meta + `}],` +
		`"relations":[{"objectId":"r1","schemaId":"follows","title":"link","from":"o1","to":"o4","direction":"straight",` + meta + `}]}`
}

// TestExportThroughput is the export benchmark of quality.md: it builds
// the binary, runs `labelhub serve`, imports n generated assets, gives
// every task an answer and a history entry straight in the database, then
// restarts the hub (so that its peak memory is the export's) and GETs the
// NDJSON export over loopback HTTP (with includeMetadata=true, so that it
// writes the stored answers whole, as the floor does, unless
// LABELHUB_BENCH_EXPORT_META=false), printing tasks/s, MB/s, the time to
// the first byte and the hub's peak memory (VmHWM). It runs only when
// LABELHUB_BENCH_EXPORT lists the sizes, e.g.
//
//	LABELHUB_BENCH_EXPORT=100000,1000000 go test ./cmd/labelhub -run ExportThroughput -v -timeout 60m
//
// LABELHUB_BENCH_DB=postgres runs it on PostgreSQL (testservers.Postgres);
// LABELHUB_BENCH_EXPORT_FORMAT=json exports the JSON array instead;
// LABELHUB_BENCH_EXPORT_META=false exports without item metadata (the
// export's default, about half the bytes; the floor still writes them);
// LABELHUB_BENCH_EXPORT_REPEAT=3 exports each project three times (the
// peak memory is then that of all the runs). After each size it imports
// the same number of generated rows into the floor's tables on the same
// kind of database, with the same answer and history entries, runs the
// floor (bench/floor.ExportSQLite or ExportPostgres) as many times and
// prints the fastest of each side and their ratio (docs/performance.md).
func TestExportThroughput(t *testing.T) {
	sizes := os.Getenv("LABELHUB_BENCH_EXPORT")
	if sizes == "" {
		t.Skip("set LABELHUB_BENCH_EXPORT=100000,1000000 to run the export benchmark")
	}
	format := labelhub.ExportNDJSON
	if os.Getenv("LABELHUB_BENCH_EXPORT_FORMAT") == labelhub.ExportJSON {
		format = labelhub.ExportJSON
	}
	meta := os.Getenv("LABELHUB_BENCH_EXPORT_META") != "false"
	repeat := 1
	if v := os.Getenv("LABELHUB_BENCH_EXPORT_REPEAT"); v != "" {
		var err error
		if repeat, err = strconv.Atoi(v); err != nil || repeat < 1 {
			t.Fatalf("LABELHUB_BENCH_EXPORT_REPEAT=%q", v)
		}
	}
	bin := buildBinary(t)
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		hub := startBenchHub(t, bin)
		key, db := hub.key, hub.db
		var me struct {
			User labelhub.User `json:"user"`
		}
		apiCall(t, "GET", hub.url+"/api/v1/me", key, nil, 200, &me)
		var project labelhub.Project
		apiCall(t, "POST", hub.url+"/api/v1/projects", key, strings.NewReader(`{"name":"bench"}`), 201, &project)
		g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
		if err != nil {
			t.Fatal(err)
		}
		var im labelhub.Import
		apiCall(t, "POST", hub.url+"/api/v1/projects/"+project.ID+"/imports?wait=true&createBatches=true", key, g, 200, &im)
		if im.State != labelhub.ImportSucceeded || im.Counts.Imported != int64(n) {
			t.Fatalf("import %+v", im)
		}
		// Stop the hub, answer every task in the database, start it again.
		hub.offline(t, func(driver, dsn string) {
			fillStart := time.Now()
			fillAnswers(t, driver, dsn, project.ID, me.User.ID)
			t.Logf("%s: answered %d tasks in the database in %v", db, n, time.Since(fillStart).Round(time.Millisecond))
		})
		var fastest time.Duration
		var size int64
		profiled := benchProfile(t, hub, fmt.Sprintf("%s-export-%d", db, n))
		for range repeat {
			if el, sz := exportOnce(t, hub.hubProcess, key, project.ID, format, meta, db, n); fastest == 0 || el < fastest {
				fastest, size = el, sz
			}
		}
		profiled()
		// The floor: the same number of rows in its own tables on the
		// same kind of database, each task with the same answer and as
		// many history entries as fillAnswers gives the hub's, exported
		// as often (the fastest counts).
		_, where := floorImport(t, db, n, floor.Answer{Text: benchAnswer(me.User.ID), UserID: me.User.ID, History: benchHistory})
		var fl floor.Result
		for range repeat {
			r := floorExport(t, db, where, n)
			if fl.Duration == 0 || r.Duration < fl.Duration {
				fl = r
			}
		}
		logVersusFloor(t, db, "export", "tasks", n, fastest, size, fl)
	}
}

// floorExport runs the floor of the export (bench/floor.ExportSQLite or
// ExportPostgres) on the rows floorImport left at where, writing to
// io.Discard.
func floorExport(t *testing.T, db, where string, n int) floor.Result {
	t.Helper()
	var res floor.Result
	var err error
	if db == "postgres" {
		res, err = floor.ExportPostgres(context.Background(), where, io.Discard)
	} else {
		res, err = floor.ExportSQLite(context.Background(), where, io.Discard)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != int64(n) {
		t.Fatalf("floor exported %d tasks, want %d", res.Items, n)
	}
	return res
}

// exportOnce GETs the export of a project of n tasks, prints its figures
// and returns how long it took and its size in bytes.
func exportOnce(t *testing.T, hub *hubProcess, key, projectID, format string, meta bool, db string, n int) (time.Duration, int64) {
	req, _ := http.NewRequest("GET", hub.url+"/api/v1/projects/"+projectID+"/export?includeMetadata="+strconv.FormatBool(meta)+"&format="+format, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	cpu0 := processCPU(t, hub.cmd.Process.Pid)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("export: %d %s", res.StatusCode, b)
	}
	buf := make([]byte, 256<<10)
	var size, objects int64
	var ttfb time.Duration
	var last byte
	for {
		k, err := res.Body.Read(buf)
		if k > 0 && ttfb == 0 {
			ttfb = time.Since(start)
		}
		for _, c := range buf[:k] {
			if c == '\n' && last == '}' {
				objects++
			}
			last = c
		}
		size += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", size, err)
		}
	}
	res.Body.Close()
	el := time.Since(start)
	cpu := processCPU(t, hub.cmd.Process.Pid) - cpu0
	if objects != int64(n) || res.Header.Get("X-Total-Count") != strconv.Itoa(n) {
		t.Fatalf("exported %d objects, X-Total-Count %s, want %d", objects, res.Header.Get("X-Total-Count"), n)
	}
	hwm := peakMemory(hub.cmd.Process.Pid)
	t.Logf("%s %s: %d tasks (%.1f MB) in %v: %.0f tasks/s, %.1f MB/s, first byte after %v; hub peak memory (VmHWM) %s; "+
		"hub CPU time %v (%.1f µs a task; machine load %s)",
		db, format, n, float64(size)/1e6, el.Round(time.Millisecond), float64(n)/el.Seconds(), float64(size)/1e6/el.Seconds(),
		ttfb.Round(time.Microsecond), hwm, cpu, float64(cpu.Microseconds())/float64(n), loadAverage())
	return el, size
}

// processCPU returns the CPU time (user and system) a process has used,
// from /proc/PID/stat (clock ticks of 10 ms).
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name (in parentheses): utime and stime
	// are the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// loadAverage is the first field of /proc/loadavg: the export shares the
// machine's cores with whatever else runs.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// benchHistory is the number of history entries fillAnswers gives a task.
const benchHistory = 1

// fillAnswers gives every task of the project the bench answer, moves it
// to the label stage and adds one history entry (benchHistory), in two
// statements (then,
// on PostgreSQL, vacuums and analyzes the tables the export reads).
func fillAnswers(t *testing.T, driver, dsn, projectID, userID string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	answer := benchAnswer(userID)
	if !json.Valid([]byte(answer)) {
		t.Fatalf("bench answer is not JSON: %s", answer)
	}
	// answer_canonical as the store sets it when it writes an answer
	// (PutAnswer, MoveTask).
	canonical := sqlstore.CanonicalAnswer(answer)
	if !canonical {
		t.Fatalf("bench answer is not in the form the store writes: %s", answer)
	}
	if _, err := db.ExecContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $4, updated_by = $2, updated_at = updated_at + 1,
		stage_id = 'label', version = 3, total_duration_ms = 8217 WHERE project_id = $3`, answer, userID, projectID, canonical); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO task_history (task_id, seq, org_id, project_id, action, stage_id, stage_name, to_stage_id,
		duration_ms, completed_at, completed_by, answer, answer_canonical)
		SELECT id, 1, org_id, project_id, 'submit', 'start', 'Start', 'label', 8217, updated_at, $1, $2, $4 FROM tasks WHERE project_id = $3`,
		userID, answer, projectID, canonical); err != nil {
		t.Fatal(err)
	}
	if driver == "pgx" {
		// What autovacuum would do after the import and such an update:
		// without it the export reads past a dead row version of every
		// task, and the planner, without statistics, reads the IN lists
		// of a page as scans of whole tables.
		if _, err := db.ExecContext(ctx, `VACUUM ANALYZE tasks, task_history, assets, asset_batches, batches`); err != nil {
			t.Fatal(err)
		}
	}
}
