// Package assetref maps an asset URL to the storage location it names; pure,
// no I/O; imports only the standard library.
//
// [Resolve] turns the `data` URL of an imported asset (see
// docs/formats.md §1) into a [Ref]: the provider, the bucket (Azure: the
// container) and the exact object key. [URL] is its inverse: it builds the
// canonical URL of a key in a storage integration, as the File Explorer shows
// it. For every valid key k, Resolve(URL(in, k), &in) returns k unchanged.
//
// # Accepted forms
//
// With an integration of provider "s3":
//
//	https://<bucket>.s3.<region>.amazonaws.com/<key>
//	https://<bucket>.s3-<region>.amazonaws.com/<key>      (legacy dash form)
//	https://<bucket>.s3.dualstack.<region>.amazonaws.com/<key>
//	https://<bucket>.s3.amazonaws.com/<key>               (region us-east-1)
//	https://s3.<region>.amazonaws.com/<bucket>/<key>      (path style)
//	https://s3.amazonaws.com/<bucket>/<key>               (path style, us-east-1)
//	s3://<bucket>/<key>                                   (region not checked)
//
// China regions use the amazonaws.com.cn suffix. An empty integration region
// means us-east-1.
//
// With "s3-compatible" (MinIO, …): <endpoint>/<bucket>/<key> and, when the
// integration is not PathStyle, <scheme>://<bucket>.<endpoint-host>/<key>.
// s3://<bucket>/<key> is accepted too (the endpoint comes from the
// integration). An endpoint may carry a base path (http://proxy/minio).
//
// With "gcs": https://storage.googleapis.com/<bucket>/<key>,
// https://<bucket>.storage.googleapis.com/<key>,
// https://storage.cloud.google.com/<bucket>/<key>, gs://<bucket>/<key>, and
// <endpoint>/<bucket>/<key> when the integration has an Endpoint (an
// emulator).
//
// With "azure": https://<account>.blob.core.windows.net/<container>/<blob>,
// azblob://<container>/<blob>, and, when the integration has an Endpoint
// (Azurite), <endpoint>/<account>/<container>/<blob>. If the endpoint's path
// already ends in /<account> (as in Azurite connection strings,
// http://127.0.0.1:10000/devstoreaccount1), the account is not repeated.
//
// http:// is accepted wherever https:// is. Host names are case-insensitive;
// keys are not. A default port (:443, :80) is ignored.
//
// # Percent-encoding
//
// URLs are percent-encoded UTF-8. The path is decoded exactly once, with
// [net/url.PathUnescape] semantics:
//
//   - %20 is a space; a literal space is an error ("encode it as %20").
//   - '+' is a literal plus sign, never a space. A plus in a key may be
//     written as + or %2B.
//   - %2F decodes to '/': object stores have no real folders, so a%2Fb and
//     a/b name the same object key "a/b" (S3, GCS and Azure decode the path
//     the same way).
//   - Raw non-ASCII characters, control characters, a backslash, an invalid
//     escape (%zz, a trailing %), and escapes that decode to invalid UTF-8
//     (Latin-1 %E9) or to a control character (%00, %0A) are errors that
//     name the problem and its offset.
//   - No Unicode normalization: the key is the decoded bytes.
//
// # Other rules
//
// A query string on a private URL is rejected ("remove the query string;
// labelhub signs URLs itself"); so is a fragment on any URL. A '?' or '#'
// that belongs to a key must be written %3F or %23. The bucket (container,
// account) in the URL must be the integration's; a URL of another provider,
// or (s3) of another region, is an error naming both sides. The key must be
// non-empty, at most 1024 bytes, and must not end in '/', start with '/',
// contain "//", or have a "." or ".." segment.
//
// Without an integration (in == nil) only http(s) URLs are valid; they are
// public and are only validated (characters, escapes, host, port; no
// fragment), never decoded: Resolve returns Ref{Public: true}. s3://, gs://
// and azblob:// URLs need a storage integration.
//
// Every error is an *[Error] whose Field names the part of the URL at fault
// (see the Field constants) and whose Reason says how to fix it.
package assetref
