// Package storage opens an organisation's buckets through gocloud.dev/blob
// and provides what the hub does with them: validate, sign, proxy, list. It
// must not import httpapi, web or sqlstore.
//
// A [Service] keeps storage integrations (their credentials sealed with a
// [seal.Box], bound to the organisation and the integration's id) in a
// [labelhub.StorageStore], and opens a [Bucket] per integration, cached and
// closed again when the integration changes or is deleted.
//
// # Providers
//
//   - s3: AWS S3, virtual-hosted style unless the integration asks for path
//     style, the bucket name has a dot, or an Endpoint is set (then path
//     style, as storage/assetref builds URLs).
//   - s3-compatible (MinIO, Ceph, …): the integration's Endpoint, always path
//     style (the input's PathStyle flag cannot tell "unset" from "false", and
//     every S3-compatible server we know serves path style; virtual-host-only
//     services are not supported yet). An empty region means us-east-1.
//   - gcs: the service-account key signs URLs; without an Endpoint the JSON
//     API is used with the key's OAuth credentials; with an Endpoint (a
//     GCS-compatible server or fake-gcs-server) requests go to
//     <endpoint>/storage/v1/ without authentication.
//   - azure: shared key, SAS token or connection string; the service URL is
//     https://<account>.blob.core.windows.net/ or <endpoint>/<account>/ (an
//     endpoint that already ends in /<account>, as Azurite's does, is used
//     as is).
//
// # Keys are the bucket's own
//
// gocloud.dev escapes some keys (Azure: % # ? " \ and a trailing /; every
// provider: "../" and text that looks like __0x20__), which suits buckets an
// application owns but not a hub over buckets it does not: a key must name
// the object the team sees in its console. So listing passes the raw prefix
// to the provider (BeforeList) and reports raw names (As), and reads and
// signed URLs use the provider's own client (Bucket.As) with the raw key.
// S3 kinds list without gocloud.dev: ListObjectsV2 through the AWS SDK's
// client, whose successful replies a lean reader of this package reads
// (s3list.go: the SDK's XML decoder was most of a folder import's CPU in
// the hub apart from the database's); a reply it does not understand goes
// to the SDK's decoder as it came.
//
// # Signed URLs
//
// Signing is CPU-only and never calls the provider. S3 kinds use a SigV4
// query presigner of this package (GET only, the signing key cached per day
// and region; checked against the AWS SDK's signer and against MinIO). Azure
// signs a blob SAS with the shared key; an integration with only a SAS token
// appends that token, so such URLs live as long as the token does. GCS signs
// V4 with the service account's RSA key.
//
// Every URL is valid for at least the requested lifetime and at most one
// minute longer: its start is the current minute, so the same key signed
// again within the minute gives the same URL (S3, Azure) or the cached one
// (GCS, where RSA signing is slow), and browsers can cache assets across
// page loads.
//
// # Private endpoints
//
// Unless Options.AllowPrivateEndpoints is set (the operator's
// --allow-private-endpoints), an endpoint whose host is or resolves to a
// loopback, private, link-local, unspecified or otherwise non-public address
// is refused when the integration is created, and every connection the
// package makes is checked again at dial time (net.Dialer.Control), so a DNS
// name that changes its answer later (DNS rebinding) cannot reach one either.
package storage
