package floor

import "io"

// ExportLineForTest writes one export line whose asset is s.
func ExportLineForTest(w io.Writer, s string) (int64, error) {
	lw := newLineWriter(w)
	if err := lw.line([]byte("t1"), []byte(Stage), []byte("a1"), []byte("x"), []byte(s), nil); err != nil {
		return 0, err
	}
	err := lw.flush()
	return lw.n, err
}
