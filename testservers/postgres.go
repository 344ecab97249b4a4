package testservers

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgres is the server Postgres uses when LABELHUB_TEST_POSTGRES is
// unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresBase returns the DSN of the PostgreSQL server tests use:
// LABELHUB_TEST_POSTGRES, or DefaultPostgres.
func PostgresBase() string {
	if dsn := os.Getenv("LABELHUB_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultPostgres
}

// Postgres creates a fresh, empty schema lh_<random> on the test server and
// returns a DSN whose search_path is that schema, so everything the test
// creates without a schema name lands there. The schema is dropped (CASCADE)
// in t.Cleanup; close the test's own connections in an earlier-registered
// cleanup or before the test ends so the drop does not wait on their locks.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresBase()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		missing(t, "PostgreSQL at "+redact(base)+" ("+err.Error()+")",
			"apt-get install postgresql and start it (pg_ctlcluster 15 main start), or point LABELHUB_TEST_POSTGRES at a server where this user may CREATE SCHEMA")
		return ""
	}
	defer conn.Close(context.Background())

	schema := "lh_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("testservers: create schema %s on %s: %v", schema, redact(base), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("testservers: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("testservers: drop schema %s: %v", schema, err)
		}
	})

	dsn, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("testservers: %v", err)
	}
	return dsn
}

// withSearchPath adds search_path=schema to a DSN in URL or keyword/value
// form; pgx passes unknown settings to the server as runtime parameters.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %v", redact(dsn), err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}

// redact hides a password in a URL DSN for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
