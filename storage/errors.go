package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/netguard"
)

// kind is what went wrong with a provider call, whatever the provider.
type kind int

const (
	kUnknown       kind = iota
	kUnreachable        // no connection, DNS, TLS, timeout
	kPrivate            // refused by the private-address guard
	kAuth               // the credentials themselves were refused
	kDenied             // the credentials are known but lack a permission
	kBucketMissing      // no such bucket / container
	kWrongRegion        // S3: the bucket lives in another region
	kObjectMissing      // no such object
	kRange              // range not satisfiable
	kNotModified        // 304
	kBadToken           // the provider refused a page token
)

// failure is a classified provider error: kind, the provider's own code and
// first line of message (never a stack or a dump of the response).
type failure struct {
	kind   kind
	status int
	code   string
	detail string
	region string      // kWrongRegion: where the bucket is
	header http.Header // the provider's answer's headers, when known
}

var (
	xmlMessage     = regexp.MustCompile(`<Message>([^<]*)</Message>`)
	expectedRegion = regexp.MustCompile(`expecting '([a-z0-9-]+)'`)
)

// firstLine trims a provider message to its first line, at most 200 bytes.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// classify reads err from any provider's client.
func classify(err error) failure {
	var f failure
	var rngErr *rangeError
	if errors.As(err, &rngErr) {
		f.kind = kRange
		return f
	}
	var priv *netguard.RefusedError
	if errors.As(err, &priv) {
		f.kind, f.detail = kPrivate, priv.Error()
		return f
	}

	// AWS.
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		f.status = re.HTTPStatusCode()
		if re.Response != nil {
			f.header = re.Response.Header
			f.region = re.Response.Header.Get("X-Amz-Bucket-Region")
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		f.code, f.detail = ae.ErrorCode(), firstLine(ae.ErrorMessage())
		switch f.code {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired",
			"InvalidSecurity", "InvalidClientTokenId", "XAmzContentSHA256Mismatch", "AccessKeyDisabled":
			f.kind = kAuth
		case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
			f.kind = kWrongRegion
			if m := expectedRegion.FindStringSubmatch(f.detail); m != nil && f.region == "" {
				f.region = m[1]
			}
		case "AccessDenied", "AllAccessDisabled", "AccountProblem", "Forbidden":
			f.kind = kDenied
		case "NoSuchBucket":
			f.kind = kBucketMissing
		case "NoSuchKey", "NotFound":
			f.kind = kObjectMissing
		case "InvalidRange":
			f.kind = kRange
		case "NotModified":
			f.kind = kNotModified
		}
		if f.kind != kUnknown {
			return f
		}
	}
	if re != nil {
		switch f.status {
		case http.StatusNotModified:
			f.kind = kNotModified
		case http.StatusNotFound:
			f.kind = kObjectMissing
		case http.StatusForbidden:
			f.kind = kDenied
		case http.StatusRequestedRangeNotSatisfiable:
			f.kind = kRange
		case http.StatusMovedPermanently:
			f.kind = kWrongRegion
		}
		if f.kind != kUnknown {
			return f
		}
	}

	// Azure.
	var az *azcore.ResponseError
	if errors.As(err, &az) {
		f.status, f.code = az.StatusCode, az.ErrorCode
		if az.RawResponse != nil {
			f.header = az.RawResponse.Header
		}
		if m := xmlMessage.FindStringSubmatch(az.Error()); m != nil {
			f.detail = firstLine(m[1])
		}
		switch f.code {
		case "AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation":
			f.kind = kAuth
		case "AuthorizationFailure":
			// Azurite says this for a wrong key ("Server failed to
			// authenticate the request"); Azure for a firewall or IP rule.
			f.kind = kDenied
			if strings.Contains(f.detail, "authenticate") {
				f.kind = kAuth
			}
		case "AuthorizationPermissionMismatch", "AuthorizationSourceIPMismatch",
			"AuthorizationProtocolMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch",
			"InsufficientAccountPermissions", "AccountIsDisabled":
			f.kind = kDenied
		case "ContainerNotFound", "ContainerBeingDeleted", "ContainerDisabled":
			f.kind = kBucketMissing
		case "BlobNotFound":
			f.kind = kObjectMissing
		case "InvalidRange":
			f.kind = kRange
		case "OutOfRangeInput", "InvalidQueryParameterValue":
			f.kind = kBadToken
		}
		if f.kind == kUnknown {
			switch f.status {
			case http.StatusNotModified:
				f.kind = kNotModified
			case http.StatusRequestedRangeNotSatisfiable:
				f.kind = kRange
			case http.StatusForbidden:
				f.kind = kDenied
			case http.StatusNotFound:
				f.kind = kObjectMissing
			}
		}
		return f
	}

	// Google.
	if errors.Is(err, storage.ErrBucketNotExist) {
		f.kind, f.status = kBucketMissing, http.StatusNotFound
		return f
	}
	if errors.Is(err, storage.ErrObjectNotExist) {
		f.kind, f.status = kObjectMissing, http.StatusNotFound
		return f
	}
	var rt *oauth2.RetrieveError
	if errors.As(err, &rt) {
		f.kind, f.code = kAuth, rt.ErrorCode
		f.detail = firstLine(rt.ErrorDescription)
		if f.detail == "" {
			f.detail = firstLine(string(rt.Body))
		}
		return f
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		f.status, f.detail = ge.Code, firstLine(ge.Message)
		if len(ge.Errors) > 0 {
			f.code = ge.Errors[0].Reason
		}
		switch ge.Code {
		case http.StatusUnauthorized:
			f.kind = kAuth
		case http.StatusForbidden:
			f.kind = kDenied
		case http.StatusNotFound:
			f.kind = kObjectMissing
		case http.StatusRequestedRangeNotSatisfiable:
			f.kind = kRange
		case http.StatusNotModified:
			f.kind = kNotModified
		case http.StatusBadRequest:
			if strings.Contains(strings.ToLower(ge.Message), "token") {
				f.kind = kBadToken
			}
		}
		if f.kind != kUnknown {
			return f
		}
	}

	// The network.
	if r := netReason(err); r != "" {
		f.kind, f.detail = kUnreachable, r
		return f
	}
	if errors.Is(err, context.DeadlineExceeded) {
		f.kind, f.detail = kUnreachable, "no answer"
		return f
	}
	if f.detail == "" {
		f.detail = "the provider answered with an unexpected error"
		if f.status != 0 {
			f.detail += fmt.Sprintf(" (HTTP %d%s)", f.status, codeSuffix(f.code))
		}
	}
	return f
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return " " + code
}

// netReason names a network failure in a few words, or "".
func netReason(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "no such host " + dnsErr.Name
		}
		return "cannot resolve " + dnsErr.Name
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return "the TLS certificate is not trusted: " + firstLine(certErr.Err.Error())
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "the TLS certificate is for another host name"
	}
	var recHdr tls.RecordHeaderError
	if errors.As(err, &recHdr) {
		return "the endpoint does not speak TLS (use http://, or the right port)"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		if op.Timeout() {
			return "no answer (timed out)"
		}
		return op.Op + " failed"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer (timed out)"
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return "the endpoint speaks plain HTTP: use http://"
	}
	return ""
}

// opError turns a provider error of a Bucket operation into a labelhub
// error a person can act on; never a stack, never a raw response.
func (b *Bucket) opError(err error, op, key string) error {
	if e := new(labelhub.Error); errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "the request was cancelled")
	}
	f := classify(err)
	name := b.Storage.Name
	switch f.kind {
	case kObjectMissing:
		if op == "list" {
			return labelhub.Errorf(labelhub.ECodeUnavailable, "storage integration %q: %s", name, b.bucketMissing())
		}
		return labelhub.NotFound(fmt.Sprintf("object %q in storage integration %q", key, name))
	case kBucketMissing:
		return labelhub.Errorf(labelhub.ECodeUnavailable, "storage integration %q: %s", name, b.bucketMissing())
	case kBadToken:
		return labelhub.Invalid("invalid page token", labelhub.FieldError{Path: "pageToken", Message: "was refused by the provider; start again without it"})
	case kRange:
		return labelhub.Invalid("range not satisfiable", labelhub.FieldError{Path: "range", Message: "is outside the object"})
	}
	return labelhub.Errorf(labelhub.ECodeUnavailable, "storage integration %q: %s; run Validate for the details", name, b.failureMessage(f, op))
}

// failureMessage says in one sentence what went wrong and what to change.
func (b *Bucket) failureMessage(f failure, op string) string {
	switch f.kind {
	case kUnreachable:
		return fmt.Sprintf("cannot reach %s: %s", b.p.location(), f.detail)
	case kPrivate:
		return fmt.Sprintf("cannot reach %s: %s", b.p.location(), f.detail)
	case kAuth:
		return b.authMessage(f)
	case kDenied:
		return b.deniedMessage(f, op)
	case kBucketMissing:
		return b.bucketMissing()
	case kWrongRegion:
		return b.regionMessage(f)
	}
	return fmt.Sprintf("%s failed: %s", op, providerSaid(f))
}

// providerSaid quotes the provider: "S3 said AccessDenied: …".
func providerSaid(f failure) string {
	s := f.code
	if f.detail != "" {
		if s != "" {
			s += ": "
		}
		s += f.detail
	}
	if s == "" {
		s = fmt.Sprintf("HTTP %d", f.status)
	}
	return s
}

func (b *Bucket) providerName() string {
	switch b.Storage.Provider {
	case labelhub.ProviderS3:
		return "S3"
	case labelhub.ProviderS3Compatible:
		return "the S3 endpoint"
	case labelhub.ProviderGCS:
		return "GCS"
	default:
		return "Azure"
	}
}

func (b *Bucket) authMessage(f failure) string {
	said := fmt.Sprintf(" (%s said %s)", b.providerName(), providerSaid(f))
	switch b.Storage.Provider {
	case labelhub.ProviderGCS:
		email := ""
		if gp, ok := b.p.(*gcsProvider); ok {
			email = " " + gp.email
		}
		return "the service-account key was refused: check that the key of" + email + " is current and the account is enabled, or create a new key" + said
	case labelhub.ProviderAzure:
		return "the account key or SAS was refused: check the storage account name and key, or renew the SAS token" + said
	default:
		return "access denied: check the access key id and secret" + said
	}
}

func (b *Bucket) deniedMessage(f failure, op string) string {
	said := fmt.Sprintf(" (%s said %s)", b.providerName(), providerSaid(f))
	bucket := b.Storage.Bucket
	switch b.Storage.Provider {
	case labelhub.ProviderGCS:
		email := "the service account"
		if gp, ok := b.p.(*gcsProvider); ok {
			email = gp.email
		}
		perm := "storage.objects.get"
		if op == "list" {
			perm = "storage.objects.list"
		}
		return fmt.Sprintf("the service account lacks %s on bucket %q: grant %s the Storage Object Viewer role (roles/storage.objectViewer) on the bucket%s", perm, bucket, email, said)
	case labelhub.ProviderAzure:
		perm := "Read (r)"
		if op == "list" {
			perm = "List (l)"
		}
		return fmt.Sprintf("the account key or SAS does not allow this on container %q: give the SAS token the %s permission on the container, or use the account key%s", bucket, perm, said)
	default:
		if op == "list" {
			return fmt.Sprintf("access denied listing bucket %q: allow s3:ListBucket on arn:aws:s3:::%s for this access key%s", bucket, bucket, said)
		}
		return fmt.Sprintf("access denied reading from bucket %q: allow s3:GetObject on arn:aws:s3:::%s/* for this access key%s", bucket, bucket, said)
	}
}

func (b *Bucket) bucketMissing() string {
	switch b.Storage.Provider {
	case labelhub.ProviderAzure:
		return fmt.Sprintf("container %q does not exist in storage account %s (%s): check the container name", b.Storage.Bucket, b.Storage.AccountName, b.p.location())
	case labelhub.ProviderS3:
		return fmt.Sprintf("bucket %q does not exist in %s: check the bucket name and region", b.Storage.Bucket, b.p.location())
	default:
		return fmt.Sprintf("bucket %q does not exist in %s: check the bucket name", b.Storage.Bucket, b.p.location())
	}
}

func (b *Bucket) regionMessage(f failure) string {
	if f.region != "" {
		return fmt.Sprintf("bucket %q is in region %s, not %s: change the region to %s", b.Storage.Bucket, f.region, s3Region(b.Storage), f.region)
	}
	return fmt.Sprintf("bucket %q is not in region %s: change the region to the bucket's (S3 said %s)", b.Storage.Bucket, s3Region(b.Storage), providerSaid(f))
}

// unreachable formats the Validate message for an endpoint that did not
// answer in time.
func unreachable(where string, timeout time.Duration, detail string) string {
	return fmt.Sprintf("cannot reach %s within %s: %s", where, timeout, detail)
}
