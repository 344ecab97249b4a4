package assetref

import (
	"errors"
	"strings"
	"testing"
)

type resolveCase struct {
	name  string
	url   string
	in    *Integration
	want  Ref    // when field == ""
	field string // expected Error.Field
	msg   string // substring of Error.Reason
}

func euRef(key string) Ref { return Ref{Provider: S3, Bucket: "photos", Key: key, Region: "eu-west-1"} }
func use1Ref(key string) Ref {
	return Ref{Provider: S3, Bucket: "photos", Key: key, Region: "us-east-1"}
}
func minioRef(key string, region string) Ref {
	return Ref{Provider: S3Compatible, Bucket: "data", Key: key, Region: region}
}
func gcsRef(key string) Ref   { return Ref{Provider: GCS, Bucket: "media-bucket", Key: key} }
func azureRef(key string) Ref { return Ref{Provider: Azure, Bucket: "assets", Key: key} }

var public = Ref{Public: true}

var resolveCases = []resolveCase{
	// --- S3: accepted forms ---
	{name: "s3 virtual regional", url: "https://photos.s3.eu-west-1.amazonaws.com/cats/1.jpg", in: awsEU, want: euRef("cats/1.jpg")},
	{name: "s3 virtual legacy dash", url: "https://photos.s3-eu-west-1.amazonaws.com/cats/1.jpg", in: awsEU, want: euRef("cats/1.jpg")},
	{name: "s3 virtual dualstack", url: "https://photos.s3.dualstack.eu-west-1.amazonaws.com/a.jpg", in: awsEU, want: euRef("a.jpg")},
	{name: "s3 virtual global is us-east-1", url: "https://photos.s3.amazonaws.com/a.jpg", in: awsUSE1, want: use1Ref("a.jpg")},
	{name: "s3 virtual explicit us-east-1 with empty integration region", url: "https://photos.s3.us-east-1.amazonaws.com/a.jpg", in: awsUSE1, want: use1Ref("a.jpg")},
	{name: "s3 external-1 is us-east-1", url: "https://photos.s3-external-1.amazonaws.com/a.jpg", in: awsUSE1, want: use1Ref("a.jpg")},
	{name: "s3 path style regional", url: "https://s3.eu-west-1.amazonaws.com/photos/cats/1.jpg", in: awsEU, want: euRef("cats/1.jpg")},
	{name: "s3 path style legacy dash", url: "https://s3-eu-west-1.amazonaws.com/photos/a.jpg", in: awsEU, want: euRef("a.jpg")},
	{name: "s3 path style global", url: "https://s3.amazonaws.com/photos/a.jpg", in: awsUSE1, want: use1Ref("a.jpg")},
	{name: "s3 scheme", url: "s3://photos/cats/1.jpg", in: awsEU, want: euRef("cats/1.jpg")},
	{name: "s3 scheme upper case", url: "S3://Photos/Cats/1.JPG", in: awsEU, want: euRef("Cats/1.JPG")},
	{name: "s3 http accepted", url: "http://photos.s3.eu-west-1.amazonaws.com/a.jpg", in: awsEU, want: euRef("a.jpg")},
	{name: "s3 host case-insensitive", url: "HTTPS://PHOTOS.S3.EU-WEST-1.AMAZONAWS.COM/Key.JPG", in: awsEU, want: euRef("Key.JPG")},
	{name: "s3 default port ignored", url: "https://photos.s3.eu-west-1.amazonaws.com:443/a.jpg", in: awsEU, want: euRef("a.jpg")},
	{name: "s3 dotted bucket virtual", url: "https://my.photos.s3.us-west-2.amazonaws.com/a.jpg", in: awsDotted, want: Ref{Provider: S3, Bucket: "my.photos", Key: "a.jpg", Region: "us-west-2"}},
	{name: "s3 dotted bucket path style", url: "https://s3.us-west-2.amazonaws.com/my.photos/a.jpg", in: awsDotted, want: Ref{Provider: S3, Bucket: "my.photos", Key: "a.jpg", Region: "us-west-2"}},
	{name: "s3 china region", url: "https://photos.s3.cn-north-1.amazonaws.com.cn/a.jpg", in: awsCN, want: Ref{Provider: S3, Bucket: "photos", Key: "a.jpg", Region: "cn-north-1"}},

	// --- percent-encoding ---
	{name: "enc %20 is space", url: "https://photos.s3.eu-west-1.amazonaws.com/my%20cat.jpg", in: awsEU, want: euRef("my cat.jpg")},
	{name: "enc + is plus", url: "https://photos.s3.eu-west-1.amazonaws.com/a+b.jpg", in: awsEU, want: euRef("a+b.jpg")},
	{name: "enc %2B is plus", url: "https://photos.s3.eu-west-1.amazonaws.com/a%2Bb.jpg", in: awsEU, want: euRef("a+b.jpg")},
	{name: "enc %2F is slash", url: "https://photos.s3.eu-west-1.amazonaws.com/a%2Fb.jpg", in: awsEU, want: euRef("a/b.jpg")},
	{name: "enc %2f lower hex", url: "https://photos.s3.eu-west-1.amazonaws.com/a%2fb%c3%a9.jpg", in: awsEU, want: euRef("a/bé.jpg")},
	{name: "enc unicode", url: "https://photos.s3.eu-west-1.amazonaws.com/caf%C3%A9/%E6%97%A5%E6%9C%AC.jpg", in: awsEU, want: euRef("café/日本.jpg")},
	{name: "enc emoji", url: "gs://media-bucket/%F0%9F%99%82.png", in: gcs, want: gcsRef("🙂.png")},
	{name: "enc %25 is percent once", url: "https://photos.s3.eu-west-1.amazonaws.com/100%2520.jpg", in: awsEU, want: euRef("100%20.jpg")},
	{name: "enc %3F and %23", url: "https://photos.s3.eu-west-1.amazonaws.com/what%3F%23.jpg", in: awsEU, want: euRef("what?#.jpg")},
	{name: "enc literal sub-delims", url: "https://photos.s3.eu-west-1.amazonaws.com/a=b&c;d,e@f:g!h$(i)*.jpg", in: awsEU, want: euRef("a=b&c;d,e@f:g!h$(i)*.jpg")},
	{name: "enc %2E in name", url: "https://photos.s3.eu-west-1.amazonaws.com/a%2Ejpg", in: awsEU, want: euRef("a.jpg")},

	{name: "err literal space", url: "https://photos.s3.eu-west-1.amazonaws.com/my cat.jpg", in: awsEU, field: FieldPath, msg: "literal space in URL at offset 44: encode it as %20"},
	{name: "err trailing space", url: "https://photos.s3.eu-west-1.amazonaws.com/a.jpg ", in: awsEU, field: FieldPath, msg: "remove the leading or trailing space"},
	{name: "err leading space", url: " https://photos.s3.eu-west-1.amazonaws.com/a.jpg", in: awsEU, field: FieldURL, msg: "literal space in URL at offset 0"},
	{name: "err tab", url: "https://photos.s3.eu-west-1.amazonaws.com/a\t.jpg", in: awsEU, field: FieldPath, msg: "control character U+0009"},
	{name: "err newline", url: "https://photos.s3.eu-west-1.amazonaws.com/a.jpg\n", in: awsEU, field: FieldPath, msg: "control character U+000A"},
	{name: "err NUL", url: "https://photos.s3.eu-west-1.amazonaws.com/a\x00.jpg", in: awsEU, field: FieldPath, msg: "control character U+0000"},
	{name: "err DEL", url: "https://photos.s3.eu-west-1.amazonaws.com/a\x7f.jpg", in: awsEU, field: FieldPath, msg: "control character U+007F"},
	{name: "err invalid escape %zz", url: "https://photos.s3.eu-west-1.amazonaws.com/a%zz.jpg", in: awsEU, field: FieldPath, msg: `invalid percent-escape "%zz"`},
	{name: "err trailing percent", url: "https://photos.s3.eu-west-1.amazonaws.com/100%", in: awsEU, field: FieldPath, msg: "write a literal '%' as %25"},
	{name: "err half escape", url: "https://photos.s3.eu-west-1.amazonaws.com/a%2", in: awsEU, field: FieldPath, msg: `"%2"`},
	{name: "err latin-1 escape", url: "https://photos.s3.eu-west-1.amazonaws.com/caf%E9.jpg", in: awsEU, field: FieldKey, msg: "invalid UTF-8 (byte 0xE9)"},
	{name: "err overlong utf-8", url: "https://photos.s3.eu-west-1.amazonaws.com/%C0%AF.jpg", in: awsEU, field: FieldKey, msg: "invalid UTF-8"},
	{name: "err escaped NUL", url: "https://photos.s3.eu-west-1.amazonaws.com/a%00.jpg", in: awsEU, field: FieldKey, msg: "control character U+0000 (written %00)"},
	{name: "err escaped newline", url: "gs://media-bucket/a%0A.jpg", in: gcs, field: FieldKey, msg: "control character U+000A"},
	{name: "err raw unicode", url: "https://photos.s3.eu-west-1.amazonaws.com/café.jpg", in: awsEU, field: FieldPath, msg: "percent-encode it as %C3%A9"},
	{name: "err raw invalid utf-8", url: "https://photos.s3.eu-west-1.amazonaws.com/caf\xe9.jpg", in: awsEU, field: FieldPath, msg: "invalid UTF-8 byte 0xE9"},
	{name: "err unicode host", url: "https://phötos.s3.eu-west-1.amazonaws.com/a.jpg", in: awsEU, field: FieldHost, msg: "punycode"},
	{name: "err backslash", url: "https://photos.s3.eu-west-1.amazonaws.com/a\\b.jpg", in: awsEU, field: FieldPath, msg: "encode a backslash that is part of a name as %5C"},

	// --- query and fragment ---
	{name: "err presigned query", url: "https://photos.s3.eu-west-1.amazonaws.com/a.jpg?X-Amz-Signature=abc&X-Amz-Expires=3600", in: awsEU, field: FieldQuery, msg: "remove the query string; labelhub signs URLs itself"},
	{name: "err empty query", url: "https://photos.s3.eu-west-1.amazonaws.com/a.jpg?", in: awsEU, field: FieldQuery, msg: "%3F"},
	{name: "err query on s3 scheme", url: "s3://photos/a.jpg?versionId=1", in: awsEU, field: FieldQuery, msg: "remove the query string"},
	{name: "err fragment", url: "https://photos.s3.eu-west-1.amazonaws.com/a#1.jpg", in: awsEU, field: FieldFragment, msg: "encode it as %23"},
	{name: "err fragment public", url: "https://example.com/a.jpg#top", in: nil, field: FieldFragment, msg: "remove it"},

	// --- bucket, provider, region ---
	{name: "err bucket mismatch virtual", url: "https://other.s3.eu-west-1.amazonaws.com/a.jpg", in: awsEU, field: FieldBucket, msg: `URL names bucket "other" but storage integration uses bucket "photos"`},
	{name: "err bucket mismatch path", url: "https://s3.eu-west-1.amazonaws.com/other/a.jpg", in: awsEU, field: FieldBucket, msg: `URL names bucket "other" but storage integration uses bucket "photos"`},
	{name: "err bucket mismatch s3 scheme", url: "s3://other/a.jpg", in: awsEU, field: FieldBucket, msg: `URL names bucket "other"`},
	{name: "err bucket case path style", url: "https://storage.googleapis.com/Media-Bucket/a.jpg", in: gcs, field: FieldBucket, msg: `URL names bucket "Media-Bucket"`},
	{name: "err region missing", url: "https://photos.s3.amazonaws.com/a.jpg", in: awsEU, field: FieldRegion, msg: "add the region: https://photos.s3.eu-west-1.amazonaws.com/<key>"},
	{name: "err region missing path style", url: "https://s3.amazonaws.com/photos/a.jpg", in: awsEU, field: FieldRegion, msg: "which means us-east-1"},
	{name: "err region differs", url: "https://photos.s3.us-west-2.amazonaws.com/a.jpg", in: awsEU, field: FieldRegion, msg: `URL names region "us-west-2" but the storage integration's region is "eu-west-1"`},
	{name: "err region differs legacy", url: "https://photos.s3-us-west-2.amazonaws.com/a.jpg", in: awsUSE1, field: FieldRegion, msg: `"us-west-2"`},
	{name: "err provider gcs url for s3", url: "https://storage.googleapis.com/photos/a.jpg", in: awsEU, field: FieldProvider, msg: "URL is a Google Cloud Storage URL (gcs) but the storage integration is s3"},
	{name: "err provider s3 url for gcs", url: "https://media-bucket.s3.amazonaws.com/a.jpg", in: gcs, field: FieldProvider, msg: "AWS S3 URL (s3) but the storage integration is gcs"},
	{name: "err provider azure url for minio", url: "https://acme.blob.core.windows.net/data/a.jpg", in: minio, field: FieldProvider, msg: "(azure) but the storage integration is s3-compatible"},
	{name: "err provider gs scheme for azure", url: "gs://assets/a.jpg", in: azure, field: FieldProvider, msg: "(gcs) but the storage integration is azure"},
	{name: "err provider aws url for minio", url: "https://data.s3.amazonaws.com/a.jpg", in: minio, field: FieldProvider, msg: "write http://127.0.0.1:9000/data/<key>"},
	{name: "err aws website endpoint", url: "https://photos.s3-website-eu-west-1.amazonaws.com/a.jpg", in: awsEU, field: FieldHost, msg: "not an S3 REST endpoint"},
	{name: "err aws accelerate", url: "https://photos.s3-accelerate.amazonaws.com/a.jpg", in: awsEU, field: FieldHost, msg: "not an S3 REST endpoint"},
	{name: "err aws other port", url: "https://photos.s3.eu-west-1.amazonaws.com:8443/a.jpg", in: awsEU, field: FieldHost, msg: "unexpected port 8443"},
	{name: "err unknown host for s3", url: "https://cdn.example.com/a.jpg", in: awsEU, field: FieldHost, msg: `host "cdn.example.com" is not an AWS S3 URL: write https://photos.s3.eu-west-1.amazonaws.com/<key>`},

	// --- key rules ---
	{name: "err empty key", url: "https://photos.s3.eu-west-1.amazonaws.com/", in: awsEU, field: FieldKey, msg: `names the bucket "photos" but no object key`},
	{name: "err no path", url: "https://photos.s3.eu-west-1.amazonaws.com", in: awsEU, field: FieldKey, msg: "no object key"},
	{name: "err path style bucket only", url: "https://s3.eu-west-1.amazonaws.com/photos", in: awsEU, field: FieldKey, msg: "no object key"},
	{name: "err path style no bucket", url: "https://s3.eu-west-1.amazonaws.com/", in: awsEU, field: FieldBucket, msg: "URL names no bucket"},
	{name: "err s3 scheme no key", url: "s3://photos", in: awsEU, field: FieldKey, msg: "no object key"},
	{name: "err s3 scheme no bucket", url: "s3:///a.jpg", in: awsEU, field: FieldBucket, msg: "write s3://<bucket>/<key>"},
	{name: "err folder key", url: "https://photos.s3.eu-west-1.amazonaws.com/cats/", in: awsEU, field: FieldKey, msg: "ends with '/'"},
	{name: "err folder key via %2F", url: "https://photos.s3.eu-west-1.amazonaws.com/cats%2F", in: awsEU, field: FieldKey, msg: "ends with '/'"},
	{name: "err double slash", url: "https://photos.s3.eu-west-1.amazonaws.com/cats//1.jpg", in: awsEU, field: FieldKey, msg: `("//")`},
	{name: "err leading double slash", url: "https://photos.s3.eu-west-1.amazonaws.com//1.jpg", in: awsEU, field: FieldKey, msg: `("//")`},
	{name: "err double slash via %2F", url: "https://photos.s3.eu-west-1.amazonaws.com/a%2F%2Fb.jpg", in: awsEU, field: FieldKey, msg: `("//")`},
	{name: "err dotdot", url: "https://photos.s3.eu-west-1.amazonaws.com/cats/../secret.jpg", in: awsEU, field: FieldKey, msg: `".." path segment`},
	{name: "err dotdot encoded", url: "https://photos.s3.eu-west-1.amazonaws.com/cats/%2E%2E/secret.jpg", in: awsEU, field: FieldKey, msg: `".." path segment`},
	{name: "err dot segment", url: "https://photos.s3.eu-west-1.amazonaws.com/./a.jpg", in: awsEU, field: FieldKey, msg: `"." path segment`},
	{name: "dotdot inside a name is fine", url: "https://photos.s3.eu-west-1.amazonaws.com/a..b/..c", in: awsEU, want: euRef("a..b/..c")},
	{name: "err key too long", url: "gs://media-bucket/" + strings.Repeat("a", 1025), in: gcs, field: FieldKey, msg: "1025 bytes long"},
	{name: "key at max length", url: "gs://media-bucket/" + strings.Repeat("a", 1024), in: gcs, want: gcsRef(strings.Repeat("a", 1024))},

	// --- not a URL / scheme ---
	{name: "err empty", url: "", in: awsEU, field: FieldURL, msg: "empty URL"},
	{name: "err relative", url: "cats/1.jpg", in: awsEU, field: FieldURL, msg: "not an absolute URL"},
	{name: "err absolute path", url: "/cats/1.jpg", in: nil, field: FieldURL, msg: "not an absolute URL"},
	{name: "err scheme-relative", url: "//photos.s3.amazonaws.com/a.jpg", in: awsEU, field: FieldURL, msg: "add the scheme, e.g. https://photos"},
	{name: "err ftp", url: "ftp://example.com/a.jpg", in: nil, field: FieldScheme, msg: `unsupported scheme "ftp"`},
	{name: "err file", url: "file:///home/me/a.jpg", in: awsEU, field: FieldScheme, msg: `unsupported scheme "file"`},
	{name: "err javascript", url: "javascript:alert(1)", in: nil, field: FieldScheme, msg: `unsupported scheme "javascript"`},
	{name: "err windows path", url: "C:/images/a.jpg", in: nil, field: FieldURL, msg: "Windows file path"},
	{name: "err no slashes", url: "https:photos.s3.amazonaws.com/a.jpg", in: awsUSE1, field: FieldURL, msg: `"https:" must be followed by "//"`},
	{name: "err credentials", url: "https://user:pw@photos.s3.eu-west-1.amazonaws.com/a.jpg", in: awsEU, field: FieldHost, msg: "credentials in URL"},
	{name: "err no host", url: "https:///a.jpg", in: nil, field: FieldHost, msg: "no host"},
	{name: "err bad port", url: "http://127.0.0.1:90a0/data/a.jpg", in: minio, field: FieldHost, msg: `invalid port "90a0"`},
	{name: "err port range", url: "http://127.0.0.1:99999/data/a.jpg", in: minio, field: FieldHost, msg: "out of range"},

	// --- public (no integration) ---
	{name: "public https", url: "https://example.com/images/cat.jpg", in: nil, want: public},
	{name: "public http with query", url: "http://example.com/img?id=3&size=large", in: nil, want: public},
	{name: "public not decoded", url: "https://example.com/a%2Fb%E9", in: nil, want: public},
	{name: "public aws url", url: "https://photos.s3.amazonaws.com/a.jpg", in: nil, want: public},
	{name: "public ipv6 port", url: "http://[2001:db8::1]:8080/a.jpg", in: nil, want: public},
	{name: "public space", url: "https://example.com/my cat.jpg", in: nil, field: FieldPath, msg: "literal space in URL"},
	{name: "public invalid escape", url: "https://example.com/a%zz", in: nil, field: FieldPath, msg: "invalid percent-escape"},
	{name: "public invalid escape in query", url: "https://example.com/a?x=%", in: nil, field: FieldQuery, msg: "invalid percent-escape"},
	{name: "public s3 needs integration", url: "s3://photos/a.jpg", in: nil, field: FieldIntegration, msg: "needs a storage integration"},
	{name: "public gs needs integration", url: "gs://media-bucket/a.jpg", in: nil, field: FieldIntegration, msg: "needs a storage integration"},
	{name: "public azblob needs integration", url: "azblob://assets/a.jpg", in: nil, field: FieldIntegration, msg: "needs a storage integration"},
	{name: "public bare ipv6", url: "http://::1:9000/a.jpg", in: nil, field: FieldHost, msg: "must be in brackets"},
	{name: "public unclosed ipv6", url: "http://[::1:9000/a.jpg", in: nil, field: FieldHost, msg: "closing ']'"},
	{name: "public ipv4 in brackets", url: "http://[127.0.0.1]/a.jpg", in: nil, field: FieldHost, msg: "invalid IPv6 address"},
	{name: "public junk after ipv6", url: "http://[::1]x/a.jpg", in: nil, field: FieldHost, msg: "only :port may follow"},
	{name: "public bad host char", url: "https://exa!mple.com/a.jpg", in: nil, field: FieldHost, msg: `invalid character '!'`},

	// --- s3-compatible ---
	{name: "minio path style", url: "http://127.0.0.1:9000/data/dir/a.jpg", in: minio, want: minioRef("dir/a.jpg", "us-east-1")},
	{name: "minio s3 scheme", url: "s3://data/a.jpg", in: minio, want: minioRef("a.jpg", "us-east-1")},
	{name: "minio port leading zero", url: "http://127.0.0.1:09000/data/a.jpg", in: minio, want: minioRef("a.jpg", "us-east-1")},
	{name: "minio wrong port", url: "http://127.0.0.1:9001/data/a.jpg", in: minio, field: FieldHost, msg: "URL uses port 9001 but the storage integration's endpoint is http://127.0.0.1:9000"},
	{name: "minio wrong scheme", url: "https://127.0.0.1:9000/data/a.jpg", in: minio, field: FieldScheme, msg: "URL uses https:// but the storage integration's endpoint is http://127.0.0.1:9000"},
	{name: "minio wrong host", url: "http://10.0.0.2:9000/data/a.jpg", in: minio, field: FieldHost, msg: `host "10.0.0.2:9000" is not the storage integration's endpoint http://127.0.0.1:9000: write http://127.0.0.1:9000/data/<key>`},
	{name: "minio wrong bucket", url: "http://127.0.0.1:9000/other/a.jpg", in: minio, field: FieldBucket, msg: `URL names bucket "other" but storage integration uses bucket "data"`},
	{name: "minio query", url: "http://127.0.0.1:9000/data/a.jpg?X-Amz-Credential=x", in: minio, field: FieldQuery, msg: "labelhub signs URLs itself"},
	{name: "minio virtual host", url: "https://data.minio.example.com/a.jpg", in: minioVH, want: minioRef("a.jpg", "")},
	{name: "minio virtual host path style too", url: "https://minio.example.com/data/a.jpg", in: minioVH, want: minioRef("a.jpg", "")},
	{name: "minio virtual host default port", url: "https://data.minio.example.com:443/a%20b.jpg", in: minioVH, want: minioRef("a b.jpg", "")},
	{name: "minio virtual wrong bucket", url: "https://other.minio.example.com/a.jpg", in: minioVH, field: FieldBucket, msg: `URL names bucket "other"`},
	{name: "minio virtual refused when path style", url: "http://data.127.0.0.1:9000/a.jpg", in: minio, field: FieldHost, msg: "uses path-style URLs"},
	{name: "minio ipv6", url: "http://[::1]:9000/data/a.jpg", in: minio6, want: minioRef("a.jpg", "")},
	{name: "minio ipv6 long form", url: "http://[0:0:0:0:0:0:0:1]:9000/data/a.jpg", in: minio6, want: minioRef("a.jpg", "")},
	{name: "minio ipv6 wrong port", url: "http://[::1]/data/a.jpg", in: minio6, field: FieldHost, msg: "URL uses port (default)"},
	{name: "minio base path", url: "https://proxy.example.com:8443/minio/data/a.jpg", in: minioBase, want: minioRef("a.jpg", "")},
	{name: "minio base path missing", url: "https://proxy.example.com:8443/data/a.jpg", in: minioBase, field: FieldPath, msg: `must start with the endpoint's path "/minio"`},
	{name: "minio base path prefix only", url: "https://proxy.example.com:8443/minioX/data/a.jpg", in: minioBase, field: FieldPath, msg: "endpoint's path"},

	// --- GCS ---
	{name: "gcs path style", url: "https://storage.googleapis.com/media-bucket/v/1.mp4", in: gcs, want: gcsRef("v/1.mp4")},
	{name: "gcs virtual", url: "https://media-bucket.storage.googleapis.com/v/1.mp4", in: gcs, want: gcsRef("v/1.mp4")},
	{name: "gcs cloud.google.com", url: "https://storage.cloud.google.com/media-bucket/v/1.mp4", in: gcs, want: gcsRef("v/1.mp4")},
	{name: "gcs gs scheme", url: "gs://media-bucket/v/1.mp4", in: gcs, want: gcsRef("v/1.mp4")},
	{name: "gcs dotted bucket virtual", url: "https://media.example.com.storage.googleapis.com/a.jpg", in: gcsDotted, want: Ref{Provider: GCS, Bucket: "media.example.com", Key: "a.jpg"}},
	{name: "gcs emulator", url: "http://localhost:4443/media-bucket/a.jpg", in: gcsEmu, want: gcsRef("a.jpg")},
	{name: "gcs emulator also accepts real host", url: "https://storage.googleapis.com/media-bucket/a.jpg", in: gcsEmu, want: gcsRef("a.jpg")},
	{name: "gcs emulator host case", url: "http://LOCALHOST:4443/media-bucket/a.jpg", in: gcsEmu, want: gcsRef("a.jpg")},
	{name: "err gcs wrong bucket", url: "gs://other/a.jpg", in: gcs, field: FieldBucket, msg: `URL names bucket "other" but storage integration uses bucket "media-bucket"`},
	{name: "err gcs unknown host", url: "https://www.googleapis.com/storage/v1/b/media-bucket/o/a.jpg", in: gcs, field: FieldHost, msg: "write https://storage.googleapis.com/media-bucket/<key>"},

	// --- Azure ---
	{name: "azure blob", url: "https://acme.blob.core.windows.net/assets/dir/a.png", in: azure, want: azureRef("dir/a.png")},
	{name: "azure azblob scheme", url: "azblob://assets/dir/a.png", in: azure, want: azureRef("dir/a.png")},
	{name: "azure account case", url: "https://ACME.blob.core.windows.net/assets/a.png", in: azure, want: azureRef("a.png")},
	{name: "err azure account", url: "https://other.blob.core.windows.net/assets/a.png", in: azure, field: FieldAccount, msg: `URL names storage account "other" but storage integration uses account "acme"`},
	{name: "err azure container", url: "https://acme.blob.core.windows.net/other/a.png", in: azure, field: FieldBucket, msg: `URL names container "other" but storage integration uses container "assets"`},
	{name: "err azure no container", url: "https://acme.blob.core.windows.net/", in: azure, field: FieldBucket, msg: "URL names no container"},
	{name: "azurite", url: "http://127.0.0.1:10000/devstoreaccount1/assets/a.png", in: azurite, want: azureRef("a.png")},
	{name: "azurite endpoint with account", url: "http://127.0.0.1:10000/devstoreaccount1/assets/a.png", in: azuriteAcct, want: azureRef("a.png")},
	{name: "err azurite account", url: "http://127.0.0.1:10000/otheraccount/assets/a.png", in: azurite, field: FieldAccount, msg: `URL names storage account "otheraccount"`},
	{name: "err azurite no account", url: "http://127.0.0.1:10000/", in: azurite, field: FieldAccount, msg: "URL names no storage account"},
	{name: "err azurite no key", url: "http://127.0.0.1:10000/devstoreaccount1/assets", in: azurite, field: FieldKey, msg: `names the container "assets" but no object key`},
	{name: "err azure subdomain", url: "https://x.acme.blob.core.windows.net/assets/a.png", in: azure, field: FieldHost, msg: "is not an Azure Blob Storage URL"},

	// --- more edges ---
	{name: "s3 with custom endpoint", url: "https://s3.internal.example/photos/a.jpg", in: &Integration{Provider: S3, Bucket: "photos", Region: "eu-west-1", Endpoint: "https://s3.internal.example"}, want: euRef("a.jpg")},
	{name: "s3 with custom endpoint still takes aws form", url: "https://photos.s3.eu-west-1.amazonaws.com/a.jpg", in: &Integration{Provider: S3, Bucket: "photos", Region: "eu-west-1", Endpoint: "https://s3.internal.example"}, want: euRef("a.jpg")},
	{name: "err bad scheme chars", url: "ht_tp://example.com/a.jpg", in: nil, field: FieldURL, msg: "not an absolute URL"},
	{name: "err space in s3 bucket", url: "s3://pho tos/a.jpg", in: awsEU, field: FieldBucket, msg: "literal space in URL at offset 8"},
	{name: "err space in host", url: "https://exa mple.com/a.jpg", in: nil, field: FieldHost, msg: "literal space"},
	{name: "err space in public query", url: "https://example.com/a.jpg?q=a b", in: nil, field: FieldQuery, msg: "literal space"},
	{name: "err space in fragment", url: "https://example.com/a.jpg#a b", in: nil, field: FieldFragment, msg: "literal space"},
	{name: "err BOM", url: "\ufeffhttps://example.com/a.jpg", in: nil, field: FieldURL, msg: "byte-order mark"},
	{name: "err C1 control raw", url: "https://example.com/a\u0085.jpg", in: nil, field: FieldPath, msg: "control character U+0085"},
	{name: "err azblob no container", url: "azblob:///a.png", in: azure, field: FieldBucket, msg: "write azblob://<container>/<key>"},
	{name: "err bucket bad char", url: "gs://media!bucket/a.png", in: gcs, field: FieldBucket, msg: "invalid character '!'"},
	{name: "err windows backslash path", url: "C:\\images\\a.jpg", in: nil, field: FieldURL, msg: "Windows file path"},
	{name: "err integration endpoint host", url: "s3://b/k", in: &Integration{Provider: S3Compatible, Bucket: "b", Endpoint: "http://[::1/"}, field: FieldIntegration, msg: "closing ']'"},

	// --- broken integrations ---
	{name: "err integration provider", url: "s3://b/k", in: &Integration{Provider: "dropbox", Bucket: "b"}, field: FieldIntegration, msg: `unknown storage provider "dropbox"`},
	{name: "err integration no bucket", url: "s3://b/k", in: &Integration{Provider: S3}, field: FieldIntegration, msg: "has no bucket"},
	{name: "err integration bad region", url: "s3://b/k", in: &Integration{Provider: S3, Bucket: "b", Region: "Europe"}, field: FieldIntegration, msg: "not an AWS region"},
	{name: "err integration no endpoint", url: "s3://b/k", in: &Integration{Provider: S3Compatible, Bucket: "b"}, field: FieldIntegration, msg: "has no endpoint"},
	{name: "err integration endpoint scheme", url: "s3://b/k", in: &Integration{Provider: S3Compatible, Bucket: "b", Endpoint: "127.0.0.1:9000"}, field: FieldIntegration, msg: "endpoint"},
	{name: "err integration endpoint query", url: "s3://b/k", in: &Integration{Provider: S3Compatible, Bucket: "b", Endpoint: "http://m?x=1"}, field: FieldIntegration, msg: "no query string"},
	{name: "err integration azure account", url: "azblob://c/k", in: &Integration{Provider: Azure, Bucket: "c"}, field: FieldIntegration, msg: "no account name"},
	{name: "err integration azure bad account", url: "azblob://c/k", in: &Integration{Provider: Azure, Bucket: "c", Account: "Acme"}, field: FieldIntegration, msg: "not an Azure account name"},
}

func TestResolve(t *testing.T) {
	if len(resolveCases) < 80 {
		t.Fatalf("only %d cases", len(resolveCases))
	}
	seen := map[string]bool{}
	for _, c := range resolveCases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			got, err := Resolve(c.url, c.in)
			checkOutcome(t, c.url, got, err, c.want, c.field, c.msg)
		})
	}
}

func checkOutcome(t *testing.T, url string, got Ref, err error, want Ref, field, msg string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("Resolve(%q): unexpected error %v", url, err)
		}
		if got != want {
			t.Fatalf("Resolve(%q) = %+v, want %+v", url, got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("Resolve(%q) = %+v, want a %s error", url, got, field)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Resolve(%q): error %T is not *Error", url, err)
	}
	if e.Field != field || !strings.Contains(e.Reason, msg) {
		t.Fatalf("Resolve(%q) error = {%s: %s}, want field %s and reason containing %q", url, e.Field, e.Reason, field, msg)
	}
	if got != (Ref{}) {
		t.Fatalf("Resolve(%q) returned %+v with an error", url, got)
	}
	if e.Error() != e.Field+": "+e.Reason {
		t.Fatalf("Error() = %q", e.Error())
	}
}

func TestURL(t *testing.T) {
	for _, c := range []struct {
		in   *Integration
		key  string
		want string
	}{
		{awsEU, "cats/1.jpg", "https://photos.s3.eu-west-1.amazonaws.com/cats/1.jpg"},
		{awsEU, "my cat+dog.jpg", "https://photos.s3.eu-west-1.amazonaws.com/my%20cat%2Bdog.jpg"},
		{awsEU, "café/日.jpg", "https://photos.s3.eu-west-1.amazonaws.com/caf%C3%A9/%E6%97%A5.jpg"},
		{awsEU, "100%?#&=~_-.jpg", "https://photos.s3.eu-west-1.amazonaws.com/100%25%3F%23%26%3D~_-.jpg"},
		{awsUSE1, "a.jpg", "https://photos.s3.us-east-1.amazonaws.com/a.jpg"},
		{awsDotted, "a.jpg", "https://s3.us-west-2.amazonaws.com/my.photos/a.jpg"},
		{awsCN, "a.jpg", "https://photos.s3.cn-north-1.amazonaws.com.cn/a.jpg"},
		{minio, "a b.jpg", "http://127.0.0.1:9000/data/a%20b.jpg"},
		{minioVH, "a.jpg", "https://minio.example.com/data/a.jpg"},
		{minio6, "a.jpg", "http://[::1]:9000/data/a.jpg"},
		{minioBase, "a.jpg", "https://proxy.example.com:8443/minio/data/a.jpg"},
		{gcs, "v/1 2.mp4", "https://storage.googleapis.com/media-bucket/v/1%202.mp4"},
		{gcsDotted, "a.jpg", "https://storage.googleapis.com/media.example.com/a.jpg"},
		{gcsEmu, "a.jpg", "http://localhost:4443/media-bucket/a.jpg"},
		{azure, "dir/a b.png", "https://acme.blob.core.windows.net/assets/dir/a%20b.png"},
		{azurite, "a.png", "http://127.0.0.1:10000/devstoreaccount1/assets/a.png"},
		{azuriteAcct, "a.png", "http://127.0.0.1:10000/devstoreaccount1/assets/a.png"},
		{&Integration{Provider: "dropbox", Bucket: "b"}, "a.png", ""},
	} {
		if got := URL(*c.in, c.key); got != c.want {
			t.Errorf("URL(%s, %q) = %q, want %q", c.in.Provider, c.key, got, c.want)
		}
	}
}
