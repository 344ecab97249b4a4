// Package soak holds the hub's soak test (TestSoak): many concurrent
// clients for a fixed time against `labelhub serve` processes on SQLite or
// on PostgreSQL with two replicas, mixing imports, task lists, answer
// writes with If-Match, exports, plugin runs and File Explorer listings,
// while faults are injected (a replica killed with SIGKILL and restarted,
// a plugin process killed and restarted, MinIO stopped for a while). It
// reports requests, errors, latencies and the hub's memory, and checks the
// database against what the clients were acknowledged: nothing lost,
// nothing duplicated, and every count of an import, run and export equal
// to what the database holds. See docs/reliability.md and scripts/soak.
//
// The package has no code outside its test; `go test ./bench/soak` runs
// the short form.
package soak
