package soak

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/testservers"
)

// soakEnv is everything the load runs against: the hub processes, MinIO,
// the plugin processes, and the objects set up in the hub.
type soakEnv struct {
	t   *testing.T
	cfg config
	bin string // folder of the built binaries

	hubs   []*proc
	urls   []string
	dsn    string // PostgreSQL, or "" for SQLite at dbPath
	dbPath string
	key    string

	minioEndpoint, minioKey, minioSecret, bucket string
	storageID                                    string
	folderKeys                                   []string        // asset keys under soak/
	topLevel                                     map[string]bool // file names right under soak/

	small, bulk, answers string // project ids
	answerTasks          []string

	exportPlugin, explorerPlugin, csvPlugin string
	exportProc, explorerProc                *proc
}

// build compiles the hub and the two example plugins the soak runs.
func build(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	dir := t.TempDir()
	cmd := exec.Command(goTool, "build", "-o", dir+string(os.PathSeparator),
		"./cmd/labelhub", "./examples/minimal-export", "./examples/s3-file-explorer")
	cmd.Dir = filepath.Join("..", "..") // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// newEnv starts MinIO (a bucket of small objects), the hub (one process on
// SQLite, or two replicas on one PostgreSQL schema), sets up projects, a
// storage integration and plugins, and starts the plugin processes.
func newEnv(t *testing.T, cfg config, bin string) *soakEnv {
	e := &soakEnv{t: t, cfg: cfg, bin: bin}
	objects := map[string]string{"soak/readme.zip": "z"}
	e.topLevel = map[string]bool{"readme.zip": true}
	for i := range cfg.objects {
		dir := "soak/"
		if i%4 == 3 {
			dir = "soak/sub/"
		}
		k := fmt.Sprintf("%simg-%04d.jpg", dir, i)
		objects[k] = "x"
		if dir == "soak/" {
			e.topLevel[strings.TrimPrefix(k, dir)] = true
		}
		e.folderKeys = append(e.folderKeys, k)
	}
	e.minioEndpoint, e.minioKey, e.minioSecret, e.bucket = testservers.MinIOBucket(t, objects)

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := []string{"LABELHUB_SECRET_KEY=" + base64.StdEncoding.EncodeToString(secret),
		"LABELHUB_IMPORT_STALE_AFTER=3s", "LABELHUB_LOG_LEVEL=warn"}
	replicas := 1
	if cfg.db == "postgres" {
		e.dsn = testservers.Postgres(t)
		replicas = 2
		// Replicas share their runs' result files through a bucket.
		_, _, _, art := testservers.MinIOBucket(t, map[string]string{})
		env = append(env, "LABELHUB_DB="+e.dsn,
			"LABELHUB_ARTIFACTS=s3://"+art+"/results?endpoint="+url.QueryEscape(e.minioEndpoint)+"&region=us-east-1",
			"AWS_ACCESS_KEY_ID="+e.minioKey, "AWS_SECRET_ACCESS_KEY="+e.minioSecret)
	}
	for i := range replicas {
		addr := testservers.FreeAddr(t)
		data := filepath.Join(t.TempDir(), fmt.Sprintf("data%d", i))
		h := &proc{name: fmt.Sprintf("hub %d", i), bin: filepath.Join(bin, "labelhub"),
			args: []string{"serve", "--addr", addr, "--data", data, "--allow-private-endpoints"}, env: env}
		e.hubs = append(e.hubs, h)
		e.urls = append(e.urls, "http://"+addr)
		if i == 0 {
			e.dbPath = filepath.Join(data, "labelhub.db")
		}
		e.startHub(i)
		if i == 0 {
			kb, err := os.ReadFile(filepath.Join(data, "initial-admin-key"))
			if err != nil {
				t.Fatal(err)
			}
			e.key = strings.TrimSpace(string(kb))
		}
	}
	t.Cleanup(func() {
		for _, h := range e.hubs {
			h.stop()
		}
	})
	e.setUp()
	return e
}

// startHub starts replica i and waits until it is ready.
func (e *soakEnv) startHub(i int) {
	t := e.t
	h := e.hubs[i]
	if err := h.start(); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(e.urls[i], h); err != nil {
		t.Fatalf("%s: %v\n%s", h.name, err, h.out.tail(40))
	}
}

// waitReady polls /readyz for up to a minute.
func waitReady(base string, h *proc) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !h.alive() {
			return fmt.Errorf("exited before it was ready")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready in a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *soakEnv) setUp() {
	t := e.t
	ctx := context.Background()
	c := client.New(e.urls[0], e.key)
	project := func(name string, schema *labelhub.CategorySchema) string {
		p, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name, CategorySchema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	e.small = project("soak small imports", nil)
	e.bulk = project("soak large imports", nil)
	e.answers = project("soak answers", &labelhub.CategorySchema{
		Classifications: []labelhub.SchemaClassification{{SchemaID: "note", Title: "Note", Tool: "text"}}})

	st, err := c.CreateStorage(ctx, labelhub.StorageInput{Name: "soak MinIO", Provider: labelhub.ProviderS3Compatible, Bucket: e.bucket,
		Endpoint: e.minioEndpoint, PathStyle: true, Credentials: labelhub.StorageCredentials{AccessKeyID: e.minioKey, SecretAccessKey: e.minioSecret}})
	if err != nil {
		t.Fatal(err)
	}
	e.storageID = st.ID

	im, err := c.Import(ctx, e.answers, strings.NewReader(items("task", e.cfg.answerTasks)), client.ImportOptions{Wait: true})
	if err != nil || im.State != labelhub.ImportSucceeded {
		t.Fatalf("import the answers' tasks: %v %+v", err, im)
	}
	for task, err := range client.All(ctx, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Task], error) {
		p.Limit = 1000
		return c.ListTasks(ctx, e.answers, client.TaskQuery{}, p)
	}) {
		if err != nil {
			t.Fatal(err)
		}
		e.answerTasks = append(e.answerTasks, task.ID)
	}
	if len(e.answerTasks) != e.cfg.answerTasks {
		t.Fatalf("%d tasks to answer, want %d", len(e.answerTasks), e.cfg.answerTasks)
	}

	for p, err := range client.All(ctx, c.ListPlugins) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Builtin == "csv" {
			e.csvPlugin = p.ID
		}
	}
	if e.csvPlugin == "" {
		t.Fatal("no first-party csv plugin")
	}
	exp, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "soak export", Type: labelhub.PluginExport, DefaultConfig: `{"prefix":"soak"}`})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"pageSize": 100})
	fe, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "soak bucket", Type: labelhub.PluginFileExplorer, DefaultConfig: string(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	e.exportPlugin, e.explorerPlugin = exp.ID, fe.ID
	last := e.urls[len(e.urls)-1]
	e.exportProc = &proc{name: "export plugin", bin: filepath.Join(e.bin, "minimal-export"),
		env: []string{"LABELHUB_SERVER=" + e.urls[0], "LABELHUB_PLUGIN_ID=" + exp.ID, "LABELHUB_PLUGIN_SECRET=" + exp.Secret}}
	e.explorerProc = &proc{name: "file explorer plugin", bin: filepath.Join(e.bin, "s3-file-explorer"),
		env: []string{"LABELHUB_SERVER=" + last, "LABELHUB_PLUGIN_ID=" + fe.ID, "LABELHUB_PLUGIN_SECRET=" + fe.Secret,
			"AWS_ACCESS_KEY_ID=" + e.minioKey, "AWS_SECRET_ACCESS_KEY=" + e.minioSecret,
			"LABELHUB_BUCKET_URL=s3://" + e.bucket + "/soak?endpoint=" + url.QueryEscape(e.minioEndpoint) + "&region=us-east-1"}}
	for _, p := range []*proc{e.exportProc, e.explorerProc} {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
	}
	e.waitOnline(c, exp.ID, e.exportProc)
	e.waitOnline(c, fe.ID, e.explorerProc)
}

// waitOnline waits until a plugin has a connected instance.
func (e *soakEnv) waitOnline(c *client.Client, id string, p *proc) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.GetPlugin(context.Background(), id)
		if err == nil && st.Online {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not come online (%v)\n%s", p.name, err, p.out.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// items is an NDJSON import file of n images with externalIds prefix-0…;
// width and height are given so that no probe reads them.
func items(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"externalId":%q,"data":"https://example.com/%s.jpg","metadata":{"width":64,"height":48}}`+"\n",
			fmt.Sprintf("%s-%d", prefix, i), url.PathEscape(prefix)+fmt.Sprint(i))
	}
	return b.String()
}
