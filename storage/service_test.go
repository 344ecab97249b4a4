package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
)

func s3Input(endpoint string) labelhub.StorageInput {
	return labelhub.StorageInput{Name: "s3", Provider: labelhub.ProviderS3Compatible, Bucket: "media", Endpoint: endpoint,
		Credentials: labelhub.StorageCredentials{AccessKeyID: "labelhub", SecretAccessKey: "secret-secret"}}
}

func TestPrivateEndpointsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	svc := e.service(t, false, 0)
	for _, endpoint := range []string{
		"http://127.0.0.1:9000", "http://10.0.0.1", "http://169.254.169.254", "http://[::1]:9000", "http://localhost:9000",
		"http://LOCALHOST.:9000", "http://0.0.0.0:9000", "http://192.168.1.20:9000", "http://[fe80::1]", "http://[::ffff:10.0.0.1]",
	} {
		_, err := svc.Create(ctx, e.org.ID, e.user.ID, s3Input(endpoint))
		var le *labelhub.Error
		if !asLabelhub(err, &le) || le.Code != labelhub.ECodeInvalid || len(le.Details) != 1 || le.Details[0].Path != "endpoint" ||
			!strings.Contains(le.Details[0].Message, "--allow-private-endpoints") {
			t.Errorf("endpoint %s: err = %v, want invalid endpoint naming --allow-private-endpoints", endpoint, err)
		}
	}
	// An Azure connection string's BlobEndpoint is an endpoint too.
	_, err := svc.Create(ctx, e.org.ID, e.user.ID, labelhub.StorageInput{Name: "az", Provider: labelhub.ProviderAzure, Bucket: "media",
		Credentials: labelhub.StorageCredentials{ConnectionString: "AccountName=acct;AccountKey=" + testservers.AzuriteKey + ";BlobEndpoint=http://10.1.2.3:10000/acct"}})
	var le *labelhub.Error
	if !asLabelhub(err, &le) || le.Details[0].Path != "credentials.connectionString" || !strings.Contains(le.Error(), "--allow-private-endpoints") {
		t.Errorf("private BlobEndpoint: %v", err)
	}
	// A public address is fine, and nothing is stored for the refused ones.
	if _, err := svc.Create(ctx, e.org.ID, e.user.ID, s3Input("http://8.8.8.8:9000")); err != nil {
		t.Errorf("public endpoint refused: %v", err)
	}
	page, err := svc.List(ctx, e.org.ID, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("stored %d integrations (%v), want only the public one", len(page.Items), err)
	}
	// The operator setting lets them through.
	if _, err := e.service(t, true, 0).Create(ctx, e.org.ID, e.user.ID, s3Input("http://127.0.0.1:9000")); err != nil {
		t.Errorf("loopback with AllowPrivateEndpoints: %v", err)
	}
}

func asLabelhub(err error, e **labelhub.Error) bool {
	le, ok := err.(*labelhub.Error)
	*e = le
	return ok
}

// TestDialGuard stores an integration that points at loopback (as one
// whose DNS name later resolves there would) and uses it from a hub that
// does not allow private endpoints: every connection is refused at dial
// time, and the messages name the setting.
func TestDialGuard(t *testing.T) {
	ctx := context.Background()
	endpoint, ak, sk := testservers.MinIO(t)
	e := newEnv(t)
	in := labelhub.StorageInput{Name: "minio", Provider: labelhub.ProviderS3Compatible, Bucket: testservers.NewBucketName(t), Endpoint: endpoint,
		Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}}
	st, err := e.service(t, true, 0).Create(ctx, e.org.ID, e.user.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	guarded := e.service(t, false, 3*time.Second)
	v, err := guarded.Validate(ctx, e.org.ID, st.ID, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	checkNames(t, v)
	c := checkOf(v, "credentials")
	if c.OK || !strings.Contains(c.Message, "cannot reach "+endpoint) || !strings.Contains(c.Message, "loopback") || !strings.Contains(c.Message, "--allow-private-endpoints") {
		t.Fatalf("guarded validate:%s", dump(v))
	}
	b, err := guarded.Bucket(ctx, e.org.ID, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListFolder(ctx, "", "", 10); err == nil || !strings.Contains(err.Error(), "--allow-private-endpoints") {
		t.Fatalf("guarded list: %v", err)
	}
	rec := httptest.NewRecorder()
	b.Proxy(rec, httptest.NewRequest(http.MethodGet, "/", nil), "a.txt")
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "--allow-private-endpoints") {
		t.Fatalf("guarded proxy: %d %s", rec.Code, rec.Body)
	}
}

// TestBucketCacheAndIsolation checks that buckets are cached, reopened
// when deleted, scoped to their organisation, and that an evicted bucket
// refuses new work instead of using closed clients.
func TestBucketCacheAndIsolation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	svc := storage.NewService(e.store, storage.Options{Box: e.box, AllowPrivateEndpoints: true, MaxOpenBuckets: 2})
	defer svc.Close()
	var ids []string
	for i := range 3 {
		in := s3Input(fmt.Sprintf("http://127.0.0.1:%d", 9000+i))
		in.Name = fmt.Sprintf("s%d", i)
		st, err := svc.Create(ctx, e.org.ID, e.user.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
	}
	b1, err := svc.Bucket(ctx, e.org.ID, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := svc.Bucket(ctx, e.org.ID, ids[0]); again != b1 {
		t.Fatal("the same integration opened twice")
	}
	if b1.Storage.Endpoint != "http://127.0.0.1:9000" || !b1.Storage.PathStyle {
		t.Fatalf("storage %+v", b1.Storage)
	}

	other, _, _, err := e.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other", AdminEmail: "o@other.test", AdminName: "O"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Bucket":   func() error { _, err := svc.Bucket(ctx, other.ID, ids[0]); return err }(),
		"Get":      func() error { _, err := svc.Get(ctx, other.ID, ids[0]); return err }(),
		"Validate": func() error { _, err := svc.Validate(ctx, other.ID, ids[0], testOrigin); return err }(),
		"Delete":   svc.Delete(ctx, other.ID, ids[0]),
	} {
		if labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			t.Errorf("%s from another organisation: %v, want not_found", name, err)
		}
	}

	// Two more buckets evict the first (MaxOpenBuckets 2): it refuses new
	// work, and Bucket opens a fresh one.
	svc.Bucket(ctx, e.org.ID, ids[1])
	svc.Bucket(ctx, e.org.ID, ids[2])
	if _, err := b1.ListFolder(ctx, "", "", 1); labelhub.ErrorCode(err) != labelhub.ECodeUnavailable || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("evicted bucket: %v", err)
	}
	b1b, err := svc.Bucket(ctx, e.org.ID, ids[0])
	if err != nil || b1b == b1 {
		t.Fatalf("reopen after eviction: %v same=%v", err, b1b == b1)
	}
	// Signing needs no client and keeps working.
	if _, err := b1.SignedURL(ctx, "a.jpg", 0); err != nil {
		t.Fatalf("sign on an evicted bucket: %v", err)
	}

	if err := svc.Delete(ctx, e.org.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bucket(ctx, e.org.ID, ids[0]); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
		t.Fatalf("bucket after delete: %v", err)
	}
	if _, err := b1b.ListFolder(ctx, "", "", 1); labelhub.ErrorCode(err) != labelhub.ECodeUnavailable {
		t.Fatalf("deleted bucket still lists: %v", err)
	}
}

func TestCreateValidatesInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	svc := e.service(t, true, 0)
	in := s3Input("http://127.0.0.1:9000")
	in.Credentials.SecretAccessKey = ""
	_, err := svc.Create(ctx, e.org.ID, e.user.ID, in)
	if labelhub.ErrorCode(err) != labelhub.ECodeInvalid || !strings.Contains(err.Error(), "credentials.secretAccessKey") {
		t.Fatalf("missing secret: %v", err)
	}
	st, err := svc.Create(ctx, e.org.ID, e.user.ID, s3Input("http://127.0.0.1:9000"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivery != labelhub.DeliverySigned || st.SignedURLTTL != labelhub.DefaultSignedURLTTL || st.CreatedBy != e.user.ID ||
		strings.Join(st.CredentialFields, ",") != "accessKeyId,secretAccessKey" {
		t.Fatalf("defaults: %+v", st)
	}
	js, _ := json.Marshal(st)
	if strings.Contains(string(js), "secret-secret") {
		t.Fatalf("secret in %s", js)
	}
}

// TestAzureCORSRule sets a CORS rule on Azurite's Blob service and checks
// that the cors check then passes, and fails for another origin.
func TestAzureCORSRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobEndpoint, account, key, bucket, cc, _ := azuriteSetup(t)
	azurePut(cc)("x.txt", []byte("x"), "text/plain")
	cred, _ := azblob.NewSharedKeyCredential(account, key)
	sc, err := service.NewClientWithSharedKeyCredential(blobEndpoint+"/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{{
		AllowedOrigins: aws.String(testOrigin), AllowedMethods: aws.String("GET,HEAD"), AllowedHeaders: aws.String("*"),
		ExposedHeaders: aws.String("*"), MaxAgeInSeconds: aws.Int32(3600),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	svc := e.service(t, true, 5*time.Second)
	st, err := svc.Create(ctx, e.org.ID, e.user.ID, labelhub.StorageInput{Name: "az", Provider: labelhub.ProviderAzure, Bucket: bucket,
		Endpoint: blobEndpoint, Credentials: labelhub.StorageCredentials{AccountName: account, AccountKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := svc.Validate(ctx, e.org.ID, st.ID, testOrigin)
	if !v.OK {
		t.Fatalf("with a CORS rule for %s:%s", testOrigin, dump(v))
	}
	v, _ = svc.Validate(ctx, e.org.ID, st.ID, "https://elsewhere.example")
	if c := checkOf(v, "cors"); c.OK || !strings.Contains(c.Message, "AllowedOrigins: https://elsewhere.example") {
		t.Fatalf("other origin:%s", dump(v))
	}
	v, _ = svc.Validate(ctx, e.org.ID, st.ID, "")
	if c := checkOf(v, "cors"); c.OK || !strings.HasPrefix(c.Message, "skipped: no origin") {
		t.Fatalf("no origin:%s", dump(v))
	}
}

// TestProxyStreams proxies a 32 MiB object from MinIO and checks that the
// process allocates far less than the object: the bytes are streamed, not
// held.
func TestProxyStreams(t *testing.T) {
	ctx := context.Background()
	const size = 32 << 20
	data := make([]byte, size)
	rand.Read(data)
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string][]byte{"big.bin": data})
	e := newEnv(t)
	svc := e.service(t, true, 0)
	st, err := svc.Create(ctx, e.org.ID, e.user.ID, labelhub.StorageInput{Name: "m", Provider: labelhub.ProviderS3Compatible, Bucket: bucket,
		Endpoint: endpoint, Delivery: labelhub.DeliveryProxy, Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Bucket(ctx, e.org.ID, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.Proxy(w, r, "big.bin") }))
	defer srv.Close()
	fetch := func() (int64, [32]byte) {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var first [32]byte
		io.ReadFull(resp.Body, first[:])
		n, _ := io.Copy(io.Discard, resp.Body)
		return n + 32, first
	}
	fetch() // warm up connections and pools
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, first := fetch()
	runtime.ReadMemStats(&after)
	if n != size || !bytes.Equal(first[:], data[:32]) {
		t.Fatalf("proxied %d bytes, want %d", n, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("proxying a %d MiB object allocated %d MiB: it is buffered", size>>20, alloc>>20)
	} else {
		t.Logf("proxying %d MiB allocated %d KiB", size>>20, alloc>>10)
	}
}
