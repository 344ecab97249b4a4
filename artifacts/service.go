package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
)

// Defaults of the Service (--artifact-max-bytes, --artifact-ttl).
const (
	DefaultMaxBytes = 10 << 30 // 10 GiB
	DefaultTTL      = 7 * 24 * time.Hour
	// MaxNameBytes bounds an artifact's file name.
	MaxNameBytes = 255
)

// Service keeps one artifact per run: the bytes in Blobs, the record in
// Records.
type Service struct {
	Blobs   Store
	Records labelhub.RunArtifactStore
	// MaxBytes caps one artifact [DefaultMaxBytes].
	MaxBytes int64
	// TTL is how long an artifact is kept after its upload [DefaultTTL].
	TTL    time.Duration
	Logger *slog.Logger
	// Now is the clock [time.Now]; tests move it.
	Now func() time.Time
}

func (s *Service) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return DefaultMaxBytes
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// MaxArtifactBytes is the cap, for messages and early refusals.
func (s *Service) MaxArtifactBytes() int64 { return s.maxBytes() }

// ValidName checks an artifact's file name: 1 to 255 bytes of valid UTF-8,
// letters, digits, marks, spaces and ._-()+,=@~[]#&!', no path separators,
// not starting with '.' or a space and not ending with a space or '.'.
// Problems are reported at path.
func ValidName(p *labelhub.Problems, at, name string) {
	switch {
	case name == "":
		p.Add(at, "is required: the file name, e.g. result.zip")
		return
	case len(name) > MaxNameBytes:
		p.Add(at, "is longer than %d bytes", MaxNameBytes)
		return
	case !utf8.ValidString(name):
		p.Add(at, "is not valid UTF-8")
		return
	case strings.ContainsAny(name, `/\`):
		p.Add(at, "must be a file name without path separators ('/' or '\\')")
		return
	case name[0] == '.' || name[0] == ' ' || strings.HasSuffix(name, " ") || strings.HasSuffix(name, "."):
		p.Add(at, "must not start with '.' or a space, nor end with a space or '.'")
		return
	}
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.IsMark(c) || strings.ContainsRune(" ._-()+,=@~[]#&!'", c) {
			continue
		}
		p.Add(at, "has the character %q; use letters, digits, spaces and ._-()+,=@~[]#&!'", c)
		return
	}
}

// ContentType picks the type an artifact is served with: the uploader's
// (a valid media type), else one from the name's extension, else
// application/octet-stream.
func ContentType(name, declared string) string {
	if declared != "" {
		if mt, params, err := mime.ParseMediaType(declared); err == nil && mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
			return mime.FormatMediaType(mt, params)
		}
	}
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Put stores r as the artifact of run (which must be running), replacing
// an earlier one. Over the cap it is a too_large error naming the limit and
// nothing is kept. A name ending in .zip promises a zip: bytes that do not
// end with a zip's end-of-central-directory record are refused (invalid,
// "… is not a valid zip") and nothing is kept.
func (s *Service) Put(ctx context.Context, run labelhub.Run, name, contentType string, r io.Reader) (labelhub.RunArtifact, error) {
	var p labelhub.Problems
	ValidName(&p, "name", name)
	if err := p.Err("invalid artifact"); err != nil {
		return labelhub.RunArtifact{}, err
	}
	key := run.ID + "/" + labelhub.NewID()
	if IsZipName(name) {
		r = &zipCheck{r: r, name: name, max: s.maxBytes()}
	}
	n, err := s.Blobs.Put(ctx, key, r, s.maxBytes())
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return labelhub.RunArtifact{}, labelhub.Errorf(labelhub.ECodeTooLarge, "%s", tl.Error())
	}
	var nz *NotZipError
	if errors.As(err, &nz) {
		return labelhub.RunArtifact{}, labelhub.Errorf(labelhub.ECodeInvalid, "%s", nz.Error())
	}
	if err != nil {
		return labelhub.RunArtifact{}, fmt.Errorf("store the artifact of run %s: %w", run.ID, err)
	}
	t := s.now()
	a := labelhub.RunArtifact{RunID: run.ID, OrgID: run.OrgID, Key: key, Name: name, Size: n, ContentType: ContentType(name, contentType),
		CreatedAt: t, ExpiresAt: t.Add(s.ttl())}
	prev, replaced, err := s.Records.SetRunArtifact(context.WithoutCancel(ctx), a)
	if err != nil {
		s.delete(key)
		return labelhub.RunArtifact{}, err
	}
	if replaced {
		s.delete(prev.Key)
	}
	return a, nil
}

func (s *Service) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Service) delete(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Blobs.Delete(ctx, key); err != nil {
		s.log().Warn("could not delete an artifact's bytes", "key", key, "err", err)
	}
}

// ExpiredError says a run's artifact was deleted at the end of its time to
// live (the API answers 410 Gone).
type ExpiredError struct {
	RunID     string
	ExpiresAt time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("the artifact of run %s expired at %s", e.RunID, e.ExpiresAt.Format(time.RFC3339))
}

// Open returns a run's artifact record and its bytes. No artifact is
// ECodeNotFound; one past its time to live is an *ExpiredError.
func (s *Service) Open(ctx context.Context, orgID, runID string) (labelhub.RunArtifact, Object, error) {
	a, err := s.Records.GetRunArtifact(ctx, orgID, runID)
	if err != nil {
		return a, nil, err
	}
	if a.Expired || !s.now().Before(a.ExpiresAt) {
		return a, nil, &ExpiredError{RunID: runID, ExpiresAt: a.ExpiresAt}
	}
	o, err := s.Blobs.Open(ctx, a.Key)
	if errors.Is(err, ErrNotFound) {
		// Deleted meanwhile: replaced (the record moved on) or swept.
		if cur, err2 := s.Records.GetRunArtifact(ctx, orgID, runID); err2 == nil && cur.Key != a.Key {
			return s.Open(ctx, orgID, runID)
		}
		return a, nil, &ExpiredError{RunID: runID, ExpiresAt: a.ExpiresAt}
	}
	return a, o, err
}

// Sweep deletes the bytes of every artifact past its time to live and
// marks the records expired; it returns how many it swept.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	const batch = 100
	swept := 0
	for {
		due, err := s.Records.ExpiredRunArtifacts(ctx, s.now(), batch)
		if err != nil {
			return swept, err
		}
		for _, a := range due {
			if err := s.Blobs.Delete(ctx, a.Key); err != nil {
				return swept, fmt.Errorf("delete the artifact of run %s: %w", a.RunID, err)
			}
			if err := s.Records.MarkRunArtifactExpired(ctx, a.RunID, a.Key); err != nil {
				return swept, err
			}
			swept++
		}
		if len(due) < batch {
			return swept, nil
		}
	}
}

// Watch sweeps every interval until ctx ends.
func (s *Service) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("artifact sweep failed", "err", err)
		} else if n > 0 {
			s.log().Info("expired artifacts deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
