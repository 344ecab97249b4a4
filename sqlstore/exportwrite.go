package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/labelhub/labelhub"
)

// span is a part of a page's arena.
type span struct{ off, end int }

// exportRow is one task of a page as read: its asset (Task without the
// answer and history), the stored answer and its history entries
// (page.hist[h0:h1]).
type exportRow struct {
	e       labelhub.ExportedAsset
	updated int64
	answer  span
	// canonical: the answer may be written by appendCanonical.
	canonical bool
	// The asset's metadata and contextData as stored, when its document
	// was read by docParts (else they are in e).
	meta, contextData span
	h0, h1            int
}

// exportHist is a history entry as read.
type exportHist struct {
	stage, stageID, completedBy string
	duration, completed         int64
	answer                      span
	canonical                   bool // as exportRow's
}

// exportPagesInFlight is the number of pages an export holds: one read,
// one completed, one written.
const exportPagesInFlight = 3

// exportFirstPage is the size of an export's first page, smaller than
// the others so that the first bytes leave at once.
const exportFirstPage = 100

// exportPageBytes bounds the stored answers of a page: a page of large
// answers ends early (cut), after the row that passes it. Tests lower it.
var exportPageBytes = 32 << 20

// exportPage is a page of an export as read. Its slices are reused from
// page to page.
type exportPage struct {
	rows     []exportRow
	hist     []exportHist
	arena    []byte // the stored answers
	ids      []any
	taskIDs  []any // on PostgreSQL in a snapshot, the history's (readHistoryPG)
	histArgs []any // and that query's arguments, taskIDs after its range and count
	nameArgs []any // the batch names' arguments (readBatchNamesPG)
	args     []any // the page's query: the filter's arguments, then the id before the page
	byAsset  map[string]int
	byTask   map[string]int
	cut      bool // ended early at exportPageBytes
	err      error
}

func (p *exportPage) text(s span) []byte { return p.arena[s.off:s.end] }

// keep copies b into the arena, which grows by doubling (append would
// grow a large slice by a quarter and copy it more often).
func (p *exportPage) keep(b []byte) span {
	if len(p.arena)+len(b) > cap(p.arena) {
		grown := make([]byte, len(p.arena), max(2*cap(p.arena), len(p.arena)+len(b), 1<<20))
		copy(grown, p.arena)
		p.arena = grown
	}
	s := span{len(p.arena), len(p.arena) + len(b)}
	p.arena = append(p.arena, b...)
	return s
}

// WriteExport writes the export of a project's tasks that match f, in the
// order and with the content of Export, as JSON (docs/export.md): every
// object is followed by a newline and, when o.Format is labelhub.ExportJSON,
// preceded by a comma from the second object on (the caller writes the
// brackets). The bytes of each page are passed to fn, which must not keep
// them. sign, when not nil, is called once for every asset before it is
// written, to turn its stored URLs into those the export carries.
//
// The stored answers are not decoded: answerWriter rewrites their text
// (exportjson.go), so the output is what encoding/json writes for the
// values of Export with SetEscapeHTML(false), at a fraction of the cost.
// Reading and writing overlap (exportPagesInFlight pages take turns), so
// memory is that of three pages whatever the project's size. Pages have
// labelhub.ExportPageSize tasks (the first one exportFirstPage), fewer
// when their answers pass exportPageBytes.
func (s *Store) WriteExport(ctx context.Context, orgID, projectID string, f labelhub.ExportFilter, o labelhub.ExportOptions,
	sign func(e *labelhub.ExportedAsset) error, fn func(b []byte) error) error {
	return s.WriteExportCounted(ctx, orgID, projectID, f, o, nil, sign, fn)
}

// WriteExportCounted is WriteExport that first counts the tasks it will
// write and calls start with the count before the first page (not at all
// when it fails before). When start is nil nothing is counted.
//
// The count and the tasks are read in one read-only transaction (on
// PostgreSQL REPEATABLE READ), so the count is exactly the objects written
// even while imports add tasks to the project or rollbacks remove some: a
// count read apart from the pages would be off by what was committed in
// between. The batch names are read with the tasks; the history of each
// page is read outside it (it may be a moment newer than the page's
// tasks). Each counted export
// holds a connection for its whole length (on PostgreSQL three: the
// pages, their history and their batch names are read with pgx on
// connections of their own), so at most four run at once (exportSlots:
// on PostgreSQL 12 of the pool's 16 connections); more wait.
func (s *Store) WriteExportCounted(ctx context.Context, orgID, projectID string, f labelhub.ExportFilter, o labelhub.ExportOptions,
	start func(total int64) error, sign func(e *labelhub.ExportedAsset) error, fn func(b []byte) error) error {
	w, err := s.workflowOf(ctx, s.db, orgID, projectID, "")
	if err != nil {
		return err
	}
	q, args := s.writeExportQuery(orgID, projectID, f)
	pgSnapshot := start != nil && s.postgres
	st, err := s.prepareExport(ctx, q, orgID, projectID, f, o.IncludeHistory, !pgSnapshot)
	if err != nil {
		return err
	}
	defer st.close()
	if start == nil {
		return s.writePages(ctx, st, orgID, w, args, o, fn, sign)
	}
	select {
	case s.exportSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.exportSlots }()
	where, wargs := exportWhere(orgID, projectID, f)
	count := `SELECT COUNT(*) FROM tasks t ` + where
	var total int64
	if pgSnapshot {
		// The snapshot and the pages with pgx itself on one connection
		// of the pool (readTasksPG), the history of the pages on
		// another and their batch names on a third (readExtrasPG).
		return s.withPgx(ctx, func(conn *pgx.Conn) error {
			return s.withPgx(ctx, func(extras *pgx.Conn) error {
				return s.withPgx(ctx, func(names *pgx.Conn) error {
					snap, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
					if err != nil {
						return err
					}
					defer snap.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after the readers stopped; a broken connection is dropped
					if err := snap.QueryRow(ctx, count, wargs...).Scan(&total); err != nil {
						return err
					}
					// No parallel plans for the pages (until the snapshot
					// ends): a page is a thousand rows by key, yet once
					// the statistics lag behind a growing table the
					// planner sees few tasks after the page's key and
					// plans some pages with two workers, each page then
					// paying their start (17 ms a page instead of 6 at a
					// million tasks; docs/performance.md).
					if _, err := snap.Exec(ctx, "SET LOCAL max_parallel_workers_per_gather = 0"); err != nil {
						return err
					}
					if err := start(total); err != nil {
						return err
					}
					st.conn, st.extras, st.names = conn, extras, names
					return s.writePages(ctx, st, orgID, w, args, o, fn, sign)
				})
			})
		})
	}
	snap, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer snap.Rollback() // after the readers stopped
	if err := snap.QueryRowContext(ctx, count, wargs...).Scan(&total); err != nil {
		return err
	}
	pooled := st.page
	st.page = snap.StmtContext(ctx, pooled)
	defer pooled.Close()
	if err := start(total); err != nil {
		return err
	}
	return s.writePages(ctx, st, orgID, w, args, o, fn, sign)
}

// withPgx calls fn with the pgx connection of a connection of the pool,
// which it holds until fn returns.
func (s *Store) withPgx(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: a PostgreSQL connection of type %T", dc)
		}
		return fn(sc.Conn())
	})
}

// writePages reads the pages of an export with st and writes them (the
// rest of WriteExportCounted); args are the page query's filter
// arguments.
func (s *Store) writePages(ctx context.Context, st *exportStmts, orgID string, w labelhub.Workflow, args []any, o labelhub.ExportOptions,
	fn func(b []byte) error, sign func(e *labelhub.ExportedAsset) error) error {
	n := len(args)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Three goroutines: one reads the tasks of page n+2, one the history
	// of page n+1, while this one writes page n.
	tasks := make(chan *exportPage, 1)
	pages := make(chan *exportPage, 1)
	free := make(chan *exportPage, exportPagesInFlight)
	for range exportPagesInFlight {
		free <- &exportPage{byAsset: map[string]int{}, byTask: map[string]int{}}
	}
	doneTasks, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(doneTasks)
		defer close(tasks)
		after, limit := "", exportFirstPage
		for {
			var p *exportPage
			select {
			case p = <-free:
			case <-ctx.Done():
				return
			}
			p.args = append(append(p.args[:0], args[:n]...), after)
			p.err = st.readTasks(ctx, append(args[:n:n], after, limit), p, w)
			more := p.err == nil && (len(p.rows) == limit || p.cut)
			if more {
				after = p.rows[len(p.rows)-1].e.Task.TaskID
			}
			select {
			case tasks <- p:
			case <-ctx.Done():
				return
			}
			if !more {
				return
			}
			limit = labelhub.ExportPageSize
		}
	}()
	go func() {
		defer close(done)
		defer close(pages)
		for p := range tasks {
			if p.err == nil {
				p.err = st.readExtras(ctx, p)
			}
			select {
			case pages <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-doneTasks // before the statements are closed
		<-done
	}()
	x := &exportWriter{aw: newAnswerWriter(o.IncludeMetadata), history: o.IncludeHistory, array: o.Format == labelhub.ExportJSON}
	run := &exportRun{s: s, orgID: orgID, emails: x.aw.emails}
	first := true
	var out []byte
	for p := range pages {
		if p.err != nil {
			return p.err
		}
		if len(p.rows) == 0 {
			break
		}
		if sign != nil {
			for i := range p.rows {
				if err := sign(&p.rows[i].e); err != nil {
					return err
				}
			}
		}
		// Users not seen before are looked up once the page is written,
		// and the page written again with their emails.
		for {
			// Room for the page at once (the objects are about twice
			// the stored answers with item metadata, less without).
			out = slices.Grow(out[:0], 2*len(p.arena)+1<<16)
			var err error
			if out, err = x.page(out, p, first); err != nil {
				return err
			}
			if len(x.aw.missing) == 0 {
				break
			}
			if err := run.lookUp(ctx, x.aw.missing); err != nil {
				return err
			}
		}
		first = false
		if err := fn(out); err != nil {
			return err
		}
		if cap(out) > 16<<20 {
			out = nil // a page of huge answers: do not keep its buffer
		}
		free <- p
	}
	return ctx.Err()
}

// writeExportQuery is exportQuery with whether each answer is canonical
// (CanonicalAnswer). The batch names of the page's assets are read apart
// (readExtras): on PostgreSQL a correlated subquery of them cost the
// server about 30 µs a task (an aggregate and its sort set up for every
// row); on SQLite it was a sixth of the export's CPU, where reading them
// by the range of the page's asset ids is one pass over asset_batches'
// key.
func (s *Store) writeExportQuery(orgID, projectID string, f labelhub.ExportFilter) (string, []any) {
	where, args := exportWhere(orgID, projectID, f)
	n := len(args)
	return `SELECT t.id, t.asset_id, t.stage_id, t.answer, t.updated_at, t.updated_by, t.total_duration_ms,
		a.external_id, a.data, a.doc, a.storage_id, t.answer_canonical
		FROM tasks t JOIN assets a ON a.id = t.asset_id ` + where + ` AND t.id > $` + strconv.Itoa(n+1) +
		` ORDER BY t.id LIMIT $` + strconv.Itoa(n+2), args
}

// exportStmts are the statements of an export, prepared once: the page
// of tasks, the batch names of a page's assets, and the history of a
// page's tasks.
//
// On SQLite the history and the batch names of a page, when not read by
// a key range of their own (readHistory, readBatchNames), are read by the
// page's own filter and id range (after the previous page's last id, up
// to its last): the ids of the page's tasks from an index of the tasks,
// each one's entries by the history's key, in its order (no sort), where
// IN lists of the page's ids cost the binding of a thousand values and a
// temporary index of them at every query. PostgreSQL is given IN lists of
// the page's ids (always labelhub.ExportPageSize of them: the last page
// repeats its last id), in a snapshot with a key range beside them
// (pgHistoryQuery, pgBatchesQuery): planned generically, a range join is
// a hash join over the whole table at every page.
type exportStmts struct {
	page, batches, history *sql.Stmt
	byRange                bool
	// On SQLite, a page's history by the key range of its own tasks
	// (historyByKey) when tasksInRange, the tasks of every project with
	// ids in that range, counts only the page's: see readHistory.
	historyByKey, tasksInRange *sql.Stmt
	// On SQLite, the batch names of a page's assets by the key range
	// from the least of their ids to the greatest (namesByKey) when
	// assetsInRange counts only the page's assets there, else through
	// the page's filter (batches): see readBatchNames.
	namesByKey, assetsInRange *sql.Stmt
	doc                       answerWriter // reads the assets' documents (docParts)
	// On PostgreSQL in a snapshot the pages are read with pgx on conn
	// (pageQuery) instead of page, their history on extras
	// (historyQuery) and their batch names on names (batchesQuery).
	conn, extras, names                   *pgx.Conn
	pageQuery, batchesQuery, historyQuery string
}

// pooled says whether to prepare the statements on the pool; when the
// pages are read with pgx only their queries are kept.
func (s *Store) prepareExport(ctx context.Context, q, orgID, projectID string, f labelhub.ExportFilter, history, pooled bool) (*exportStmts, error) {
	st := &exportStmts{byRange: !s.postgres, pageQuery: q}
	var err error
	if pooled {
		if st.page, err = s.db.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	if s.postgres {
		st.batchesQuery = `SELECT ab.asset_id, b.name FROM asset_batches ab JOIN batches b ON b.id = ab.batch_id
			WHERE ab.asset_id IN (` + placeholders(1, labelhub.ExportPageSize) + `) ORDER BY b.name`
	}
	if s.postgres && pooled {
		if st.batches, err = s.db.PrepareContext(ctx, st.batchesQuery); err != nil {
			st.close()
			return nil, err
		}
	}
	if s.postgres && !pooled {
		st.batchesQuery = pgBatchesQuery
	}
	if !s.postgres {
		// As the history (readHistory): by the key range of the page's
		// assets when it holds only theirs, else through the page's
		// filter.
		where, args := exportWhere(orgID, projectID, f)
		n := len(args)
		for _, x := range []struct {
			st *(*sql.Stmt)
			q  string
		}{
			{&st.batches, `SELECT ab.asset_id, b.name FROM tasks t JOIN asset_batches ab ON ab.asset_id = t.asset_id JOIN batches b ON b.id = ab.batch_id ` +
				where + ` AND t.id > $` + strconv.Itoa(n+1) + ` AND t.id <= $` + strconv.Itoa(n+2)},
			{&st.namesByKey, `SELECT ab.asset_id, b.name FROM asset_batches ab JOIN batches b ON b.id = ab.batch_id WHERE ab.asset_id >= $1 AND ab.asset_id <= $2`},
			{&st.assetsInRange, `SELECT COUNT(*) FROM assets WHERE id >= $1 AND id <= $2`},
		} {
			if *x.st, err = s.db.PrepareContext(ctx, x.q); err != nil {
				st.close()
				return nil, err
			}
		}
	}
	if !history {
		return st, nil
	}
	hist := `SELECT task_id, stage_id, stage_name, duration_ms, completed_at, completed_by, answer, answer_canonical
		FROM task_history WHERE task_id IN (` + placeholders(1, labelhub.ExportPageSize) + `) ORDER BY task_id, seq`
	if st.byRange {
		where, args := exportWhere(orgID, projectID, f)
		n := len(args)
		hist = `SELECT h.task_id, h.stage_id, h.stage_name, h.duration_ms, h.completed_at, h.completed_by, h.answer, h.answer_canonical
			FROM task_history h WHERE h.task_id IN (SELECT t.id FROM tasks t ` + where +
			` AND t.id > $` + strconv.Itoa(n+1) + ` AND t.id <= $` + strconv.Itoa(n+2) + `) ORDER BY h.task_id, h.seq`
	}
	st.historyQuery = hist
	if !pooled {
		if s.postgres {
			st.historyQuery = pgHistoryQuery
		}
		return st, nil
	}
	if st.history, err = s.db.PrepareContext(ctx, hist); err != nil {
		st.close()
		return nil, err
	}
	if st.byRange {
		if st.historyByKey, err = s.db.PrepareContext(ctx, `SELECT task_id, stage_id, stage_name, duration_ms, completed_at, completed_by, answer, answer_canonical
			FROM task_history WHERE task_id > $1 AND task_id <= $2 ORDER BY task_id, seq`); err != nil {
			st.close()
			return nil, err
		}
		if st.tasksInRange, err = s.db.PrepareContext(ctx, `SELECT COUNT(*) FROM tasks WHERE id > $1 AND id <= $2`); err != nil {
			st.close()
			return nil, err
		}
	}
	return st, nil
}

// extrasArgs are the arguments of the batches or history statement for
// page p, with its rows' ids from id, kept in *ids (p.ids, or on
// PostgreSQL in a snapshot p.taskIDs for the history, read meanwhile).
func (st *exportStmts) extrasArgs(ids *[]any, p *exportPage, id func(r *exportRow) string) []any {
	if st.byRange {
		// What the page's query read: after p.args' last value up to
		// its last task. Tasks committed into the range since (outside
		// the export's snapshot) are not in the page's map and are
		// skipped.
		*ids = append(append((*ids)[:0], p.args...), p.rows[len(p.rows)-1].e.Task.TaskID)
		return *ids
	}
	list := (*ids)[:0]
	for i := range p.rows {
		list = append(list, id(&p.rows[i]))
	}
	for len(list) < labelhub.ExportPageSize {
		list = append(list, list[len(list)-1])
	}
	*ids = list
	return list
}

func (st *exportStmts) close() {
	for _, x := range []*sql.Stmt{st.page, st.batches, st.history, st.historyByKey, st.tasksInRange, st.namesByKey, st.assetsInRange} {
		if x != nil {
			_ = x.Close()
		}
	}
}

// readTasks reads the tasks of a page with their assets.
func (st *exportStmts) readTasks(ctx context.Context, args []any, p *exportPage, w labelhub.Workflow) error {
	p.rows, p.hist, p.arena, p.ids, p.cut = p.rows[:0], p.hist[:0], p.arena[:0], p.ids[:0], false
	clear(p.byAsset)
	clear(p.byTask)
	if st.conn != nil {
		return st.readTasksPG(ctx, args, p, w)
	}
	rows, err := st.page.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var answer, doc sql.RawBytes
	dest := make([]any, 0, 12)
	for rows.Next() {
		r := p.newRow()
		e := &r.e
		dest = append(dest[:0], &e.Task.TaskID, &e.AssetID, &e.Task.StageID, &answer, &r.updated, &e.Task.UpdatedBy, &e.Task.TotalDuration,
			&e.ExternalID, &e.Asset, &doc, &e.StorageID, &r.canonical)
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := st.addRow(p, r, w, answer, doc); err != nil {
			return err
		}
		if p.cut {
			break
		}
	}
	return rows.Err()
}

// readTasksPG is readTasks with pgx on st.conn: the columns' bytes as the
// server sent them, without the Go string database/sql makes of every
// text column (which RawBytes then copies again).
func (st *exportStmts) readTasksPG(ctx context.Context, args []any, p *exportPage, w labelhub.Workflow) error {
	rows, err := st.conn.Query(ctx, st.pageQuery, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, f := rows.RawValues(), rows.FieldDescriptions()
		if len(v) != 12 {
			return fmt.Errorf("export page: %d columns", len(v))
		}
		r := p.newRow()
		e := &r.e
		e.Task.TaskID, e.AssetID, e.Task.StageID, e.Task.UpdatedBy = string(v[0]), string(v[1]), string(v[2]), string(v[5])
		e.ExternalID, e.Asset, e.StorageID = string(v[7]), string(v[8]), string(v[10])
		var err error
		if r.updated, err = pgInt(v[4], f[4]); err != nil {
			return err
		}
		if e.Task.TotalDuration, err = pgInt(v[6], f[6]); err != nil {
			return err
		}
		if r.canonical, err = pgBool(v[11], f[11]); err != nil {
			return err
		}
		if err := st.addRow(p, r, w, v[3], v[9]); err != nil {
			return err
		}
		if p.cut {
			break
		}
	}
	return rows.Err()
}

// pgInt is a BIGINT column's value as pgx received it.
func pgInt(v []byte, f pgconn.FieldDescription) (int64, error) {
	if f.Format == pgx.BinaryFormatCode {
		if len(v) != 8 {
			return 0, fmt.Errorf("column %s: %d bytes for a BIGINT", f.Name, len(v))
		}
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// pgBool is a BOOLEAN column's value as pgx received it.
func pgBool(v []byte, f pgconn.FieldDescription) (bool, error) {
	switch {
	case f.Format == pgx.BinaryFormatCode && len(v) == 1:
		return v[0] != 0, nil
	case f.Format != pgx.BinaryFormatCode && len(v) == 1 && (v[0] == 't' || v[0] == 'f'):
		return v[0] == 't', nil
	}
	return false, fmt.Errorf("column %s: %q is not a BOOLEAN", f.Name, v)
}

// newRow adds a row to the page, reusing the slices of the row it had
// there before.
func (p *exportPage) newRow() *exportRow {
	if len(p.rows) < cap(p.rows) {
		p.rows = p.rows[:len(p.rows)+1]
	} else {
		p.rows = append(p.rows, exportRow{})
	}
	r := &p.rows[len(p.rows)-1]
	*r = exportRow{e: labelhub.ExportedAsset{Batches: r.e.Batches[:0]}}
	return r
}

// addRow keeps the answer and the asset's document of the row read into
// r, and cuts the page once its answers pass exportPageBytes.
func (st *exportStmts) addRow(p *exportPage, r *exportRow, w labelhub.Workflow, answer, doc []byte) error {
	e := &r.e
	r.answer = p.keep(answer)
	e.Task.Stage = e.Task.StageID
	if i := w.Index(e.Task.StageID); i >= 0 {
		e.Task.Stage = w.Stages[i].Name
	}
	if meta, contextData, ok := st.docParts(doc); ok {
		r.meta, r.contextData = p.keep(meta), p.keep(contextData)
	} else if len(doc) > 0 && string(doc) != "{}" {
		var d assetDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			return fmt.Errorf("asset %s: stored document: %w", e.AssetID, err)
		}
		e.Dataset, e.Metadata, e.ContextData = d.Dataset, d.Metadata, d.ContextData
	}
	p.cut = len(p.arena) >= exportPageBytes
	return nil
}

// docParts returns the metadata and contextData of an asset's stored
// document (empty when left out) without decoding it, when it is a JSON
// object of the keys that decoding into assetDoc reads, each once and
// spelled so, without a dataset (a list to decode) or a null; otherwise
// ok is false and the caller decodes it.
func (st *exportStmts) docParts(doc []byte) (meta, contextData []byte, ok bool) {
	w := &st.doc
	defer func() {
		if r := recover(); r != nil {
			if r != errSlowPath { //nolint:errorlint // a sentinel value
				panic(r)
			}
			meta, contextData, ok = nil, nil, false
		}
		w.src, w.out = nil, w.out[:0]
	}()
	w.src, w.i, w.cp, w.out = doc, 0, 0, w.out[:0]
	w.expect('{')
	var seen [4]bool
	if w.peek() != '}' {
		for {
			key := w.key()
			w.expect(':')
			k := -1
			switch string(key) {
			case "metadata":
				k = 0
			case "contextData":
				k = 1
			case "attachments":
				k = 2
			case "editorType":
				k = 3
			}
			if k < 0 || seen[k] || w.peek() == 'n' {
				panic(errSlowPath)
			}
			seen[k] = true
			start := w.i
			switch k {
			case 3:
				w.str()
			default:
				w.raw()
			}
			switch k {
			case 0:
				meta = doc[start:w.i]
			case 1:
				contextData = doc[start:w.i]
			}
			if w.peek() == ',' {
				w.i++
				continue
			}
			break
		}
	}
	w.expect('}')
	w.ws()
	if w.i != len(doc) {
		panic(errSlowPath)
	}
	return meta, contextData, true
}

// readExtras reads the batch names and (with history) the history
// entries of the tasks of a page.
func (st *exportStmts) readExtras(ctx context.Context, p *exportPage) error {
	if len(p.rows) == 0 {
		return nil
	}
	if st.extras != nil {
		return st.readExtrasPG(ctx, p)
	}
	var id sql.RawBytes
	if st.batches != nil {
		for i := range p.rows {
			p.byAsset[p.rows[i].e.AssetID] = i
		}
		brows, err := st.readBatchNames(ctx, p)
		if err != nil {
			return err
		}
		defer brows.Close()
		for brows.Next() {
			var name string
			if err := brows.Scan(&id, &name); err != nil {
				return err
			}
			if i, ok := p.byAsset[string(id)]; ok {
				p.rows[i].e.Batches = append(p.rows[i].e.Batches, name)
			}
		}
		if err := brows.Err(); err != nil {
			return err
		}
		brows.Close()
		if st.byRange {
			for i := range p.rows { // in name order, as on PostgreSQL
				if b := p.rows[i].e.Batches; len(b) > 1 {
					slices.Sort(b)
				}
			}
		}
	}
	if st.history == nil {
		return nil
	}
	for i := range p.rows {
		p.byTask[p.rows[i].e.Task.TaskID] = i
	}
	hrows, err := st.readHistory(ctx, p)
	if err != nil {
		return err
	}
	defer hrows.Close()
	var answer sql.RawBytes
	cur := -1
	for hrows.Next() {
		var h exportHist
		if err := hrows.Scan(&id, &h.stageID, &h.stage, &h.duration, &h.completed, &h.completedBy, &answer, &h.canonical); err != nil {
			return err
		}
		i, ok := p.byTask[string(id)]
		if !ok {
			continue
		}
		h.answer = p.keep(answer)
		if i != cur { // the entries of a task come together (ORDER BY task_id)
			cur = i
			p.rows[i].h0 = len(p.hist)
		}
		p.hist = append(p.hist, h)
		p.rows[i].h1 = len(p.hist)
	}
	return hrows.Err()
}

// readBatchNames queries the batch names of page p's assets (on the
// pool): on PostgreSQL by the list of their ids; on SQLite, when no other
// asset has an id between the least of theirs and the greatest (in
// SQLite's byte order, Go's), as for the assets of an import into one
// project, by that range of asset_batches' key (one pass, where a lookup
// for each asset cost a sixth of the export), else through the page's
// filter. Names of assets not in p are skipped by the caller.
func (st *exportStmts) readBatchNames(ctx context.Context, p *exportPage) (*sql.Rows, error) {
	args := st.extrasArgs(&p.ids, p, func(r *exportRow) string { return r.e.AssetID })
	if st.namesByKey != nil {
		lo, hi := p.rows[0].e.AssetID, p.rows[0].e.AssetID
		for i := range p.rows {
			lo, hi = min(lo, p.rows[i].e.AssetID), max(hi, p.rows[i].e.AssetID)
		}
		return byKeyOrFilter(ctx, st.assetsInRange, st.namesByKey, st.batches, len(p.rows), lo, hi, args)
	}
	return st.batches.QueryContext(ctx, args...)
}

// byKeyOrFilter runs byKey on the key range (lo, hi) when count, on the
// same range, gives n (the page's own rows: no other project's are in
// it), else filter with args: the choice of readHistory and
// readBatchNames on SQLite.
func byKeyOrFilter(ctx context.Context, count, byKey, filter *sql.Stmt, n int, lo, hi any, args []any) (*sql.Rows, error) {
	var got int
	if err := count.QueryRowContext(ctx, lo, hi).Scan(&got); err != nil {
		return nil, err
	}
	if got == n {
		return byKey.QueryContext(ctx, lo, hi)
	}
	return filter.QueryContext(ctx, args...)
}

// readHistory queries the history of page p's tasks (on the pool). On
// SQLite, when no other task has an id in the range of the page's (after
// the previous page's last, up to its own last), as in an export without
// filters of a project whose tasks were not made alongside another's,
// the history is read by that range of its key: one pass over its
// entries in order, instead of a seek for each task of the page. Else
// (other projects' tasks in the range, or the page's own filter leaving
// some out) it is read through the page's filter, so that a page never
// reads the history of tasks it does not hold. Either way entries of
// tasks not in p are skipped by the caller.
func (st *exportStmts) readHistory(ctx context.Context, p *exportPage) (*sql.Rows, error) {
	args := st.extrasArgs(&p.ids, p, func(r *exportRow) string { return r.e.Task.TaskID })
	if st.historyByKey != nil {
		return byKeyOrFilter(ctx, st.tasksInRange, st.historyByKey, st.history, len(p.rows), args[len(args)-2], args[len(args)-1], args)
	}
	return st.history.QueryContext(ctx, args...)
}

// readExtrasPG is readExtras with pgx: the batch names on st.names while
// the history is read on st.extras, each query one round trip of its own
// (the batch names, one after the other with the history, made the
// extras the slowest stage of writePages).
func (st *exportStmts) readExtrasPG(ctx context.Context, p *exportPage) error {
	for i := range p.rows {
		p.byAsset[p.rows[i].e.AssetID] = i
	}
	names := make(chan error, 1)
	go func() {
		names <- st.readBatchNamesPG(ctx, p, st.extrasArgs(&p.ids, p, func(r *exportRow) string { return r.e.AssetID }))
	}()
	herr := st.readHistoryPG(ctx, p)
	if err := <-names; err != nil {
		return err
	}
	return herr
}

// pgBatchesQuery is the batch names of a page's assets on PostgreSQL in a
// snapshot: its arguments are the count of the page's assets ($1) and the
// list of their ids ($2 on, padded as extrasArgs pads it). As with the
// history (pgHistoryQuery), the names are read by the range of the ids
// (from the least to the greatest, in the database's order) when the
// assets of every project in it are only the page's, else by the list;
// the range holds every asset of the page whatever the count says, and
// their reader skips the others' names (readBatchNamesPG).
var pgBatchesQuery = `WITH r AS (SELECT min(x) AS lo, max(x) AS hi FROM unnest(ARRAY[` + placeholders(2, labelhub.ExportPageSize) + `]::text[]) x),
	n AS (SELECT count(*) AS c FROM assets WHERE id >= (SELECT lo FROM r) AND id <= (SELECT hi FROM r))
	SELECT ab.asset_id, b.name FROM asset_batches ab JOIN batches b ON b.id = ab.batch_id
		WHERE (SELECT c FROM n) = $1 AND ab.asset_id >= (SELECT lo FROM r) AND ab.asset_id <= (SELECT hi FROM r)
	UNION ALL
	SELECT ab.asset_id, b.name FROM asset_batches ab JOIN batches b ON b.id = ab.batch_id
		WHERE (SELECT c FROM n) <> $1 AND ab.asset_id IN (` + placeholders(2, labelhub.ExportPageSize) + `)
	ORDER BY 2`

// readBatchNamesPG reads the batch names of page p's assets, ids, on
// st.names.
func (st *exportStmts) readBatchNamesPG(ctx context.Context, p *exportPage, ids []any) error {
	args := append(append(p.nameArgs[:0], len(p.rows)), ids...)
	p.nameArgs = args
	rows, err := st.names.Query(ctx, st.batchesQuery, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 2 {
			rows.Close()
			return fmt.Errorf("export batches: %d columns", len(v))
		}
		if i, ok := p.byAsset[string(v[0])]; ok {
			p.rows[i].e.Batches = append(p.rows[i].e.Batches, string(v[1]))
		}
	}
	rows.Close()
	return rows.Err()
}

// pgHistoryQuery is the history of a page's tasks on PostgreSQL in a
// snapshot. Its arguments are the page's key range (after $1 up to $2),
// its count of tasks ($3) and the list of their ids ($4 on, padded as
// extrasArgs pads it). When the tasks of every project in the range are
// only the page's, the history is read by the range of its key: one
// descent of task_history's primary key and its entries in order, where
// the list costs a descent for each task. Otherwise (another project's
// tasks made alongside, a filter that left some out) it is read by the
// list. Both halves are under a one-time filter, so only one is read.
// Entries of tasks not in the page are skipped by their reader either
// way (readHistoryPG): the guard decides the cost, not the result.
var pgHistoryQuery = `WITH n AS (SELECT count(*) AS c FROM tasks WHERE id > $1 AND id <= $2)
	SELECT task_id, stage_id, stage_name, duration_ms, completed_at, completed_by, answer, answer_canonical, seq
		FROM task_history WHERE (SELECT c FROM n) = $3 AND task_id > $1 AND task_id <= $2
	UNION ALL
	SELECT task_id, stage_id, stage_name, duration_ms, completed_at, completed_by, answer, answer_canonical, seq
		FROM task_history WHERE (SELECT c FROM n) <> $3 AND task_id IN (` + placeholders(4, labelhub.ExportPageSize) + `)
	ORDER BY 1, 9`

// readHistoryPG reads the history of page p's tasks on st.extras.
func (st *exportStmts) readHistoryPG(ctx context.Context, p *exportPage) error {
	if st.historyQuery == "" {
		return nil
	}
	for i := range p.rows {
		p.byTask[p.rows[i].e.Task.TaskID] = i
	}
	// Its own list of ids: the batch names' (p.ids) are read meanwhile.
	ids := st.extrasArgs(&p.taskIDs, p, func(r *exportRow) string { return r.e.Task.TaskID })
	args := append(append(p.histArgs[:0], p.args[len(p.args)-1], p.rows[len(p.rows)-1].e.Task.TaskID, len(p.rows)), ids...)
	p.histArgs = args
	rows, err := st.extras.Query(ctx, st.historyQuery, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cur := -1
	for rows.Next() {
		v, f := rows.RawValues(), rows.FieldDescriptions()
		if len(v) != 9 {
			return fmt.Errorf("export history: %d columns", len(v))
		}
		i, ok := p.byTask[string(v[0])]
		if !ok {
			continue
		}
		h := exportHist{stageID: string(v[1]), stage: string(v[2]), completedBy: string(v[5])}
		if h.duration, err = pgInt(v[3], f[3]); err != nil {
			return err
		}
		if h.completed, err = pgInt(v[4], f[4]); err != nil {
			return err
		}
		if h.canonical, err = pgBool(v[7], f[7]); err != nil {
			return err
		}
		h.answer = p.keep(v[6])
		if i != cur { // the entries of a task come together (ORDER BY task_id)
			cur = i
			p.rows[i].h0 = len(p.hist)
		}
		p.hist = append(p.hist, h)
		p.rows[i].h1 = len(p.hist)
	}
	return rows.Err()
}

// exportWriter writes the objects of an export.
type exportWriter struct {
	aw      *answerWriter
	history bool
	array   bool
}

// page appends the objects of p to out; first says whether p is the
// export's first page.
func (x *exportWriter) page(out []byte, p *exportPage, first bool) ([]byte, error) {
	var err error
	for i := range p.rows {
		r := &p.rows[i]
		e := &r.e
		if x.array && !(first && i == 0) {
			out = append(out, ',')
		}
		out = append(out, `{"asset":`...)
		out = appendJSONString(out, e.Asset)
		out = append(out, `,"assetId":`...)
		out = appendJSONString(out, e.AssetID)
		out = append(out, `,"externalId":`...)
		out = appendJSONString(out, e.ExternalID)
		if len(e.Dataset) > 0 {
			out = append(out, `,"dataset":`...)
			out = appendJSONStrings(out, e.Dataset)
		}
		contextData, meta := []byte(e.ContextData), []byte(e.Metadata)
		if r.contextData.end > r.contextData.off {
			contextData = p.text(r.contextData)
		}
		if r.meta.end > r.meta.off {
			meta = p.text(r.meta)
		}
		if len(contextData) > 0 {
			out = append(out, `,"contextData":`...)
			if out, err = x.aw.appendCompact(out, contextData); err != nil {
				return out, fmt.Errorf("asset %s: contextData: %w", e.AssetID, err)
			}
		}
		if len(meta) > 0 {
			out = append(out, `,"metadata":`...)
			if out, err = x.aw.appendCompact(out, meta); err != nil {
				return out, fmt.Errorf("asset %s: metadata: %w", e.AssetID, err)
			}
		}
		out = append(out, `,"batches":`...)
		out = appendJSONStrings(out, e.Batches)
		out = append(out, `,"task":{"taskId":`...)
		out = appendJSONString(out, e.Task.TaskID)
		out = append(out, `,"stage":`...)
		out = appendJSONString(out, e.Task.Stage)
		out = append(out, `,"stageId":`...)
		out = appendJSONString(out, e.Task.StageID)
		out = append(out, `,"updatedAt":`...)
		out = appendJSONTime(out, r.updated)
		out = append(out, `,"updatedBy":`...)
		out = appendJSONString(out, x.aw.email(e.Task.UpdatedBy))
		out = append(out, ',')
		if out, err = x.answer(out, p.text(r.answer), r.canonical); err != nil {
			return out, fmt.Errorf("task %s: %w", e.Task.TaskID, err)
		}
		if x.history {
			out = append(out, `,"stageHistory":[`...)
			for j := r.h0; j < r.h1; j++ {
				h := &p.hist[j]
				if j > r.h0 {
					out = append(out, ',')
				}
				out = append(out, `{"stage":`...)
				out = appendJSONString(out, h.stage)
				out = append(out, `,"stageId":`...)
				out = appendJSONString(out, h.stageID)
				out = append(out, `,"duration":`...)
				out = appendInt(out, h.duration)
				out = append(out, `,"completedAt":`...)
				out = appendJSONTime(out, h.completed)
				out = append(out, `,"completedBy":`...)
				out = appendJSONString(out, x.aw.email(h.completedBy))
				out = append(out, ',')
				if out, err = x.answer(out, p.text(h.answer), h.canonical); err != nil {
					return out, fmt.Errorf("history of task %s: %w", e.Task.TaskID, err)
				}
				out = append(out, '}')
			}
			out = append(out, ']')
		}
		out = append(out, `,"totalDuration":`...)
		out = appendInt(out, e.Task.TotalDuration)
		out = append(out, "}}\n"...)
	}
	return out, nil
}

// answer appends the fields of a stored answer; canonical says it was
// stored in the form the export writes (answer_canonical).
func (x *exportWriter) answer(out, text []byte, canonical bool) ([]byte, error) {
	if canonical {
		if b, ok := x.aw.appendCanonical(out, text); ok {
			return b, nil
		}
	}
	return x.aw.appendAnswer(out, text)
}

func appendJSONStrings(out []byte, list []string) []byte {
	out = append(out, '[')
	for i, s := range list {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, s)
	}
	return append(out, ']')
}

// appendJSONTime appends a time stored in microseconds as time.Time's
// MarshalJSON writes it.
func appendJSONTime(out []byte, micros int64) []byte {
	out = append(out, '"')
	out = fromMicros(micros).AppendFormat(out, time.RFC3339Nano)
	return append(out, '"')
}

func appendInt(out []byte, v int64) []byte {
	return strconv.AppendInt(out, v, 10)
}

// appendCompact appends a raw JSON value as encoding/json writes a
// json.RawMessage (without white space).
func (w *answerWriter) appendCompact(dst, raw []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			if r != errSlowPath { //nolint:errorlint // a sentinel value
				panic(r)
			}
			var b bytes.Buffer
			if err = json.Compact(&b, raw); err == nil {
				out = append(dst, b.Bytes()...)
			} else {
				out = dst
			}
		}
		w.src, w.out = nil, nil
	}()
	w.src, w.i, w.cp, w.out = raw, 0, 0, dst
	w.raw()
	w.ws()
	if w.i != len(w.src) {
		panic(errSlowPath)
	}
	w.flush()
	return w.out, nil
}

// unsafeString is b as a string without a copy, for a call that does not
// keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
