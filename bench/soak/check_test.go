package soak

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver

	"github.com/labelhub/labelhub"
)

// verdict is what the database says about the acknowledged writes.
type verdict struct {
	imports, items, answerWrites, answerTasks, runs int // acknowledged
	unknownImports, unknownAnswers, unknownRuns     int // outcome unknown
	lost, duplicated, counts                        []string
	importsChecked, exportsChecked, csvChecked      int
	runStates                                       map[string]int
	importStates                                    map[string]int
	drained                                         time.Duration
	notes                                           []string
}

func (v *verdict) ok() bool { return len(v.lost) == 0 && len(v.duplicated) == 0 && len(v.counts) == 0 }

// openDB opens the hub's database for reading.
func (e *soakEnv) openDB() (*sql.DB, error) {
	if e.dsn != "" {
		return sql.Open("pgx", e.dsn)
	}
	return sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
}

// drain waits until no import or run of the soak's projects is queued or
// running (at most limit), so that the checks see what stays.
func drain(ctx context.Context, db *sql.DB, projects []string, limit time.Duration) (took time.Duration, pending string, err error) {
	in, args := inList(projects)
	start := time.Now()
	for first := true; ; first = false {
		var imports, runs int
		err := db.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM imports WHERE state IN ('queued', 'running') AND project_id IN (`+in+`)),
			(SELECT COUNT(*) FROM plugin_runs WHERE state IN ('queued', 'running') AND project_id IN (`+in+`))`, args...).Scan(&imports, &runs)
		if err == nil && imports == 0 && runs == 0 {
			return time.Since(start), pending, nil
		}
		if first {
			pending = fmt.Sprintf("%d imports and %d runs were queued or running when the load ended", imports, runs)
		}
		if time.Since(start) > limit {
			return time.Since(start), pending, fmt.Errorf("after %s: %d imports and %d runs still queued or running (%v)", limit, imports, runs, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func inList(ids []string) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = fmt.Sprintf("$%d", i+1)
		args[i] = id
	}
	return strings.Join(ph, ", "), args
}

// check compares the database with the ledger.
func check(ctx context.Context, e *soakEnv, db *sql.DB, led *ledger, countIssues []string) (*verdict, error) {
	v := &verdict{runStates: map[string]int{}, importStates: map[string]int{}, counts: countIssues}
	if err := checkImports(ctx, e, db, led, v); err != nil {
		return v, err
	}
	if err := checkAnswers(ctx, e, db, led, v); err != nil {
		return v, err
	}
	if err := checkRuns(ctx, e, db, led, v); err != nil {
		return v, err
	}
	for _, x := range led.exports {
		v.exportsChecked++
		if !x.headerParsed || x.header != x.lines {
			v.counts = append(v.counts, fmt.Sprintf("an export of project %s said X-Total-Count %d and sent %d lines", x.project, x.header, x.lines))
		}
	}
	return v, nil
}

// asset is what the checks need of the assets with one externalId.
type asset struct {
	n       int
	imports []string
}

func assetsOf(ctx context.Context, db *sql.DB, project string) (map[string]*asset, error) {
	rows, err := db.QueryContext(ctx, `SELECT external_id, import_id FROM assets WHERE project_id = $1`, project)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*asset{}
	for rows.Next() {
		var ext, im string
		if err := rows.Scan(&ext, &im); err != nil {
			return nil, err
		}
		a := out[ext]
		if a == nil {
			a = &asset{}
			out[ext] = a
		}
		a.n++
		a.imports = append(a.imports, im)
	}
	return out, rows.Err()
}

func checkImports(ctx context.Context, e *soakEnv, db *sql.DB, led *ledger, v *verdict) error {
	byProject := map[string]map[string]*asset{}
	for _, p := range []string{e.small, e.bulk, e.answers} {
		a, err := assetsOf(ctx, db, p)
		if err != nil {
			return err
		}
		byProject[p] = a
		// Every externalId the soak sends is unique (folder imports skip
		// the keys already there), so any repeat is a duplicate.
		for ext, x := range a {
			if x.n > 1 {
				v.duplicated = append(v.duplicated, fmt.Sprintf("asset %q is in project %s %d times (imports %v)", ext, p, x.n, x.imports))
			}
		}
	}
	seen := map[string]bool{}
	v.unknownImports = led.unknownImports
	for _, im := range led.imports {
		v.imports++
		ids := im.ids
		if im.kind == "large" {
			ids = make([]string, im.n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%s-%d", im.prefix, i)
			}
		}
		for _, ext := range ids {
			if seen[im.project+"\x00"+ext] {
				continue // a folder key acknowledged by several imports
			}
			seen[im.project+"\x00"+ext] = true
			v.items++
			a := byProject[im.project][ext]
			switch {
			case a == nil:
				v.lost = append(v.lost, fmt.Sprintf("item %q of %s import %s (succeeded) is not in the database", ext, im.kind, im.id))
			case im.kind != "folder" && a.imports[0] != im.id:
				v.counts = append(v.counts, fmt.Sprintf("item %q of import %s is stored as of import %s", ext, im.id, a.imports[0]))
			}
		}
	}

	// Counts: every import's imported count is the assets that carry its id.
	in, args := inList([]string{e.small, e.bulk, e.answers})
	rows, err := db.QueryContext(ctx, `SELECT i.id, i.state, i.imported, (SELECT COUNT(*) FROM assets a WHERE a.import_id = i.id)
		FROM imports i WHERE i.project_id IN (`+in+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	stored := map[string]int64{}
	for rows.Next() {
		var id, state string
		var imported, n int64
		if err := rows.Scan(&id, &state, &imported, &n); err != nil {
			return err
		}
		v.importStates[state]++
		stored[id] = n
		if state == string(labelhub.ImportRolledBack) || state == string(labelhub.ImportRunning) || state == "queued" {
			continue
		}
		v.importsChecked++
		if imported != n {
			v.counts = append(v.counts, fmt.Sprintf("import %s (%s) says imported %d; %d assets carry its id", id, state, imported, n))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, im := range led.imports {
		if n, ok := stored[im.id]; !ok {
			v.lost = append(v.lost, fmt.Sprintf("%s import %s (succeeded) is not in the database", im.kind, im.id))
		} else if n != im.counts.Imported {
			v.counts = append(v.counts, fmt.Sprintf("%s import %s answered imported %d; %d assets carry its id", im.kind, im.id, im.counts.Imported, n))
		}
	}

	var orphans int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets a WHERE a.project_id IN (`+in+`)
		AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.asset_id = a.id)`, args...).Scan(&orphans); err != nil {
		return err
	}
	if orphans > 0 {
		v.lost = append(v.lost, fmt.Sprintf("%d assets have no task", orphans))
	}
	return nil
}

// checkAnswers: If-Match serialises the writes of a task and each adds one
// to its version, so the stored version counts the committed writes: at
// least the acknowledged ones, at most those plus the writes of unknown
// outcome. Two acknowledgements of one version mean a write was lost. The
// stored answer is the one acknowledged with the stored version, or, when
// the stored version is above every acknowledged one, one of the writes of
// unknown outcome.
func checkAnswers(ctx context.Context, e *soakEnv, db *sql.DB, led *ledger, v *verdict) error {
	rows, err := db.QueryContext(ctx, `SELECT id, version, answer FROM tasks WHERE project_id = $1`, e.answers)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var id, answer string
		var version int64
		if err := rows.Scan(&id, &version, &answer); err != nil {
			return err
		}
		found++
		writes := led.answers[id]
		got, err := noteOf(answer)
		if err != nil {
			v.lost = append(v.lost, fmt.Sprintf("task %s: stored answer unreadable: %v", id, err))
			continue
		}
		acked := map[int64]string{}
		unknown := map[string]bool{}
		var top int64
		for _, w := range writes {
			if !w.acked {
				unknown[w.content] = true
				v.unknownAnswers++
				continue
			}
			v.answerWrites++
			if prev, dup := acked[w.version]; dup {
				v.lost = append(v.lost, fmt.Sprintf("task %s: writes %q and %q were both acknowledged as version %d", id, prev, w.content, w.version))
			}
			acked[w.version] = w.content
			top = max(top, w.version)
		}
		if len(acked) > 0 {
			v.answerTasks++
		}
		committed := version - 1
		switch {
		case committed < int64(len(acked)):
			v.lost = append(v.lost, fmt.Sprintf("task %s: version %d after %d acknowledged writes", id, version, len(acked)))
		case committed > int64(len(acked)+len(unknown)):
			v.duplicated = append(v.duplicated, fmt.Sprintf("task %s: version %d after %d acknowledged writes and %d of unknown outcome", id, version, len(acked), len(unknown)))
		}
		switch {
		case version == 1 && top == 0:
			if got != "" {
				v.duplicated = append(v.duplicated, fmt.Sprintf("task %s: no write committed, stored answer %q", id, got))
			}
		case version < top:
			v.lost = append(v.lost, fmt.Sprintf("task %s: stored version %d, but version %d was acknowledged", id, version, top))
		case version == top && got != acked[top]:
			v.lost = append(v.lost, fmt.Sprintf("task %s: stored %q at version %d, acknowledged %q", id, got, version, acked[top]))
		case version > top && !unknown[got]:
			v.lost = append(v.lost, fmt.Sprintf("task %s: stored %q at version %d, not the last acknowledged (%d) nor of unknown outcome", id, got, version, top))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if found != len(e.answerTasks) {
		v.lost = append(v.lost, fmt.Sprintf("%d tasks in the answers' project, want %d", found, len(e.answerTasks)))
	}
	return nil
}

// noteOf is the text of the "note" classification of a stored answer.
func noteOf(answer string) (string, error) {
	if answer == "" {
		return "", nil
	}
	var a struct {
		Classifications []struct {
			SchemaID string `json:"schemaId"`
			Answer   string `json:"answer"`
		} `json:"classifications"`
	}
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		return "", err
	}
	for _, c := range a.Classifications {
		if c.SchemaID == "note" {
			return c.Answer, nil
		}
	}
	return "", nil
}

// checkRuns: every acknowledged run is stored once and has ended; the runs
// stored are no more than the creations sent; each CSV run's rows are the
// tasks of its project.
func checkRuns(ctx context.Context, e *soakEnv, db *sql.DB, led *ledger, v *verdict) error {
	in, args := inList([]string{e.small, e.answers})
	rows, err := db.QueryContext(ctx, `SELECT id, state FROM plugin_runs WHERE project_id IN (`+in+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	states := map[string]string{}
	times := map[string]int{}
	for rows.Next() {
		var id, state string
		if err := rows.Scan(&id, &state); err != nil {
			return err
		}
		states[id] = state
		times[id]++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	v.unknownRuns = led.unknownRuns
	for _, r := range led.runs {
		v.runs++
		st, ok := states[r.id]
		switch {
		case !ok:
			v.lost = append(v.lost, fmt.Sprintf("%s run %s (created) is not in the database", r.kind, r.id))
			continue
		case times[r.id] > 1:
			v.duplicated = append(v.duplicated, fmt.Sprintf("run %s is stored %d times", r.id, times[r.id]))
		case !labelhub.RunState(st).Final():
			v.lost = append(v.lost, fmt.Sprintf("%s run %s is still %s", r.kind, r.id, st))
		}
		v.runStates[r.kind+" "+st]++
	}
	if len(states) > len(led.runs)+led.unknownRuns {
		v.duplicated = append(v.duplicated, fmt.Sprintf("%d runs stored for %d created and %d of unknown outcome", len(states), len(led.runs), led.unknownRuns))
	}
	var tasks int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks WHERE project_id = $1`, e.answers).Scan(&tasks); err != nil {
		return err
	}
	for _, c := range led.runCounts {
		v.csvChecked++
		if c.rows != tasks {
			v.counts = append(v.counts, fmt.Sprintf("csv run %s reported %d rows; its project has %d tasks", c.run, c.rows, tasks))
		}
	}
	sort.Strings(v.lost)
	sort.Strings(v.duplicated)
	return nil
}
