package testservers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, buf.Bytes()
}

func TestPostgresSchemaIsPrivateAndDropped(t *testing.T) {
	ctx := context.Background()
	var schema string
	t.Run("use", func(t *testing.T) {
		dsn := Postgres(t)
		if !strings.Contains(dsn, "search_path=lh_") {
			t.Fatalf("DSN %q has no search_path=lh_…", dsn)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect to %s: %v", dsn, err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^lh_[0-9a-f]{16}$`).MatchString(schema) {
			t.Fatalf("current_schema() = %q, want lh_<16 hex>", schema)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE probe_items (id int PRIMARY KEY, name text)"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO probe_items VALUES (1, 'one')"); err != nil {
			t.Fatal(err)
		}
		var tableSchema string
		if err := conn.QueryRow(ctx,
			"SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe_items'").Scan(&tableSchema); err != nil {
			t.Fatal(err)
		}
		if tableSchema != schema {
			t.Fatalf("probe_items created in schema %q, want %q", tableSchema, schema)
		}

		// From the base DSN (search_path public) the table is invisible.
		pub, err := pgx.Connect(ctx, PostgresBase())
		if err != nil {
			t.Fatal(err)
		}
		defer pub.Close(ctx)
		var reg *string
		if err := pub.QueryRow(ctx, "SELECT to_regclass('probe_items')::text").Scan(&reg); err != nil {
			t.Fatal(err)
		}
		if reg != nil {
			t.Fatalf("probe_items is visible from the public search_path as %s", *reg)
		}
		_, err = pub.Exec(ctx, "SELECT * FROM probe_items")
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("SELECT from public search_path: err = %v, want relation does not exist", err)
		}

		// A second schema is another, empty one.
		other := Postgres(t)
		oc, err := pgx.Connect(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		defer oc.Close(ctx)
		var n int
		if err := oc.QueryRow(ctx,
			"SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second schema has %d tables, want 0", n)
		}
	})
	if schema == "" {
		t.Skip("subtest did not get a schema")
	}
	conn, err := pgx.Connect(ctx, PostgresBase())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("schema %s still exists after the test's cleanup", schema)
	}
}

func TestWithSearchPathKeywordForm(t *testing.T) {
	got, err := withSearchPath("host=127.0.0.1 user=postgres dbname=test", "lh_x")
	if err != nil || got != "host=127.0.0.1 user=postgres dbname=test search_path=lh_x" {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = withSearchPath("postgres://u:p@h:1/db?sslmode=disable", "lh_y")
	if err != nil || got != "postgres://u:p@h:1/db?search_path=lh_y&sslmode=disable" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestChromiumRendersAPage(t *testing.T) {
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(append([]string{}, ChromiumHeadlessFlags...),
		"--user-data-dir="+t.TempDir(), "--dump-dom",
		"data:text/html,<p id=x></p><script>document.getElementById('x').textContent=6*7</script>")
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v", bin, err)
	}
	if !strings.Contains(string(out), `<p id="x">42</p>`) {
		t.Fatalf("Chromium did not run the page's script; DOM:\n%s", out)
	}
}

func TestMinIOIsSharedAndHealthy(t *testing.T) {
	endpoint, access, secret := MinIO(t)
	if access == "" || len(secret) < 8 {
		t.Fatalf("credentials %q/%q unusable (MinIO wants a secret of 8+ characters)", access, secret)
	}
	for _, path := range []string{"/minio/health/live", "/minio/health/ready"} {
		resp, body := get(t, endpoint+path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	// An unsigned S3 request is refused by MinIO itself.
	resp, body := get(t, endpoint+"/")
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) ||
		!strings.Contains(resp.Header.Get("Server"), "MinIO") {
		t.Fatalf("GET / unsigned: %d Server=%q %s; want 403 AccessDenied from MinIO", resp.StatusCode, resp.Header.Get("Server"), body)
	}
	t.Run("second caller shares the server", func(t *testing.T) {
		again, access2, secret2 := MinIO(t)
		if again != endpoint || access2 != access || secret2 != secret {
			t.Fatalf("second MinIO call got %s, want the shared %s", again, endpoint)
		}
	})
}

func TestNewBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, name := range []string{"x", "Weird/Name With__CAPS--and--dashes", strings.Repeat("long", 40)} {
		t.Run(name, func(t *testing.T) {
			for range 3 {
				b := NewBucketName(t)
				if len(b) < 3 || len(b) > 63 || !valid.MatchString(b) {
					t.Fatalf("NewBucketName = %q: not a valid S3/GCS/Azure name", b)
				}
				if seen[b] {
					t.Fatalf("NewBucketName returned %q twice", b)
				}
				seen[b] = true
			}
		})
	}
}

func TestFakeGCSAnswersJSONAPI(t *testing.T) {
	endpoint := FakeGCS(t)
	bucket := NewBucketName(t)
	body, _ := json.Marshal(map[string]string{"name": bucket})
	resp, err := http.Post(endpoint+"/storage/v1/b?project=test", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create bucket: status %d", resp.StatusCode)
	}
	resp, raw := get(t, endpoint+"/storage/v1/b?project=test")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /storage/v1/b: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("GET /storage/v1/b: %v in %s", err, raw)
	}
	if list.Kind != "storage#buckets" || len(list.Items) != 1 || list.Items[0].Name != bucket {
		t.Fatalf("bucket list = %s, want kind storage#buckets with only %s", raw, bucket)
	}
}

func TestAzuriteRejectsAnonymousAccountRequest(t *testing.T) {
	blob, account, key := Azurite(t)
	if account != "devstoreaccount1" || !strings.HasSuffix(blob, "/devstoreaccount1") || key != AzuriteKey {
		t.Fatalf("Azurite() = %s, %s, %s", blob, account, key)
	}
	resp, body := get(t, blob+"?comp=list")
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Fatalf("anonymous list containers: status %d, want 4xx: %s", resp.StatusCode, body)
	}
	if !bytes.Contains(body, []byte("<Error>")) || !bytes.Contains(body, []byte("<Code>")) {
		t.Fatalf("anonymous list containers: body is not an Azure error XML: %s", body)
	}
	if resp.Header.Get("x-ms-request-id") == "" || !strings.Contains(resp.Header.Get("Server"), "Azurite") {
		t.Fatalf("response does not come from Azurite: Server=%q x-ms-request-id=%q",
			resp.Header.Get("Server"), resp.Header.Get("x-ms-request-id"))
	}
}
