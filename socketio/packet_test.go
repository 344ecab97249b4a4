package socketio

import (
	"bytes"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	for _, tc := range []struct {
		in        string
		typ       byte
		namespace string
		ack       int64
		data      string
		err       bool
	}{
		{in: "0", typ: sioConnect, namespace: "/", ack: -1},
		{in: "0/plugin,", typ: sioConnect, namespace: "/plugin", ack: -1},
		{in: `0/plugin,{"token":"x"}`, typ: sioConnect, namespace: "/plugin", ack: -1, data: `{"token":"x"}`},
		{in: "1/plugin", typ: sioDisconnect, namespace: "/plugin", ack: -1},
		{in: "1/plugin,", typ: sioDisconnect, namespace: "/plugin", ack: -1},
		{in: `2["a"]`, typ: sioEvent, namespace: "/", ack: -1, data: `["a"]`},
		{in: `2/plugin,12["a",{"b":1}]`, typ: sioEvent, namespace: "/plugin", ack: 12, data: `["a",{"b":1}]`},
		{in: `3/plugin,12[]`, typ: sioAck, namespace: "/plugin", ack: 12, data: `[]`},
		{in: "", err: true},
		{in: "7", err: true},
		{in: `51-["a",{"_placeholder":true,"num":0}]`, err: true},
		{in: `2{"a":1}`, err: true},
		{in: `2`, err: true},
		{in: `2/plugin,["a"`, err: true},
		{in: `3/plugin,[]`, err: true},
		{in: `2/plugin,12345678901234567890["a"]`, err: true},
	} {
		p, err := decodePacket([]byte(tc.in))
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil || p.typ != tc.typ || p.namespace != tc.namespace || p.ackID != tc.ack || string(p.data) != tc.data {
			t.Errorf("%q: %+v %v", tc.in, p, err)
		}
	}
}

func TestEncodePacket(t *testing.T) {
	if got := string(encodePacket(sioEvent, "/plugin", -1, []byte(`["plugin",{}]`))); got != `42/plugin,["plugin",{}]` {
		t.Errorf("event %q", got)
	}
	if got := string(encodePacket(sioAck, "/", 3, []byte(`[]`))); got != `433[]` {
		t.Errorf("ack %q", got)
	}
	if got := string(encodePacket(sioDisconnect, "/plugin", -1, nil)); got != `41/plugin,` {
		t.Errorf("disconnect %q", got)
	}
}

// FuzzDecodePacket: no input panics, and what decodes encodes back to a
// packet that decodes the same.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{"0/plugin,", `2/plugin,12["a",{"b":1}]`, `3/x,1[]`, "1", `4/plugin,{"message":"no"}`, "5", `2["\u0000"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		if p.namespace != "/" && bytes.ContainsRune([]byte(p.namespace), ',') {
			t.Fatalf("namespace %q holds a comma", p.namespace)
		}
		re := encodePacket(p.typ, p.namespace, p.ackID, p.data)
		q, err := decodePacket(re[1:])
		if err != nil || q.typ != p.typ || q.namespace != p.namespace || q.ackID != p.ackID || !bytes.Equal(q.data, p.data) {
			t.Fatalf("%q → %q → %+v %v", b, re, q, err)
		}
	})
}
