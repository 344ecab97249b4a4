package pluginproto_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub/pluginproto"
)

func i64(v int64) *int64 { return &v }

func TestRoundTrip(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := []pluginproto.Message{
		{Type: pluginproto.TypeHello, PluginID: "p1", Secret: "s", SDKVersion: "0.1.0", Host: "box", Concurrency: 4},
		{Type: pluginproto.TypeWelcome, InstanceID: "i1", PluginType: "export", HeartbeatMillis: 10000, MaxMessageBytes: 1 << 20, MaxLogLines: 100},
		{Type: pluginproto.TypeHeartbeat},
		{Type: pluginproto.TypeAssign, ID: "r1", Run: &pluginproto.Run{Session: "r1", ProjectID: "pr", ConfigJSON: `{"a":1}`, Batches: []string{"b"}, APIKey: "lhr_x", Attempt: 1, Deadline: at, Params: json.RawMessage(`{"folder":"x/"}`)}},
		{Type: pluginproto.TypeAccept, ID: "r1"},
		{Type: pluginproto.TypeLog, ID: "r1", Time: &at, Level: "info", Msg: "hello", Attrs: json.RawMessage(`{"n":1}`)},
		{Type: pluginproto.TypeProgress, ID: "r1", Done: i64(3), Total: i64(10), Msg: "listing"},
		{Type: pluginproto.TypeResult, ID: "r1", Result: json.RawMessage(`{"files":[]}`)},
		{Type: pluginproto.TypeError, ID: "r1", Error: "boom"},
		{Type: pluginproto.TypeCancel, ID: "r1", Reason: "cancelled by a user"},
		{Type: pluginproto.TypeGoodbye, Reason: "secret rotated"},
	}
	for _, m := range msgs {
		b, err := pluginproto.Encode(&m, 0)
		if err != nil {
			t.Fatalf("encode %s: %v", m.Type, err)
		}
		got, err := pluginproto.Decode(b, 0)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(*got, m) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, *got, m)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := map[string]string{
		`{"v":1,"type":"heartbeat"} {}`:                                "data after",
		`{"v":2,"type":"heartbeat"}`:                                   "version 2",
		`{"type":"heartbeat"}`:                                         "version 0",
		`{"v":1,"type":"nope"}`:                                        "unknown message type",
		`{"v":1}`:                                                      "no type",
		`{"v":1,"type":"heartbeat","extra":1}`:                         "unknown field",
		`{"v":1,"type":"run.result"}`:                                  "needs the run id",
		`{"v":1,"type":"run.error","id":"r"}`:                          "needs error",
		`{"v":1,"type":"run.log","id":"r","level":"x"}`:                "level",
		`{"v":1,"type":"hello","pluginId":"p"}`:                        "pluginId and secret",
		`{"v":1,"type":"run.progress","id":"r","done":-1}`:             "negative",
		`{"v":1,"type":"run.log","id":"r","level":"info","attrs":[1]}`: "attrs must be an object",
		`[1,2]`:         "malformed",
		`{"v":1,"type"`: "malformed",
		"{\"v\":1,\"type\":\"heartbeat\",\"reason\":\"\xff\"}":               "UTF-8",
		`{"v":1,"type":"run.accept","id":"` + strings.Repeat("x", 65) + `"}`: "longer than 64",
	}
	for in, want := range cases {
		_, err := pluginproto.Decode([]byte(in), 0)
		var pe *pluginproto.Error
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%.60q) = %v, want a protocol error containing %q", in, err, want)
		}
	}
	big := `{"v":1,"type":"run.result","id":"r","result":"` + strings.Repeat("a", 200) + `"}`
	if _, err := pluginproto.Decode([]byte(big), 100); !errors.Is(err, pluginproto.ErrTooLarge) || !strings.Contains(err.Error(), "limit 100 bytes") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := pluginproto.Encode(&pluginproto.Message{Type: pluginproto.TypeResult, ID: "r", Result: json.RawMessage(`"` + strings.Repeat("a", 200) + `"`)}, 100); !errors.Is(err, pluginproto.ErrTooLarge) {
		t.Errorf("encode oversized: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"hello","pluginId":"p","secret":"s","concurrency":2}`))
	f.Add([]byte(`{"v":1,"type":"run.log","id":"r","level":"info","msg":"x","attrs":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"v":1,"type":"run.assign","id":"r","run":{"session":"r","params":{"folder":"a"}}}`))
	f.Add([]byte(`{"v":1,"type":"run.progress","id":"r","done":1,"total":2}`))
	f.Add([]byte(`{"v":1,"type":"run.result","id":"r","result":{"x":"\u0000"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := pluginproto.Decode(b, 4096)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same message.
		out, err := pluginproto.Encode(m, 0)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", b, err)
		}
		m2, err := pluginproto.Decode(out, 0)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", out, err)
		}
		out2, _ := pluginproto.Encode(m2, 0)
		if string(out) != string(out2) {
			t.Fatalf("not stable: %s vs %s", out, out2)
		}
	})
}
