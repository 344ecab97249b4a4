package floor

import "io"

// ExportLineForTest writes one export line whose asset is s and whose
// task has the stored answer answer.
func ExportLineForTest(w io.Writer, s, answer string) (int64, error) {
	lw := newLineWriter(w)
	p := &pageRows{}
	t := exportTask{taskID: p.keep([]byte("t1")), stage: p.keep([]byte(Stage)), assetID: p.keep([]byte("a1")),
		externalID: p.keep([]byte("x")), data: p.keep([]byte(s)), answer: p.keep([]byte(answer))}
	p.tasks = append(p.tasks, t)
	if err := lw.page(p); err != nil {
		return 0, err
	}
	err := lw.flush()
	return lw.n, err
}
