package artifacts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// A zip ends with its end-of-central-directory record: 22 bytes and a
// comment of at most 65,535 bytes.
const (
	eocdLen     = 22
	maxZipTail  = eocdLen + 0xFFFF
	eocdSig     = "PK\x05\x06"
	zip64Marker = 0xFFFFFFFF
)

// NotZipError says a file named .zip is not a zip; nothing was kept.
type NotZipError struct {
	Name   string
	Reason string
}

func (e *NotZipError) Error() string {
	return fmt.Sprintf("%q is not a valid zip (%s); nothing was kept", e.Name, e.Reason)
}

// IsZipName reports whether name promises a zip (ends with .zip, any case).
func IsZipName(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".zip") }

// zipCheck passes r through and, at its end, checks that what went by
// ends with a valid end-of-central-directory record; if not, it returns a
// *NotZipError instead of io.EOF, so that the store aborts the upload.
// It keeps only the last maxZipTail bytes.
type zipCheck struct {
	r    io.Reader
	name string
	max  int64 // past it the store refuses the file as too large
	tail []byte
	n    int64 // bytes read
}

func (z *zipCheck) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if n > 0 {
		z.n += int64(n)
		z.tail = append(z.tail, p[:n]...)
		if len(z.tail) > 2*maxZipTail {
			z.tail = append(z.tail[:0], z.tail[len(z.tail)-maxZipTail:]...)
		}
	}
	if errors.Is(err, io.EOF) && z.n <= z.max {
		if reason := z.check(); reason != "" {
			return n, &NotZipError{Name: z.name, Reason: reason}
		}
	}
	return n, err
}

// check returns why the bytes read are not a zip, or "".
func (z *zipCheck) check() string {
	t := z.tail
	if len(t) > maxZipTail {
		t = t[len(t)-maxZipTail:]
	}
	if len(t) < eocdLen {
		return fmt.Sprintf("%d bytes are too few for a zip", z.n)
	}
	for i := len(t) - eocdLen; i >= 0; i-- {
		if string(t[i:i+4]) != eocdSig || i+eocdLen+int(binary.LittleEndian.Uint16(t[i+20:])) != len(t) {
			continue
		}
		size, off := binary.LittleEndian.Uint32(t[i+12:]), binary.LittleEndian.Uint32(t[i+16:])
		at := z.n - int64(len(t)-i) // where the record starts in the file
		if size != zip64Marker && off != zip64Marker && int64(off)+int64(size) > at {
			return "its central directory lies beyond its end"
		}
		return ""
	}
	return "no end-of-central-directory record at its end; was it cut short?"
}
