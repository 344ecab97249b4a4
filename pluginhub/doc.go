// Package pluginhub is the hub side of plugins: the WebSocket endpoint that
// plugin processes dial, the registry of connected instances, the
// dispatcher that hands queued runs to instances with free capacity, the
// run state machine (queued → running → succeeded | failed | cancelled |
// timed_out) with heartbeats, cancellation with a grace period, deadlines,
// recovery after a restart, and per-run logs with a cap.
//
// Runs live in the database (labelhub.PluginStore), so several replicas on
// one PostgreSQL database share them: each dispatches to its own
// connections and claims a run with a conditional update.
//
// One writer goroutine commits the changes of many runs in one
// transaction (group commit, BatchStore); a run is acknowledged to its
// creator only once committed, and a run created while a local instance
// has room is stored as running on it and assigned from memory.
//
// It speaks package pluginproto. It must not import httpapi, web or a
// database driver.
package pluginhub
