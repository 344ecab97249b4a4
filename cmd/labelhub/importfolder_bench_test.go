package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/bench/floor"
	"github.com/labelhub/labelhub/testservers"
)

// TestImportFolderThroughput is the folder import benchmark: it puts N
// tiny objects in one MinIO folder, times a folder import of it through
// the real hub (the built binary, `labelhub serve`, POST
// …/imports/folder?wait=true) and its floor, listing the folder with the
// S3 API alone (bench/floor.ListS3, before and after; the faster counts),
// prints both, their ratio (a "versus floor:" line for scripts/bench) and
// the hub's peak memory (VmHWM), then adds 1,000 objects and times the
// re-import. It runs only when LABELHUB_BENCH_FOLDER gives N, e.g.
//
//	LABELHUB_BENCH_FOLDER=100000 go test ./cmd/labelhub -run ImportFolderThroughput -v -timeout 30m
//
// LABELHUB_BENCH_DB=postgres runs the hub on PostgreSQL. The metadata
// probe is off (LABELHUB_PROBE_WORKERS=0) so that it does not read the
// new images from the same MinIO while the import is timed.
func TestImportFolderThroughput(t *testing.T) {
	nv := os.Getenv("LABELHUB_BENCH_FOLDER")
	if nv == "" {
		t.Skip("set LABELHUB_BENCH_FOLDER=100000 to run the folder import benchmark")
	}
	n, err := strconv.Atoi(nv)
	if err != nil || n < 1 {
		t.Fatalf("LABELHUB_BENCH_FOLDER=%q: want a number of objects", nv)
	}
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{})
	keys := func(from, to int) []string {
		out := make([]string, 0, to-from)
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("bench/img-%07d.jpg", i))
		}
		return out
	}
	put := time.Now()
	testservers.MinIOPutMany(t, bucket, keys(0, n))
	t.Logf("put %d objects in %v", n, time.Since(put).Round(time.Millisecond))

	// The floor: the same folder listed with the S3 API alone
	// (bench/floor.ListS3), before and after the hub's import; the faster
	// counts.
	list := func() floor.Result {
		t.Helper()
		res, err := floor.ListS3(context.Background(), endpoint, bucket, "bench/", ak, sk)
		if err != nil {
			t.Fatal(err)
		}
		if res.Items != int64(n) {
			t.Fatalf("listed %d objects, want %d", res.Items, n)
		}
		return res
	}
	fl := list()

	bin := buildBinary(t)
	hub := startBenchHub(t, bin, "LABELHUB_ALLOW_PRIVATE_ENDPOINTS=true", "LABELHUB_PROBE_WORKERS=0")
	key, db := hub.key, hub.db
	var project labelhub.Project
	apiCall(t, "POST", hub.url+"/api/v1/projects", key, strings.NewReader(`{"name":"bench"}`), 201, &project)
	var st labelhub.Storage
	apiCall(t, "POST", hub.url+"/api/v1/storages", key, strings.NewReader(fmt.Sprintf(
		`{"name":"bench","provider":"s3-compatible","bucket":%q,"endpoint":%q,"credentials":{"accessKeyId":%q,"secretAccessKey":%q}}`,
		bucket, endpoint, ak, sk)), 201, &st)
	body := fmt.Sprintf(`{"storageId":%q,"folder":"bench/"}`, st.ID)
	importFolder := func() (labelhub.Import, time.Duration) {
		start := time.Now()
		var im labelhub.Import
		apiCall(t, "POST", hub.url+"/api/v1/projects/"+project.ID+"/imports/folder?wait=true", key, strings.NewReader(body), 200, &im)
		return im, time.Since(start)
	}

	profiled := benchProfile(t, hub, fmt.Sprintf("%s-folder-%d", db, n))
	im, took := importFolder()
	profiled()
	if im.State != labelhub.ImportSucceeded || im.Counts.Imported != int64(n) || im.Counts.Listed != int64(n) {
		t.Fatalf("import %+v", im)
	}
	if again := list(); again.Duration < fl.Duration {
		fl = again
	}
	t.Logf("%s: listing %d objects with the S3 API: %v; folder import through the hub: %v (%.0f assets/s); hub peak memory (VmHWM) %s",
		db, n, fl.Duration.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/took.Seconds(), peakMemory(hub.cmd.Process.Pid))
	logVersusFloor(t, db, "folder", "objects", n, took, 0, fl)

	testservers.MinIOPutMany(t, bucket, keys(n, n+1000))
	im, took = importFolder()
	if im.State != labelhub.ImportSucceeded || im.Counts.Imported != 1000 || im.Counts.Skipped != int64(n) {
		t.Fatalf("re-import %+v", im)
	}
	t.Logf("%s: re-import of the folder with 1,000 new objects: %v: imported=%d, already there=%d; hub peak memory (VmHWM) %s",
		db, took.Round(time.Millisecond), im.Counts.Imported, im.Counts.Skipped, peakMemory(hub.cmd.Process.Pid))
}
