package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// postMultipart sends a multipart form, as a browser does for a form with
// a file input; file is sent as the field fileField when not empty.
func (c *client) postMultipart(target string, form url.Values, fileField, fileName, file string) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, fileName)
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = io.WriteString(fw, file)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, target, &body)
	req.RemoteAddr = c.remote
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return response{res, string(b)}
}

func (e *env) storages() []labelhub.Storage {
	e.t.Helper()
	p, err := e.storage.List(context.Background(), e.org.ID, labelhub.PageRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

func gcsKeyFile(t *testing.T) (file, keyLine string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "acme", "private_key_id": "k1",
		"private_key": keyPEM, "client_email": "hub@acme.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"})
	return string(b), strings.Split(keyPEM, "\n")[2]
}

var storageLink = regexp.MustCompile(`^/storages/([0-9a-z]{26})$`)

func TestStoragePagesCreateAndShow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	c.login(adminEmail, adminPassword)
	token := c.csrf()
	const secret = "web-s3-secret-value"

	r := c.get("/storages")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/storages" class="active"`, `id="create-storage"`, `enctype="multipart/form-data"`,
		`name="credentials.secretAccessKey" id="storage-secret-access-key" maxlength="256" autocomplete="new-password"`,
		`type="password"`, `data-providers="gcs"`, "No storage integrations yet.")

	// S3, with the other providers' fields filled too, as a browser
	// without scripts sends them: they are ignored.
	form := url.Values{"csrf": {token}, "name": {"Street scenes"}, "provider": {"s3"}, "bucket": {"acme-scenes"}, "region": {"eu-west-1"},
		"endpoint": {""}, "delivery": {"proxy"}, "signedUrlTtlSeconds": {""},
		"credentials.accessKeyId": {"AKIAIOSFODNN7EXAMPLE"}, "credentials.secretAccessKey": {secret}, "credentials.sessionToken": {""},
		"credentials.serviceAccountJSON": {"not json at all"}, "credentials.accountName": {"Not An Account"},
		"credentials.accountKey": {"not base64!"}, "credentials.sasToken": {""}, "credentials.connectionString": {""}}
	r = c.post("/storages", form)
	wantStatus(t, r, http.StatusSeeOther)
	m := storageLink.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("create redirects to %q", r.Header.Get("Location"))
	}
	id := m[1]
	sts := e.storages()
	if len(sts) != 1 || sts[0].ID != id || sts[0].Provider != labelhub.ProviderS3 || sts[0].Delivery != labelhub.DeliveryProxy ||
		strings.Join(sts[0].CredentialFields, ",") != "accessKeyId,secretAccessKey" {
		t.Fatalf("stored %+v", sts)
	}
	r = c.get("/storages/" + id)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "Storage integration created.", "Street scenes", "acme-scenes", "eu-west-1", "<code>accessKeyId</code>, <code>secretAccessKey</code>",
		`id="validate-storage"`, `action="/storages/`+id+`/validate"`, `href="/storages/`+id+`/browse"`, `href="/storages/`+id+`/delete"`)
	wantNotContains(t, r.body, secret, "AKIAIOSFODNN7EXAMPLE")

	// The list.
	r = c.get("/storages")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/storages/`+id+`"`, "Street scenes", ">s3<", "acme-scenes", "eu-west-1", ">proxy<", "<code>secretAccessKey</code>")
	wantNotContains(t, r.body, secret)

	// Refused input: the problems show, the form keeps what was typed
	// except the secrets.
	form.Set("name", "Second")
	form.Set("bucket", "Bad_Bucket")
	form.Set("credentials.accessKeyId", "lower-case-key")
	r = c.post("/storages", form)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "invalid storage integration", `<code class="path">bucket</code>`, "is not an S3 bucket name",
		`<code class="path">credentials.accessKeyId</code>`, `value="Second"`, `value="Bad_Bucket"`, `id="storage-bucket" value="Bad_Bucket" maxlength="222" required spellcheck="false" aria-invalid="true"`,
		"enter them again")
	wantNotContains(t, r.body, secret, "credentials.serviceAccountJSON</code>", "credentials.accountKey</code>")

	// s3-compatible needs an endpoint; an Azure key must be base64 (the
	// fields of the chosen provider are read).
	r = c.post("/storages", url.Values{"csrf": {token}, "name": {"M"}, "provider": {"s3-compatible"}, "bucket": {"data"},
		"credentials.accessKeyId": {"minio"}, "credentials.secretAccessKey": {"minio-secret"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, `<code class="path">endpoint</code>`, "is required for s3-compatible")
	r = c.post("/storages", url.Values{"csrf": {token}, "name": {"A"}, "provider": {"azure"}, "bucket": {"scans"},
		"credentials.accountName": {"acmevision"}, "credentials.accountKey": {"not base64!"}, "credentials.secretAccessKey": {"ignored"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, `<code class="path">credentials.accountKey</code>`, "is not base64")
	wantNotContains(t, r.body, "credentials.secretAccessKey</code>")
	r = c.post("/storages", url.Values{"csrf": {token}, "name": {"T"}, "provider": {"s3"}, "bucket": {"acme"}, "region": {"eu-west-1"},
		"signedUrlTtlSeconds": {"soon"}, "credentials.accessKeyId": {"AKIAIOSFODNN7EXAMPLE"}, "credentials.secretAccessKey": {"s"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, `<code class="path">signedUrlTtlSeconds</code>`)
	if n := len(e.storages()); n != 1 {
		t.Fatalf("refused forms stored %d integrations", n-1)
	}

	// GCS: the key file uploaded (multipart), or pasted.
	keyFile, keyLine := gcsKeyFile(t)
	r = c.postMultipart("/storages", url.Values{"csrf": {token}, "name": {"GCS upload"}, "provider": {"gcs"}, "bucket": {"acme-images"},
		"credentials.serviceAccountJSON": {""}}, "serviceAccountFile", "key.json", keyFile)
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get(r.Header.Get("Location"))
	wantContains(t, r.body, "GCS upload", "<code>serviceAccountJSON</code>")
	wantNotContains(t, r.body, keyLine, "PRIVATE KEY")
	r = c.post("/storages", url.Values{"csrf": {token}, "name": {"GCS pasted"}, "provider": {"gcs"}, "bucket": {"acme-images"},
		"credentials.serviceAccountJSON": {keyFile}})
	wantStatus(t, r, http.StatusSeeOther)
	// A multipart form without the CSRF token is refused like any other.
	r = c.postMultipart("/storages", url.Values{"name": {"Forged"}, "provider": {"gcs"}, "bucket": {"acme-images"}}, "serviceAccountFile", "key.json", keyFile)
	wantStatus(t, r, http.StatusForbidden)
	// A file that is not a key is named as the field.
	r = c.postMultipart("/storages", url.Values{"csrf": {token}, "name": {"GCS bad"}, "provider": {"gcs"}, "bucket": {"acme-images"}},
		"serviceAccountFile", "key.json", `{"type": "authorized_user"}`)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, `<code class="path">credentials.serviceAccountJSON</code>`, "is not a service-account key file")

	// Azure with a connection string.
	r = c.post("/storages", url.Values{"csrf": {token}, "name": {"Azure"}, "provider": {"azure"}, "bucket": {"scans"},
		"credentials.connectionString": {"AccountName=acmeconn;AccountKey=a2V5LWtleS1rZXk="}})
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get(r.Header.Get("Location"))
	wantContains(t, r.body, "acmeconn", "<code>connectionString</code>")
	wantNotContains(t, r.body, "a2V5LWtleS1rZXk=")
	if n := len(e.storages()); n != 4 {
		t.Fatalf("%d integrations, want 4", n)
	}

	// Delete, with a confirmation page.
	r = c.get("/storages/" + id + "/delete")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="delete-storage"`, "acme-scenes", "not touched")
	r = c.post("/storages/"+id+"/delete", url.Values{"csrf": {token}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/storages" {
		t.Fatalf("delete redirects to %q", loc)
	}
	wantContains(t, c.get("/storages").body, "Storage integration deleted.")
	wantStatus(t, c.get("/storages/"+id), http.StatusNotFound)
	if n := len(e.storages()); n != 3 {
		t.Fatalf("%d integrations after delete, want 3", n)
	}
}

func TestStorageFormsNeedCSRFAndRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	st, err := e.storage.Create(ctx, e.org.ID, e.admin.ID, labelhub.StorageInput{Name: "Kept", Provider: labelhub.ProviderS3, Bucket: "acme-kept",
		Region: "eu-west-1", Credentials: labelhub.StorageCredentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "kept-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	create := url.Values{"name": {"Forged"}, "provider": {"s3"}, "bucket": {"acme-forged"}, "region": {"eu-west-1"},
		"credentials.accessKeyId": {"AKIAIOSFODNN7EXAMPLE"}, "credentials.secretAccessKey": {"s"}}

	// Admin without (or with a wrong) CSRF token.
	admin := e.client()
	admin.login(adminEmail, adminPassword)
	token := admin.csrf()
	for _, bad := range []string{"", "wrong", token[:len(token)-1]} {
		with := func(v url.Values) url.Values {
			out := url.Values{}
			for k, vs := range v {
				out[k] = vs
			}
			if bad != "" {
				out.Set("csrf", bad)
			}
			return out
		}
		for _, target := range []string{"/storages", "/storages/" + st.ID + "/validate", "/storages/" + st.ID + "/delete"} {
			r := admin.post(target, with(create))
			wantStatus(t, r, http.StatusForbidden)
			wantContains(t, r.body, "security token")
		}
	}
	// A cross-site form is refused even with the token.
	admin.headers = map[string]string{"Sec-Fetch-Site": "cross-site"}
	create.Set("csrf", token)
	wantStatus(t, admin.post("/storages", create), http.StatusForbidden)
	wantStatus(t, admin.post("/storages/"+st.ID+"/delete", url.Values{"csrf": {token}}), http.StatusForbidden)
	admin.headers = nil
	if sts := e.storages(); len(sts) != 1 || sts[0].ID != st.ID {
		t.Fatalf("forged posts changed the integrations: %+v", sts)
	}

	// Labelers and reviewers read but do not manage.
	for _, u := range []struct {
		email string
		role  labelhub.Role
	}{{"lea@example.com", labelhub.RoleLabeler}, {"rey@example.com", labelhub.RoleReviewer}} {
		e.user(u.email, u.role)
		c := e.client()
		c.login(u.email, adminPassword)
		r := c.get("/storages")
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r.body, `href="/storages"`, "Kept", "acme-kept")
		wantNotContains(t, r.body, `id="create-storage"`, `action="/storages"`, "kept-secret")
		token := find(t, metaCSRF, r.body)
		r = c.get("/storages/" + st.ID)
		wantStatus(t, r, http.StatusOK)
		wantContains(t, r.body, "Kept", `href="/storages/`+st.ID+`/browse"`)
		wantNotContains(t, r.body, `id="validate-storage"`, "/delete", "kept-secret")

		create.Set("csrf", token)
		r = c.post("/storages", create)
		wantStatus(t, r, http.StatusForbidden)
		wantContains(t, r.body, string(u.role))
		wantStatus(t, c.post("/storages/"+st.ID+"/validate", url.Values{"csrf": {token}}), http.StatusForbidden)
		wantStatus(t, c.get("/storages/"+st.ID+"/delete"), http.StatusForbidden)
		wantStatus(t, c.post("/storages/"+st.ID+"/delete", url.Values{"csrf": {token}}), http.StatusForbidden)
	}
	if sts := e.storages(); len(sts) != 1 || sts[0].ID != st.ID {
		t.Fatalf("lower roles changed the integrations: %+v", sts)
	}

	// A project manager manages storage.
	e.user("pam@example.com", labelhub.RoleProjectManager)
	pm := e.client()
	pm.login("pam@example.com", adminPassword)
	r := pm.get("/storages")
	wantContains(t, r.body, `id="create-storage"`)
	create.Set("csrf", find(t, metaCSRF, r.body))
	create.Set("name", "By the PM")
	wantStatus(t, pm.post("/storages", create), http.StatusSeeOther)

	// Another organisation's integration is not found, whatever the page.
	other, otherAdmin, _, err := e.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other Org", AdminEmail: "eve@example.com", AdminPassword: adminPassword}, false)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := e.storage.Create(ctx, other.ID, otherAdmin.ID, labelhub.StorageInput{Name: "Secret Bucket", Provider: labelhub.ProviderS3,
		Bucket: "their-bucket", Region: "eu-west-1", Credentials: labelhub.StorageCredentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "theirs"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []response{
		admin.get("/storages/" + theirs.ID),
		admin.get("/storages/" + theirs.ID + "/browse"),
		admin.get("/storages/" + theirs.ID + "/delete"),
		admin.post("/storages/"+theirs.ID+"/validate", url.Values{"csrf": {token}}),
		admin.post("/storages/"+theirs.ID+"/delete", url.Values{"csrf": {token}}),
		admin.get("/storages/not-an-id"),
	} {
		wantStatus(t, r, http.StatusNotFound)
		wantNotContains(t, r.body, "Secret Bucket", "their-bucket")
	}
	wantNotContains(t, admin.get("/storages").body, "Secret Bucket")
	if _, err := e.storage.Get(ctx, other.ID, theirs.ID); err != nil {
		t.Fatalf("the other organisation's integration: %v", err)
	}
}

// Without a storage service the pages and the navigation entry are gone.
func TestStorageNeedsTheService(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	if _, _, _, err := store.CreateOrg(context.Background(), labelhub.NewOrg{Name: "Acme", AdminEmail: adminEmail, AdminPassword: adminPassword}, true); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, h: h, remote: "192.0.2.10:40000", cookies: map[string]*http.Cookie{}}
	c.login(adminEmail, adminPassword)
	wantNotContains(t, c.get("/projects").body, `href="/storages"`)
	wantStatus(t, c.get("/storages"), http.StatusNotFound)
}

var (
	loadMoreLink = regexp.MustCompile(`href="([^"]+)" data-load-more="object-rows"`)
	fileRow      = regexp.MustCompile(`<tr class="file-row">`)
)

func TestStorageValidateAndBrowseOnMinIO(t *testing.T) {
	t.Parallel()
	objects := map[string]string{"cat.jpg": "jpeg", "archive.zip": "zip", "photos/2024/summer/beach.png": "png", "photos/2024/notes.txt": "txt",
		"a&b <c>/x.jpg": "odd name"}
	for i := range 55 {
		objects[fmt.Sprintf("many/%03d.jpg", i)] = "x"
	}
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	e := newEnv(t, web.Config{})
	c := e.client()
	c.login(adminEmail, adminPassword)
	token := c.csrf()

	create := func(name, secret string) string {
		t.Helper()
		r := c.post("/storages", url.Values{"csrf": {token}, "name": {name}, "provider": {"s3-compatible"}, "bucket": {bucket},
			"endpoint": {endpoint}, "credentials.accessKeyId": {ak}, "credentials.secretAccessKey": {secret}})
		wantStatus(t, r, http.StatusSeeOther)
		return storageLink.FindStringSubmatch(r.Header.Get("Location"))[1]
	}
	id := create("Lab MinIO", sk)
	wrong := create("Wrong MinIO", "wrong-"+sk)

	// Validate: every check with its mark and message.
	c.headers = map[string]string{"Origin": "http://example.com"}
	r := c.post("/storages/"+id+"/validate", url.Values{"csrf": {token}})
	c.headers = nil
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="checks"`, "All checks passed", "CORS checked for http://example.com")
	for _, name := range []string{"credentials", "bucket", "list", "read", "cors"} {
		wantContains(t, r.body, `<li class="check check-ok" data-check="`+name+`">`)
	}
	wantNotContains(t, r.body, sk, "check-fail")

	r = c.post("/storages/"+wrong+"/validate", url.Values{"csrf": {token}})
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `<li class="check check-fail" data-check="credentials">`, "✗", "access denied: check the access key id and secret",
		"5 of 5 checks did not pass")
	wantNotContains(t, r.body, sk)

	// Browse the top level: folders, then files.
	r = c.get("/storages/" + id + "/browse")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="folder-path"`, `aria-current="location">`+bucket+`<`,
		`href="/storages/`+id+`/browse?prefix=photos%2f"`, `href="/storages/`+id+`/browse?prefix=many%2f"`,
		`href="/storages/`+id+`/browse?prefix=a%26b%20%3cc%3e%2f"`, "a&amp;b &lt;c&gt;/",
		"cat.jpg", "✓ image", "archive.zip", "not an asset")
	if strings.Index(r.body, "photos/") > strings.Index(r.body, "cat.jpg") {
		t.Fatal("files are listed before folders")
	}
	// A nested folder: breadcrumbs lead back up.
	r = c.get("/storages/" + id + "/browse?prefix=photos/2024")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/storages/`+id+`/browse?prefix="`, `href="/storages/`+id+`/browse?prefix=photos%2F">photos</a>`,
		`aria-current="location">2024<`, `browse?prefix=photos%2f2024%2fsummer%2f"`, "notes.txt", "✓ text")

	// "Load more" walks a long folder with the cursor.
	r = c.get("/storages/" + id + "/browse?prefix=many")
	wantStatus(t, r, http.StatusOK)
	if n := len(fileRow.FindAllString(r.body, -1)); n != 50 {
		t.Fatalf("first page has %d files", n)
	}
	more := html.UnescapeString(find(t, loadMoreLink, r.body))
	if !strings.HasPrefix(more, "/storages/"+id+"/browse?prefix=many%2F&cursor=") {
		t.Fatalf("load more link %q", more)
	}
	r = c.get(more)
	wantStatus(t, r, http.StatusOK)
	if n := len(fileRow.FindAllString(r.body, -1)); n != 5 || loadMoreLink.MatchString(r.body) {
		t.Fatalf("second page has %d files (more: %v)", n, loadMoreLink.MatchString(r.body))
	}
	wantContains(t, r.body, "054.jpg")
	wantNotContains(t, r.body, "000.jpg")
	wantStatus(t, c.get("/storages/"+id+"/browse?prefix=many&cursor=garbage"), http.StatusBadRequest)

	// A bucket the hub cannot read says why, in place.
	r = c.get("/storages/" + wrong + "/browse")
	wantStatus(t, r, http.StatusServiceUnavailable)
	wantContains(t, r.body, `id="browse-error"`, "access denied", "Wrong MinIO")
	wantNotContains(t, r.body, sk)

	// Every role may browse.
	e.user("lea@example.com", labelhub.RoleLabeler)
	lea := e.client()
	lea.login("lea@example.com", adminPassword)
	r = lea.get("/storages/" + id + "/browse?prefix=photos/2024/summer/")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "beach.png", "✓ image")
}
