package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// secretText is a random string that no answer may contain.
func secretText(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// testServiceAccount is a service-account key file with a fresh RSA key; it
// returns the file and a line of its private key, to look for in answers.
func testServiceAccount(t *testing.T) (file, keyLine string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, _ := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "acme",
		"private_key_id": secretText("kid"),
		"private_key":    keyPEM,
		"client_email":   "hub@acme.iam.gserviceaccount.com",
		"token_uri":      "https://oauth2.googleapis.com/token",
	})
	return string(b), strings.Split(keyPEM, "\n")[3]
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantNoSecrets fails when the answer contains any of the secrets.
func wantNoSecrets(t *testing.T, r response, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("%s: the answer contains the secret %q", r, s)
		}
	}
}

func TestStorageCreateEveryProviderWithoutSecrets(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		saJSON, saLine := testServiceAccount(t)
		s3Secret, s3Token, minioSecret := secretText("s3s-"), secretText("tok-"), secretText("minio-")
		azKey := base64.StdEncoding.EncodeToString([]byte(secretText("azure-key-")))
		sasSig := secretText("sig")
		connKey := base64.StdEncoding.EncodeToString([]byte(secretText("conn-key-")))
		conn := "DefaultEndpointsProtocol=https;AccountName=acmeconn;AccountKey=" + connKey + ";EndpointSuffix=core.windows.net"
		cases := []struct {
			name    string
			in      map[string]any
			fields  []string
			secrets []string
			check   func(t *testing.T, st labelhub.Storage)
		}{
			{"s3", map[string]any{"name": "AWS", "provider": "s3", "bucket": "acme-street.scenes", "region": "eu-west-1",
				"credentials": map[string]string{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": s3Secret}},
				[]string{"accessKeyId", "secretAccessKey"}, []string{s3Secret, "AKIAIOSFODNN7EXAMPLE"},
				func(t *testing.T, st labelhub.Storage) {
					if st.Region != "eu-west-1" || st.Delivery != labelhub.DeliverySigned || st.SignedURLTTL != labelhub.DefaultSignedURLTTL {
						t.Errorf("defaults: %+v", st)
					}
				}},
			{"s3 session token", map[string]any{"name": "AWS STS", "provider": "s3", "bucket": "acme-sts", "region": "us-east-1", "delivery": "proxy",
				"credentials": map[string]string{"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "secretAccessKey": s3Secret, "sessionToken": s3Token}},
				[]string{"accessKeyId", "secretAccessKey", "sessionToken"}, []string{s3Secret, s3Token, "ASIAIOSFODNN7EXAMPLE"},
				func(t *testing.T, st labelhub.Storage) {
					if st.Delivery != labelhub.DeliveryProxy {
						t.Errorf("delivery = %q", st.Delivery)
					}
				}},
			{"s3-compatible", map[string]any{"name": "MinIO", "provider": "s3-compatible", "bucket": "Data_Sets", "endpoint": "https://minio.example.com:9000",
				"signedUrlTtlSeconds": 3600, "credentials": map[string]string{"accessKeyId": "labelhub-minio-user", "secretAccessKey": minioSecret}},
				[]string{"accessKeyId", "secretAccessKey"}, []string{minioSecret, "labelhub-minio-user"},
				func(t *testing.T, st labelhub.Storage) {
					if st.Endpoint != "https://minio.example.com:9000" || !st.PathStyle || st.SignedURLTTL != 3600 {
						t.Errorf("s3-compatible: %+v", st)
					}
				}},
			{"gcs", map[string]any{"name": "GCS", "provider": "gcs", "bucket": "acme_images.eu",
				"credentials": map[string]string{"serviceAccountJSON": saJSON}},
				[]string{"serviceAccountJSON"}, []string{saLine, "private_key", "PRIVATE KEY"}, nil},
			{"azure key", map[string]any{"name": "Azure", "provider": "azure", "bucket": "scans-2024",
				"credentials": map[string]string{"accountName": "acmevision", "accountKey": azKey}},
				[]string{"accountName", "accountKey"}, []string{azKey},
				func(t *testing.T, st labelhub.Storage) {
					if st.AccountName != "acmevision" {
						t.Errorf("accountName = %q", st.AccountName)
					}
				}},
			{"azure sas", map[string]any{"name": "Azure SAS", "provider": "azure", "bucket": "scans",
				"credentials": map[string]string{"accountName": "acmevision", "sasToken": "?sv=2022-11-02&sp=rl&sig=" + sasSig}},
				[]string{"accountName", "sasToken"}, []string{sasSig}, nil},
			{"azure connection string", map[string]any{"name": "Azure conn", "provider": "azure", "bucket": "scans",
				"credentials": map[string]string{"connectionString": conn}},
				[]string{"accountName", "connectionString"}, []string{connKey, "AccountKey="},
				func(t *testing.T, st labelhub.Storage) {
					if st.AccountName != "acmeconn" {
						t.Errorf("accountName from the connection string = %q", st.AccountName)
					}
				}},
		}
		var all []string
		for _, c := range cases {
			all = append(all, c.secrets...)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				h := h.with(t)
				var st labelhub.Storage
				r := h.must(h.rootKey, "POST", "/api/v1/storages", jsonBody(t, c.in), 201, &st)
				wantNoSecrets(t, r, c.secrets)
				if !labelhub.ValidID(st.ID) || st.OrgID != h.rootOrg.ID || st.CreatedBy != h.rootAdmin.ID || st.Name != c.in["name"] ||
					string(st.Provider) != c.in["provider"] || st.Bucket != c.in["bucket"] || st.CreatedAt.IsZero() {
					t.Errorf("created %+v", st)
				}
				if !slices.Equal(st.CredentialFields, c.fields) {
					t.Errorf("credentialFields = %q, want %q", st.CredentialFields, c.fields)
				}
				// No credentials object at all in the answer.
				var raw map[string]json.RawMessage
				_ = json.Unmarshal(r.Body, &raw)
				if _, ok := raw["credentials"]; ok {
					t.Errorf("%s: the answer has a credentials field", r)
				}
				if c.check != nil {
					c.check(t, st)
				}
				var got labelhub.Storage
				r = h.must(h.rootKey, "GET", "/api/v1/storages/"+st.ID, "", 200, &got)
				wantNoSecrets(t, r, c.secrets)
				if got.ID != st.ID || !slices.Equal(got.CredentialFields, c.fields) || got.Bucket != st.Bucket {
					t.Errorf("GET = %+v, want %+v", got, st)
				}
				// Sealed at rest: the database row holds no secret either.
				rec, err := s.GetStorage(context.Background(), h.rootOrg.ID, st.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, secret := range c.secrets {
					if strings.Contains(rec.SealedCredentials, secret) {
						t.Errorf("the stored credentials contain %q in clear", secret)
					}
				}
			})
		}
		var page labelhub.Page[labelhub.Storage]
		r := h.must(h.rootKey, "GET", "/api/v1/storages", "", 200, &page)
		wantNoSecrets(t, r, all)
		if len(page.Items) != len(cases) {
			t.Fatalf("list has %d items, want %d", len(page.Items), len(cases))
		}
		// Paging works like every list.
		var first labelhub.Page[labelhub.Storage]
		h.must(h.rootKey, "GET", "/api/v1/storages?limit=4", "", 200, &first)
		var second labelhub.Page[labelhub.Storage]
		h.must(h.rootKey, "GET", "/api/v1/storages?limit=4&cursor="+url.QueryEscape(first.NextCursor), "", 200, &second)
		if len(first.Items) != 4 || len(second.Items) != len(cases)-4 || second.NextCursor != "" || first.Items[0].ID != page.Items[0].ID {
			t.Fatalf("pages: %d then %d items (next %q)", len(first.Items), len(second.Items), second.NextCursor)
		}

		// Delete.
		id := page.Items[0].ID
		h.must(h.rootKey, "DELETE", "/api/v1/storages/"+id, "", 204, nil)
		wantError(t, h.as(h.rootKey, "GET", "/api/v1/storages/"+id, ""), http.StatusNotFound, labelhub.ECodeNotFound)
		wantError(t, h.as(h.rootKey, "DELETE", "/api/v1/storages/"+id, ""), http.StatusNotFound, labelhub.ECodeNotFound)
	})
}

func TestStorageCreateRefusesBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		saJSON, _ := testServiceAccount(t)
		s3creds := `"credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"hunter2-top-secret"}`
		minio := `"provider":"s3-compatible","endpoint":"https://minio.example.com",` + s3creds
		azure := `"provider":"azure","credentials":{"accountName":"acmevision","accountKey":"a2V5"}`
		for _, c := range []struct {
			name, body string
			path, msg  string
		}{
			{"s3 bucket upper case", `{"name":"x","provider":"s3","bucket":"My_Bucket","region":"eu-west-1",` + s3creds + `}`, "bucket", "is not an S3 bucket name"},
			{"s3 bucket an IP address", `{"name":"x","provider":"s3","bucket":"192.168.1.10","region":"eu-west-1",` + s3creds + `}`, "bucket", "is not an S3 bucket name"},
			{"s3 bucket with ..", `{"name":"x","provider":"s3","bucket":"a..b","region":"eu-west-1",` + s3creds + `}`, "bucket", "is not an S3 bucket name"},
			{"s3 bucket too short", `{"name":"x","provider":"s3","bucket":"ab","region":"eu-west-1",` + s3creds + `}`, "bucket", "is not an S3 bucket name"},
			{"s3 without region", `{"name":"x","provider":"s3","bucket":"acme",` + s3creds + `}`, "region", "must be an AWS region"},
			{"s3-compatible bucket with a slash", `{"name":"x","bucket":"a/b",` + minio + `}`, "bucket", "without spaces or '/'"},
			{"gcs bucket upper case", `{"name":"x","provider":"gcs","bucket":"Acme","credentials":{"serviceAccountJSON":` + strconvQuote(saJSON) + `}}`, "bucket", "is not a GCS bucket name"},
			{"azure container with --", `{"name":"x","bucket":"scans--2024",` + azure + `}`, "bucket", "is not an Azure container name"},
			{"azure container with _", `{"name":"x","bucket":"scans_2024",` + azure + `}`, "bucket", "is not an Azure container name"},
			{"endpoint not a URL", `{"name":"x","bucket":"data","provider":"s3-compatible","endpoint":"minio.example.com:9000",` + s3creds + `}`, "endpoint", "is not an http:// or https:// URL"},
			{"endpoint ftp", `{"name":"x","bucket":"data","provider":"s3-compatible","endpoint":"ftp://minio.example.com",` + s3creds + `}`, "endpoint", "is not an http:// or https:// URL"},
			{"endpoint with credentials", `{"name":"x","bucket":"data","provider":"s3-compatible","endpoint":"https://u:p@minio.example.com",` + s3creds + `}`, "endpoint", "must not carry credentials"},
			{"s3-compatible without endpoint", `{"name":"x","bucket":"data","provider":"s3-compatible",` + s3creds + `}`, "endpoint", "is required for s3-compatible"},
			{"aws key id of the wrong shape", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","credentials":{"accessKeyId":"akia-not-a-key","secretAccessKey":"s"}}`,
				"credentials.accessKeyId", "is not an AWS access key id"},
			{"s3 without secret", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE"}}`,
				"credentials.secretAccessKey", "is required"},
			{"gcs JSON not a service account", `{"name":"x","provider":"gcs","bucket":"acme","credentials":{"serviceAccountJSON":"{\"type\":\"authorized_user\",\"client_id\":\"x\"}"}}`,
				"credentials.serviceAccountJSON", "is not a service-account key file"},
			{"gcs not JSON", `{"name":"x","provider":"gcs","bucket":"acme","credentials":{"serviceAccountJSON":"hello"}}`,
				"credentials.serviceAccountJSON", "is not JSON"},
			{"azure key not base64", `{"name":"x","provider":"azure","bucket":"scans","credentials":{"accountName":"acmevision","accountKey":"not base64!"}}`,
				"credentials.accountKey", "is not base64"},
			{"azure account name", `{"name":"x","provider":"azure","bucket":"scans","credentials":{"accountName":"Acme_Vision","accountKey":"a2V5"}}`,
				"credentials.accountName", "is not a storage account name"},
			{"azure no credentials", `{"name":"x","provider":"azure","bucket":"scans","credentials":{"accountName":"acmevision"}}`,
				"credentials", "needs accountName with accountKey or sasToken"},
			{"unknown provider", `{"name":"x","provider":"dropbox","bucket":"acme",` + s3creds + `}`, "provider", `must be one of "s3", "s3-compatible", "gcs", "azure"`},
			{"no provider", `{"name":"x","bucket":"acme",` + s3creds + `}`, "provider", "must be one of"},
			{"gcs credentials on s3", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"s","serviceAccountJSON":` + strconvQuote(saJSON) + `}}`,
				"credentials.serviceAccountJSON", "does not belong to this provider"},
			{"s3 credentials on azure", `{"name":"x","provider":"azure","bucket":"scans","credentials":{"accountName":"acmevision","accountKey":"a2V5","secretAccessKey":"s"}}`,
				"credentials.secretAccessKey", "does not belong to this provider"},
			{"azure credentials on gcs", `{"name":"x","provider":"gcs","bucket":"acme","credentials":{"serviceAccountJSON":` + strconvQuote(saJSON) + `,"accountKey":"a2V5"}}`,
				"credentials.accountKey", "does not belong to this provider"},
			{"unknown field", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","colour":"red",` + s3creds + `}`, "colour", "is not a field"},
			{"unknown credential field", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","password":"p"}}`,
				"credentials.password", "is not a field"},
			{"bucket not a string", `{"name":"x","provider":"s3","bucket":5,"region":"eu-west-1",` + s3creds + `}`, "bucket", "must be a string"},
			{"no name", `{"provider":"s3","bucket":"acme","region":"eu-west-1",` + s3creds + `}`, "name", ""},
			{"bad delivery", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","delivery":"email",` + s3creds + `}`, "delivery", `must be "signed" or "proxy"`},
			{"signed URL lifetime", `{"name":"x","provider":"s3","bucket":"acme","region":"eu-west-1","signedUrlTtlSeconds":5,` + s3creds + `}`, "signedUrlTtlSeconds", "must be between"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := h.with(t)
				r := h.as(h.rootKey, "POST", "/api/v1/storages", c.body)
				e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
				wantDetail(t, r, e, c.path, c.msg)
				wantNoSecrets(t, r, []string{"hunter2-top-secret", "a2V5"})
			})
		}
		var page labelhub.Page[labelhub.Storage]
		h.must(h.rootKey, "GET", "/api/v1/storages", "", 200, &page)
		if len(page.Items) != 0 {
			t.Fatalf("refused input stored %d integrations", len(page.Items))
		}
	})
}

// strconvQuote quotes s as a JSON string.
func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const awsStorage = `{"name":"AWS","provider":"s3","bucket":"acme-data","region":"eu-west-1","credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"secret"}}`

func TestStorageRoles(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		var st labelhub.Storage
		h.must(h.rootKey, "POST", "/api/v1/storages", awsStorage, 201, &st)
		_, labeler := h.newUser("lea@example.com", labelhub.RoleLabeler)
		_, reviewer := h.newUser("rey@example.com", labelhub.RoleReviewer)
		_, pm := h.newUser("pam@example.com", labelhub.RoleProjectManager)

		for _, key := range []string{labeler, reviewer} {
			r := h.as(key, "POST", "/api/v1/storages", awsStorage)
			e := wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
			if !strings.Contains(e.Error.Message, "storage") {
				t.Errorf("%s: the message should say what is not allowed", r)
			}
			wantError(t, h.as(key, "DELETE", "/api/v1/storages/"+st.ID, ""), http.StatusForbidden, labelhub.ECodeForbidden)
			wantError(t, h.as(key, "POST", "/api/v1/storages/"+st.ID+"/validate", ""), http.StatusForbidden, labelhub.ECodeForbidden)
			wantError(t, h.as(key, "POST", "/api/v1/storages/"+st.ID+"/validate", `{"origin":"https://hub.example.com"}`), http.StatusForbidden, labelhub.ECodeForbidden)
			// Reading is for every role.
			var page labelhub.Page[labelhub.Storage]
			h.must(key, "GET", "/api/v1/storages", "", 200, &page)
			if len(page.Items) != 1 || page.Items[0].ID != st.ID {
				t.Fatalf("list as a lower role: %+v", page.Items)
			}
			var got labelhub.Storage
			h.must(key, "GET", "/api/v1/storages/"+st.ID, "", 200, &got)
			if got.ID != st.ID {
				t.Fatalf("get as a lower role: %+v", got)
			}
		}
		// Still there, and still the only one.
		var page labelhub.Page[labelhub.Storage]
		h.must(h.rootKey, "GET", "/api/v1/storages", "", 200, &page)
		if len(page.Items) != 1 {
			t.Fatalf("after refused requests: %d integrations", len(page.Items))
		}
		// A project manager manages storage.
		var mine labelhub.Storage
		h.must(pm, "POST", "/api/v1/storages", awsStorage, 201, &mine)
		h.must(pm, "DELETE", "/api/v1/storages/"+mine.ID, "", 204, nil)
		h.must(pm, "DELETE", "/api/v1/storages/"+st.ID, "", 204, nil)
	})
}

func TestStoragePrivateEndpointsRefused(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "labelhub.db"))
	box, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc := storage.NewService(s, storage.Options{Box: box, AllowPrivateEndpoints: false})
	t.Cleanup(func() { svc.Close() })
	h := newHub(t, s, httpapi.Config{Storage: svc})
	for _, endpoint := range []string{"http://127.0.0.1:9000", "http://169.254.169.254", "http://169.254.169.254/latest/meta-data",
		"http://10.1.2.3:9000", "http://localhost:9000", "http://[::1]:9000"} {
		body := jsonBody(t, map[string]any{"name": "x", "provider": "s3-compatible", "bucket": "data", "endpoint": endpoint,
			"credentials": map[string]string{"accessKeyId": "minio", "secretAccessKey": "minio-secret"}})
		r := h.as(h.rootKey, "POST", "/api/v1/storages", body)
		e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
		wantDetail(t, r, e, "endpoint", "--allow-private-endpoints")
	}
	var page labelhub.Page[labelhub.Storage]
	h.must(h.rootKey, "GET", "/api/v1/storages", "", 200, &page)
	if len(page.Items) != 0 {
		t.Fatalf("refused endpoints stored %d integrations", len(page.Items))
	}
	// A public endpoint is fine (no connection is made on create).
	body := jsonBody(t, map[string]any{"name": "x", "provider": "s3-compatible", "bucket": "data", "endpoint": "https://93.184.215.14:9000",
		"credentials": map[string]string{"accessKeyId": "minio", "secretAccessKey": "minio-secret"}})
	h.must(h.rootKey, "POST", "/api/v1/storages", body, 201, nil)
}

type objectItem struct {
	Type       string `json:"type"`
	Key        string `json:"key"`
	Size       int64  `json:"size"`
	ModTime    string `json:"modTime"`
	AssetType  string `json:"assetType"`
	ValidAsset bool   `json:"validAsset"`
}

type validation struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	} `json:"checks"`
}

func (v validation) check(name string) (ok bool, msg string, found bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c.OK, c.Message, true
		}
	}
	return false, "", false
}

func TestStorageAgainstMinIO(t *testing.T) {
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{
		"cat.jpg":           "jpeg bytes",
		"notes.txt":         "some notes",
		"archive.zip":       "zip bytes",
		"Model.PLY":         "unknown type",
		"images/a.png":      "png",
		"images/b.JPEG":     "jpeg",
		"images/2024/c.jpg": "jpeg",
		"docs/manual.pdf":   "pdf",
	})
	h := newHub(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")), httpapi.Config{})
	create := func(secret string) labelhub.Storage {
		var st labelhub.Storage
		r := h.must(h.rootKey, "POST", "/api/v1/storages", jsonBody(t, map[string]any{"name": "Lab MinIO", "provider": "s3-compatible",
			"bucket": bucket, "endpoint": endpoint, "credentials": map[string]string{"accessKeyId": ak, "secretAccessKey": secret}}), 201, &st)
		wantNoSecrets(t, r, []string{secret})
		return st
	}
	st := create(sk)

	t.Run("validate", func(t *testing.T) {
		h := h.with(t)
		for _, body := range []string{"", `{}`, `{"origin":"https://hub.example.com"}`} {
			var v validation
			r := h.must(h.rootKey, "POST", "/api/v1/storages/"+st.ID+"/validate", body, 200, &v)
			wantNoSecrets(t, r, []string{sk})
			for _, name := range []string{"credentials", "bucket", "list", "read"} {
				if ok, msg, found := v.check(name); !found || !ok {
					t.Errorf("body %q: check %s ok=%v found=%v: %s\n%s", body, name, ok, found, msg, r.Body)
				}
			}
			if _, msg, found := v.check("cors"); !found || msg == "" {
				t.Errorf("body %q: no cors check: %s", body, r.Body)
			}
			if len(v.Checks) != 5 {
				t.Errorf("%d checks: %s", len(v.Checks), r.Body)
			}
		}
		// The origin must be an origin.
		var v validation
		h.must(h.rootKey, "POST", "/api/v1/storages/"+st.ID+"/validate", `{"origin":"not an origin"}`, 200, &v)
		if ok, msg, _ := v.check("cors"); ok || !strings.Contains(msg, "is not an origin") {
			t.Errorf("cors with a bad origin: ok=%v %q", ok, msg)
		}
		r := h.as(h.rootKey, "POST", "/api/v1/storages/"+st.ID+"/validate", `{"origin":"https://hub.example.com","x":1}`)
		wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), "x", "is not a field")
	})

	t.Run("wrong secret", func(t *testing.T) {
		h := h.with(t)
		wrong := create("wrong-" + sk)
		var v validation
		r := h.must(h.rootKey, "POST", "/api/v1/storages/"+wrong.ID+"/validate", "", 200, &v)
		wantNoSecrets(t, r, []string{sk})
		if v.OK {
			t.Fatalf("validate with a wrong secret is ok: %s", r.Body)
		}
		credOK, credMsg, _ := v.check("credentials")
		listOK, listMsg, _ := v.check("list")
		switch {
		case !credOK && strings.Contains(credMsg, "access denied"):
		case credOK && !listOK && strings.Contains(listMsg, "access denied"):
		default:
			t.Fatalf("no access denied on credentials or list: %s", r.Body)
		}
		// Listing objects says what is wrong, as 503.
		r = h.as(h.rootKey, "GET", "/api/v1/storages/"+wrong.ID+"/objects", "")
		e := wantError(t, r, http.StatusServiceUnavailable, labelhub.ECodeUnavailable)
		if !strings.Contains(e.Error.Message, "access denied") {
			t.Errorf("%s: message should say access denied", r)
		}
		wantNoSecrets(t, r, []string{sk})
	})

	t.Run("objects", func(t *testing.T) {
		h := h.with(t)
		list := func(query string) labelhub.Page[objectItem] {
			t.Helper()
			var page labelhub.Page[objectItem]
			h.must(h.rootKey, "GET", "/api/v1/storages/"+st.ID+"/objects"+query, "", 200, &page)
			return page
		}
		top := list("")
		var got []string
		for _, it := range top.Items {
			got = append(got, it.Type+" "+it.Key)
		}
		want := []string{"folder docs/", "folder images/", "file Model.PLY", "file archive.zip", "file cat.jpg", "file notes.txt"}
		if !slices.Equal(got, want) || top.NextCursor != "" {
			t.Fatalf("top level = %q (next %q), want %q", got, top.NextCursor, want)
		}
		byKey := map[string]objectItem{}
		for _, it := range top.Items {
			byKey[it.Key] = it
		}
		if it := byKey["cat.jpg"]; !it.ValidAsset || it.AssetType != "image" || it.Size != int64(len("jpeg bytes")) || it.ModTime == "" {
			t.Errorf("cat.jpg = %+v", it)
		}
		if it := byKey["archive.zip"]; it.ValidAsset || it.AssetType != "" {
			t.Errorf("archive.zip = %+v", it)
		}
		if it := byKey["notes.txt"]; !it.ValidAsset || it.AssetType != "text" {
			t.Errorf("notes.txt = %+v", it)
		}
		if it := byKey["Model.PLY"]; it.ValidAsset {
			t.Errorf("Model.PLY = %+v", it)
		}
		if it := byKey["images/"]; it.ValidAsset || it.Size != 0 || it.ModTime != "" {
			t.Errorf("folder images/ = %+v", it)
		}

		// One level below, with or without the trailing slash.
		for _, prefix := range []string{"images", "images/"} {
			sub := list("?prefix=" + url.QueryEscape(prefix) + "&delimiter=%2F")
			got = got[:0]
			for _, it := range sub.Items {
				got = append(got, it.Type+" "+it.Key+" "+strings.TrimSpace(it.AssetType))
			}
			want := []string{"folder images/2024/ ", "file images/a.png image", "file images/b.JPEG image"}
			if !slices.Equal(got, want) {
				t.Fatalf("prefix %q = %q, want %q", prefix, got, want)
			}
		}
		if empty := list("?prefix=nothing-here"); len(empty.Items) != 0 || empty.NextCursor != "" {
			t.Fatalf("empty folder = %+v", empty)
		}

		// Pages of two walk the whole level once.
		var walked []string
		cursor, pages := "", 0
		for {
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			page := list(q)
			pages++
			if len(page.Items) > 2 {
				t.Fatalf("page %d has %d items", pages, len(page.Items))
			}
			for _, it := range page.Items {
				walked = append(walked, it.Type+" "+it.Key)
			}
			if page.NextCursor == "" {
				break
			}
			if page.NextCursor == cursor || pages > 10 {
				t.Fatalf("paging does not advance: %q", page.NextCursor)
			}
			cursor = page.NextCursor
		}
		sorted := slices.Clone(walked)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(walked) {
			t.Fatalf("duplicates while paging: %q", walked)
		}
		wantSorted := slices.Clone(want)
		slices.Sort(wantSorted)
		if !slices.Equal(sorted, wantSorted) || pages < 3 {
			t.Fatalf("paged walk = %q in %d pages, want %q", walked, pages, want)
		}

		// Refused queries name their parameter.
		for _, c := range []struct{ query, path string }{
			{"?delimiter=%7C", "delimiter"},
			{"?limit=0", "limit"},
			{"?limit=1001", "limit"},
			{"?limit=two", "limit"},
			{"?cursor=garbage", "cursor"},
		} {
			r := h.as(h.rootKey, "GET", "/api/v1/storages/"+st.ID+"/objects"+c.query, "")
			wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), c.path, "")
		}
		// A cursor of another folder is refused, not misread.
		first := list("?limit=1")
		r := h.as(h.rootKey, "GET", "/api/v1/storages/"+st.ID+"/objects?prefix=images&cursor="+url.QueryEscape(first.NextCursor), "")
		wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), "cursor", "")

		// Every role may browse.
		_, labeler := h.newUser("browse@example.com", labelhub.RoleLabeler)
		var page labelhub.Page[objectItem]
		h.must(labeler, "GET", "/api/v1/storages/"+st.ID+"/objects?prefix=docs", "", 200, &page)
		if len(page.Items) != 1 || page.Items[0].Key != "docs/manual.pdf" || page.Items[0].AssetType != "pdf" {
			t.Fatalf("docs as a labeler = %+v", page.Items)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		h := h.with(t)
		h.must(h.rootKey, "DELETE", "/api/v1/storages/"+st.ID, "", 204, nil)
		wantError(t, h.as(h.rootKey, "POST", "/api/v1/storages/"+st.ID+"/validate", ""), http.StatusNotFound, labelhub.ECodeNotFound)
		wantError(t, h.as(h.rootKey, "GET", "/api/v1/storages/"+st.ID+"/objects", ""), http.StatusNotFound, labelhub.ECodeNotFound)
	})
}
