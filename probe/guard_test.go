package probe_test

import (
	"strings"
	"testing"

	"github.com/labelhub/labelhub/probe"
)

// TestPrivateAddressesRefused: without AllowPrivate, a probe of a loopback,
// private or link-local URL is refused before any connection, naming the
// operator setting.
func TestPrivateAddressesRefused(t *testing.T) {
	srv := serve(t, "../testdata/probe")
	p := probe.New(probe.Options{}) // AllowPrivate false
	urls := []string{
		srv.url("small.mp4"), // 127.0.0.1
		srv.url("tiny.webp"),
		"http://localhost/a.mp4",
		"http://LOCALHOST./a.png",
		"http://app.localhost:8080/a.mp4",
		"http://10.0.0.1/bucket/a.mp4",
		"http://10.0.0.1/bucket/clip.webm", // the ffprobe path is guarded too
		"http://169.254.169.254/latest/meta-data/",
		"http://192.168.1.20:9000/b/a.jpg",
		"http://172.16.0.5/a.mp4",
		"http://[::1]:9000/a.png",
		"http://[fe80::1]/a.png",
		"http://[::ffff:127.0.0.1]/a.png",
		"http://0.0.0.0/a.mp4",
		"http://100.64.0.1/a.mp4",
	}
	for _, u := range urls {
		for _, method := range []string{"image", "video"} {
			var err error
			if method == "image" {
				_, err = p.Image(ctx(t), u)
			} else {
				_, err = p.Video(ctx(t), u)
			}
			if err == nil || errKind(err) != probe.KindRefused || !strings.Contains(err.Error(), "--allow-private-endpoints") {
				t.Errorf("%s %s: err = %v, want refused naming --allow-private-endpoints", method, u, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: the message repeats the query string: %v", u, err)
			}
		}
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests", n)
	}
	_, err := p.Image(ctx(t), "http://169.254.169.254/latest/meta-data/")
	want := "refused to read from 169.254.169.254, a link-local address: the hub does not fetch from loopback, private or link-local addresses unless the operator starts it with --allow-private-endpoints"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if probe.Temporary(err) {
		t.Error("a refusal is not temporary")
	}

	// The operator's setting lets the same URL through.
	res, err := loopback(probe.Options{}).Video(ctx(t), srv.url("small.mp4"))
	if err != nil || res.FrameCount != 10 {
		t.Errorf("with AllowPrivate: %+v, %v", res, err)
	}
}

func TestBadURLs(t *testing.T) {
	p := probe.New(probe.Options{})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/a.mp4", "gopher://x/", "/relative/a.png", "http:///nohost.png", "http://a b/%zz"} {
		_, err := p.Image(ctx(t), u)
		if err == nil || errKind(err) != probe.KindURL {
			t.Errorf("%q: err = %v, want a URL error", u, err)
		}
	}
}
