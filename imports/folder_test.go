package imports_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

// folderEnv is a store environment with a storage service and a runner
// that imports folders of its buckets.
type folderEnv struct {
	*env
	svc *storage.Service
	r   *imports.Runner
}

func newFolderEnv(t *testing.T, e *env, batch int) *folderEnv {
	t.Helper()
	box, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc := storage.NewService(e.s, storage.Options{Box: box, AllowPrivateEndpoints: true})
	t.Cleanup(func() { svc.Close() })
	r := imports.New(imports.Config{Store: e.s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SpoolDir: e.spool, BatchSize: batch,
		StaleAfter: time.Second, Heartbeat: 100 * time.Millisecond, Integrations: httpapi.StorageIntegrations(svc), Buckets: svc.Bucket})
	t.Cleanup(r.Close)
	return &folderEnv{env: e, svc: svc, r: r}
}

func (f *folderEnv) storage(in labelhub.StorageInput) labelhub.Storage {
	f.t.Helper()
	st, err := f.svc.Create(context.Background(), f.org.ID, f.user.ID, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// importFolder runs a folder import to its end.
func (f *folderEnv) importFolder(req labelhub.FolderImportRequest) labelhub.Import {
	f.t.Helper()
	ctx := context.Background()
	im, err := f.r.StartFolder(ctx, f.org.ID, f.user.ID, f.project.ID, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.wait(im.ID)
}

func (f *folderEnv) wait(id string) labelhub.Import {
	f.t.Helper()
	ctx := context.Background()
	if err := f.r.Wait(ctx, id); err != nil {
		f.t.Fatal(err)
	}
	im, err := f.s.GetImport(ctx, f.org.ID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return im
}

// s3Client is a client of the shared MinIO server with its root keys.
func s3Client(t testing.TB) (*s3.Client, string, string, string) {
	endpoint, ak, sk := testservers.MinIO(t)
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}), endpoint, ak, sk
}

func numbered(prefix string, n int, ext string) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%05d%s", prefix, i, ext)
	}
	return keys
}

// oddObjects are what the provider tests put in a bucket: names with
// spaces, '+', unicode and deep nesting, objects that are no asset, and a
// folder marker.
var oddObjects = []string{
	"data/a.jpg",
	"data/b c+d é.png",
	"data/notes.json",
	"data/README",
	"data/empty/",
	"data/deep/1/2/3/4/5/clip ü+.mp4",
	"data/deep/1/doc.pdf",
	"other/o.jpg",
}

// checkOddFolder imports the odd objects' folder on one level, then
// recursively (only the new ones), then again (nothing new), then an
// empty folder and two selected files.
func checkOddFolder(t *testing.T, f *folderEnv, st labelhub.Storage) {
	in := storage.IntegrationOf(st)
	im := f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "data"})
	wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 4, SkippedNotAsset: 2, Received: 2, Valid: 2, Imported: 2})
	list := f.assets(labelhub.AssetFilter{})
	noDuplicates(t, list, 2)
	for _, a := range list {
		if a.Data != assetref.URL(in, a.ExternalID) || a.ImportID != im.ID || a.StorageID != st.ID || a.Type != labelhub.AssetImage {
			t.Fatalf("asset %+v", a)
		}
		ref, err := assetref.Resolve(a.Data, &in)
		if err != nil || ref.Key != a.ExternalID {
			t.Fatalf("%s resolves to %+v, %v", a.Data, ref, err)
		}
	}
	if got := f.assets(labelhub.AssetFilter{ExternalID: "data/b c+d é.png"}); len(got) != 1 {
		t.Fatalf("no asset with the key of spaces, plus and é: %+v", list)
	}

	im = f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "data/", Recursive: true, Batches: []string{"odd"}, CreateBatches: true})
	wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 6, SkippedNotAsset: 2, Received: 4, Valid: 4, Imported: 2, Skipped: 2})
	deep := f.assets(labelhub.AssetFilter{ExternalID: "data/deep/1/2/3/4/5/clip ü+.mp4"})
	if len(deep) != 1 || deep[0].Type != labelhub.AssetVideo || len(deep[0].Batches) != 1 || deep[0].Batches[0] != "odd" {
		t.Fatalf("deep asset %+v", deep)
	}
	im = f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "data/", Recursive: true})
	wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 6, SkippedNotAsset: 2, Received: 4, Valid: 4, Skipped: 4})
	noDuplicates(t, f.assets(labelhub.AssetFilter{}), 4)

	im = f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "data/empty/", Recursive: true})
	if im.State != labelhub.ImportFailed || !strings.Contains(im.Error, `no objects under "data/empty/" in bucket "`+st.Bucket+`"`) {
		t.Fatalf("empty folder: %s %q", im.State, im.Error)
	}
	im = f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "nowhere"})
	if im.State != labelhub.ImportFailed || !strings.Contains(im.Error, `no objects under "nowhere/"`) || !strings.Contains(im.Error, "recursive=true") {
		t.Fatalf("missing folder: %s %q", im.State, im.Error)
	}

	im = f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Files: []string{"other/o.jpg", "other/gone.jpg", "data/notes.json"}})
	wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 3, SkippedNotAsset: 1, Received: 2, Valid: 1, Imported: 1, Invalid: 1})
	errs, err := f.s.ListImportErrors(context.Background(), f.org.ID, im.ID, labelhub.PageRequest{})
	if err != nil || len(errs.Items) != 1 || errs.Items[0].Path != "files[1]" || !strings.Contains(errs.Items[0].Message, `no object "other/gone.jpg" in bucket`) {
		t.Fatalf("errors %+v %v", errs.Items, err)
	}
}

func minioStorage(endpoint, ak, sk, bucket string) labelhub.StorageInput {
	return labelhub.StorageInput{Name: "minio", Provider: labelhub.ProviderS3Compatible, Bucket: bucket, Endpoint: endpoint,
		Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}}
}

func TestFolderImportMinIO(t *testing.T) {
	objects := map[string]string{}
	for _, k := range oddObjects {
		objects[k] = "x"
	}
	forEachStore(t, func(t *testing.T, e *env) {
		f := newFolderEnv(t, e, 2)
		endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
		checkOddFolder(t, f, f.storage(minioStorage(endpoint, ak, sk, bucket)))
	})
}

func TestFolderImportFakeGCS(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := newFolderEnv(t, e, 2)
		endpoint := testservers.FakeGCS(t)
		bucket := testservers.NewBucketName(t)
		gcs := func(method, path, ctype string, body []byte) {
			req, _ := http.NewRequest(method, endpoint+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %s", method, path, resp.Status)
			}
		}
		gcs("POST", "/storage/v1/b?project=test", "application/json", []byte(`{"name":"`+bucket+`"}`))
		for _, k := range oddObjects {
			gcs("POST", "/upload/storage/v1/b/"+bucket+"/o?uploadType=media&name="+url.QueryEscape(k), "application/octet-stream", []byte("x"))
		}
		checkOddFolder(t, f, f.storage(labelhub.StorageInput{Name: "gcs", Provider: labelhub.ProviderGCS, Bucket: bucket, Endpoint: endpoint,
			Credentials: labelhub.StorageCredentials{ServiceAccountJSON: testservers.ServiceAccountJSON(t)}}))
	})
}

func TestFolderImportAzurite(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := newFolderEnv(t, e, 2)
		blobEndpoint, account, key := testservers.Azurite(t)
		bucket := testservers.NewBucketName(t)
		cred, err := azblob.NewSharedKeyCredential(account, key)
		if err != nil {
			t.Fatal(err)
		}
		az, err := azblob.NewClientWithSharedKeyCredential(blobEndpoint+"/", cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := az.CreateContainer(ctx, bucket, nil); err != nil {
			t.Fatal(err)
		}
		for _, k := range oddObjects {
			if _, err := az.UploadBuffer(ctx, bucket, k, []byte("x"), nil); err != nil {
				t.Fatalf("put %s: %v", k, err)
			}
		}
		checkOddFolder(t, f, f.storage(labelhub.StorageInput{Name: "azure", Provider: labelhub.ProviderAzure, Bucket: bucket, Endpoint: blobEndpoint,
			Credentials: labelhub.StorageCredentials{AccountName: account, AccountKey: key}}))
	})
}

func TestFolderImportValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := newFolderEnv(t, e, 2)
		endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{"a/x.jpg": "x"})
		st := f.storage(minioStorage(endpoint, ak, sk, bucket))
		ctx := context.Background()
		for _, c := range []struct {
			req        labelhub.FolderImportRequest
			path, want string
		}{
			{labelhub.FolderImportRequest{StorageID: st.ID, Folder: "a/../b"}, "folder", `must not have a ".." segment`},
			{labelhub.FolderImportRequest{StorageID: st.ID, Folder: ".."}, "folder", `must not have a ".." segment`},
			{labelhub.FolderImportRequest{StorageID: st.ID, Folder: "/a"}, "folder", `must not start with "/"`},
			{labelhub.FolderImportRequest{StorageID: st.ID, Folder: "a\x01b"}, "folder", "control character U+0001"},
			{labelhub.FolderImportRequest{StorageID: st.ID, Folder: "a//b"}, "folder", "empty segment"},
			{labelhub.FolderImportRequest{Folder: "a"}, "storageId", "is required"},
			{labelhub.FolderImportRequest{StorageID: "nope", Folder: "a"}, "storageId", "names no storage integration"},
			{labelhub.FolderImportRequest{StorageID: st.ID, OnDuplicate: "ignore"}, "onDuplicate", "must be allow, skip"},
			{labelhub.FolderImportRequest{StorageID: st.ID, Files: []string{"a/x.jpg", "a/x.jpg"}}, "files[1]", "repeats files[0]"},
			{labelhub.FolderImportRequest{StorageID: st.ID, Files: []string{"a/../x.jpg"}}, "files[0]", `".." path segment`},
			{labelhub.FolderImportRequest{StorageID: st.ID, Folder: "a", Files: []string{"b/x.jpg"}}, "files[0]", `is not under folder "a/"`},
			{labelhub.FolderImportRequest{StorageID: st.ID, Batches: []string{"nope"}}, "batches[0]", `no batch "nope"`},
		} {
			_, err := f.r.StartFolder(ctx, f.org.ID, f.user.ID, f.project.ID, c.req)
			le, ok := err.(*labelhub.Error)
			if !ok || le.Code != labelhub.ECodeInvalid || len(le.Details) == 0 || le.Details[0].Path != c.path || !strings.Contains(le.Details[0].Message, c.want) {
				t.Errorf("%+v: %v; want %s: …%s…", c.req, err, c.path, c.want)
			}
		}
		if n := len(f.assets(labelhub.AssetFilter{})); n != 0 {
			t.Fatalf("refused requests made %d assets", n)
		}
	})
}

// TestFolderImportPaging imports one folder of 10,050 objects (11 pages
// of the listing) with batches that do not line up with the pages.
func TestFolderImportPaging(t *testing.T) {
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{})
	keys := numbered("big/img-", 10_050, ".jpg")
	testservers.MinIOPutMany(t, bucket, append(keys, "big/manifest.csv", "big/sub/not-this-level.jpg"))
	forEachStore(t, func(t *testing.T, e *env) {
		f := newFolderEnv(t, e, 700)
		st := f.storage(minioStorage(endpoint, ak, sk, bucket))
		im := f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "big/"})
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: 10_051, SkippedNotAsset: 1, Received: 10_050, Valid: 10_050, Imported: 10_050})
		noDuplicates(t, f.assets(labelhub.AssetFilter{}), 10_050)
		if im.NextIndex != 10_051 || im.ResumeKey != "big/manifest.csv" {
			t.Fatalf("next index %d, resume key %q", im.NextIndex, im.ResumeKey)
		}
	})
}

// faultProxy stands between the hub and MinIO: it counts listings, can
// hold one, answer 403 from some point on, or run a hook after one.
type faultProxy struct {
	srv      *httptest.Server
	lists    atomic.Int64
	denyFrom atomic.Int64 // listings from this number on are refused (0: never)
	hold     atomic.Int64 // the listing of this number waits for release
	held     chan struct{}
	release  chan struct{}
	after    func(n int64) // after listing n was answered
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{held: make(chan struct{}), release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isList := r.Method == http.MethodGet && r.URL.Query().Has("list-type")
		if !isList {
			rp.ServeHTTP(w, r)
			return
		}
		n := p.lists.Add(1)
		if d := p.denyFrom.Load(); d > 0 && n >= d {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`)
			return
		}
		if n == p.hold.Load() {
			close(p.held)
			select {
			case <-p.release:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
		if p.after != nil {
			p.after(n)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// TestFolderImportFaults: credentials revoked in the middle of a listing,
// objects deleted while it goes on, a cancel; each time what was imported
// is consistent and a resume or a second run completes the rest, with
// every object exactly once.
func TestFolderImportFaults(t *testing.T) {
	c, endpoint, ak, sk := s3Client(t)
	const n = 1200
	forEachStore(t, func(t *testing.T, e *env) {
		f := newFolderEnv(t, e, 100)
		_, _, _, bucket := testservers.MinIOBucket(t, map[string]string{})
		keys := numbered("f/", n, ".png")
		testservers.MinIOPutMany(t, bucket, keys)
		p := newFaultProxy(t, endpoint)
		st := f.storage(minioStorage(p.srv.URL, ak, sk, bucket))
		req := labelhub.FolderImportRequest{StorageID: st.ID, Folder: "f", Recursive: true}

		// Revoked: the second page is refused.
		p.denyFrom.Store(2)
		im := f.importFolder(req)
		if im.State != labelhub.ImportFailed || !strings.Contains(im.Error, "stopped after 1000 objects") || !strings.Contains(strings.ToLower(im.Error), "access denied") {
			t.Fatalf("revoked: %s %q", im.State, im.Error)
		}
		wantCounts(t, im, labelhub.ImportFailed, labelhub.ImportCounts{Listed: 1000, Received: 1000, Valid: 1000, Imported: 1000})
		noDuplicates(t, f.assets(labelhub.AssetFilter{}), 1000)
		// Given back: a resume lists again and goes on after the last key.
		p.denyFrom.Store(0)
		if _, err := f.r.Resume(context.Background(), f.org.ID, im.ID); err != nil {
			t.Fatal(err)
		}
		im = f.wait(im.ID)
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: n, Received: n, Valid: n, Imported: n})
		noDuplicates(t, f.assets(labelhub.AssetFilter{}), n)

		// Deleted while listing: after the first page, 100 objects of the
		// second go; the listing does not see them, nothing fails.
		keys2 := numbered("g/", n, ".png")
		testservers.MinIOPutMany(t, bucket, keys2)
		base := p.lists.Load()
		var once sync.Once
		p.after = func(k int64) {
			if k != base+1 {
				return
			}
			once.Do(func() {
				for _, key := range keys2[1050:1150] {
					if _, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		im = f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "g/", Recursive: true})
		p.after = nil
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: n - 100, Received: n - 100, Valid: n - 100, Imported: n - 100})
		if got := f.assets(labelhub.AssetFilter{ExternalID: keys2[1100]}); len(got) != 0 {
			t.Fatalf("a deleted object was imported: %+v", got)
		}

		// Cancelled while the second page is listed.
		keys3 := numbered("h/", n, ".png")
		testservers.MinIOPutMany(t, bucket, keys3)
		p.hold.Store(p.lists.Load() + 2)
		started, err := f.r.StartFolder(context.Background(), f.org.ID, f.user.ID, f.project.ID, labelhub.FolderImportRequest{StorageID: st.ID, Folder: "h/"})
		if err != nil {
			t.Fatal(err)
		}
		<-p.held
		im, err = f.r.Cancel(context.Background(), f.org.ID, started.ID)
		if err != nil {
			t.Fatal(err)
		}
		if im.State != labelhub.ImportCancelled || im.Counts.Imported == 0 || im.Counts.Imported > 1000 || !strings.Contains(im.Error, "cancelled") {
			t.Fatalf("cancelled: %+v", im)
		}
		mine := 0
		for _, a := range f.assets(labelhub.AssetFilter{}) {
			if a.ImportID == im.ID {
				mine++
			}
		}
		if int64(mine) != im.Counts.Imported {
			t.Fatalf("cancelled import counts %d imported, has %d assets", im.Counts.Imported, mine)
		}
		if _, err := f.r.Cancel(context.Background(), f.org.ID, started.ID); labelhub.ErrorCode(err) != labelhub.ECodeConflict {
			t.Fatalf("second cancel: %v", err)
		}
		im2 := f.importFolder(labelhub.FolderImportRequest{StorageID: st.ID, Folder: "h/"})
		wantCounts(t, im2, labelhub.ImportSucceeded, labelhub.ImportCounts{Listed: n, Received: n, Valid: n, Imported: n - im.Counts.Imported, Skipped: im.Counts.Imported})
		noDuplicates(t, f.assets(labelhub.AssetFilter{}), 3*n-100)
	})
}
