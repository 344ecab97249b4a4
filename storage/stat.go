package storage

import "context"

// Stat returns what a listing would say of one object; a missing object is
// an ECodeNotFound error naming it.
func (b *Bucket) Stat(ctx context.Context, key string) (File, error) {
	if err := checkKey(key); err != nil {
		return File{}, err
	}
	if err := b.conn.acquire(); err != nil {
		return File{}, err
	}
	defer b.conn.release()
	info, err := b.p.stat(ctx, key)
	if err != nil {
		return File{}, b.opError(err, "read", key)
	}
	return File{Key: key, Size: info.Size, ModTime: info.ModTime.UTC(), ContentType: info.ContentType}, nil
}
