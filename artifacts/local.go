package artifacts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Local keeps blobs as files under a folder. An upload is written to a
// temporary file (".upload-*") next to its final name, synced and renamed
// into place, so a reader never sees half a file.
type Local struct{ dir string }

// NewLocal uses dir, creating it (mode 0700) if needed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Local{dir: dir}, nil
}

func (l *Local) path(key string) (string, error) {
	if err := validKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.dir, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (n int64, err error) {
	p, err := l.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err = copyCapped(ctx, f, r, maxBytes)
	if err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(f.Name(), p); err != nil {
		return n, err
	}
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	return n, nil
}

// copyCapped copies r to w until EOF; more than maxBytes is a
// *TooLargeError, and ctx ending stops the copy.
func copyCapped(ctx context.Context, w io.Writer, r io.Reader, maxBytes int64) (int64, error) {
	n, err := io.Copy(w, &ctxReader{ctx: ctx, r: io.LimitReader(r, maxBytes+1)})
	if err != nil {
		return n, err
	}
	if n > maxBytes {
		return n, &TooLargeError{Limit: maxBytes}
	}
	return n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type localObject struct {
	*os.File
	size int64
	mod  time.Time
}

func (o *localObject) Size() int64        { return o.size }
func (o *localObject) ModTime() time.Time { return o.mod }

// Open implements Store.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &localObject{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Delete implements Store; the key's folder goes too once it is empty.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if dir := filepath.Dir(p); dir != filepath.Clean(l.dir) {
		_ = os.Remove(dir) // fails while it holds other files
	}
	return nil
}

// Close implements Store.
func (l *Local) Close() error { return nil }
