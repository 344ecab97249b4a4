package assetref

// Storage integrations shared by the tests, by name (the names are used in
// testdata/asseturls/cases.txt).
var (
	awsEU       = &Integration{Provider: S3, Bucket: "photos", Region: "eu-west-1"}
	awsUSE1     = &Integration{Provider: S3, Bucket: "photos"} // empty region: us-east-1
	awsDotted   = &Integration{Provider: S3, Bucket: "my.photos", Region: "us-west-2"}
	awsCN       = &Integration{Provider: S3, Bucket: "photos", Region: "cn-north-1"}
	minio       = &Integration{Provider: S3Compatible, Bucket: "data", Region: "us-east-1", Endpoint: "http://127.0.0.1:9000", PathStyle: true}
	minioVH     = &Integration{Provider: S3Compatible, Bucket: "data", Endpoint: "https://minio.example.com"}
	minio6      = &Integration{Provider: S3Compatible, Bucket: "data", Endpoint: "http://[::1]:9000", PathStyle: true}
	minioBase   = &Integration{Provider: S3Compatible, Bucket: "data", Endpoint: "https://proxy.example.com:8443/minio/", PathStyle: true}
	gcs         = &Integration{Provider: GCS, Bucket: "media-bucket"}
	gcsDotted   = &Integration{Provider: GCS, Bucket: "media.example.com"}
	gcsEmu      = &Integration{Provider: GCS, Bucket: "media-bucket", Endpoint: "http://localhost:4443"}
	azure       = &Integration{Provider: Azure, Bucket: "assets", Account: "acme"}
	azurite     = &Integration{Provider: Azure, Bucket: "assets", Account: "devstoreaccount1", Endpoint: "http://127.0.0.1:10000"}
	azuriteAcct = &Integration{Provider: Azure, Bucket: "assets", Account: "devstoreaccount1", Endpoint: "http://127.0.0.1:10000/devstoreaccount1"}
)

var integrations = map[string]*Integration{
	"public":      nil,
	"awsEU":       awsEU,
	"awsUSE1":     awsUSE1,
	"awsDotted":   awsDotted,
	"awsCN":       awsCN,
	"minio":       minio,
	"minioVH":     minioVH,
	"minio6":      minio6,
	"minioBase":   minioBase,
	"gcs":         gcs,
	"gcsDotted":   gcsDotted,
	"gcsEmu":      gcsEmu,
	"azure":       azure,
	"azurite":     azurite,
	"azuriteAcct": azuriteAcct,
}

// integrationList is integrations in a fixed order (the fuzz target picks
// one by index); index 0 is nil (public).
var integrationList = []*Integration{nil, awsEU, awsUSE1, awsDotted, awsCN, minio, minioVH, minio6, minioBase, gcs, gcsDotted, gcsEmu, azure, azurite, azuriteAcct}
