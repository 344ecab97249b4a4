package labelhub

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

var (
	idMu   sync.Mutex
	lastID [16]byte
)

// NewID returns a new opaque identifier: 26 lower-case characters whose
// order follows creation time (48 bits of milliseconds, then 80 bits that
// start random and count up within one millisecond of this process), so
// ordering by id is ordering by creation and keyset pages stay stable
// while rows are inserted.
func NewID() string {
	ms := uint64(time.Now().UnixMilli())
	idMu.Lock()
	var b [16]byte
	if ms <= binary.BigEndian.Uint64(lastID[:8])>>16 {
		// Same millisecond (or the clock stepped back): count up from the last id.
		b = lastID
		for i := 15; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		binary.BigEndian.PutUint64(b[:8], ms<<16)
		_, _ = rand.Read(b[6:])
		b[6] &= 0x7f // leave room to count up without carrying into the time
	}
	lastID = b
	idMu.Unlock()
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an id made by NewID. Handlers
// use it to answer 404 for garbage without asking the store.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || c == 'i' || c == 'l' || c == 'o' || c == 'u' {
			return false
		}
	}
	return true
}

// IDFloor returns the least id NewID can make at t or later: the
// milliseconds of t and zeros after them. Ids are ordered by creation, so
// the rows a job made after it started lie at or above the floor of its
// start.
func IDFloor(t time.Time) string {
	var b [16]byte
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16)
	return idEncoding.EncodeToString(b[:])
}
