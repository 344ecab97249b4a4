// Package plugin is the Go SDK for labelhub plugins. A plugin is a small
// program that dials out to the hub over a WebSocket (no inbound port),
// receives runs and answers them:
//
//	err := plugin.Run(ctx, plugin.Config{}, plugin.FileExplorerFunc(list))
//
// Config's empty fields come from LABELHUB_SERVER, LABELHUB_PLUGIN_ID and
// LABELHUB_PLUGIN_SECRET. Run reconnects with backoff until ctx ends or the
// hub refuses the credentials. Handlers get a Request with the fields of
// formats.md §4, a *slog.Logger whose records stream to the hub, and a
// progress reporter; the context is cancelled when a user cancels the run.
//
// The package must stay light for plugin authors: it imports the standard
// library, github.com/coder/websocket and labelhub's pluginproto only
// (a test checks `go list -deps`).
package plugin
