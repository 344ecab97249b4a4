package storage_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
)

// benchKey writes a realistic, distinct object key for i into buf.
func benchKey(buf []byte, i int) string {
	buf = append(buf[:0], "datasets/cam-07/2026-03-14/frame-"...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, ".jpg"...)
	return string(buf)
}

// repeatKeys is how many keys the "repeat" variants sign over and over:
// the thumbnails of a few pages of a File Explorer or task list.
const repeatKeys = 512

// BenchmarkSignedURL signs GET URLs on one goroutine (so urls/s is per
// core), a new key every time unless the name says "repeat" (repeatKeys
// keys over and over, as pages asked again within the signing window; a
// minute boundary during the run re-signs them once). "gocloud" variants
// sign through gocloud.dev/blob's SignedURL for comparison.
func BenchmarkSignedURL(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	svc := storage.NewService(e.store, storage.Options{Box: e.box, AllowPrivateEndpoints: true})
	defer svc.Close()
	open := func(in labelhub.StorageInput) *storage.Bucket {
		st, err := svc.Create(ctx, e.org.ID, e.user.ID, in)
		if err != nil {
			b.Fatal(err)
		}
		bk, err := svc.Bucket(ctx, e.org.ID, st.ID)
		if err != nil {
			b.Fatal(err)
		}
		return bk
	}
	minio := open(labelhub.StorageInput{Name: "minio", Provider: labelhub.ProviderS3Compatible, Bucket: "media", Endpoint: "http://127.0.0.1:9000",
		Credentials: labelhub.StorageCredentials{AccessKeyID: "labelhub", SecretAccessKey: "0123456789abcdef0123456789abcdef"}})
	aws := open(labelhub.StorageInput{Name: "aws", Provider: labelhub.ProviderS3, Bucket: "media-bucket", Region: "eu-west-3",
		Credentials: labelhub.StorageCredentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}})
	gcs := open(labelhub.StorageInput{Name: "gcs", Provider: labelhub.ProviderGCS, Bucket: "media-bucket",
		Credentials: labelhub.StorageCredentials{ServiceAccountJSON: serviceAccountJSON(b)}})
	azure := open(labelhub.StorageInput{Name: "azure", Provider: labelhub.ProviderAzure, Bucket: "media",
		Credentials: labelhub.StorageCredentials{AccountName: testservers.AzuriteAccount, AccountKey: testservers.AzuriteKey}})

	type signer func(key string) (string, error)
	lean := func(bk *storage.Bucket) signer {
		return func(key string) (string, error) { return bk.SignedURL(ctx, key, 0) }
	}
	viaGocloud := func(bk *storage.Bucket) signer {
		return func(key string) (string, error) { return storage.GocloudSignedURL(ctx, bk, key, 15*time.Minute) }
	}
	for _, c := range []struct {
		name   string
		sign   signer
		repeat bool
	}{
		{"s3-compatible", lean(minio), false},
		{"s3", lean(aws), false},
		{"s3/gocloud", viaGocloud(aws), false},
		{"azure", lean(azure), false},
		{"azure/gocloud", viaGocloud(azure), false},
		{"gcs", lean(gcs), false},
		{"gcs/repeat", lean(gcs), true},
		{"gcs/gocloud", viaGocloud(gcs), false},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf [64]byte
			if c.repeat {
				// Warm the window's cache, as the first view of the page did.
				for n := range repeatKeys {
					if _, err := c.sign(benchKey(buf[:0], n)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				n := i
				if c.repeat {
					n = i % repeatKeys
				}
				if _, err := c.sign(benchKey(buf[:0], n)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "urls/s")
		})
	}
}

// BenchmarkProxy downloads a 64 MiB object from MinIO through Bucket.Proxy
// (an httptest server on loopback) and, for comparison, directly from
// MinIO with a signed URL. Both report MB/s (b.SetBytes).
func BenchmarkProxy(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	data := make([]byte, size)
	rand.Read(data)
	endpoint, ak, sk, bucketName := testservers.MinIOBucket(b, map[string][]byte{"video/big.bin": data})
	e := newEnv(b)
	svc := storage.NewService(e.store, storage.Options{Box: e.box, AllowPrivateEndpoints: true})
	defer svc.Close()
	st, err := svc.Create(ctx, e.org.ID, e.user.ID, labelhub.StorageInput{Name: "m", Provider: labelhub.ProviderS3Compatible, Bucket: bucketName,
		Endpoint: endpoint, Delivery: labelhub.DeliveryProxy, Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}})
	if err != nil {
		b.Fatal(err)
	}
	bk, err := svc.Bucket(ctx, e.org.ID, st.ID)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { bk.Proxy(w, r, "video/big.bin") }))
	defer srv.Close()
	signed, err := bk.SignedURL(ctx, "video/big.bin", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	download := func(b *testing.B, url string) {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || resp.StatusCode != 200 {
			b.Fatalf("GET: %d, %d bytes, %v", resp.StatusCode, n, err)
		}
	}
	for _, c := range []struct{ name, url string }{{"direct", signed}, {"proxy", srv.URL}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				download(b, c.url)
			}
		})
	}
}
