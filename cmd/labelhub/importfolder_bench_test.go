package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// TestImportFolderThroughput is the folder import benchmark: it puts N
// tiny objects in one MinIO folder, times listing them with the S3 API
// alone (ListObjectsV2 pages of 1,000, the AWS SDK), then a folder import
// of the same folder through the real hub (the built binary, `labelhub
// serve`, POST …/imports/folder?wait=true), prints both, their ratio and
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

	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
	listStart := time.Now()
	listed := 0
	pages := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("bench/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page.Contents)
	}
	listTook := time.Since(listStart)
	if listed != n {
		t.Fatalf("listed %d objects, want %d", listed, n)
	}

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

	im, took := importFolder()
	if im.State != labelhub.ImportSucceeded || im.Counts.Imported != int64(n) || im.Counts.Listed != int64(n) {
		t.Fatalf("import %+v", im)
	}
	t.Logf("%s: listing %d objects with the S3 API: %v; folder import through the hub: %v (%.0f assets/s); ratio %.2f; hub peak memory (VmHWM) %s",
		db, n, listTook.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/took.Seconds(),
		took.Seconds()/listTook.Seconds(), peakMemory(hub.cmd.Process.Pid))

	testservers.MinIOPutMany(t, bucket, keys(n, n+1000))
	im, took = importFolder()
	if im.State != labelhub.ImportSucceeded || im.Counts.Imported != 1000 || im.Counts.Skipped != int64(n) {
		t.Fatalf("re-import %+v", im)
	}
	t.Logf("%s: re-import of the folder with 1,000 new objects: %v: imported=%d, already there=%d; hub peak memory (VmHWM) %s",
		db, took.Round(time.Millisecond), im.Counts.Imported, im.Counts.Skipped, peakMemory(hub.cmd.Process.Pid))
}
