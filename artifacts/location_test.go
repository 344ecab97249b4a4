package artifacts_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub/artifacts"
)

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want artifacts.Location
	}{
		{"", artifacts.Location{Dir: filepath.Join("DATA", "artifacts")}},
		{"/srv/artifacts", artifacts.Location{Dir: "/srv/artifacts"}},
		{"file:///srv/x", artifacts.Location{Dir: "/srv/x"}},
		{"s3://my-bucket", artifacts.Location{Bucket: "my-bucket", Region: "us-east-1"}},
		{"s3://my.bucket/hub/runs/?region=eu-west-1", artifacts.Location{Bucket: "my.bucket", Prefix: "hub/runs/", Region: "eu-west-1"}},
		{"s3://b12/p?endpoint=http://127.0.0.1:9000&region=x", artifacts.Location{Bucket: "b12", Prefix: "p/", Region: "x", Endpoint: "http://127.0.0.1:9000"}},
	} {
		got, err := artifacts.ParseLocation(c.raw, "DATA")
		if err != nil || got != c.want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", c.raw, got, err, c.want)
		}
	}
}

// testdata/hostile-locations.txt: every line is refused, and the message
// names the flag.
func TestParseLocationRefusesHostileSettings(t *testing.T) {
	f, err := os.Open("testdata/hostile-locations.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "# ") {
			continue
		}
		n++
		l, err := artifacts.ParseLocation(line, "DATA")
		if err == nil {
			t.Errorf("%q accepted as %+v", line, l)
		} else if !strings.Contains(err.Error(), "--artifacts") {
			t.Errorf("%q: message %q does not name --artifacts", line, err)
		}
	}
	if n < 15 {
		t.Fatalf("only %d settings read", n)
	}
}

// A location ParseLocation accepts is either a folder or a bucket whose
// prefix cannot climb out of itself.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"", "s3://bucket/p?endpoint=http://h:1&region=r", "file:///x", "s3://b/../x", "/tmp/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := artifacts.ParseLocation(raw, "DATA")
		if err != nil {
			return
		}
		if (l.Dir == "") == (l.Bucket == "") {
			t.Fatalf("%q: %+v is neither a folder nor a bucket", raw, l)
		}
		if l.Bucket != "" {
			if l.Region == "" || strings.Contains(l.Prefix, "..") || strings.HasPrefix(l.Prefix, "/") || strings.Contains(l.Prefix, "//") {
				t.Fatalf("%q: %+v", raw, l)
			}
		}
	})
}
