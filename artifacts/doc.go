// Package artifacts keeps the result files of plugin runs (an export's
// zip): a Store puts and reads bytes by key, in a local folder (Local,
// DATA/artifacts by default) or an S3-compatible bucket (S3), and a
// Service ties the bytes to the runs' records (labelhub.RunArtifactStore):
// one artifact per run, a size cap, and a time to live after which Sweep
// deletes the bytes and marks the record expired.
//
// Writes are atomic: a reader sees the whole file or none. Local writes go
// to a temporary name in the same folder and are renamed when complete; S3
// objects appear when their (multipart) upload completes, and an aborted
// upload leaves nothing. An upload over the cap is aborted the same way.
package artifacts
