package imports

import (
	"context"
	"io"
	"os"
	"sync"
)

// spool is a body being written to a file while a job reads it.
type spool struct {
	mu   sync.Mutex
	cond *sync.Cond
	size int64
	done bool  // the body was received whole
	err  error // the upload failed
}

func newSpool() *spool {
	s := &spool{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *spool) grow(n int64) {
	s.mu.Lock()
	s.size += n
	s.mu.Unlock()
	s.cond.Broadcast()
}

func (s *spool) finish(err error) {
	s.mu.Lock()
	if err != nil {
		s.err = err
	} else {
		s.done = true
	}
	s.mu.Unlock()
	s.cond.Broadcast()
}

// tail reads the spool file as it grows, waiting for more until the upload
// is finished.
type tail struct {
	ctx context.Context
	f   *os.File
	s   *spool
	off int64
}

func (t *tail) Read(p []byte) (int, error) {
	t.s.mu.Lock()
	for t.off >= t.s.size && !t.s.done && t.s.err == nil && t.ctx.Err() == nil {
		t.s.cond.Wait()
	}
	size, done, err := t.s.size, t.s.done, t.s.err
	t.s.mu.Unlock()
	if t.off >= size {
		switch {
		case err != nil:
			return 0, err
		case done:
			return 0, io.EOF
		default:
			return 0, t.ctx.Err()
		}
	}
	n, rerr := t.f.ReadAt(p[:min(int64(len(p)), size-t.off)], t.off)
	t.off += int64(n)
	if rerr == io.EOF {
		rerr = nil
	}
	return n, rerr
}

// watch wakes readers when ctx is done.
func (s *spool) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.mu.Unlock()
		s.cond.Broadcast()
	})
}
