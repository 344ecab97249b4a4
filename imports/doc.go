// Package imports runs import jobs: it spools an import request's body to
// disk while decoding it (importer.Decode), writes the valid items in
// batches of one transaction each (assets, tasks in the project's first
// stage, batch links, item errors and the job's progress together),
// heartbeats running jobs, resumes jobs whose process died from their
// spool, and rolls jobs back. docs/imports.md describes the design.
package imports
