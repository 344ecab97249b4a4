package storage

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
)

const listHead = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`

func TestReadListReply(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 14, 40, 1, 123e6, time.UTC)
	for _, tc := range []struct {
		name string
		doc  string
		want listReply
	}{
		{"minio page", listHead + `<Name>b</Name><Prefix>bench/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>` +
			`<NextContinuationToken>tok/+=</NextContinuationToken>` +
			`<Contents><Key>bench/a.jpg</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><ETag>&#34;9dd4e461268c8034f5c8564e155c67a6&#34;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>` +
			`<Contents><Key>bench/b.jpg</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>1234567890123</Size></Contents>` +
			`<CommonPrefixes><Prefix>bench/sub/</Prefix></CommonPrefixes></ListBucketResult>`,
			listReply{files: []File{{Key: "bench/a.jpg", Size: 1, ModTime: t0}, {Key: "bench/b.jpg", Size: 1234567890123, ModTime: t0}},
				dirs: []string{"bench/sub/"}, next: "tok/+=", truncated: true}},
		{"aws layout, whitespace, owner and checksums", listHead + "\n  <Name>b</Name>\n  <Contents>\n    <Key>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x4E2D;</Key>\n" +
			"    <LastModified>2026-12-07T14:40:01.123456+00:00</LastModified>\n    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>\n" +
			"    <Owner><ID>x</ID><DisplayName>y</DisplayName></Owner><RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress></RestoreStatus>\n" +
			"    <Size>0</Size>\n  </Contents>\n  <IsTruncated>false</IsTruncated>\n</ListBucketResult>\n",
			listReply{files: []File{{Key: `a & b <c> "d" 'e' é中`, ModTime: time.Date(2026, 12, 7, 14, 40, 1, 123456e3, time.UTC)}}}},
		{"line ends as encoding/xml reads them", listHead + "<Contents><Key>a\r\nb\rc\nd&#13;e é</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>1</Size></Contents></ListBucketResult>",
			listReply{files: []File{{Key: "a\nb\nc\nd\re é", Size: 1, ModTime: t0}}}},
		{"namespace prefixes", `<s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Contents><s3:Key>k</s3:Key><s3:LastModified>2026-12-07T14:40:01.123Z</s3:LastModified><s3:Size>2</s3:Size></s3:Contents></s3:ListBucketResult>`,
			listReply{files: []File{{Key: "k", Size: 2, ModTime: t0}}}},
		{"empty", listHead + `<Name>b</Name><Prefix>none/</Prefix><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`, listReply{}},
		{"self-closing elements and attributes with >", `<ListBucketResult a="x>y"><Name/><Contents><Key>k</Key><Owner/><LastModified>2026-12-07T14:40:01.123Z</LastModified></Contents><!-- done --></ListBucketResult>`,
			listReply{files: []File{{Key: "k", ModTime: t0}}}},
		{"a token without IsTruncated is not a next page", listHead + `<NextContinuationToken>t</NextContinuationToken></ListBucketResult>`, listReply{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readListReply([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

// Replies the reader leaves to the SDK's decoder.
func TestReadListReplyRefuses(t *testing.T) {
	obj := func(key string) string {
		return listHead + `<Contents><Key>` + key + `</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>1</Size></Contents></ListBucketResult>`
	}
	for _, doc := range []string{
		"",
		"<Error><Code>NoSuchBucket</Code></Error>",
		obj("<![CDATA[a]]>"),
		`<!DOCTYPE x>` + obj("a"),
		obj("a&nbsp;b"),
		obj("a&#0;b"),
		obj("a\x01b"),
		obj("a\xffb"),
		obj("a<!-- c -->b"),
		obj("a<b/>"),
		obj("a]]>b"),
		listHead + `<Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>`,                                                      // no LastModified
		listHead + `<Contents><Key>a</Key><LastModified>yesterday</LastModified></Contents></ListBucketResult>`,                              // a date in another layout
		listHead + `<Contents><Key>a</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>x</Size></Contents></ListBucketResult>`, // no number
		listHead + `<IsTruncated>1</IsTruncated></ListBucketResult>`,
		listHead + `<Contents><Key>a</Key>`, // cut
		listHead + `</ListBucketResult><ListBucketResult></ListBucketResult>`,
		listHead + `<Contents><Key>a</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified></Size></ListBucketResult>`,
	} {
		if r, err := readListReply([]byte(doc)); err == nil {
			t.Errorf("%q: read as %+v, want it left to the SDK", doc, *r)
		}
	}
}

// xmlListResult is what encoding/xml reads of a reply: the reference.
type xmlListResult struct {
	XMLName  xml.Name `xml:"ListBucketResult"`
	Contents []struct {
		Key          string
		Size         int64
		LastModified time.Time
	}
	CommonPrefixes []struct{ Prefix string }
	IsTruncated    bool
	Next           string `xml:"NextContinuationToken"`
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// FuzzReadListReply checks the reader against encoding/xml on replies
// made as S3 servers make them (MinIO escapes with encoding/xml), and on
// keys written raw: whenever the reader reads a reply, it reads it as
// encoding/xml does.
func FuzzReadListReply(f *testing.F) {
	for _, s := range []string{"bench/img-0000001.jpg", "a & b", "é/中/", "a\r\nb", "\t", "]]>", "&#65;", "&amp;", "x\x00y", "\xff"} {
		f.Add(s, "p/", "tok", false)
		f.Add(s, s, s, true)
	}
	f.Fuzz(func(t *testing.T, key, prefix, token string, raw bool) {
		esc := escapeXML
		if raw {
			esc = func(s string) string { return s }
		}
		doc := listHead + `<IsTruncated>true</IsTruncated><NextContinuationToken>` + esc(token) + `</NextContinuationToken>` +
			`<Contents><Key>` + esc(key) + `</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>7</Size></Contents>` +
			`<CommonPrefixes><Prefix>` + esc(prefix) + `</Prefix></CommonPrefixes></ListBucketResult>`
		got, err := readListReply([]byte(doc))
		var want xmlListResult
		werr := xml.Unmarshal([]byte(doc), &want)
		if err != nil {
			if !raw {
				t.Fatalf("refused a reply made as servers make them (%q): %v", doc, err)
			}
			return
		}
		if werr != nil {
			t.Fatalf("read a reply encoding/xml refuses (%q): %v", doc, werr)
		}
		if len(got.files) != 1 || len(got.dirs) != 1 || got.files[0].Key != want.Contents[0].Key || got.dirs[0] != want.CommonPrefixes[0].Prefix ||
			got.next != want.Next || !got.files[0].ModTime.Equal(want.Contents[0].LastModified) || got.files[0].Size != 7 {
			t.Fatalf("%q: read %+v, encoding/xml %+v", doc, *got, want)
		}
	})
}

// A reply the reader refuses is decoded by the SDK, and an error reply is
// the SDK's error, classified as before.
func TestListPageThroughSDK(t *testing.T) {
	var reply string
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("list-type") != "2" || r.URL.Query().Get("prefix") != "f/" || r.URL.Query().Get("delimiter") != "/" {
			http.Error(w, "unexpected request "+r.URL.String(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprint(w, reply)
	}))
	defer srv.Close()
	svc := NewService(nil, Options{AllowPrivateEndpoints: true})
	st := labelhub.Storage{Name: "t", Provider: labelhub.ProviderS3Compatible, Bucket: "b", Endpoint: srv.URL, PathStyle: true}
	b, err := openBucket(context.Background(), st, labelhub.StorageCredentials{AccessKeyID: "a", SecretAccessKey: "s"}, svc)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 14, 40, 1, 123e6, time.UTC)
	for _, tc := range []struct{ name, head string }{{"read here", listHead}, {"read by the SDK", `<!DOCTYPE ListBucketResult>` + listHead}} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readListReply([]byte(tc.head + `</ListBucketResult>`)); (err == nil) != (tc.head == listHead) {
				t.Fatalf("readListReply: %v", err)
			}
			reply = tc.head + `<IsTruncated>true</IsTruncated><NextContinuationToken>n</NextContinuationToken><Contents><Key>f/a&amp;b.jpg` +
				`</Key><LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>3</Size></Contents><Contents><Key>f/marker/</Key>` +
				`<LastModified>2026-12-07T14:40:01.123Z</LastModified><Size>0</Size></Contents><CommonPrefixes><Prefix>f/sub/</Prefix></CommonPrefixes></ListBucketResult>`
			got, err := b.ListFolder(context.Background(), "f", "", 10)
			if err != nil {
				t.Fatal(err)
			}
			want := Folder{Folders: []string{"f/sub/"}, Files: []File{{Key: "f/a&b.jpg", Size: 3, ModTime: t0}}, NextPageToken: pageToken("f/", []byte("n"))}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
	status, reply = 404, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>b</BucketName></Error>`
	_, err = b.ListFolder(context.Background(), "f", "", 10)
	if labelhub.ErrorCode(err) != labelhub.ECodeUnavailable || !strings.Contains(err.Error(), "bucket") {
		t.Fatalf("a missing bucket: %v", err)
	}
}

// The hostile corpus of testdata/listreply: a refuse-*.xml reply is left
// to the SDK's decoder, a read-*.xml reply is read as encoding/xml reads it.
func TestReadListReplyCorpus(t *testing.T) {
	paths, err := filepath.Glob("testdata/listreply/*.xml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, p := range paths {
		doc, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readListReply(doc)
		name := filepath.Base(p)
		if strings.HasPrefix(name, "refuse-") {
			if err == nil {
				t.Errorf("%s: read as %+v, want it left to the SDK", name, *got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var want xmlListResult
		if err := xml.Unmarshal(doc, &want); err != nil {
			t.Fatalf("%s: encoding/xml: %v", name, err)
		}
		var keys, wantKeys []string
		for _, f := range got.files {
			keys = append(keys, f.Key)
		}
		for _, c := range want.Contents {
			wantKeys = append(wantKeys, c.Key)
		}
		var wantDirs []string
		for _, c := range want.CommonPrefixes {
			wantDirs = append(wantDirs, c.Prefix)
		}
		if !slices.Equal(keys, wantKeys) || !slices.Equal(got.dirs, wantDirs) || got.next != want.Next {
			t.Errorf("%s: read keys %q, folders %q, next %q; encoding/xml %q, %q, %q", name, keys, got.dirs, got.next, wantKeys, wantDirs, want.Next)
		}
	}
}
