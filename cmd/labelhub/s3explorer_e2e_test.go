package main

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/testservers"
)

// TestS3FileExplorerProcessEndToEnd runs `labelhub serve`, MinIO and
// examples/s3-file-explorer as processes: the plugin lists the bucket
// with its own credentials (pages through scrollToken) and imports its
// asset files with SubmitAssets through a storage integration of the
// bucket; a second import finds them all there.
func TestS3FileExplorerProcessEndToEnd(t *testing.T) {
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{
		"set/a.jpg": "a", "set/b.png": "b", "set/readme.zip": "z", "set/cats/c.jpg": "c", "set/cats/d e+f.jpg": "d", "outside.jpg": "o",
	})
	e := newProcessEnv(t, "--allow-private-endpoints")
	ctx := context.Background()
	name := "From S3"
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.c.CreateStorage(ctx, labelhub.StorageInput{Name: "MinIO", Provider: labelhub.ProviderS3Compatible, Bucket: bucket, Endpoint: endpoint,
		PathStyle: true, Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"pageSize": 2})
	p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Bucket", Type: labelhub.PluginFileExplorer, DefaultConfig: string(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := e.startPlugin("s3-file-explorer", p, "AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+sk,
		"LABELHUB_BUCKET_URL=s3://"+bucket+"/set?endpoint="+url.QueryEscape(endpoint)+"&region=us-east-1")

	run := func(params map[string]any) labelhub.Run {
		t.Helper()
		params["integrationId"] = st.ID
		r, err := e.c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, Params: params}, true)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != labelhub.RunSucceeded {
			t.Fatalf("run %v: %+v\nplugin:\n%s", params, r, out.String())
		}
		return r
	}
	var folders, files []string
	token, pages := "", 0
	for {
		var l struct {
			Folders     []string `json:"folders"`
			Files       []string `json:"files"`
			ScrollToken *string  `json:"scrollToken"`
		}
		if err := json.Unmarshal(run(map[string]any{"folder": "", "scrollToken": token}).Result, &l); err != nil {
			t.Fatal(err)
		}
		pages++
		folders, files = append(folders, l.Folders...), append(files, l.Files...)
		if l.ScrollToken == nil {
			break
		}
		token = *l.ScrollToken
		if pages > 5 {
			t.Fatal("the listing does not end")
		}
	}
	if strings.Join(folders, ",") != "cats/" || strings.Join(files, ",") != "a.jpg,b.png,readme.zip" || pages != 2 {
		t.Fatalf("%d pages: folders %v, files %v", pages, folders, files)
	}

	type summary struct {
		Listed, NotAssets, Imported, AlreadyThere, Invalid int64
	}
	importAll := func() summary {
		t.Helper()
		var res struct {
			Summary summary `json:"summary"`
		}
		if err := json.Unmarshal(run(map[string]any{"folder": "", "recursive": true, "upload": true}).Result, &res); err != nil {
			t.Fatal(err)
		}
		return res.Summary
	}
	if s := importAll(); s != (summary{Listed: 5, NotAssets: 1, Imported: 4}) {
		t.Fatalf("first import %+v\nplugin:\n%s", s, out.String())
	}
	page, err := e.c.ListAssets(ctx, proj.ID, client.AssetFilter{}, labelhub.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range page.Items {
		ids = append(ids, a.ExternalID)
	}
	slices.Sort(ids)
	if strings.Join(ids, ",") != "set/a.jpg,set/b.png,set/cats/c.jpg,set/cats/d e+f.jpg" {
		t.Fatalf("assets %v", ids)
	}
	if s := importAll(); s != (summary{Listed: 5, NotAssets: 1, AlreadyThere: 4}) {
		t.Fatalf("second import %+v", s)
	}
}
