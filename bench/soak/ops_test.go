package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labelhub/labelhub"
)

// load runs the clients: each picks operations by weight until the load's
// end, records every request in st and what it was acknowledged in led.
type load struct {
	e   *soakEnv
	st  *stats
	led *ledger
	hc  *http.Client
	end time.Time // no new operation starts after it
	// drain bounds how long a started operation (a large import, a run)
	// is followed after end.
	drain time.Time

	seq        atomic.Int64
	largeBusy  atomic.Bool
	largeCount atomic.Int64
	countsMu   sync.Mutex
	countIssue []string // counts an answer gave that contradict the request
}

type op struct {
	name   string
	weight int
	run    func(ld *load, ctx context.Context, c *hubClient, r *rand.Rand, id int) bool
}

var ops = []op{
	{"small import", 12, (*load).smallImport},
	{"large import", 1, (*load).largeImport},
	{"folder import", 3, (*load).folderImport},
	{"task list", 22, (*load).listTasks},
	{"answer write", 30, (*load).writeAnswer},
	{"export", 4, (*load).export},
	{"export plugin run", 4, (*load).runExport},
	{"csv plugin run", 2, (*load).runCSV},
	{"file explorer listing", 5, (*load).explorerList},
	{"bucket listing", 9, (*load).objects},
	{"run list", 4, (*load).listRuns},
}

func pick(r *rand.Rand) op {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := r.IntN(total)
	for _, o := range ops {
		if n < o.weight {
			return o
		}
		n -= o.weight
	}
	panic("unreachable")
}

// client is one soak client's loop; after an operation that failed it
// waits a little, as a person or a script would before trying again.
func (ld *load) client(ctx context.Context, id int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, uint64(id)))
	c := &hubClient{hc: ld.hc, key: ld.e.key, urls: ld.e.urls, pref: id, st: ld.st}
	for time.Now().Before(ld.end) && ctx.Err() == nil {
		if !pick(r).run(ld, ctx, c, r, id) {
			time.Sleep(time.Duration(50+r.IntN(150)) * time.Millisecond)
		}
	}
}

func (ld *load) countProblem(format string, args ...any) {
	ld.countsMu.Lock()
	defer ld.countsMu.Unlock()
	ld.countIssue = append(ld.countIssue, fmt.Sprintf(format, args...))
}

func decodeImport(b []byte) (labelhub.Import, bool) {
	var im struct {
		ImportID string `json:"importId"`
		labelhub.Import
	}
	if json.Unmarshal(b, &im) != nil {
		return labelhub.Import{}, false
	}
	if im.ID == "" {
		im.ID = im.ImportID
	}
	return im.Import, im.ID != ""
}

func (ld *load) smallImport(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	n := ld.e.cfg.smallItems
	prefix := fmt.Sprintf("s%d-%d", id, ld.seq.Add(1))
	resp := c.call(ctx, request{route: "POST /projects/{id}/imports", method: "POST",
		path: "/api/v1/projects/" + ld.e.small + "/imports?wait=true", body: strings.NewReader(items(prefix, n))})
	if resp.unknown() {
		ld.led.importUnknown()
		return false
	}
	if !resp.ok() {
		return false
	}
	im, _ := decodeImport(resp.body)
	if im.State != labelhub.ImportSucceeded {
		ld.st.failed("POST /projects/{id}/imports", "import "+string(im.State), im.Error)
		return false
	}
	if im.Counts.Received != int64(n) || im.Counts.Imported != int64(n) {
		ld.countProblem("small import %s of %d items answered counts %+v", im.ID, n, im.Counts)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	ld.led.addImport(ackImport{id: im.ID, project: ld.e.small, kind: "small", counts: im.Counts, ids: ids})
	return true
}

// largeImport sends a large file (one at a time, at most cfg.largeImports
// in all), answered 202 at once, and follows it to its end; when another
// is going on it does a small import instead.
func (ld *load) largeImport(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	if ld.largeCount.Load() >= int64(ld.e.cfg.largeImports) || !ld.largeBusy.CompareAndSwap(false, true) {
		return ld.smallImport(ctx, c, r, id)
	}
	defer ld.largeBusy.Store(false)
	ld.largeCount.Add(1)
	n := ld.e.cfg.largeItems
	prefix := fmt.Sprintf("L%d", ld.seq.Add(1))
	resp := c.call(ctx, request{route: "POST /projects/{id}/imports (large)", method: "POST", timeout: 10 * time.Minute,
		path: "/api/v1/projects/" + ld.e.bulk + "/imports", body: &genReader{prefix: prefix, n: n}})
	if resp.unknown() {
		ld.led.importUnknown()
		return false
	}
	if !resp.ok() {
		return false
	}
	im, ok := decodeImport(resp.body)
	if !ok {
		return false
	}
	im, ok = ld.follow(ctx, c, im)
	if !ok {
		ld.led.importUnknown()
		return false
	}
	if im.State != labelhub.ImportSucceeded {
		ld.st.failed("POST /projects/{id}/imports (large)", "import "+string(im.State), im.Error)
		return false
	}
	if im.Counts.Received != int64(n) || im.Counts.Imported != int64(n) {
		ld.countProblem("large import %s of %d items ended with counts %+v", im.ID, n, im.Counts)
	}
	ld.led.addImport(ackImport{id: im.ID, project: ld.e.bulk, kind: "large", counts: im.Counts, prefix: prefix, n: n})
	return true
}

// follow polls an import until it is done (false when the drain time
// passed first).
func (ld *load) follow(ctx context.Context, c *hubClient, im labelhub.Import) (labelhub.Import, bool) {
	for {
		switch im.State {
		case labelhub.ImportSucceeded, labelhub.ImportFailed, labelhub.ImportCancelled, labelhub.ImportRolledBack:
			return im, true
		}
		if time.Now().After(ld.drain) || ctx.Err() != nil {
			return im, false
		}
		time.Sleep(500 * time.Millisecond)
		resp := c.call(ctx, request{route: "GET /imports/{id}", method: "GET", path: "/api/v1/imports/" + im.ID})
		if resp.ok() {
			if next, ok := decodeImport(resp.body); ok {
				im = next
			}
		}
	}
}

func (ld *load) folderImport(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	const route = "POST /projects/{id}/imports/folder"
	resp := c.call(ctx, request{route: route, method: "POST", path: "/api/v1/projects/" + ld.e.small + "/imports/folder?wait=true",
		body: jsonBody(labelhub.FolderImportRequest{StorageID: ld.e.storageID, Folder: "soak/", Recursive: true})})
	if resp.unknown() {
		ld.led.importUnknown()
		return false
	}
	if !resp.ok() {
		return false
	}
	im, _ := decodeImport(resp.body)
	if im.State != labelhub.ImportSucceeded {
		ld.st.failed(route, "import "+string(im.State), im.Error)
		return false
	}
	keys := int64(len(ld.e.folderKeys))
	if im.Counts.Listed != keys+1 || im.Counts.SkippedNotAsset != 1 || im.Counts.Imported+im.Counts.Skipped != keys {
		ld.countProblem("folder import %s of %d asset keys and 1 other answered counts %+v", im.ID, keys, im.Counts)
	}
	ld.led.addImport(ackImport{id: im.ID, project: ld.e.small, kind: "folder", counts: im.Counts, ids: ld.e.folderKeys})
	return true
}

func (ld *load) listTasks(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	p := ld.e.answers
	if r.IntN(2) == 0 {
		p = ld.e.small
	}
	resp := c.call(ctx, request{route: "GET /projects/{id}/tasks", method: "GET", path: "/api/v1/projects/" + p + "/tasks?limit=100"})
	if !resp.ok() {
		return false
	}
	var page labelhub.Page[json.RawMessage]
	if json.Unmarshal(resp.body, &page) == nil && page.NextCursor != "" && r.IntN(2) == 0 {
		resp = c.call(ctx, request{route: "GET /projects/{id}/tasks", method: "GET",
			path: "/api/v1/projects/" + p + "/tasks?limit=100&cursor=" + page.NextCursor})
	}
	return resp.ok()
}

// writeAnswer reads a task (its ETag), writes an answer with If-Match and,
// on 409 (someone wrote it meanwhile), reads it again and retries.
func (ld *load) writeAnswer(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	task := ld.e.answerTasks[r.IntN(len(ld.e.answerTasks))]
	for range 5 {
		got := c.call(ctx, request{route: "GET /tasks/{id}", method: "GET", path: "/api/v1/tasks/" + task})
		if !got.ok() {
			return false
		}
		etag := got.header.Get("ETag")
		read, _ := strconv.ParseInt(strings.Trim(etag, `W/"`), 10, 64)
		content := fmt.Sprintf("c%d-%d", id, ld.seq.Add(1))
		body := map[string]any{"classifications": []any{map[string]any{"schemaId": "note", "answer": content}}}
		put := c.call(ctx, request{route: "PUT /tasks/{id}/answer", method: "PUT", path: "/api/v1/tasks/" + task + "/answer",
			header: http.Header{"If-Match": {etag}, "Content-Type": {"application/json"}}, body: jsonBody(body)})
		switch {
		case put.ok():
			var tk labelhub.Task
			if err := json.Unmarshal(put.body, &tk); err != nil {
				ld.led.answer(task, answerWrite{content: content})
				return false
			}
			if tk.Version != read+1 {
				ld.countProblem("answer of task %s written over version %d was acknowledged as version %d", task, read, tk.Version)
			}
			ld.led.answer(task, answerWrite{content: content, version: tk.Version, acked: true})
			return true
		case put.status == http.StatusConflict:
			continue
		case put.unknown():
			ld.led.answer(task, answerWrite{content: content})
			return false
		default:
			return false
		}
	}
	return false
}

// export reads a project's NDJSON export and compares its lines with
// X-Total-Count.
func (ld *load) export(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	p := ld.e.answers
	if r.IntN(2) == 0 {
		p = ld.e.small
	}
	var lines int64
	resp := c.call(ctx, request{route: "GET /projects/{id}/export", method: "GET", path: "/api/v1/projects/" + p + "/export?format=ndjson",
		timeout: 5 * time.Minute, stream: func(resp *http.Response) error {
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			for {
				line, err := br.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					for err == bufio.ErrBufferFull {
						_, err = br.ReadSlice('\n')
					}
				}
				if err == io.EOF {
					if len(line) > 0 {
						return fmt.Errorf("the export ends without a newline")
					}
					return nil
				}
				if err != nil {
					return err
				}
				lines++
			}
		}})
	if !resp.ok() {
		return false
	}
	total, err := strconv.ParseInt(resp.header.Get("X-Total-Count"), 10, 64)
	ld.led.addExport(exportCount{project: p, header: total, lines: lines, headerParsed: err == nil})
	return true
}

func (ld *load) runExport(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	_, ok := ld.runPlugin(ctx, c, ld.e.exportPlugin, "export", map[string]any{"projectId": ld.e.answers}, false)
	return ok
}

// runCSV runs the first-party CSV export of the answers' project; its rows
// must be that project's tasks (the project does not grow).
func (ld *load) runCSV(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	run, ok := ld.runPlugin(ctx, c, ld.e.csvPlugin, "csv", map[string]any{"projectId": ld.e.answers}, false)
	if ok && run.State == labelhub.RunSucceeded {
		var res struct {
			Info struct {
				Rows *int64 `json:"rows"`
			} `json:"info"`
		}
		if json.Unmarshal(run.Result, &res) != nil || res.Info.Rows == nil {
			ld.countProblem("csv run %s succeeded without info.rows: %s", run.ID, run.Result)
		} else {
			ld.led.addRunCount(runCount{run: run.ID, project: ld.e.answers, rows: *res.Info.Rows})
		}
	}
	return ok
}

// explorerList lists the bucket's soak/ folder through the File Explorer
// plugin process (a run with wait=true).
func (ld *load) explorerList(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	run, ok := ld.runPlugin(ctx, c, ld.e.explorerPlugin, "file explorer", map[string]any{"projectId": ld.e.small,
		"params": map[string]any{"integrationId": ld.e.storageID, "folder": ""}}, true)
	if ok && run.State == labelhub.RunSucceeded {
		var l struct {
			Folders     []string `json:"folders"`
			Files       []string `json:"files"`
			ScrollToken *string  `json:"scrollToken"`
		}
		err := json.Unmarshal(run.Result, &l)
		listed := len(l.Files) + len(l.Folders)
		bad := err != nil || listed == 0 || listed > 100 || listed < 100 && l.ScrollToken != nil
		for _, f := range l.Files {
			bad = bad || !ld.e.topLevel[f]
		}
		if bad {
			ld.countProblem("file explorer run %s listed %d entries (scrollToken %v) not all of the bucket's: %.200s", run.ID, listed, l.ScrollToken != nil, run.Result)
		}
	}
	return ok
}

// runPlugin creates a run and follows it to its end.
func (ld *load) runPlugin(ctx context.Context, c *hubClient, plugin, kind string, in map[string]any, wait bool) (labelhub.Run, bool) {
	route := "POST /plugins/{id}/runs (" + kind + ")"
	path := "/api/v1/plugins/" + plugin + "/runs"
	if wait {
		path += "?wait=true"
	}
	resp := c.call(ctx, request{route: route, method: "POST", path: path, body: jsonBody(in), timeout: 2 * time.Minute})
	if resp.unknown() {
		ld.led.runUnknown()
		return labelhub.Run{}, false
	}
	if !resp.ok() {
		return labelhub.Run{}, false
	}
	var run labelhub.Run
	if json.Unmarshal(resp.body, &run) != nil || run.ID == "" {
		ld.led.runUnknown()
		return labelhub.Run{}, false
	}
	i := ld.led.addRun(ackRun{id: run.ID, plugin: plugin, kind: kind, state: run.State})
	for !run.State.Final() {
		if time.Now().After(ld.drain) || ctx.Err() != nil {
			return run, false
		}
		time.Sleep(300 * time.Millisecond)
		got := c.call(ctx, request{route: "GET /runs/{id}", method: "GET", path: "/api/v1/runs/" + run.ID})
		if got.ok() {
			_ = json.Unmarshal(got.body, &run)
		}
	}
	ld.led.runState(i, run.State)
	if run.State != labelhub.RunSucceeded {
		ld.st.failed(route, "run "+string(run.State), run.Error)
	}
	return run, run.State == labelhub.RunSucceeded
}

func (ld *load) objects(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	resp := c.call(ctx, request{route: "GET /storages/{id}/objects", method: "GET",
		path: "/api/v1/storages/" + ld.e.storageID + "/objects?prefix=soak/&limit=100"})
	return resp.ok()
}

func (ld *load) listRuns(ctx context.Context, c *hubClient, r *rand.Rand, id int) bool {
	resp := c.call(ctx, request{route: "GET /projects/{id}/runs", method: "GET", path: "/api/v1/projects/" + ld.e.answers + "/runs?limit=50"})
	return resp.ok()
}

// genReader is an NDJSON import file of n generated images, made as it is
// read.
type genReader struct {
	prefix  string
	n, i    int
	line    []byte
	pending []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	for len(g.pending) == 0 {
		if g.i >= g.n {
			return 0, io.EOF
		}
		g.line = fmt.Appendf(g.line[:0], `{"externalId":"%s-%d","data":"https://example.com/%s/%d.jpg","metadata":{"width":64,"height":48}}`+"\n",
			g.prefix, g.i, g.prefix, g.i)
		g.pending = g.line
		g.i++
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}
