package converters

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spool is a file of the zip that grows while other files are written
// (a list of every image, for instance): a zip.Writer writes one file at
// a time, so its lines go to a temporary file first and are copied into
// the zip by AddTo, keeping memory constant whatever the file's size.
// Close removes the temporary file; it is safe to call more than once.
type Spool struct {
	name string
	f    *os.File
	w    *bufio.Writer
}

// NewSpool creates the temporary file (os.CreateTemp in $TMPDIR) for the
// zip's file name.
func NewSpool(name string) (*Spool, error) {
	f, err := os.CreateTemp("", "labelhub-spool-*")
	if err != nil {
		return nil, fmt.Errorf("create the temporary file of %s: %w", name, err)
	}
	return &Spool{name: name, f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Write appends to the file.
func (s *Spool) Write(p []byte) (int, error) { return s.w.Write(p) }

// WriteString appends to the file.
func (s *Spool) WriteString(v string) (int, error) { return s.w.WriteString(v) }

// AddTo writes the file into zw under its name.
func (s *Spool) AddTo(zw *zip.Writer) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write the temporary file of %s: %w", s.name, err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the temporary file of %s: %w", s.name, err)
	}
	w, err := zw.Create(s.name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, s.f); err != nil {
		return fmt.Errorf("add %s to the zip: %w", s.name, err)
	}
	return nil
}

// CopyTo writes what was written so far into w (part of a zip file
// written around it, for instance) and leaves the spool ready for more.
func (s *Spool) CopyTo(w io.Writer) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write the temporary file of %s: %w", s.name, err)
	}
	if _, err := io.Copy(w, io.NewSectionReader(s.f, 0, 1<<62)); err != nil {
		return fmt.Errorf("copy the temporary file of %s: %w", s.name, err)
	}
	return nil
}

// Close closes and removes the temporary file.
func (s *Spool) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if rerr := os.Remove(s.f.Name()); err == nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	s.f = nil
	return err
}
