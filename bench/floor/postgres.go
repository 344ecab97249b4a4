package floor

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
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
// be): one asset and one task a line, 2000 lines a transaction, each
// table's rows sent with COPY, then ANALYZE of both tables.
func ImportPostgres(ctx context.Context, dsn string, r io.Reader) (Result, error) {
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
	dec := newDecoder(r, first)
	rows := make([]row, 0, importBatch)
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
				r := rows[j]
				j++
				return []any{r.taskID, Project, r.assetID, Stage}, nil
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
	if _, err := conn.Exec(ctx, "ANALYZE assets, tasks"); err != nil {
		return Result{}, fmt.Errorf("floor: analyze: %w", err)
	}
	return Result{Items: items, Bytes: dec.cr.n, Duration: time.Since(start)}, nil
}

// ExportPostgres writes every task of the PostgreSQL database at dsn
// (filled by ImportPostgres) to w as NDJSON, one line a task, reading
// pages of 1000 tasks by keyset.
func ExportPostgres(ctx context.Context, dsn string, w io.Writer) (Result, error) {
	start := time.Now()
	conn, err := openPostgres(ctx, dsn)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close(context.Background())
	lw := newLineWriter(w)
	var items int64
	var last []byte
	for {
		rows, err := conn.Query(ctx, exportQuery, Project, string(last), exportPage)
		if err != nil {
			return Result{}, err
		}
		n := 0
		for rows.Next() {
			// The text columns' bytes, valid until the next row.
			v := rows.RawValues()
			if err := lw.line(v[0], v[1], v[2], v[3], v[4], v[5]); err != nil {
				rows.Close()
				return Result{}, err
			}
			last = append(last[:0], v[0]...)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Result{}, err
		}
		items += int64(n)
		if n < exportPage {
			break
		}
	}
	if err := lw.flush(); err != nil {
		return Result{}, err
	}
	return Result{Items: items, Bytes: lw.n, Duration: time.Since(start)}, nil
}
