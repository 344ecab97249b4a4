package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// version prefixes every sealed value, so the format can change later.
const version = "v1:"

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: the key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to associated data (for example the id of
// the row that holds it) and returns printable text.
func (b *Box) Seal(plaintext, associated []byte) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce)
	out := b.aead.Seal(nonce, nonce, plaintext, associated)
	return version + base64.RawStdEncoding.EncodeToString(out)
}

// ErrOpen is returned for a value that was not sealed by this key with
// this associated data, or was altered.
var ErrOpen = errors.New("seal: cannot open the value: wrong key, wrong row, or altered")

// Open decrypts a value made by Seal with the same associated data.
func (b *Box) Open(sealed string, associated []byte) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return nil, ErrOpen
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], associated)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// EnvKey is the environment variable that holds the key, base64-encoded.
const EnvKey = "LABELHUB_SECRET_KEY"

// KeyFileName is the key file generated in the data folder.
const KeyFileName = "secret-key"

// LoadKey returns the key from LABELHUB_SECRET_KEY (standard base64 of
// KeySize bytes) when set; otherwise from DIR/secret-key, generating that
// file (mode 0600) when it does not exist. created reports a new file.
// Several hub replicas must share one key: set LABELHUB_SECRET_KEY on all.
func LoadKey(dir string) (key []byte, created bool, err error) {
	if v := os.Getenv(EnvKey); v != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(key) != KeySize {
			return nil, false, fmt.Errorf("%s must be the base64 of %d random bytes (openssl rand -base64 %d)", EnvKey, KeySize, KeySize)
		}
		return key, false, nil
	}
	path := filepath.Join(dir, KeyFileName)
	if text, err := os.ReadFile(path); err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
		if err != nil || len(key) != KeySize {
			return nil, false, fmt.Errorf("%s is not the base64 of %d bytes; restore it from a backup (credentials sealed with it cannot be read otherwise)", path, KeySize)
		}
		return key, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	key = make([]byte, KeySize)
	_, _ = rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	return key, true, f.Close()
}
