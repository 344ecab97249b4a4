// Package fileexplorer is the first-party File Explorer plugin: it browses
// the organisation's storage integrations and imports their files as
// assets, in every organisation, with nothing to deploy (it runs in the
// hub's process; `labelhub plugin serve file-explorer` runs it apart).
//
// It is an ordinary SDK plugin (plugin.FileExplorerFunc) that talks to the
// hub's REST API with its run token: a listing run (upload=false) reads
// GET /api/v1/storages/{integrationId}/objects, a page per run with
// scrollToken; an import run (upload=true) starts a folder import (POST
// /api/v1/projects/{projectId}/imports/folder, onDuplicate=skip on the
// object key, so importing a folder again adds only what is new) and
// follows it to its end, reporting progress and returning a summary. The
// hub lists and reads the bucket with the integration's own credentials;
// the plugin never sees them, and its token reaches the run's integration
// only.
package fileexplorer
