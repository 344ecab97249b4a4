package artifacts_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// newMinIO returns an S3 store on a fresh bucket of the shared MinIO, under
// a prefix, and the bucket's name.
func newMinIO(t testing.TB) (*artifacts.S3, string) {
	t.Helper()
	endpoint, ak, sk, bucket := testservers.MinIOBucket[string](t, nil)
	ctx := context.Background()
	st, err := artifacts.NewS3(ctx, artifacts.Location{Bucket: bucket, Prefix: "hub/artifacts/", Endpoint: endpoint, Region: "us-east-1"},
		artifacts.S3Credentials{AccessKeyID: ak, SecretAccessKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, bucket
}

// stores runs fn on a local folder and on MinIO; contents lists everything
// the store holds: files (temporary ones too), objects and open multipart
// uploads ("upload:" + key).
func stores(t *testing.T, fn func(t *testing.T, st artifacts.Store, contents func() []string)) {
	t.Run("local", func(t *testing.T) {
		dir := t.TempDir()
		st, err := artifacts.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		fn(t, st, func() []string {
			out := []string{}
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					out = append(out, filepath.ToSlash(rel))
				}
				return nil
			})
			sort.Strings(out)
			return out
		})
	})
	t.Run("minio", func(t *testing.T) {
		st, bucket := newMinIO(t)
		fn(t, st, func() []string {
			ctx := context.Background()
			out := []string{}
			objs, err := st.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs.Contents {
				out = append(out, aws.ToString(o.Key)[len("hub/artifacts/"):])
			}
			ups, err := st.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range ups.Uploads {
				out = append(out, "upload:"+aws.ToString(u.Key))
			}
			sort.Strings(out)
			return out
		})
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pattern makes n bytes that differ at every offset of a small window, so
// a wrong range or seek shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestStoreRoundTrip(t *testing.T) {
	stores(t, func(t *testing.T, st artifacts.Store, contents func() []string) {
		ctx := context.Background()
		// Bigger than one S3 part (5 MiB), so MinIO sees a multipart upload.
		data := pattern(6<<20 + 123)
		n, err := st.Put(ctx, "RUN1/UP1", bytes.NewReader(data), int64(len(data)))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("put: %d, %v", n, err)
		}
		o, err := st.Open(ctx, "RUN1/UP1")
		if err != nil {
			t.Fatal(err)
		}
		if o.Size() != int64(len(data)) || o.ModTime().IsZero() {
			t.Fatalf("size %d modtime %v", o.Size(), o.ModTime())
		}
		got, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		// Seeking serves ranges.
		if _, err := o.Seek(5<<20-3, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		part := make([]byte, 10)
		if _, err := io.ReadFull(o, part); err != nil || !bytes.Equal(part, data[5<<20-3:5<<20+7]) {
			t.Fatalf("range read %v: %x", err, part)
		}
		o.Close()
		if c := contents(); !equal(c, []string{"RUN1/UP1"}) {
			t.Fatalf("store holds %v", c)
		}
		if err := st.Delete(ctx, "RUN1/UP1"); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, "RUN1/UP1"); err != nil {
			t.Fatalf("deleting a missing blob: %v", err)
		}
		if _, err := st.Open(ctx, "RUN1/UP1"); !errors.Is(err, artifacts.ErrNotFound) {
			t.Fatalf("open after delete: %v", err)
		}
		if c := contents(); len(c) != 0 {
			t.Fatalf("store holds %v after delete", c)
		}
		for _, bad := range []string{"", "../x", "a/../b", "a//b", "/a", "a/", "a b", "a\x00b", "a\\b"} {
			if _, err := st.Put(ctx, bad, bytes.NewReader(nil), 10); err == nil {
				t.Errorf("put accepted the key %q", bad)
			}
		}
	})
}

// An upload over the cap, a failing reader and a cancelled context all
// leave nothing behind, in one part or in several.
func TestStoreAbortsLeaveNothing(t *testing.T) {
	stores(t, func(t *testing.T, st artifacts.Store, contents func() []string) {
		ctx := context.Background()
		for _, size := range []int{1000, 6 << 20} {
			data := pattern(size + 1)
			_, err := st.Put(ctx, "RUN/BIG", bytes.NewReader(data), int64(size))
			var tl *artifacts.TooLargeError
			if !errors.As(err, &tl) || tl.Limit != int64(size) {
				t.Fatalf("over the cap by one byte: %v", err)
			}
			if c := contents(); len(c) != 0 {
				t.Fatalf("after a refused upload of %d bytes the store holds %v", size+1, c)
			}
			// Exactly at the cap is fine.
			if _, err := st.Put(ctx, "RUN/EXACT", bytes.NewReader(data[:size]), int64(size)); err != nil {
				t.Fatalf("at the cap: %v", err)
			}
			if err := st.Delete(ctx, "RUN/EXACT"); err != nil {
				t.Fatal(err)
			}
		}
		boom := errors.New("connection reset")
		_, err := st.Put(ctx, "RUN/FAIL", io.MultiReader(bytes.NewReader(pattern(6<<20)), iotestErr{boom}), 10<<20)
		if !errors.Is(err, boom) {
			t.Fatalf("failing reader: %v", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		_, err = st.Put(cctx, "RUN/CANCEL", &cancelAfter{r: bytes.NewReader(pattern(6 << 20)), n: 1 << 20, cancel: cancel}, 10<<20)
		if err == nil {
			t.Fatal("a cancelled upload succeeded")
		}
		if c := contents(); len(c) != 0 {
			t.Fatalf("after failed uploads the store holds %v", c)
		}
	})
}

// A reader never sees a blob that is still being written.
func TestStoreWritesAreAtomic(t *testing.T) {
	stores(t, func(t *testing.T, st artifacts.Store, contents func() []string) {
		ctx := context.Background()
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := st.Put(ctx, "RUN/SLOW", pr, 1<<20)
			done <- err
		}()
		if _, err := pw.Write(pattern(1000)); err != nil {
			t.Fatal(err)
		}
		// The first bytes were taken by the store; the blob must not be
		// visible under its key yet.
		if o, err := st.Open(ctx, "RUN/SLOW"); !errors.Is(err, artifacts.ErrNotFound) {
			if o != nil {
				o.Close()
			}
			t.Fatalf("half-written blob visible: %v", err)
		}
		if _, err := pw.Write(pattern(500)); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("put did not finish")
		}
		o, err := st.Open(ctx, "RUN/SLOW")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if o.Size() != 1500 {
			t.Fatalf("size %d", o.Size())
		}
	})
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// cancelAfter cancels its context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	if c.read >= c.n {
		c.cancel()
	}
	return n, err
}
