package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/bench/floor"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

// TestImportThroughput is the import benchmark of quality.md: it builds
// the binary, runs `labelhub serve`, POSTs generated import files over
// loopback HTTP (wait=true) and prints assets/s end to end and the hub's
// peak memory (VmHWM). It runs only when LABELHUB_BENCH_IMPORT lists the
// sizes, e.g.
//
//	LABELHUB_BENCH_IMPORT=100000,1000000 go test ./cmd/labelhub -run ImportThroughput -v -timeout 30m
//
// LABELHUB_BENCH_DB=postgres runs it on PostgreSQL (testservers.Postgres).
// After each size it runs the floor (bench/floor.ImportSQLite or
// ImportPostgres) on the same generated file and prints both and their
// ratio (docs/performance.md).
func TestImportThroughput(t *testing.T) {
	sizes := os.Getenv("LABELHUB_BENCH_IMPORT")
	if sizes == "" {
		t.Skip("set LABELHUB_BENCH_IMPORT=100000,1000000 to run the import benchmark")
	}
	bin := buildBinary(t)
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		hub := startBenchHub(t, bin)
		key, db := hub.key, hub.db
		var project labelhub.Project
		apiCall(t, "POST", hub.url+"/api/v1/projects", key, strings.NewReader(`{"name":"bench"}`), 201, &project)
		g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
		if err != nil {
			t.Fatal(err)
		}
		profiled := benchProfile(t, hub, fmt.Sprintf("%s-import-%d", db, n))
		cpu0 := processCPU(t, hub.cmd.Process.Pid)
		start := time.Now()
		var im labelhub.Import
		apiCall(t, "POST", hub.url+"/api/v1/projects/"+project.ID+"/imports?wait=true&createBatches=true", key, g, 200, &im)
		el := time.Since(start)
		cpu := processCPU(t, hub.cmd.Process.Pid) - cpu0
		profiled()
		if im.State != labelhub.ImportSucceeded || im.Counts.Imported != int64(n) {
			t.Fatalf("import %+v", im)
		}
		hwm := peakMemory(hub.cmd.Process.Pid)
		t.Logf("%s: %d assets (%d bytes) in %v: %.0f assets/s; hub peak memory (VmHWM) %s; hub CPU %v, %.1f µs an asset",
			db, n, im.Bytes, el.Round(time.Millisecond), float64(n)/el.Seconds(), hwm, cpu, cpu.Seconds()*1e6/float64(n))
		fl, _ := floorImport(t, db, n, floor.Answer{})
		logVersusFloor(t, db, "import", "assets", n, el, im.Bytes, fl)
	}
}

// floorImport runs the floor of the import (bench/floor) on the same
// generated file and the same kind of database: a fresh SQLite file, or a
// fresh PostgreSQL schema, its tasks given a's answer and history. It
// returns the floor's result and where its rows are (a path or a DSN).
func floorImport(t *testing.T, db string, n int, a floor.Answer) (floor.Result, string) {
	t.Helper()
	g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
	if err != nil {
		t.Fatal(err)
	}
	var res floor.Result
	var where string
	if db == "postgres" {
		where = testservers.Postgres(t)
		res, err = floor.ImportPostgres(context.Background(), where, g, a)
	} else {
		where = filepath.Join(t.TempDir(), "floor.db")
		res, err = floor.ImportSQLite(context.Background(), where, g, a)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != int64(n) {
		t.Fatalf("floor imported %d items, want %d", res.Items, n)
	}
	return res, where
}

// logVersusFloor prints labelhub's figure next to the floor's, measured in
// the same run: "labelhub X/s, floor Y/s, ratio Z (labelhub time / floor
// time)", with the bytes each side read or wrote and the machine's load,
// for scripts/bench to collect.
func logVersusFloor(t *testing.T, db, job, unit string, n int, hub time.Duration, hubBytes int64, fl floor.Result) {
	t.Helper()
	t.Logf("versus floor: %s %s %d %s: labelhub %.0f %s/s, floor %.0f %s/s, ratio %.2f (labelhub time / floor time); "+
		"labelhub %v (%.1f MB), floor %v (%.1f MB); load %s",
		db, job, n, unit, float64(n)/hub.Seconds(), unit, fl.PerSecond(), unit, hub.Seconds()/fl.Duration.Seconds(),
		hub.Round(time.Millisecond), float64(hubBytes)/1e6, fl.Duration.Round(time.Millisecond), float64(fl.Bytes)/1e6, loadAverage())
}

// peakMemory is a process's peak resident memory (VmHWM of
// /proc/PID/status), e.g. "151234 kB"; "" where there is no /proc.
func peakMemory(pid int) string {
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return ""
}

// benchHub is `labelhub serve` for a benchmark: the built binary on SQLite
// in a fresh data folder or, with LABELHUB_BENCH_DB=postgres, on a fresh
// PostgreSQL schema.
type benchHub struct {
	*hubProcess
	bin, data, addr string
	env             []string
	key             string // the first admin's API key
	db              string // "sqlite" or "postgres"
	dsn             string // PostgreSQL's
	debugAddr       string // its profiles' address, with LABELHUB_BENCH_PROFILE
}

func startBenchHub(t *testing.T, bin string, env ...string) *benchHub {
	t.Helper()
	b := &benchHub{bin: bin, data: filepath.Join(t.TempDir(), "data"), addr: freeAddr(t), db: "sqlite"}
	if os.Getenv("LABELHUB_BENCH_DB") == "postgres" {
		b.db, b.dsn = "postgres", testservers.Postgres(t)
		env = append(env, "LABELHUB_DB="+b.dsn)
	}
	if os.Getenv("LABELHUB_BENCH_PROFILE") != "" {
		b.debugAddr = freeAddr(t)
		env = append(env, "LABELHUB_DEBUG_ADDR="+b.debugAddr)
	}
	b.env = env
	b.hubProcess = startHubProcess(t, bin, b.data, b.addr, env...)
	kb, err := os.ReadFile(filepath.Join(b.data, "initial-admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	b.key = strings.TrimSpace(string(kb))
	return b
}

// offline stops the hub, calls fn with its database's driver and dsn, and
// starts the hub again (so that its peak memory is what follows).
func (b *benchHub) offline(t *testing.T, fn func(driver, dsn string)) {
	t.Helper()
	_ = b.cmd.Process.Kill()
	exitErr := <-b.exited
	b.exited <- exitErr // for the cleanup of startHubProcess
	if b.db == "postgres" {
		fn("pgx", b.dsn)
	} else {
		fn("sqlite", "file:"+filepath.Join(b.data, "labelhub.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	}
	b.hubProcess = startHubProcess(t, b.bin, b.data, b.addr, b.env...)
}
