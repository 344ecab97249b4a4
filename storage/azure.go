package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"

	"github.com/labelhub/labelhub"
)

// azureSASVersion is the service version of the SAS this package signs.
const azureSASVersion = "2022-11-02"

// azureProvider reads Azure containers with the azblob client and signs
// blob SAS URLs with the account key.
type azureProvider struct {
	client       *container.Client
	account      string
	container    string
	containerURL string // without query, no trailing slash
	where        string

	key      []byte // decoded account key; nil with a SAS token only
	sasToken string // the stored SAS, without '?'
	protocol string // "https" when the service is https (then SAS URLs are https-only)
	macs     sync.Pool
}

// azureServiceURL returns the blob service URL of an integration, ending
// in '/', and the protocol to use by default.
func azureServiceURL(st labelhub.Storage, account string, conn labelhub.AzureConnection, connString string) string {
	if conn.BlobEndpoint != "" {
		return strings.TrimSuffix(conn.BlobEndpoint, "/") + "/"
	}
	if st.Endpoint != "" {
		e := strings.TrimSuffix(st.Endpoint, "/")
		if strings.HasSuffix(e, "/"+account) {
			return e + "/"
		}
		return e + "/" + account + "/"
	}
	proto, suffix := "https", "core.windows.net"
	for _, part := range strings.Split(connString, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "defaultendpointsprotocol":
			if v == "http" || v == "https" {
				proto = v
			}
		case "endpointsuffix":
			if v != "" {
				suffix = v
			}
		}
	}
	return proto + "://" + account + ".blob." + suffix + "/"
}

func openAzure(ctx context.Context, st labelhub.Storage, creds labelhub.StorageCredentials, svc *Service) (*blob.Bucket, *azureProvider, error) {
	var conn labelhub.AzureConnection
	if creds.ConnectionString != "" {
		var msg string
		if conn, msg = labelhub.ParseAzureConnectionString(creds.ConnectionString); msg != "" {
			return nil, nil, fmt.Errorf("connection string %s", msg)
		}
	}
	account := creds.AccountName
	if account == "" {
		account = conn.AccountName
	}
	if account == "" {
		account = st.AccountName
	}
	accountKey := creds.AccountKey
	if accountKey == "" {
		accountKey = conn.AccountKey
	}
	sasToken := strings.TrimPrefix(creds.SASToken, "?")
	if sasToken == "" {
		sasToken = strings.TrimPrefix(conn.SASToken, "?")
	}
	service := azureServiceURL(st, account, conn, creds.ConnectionString)
	p := &azureProvider{
		account:      account,
		container:    st.Bucket,
		containerURL: service + url.PathEscape(st.Bucket),
		where:        strings.TrimSuffix(service, "/"),
		sasToken:     sasToken,
	}
	if strings.HasPrefix(service, "https://") {
		p.protocol = "https"
	}
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: svc.transport},
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}}
	var err error
	if accountKey != "" {
		if p.key, err = base64.StdEncoding.DecodeString(accountKey); err != nil {
			return nil, nil, fmt.Errorf("the account key is not base64")
		}
		cred, err := azblob.NewSharedKeyCredential(account, accountKey)
		if err != nil {
			return nil, nil, err
		}
		p.client, err = container.NewClientWithSharedKeyCredential(p.containerURL, cred, opts)
		if err != nil {
			return nil, nil, err
		}
		key := p.key
		p.macs.New = func() any { return hmac.New(sha256.New, key) }
	} else {
		p.client, err = container.NewClientWithNoCredential(p.containerURL+"?"+sasToken, opts)
		if err != nil {
			return nil, nil, err
		}
	}
	b, err := azureblob.OpenBucket(ctx, p.client, nil)
	if err != nil {
		return nil, nil, err
	}
	return b, p, nil
}

func (p *azureProvider) location() string { return p.where }

func (p *azureProvider) objectURL(key string) string {
	return p.containerURL + "/" + escapePath(key)
}

// signURL signs a blob SAS (read only) with the account key. Without a key
// it appends the integration's SAS token: such URLs live as long as that
// token does, whatever ttl asks.
func (p *azureProvider) signURL(key string, t0 time.Time, valid time.Duration) (string, error) {
	if p.key == nil {
		return p.objectURL(key) + "?" + p.sasToken, nil
	}
	const layout = "2006-01-02T15:04:05Z"
	var buf [512]byte
	st := t0.UTC().AppendFormat(buf[:0], layout)
	n := len(st)
	b := t0.Add(valid).UTC().AppendFormat(st, layout)
	stPart, sePart := b[:n], b[n:]
	s := append(b[len(b):], "r\n"...)
	s = append(s, stPart...)
	s = append(s, '\n')
	s = append(s, sePart...)
	s = append(s, "\n/blob/"...)
	s = append(s, p.account...)
	s = append(s, '/')
	s = append(s, p.container...)
	s = append(s, '/')
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '\\' {
			c = '/'
		}
		s = append(s, c)
	}
	s = append(s, "\n\n\n"...)
	s = append(s, p.protocol...)
	s = append(s, '\n')
	s = append(s, azureSASVersion...)
	s = append(s, "\nb\n\n\n\n\n\n\n"...)
	mac := p.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(s)
	var sum [sha256.Size]byte
	sig := mac.Sum(sum[:0])
	p.macs.Put(mac)
	var sigB64 [44]byte
	base64.StdEncoding.Encode(sigB64[:], sig)

	u := make([]byte, 0, len(p.containerURL)+len(key)*3/2+160)
	u = append(u, p.containerURL...)
	u = append(u, '/')
	u = appendEscaped(u, key, true)
	u = append(u, "?sv="...)
	u = append(u, azureSASVersion...)
	if p.protocol != "" {
		u = append(u, "&spr="...)
		u = append(u, p.protocol...)
	}
	u = append(u, "&st="...)
	u = appendEscaped(u, string(stPart), false)
	u = append(u, "&se="...)
	u = appendEscaped(u, string(sePart), false)
	u = append(u, "&sr=b&sp=r&sig="...)
	u = appendEscaped(u, string(sigB64[:]), false)
	return string(u), nil
}

func (p *azureProvider) read(ctx context.Context, key string, rg *byteRange, cond conditions) (*object, error) {
	bc := p.client.NewBlobClient(key)
	opts := &azblobblob.DownloadStreamOptions{}
	if rg != nil {
		start, length := rg.start, rg.length
		if start < 0 {
			// Azure has no suffix ranges: find the size first.
			props, err := bc.GetProperties(ctx, nil)
			if err != nil {
				return nil, err
			}
			size := derefInt(props.ContentLength)
			start, length = max(size+start, 0), -1
		}
		opts.Range = azblobblob.HTTPRange{Offset: start}
		if length > 0 {
			opts.Range.Count = length
		}
		if start == 0 && length <= 0 {
			opts.Range.Count = 0 // whole object: no Range header, a 200
		}
	}
	if cond.ifNoneMatch != "" || !cond.ifModifiedSince.IsZero() {
		mac := &azblobblob.ModifiedAccessConditions{}
		if cond.ifNoneMatch != "" {
			e := azcore.ETag(cond.ifNoneMatch)
			mac.IfNoneMatch = &e
		} else {
			t := cond.ifModifiedSince
			mac.IfModifiedSince = &t
		}
		opts.AccessConditions = &azblobblob.AccessConditions{ModifiedAccessConditions: mac}
	}
	// The SDK takes a 304 for a success: look at the status itself.
	var raw *http.Response
	resp, err := bc.DownloadStream(policy.WithCaptureResponse(ctx, &raw), opts)
	if err != nil {
		return nil, err
	}
	if raw != nil && raw.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		o := &object{notModified: true}
		o.info.ETag = raw.Header.Get("ETag")
		if t, err := http.ParseTime(raw.Header.Get("Last-Modified")); err == nil {
			o.info.ModTime = t
		}
		return o, nil
	}
	o := &object{body: resp.Body, info: objectInfo{
		Size:            derefInt(resp.ContentLength),
		ContentType:     derefStr(resp.ContentType),
		CacheControl:    derefStr(resp.CacheControl),
		ContentEncoding: derefStr(resp.ContentEncoding),
	}}
	if resp.ETag != nil {
		o.info.ETag = string(*resp.ETag)
	}
	if resp.LastModified != nil {
		o.info.ModTime = *resp.LastModified
	}
	o.length = o.info.Size
	if cr := derefStr(resp.ContentRange); cr != "" {
		if start, length, total, ok := parseContentRange(cr); ok {
			o.start, o.length, o.info.Size = start, length, total
		}
	}
	o.partial = rg != nil
	return o, nil
}

func (p *azureProvider) stat(ctx context.Context, key string) (objectInfo, error) {
	props, err := p.client.NewBlobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return objectInfo{}, err
	}
	info := objectInfo{Size: derefInt(props.ContentLength), ContentType: derefStr(props.ContentType),
		CacheControl: derefStr(props.CacheControl), ContentEncoding: derefStr(props.ContentEncoding)}
	if props.ETag != nil {
		info.ETag = string(*props.ETag)
	}
	if props.LastModified != nil {
		info.ModTime = *props.LastModified
	}
	return info, nil
}

func (p *azureProvider) beforeList(prefix string, _ bool) func(func(any) bool) error {
	return func(as func(any) bool) error {
		var o *container.ListBlobsHierarchyOptions
		if as(&o) {
			o.Prefix = nil
			if prefix != "" {
				o.Prefix = &prefix
			}
		}
		return nil
	}
}

func (p *azureProvider) listed(o *blob.ListObject) (name, contentType string) {
	var item container.BlobItem
	if o.As(&item) {
		if item.Properties != nil {
			contentType = derefStr(item.Properties.ContentType)
		}
		return derefStr(item.Name), contentType
	}
	var bp container.BlobPrefix
	if o.As(&bp) {
		return derefStr(bp.Name), ""
	}
	return o.Key, ""
}

func (p *azureProvider) close() error { return nil }

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
