package floor

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// postgresSchema is sqliteSchema for PostgreSQL.
const postgresSchema = sqliteSchema

// openPostgres connects to dsn (one connection, as one import job of the
// hub uses) and creates the floor's tables in its search_path.
func openPostgres(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, postgresSchema); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("floor: postgres schema: %w", err)
	}
	return conn, nil
}

// ImportPostgres imports the NDJSON import file r into the PostgreSQL
// database at dsn (the floor's tables in its search_path, created if need
// be): one asset and one task a line, with a's answer and history rows,
// 2000 lines a transaction, each table's rows sent with COPY, then ANALYZE
// of the tables.
func ImportPostgres(ctx context.Context, dsn string, r io.Reader, a Answer) (Result, error) {
	start := time.Now()
	conn, err := openPostgres(ctx, dsn)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close(context.Background())
	var first int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM assets").Scan(&first); err != nil {
		return Result{}, err
	}
	now := time.Now().UnixMicro()
	dec := newDecoder(r, first)
	rows := make([]row, 0, importBatch)
	vals := make([]any, 0, max(len(taskCols), a.History*len(histCols)))
	var items int64
	for {
		if rows, err = dec.batch(rows); err != nil {
			return Result{}, err
		}
		if len(rows) == 0 {
			break
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			i := 0
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"assets"}, assetCols, pgx.CopyFromFunc(func() ([]any, error) {
				if i == len(rows) {
					return nil, nil
				}
				r := rows[i]
				i++
				return []any{r.assetID, Project, r.externalID, r.data, r.metadata}, nil
			})); err != nil {
				return err
			}
			j := 0
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"tasks"}, taskCols, pgx.CopyFromFunc(func() ([]any, error) {
				if j == len(rows) {
					return nil, nil
				}
				r := &rows[j]
				j++
				return taskValues(vals[:0], r, a, now), nil
			}))
			if err != nil || a.History == 0 {
				return err
			}
			// One history row at a time: k counts them.
			k := 0
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"task_history"}, histCols, pgx.CopyFromFunc(func() ([]any, error) {
				if k == len(rows)*a.History {
					return nil, nil
				}
				r := &rows[k/a.History]
				seq := k % a.History
				k++
				return append(vals[:0], r.taskID, int64(seq+1), Stage, stageName, int64(historyDuration), now, a.UserID, a.Text), nil
			}))
			return err
		})
		if err != nil {
			return Result{}, fmt.Errorf("floor: copy: %w", err)
		}
		items += int64(len(rows))
	}
	// Statistics for the planner, as the hub's store writes them after bulk
	// writes (sqlstore/stats.go): without them an export page's query is
	// planned as if the tables were empty and sorts every remaining task.
	if _, err := conn.Exec(ctx, "ANALYZE assets, tasks, task_history"); err != nil {
		return Result{}, fmt.Errorf("floor: analyze: %w", err)
	}
	return Result{Items: items, Bytes: dec.cr.n, Duration: time.Since(start)}, nil
}

// ExportPostgres writes every task of the PostgreSQL database at dsn
// (filled by ImportPostgres) to w as NDJSON, one line a task with its
// answer and history, reading pages of 1000 tasks by keyset and the
// history of each page in one query.
func ExportPostgres(ctx context.Context, dsn string, w io.Writer) (Result, error) {
	start := time.Now()
	conn, err := openPostgres(ctx, dsn)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close(context.Background())
	return exportPages(start, w, func(last string, p *pageRows) error { return postgresPage(ctx, conn, last, p) })
}

// postgresPage reads the page of tasks after last, then their history,
// keeping the columns' bytes as sent (text, or 8 bytes for a BIGINT in
// binary format).
func postgresPage(ctx context.Context, conn *pgx.Conn, last string, p *pageRows) error {
	rows, err := conn.Query(ctx, exportQuery, Project, last, exportPage)
	if err != nil {
		return err
	}
	for rows.Next() {
		v, f := rows.RawValues(), rows.FieldDescriptions()
		p.tasks = append(p.tasks, exportTask{
			taskID: p.keep(v[0]), stage: p.keep(v[1]), updatedAt: pgInt(v[2], f[2]), updatedBy: p.keep(v[3]),
			totalDuration: pgInt(v[4], f[4]), answer: p.keep(v[5]),
			assetID: p.keep(v[6]), externalID: p.keep(v[7]), data: p.keep(v[8]), metadata: p.keep(v[9]),
		})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(p.tasks) == 0 {
		return nil
	}
	rows, err = conn.Query(ctx, historyQuery, string(p.text(p.tasks[0].taskID)), string(p.text(p.tasks[len(p.tasks)-1].taskID)))
	if err != nil {
		return err
	}
	for rows.Next() {
		v, f := rows.RawValues(), rows.FieldDescriptions()
		p.hist = append(p.hist, exportHist{
			taskID: p.keep(v[0]), stageID: p.keep(v[1]), stageName: p.keep(v[2]), duration: pgInt(v[3], f[3]),
			completedAt: pgInt(v[4], f[4]), completedBy: p.keep(v[5]), answer: p.keep(v[6]),
		})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	p.attach()
	return nil
}

// pgInt is a BIGINT column's value as sent.
func pgInt(v []byte, f pgconn.FieldDescription) int64 {
	if f.Format == pgx.BinaryFormatCode && len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	n, _ := strconv.ParseInt(string(v), 10, 64)
	return n
}
