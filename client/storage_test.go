package client_test

import (
	"context"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// The SDK stays light: the standard library and the root package only.
func TestClientImportsOnlyStdlibAndRoot(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			if p != "github.com/labelhub/labelhub" && strings.Contains(first, ".") {
				t.Errorf("%s imports %s; the client may import only the standard library and the root package", f, p)
			}
		}
	}
}

func TestStorages(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	const secret = "client-test-secret-value"

	in := labelhub.StorageInput{Name: "AWS", Provider: labelhub.ProviderS3, Bucket: "acme-scenes", Region: "eu-west-1",
		Credentials: labelhub.StorageCredentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secret}}
	st, err := c.CreateStorage(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID == "" || st.Name != "AWS" || st.Provider != labelhub.ProviderS3 || st.Delivery != labelhub.DeliverySigned ||
		!slices.Equal(st.CredentialFields, []string{"accessKeyId", "secretAccessKey"}) {
		t.Fatalf("created %+v", st)
	}
	got, err := c.GetStorage(ctx, st.ID)
	if err != nil || got.ID != st.ID || got.Bucket != "acme-scenes" || got.Region != "eu-west-1" {
		t.Fatalf("GetStorage = %+v, %v", got, err)
	}
	in.Name, in.Provider, in.Bucket, in.Region, in.Endpoint = "MinIO", labelhub.ProviderS3Compatible, "data", "", "https://minio.example.com"
	if _, err := c.CreateStorage(ctx, in); err != nil {
		t.Fatal(err)
	}
	all := collect(t, client.All(ctx, c.ListStorages))
	if len(all) != 2 || all[0].ID != st.ID || all[1].Name != "MinIO" {
		t.Fatalf("ListStorages = %+v", all)
	}

	// Refused input keeps its field details.
	bad := in
	bad.Endpoint = ""
	bad.Credentials.ServiceAccountJSON = "{}"
	_, err = c.CreateStorage(ctx, bad)
	e := wantCode(t, err, labelhub.ECodeInvalid)
	if !hasDetail(e, "endpoint") || !hasDetail(e, "credentials.serviceAccountJSON") {
		t.Fatalf("details = %+v", e.Details)
	}
	if strings.Contains(e.Error(), secret) {
		t.Fatalf("the error repeats the secret: %v", e)
	}

	// A labeler reads but does not manage.
	u, err := c.CreateUser(ctx, labelhub.NewUser{Email: "lea@example.com", Role: labelhub.RoleLabeler})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateAPIKey(ctx, "lea", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	lea := client.New(h.URL, k.Key)
	if _, err := lea.GetStorage(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	_, err = lea.CreateStorage(ctx, in)
	wantCode(t, err, labelhub.ECodeForbidden)
	_, err = lea.ValidateStorage(ctx, st.ID, "")
	wantCode(t, err, labelhub.ECodeForbidden)
	wantCode(t, lea.DeleteStorage(ctx, st.ID), labelhub.ECodeForbidden)

	if err := c.DeleteStorage(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetStorage(ctx, st.ID)
	wantCode(t, err, labelhub.ECodeNotFound)
	wantCode(t, c.DeleteStorage(ctx, st.ID), labelhub.ECodeNotFound)
	_, err = c.ListObjects(ctx, st.ID, "", "", 0)
	wantCode(t, err, labelhub.ECodeNotFound)
}

func TestStorageValidateAndObjectsOnMinIO(t *testing.T) {
	objects := map[string]string{}
	for _, key := range []string{"b.jpg", "c.zip", "d.mp4", "sub/x.png", "other/y.txt"} {
		objects[key] = "data of " + key
	}
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	ctx := context.Background()

	h := newHub(t)
	c := client.New(h.URL, h.RootKey)
	in := labelhub.StorageInput{Name: "MinIO", Provider: labelhub.ProviderS3Compatible, Bucket: bucket, Endpoint: endpoint,
		Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}}
	st, err := c.CreateStorage(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, origin := range []string{"", "https://hub.example.com"} {
		v, err := c.ValidateStorage(ctx, st.ID, origin)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"credentials", "bucket", "list", "read"} {
			if ch, ok := v.Check(name); !ok || !ch.OK {
				t.Errorf("origin %q: check %s = %+v (%v)", origin, name, ch, v)
			}
		}
		if ch, ok := v.Check("cors"); !ok || ch.Message == "" {
			t.Errorf("origin %q: no cors check: %+v", origin, v)
		}
	}

	in.Name, in.Credentials.SecretAccessKey = "Wrong", "not-the-secret"
	wrong, err := c.CreateStorage(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.ValidateStorage(ctx, wrong.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if ch, _ := v.Check("credentials"); v.OK || ch.OK || !strings.Contains(ch.Message, "access denied") {
		t.Fatalf("wrong secret: %+v", v)
	}
	_, err = c.ListObjects(ctx, wrong.ID, "", "", 0)
	wantCode(t, err, labelhub.ECodeUnavailable)

	page, err := c.ListObjects(ctx, st.ID, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range page.Items {
		got = append(got, o.Type+":"+o.Key+":"+strconv.FormatBool(o.ValidAsset))
	}
	want := []string{"folder:other/:false", "folder:sub/:false", "file:b.jpg:true", "file:c.zip:false", "file:d.mp4:true"}
	if !slices.Equal(got, want) || page.NextCursor != "" {
		t.Fatalf("top level = %q, want %q", got, want)
	}
	if !page.Items[0].IsFolder() || page.Items[2].IsFolder() || page.Items[2].AssetType != labelhub.AssetImage ||
		page.Items[2].Size != int64(len("data of b.jpg")) || page.Items[2].ModTime == nil {
		t.Fatalf("items = %+v", page.Items)
	}
	sub, err := c.ListObjects(ctx, st.ID, "sub", "", 0)
	if err != nil || len(sub.Items) != 1 || sub.Items[0].Key != "sub/x.png" {
		t.Fatalf("sub = %+v, %v", sub, err)
	}

	// Pages of two.
	var walked []string
	cursor := ""
	for i := 0; ; i++ {
		p, err := c.ListObjects(ctx, st.ID, "", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Items {
			walked = append(walked, o.Key)
		}
		if p.NextCursor == "" {
			break
		}
		if i > 5 {
			t.Fatal("paging does not end")
		}
		cursor = p.NextCursor
	}
	// Folders come first within a page; pages follow the keys' order.
	slices.Sort(walked)
	if !slices.Equal(walked, []string{"b.jpg", "c.zip", "d.mp4", "other/", "sub/"}) {
		t.Fatalf("walked %q", walked)
	}
	_, err = c.ListObjects(ctx, st.ID, "", "not-a-cursor", 0)
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "cursor") {
		t.Fatalf("details = %+v", e.Details)
	}
}
