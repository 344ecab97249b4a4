package artifacts_test

import (
	"context"
	"io"
	"testing"

	"github.com/labelhub/labelhub/artifacts"
)

// zeros is an endless reader that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// benchPut uploads 64 MiB per op; B/op shows the upload is streamed
// (a fraction of the size), MB/s the throughput.
func benchPut(b *testing.B, st artifacts.Store) {
	const size = 64 << 20
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Put(ctx, "BENCH/ONE", io.LimitReader(zeros{}, size), size); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Delete(ctx, "BENCH/ONE"); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPutLocal(b *testing.B) {
	st, err := artifacts.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	benchPut(b, st)
}

func BenchmarkPutMinIO(b *testing.B) {
	st, _ := newMinIO(b)
	benchPut(b, st)
}
