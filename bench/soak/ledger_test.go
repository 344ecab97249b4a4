package soak

import (
	"sync"

	"github.com/labelhub/labelhub"
)

// ledger is what the clients were acknowledged, and the writes whose
// outcome they could not know (the connection failed or the hub answered
// 5xx), to be checked against the database at the end.
type ledger struct {
	mu sync.Mutex

	imports        []ackImport
	unknownImports int // import requests without a final answer
	answers        map[string][]answerWrite
	runs           []ackRun
	unknownRuns    int // run creations without an answer
	exports        []exportCount
	runCounts      []runCount
}

// ackImport is an import that ended succeeded, as its client saw it.
type ackImport struct {
	id, project, kind string // kind: small, large, folder
	counts            labelhub.ImportCounts
	// externalIDs the import carried (small: listed; large: prefix and n;
	// folder: the bucket's asset keys).
	ids    []string
	prefix string
	n      int
}

// answerWrite is one PUT of an answer: acked with the version the hub
// gave it, or of unknown outcome.
type answerWrite struct {
	content string
	version int64
	acked   bool
}

// ackRun is a run the hub created (201) for a client.
type ackRun struct {
	id, plugin, kind string
	state            labelhub.RunState // as last seen by the client
}

// exportCount is one export read to its end: X-Total-Count and the lines.
type exportCount struct {
	project      string
	header       int64
	lines        int64
	headerParsed bool
}

// runCount is a first-party CSV export's reported rows, to compare with the
// tasks of its project.
type runCount struct {
	run, project string
	rows         int64
}

func newLedger() *ledger { return &ledger{answers: map[string][]answerWrite{}} }

func (l *ledger) addImport(a ackImport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.imports = append(l.imports, a)
}

func (l *ledger) importUnknown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unknownImports++
}

func (l *ledger) answer(task string, w answerWrite) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers[task] = append(l.answers[task], w)
}

func (l *ledger) addRun(r ackRun) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, r)
	return len(l.runs) - 1
}

func (l *ledger) runState(i int, s labelhub.RunState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[i].state = s
}

func (l *ledger) runUnknown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unknownRuns++
}

func (l *ledger) addExport(e exportCount) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exports = append(l.exports, e)
}

func (l *ledger) addRunCount(c runCount) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runCounts = append(l.runCounts, c)
}
