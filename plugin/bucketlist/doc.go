// Package bucketlist lists a bucket named by a URL, for custom File
// Explorer plugins (the first-party one asks the hub instead). It is kept
// out of package plugin so that the SDK's core stays light: importing it
// brings in the cloud providers' clients.
//
// A bucket URL is one of
//
//	s3://bucket/prefix                    AWS S3 (?region=…, else AWS_REGION, else us-east-1)
//	s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1
//	                                      S3-compatible stores such as MinIO (path style)
//	gs://bucket/prefix                    Google Cloud Storage
//	azblob://container/prefix             Azure Blob Storage
//
// with the credentials of the usual environment: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (or the AWS SDK's other sources),
// GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT with
// AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN. The prefix is the root of
// what is listed: folders and names are relative to it, keys are not.
//
// List reads one folder level a page at a time (folders, files with their
// size, and the next page's token); Walk yields every object under a
// folder, at any depth, one page in memory at a time. Every object carries
// its asset URL in the form the hub's import file expects for its
// provider (docs/formats.md §1), built by storage/assetref.
package bucketlist
