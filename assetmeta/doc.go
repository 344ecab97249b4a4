// Package assetmeta fills in the metadata of imported assets in the
// background: the width and height of images, and the width, height,
// frame rate and frame count of videos, when the import file did not give
// them (the importer marks such assets with probe state "pending").
//
// A [Worker] runs inside `labelhub serve` (--probe-workers, default 4; 0
// disables it). It claims due assets in batches of at most its free slots
// with a lease (sqlstore's ClaimProbes: the asset's probe_next moves to the
// end of the lease and a claim token is written), so several replicas on
// one PostgreSQL database never probe the same asset at the same time, and
// the claims of a process that died are due again when their lease ends.
//
// For each asset it resolves a URL the hub may read with
// storage.ResolveAsset (the same resolution as GET /assets/{id}/content: a
// URL signed with the storage integration's credentials, or the public
// URL), reads the file's header with package probe (range requests,
// guarded by netguard unless --allow-private-endpoints), and merges what it
// found into the asset's metadata without changing any value the import
// gave. The asset's probe state becomes "done", or "failed" with a message
// naming what went wrong (the storage refused the signed URL, the file is
// missing, it is not a video, the probe timed out, …).
//
// Transient failures (timeouts, unreachable storage, 429 and 5xx answers)
// leave the asset pending, with the error shown, and it is tried again
// after a backoff that doubles from Config.Backoff, at most
// Config.MaxAttempts times in all; then it fails. Permanent failures are
// not retried. A re-import that changes the asset's URL while it is probed
// makes the worker drop what it read.
//
// The worker wakes up when Notify is called (the import runner's commits,
// wired in cmd/labelhub) and otherwise checks for due assets every
// Config.PollInterval with one read of a partial index that holds only
// pending assets, so it idles cheaply and still picks up the work of
// imports committed by other replicas and retries that come due.
package assetmeta
