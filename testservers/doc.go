// Package testservers starts the real servers that tests talk to: a fresh
// PostgreSQL schema, MinIO (S3), fake-gcs-server (GCS), Azurite (Azure Blob)
// and the Chromium binary. Only test code imports it.
//
// Every helper takes a testing.TB, picks free ports on 127.0.0.1 and cleans
// up after itself with t.Cleanup. When a server or binary is missing the
// test is skipped with a loud reason, except in CI (CI=true), where a missing
// server is a failure that says how to install it. `.ci/run` installs all of
// them; the pinned versions live there.
//
// Binaries are looked up in this order: the environment variable
// (LABELHUB_MINIO, LABELHUB_FAKE_GCS, LABELHUB_AZURITE, LABELHUB_CHROMIUM),
// then PATH, then $XDG_CACHE_HOME/labelhub/bin (usually
// ~/.cache/labelhub/bin), and for Azurite also
// ~/.cache/labelhub/node/node_modules/.bin/azurite-blob.
//
// Lifetimes: Postgres gives each caller its own schema, dropped in
// t.Cleanup. FakeGCS and Azurite start one server per caller (they come up
// in about a second and keep no state worth sharing), stopped in t.Cleanup.
// MinIO is shared: one server per test binary, started on first use; callers
// keep apart by using NewBucketName. On Linux the shared server dies with the
// test binary (the kernel sends it SIGKILL through Pdeathsig), even after a
// panic or a -timeout. A package that wants it stopped and its temporary data
// directory removed calls Shutdown from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		testservers.Shutdown()
//		os.Exit(code)
//	}
//
// Each server's output goes to a log file in its temporary directory; when a
// server does not come up within 30 s (LABELHUB_SERVER_START_TIMEOUT to
// change) the failure quotes the log's tail.
package testservers
