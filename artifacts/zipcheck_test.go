package artifacts_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/sqlstore"
)

// makeZip writes a zip of the files and, with a comment, sets it.
func makeZip(t *testing.T, files map[string]string, comment string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if comment != "" {
		if err := zw.SetComment(comment); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A name ending in .zip promises a zip: the service checks the end of the
// upload and refuses bytes that are not one (cut short, not a zip at all,
// a central directory pointing past the end), keeping nothing; other
// names take any bytes.
func TestPutRefusesBrokenZips(t *testing.T) {
	stores(t, func(t *testing.T, blobs artifacts.Store, contents func() []string) {
		ctx := context.Background()
		s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "labelhub.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run := runningRun(t, s)
		svc := &artifacts.Service{Blobs: blobs, Records: s, MaxBytes: 8 << 20}
		big := strings.Repeat("annotation ", 700_000) // 7.7 MB: several parts on S3
		good := makeZip(t, map[string]string{"a.json": "{}", "big.txt": big}, "")
		commented := makeZip(t, map[string]string{"a.json": "{}"}, strings.Repeat("c", 65535))
		for _, ok := range [][]byte{good, commented, makeZip(t, nil, "")} {
			if _, err := svc.Put(ctx, run, "Result.ZIP", "", bytes.NewReader(ok)); err != nil {
				t.Fatalf("a valid zip of %d bytes refused: %v", len(ok), err)
			}
		}
		kept := contents()
		badDir := append([]byte{}, good[len(good)-22:]...)
		badDir[16] = 0xF0 // central directory offset far beyond the end
		for name, bad := range map[string][]byte{
			"cut short":     good[:len(good)-1],
			"cut in half":   good[:len(good)/2],
			"not a zip":     []byte(big),
			"empty":         nil,
			"bad directory": badDir,
		} {
			_, err := svc.Put(ctx, run, "export.zip", "", bytes.NewReader(bad))
			var e *labelhub.Error
			if !errors.As(err, &e) || e.Code != labelhub.ECodeInvalid || !strings.Contains(e.Message, `"export.zip" is not a valid zip`) {
				t.Errorf("%s: %v", name, err)
			}
			if c := contents(); len(c) != len(kept) || (len(c) > 0 && c[0] != kept[0]) {
				t.Fatalf("%s: the store holds %v, want %v", name, c, kept)
			}
		}
		if a, err := svc.Put(ctx, run, "export.bin", "", bytes.NewReader([]byte(big))); err != nil || a.Size != int64(len(big)) {
			t.Fatalf("a .bin file: %+v %v", a, err)
		}
	})
}
