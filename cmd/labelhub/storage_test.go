package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// run runs a client command against the hub with stdin and returns its
// stdout, stderr and error.
func (h *testHub) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	return cli(t, stdin, append(args, "--server", h.URL, "--api-key", h.Key)...)
}

func serviceAccountFile(t *testing.T) (path, keyLine string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "acme", "private_key_id": "k1",
		"private_key": keyPEM, "client_email": "hub@acme.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"})
	return writeFile(t, "key.json", string(b)), strings.Split(keyPEM, "\n")[2]
}

func TestStorageCommands(t *testing.T) {
	h := newTestHub(t)
	const s3Secret = "cli-s3-secret-from-stdin"
	const envSecret = "cli-minio-secret-from-env"
	azKey := base64.StdEncoding.EncodeToString([]byte("cli-azure-account-key"))
	saFile, saLine := serviceAccountFile(t)
	secrets := []string{s3Secret, envSecret, azKey, saLine, "sig=cli-sas-signature", "cli-conn-key"}
	noSecrets := func(what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("%s shows the secret %q:\n%s", what, s, out)
			}
		}
	}

	// S3, the secret on stdin.
	out, stderr, err := h.run(t, s3Secret+"\n", "storage", "create", "--name", "Street scenes", "--provider", "s3", "--bucket", "acme-scenes",
		"--region", "eu-west-1", "--access-key-id", "AKIAIOSFODNN7EXAMPLE", "--secret-access-key-stdin", "--delivery", "proxy", "--signed-url-ttl", "1h", "-o", "json")
	if err != nil {
		t.Fatalf("create s3: %v\n%s", err, stderr)
	}
	noSecrets("create", out)
	s3st := decodeJSON[labelhub.Storage](t, out)
	if s3st.ID == "" || s3st.Provider != labelhub.ProviderS3 || s3st.Delivery != labelhub.DeliveryProxy || s3st.SignedURLTTL != 3600 ||
		!slices.Equal(s3st.CredentialFields, []string{"accessKeyId", "secretAccessKey"}) {
		t.Fatalf("created %+v", s3st)
	}
	if !strings.Contains(stderr, "labelhub storage validate "+s3st.ID) {
		t.Fatalf("create does not say how to validate: %q", stderr)
	}

	// S3-compatible, the secret in the environment; table output.
	t.Setenv(envStorageSecret, envSecret)
	out = h.as(t, "storage", "create", "--name", "MinIO", "--provider", "s3-compatible", "--bucket", "datasets",
		"--endpoint", "https://minio.example.com:9000", "--access-key-id", "labelhub")
	noSecrets("create table", out)
	for _, want := range []string{"Provider:", "s3-compatible", "Endpoint:", "https://minio.example.com:9000", "accessKeyId, secretAccessKey (set; never shown)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("create output lacks %q:\n%s", want, out)
		}
	}

	// Azure, the account key from the environment, then the other ways.
	t.Setenv(envStorageSecret, azKey)
	az := decodeJSON[labelhub.Storage](t, h.as(t, "storage", "create", "--name", "Azure", "--provider", "azure", "--bucket", "scans",
		"--account-name", "acmevision", "-o", "json"))
	if az.AccountName != "acmevision" || !slices.Equal(az.CredentialFields, []string{"accountName", "accountKey"}) {
		t.Fatalf("azure = %+v", az)
	}
	t.Setenv(envStorageSecret, "")
	out, _, err = h.run(t, "?sv=2022-11-02&sp=rl&sig=cli-sas-signature\n", "storage", "create", "--name", "Azure SAS", "--provider", "azure",
		"--bucket", "scans", "--account-name", "acmevision", "--sas-token-stdin", "-o", "json")
	if err != nil || !slices.Equal(decodeJSON[labelhub.Storage](t, out).CredentialFields, []string{"accountName", "sasToken"}) {
		t.Fatalf("azure sas: %v\n%s", err, out)
	}
	conn := "DefaultEndpointsProtocol=https;AccountName=acmeconn;AccountKey=" + base64.StdEncoding.EncodeToString([]byte("cli-conn-key")) + ";EndpointSuffix=core.windows.net"
	secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte("cli-conn-key")))
	out, _, err = h.run(t, conn+"\n", "storage", "create", "--name", "Azure conn", "--provider", "azure", "--bucket", "scans",
		"--connection-string-stdin", "-o", "json")
	if err != nil || decodeJSON[labelhub.Storage](t, out).AccountName != "acmeconn" {
		t.Fatalf("azure connection string: %v\n%s", err, out)
	}

	// GCS from a key file, and from stdin.
	gcs := decodeJSON[labelhub.Storage](t, h.as(t, "storage", "create", "--name", "GCS", "--provider", "gcs", "--bucket", "acme-images",
		"--service-account-file", saFile, "-o", "json"))
	if !slices.Equal(gcs.CredentialFields, []string{"serviceAccountJSON"}) {
		t.Fatalf("gcs = %+v", gcs)
	}
	sa, _ := os.ReadFile(saFile)
	if _, _, err := h.run(t, string(sa), "storage", "create", "--name", "GCS stdin", "--provider", "gcs", "--bucket", "acme-images",
		"--service-account-file", "-"); err != nil {
		t.Fatal(err)
	}

	// list, show.
	out = h.as(t, "storage", "list")
	noSecrets("list", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "PROVIDER") {
		t.Fatalf("list:\n%s", out)
	}
	if tableRow(out, s3st.ID, "Street scenes", "s3", "acme-scenes", "eu-west-1", "proxy", "accessKeyId,secretAccessKey") == "" ||
		tableRow(out, "MinIO", "s3-compatible", "https://minio.example.com:9000", "signed") == "" {
		t.Fatalf("list rows:\n%s", out)
	}
	if got := decodeJSON[[]labelhub.Storage](t, h.as(t, "storage", "list", "-o", "json", "--limit", "2")); len(got) != 2 {
		t.Fatalf("--limit 2: %d", len(got))
	}
	out = h.as(t, "storage", "show", gcs.ID)
	noSecrets("show", out)
	if !strings.Contains(out, "serviceAccountJSON (set; never shown)") || !strings.Contains(out, "acme-images") {
		t.Fatalf("show:\n%s", out)
	}

	// delete.
	if out := h.as(t, "storage", "delete", az.ID); !strings.Contains(out, az.ID) {
		t.Fatalf("delete: %q", out)
	}
	if msg := h.fails(t, "storage", "show", az.ID); !strings.Contains(msg, "not found") {
		t.Fatalf("show after delete: %q", msg)
	}

	// Refused before the hub is asked.
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"--provider", "s3", "--bucket", "b", "--region", "eu-west-1", "--access-key-id", "AKIAIOSFODNN7EXAMPLE"}, envStorageSecret},
		{"", []string{"--provider", "gcs", "--bucket", "b"}, "--service-account-file"},
		{"", []string{"--provider", "azure", "--bucket", "scans", "--account-name", "acmevision"}, "--account-key-stdin"},
		{"x\n", []string{"--provider", "s3", "--bucket", "b", "--secret-access-key-stdin", "--account-key-stdin"}, "none of the others"},
		{"x\n", []string{"--provider", "gcs", "--bucket", "b", "--secret-access-key-stdin"}, "--secret-access-key-stdin is not for provider gcs"},
		{"", []string{"--provider", "s3", "--bucket", "b", "--secret-access-key-stdin"}, "stdin is empty"},
		{"", []string{"--provider", "s3", "--bucket", "b", "--secret-access-key", "plain"}, "unknown flag: --secret-access-key"},
		{"", []string{"--provider", "gcs", "--bucket", "b", "--service-account-file", "/no/such/file.json"}, "no such file"},
	} {
		_, _, err := h.run(t, c.stdin, append([]string{"storage", "create", "--name", "x"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("create %v: %v, want an error with %q", c.args, err, c.want)
		}
	}
	// Refused by the hub: the details name the fields.
	_, _, err = h.run(t, "s\n", "storage", "create", "--name", "x", "--provider", "s3", "--bucket", "Bad_Bucket", "--region", "mars",
		"--access-key-id", "lower-case", "--secret-access-key-stdin")
	if err == nil || !strings.Contains(err.Error(), "\n  bucket: is not an S3 bucket name") || !strings.Contains(err.Error(), "\n  region: ") ||
		!strings.Contains(err.Error(), "\n  credentials.accessKeyId: ") {
		t.Fatalf("refused by the hub: %v", err)
	}
	if got := decodeJSON[[]labelhub.Storage](t, h.as(t, "storage", "list", "-o", "json")); len(got) != 6 {
		t.Fatalf("after refusals: %d integrations", len(got))
	}

	// Completion of ids.
	out, _, _ = cli(t, "", "__complete", "storage", "show", "--server", h.URL, "--api-key", h.Key, "")
	if !strings.Contains(out, s3st.ID+"\tStreet scenes (s3 acme-scenes)") {
		t.Fatalf("completion:\n%s", out)
	}
}

func TestStorageValidateAndLsOnMinIO(t *testing.T) {
	objects := map[string]string{"a.jpg": "jpeg", "b.zip": strings.Repeat("z", 3000), "c.png": "png", "d.wav": "wav",
		"photos/x.jpg": "x", "photos/2024/y.jpg": "y", "docs/z.pdf": "z", "my folder/q.txt": "q"}
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	h := newTestHub(t)

	t.Setenv(envStorageSecret, sk)
	st := decodeJSON[labelhub.Storage](t, h.as(t, "storage", "create", "--name", "MinIO", "--provider", "s3-compatible",
		"--bucket", bucket, "--endpoint", endpoint, "--access-key-id", ak, "-o", "json"))
	t.Setenv(envStorageSecret, "wrong-"+sk)
	wrong := decodeJSON[labelhub.Storage](t, h.as(t, "storage", "create", "--name", "Wrong", "--provider", "s3-compatible",
		"--bucket", bucket, "--endpoint", endpoint, "--access-key-id", ak, "-o", "json"))

	out := h.as(t, "storage", "validate", st.ID, "--origin", "https://hub.example.com")
	for _, want := range []string{"✓ credentials", "✓ bucket", "✓ list", "✓ read", "cors"} {
		if !strings.Contains(out, want) {
			t.Fatalf("validate lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, sk) {
		t.Fatal("validate shows the secret")
	}
	v := decodeJSON[client.Validation](t, h.as(t, "storage", "validate", st.ID, "-o", "json"))
	if !v.OK || len(v.Checks) != 5 {
		t.Fatalf("validate json = %+v", v)
	}

	// A failed check: the table still prints, the command fails (exit 1).
	out, _, err := h.run(t, "", "storage", "validate", wrong.ID)
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("validate with a wrong secret: err = %v", err)
	}
	if !strings.Contains(out, "✗ credentials") || !strings.Contains(out, "access denied") || !strings.Contains(out, "✗ cors") {
		t.Fatalf("validate with a wrong secret:\n%s", out)
	}
	if e := new(labelhub.Error); errors.As(err, &e) {
		t.Fatalf("a failed validation is not an API error: %v", err)
	}
	if !strings.Contains(err.Error(), "credentials (4 more skipped)") {
		t.Fatalf("error = %q", err)
	}

	// ls: folders first, then files with size and asset.
	out = h.as(t, "storage", "ls", st.ID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var keys []string
	for _, l := range lines[1:] {
		keys = append(keys, strings.Fields(l)[0])
	}
	if !strings.HasPrefix(lines[0], "KEY") || !slices.Equal(keys, []string{"docs/", "my", "photos/", "a.jpg", "b.zip", "c.png", "d.wav"}) {
		t.Fatalf("ls:\n%s", out)
	}
	if tableRow(out, "a.jpg", "4 B", "yes (image)") == "" || tableRow(out, "b.zip", "2.9 KiB", "no") == "" ||
		tableRow(out, "photos/", "folder") == "" || tableRow(out, "d.wav", "yes (audio)") == "" {
		t.Fatalf("ls rows:\n%s", out)
	}
	out = h.as(t, "storage", "ls", st.ID, "photos")
	if tableRow(out, "photos/2024/", "folder") == "" || tableRow(out, "photos/x.jpg", "yes (image)") == "" || strings.Contains(out, "a.jpg") {
		t.Fatalf("ls photos:\n%s", out)
	}

	// Every page is walked; folders still come first.
	old := objectsPageSize
	objectsPageSize = 2
	t.Cleanup(func() { objectsPageSize = old })
	all := decodeJSON[[]client.Object](t, h.as(t, "storage", "ls", st.ID, "-o", "json"))
	var got []string
	for _, o := range all {
		got = append(got, o.Key)
	}
	if !slices.Equal(got, []string{"docs/", "my folder/", "photos/", "a.jpg", "b.zip", "c.png", "d.wav"}) {
		t.Fatalf("walked %q", got)
	}
	// --limit stops and says how to go on.
	out, stderr, err := h.run(t, "", "storage", "ls", st.ID, "--limit", "3", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	first := decodeJSON[[]client.Object](t, out)
	if len(first) != 3 || !strings.Contains(stderr, "--limit 3 --cursor ") {
		t.Fatalf("--limit 3: %d items, stderr %q", len(first), stderr)
	}
	cursor := strings.TrimSpace(stderr[strings.Index(stderr, "--cursor ")+len("--cursor "):])
	rest := decodeJSON[[]client.Object](t, h.as(t, "storage", "ls", st.ID, "--cursor", cursor, "-o", "json"))
	if len(first)+len(rest) != len(all) {
		t.Fatalf("--limit then --cursor: %d + %d entries, want %d", len(first), len(rest), len(all))
	}
	if msg := h.fails(t, "storage", "ls", wrong.ID); !strings.Contains(msg, "access denied") {
		t.Fatalf("ls with a wrong secret: %q", msg)
	}
	if msg := h.fails(t, "storage", "ls", st.ID, "--cursor", "bogus"); !strings.Contains(msg, "cursor: ") {
		t.Fatalf("ls with a bad cursor: %q", msg)
	}
}
