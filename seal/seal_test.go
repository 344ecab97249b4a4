package seal

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newBox(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := newBox(t, 1)
	secret := []byte(`{"secretAccessKey":"wJalrXUtnFEMI/K7MDENG"}`)
	s1 := b.Seal(secret, []byte("row-1"))
	s2 := b.Seal(secret, []byte("row-1"))
	if s1 == s2 {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if strings.Contains(s1, "wJalr") {
		t.Fatal("sealed text contains the plaintext")
	}
	got, err := b.Open(s1, []byte("row-1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Another row, another key, an altered value, garbage: all refused.
	if _, err := b.Open(s1, []byte("row-2")); err != ErrOpen {
		t.Fatalf("opened with another row's associated data: %v", err)
	}
	if _, err := newBox(t, 2).Open(s1, []byte("row-1")); err != ErrOpen {
		t.Fatalf("opened with another key: %v", err)
	}
	raw, _ := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(s1, "v1:"))
	raw[len(raw)-1] ^= 1
	if _, err := b.Open("v1:"+base64.RawStdEncoding.EncodeToString(raw), []byte("row-1")); err != ErrOpen {
		t.Fatalf("opened an altered value: %v", err)
	}
	for _, bad := range []string{"", "v1:", "v1:!!!", "v2:" + s1[3:], s1[3:]} {
		if _, err := b.Open(bad, []byte("row-1")); err != ErrOpen {
			t.Fatalf("Open(%q) = %v", bad, err)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("New accepted a short key")
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvKey, "")
	k1, created, err := LoadKey(dir)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first LoadKey = %d bytes, created %v, %v", len(k1), created, err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", info.Mode(), err)
	}
	k2, created, err := LoadKey(dir)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadKey made a new key (created %v, %v)", created, err)
	}
	env := bytes.Repeat([]byte{7}, KeySize)
	t.Setenv(EnvKey, base64.StdEncoding.EncodeToString(env))
	k3, _, err := LoadKey(dir)
	if err != nil || !bytes.Equal(k3, env) {
		t.Fatalf("the environment key was not used: %v", err)
	}
	t.Setenv(EnvKey, "too-short")
	if _, _, err := LoadKey(dir); err == nil || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("a bad environment key gave %v", err)
	}
	t.Setenv(EnvKey, "")
	os.WriteFile(filepath.Join(dir, KeyFileName), []byte("garbage"), 0o600)
	if _, _, err := LoadKey(dir); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}
