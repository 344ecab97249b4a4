// Package floor holds the bare programs labelhub's throughput figures are
// quoted against: for each job the hub does (import, export, listing a
// bucket) the least code that does the same job on the same database or
// store, with the same libraries, so that "labelhub X/s" can be printed
// next to "floor Y/s" measured in the same run on the same machine.
//
// ImportSQLite and ImportPostgres stream-decode an NDJSON import file (the
// one importer.NewGenerator makes) with encoding/json.Decoder into a
// three-field struct and insert one asset row and one task row per item,
// 2000 items a transaction: prepared multi-row INSERTs on SQLite (WAL,
// synchronous=NORMAL, the hub's pragmas), COPY (pgx CopyFrom, then ANALYZE) on
// PostgreSQL. The tables are the floor's own, with the columns and indexes
// of labelhub's assets, tasks and task_history that an import and an
// export need: assets (id, project, external_id, data, metadata) indexed
// on (project, id) and (project, external_id); tasks (id, project,
// asset_id UNIQUE, stage, answer, updated_at, updated_by,
// total_duration_ms) indexed on (project, id) and (project, stage, id);
// task_history (task_id, seq, stage_id, stage_name, duration_ms,
// completed_at, completed_by, answer) keyed on (task_id, seq). An Answer
// gives every task a stored answer and that many history entries with it
// (the export benchmark passes the answer and history count it gives the
// hub's tasks); the zero Answer leaves them unanswered, as an import does.
//
// ExportSQLite and ExportPostgres read those rows back in task id order,
// 1000 at a time (keyset: id > last), joined with their assets, then the
// history of the page's tasks in one query (a task id range), and write
// one NDJSON line per task with an append-based writer (no reflection):
// asset, assetId, externalId, metadata and task {taskId, stageId,
// updatedAt, updatedBy, the stored answer's fields copied as they are,
// stageHistory with each entry's answer likewise, totalDuration}, the
// bytes labelhub's export writes for the same task with item metadata.
//
// ListS3 walks a prefix with ListObjectsV2 (the aws-sdk-go-v2 client, pages
// of 1000) and counts the objects.
//
// The floor of the plugin round trip is pluginhub's BenchmarkWebSocketEcho
// (one WebSocket text message to a loopback echo server and back).
//
// Each program returns a Result. None of them checks more than it must:
// they are what the hub's figures are divided by, not a second
// implementation of the hub.
package floor
