// Package sqlstore keeps the hub's metadata in SQL: one implementation of
// the labelhub store interfaces, two dialects (SQLite through
// modernc.org/sqlite, PostgreSQL through pgx), one schema applied by
// versioned migrations at open. Every query on an organisation's objects
// carries the organisation's id, so isolation holds at the lowest layer.
//
// It imports the root package and database drivers; it must not import
// httpapi, web or anything that serves requests.
package sqlstore
