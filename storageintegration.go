package labelhub

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// StorageProvider names a kind of bucket.
type StorageProvider string

// The providers.
const (
	ProviderS3           StorageProvider = "s3"            // AWS S3
	ProviderS3Compatible StorageProvider = "s3-compatible" // MinIO and other S3 APIs at a custom endpoint
	ProviderGCS          StorageProvider = "gcs"           // Google Cloud Storage
	ProviderAzure        StorageProvider = "azure"         // Azure Blob Storage
)

// Delivery is how a person's browser gets an asset's bytes.
type Delivery string

// The deliveries.
const (
	DeliverySigned Delivery = "signed" // 302 to a short-lived signed URL (needs CORS on the bucket)
	DeliveryProxy  Delivery = "proxy"  // the hub streams the bytes (buckets without CORS)
)

// Signed URL lifetimes, in seconds.
const (
	DefaultSignedURLTTL = 15 * 60
	MinSignedURLTTL     = 60
	MaxSignedURLTTL     = 7 * 24 * 3600 // S3's and GCS's maximum
)

// Storage is a storage integration: access to one bucket (Azure: one
// container) of the organisation's own. Its credentials are never part of
// this type: reads show only which credential fields are set.
type Storage struct {
	ID               string          `json:"id"`
	OrgID            string          `json:"orgId"`
	Name             string          `json:"name"`
	Provider         StorageProvider `json:"provider"`
	Bucket           string          `json:"bucket"`
	Region           string          `json:"region,omitempty"`
	Endpoint         string          `json:"endpoint,omitempty"`
	PathStyle        bool            `json:"pathStyle"`
	AccountName      string          `json:"accountName,omitempty"` // Azure storage account (not secret)
	Delivery         Delivery        `json:"delivery"`
	SignedURLTTL     int             `json:"signedUrlTtlSeconds"`
	CredentialFields []string        `json:"credentialFields"` // names of the credential fields that are set
	CreatedBy        string          `json:"createdBy"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
}

// StorageCredentials are the secrets of an integration, by provider:
// accessKeyId + secretAccessKey (S3 kinds, sessionToken optional);
// serviceAccountJSON (GCS); accountName + accountKey, accountName +
// sasToken, or connectionString (Azure).
type StorageCredentials struct {
	AccessKeyID        string `json:"accessKeyId,omitempty"`
	SecretAccessKey    string `json:"secretAccessKey,omitempty"`
	SessionToken       string `json:"sessionToken,omitempty"`
	ServiceAccountJSON string `json:"serviceAccountJSON,omitempty"`
	AccountName        string `json:"accountName,omitempty"`
	AccountKey         string `json:"accountKey,omitempty"`
	SASToken           string `json:"sasToken,omitempty"`
	ConnectionString   string `json:"connectionString,omitempty"`
}

// SetFields names the fields that are not empty, in a fixed order.
func (c StorageCredentials) SetFields() []string {
	var out []string
	for _, f := range []struct{ name, v string }{
		{"accessKeyId", c.AccessKeyID}, {"secretAccessKey", c.SecretAccessKey}, {"sessionToken", c.SessionToken},
		{"serviceAccountJSON", c.ServiceAccountJSON}, {"accountName", c.AccountName}, {"accountKey", c.AccountKey},
		{"sasToken", c.SASToken}, {"connectionString", c.ConnectionString},
	} {
		if f.v != "" {
			out = append(out, f.name)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// ServiceAccount is the part of a GCS service-account key file the hub uses.
type ServiceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// ParseServiceAccount reads a service-account key file and checks that it
// is one: type service_account, a client_email and a PEM private key.
func ParseServiceAccount(text string) (ServiceAccount, string) {
	var sa ServiceAccount
	if err := json.Unmarshal([]byte(text), &sa); err != nil {
		return sa, "is not JSON: paste the whole key file of a service account"
	}
	switch {
	case sa.Type != "service_account":
		return sa, `is not a service-account key file ("type" must be "service_account")`
	case sa.ClientEmail == "":
		return sa, "has no client_email"
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return sa, "has no PEM private_key"
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 != nil {
			return sa, "has a private_key that is not an RSA key"
		}
	}
	return sa, ""
}

// AzureConnection is what an Azure connection string names.
type AzureConnection struct {
	AccountName, AccountKey, SASToken, BlobEndpoint string
}

// ParseAzureConnectionString reads "Key=Value;…" connection strings.
func ParseAzureConnectionString(s string) (AzureConnection, string) {
	var c AzureConnection
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return c, "is not a connection string of Key=Value pairs separated by ';'"
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "accountname":
			c.AccountName = v
		case "accountkey":
			c.AccountKey = v
		case "sharedaccesssignature":
			c.SASToken = v
		case "blobendpoint":
			c.BlobEndpoint = v
		}
	}
	switch {
	case c.AccountName == "" && c.BlobEndpoint == "":
		return c, "names no AccountName"
	case c.AccountKey == "" && c.SASToken == "":
		return c, "has neither AccountKey nor SharedAccessSignature"
	case c.AccountKey != "" && !isBase64(c.AccountKey):
		return c, "has an AccountKey that is not base64"
	}
	return c, ""
}

func isBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil && s != ""
}

// StorageInput is what creating (or replacing) an integration takes.
type StorageInput struct {
	Name         string             `json:"name"`
	Provider     StorageProvider    `json:"provider"`
	Bucket       string             `json:"bucket"`
	Region       string             `json:"region"`
	Endpoint     string             `json:"endpoint"`
	PathStyle    bool               `json:"pathStyle"`
	Delivery     Delivery           `json:"delivery"`
	SignedURLTTL int                `json:"signedUrlTtlSeconds"`
	Credentials  StorageCredentials `json:"credentials"`
}

var (
	s3BucketRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	gcsBucketRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
	azureContRE   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)
	awsRegionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	awsKeyIDRE    = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	azureAcctRE   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	printableRE   = regexp.MustCompile(`^[\x21-\x7e]+$`)
	doubleDotOrIP = regexp.MustCompile(`\.\.|^\d+\.\d+\.\d+\.\d+$`)
)

// Validate checks the input's shape (no network) and fills defaults:
// delivery "signed", a 15-minute signed URL lifetime, and Azure's account
// name from a connection string. Errors name the field.
func (in *StorageInput) Validate() error {
	var p Problems
	validName(&p, "name", &in.Name)
	if in.Delivery == "" {
		in.Delivery = DeliverySigned
	}
	if in.Delivery != DeliverySigned && in.Delivery != DeliveryProxy {
		p.Add("delivery", `must be "signed" or "proxy"`)
	}
	if in.SignedURLTTL == 0 {
		in.SignedURLTTL = DefaultSignedURLTTL
	}
	if in.SignedURLTTL < MinSignedURLTTL || in.SignedURLTTL > MaxSignedURLTTL {
		p.Add("signedUrlTtlSeconds", "must be between %d and %d seconds", MinSignedURLTTL, MaxSignedURLTTL)
	}
	if in.Endpoint != "" {
		validEndpoint(&p, in.Endpoint)
	}
	c := &in.Credentials
	switch in.Provider {
	case ProviderS3, ProviderS3Compatible:
		if in.Provider == ProviderS3 {
			if !s3BucketRE.MatchString(in.Bucket) || doubleDotOrIP.MatchString(in.Bucket) {
				p.Add("bucket", "is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)")
			}
			if !awsRegionRE.MatchString(in.Region) {
				p.Add("region", "must be an AWS region such as us-east-1 or eu-west-3")
			}
			if c.AccessKeyID != "" && !awsKeyIDRE.MatchString(c.AccessKeyID) {
				p.Add("credentials.accessKeyId", "is not an AWS access key id (16-128 upper-case letters and digits, like AKIAIOSFODNN7EXAMPLE)")
			}
		} else {
			if in.Endpoint == "" {
				p.Add("endpoint", "is required for s3-compatible storage (the base URL, such as https://minio.example.com:9000)")
			}
			if len(in.Bucket) < 3 || len(in.Bucket) > 63 || !printableRE.MatchString(in.Bucket) || strings.Contains(in.Bucket, "/") {
				p.Add("bucket", "must be 3-63 characters without spaces or '/'")
			}
			if in.Region != "" && !printableRE.MatchString(in.Region) {
				p.Add("region", "must not contain spaces")
			}
			if c.AccessKeyID != "" && (len(c.AccessKeyID) < 3 || len(c.AccessKeyID) > 128 || !printableRE.MatchString(c.AccessKeyID)) {
				p.Add("credentials.accessKeyId", "must be 3-128 printable characters without spaces")
			}
		}
		if c.AccessKeyID == "" {
			p.Add("credentials.accessKeyId", "is required")
		}
		if c.SecretAccessKey == "" {
			p.Add("credentials.secretAccessKey", "is required")
		} else if len(c.SecretAccessKey) > 256 || !printableRE.MatchString(c.SecretAccessKey) {
			p.Add("credentials.secretAccessKey", "must be at most 256 printable characters without spaces")
		}
		onlyFields(&p, c, "accessKeyId", "secretAccessKey", "sessionToken")
	case ProviderGCS:
		if !gcsBucketRE.MatchString(in.Bucket) || doubleDotOrIP.MatchString(in.Bucket) {
			p.Add("bucket", "is not a GCS bucket name (3-222 lower-case letters, digits, dots, hyphens and underscores)")
		}
		if c.ServiceAccountJSON == "" {
			p.Add("credentials.serviceAccountJSON", "is required: the JSON key file of a service account")
		} else if _, msg := ParseServiceAccount(c.ServiceAccountJSON); msg != "" {
			p.Add("credentials.serviceAccountJSON", "%s", msg)
		}
		onlyFields(&p, c, "serviceAccountJSON")
	case ProviderAzure:
		if !azureContRE.MatchString(in.Bucket) {
			p.Add("bucket", "is not an Azure container name (3-63 lower-case letters, digits and single hyphens, starting with a letter or digit)")
		}
		switch {
		case c.ConnectionString != "":
			conn, msg := ParseAzureConnectionString(c.ConnectionString)
			if msg != "" {
				p.Add("credentials.connectionString", "%s", msg)
			}
			if c.AccountName == "" {
				c.AccountName = conn.AccountName
			}
			onlyFields(&p, c, "connectionString", "accountName")
		case c.AccountKey != "":
			if !isBase64(c.AccountKey) {
				p.Add("credentials.accountKey", "is not base64: copy the storage account's access key as shown in the portal")
			}
			onlyFields(&p, c, "accountName", "accountKey")
		case c.SASToken != "":
			if _, err := url.ParseQuery(strings.TrimPrefix(c.SASToken, "?")); err != nil || !strings.Contains(c.SASToken, "sig=") {
				p.Add("credentials.sasToken", "is not a SAS token (a query string with sv=…&sig=…)")
			}
			onlyFields(&p, c, "accountName", "sasToken")
		default:
			p.Add("credentials", "needs accountName with accountKey or sasToken, or a connectionString")
		}
		if c.AccountName == "" {
			p.Add("credentials.accountName", "is required")
		} else if !azureAcctRE.MatchString(c.AccountName) {
			p.Add("credentials.accountName", "is not a storage account name (3-24 lower-case letters and digits)")
		}
	default:
		p.Add("provider", `must be one of "s3", "s3-compatible", "gcs", "azure"`)
	}
	return p.Err("invalid storage integration")
}

// onlyFields reports credential fields that do not belong to the provider.
func onlyFields(p *Problems, c *StorageCredentials, allowed ...string) {
	for _, f := range c.SetFields() {
		ok := false
		for _, a := range allowed {
			ok = ok || a == f
		}
		if !ok {
			p.Add("credentials."+f, "does not belong to this provider (expected %s)", strings.Join(allowed, ", "))
		}
	}
}

func validEndpoint(p *Problems, endpoint string) {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.Add("endpoint", "is not an http:// or https:// URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		p.Add("endpoint", "must not carry credentials, a query or a fragment")
	case net.ParseIP(u.Hostname()) == nil && strings.ContainsAny(u.Hostname(), " _"):
		p.Add("endpoint", "has an invalid host name")
	}
}

// StorageRecord is a Storage with its credentials sealed for the database.
type StorageRecord struct {
	Storage
	SealedCredentials string
}

// StorageStore keeps storage integrations inside one organisation.
type StorageStore interface {
	CreateStorage(ctx context.Context, r StorageRecord) error
	GetStorage(ctx context.Context, orgID, id string) (StorageRecord, error)
	ListStorages(ctx context.Context, orgID string, p PageRequest) (Page[Storage], error)
	DeleteStorage(ctx context.Context, orgID, id string) error
}
