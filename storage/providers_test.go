package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/api/option"

	"github.com/labelhub/labelhub"
	lhstorage "github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
)

const testOrigin = "http://hub.example.test"

// providerCase is one provider against its real server.
type providerCase struct {
	name string
	// setup starts (or joins) the server and returns an input for a new,
	// empty bucket, a function to put objects in it, and one to make
	// another empty bucket.
	setup func(t *testing.T) (in labelhub.StorageInput, put func(key string, data []byte, ct string) error, mkBucket func(name string) error)
	// wrongSecret returns in with a wrong secret; nil when the server
	// does not check credentials.
	wrongSecret func(in labelhub.StorageInput) labelhub.StorageInput
	wrongMsg    string
	sigParam    string // query parameter holding the signature
	tamper      int    // status a tampered signature gets; 0: not checked
	corsOK      bool   // the emulator's CORS answer to the preflight
	// pageSlack: fake-gcs-server returns a page's prefixes on top of
	// maxResults objects (GCS counts both).
	pageSlack int
	expiresOf func(u *url.URL) time.Duration
}

func minioCase() providerCase {
	return providerCase{
		name: "minio",
		setup: func(t *testing.T) (labelhub.StorageInput, func(string, []byte, string) error, func(string) error) {
			endpoint, ak, sk := testservers.MinIO(t)
			client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
			ctx := context.Background()
			mk := func(name string) error {
				_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
				return err
			}
			bucket := testservers.NewBucketName(t)
			if err := mk(bucket); err != nil {
				t.Fatal(err)
			}
			put := func(key string, data []byte, ct string) error {
				in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
				if ct != "" {
					in.ContentType = aws.String(ct)
				}
				_, err := client.PutObject(ctx, in)
				return err
			}
			return labelhub.StorageInput{Name: "minio", Provider: labelhub.ProviderS3Compatible, Bucket: bucket, Endpoint: endpoint,
				Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}}, put, mk
		},
		wrongSecret: func(in labelhub.StorageInput) labelhub.StorageInput {
			in.Credentials.SecretAccessKey = "wrong-" + in.Credentials.SecretAccessKey
			return in
		},
		wrongMsg: "access denied: check the access key id and secret",
		sigParam: "X-Amz-Signature",
		tamper:   http.StatusForbidden,
		corsOK:   true, // MinIO allows every origin unless MINIO_API_CORS_ALLOW_ORIGIN says otherwise
		expiresOf: func(u *url.URL) time.Duration {
			n, _ := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
			return time.Duration(n) * time.Second
		},
	}
}

func fakeGCSCase() providerCase {
	return providerCase{
		name: "fake-gcs",
		setup: func(t *testing.T) (labelhub.StorageInput, func(string, []byte, string) error, func(string) error) {
			endpoint := testservers.FakeGCS(t)
			ctx := context.Background()
			client, err := storage.NewClient(ctx, option.WithEndpoint(endpoint+"/storage/v1/"), option.WithoutAuthentication())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })
			mk := func(name string) error { return client.Bucket(name).Create(ctx, "test", nil) }
			bucket := testservers.NewBucketName(t)
			if err := mk(bucket); err != nil {
				t.Fatal(err)
			}
			put := func(key string, data []byte, ct string) error {
				w := client.Bucket(bucket).Object(key).NewWriter(ctx)
				w.ContentType = ct
				if _, err := w.Write(data); err != nil {
					w.Close()
					return err
				}
				return w.Close()
			}
			return labelhub.StorageInput{Name: "gcs", Provider: labelhub.ProviderGCS, Bucket: bucket, Endpoint: endpoint,
				Credentials: labelhub.StorageCredentials{ServiceAccountJSON: serviceAccountJSON(t)}}, put, mk
		},
		// fake-gcs-server checks neither credentials nor signatures.
		sigParam:  "X-Goog-Signature",
		corsOK:    true,
		pageSlack: 2,
		expiresOf: func(u *url.URL) time.Duration {
			n, _ := strconv.Atoi(u.Query().Get("X-Goog-Expires"))
			return time.Duration(n) * time.Second
		},
	}
}

func azuriteSetup(t *testing.T) (blobEndpoint, account, key, bucket string, cc *container.Client, mk func(string) error) {
	blobEndpoint, account, key = testservers.Azurite(t)
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mk = func(name string) error {
		c, err := container.NewClientWithSharedKeyCredential(blobEndpoint+"/"+name, cred, nil)
		if err != nil {
			return err
		}
		_, err = c.Create(ctx, nil)
		return err
	}
	bucket = testservers.NewBucketName(t)
	if err := mk(bucket); err != nil {
		t.Fatal(err)
	}
	cc, err = container.NewClientWithSharedKeyCredential(blobEndpoint+"/"+bucket, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return blobEndpoint, account, key, bucket, cc, mk
}

func azurePut(cc *container.Client) func(string, []byte, string) error {
	return func(key string, data []byte, ct string) error {
		opts := &blockblob.UploadBufferOptions{}
		if ct != "" {
			opts.HTTPHeaders = &azblobblob.HTTPHeaders{BlobContentType: &ct}
		}
		_, err := cc.NewBlockBlobClient(key).UploadBuffer(context.Background(), data, opts)
		return err
	}
}

func azuriteCase() providerCase {
	return providerCase{
		name: "azurite",
		setup: func(t *testing.T) (labelhub.StorageInput, func(string, []byte, string) error, func(string) error) {
			blobEndpoint, account, key, bucket, cc, mk := azuriteSetup(t)
			return labelhub.StorageInput{Name: "azure", Provider: labelhub.ProviderAzure, Bucket: bucket, Endpoint: blobEndpoint,
				Credentials: labelhub.StorageCredentials{AccountName: account, AccountKey: key}}, azurePut(cc), mk
		},
		wrongSecret: func(in labelhub.StorageInput) labelhub.StorageInput {
			in.Credentials.AccountKey = "d3JvbmcgYWNjb3VudCBrZXkgZm9yIHRoZSB0ZXN0IGFjY291bnQgb2YgYXp1cml0ZQ=="
			return in
		},
		wrongMsg: "the account key or SAS was refused",
		sigParam: "sig",
		tamper:   http.StatusForbidden,
		corsOK:   false, // Azurite has no CORS rule until one is set
		expiresOf: func(u *url.URL) time.Duration {
			st, _ := time.Parse(time.RFC3339, u.Query().Get("st"))
			se, _ := time.Parse(time.RFC3339, u.Query().Get("se"))
			return se.Sub(st)
		},
	}
}

func TestProviders(t *testing.T) {
	for _, pc := range []providerCase{minioCase(), fakeGCSCase(), azuriteCase()} {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			runSuite(t, pc)
		})
	}
}

func runSuite(t *testing.T, pc providerCase) {
	ctx := context.Background()
	e := newEnv(t)
	svc := e.service(t, true, 5*time.Second)
	in, put, mkBucket := pc.setup(t)
	fx := newFixture()
	fx.upload(t, put)
	st, err := svc.Create(ctx, e.org.ID, e.user.ID, in)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	b, err := svc.Bucket(ctx, e.org.ID, st.ID)
	if err != nil {
		t.Fatalf("bucket: %v", err)
	}

	t.Run("credentials are neither returned nor stored in clear", func(t *testing.T) {
		secrets := []string{in.Credentials.SecretAccessKey, in.Credentials.AccountKey}
		if in.Credentials.ServiceAccountJSON != "" {
			var sa map[string]string
			json.Unmarshal([]byte(in.Credentials.ServiceAccountJSON), &sa)
			// A line from the middle of the PEM body.
			secrets = append(secrets, strings.Split(sa["private_key"], "\n")[5])
		}
		js, _ := json.Marshal(st)
		got, err := svc.Get(ctx, e.org.ID, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		js2, _ := json.Marshal(got)
		rec, err := e.store.GetStorage(ctx, e.org.ID, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if s == "" {
				continue
			}
			for what, text := range map[string]string{"created Storage JSON": string(js), "read Storage JSON": string(js2), "sealed column": rec.SealedCredentials} {
				if strings.Contains(text, s) {
					t.Fatalf("%s contains the secret %q", what, s)
				}
			}
		}
		if len(got.CredentialFields) == 0 {
			t.Fatalf("CredentialFields empty: %+v", got)
		}
		// The sealed value opens only for its own row.
		if _, err := e.box.Open(rec.SealedCredentials, []byte(e.org.ID+"/"+st.ID)); err != nil {
			t.Fatalf("sealed credentials do not open with their row's associated data: %v", err)
		}
		if _, err := e.box.Open(rec.SealedCredentials, []byte(e.org.ID+"/"+labelhub.NewID())); err == nil {
			t.Fatal("sealed credentials open with another row's associated data")
		}
	})

	t.Run("validate", func(t *testing.T) {
		v, err := svc.Validate(ctx, e.org.ID, st.ID, testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		checkNames(t, v)
		for _, n := range []string{"credentials", "bucket", "list", "read"} {
			if c := checkOf(v, n); !c.OK {
				t.Fatalf("check %s failed:%s", n, dump(v))
			}
		}
		if !strings.Contains(checkOf(v, "read").Message, "can read") {
			t.Errorf("read message %q", checkOf(v, "read").Message)
		}
		cors := checkOf(v, "cors")
		if cors.OK != pc.corsOK {
			t.Fatalf("cors ok = %v, want %v:%s", cors.OK, pc.corsOK, dump(v))
		}
		if !cors.OK {
			for _, want := range []string{"AllowedOrigins: " + testOrigin, "AllowedMethods: GET, HEAD", `delivery to "proxy"`, "preflight"} {
				if !strings.Contains(cors.Message, want) {
					t.Errorf("cors message %q does not say %q", cors.Message, want)
				}
			}
		}
		if v.OK != pc.corsOK {
			t.Errorf("Validation.OK = %v with cors %v", v.OK, cors.OK)
		}
		t.Logf("%s", dump(v))
	})

	t.Run("validate proxy delivery needs no CORS", func(t *testing.T) {
		in2 := in
		in2.Name += " proxy"
		in2.Delivery = labelhub.DeliveryProxy
		st2, err := svc.Create(ctx, e.org.ID, e.user.ID, in2)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := svc.Validate(ctx, e.org.ID, st2.ID, testOrigin)
		if !v.OK || !strings.Contains(checkOf(v, "cors").Message, "not needed") {
			t.Fatalf("proxy delivery:%s", dump(v))
		}
	})

	t.Run("validate empty bucket", func(t *testing.T) {
		name := testservers.NewBucketName(t)
		if err := mkBucket(name); err != nil {
			t.Fatal(err)
		}
		in2 := in
		in2.Name += " empty"
		in2.Bucket = name
		st2, err := svc.Create(ctx, e.org.ID, e.user.ID, in2)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := svc.Validate(ctx, e.org.ID, st2.ID, testOrigin)
		checkNames(t, v)
		if c := checkOf(v, "read"); !c.OK || c.Message != "bucket is empty; nothing to read" {
			t.Fatalf("read check on an empty bucket:%s", dump(v))
		}
	})

	t.Run("validate wrong bucket", func(t *testing.T) {
		in2 := in
		in2.Name += " missing"
		in2.Bucket = testservers.NewBucketName(t) // never created
		st2, err := svc.Create(ctx, e.org.ID, e.user.ID, in2)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := svc.Validate(ctx, e.org.ID, st2.ID, testOrigin)
		checkNames(t, v)
		c := checkOf(v, "bucket")
		if v.OK || c.OK || !strings.Contains(c.Message, "does not exist") || !strings.Contains(c.Message, in2.Bucket) {
			t.Fatalf("wrong bucket:%s", dump(v))
		}
		if !checkOf(v, "credentials").OK {
			t.Fatalf("credentials should pass with a missing bucket:%s", dump(v))
		}
		for _, n := range []string{"list", "read", "cors"} {
			if c := checkOf(v, n); c.OK || !strings.HasPrefix(c.Message, "skipped: ") {
				t.Fatalf("%s not skipped:%s", n, dump(v))
			}
		}
	})

	t.Run("validate wrong secret", func(t *testing.T) {
		if pc.wrongSecret == nil {
			t.Skip(pc.name + " does not check credentials")
		}
		in2 := pc.wrongSecret(in)
		in2.Name += " wrong"
		st2, err := svc.Create(ctx, e.org.ID, e.user.ID, in2)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := svc.Validate(ctx, e.org.ID, st2.ID, testOrigin)
		checkNames(t, v)
		c := checkOf(v, "credentials")
		if c.OK || !strings.Contains(c.Message, pc.wrongMsg) {
			t.Fatalf("wrong secret: credentials check should say %q:%s", pc.wrongMsg, dump(v))
		}
		for _, n := range []string{"bucket", "list", "read", "cors"} {
			if c := checkOf(v, n); c.OK || !strings.HasPrefix(c.Message, "skipped: ") {
				t.Fatalf("%s not skipped:%s", n, dump(v))
			}
		}
		for _, c := range v.Checks {
			if strings.Contains(c.Message, "goroutine") || strings.Contains(c.Message, ".go:") || strings.Contains(c.Message, "RequestID") {
				t.Fatalf("message leaks internals: %q", c.Message)
			}
		}
	})

	t.Run("validate unreachable endpoint", func(t *testing.T) {
		short := e.service(t, true, 2*time.Second)
		in2 := in
		in2.Name += " unreachable"
		in2.Endpoint = "http://" + closedPort(t)
		st2, err := short.Create(ctx, e.org.ID, e.user.ID, in2)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		v, _ := short.Validate(ctx, e.org.ID, st2.ID, testOrigin)
		checkNames(t, v)
		var failed *lhstorage.Check
		for i, c := range v.Checks {
			if !c.OK {
				failed = &v.Checks[i]
				break
			}
		}
		if failed == nil || !strings.Contains(failed.Message, "cannot reach "+in2.Endpoint) || !strings.Contains(failed.Message, "within 2s") ||
			!strings.Contains(failed.Message, "connection refused") {
			t.Fatalf("unreachable: first failing check should say cannot reach %s within 2s: connection refused:%s", in2.Endpoint, dump(v))
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("validate of an unreachable endpoint took %v", d)
		}
	})

	t.Run("list folder pages", func(t *testing.T) {
		seen := map[string]bool{}
		var folders []string
		token, pages := "", 0
		for {
			f, err := b.ListFolder(ctx, "many/", token, 500)
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			if n := len(f.Files) + len(f.Folders); n > 500+pc.pageSlack {
				t.Fatalf("page %d has %d entries, more than 500", pages, n)
			}
			folders = append(folders, f.Folders...)
			for _, file := range f.Files {
				if seen[file.Key] {
					t.Fatalf("%s listed twice", file.Key)
				}
				seen[file.Key] = true
				if want := int64(len(fx.objects[file.Key])); file.Size != want {
					t.Fatalf("%s size %d, want %d", file.Key, file.Size, want)
				}
				if file.ModTime.IsZero() {
					t.Fatalf("%s has no ModTime", file.Key)
				}
			}
			if f.NextPageToken == "" {
				break
			}
			if pages == 1 {
				if _, err := b.ListFolder(ctx, "a/", f.NextPageToken, 500); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
					t.Fatalf("a token of many/ used for a/: err = %v, want invalid", err)
				}
			}
			token = f.NextPageToken
		}
		if pages != 3 && pc.pageSlack == 0 {
			t.Errorf("pages = %d, want 3 (1,202 entries by 500)", pages)
		}
		if len(seen) != manyCount {
			t.Fatalf("listed %d files in many/, want %d", len(seen), manyCount)
		}
		for i := range manyCount {
			if k := fmt.Sprintf("many/%04d.bin", i); !seen[k] {
				t.Fatalf("%s missing", k)
			}
		}
		sort.Strings(folders)
		folders = slices.Compact(folders)
		if strings.Join(folders, ",") != "many/sub1/,many/sub2/" {
			t.Fatalf("folders = %v", folders)
		}
	})

	t.Run("list root and odd names", func(t *testing.T) {
		f, err := b.ListFolder(ctx, "", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(f.Folders)
		if got := strings.Join(f.Folders, "|"); got != "a/|data/|many/|pct/|plus+sign/|space name/|unicode/" {
			t.Fatalf("root folders = %s", got)
		}
		if len(f.Files) != 1 || f.Files[0].Key != "empty.txt" || f.Files[0].Size != 0 || f.NextPageToken != "" {
			t.Fatalf("root files = %+v, token %q", f.Files, f.NextPageToken)
		}
		for prefix, want := range map[string]string{
			"unicode":     "unicode/ünïcödé-日本.txt",
			"pct/":        "pct/50% off #1?.txt",
			"space name/": "space name/file with space.txt",
			"plus+sign/":  "plus+sign/a+b.txt",
		} {
			f, err := b.ListFolder(ctx, prefix, "", 10)
			if err != nil {
				t.Fatalf("%s: %v", prefix, err)
			}
			if len(f.Files) != 1 || f.Files[0].Key != want {
				t.Fatalf("ListFolder(%q) = %+v, want %q", prefix, f.Files, want)
			}
		}
		if _, err := b.ListFolder(ctx, "", "", 1001); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
			t.Fatalf("pageSize 1001: %v", err)
		}
		if _, err := b.ListFolder(ctx, "", "garbage!", 10); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
			t.Fatalf("garbage token: %v", err)
		}
	})

	t.Run("walk", func(t *testing.T) {
		seen := map[string]int64{}
		if err := b.Walk(ctx, "", func(f lhstorage.File) error {
			if _, dup := seen[f.Key]; dup {
				return fmt.Errorf("%s twice", f.Key)
			}
			seen[f.Key] = f.Size
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(fx.objects) {
			t.Fatalf("walk saw %d objects, want %d", len(seen), len(fx.objects))
		}
		for k, v := range fx.objects {
			if size, ok := seen[k]; !ok || size != int64(len(v)) {
				t.Fatalf("walk: %q seen=%v size=%d, want %d", k, ok, size, len(v))
			}
		}
		n := 0
		if err := b.Walk(ctx, "many/", func(lhstorage.File) error { n++; return nil }); err != nil || n != manyCount+2 {
			t.Fatalf("walk many/: %d objects, %v; want %d", n, err, manyCount+2)
		}
		stop := errors.New("stop")
		n = 0
		if err := b.Walk(ctx, "many/", func(lhstorage.File) error { n++; return stop }); err != stop || n != 1 {
			t.Fatalf("walk stopped by fn: n=%d err=%v", n, err)
		}
	})

	t.Run("signed urls", func(t *testing.T) {
		for _, key := range []string{"data/blob.bin", "space name/file with space.txt", "plus+sign/a+b.txt", "unicode/ünïcödé-日本.txt", "pct/50% off #1?.txt", "a/b/c.txt"} {
			before := time.Now()
			u, err := b.SignedURL(ctx, key, 0)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			resp, body := get(t, u)
			if resp.StatusCode != 200 || !bytes.Equal(body, fx.objects[key]) {
				t.Fatalf("GET signed %s: %d %q, want 200 %q\n%s", key, resp.StatusCode, body, fx.objects[key], u)
			}
			again, _ := b.SignedURL(ctx, key, 0)
			if again != u && before.Truncate(time.Minute).Equal(time.Now().Truncate(time.Minute)) {
				t.Errorf("signing %s twice within a minute gave two URLs:\n%s\n%s", key, u, again)
			}
			parsed, _ := url.Parse(u)
			if d := pc.expiresOf(parsed); d < 15*time.Minute || d > 16*time.Minute+time.Second {
				t.Errorf("%s lives %v, want 15-16 min", key, d)
			}
			if pc.tamper != 0 {
				q := parsed.Query()
				sig := q.Get(pc.sigParam)
				if sig == "" {
					t.Fatalf("no %s in %s", pc.sigParam, u)
				}
				flip := byte('0')
				if sig[0] == '0' {
					flip = '1'
				}
				tampered := strings.Replace(u, pc.sigParam+"="+url.QueryEscape(sig), pc.sigParam+"="+url.QueryEscape(string(flip)+sig[1:]), 1)
				if tampered == u {
					t.Fatalf("could not tamper with %s", u)
				}
				if resp, body := get(t, tampered); resp.StatusCode != pc.tamper {
					t.Fatalf("tampered signature: %d %s, want %d", resp.StatusCode, body, pc.tamper)
				}
			}
		}
		short, err := b.SignedURL(ctx, "a/plain.txt", 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := url.Parse(short)
		if d := pc.expiresOf(parsed); d < 2*time.Minute || d > 3*time.Minute+time.Second {
			t.Errorf("ttl 2m lives %v", d)
		}
		if _, err := b.SignedURL(ctx, "a/plain.txt", 8*24*time.Hour); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
			t.Errorf("ttl 8 days: %v, want invalid", err)
		}
		if _, err := b.SignedURL(ctx, "", 0); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
			t.Errorf("empty key: %v, want invalid", err)
		}
	})

	t.Run("proxy", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.Proxy(w, r, r.URL.Query().Get("key"))
		}))
		defer srv.Close()
		at := func(key string) string { return srv.URL + "/?key=" + url.QueryEscape(key) }
		blob := fx.objects["data/blob.bin"]

		resp, body := get(t, at("data/blob.bin"))
		if resp.StatusCode != 200 || !bytes.Equal(body, blob) || resp.Header.Get("Content-Length") != "1000" {
			t.Fatalf("whole: %d len=%d Content-Length=%q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
		}
		etag := resp.Header.Get("ETag")
		h := resp.Header
		if etag == "" || h.Get("Last-Modified") == "" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Content-Disposition") != `inline; filename="blob.bin"` || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
			h.Get("Accept-Ranges") != "bytes" || h.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("whole: headers %v", h)
		}

		for rg, want := range map[string]struct {
			from, to int
		}{"bytes=10-19": {10, 20}, "bytes=-5": {995, 1000}, "bytes=990-": {990, 1000}, "bytes=995-5000": {995, 1000}, "bytes=0-0": {0, 1}} {
			resp, body := get(t, at("data/blob.bin"), "Range", rg)
			wantCR := fmt.Sprintf("bytes %d-%d/1000", want.from, want.to-1)
			if resp.StatusCode != 206 || !bytes.Equal(body, blob[want.from:want.to]) || resp.Header.Get("Content-Range") != wantCR ||
				resp.Header.Get("Content-Length") != strconv.Itoa(want.to-want.from) {
				t.Fatalf("Range %s: %d %q Content-Range=%q Content-Length=%q; want 206 %s", rg, resp.StatusCode, body,
					resp.Header.Get("Content-Range"), resp.Header.Get("Content-Length"), wantCR)
			}
		}
		for _, rg := range []string{"bytes=2000-2100", "bytes=abc", "bytes=5-2", "bytes=1000-"} {
			resp, body := get(t, at("data/blob.bin"), "Range", rg)
			if resp.StatusCode != 416 || !strings.Contains(string(body), "range") {
				t.Fatalf("Range %s: %d %s, want 416", rg, resp.StatusCode, body)
			}
			if rg == "bytes=2000-2100" && resp.Header.Get("Content-Range") != "bytes */1000" {
				t.Errorf("416 Content-Range = %q", resp.Header.Get("Content-Range"))
			}
		}
		if resp, body := get(t, at("data/blob.bin"), "Range", "bytes=0-1,5-6"); resp.StatusCode != 200 || len(body) != 1000 {
			t.Fatalf("multi-range: %d len %d, want the whole object", resp.StatusCode, len(body))
		}
		if resp, body := get(t, at("data/blob.bin"), "If-None-Match", etag); resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match: %d %q", resp.StatusCode, body)
		}
		lastMod := h.Get("Last-Modified")
		if resp, body := get(t, at("data/blob.bin"), "If-Modified-Since", lastMod); resp.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("If-Modified-Since %s: %d", lastMod, resp.StatusCode)
		}
		if resp, _ := get(t, at("data/blob.bin"), "If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"); resp.StatusCode != 200 {
			t.Fatalf("If-Modified-Since 2006: %d", resp.StatusCode)
		}
		if resp, _ := get(t, at("data/blob.bin"), "If-None-Match", `"other"`); resp.StatusCode != 200 {
			t.Fatalf("If-None-Match other: %d", resp.StatusCode)
		}
		if resp, _ := get(t, at("data/blob.bin"), "Range", "bytes=10-19", "If-Range", `"stale"`); resp.StatusCode != 200 {
			t.Fatalf("stale If-Range: %d, want 200 whole", resp.StatusCode)
		}
		if resp, _ := get(t, at("data/blob.bin"), "Range", "bytes=10-19", "If-Range", etag); resp.StatusCode != 206 {
			t.Fatalf("current If-Range: %d, want 206", resp.StatusCode)
		}

		req, _ := http.NewRequest(http.MethodHead, at("data/blob.bin"), nil)
		hr, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		hr.Body.Close()
		if hr.StatusCode != 200 || hr.ContentLength != 1000 || hr.Header.Get("ETag") != etag {
			t.Fatalf("HEAD: %d %d %q", hr.StatusCode, hr.ContentLength, hr.Header.Get("ETag"))
		}

		for key, disp := range map[string]string{"data/page.html": "attachment", "data/pic.svg": "attachment", "a/plain.txt": "inline"} {
			resp, body := get(t, at(key))
			if resp.StatusCode != 200 || !bytes.Equal(body, fx.objects[key]) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), disp+";") ||
				!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
				t.Fatalf("%s: %d Content-Disposition=%q CSP=%q", key, resp.StatusCode, resp.Header.Get("Content-Disposition"), resp.Header.Get("Content-Security-Policy"))
			}
		}
		for _, key := range []string{"unicode/ünïcödé-日本.txt", "pct/50% off #1?.txt", "space name/file with space.txt", "plus+sign/a+b.txt"} {
			resp, body := get(t, at(key))
			if resp.StatusCode != 200 || !bytes.Equal(body, fx.objects[key]) {
				t.Fatalf("%s: %d %q", key, resp.StatusCode, body)
			}
			cd := resp.Header.Get("Content-Disposition")
			_, name, _ := strings.Cut(cd, `filename="`)
			name, _, _ = strings.Cut(name, `"`)
			if name == "" || strings.ContainsAny(name, "\\;%/\r\n") || strings.Count(cd, `"`) != 2 {
				t.Fatalf("%s: Content-Disposition %q", key, cd)
			}
		}
		if resp, body := get(t, at("unicode/ünïcödé-日本.txt")); !strings.Contains(resp.Header.Get("Content-Disposition"), "filename*=UTF-8''%C3%BCn%C3%AF") {
			t.Fatalf("unicode Content-Disposition %q %s", resp.Header.Get("Content-Disposition"), body)
		}
		if resp, body := get(t, at("empty.txt")); resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "0" {
			t.Fatalf("empty: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Length"))
		}
		resp, body = get(t, at("no/such/key"))
		var eb struct {
			Error labelhub.Error `json:"error"`
		}
		if resp.StatusCode != 404 || json.Unmarshal(body, &eb) != nil || eb.Error.Code != labelhub.ECodeNotFound {
			t.Fatalf("missing: %d %s", resp.StatusCode, body)
		}
		pr, err := http.Post(at("data/blob.bin"), "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, pr.Body)
		pr.Body.Close()
		if pr.StatusCode != 405 {
			t.Fatalf("POST: %d", pr.StatusCode)
		}
	})
}

// TestAzureOtherCredentials opens Azurite with a connection string and
// with a SAS token only.
func TestAzureOtherCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobEndpoint, account, key, bucket, cc, _ := azuriteSetup(t)
	put := azurePut(cc)
	if err := put("dir/hello.txt", []byte("hello"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	svc := e.service(t, true, 5*time.Second)

	cred, _ := azblob.NewSharedKeyCredential(account, key)
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: bucket,
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	readOnly, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: bucket,
		Permissions: (&sas.ContainerPermissions{Read: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		in    labelhub.StorageInput
		check func(t *testing.T, v lhstorage.Validation)
	}{
		{"connection string", labelhub.StorageInput{Endpoint: "", Credentials: labelhub.StorageCredentials{
			ConnectionString: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", account, key, blobEndpoint)}}, nil},
		{"sas token", labelhub.StorageInput{Endpoint: blobEndpoint, Credentials: labelhub.StorageCredentials{AccountName: account, SASToken: qp.Encode()}}, nil},
		{"sas without list", labelhub.StorageInput{Endpoint: blobEndpoint, Credentials: labelhub.StorageCredentials{AccountName: account, SASToken: readOnly.Encode()}},
			func(t *testing.T, v lhstorage.Validation) {
				c := checkOf(v, "list")
				if c.OK || !strings.Contains(c.Message, "List (l)") || !checkOf(v, "credentials").OK || !checkOf(v, "bucket").OK ||
					!strings.HasPrefix(checkOf(v, "read").Message, "skipped:") {
					t.Fatalf("SAS without list permission:%s", dump(v))
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Name, in.Provider, in.Bucket = tc.name, labelhub.ProviderAzure, bucket
			st, err := svc.Create(ctx, e.org.ID, e.user.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			if st.AccountName != account {
				t.Errorf("AccountName = %q", st.AccountName)
			}
			v, err := svc.Validate(ctx, e.org.ID, st.ID, testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, v)
			if tc.check != nil {
				tc.check(t, v)
				return
			}
			for _, n := range []string{"credentials", "bucket", "list", "read"} {
				if !checkOf(v, n).OK {
					t.Fatalf("%s:%s", n, dump(v))
				}
			}
			b, err := svc.Bucket(ctx, e.org.ID, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			f, err := b.ListFolder(ctx, "dir/", "", 10)
			if err != nil || len(f.Files) != 1 || f.Files[0].Key != "dir/hello.txt" {
				t.Fatalf("list: %+v %v", f, err)
			}
			u, err := b.SignedURL(ctx, "dir/hello.txt", 0)
			if err != nil {
				t.Fatal(err)
			}
			if resp, body := get(t, u); resp.StatusCode != 200 || string(body) != "hello" {
				t.Fatalf("signed GET: %d %s", resp.StatusCode, body)
			}
		})
	}
}
