package storage

import (
	"context"
	"encoding/base64"
	"github.com/labelhub/labelhub/netguard"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/labelhub/labelhub"
)

var signKeys = []string{
	"a.jpg", "dir/sub/file name.png", "plus+sign/a+b.txt", "ünïcödé/日本語.jpg", "pct/50% off #1?.txt",
	"tilde~/(paren)*star!'quote", "semi;colon,comma=eq&amp", "slash//double", "trailing.",
}

// TestSigV4MatchesSDK signs with our presigner and with the AWS SDK's v4
// signer at the same time and compares every query parameter.
func TestSigV4MatchesSDK(t *testing.T) {
	for _, st := range []labelhub.Storage{
		{Provider: labelhub.ProviderS3Compatible, Bucket: "media", Endpoint: "http://127.0.0.1:9000", PathStyle: true},
		{Provider: labelhub.ProviderS3Compatible, Bucket: "media", Endpoint: "https://minio.example.com/base/", Region: "eu-1"},
		{Provider: labelhub.ProviderS3, Bucket: "media-bucket", Region: "eu-west-3"},
		{Provider: labelhub.ProviderS3, Bucket: "dotted.bucket", Region: "cn-north-1"},
	} {
		for _, token := range []string{"", "FwoGZXIvYXdzEJr//////////token+with/odd=chars"} {
			scheme, host, prefix, _ := s3Layout(st)
			s := &sigV4{scheme: scheme, host: host, pathPrefix: prefix, region: s3Region(st),
				accessKeyID: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", token: token}
			t0 := time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)
			for _, key := range signKeys {
				ours := s.presign(key, t0, 960)
				u, err := url.Parse(ours)
				if err != nil {
					t.Fatalf("%s: %v", ours, err)
				}
				req, _ := http.NewRequest(http.MethodGet, ours, nil)
				q := url.Values{"X-Amz-Expires": {"960"}}
				req.URL.RawQuery = q.Encode()
				req.URL.Opaque = "//" + host + prefix + escapePath(key)
				signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
				sdk, _, err := signer.PresignHTTP(context.Background(),
					aws.Credentials{AccessKeyID: s.accessKeyID, SecretAccessKey: s.secret, SessionToken: token},
					req, "UNSIGNED-PAYLOAD", "s3", s.region, t0)
				if err != nil {
					t.Fatal(err)
				}
				su, _ := url.Parse(sdk)
				if got, want := u.Query().Encode(), su.Query().Encode(); got != want {
					t.Fatalf("%s %q:\nours %s\nsdk  %s", host, key, got, want)
				}
				if u.EscapedPath() != prefix+escapePath(key) || u.Host != host || u.Scheme != scheme {
					t.Fatalf("URL %s: path %s", ours, u.EscapedPath())
				}
				if back, _ := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), prefix)); back != key {
					t.Fatalf("path of %q decodes to %q", key, back)
				}
			}
		}
	}
}

// TestAzureSASMatchesSDK compares our blob SAS with the azblob SDK's.
func TestAzureSASMatchesSDK(t *testing.T) {
	const account = "devstoreaccount1"
	const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	svc := NewService(nil, Options{})
	for _, endpoint := range []string{"http://127.0.0.1:10000/devstoreaccount1", ""} {
		st := labelhub.Storage{Provider: labelhub.ProviderAzure, Bucket: "media", Endpoint: endpoint, AccountName: account}
		_, p, err := openAzure(context.Background(), st, labelhub.StorageCredentials{AccountName: account, AccountKey: key}, svc)
		if err != nil {
			t.Fatal(err)
		}
		cred, _ := azblob.NewSharedKeyCredential(account, key)
		t0 := time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)
		for _, k := range append(signKeys, `back\slash`) {
			ours, err := p.signURL(k, t0, 16*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(ours)
			proto := sas.Protocol("") // http endpoints: no spr, any protocol
			if endpoint == "" {
				proto = sas.ProtocolHTTPS
			}
			qp, err := sas.BlobSignatureValues{Version: azureSASVersion, Protocol: proto, StartTime: t0, ExpiryTime: t0.Add(16 * time.Minute),
				Permissions: "r", ContainerName: "media", BlobName: k}.SignWithSharedKey(cred)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Query().Get("sig"); got != qp.Signature() {
				t.Fatalf("%q: sig %s, SDK %s (%s)", k, got, qp.Signature(), ours)
			}
			if u.Query().Get("sv") != azureSASVersion || u.Query().Get("sp") != "r" || u.Query().Get("sr") != "b" ||
				u.Query().Get("st") != "2026-03-14T15:09:00Z" || u.Query().Get("se") != "2026-03-14T15:25:00Z" {
				t.Fatalf("query %v", u.Query())
			}
			if endpoint == "" && (u.Host != account+".blob.core.windows.net" || u.Query().Get("spr") != "https") {
				t.Fatalf("URL %s", ours)
			}
		}
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 5e8, time.UTC)
	t0, valid := window(now, 15*time.Minute)
	if !t0.Equal(time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)) || valid != 16*time.Minute {
		t.Fatalf("window = %v %v", t0, valid)
	}
	if end := t0.Add(valid); end.Before(now.Add(15 * time.Minute)) {
		t.Fatal("URL would live less than its ttl")
	}
	max := labelhub.MaxSignedURLTTL * time.Second
	t0, valid = window(now, max)
	if valid != max || !t0.Equal(now.Truncate(time.Second)) {
		t.Fatalf("window at max = %v %v", t0, valid)
	}
}

func TestParseRange(t *testing.T) {
	for h, want := range map[string]string{
		"":                            "whole",
		"bytes=0-9":                   "bytes=0-9",
		"bytes=10-":                   "bytes=10-",
		"bytes=-5":                    "bytes=-5",
		"bytes= 3 - 4":                "bytes=3-4",
		"bytes=0-1,4-5":               "whole",
		"items=0-1":                   "whole",
		"bytes=5-2":                   "invalid",
		"bytes=abc":                   "invalid",
		"bytes=-0":                    "invalid",
		"bytes=-":                     "invalid",
		"bytes=1":                     "invalid",
		"bytes=+1-2":                  "invalid",
		"bytes=-1-2":                  "invalid",
		"bytes=99999999999999999999-": "invalid",
	} {
		rg, ok := parseRange(h)
		got := "invalid"
		if ok {
			got = "whole"
			if rg != nil {
				got = rg.header()
			}
		}
		if got != want {
			t.Errorf("parseRange(%q) = %s, want %s", h, got, want)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for key, want := range map[string]string{
		"a/b/photo.jpg":         `inline; filename="photo.jpg"`,
		`dir/evil"; x=".html`:   `inline; filename="evil__ x=_.html"; filename*=UTF-8''evil%22%3B%20x%3D%22.html`,
		"dir/ünï.png":           `inline; filename="_n_.png"; filename*=UTF-8''%C3%BCn%C3%AF.png`,
		"dir/line\r\nbreak.txt": `inline; filename="line__break.txt"; filename*=UTF-8''line%0D%0Abreak.txt`,
		"dir/..":                `inline; filename="file"; filename*=UTF-8''..`,
	} {
		if got := contentDisposition("inline", key); got != want {
			t.Errorf("contentDisposition(%q) = %s\nwant %s", key, got, want)
		}
	}
	for ct, active := range map[string]bool{
		"text/html; charset=utf-8": true, "image/svg+xml": true, "application/xhtml+xml": true, "application/rss+xml": true,
		"image/png": false, "video/mp4": false, "text/plain": false, "application/json": false, "garbage;;": true,
	} {
		if activeType(ct) != active {
			t.Errorf("activeType(%q) = %v", ct, !active)
		}
	}
}

func TestPageToken(t *testing.T) {
	tok := pageToken("a/", []byte("provider-token"))
	if raw, err := parsePageToken("a/", tok); err != nil || string(raw) != "provider-token" {
		t.Fatalf("round trip: %q %v", raw, err)
	}
	if _, err := parsePageToken("b/", tok); labelhub.ErrorCode(err) != labelhub.ECodeInvalid {
		t.Fatalf("token of a/ for b/: %v", err)
	}
	if pageToken("a/", nil) != "" {
		t.Fatal("no provider token must give no page token")
	}
	if _, err := parsePageToken("", base64.RawURLEncoding.EncodeToString([]byte("xx"))); err == nil {
		t.Fatal("short token accepted")
	}
}

func TestConnClosesWhenIdle(t *testing.T) {
	closed := 0
	c := &conn{closeFn: func() { closed++ }}
	if err := c.acquire(); err != nil {
		t.Fatal(err)
	}
	c.evict()
	if closed != 0 {
		t.Fatal("closed while in use")
	}
	c.release()
	if closed != 1 {
		t.Fatalf("closed %d times after the last release, want 1", closed)
	}
	if err := c.acquire(); labelhub.ErrorCode(err) != labelhub.ECodeUnavailable {
		t.Fatalf("acquire after close: %v", err)
	}
	c.evict()
	if closed != 1 {
		t.Fatal("closed twice")
	}
}

func TestPrivateAddr(t *testing.T) {
	for addr, private := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.169.254": true,
		"0.0.0.0": true, "::1": true, "::": true, "fe80::1": true, "fc00::1": true, "100.64.0.1": true,
		"::ffff:127.0.0.1": true, "64:ff9b::a00:1": true, "224.0.0.1": true, "255.255.255.255": true,
		"8.8.8.8": false, "1.1.1.1": false, "2606:4700:4700::1111": false, "64:ff9b::808:808": false,
	} {
		err := netguard.DialControl("tcp", net.JoinHostPort(addr, "443"), nil)
		if (err != nil) != private {
			t.Errorf("DialControl(%s) = %v, want private=%v", addr, err, private)
		}
		if err != nil && !strings.Contains(err.Error(), AllowPrivateFlag) {
			t.Errorf("message %q does not name %s", err, AllowPrivateFlag)
		}
	}
}
