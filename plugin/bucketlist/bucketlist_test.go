package bucketlist_test

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/labelhub/labelhub/plugin/bucketlist"
	"github.com/labelhub/labelhub/storage/assetref"
	"github.com/labelhub/labelhub/testservers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testservers.Shutdown()
	os.Exit(code)
}

// openMinIO puts objects in a new MinIO bucket and opens prefix of it by
// URL, with the credentials in the environment as a plugin would have them.
func openMinIO(t *testing.T, objects map[string]string, prefix string) (*bucketlist.Bucket, string, string) {
	t.Helper()
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	t.Setenv("AWS_ACCESS_KEY_ID", ak)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
	t.Setenv("AWS_SESSION_TOKEN", "")
	b, err := bucketlist.Open(context.Background(), "s3://"+bucket+"/"+prefix+"?endpoint="+url.QueryEscape(endpoint)+"&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, endpoint, bucket
}

var tree = map[string]string{
	"top.jpg":                   "x",
	"data/a.jpg":                "aa",
	"data/b.png":                "bbb",
	"data/c.txt":                "c",
	"data/notes.zip":            "z",
	"data/cats/1.jpg":           "1",
	"data/cats/kittens/k.jpg":   "k",
	"data/dogs/d.jpg":           "d",
	"data/odd/ü space+100%.jpg": "o",
	"data/marker/":              "",
}

// List pages through one level below the URL's prefix, names relative to
// it, keys and asset URLs absolute; Walk reaches every depth.
func TestListAndWalkOnMinIO(t *testing.T) {
	b, endpoint, bucket := openMinIO(t, tree, "data")
	ctx := context.Background()
	if b.Prefix() != "data/" {
		t.Fatalf("prefix %q", b.Prefix())
	}
	var folders, names []string
	tok, pages := "", 0
	for {
		f, err := b.List(ctx, "", tok, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		folders = append(folders, f.Folders...)
		for _, o := range f.Files {
			names = append(names, o.Name)
			if o.Key != "data/"+o.Name || o.Size != int64(len(tree[o.Key])) || o.ModTime.IsZero() {
				t.Errorf("object %+v", o)
			}
		}
		if tok = f.NextPageToken; tok == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the listing does not end")
		}
	}
	if strings.Join(folders, ",") != "cats/,dogs/,marker/,odd/" || strings.Join(names, ",") != "a.jpg,b.png,c.txt,notes.zip" || pages < 4 {
		t.Fatalf("%d pages: folders %v, files %v", pages, folders, names)
	}
	f, err := b.List(ctx, "odd", "", 0)
	if err != nil || len(f.Files) != 1 {
		t.Fatalf("odd: %+v %v", f, err)
	}
	o := f.Files[0]
	want := endpoint + "/" + bucket + "/data/odd/%C3%BC%20space%2B100%25.jpg"
	if o.Name != "odd/ü space+100%.jpg" || o.URL != want {
		t.Errorf("odd object %+v, want URL %s", o, want)
	}
	in := assetref.Integration{Provider: assetref.S3Compatible, Bucket: bucket, Endpoint: endpoint, PathStyle: true}
	if ref, err := assetref.Resolve(o.URL, &in); err != nil || ref.Key != o.Key {
		t.Errorf("the URL resolves to %+v, %v", ref, err)
	}
	if f, err := b.List(ctx, "marker/", "", 0); err != nil || len(f.Files) != 0 {
		t.Errorf("a folder marker is listed as a file: %+v %v", f, err)
	}

	var keys []string
	for o, err := range b.Walk(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	wantKeys := []string{"data/a.jpg", "data/b.png", "data/c.txt", "data/cats/1.jpg", "data/cats/kittens/k.jpg", "data/dogs/d.jpg", "data/notes.zip", "data/odd/ü space+100%.jpg"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("walk %v, want %v", keys, wantKeys)
	}
	keys = nil
	for o, err := range b.Walk(ctx, "cats") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Name)
	}
	if strings.Join(keys, ",") != "cats/1.jpg,cats/kittens/k.jpg" {
		t.Errorf("walk cats: %v", keys)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"ftp://bucket/x", "s3:///x", "s3://b/x?endpoint=127.0.0.1:9000", "::"} {
		if _, err := bucketlist.Open(ctx, u); err == nil {
			t.Errorf("Open(%q) worked", u)
		}
	}
	b, _, _ := openMinIO(t, map[string]string{"a/b.jpg": "x"}, "")
	for _, folder := range []string{"../x", "a/../b", "/a", "a//b"} {
		if _, err := b.List(ctx, folder, "", 0); err == nil {
			t.Errorf("List(%q) worked", folder)
		}
		for _, err := range b.Walk(ctx, folder) {
			if err == nil {
				t.Errorf("Walk(%q) yielded an object", folder)
			}
		}
	}
	if _, err := b.List(ctx, "", "not base64!", 0); err == nil || !strings.Contains(err.Error(), "page token") {
		t.Errorf("a forged token: %v", err)
	}
}
