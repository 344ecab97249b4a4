package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
)

// Result files of plugin runs. The plugin uploads its file with its run
// token (PUT, streamed to the artifact store, never held in memory); users
// who may see the run download it (GET, with ranges).
func (s *Server) routesArtifacts() {
	s.handle("PUT", "/api/v1/runs/{runId}/artifact", s.putArtifact)
	s.handle("GET", "/api/v1/runs/{runId}/artifact", s.getArtifact)
}

var errNoArtifacts = labelhub.Errorf(labelhub.ECodeUnavailable, "result files are not enabled on this hub")

// putArtifact stores the body as the run's result file. Only the run's own
// token may, while the run is running; a second upload replaces the first.
func (s *Server) putArtifact(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	run, _, err := s.runOf(r, a)
	if err != nil {
		return err
	}
	if a.Scope == nil {
		return labelhub.Errorf(labelhub.ECodeForbidden, "only the run's plugin uploads its result file, with the run token (apiKey); download it with GET")
	}
	if a.Scope.RunID != run.ID {
		return labelhub.NotFound("run") // another run's token, like GET
	}
	return s.storeRunArtifact(w, r, run, r.URL.Query().Get("name"))
}

// storeRunArtifact stores the request's body as run's result file named
// name, while the run is running: the upload of PUT
// /api/v1/runs/{runId}/artifact and of the upload URLs of GET
// /v2/getUploadUrl.
func (s *Server) storeRunArtifact(w http.ResponseWriter, r *http.Request, run labelhub.Run, name string) error {
	if run.State != labelhub.RunRunning {
		return labelhub.Errorf(labelhub.ECodeConflict, "the run is %s; a result file can be uploaded only while it is running", run.State)
	}
	svc := s.cfg.Artifacts
	if svc == nil {
		return errNoArtifacts
	}
	var p labelhub.Problems
	artifacts.ValidName(&p, "name", name)
	if err := p.Err("invalid query"); err != nil {
		return err
	}
	if r.ContentLength > svc.MaxArtifactBytes() {
		return labelhub.Errorf(labelhub.ECodeTooLarge, "the file (%d bytes) is larger than the limit of %d bytes (--artifact-max-bytes)", r.ContentLength, svc.MaxArtifactBytes())
	}
	art, err := svc.Put(r.Context(), run, name, r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		if labelhub.ErrorCode(err) == labelhub.ECodeInternal && r.Context().Err() != nil {
			return labelhub.Errorf(labelhub.ECodeInvalid, "the upload was interrupted; nothing was kept")
		}
		return err
	}
	writeJSON(w, http.StatusOK, art)
	return nil
}

// getArtifact streams the run's result file as an attachment, with
// Content-Length and Range support. An expired one is 410 Gone.
func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	run, _, err := s.runOf(r, a)
	if err != nil {
		return err
	}
	return s.serveRunArtifact(w, r, a.Org.ID, run.ID)
}

// serveRunArtifact streams the result file of run runID of orgID: GET
// /api/v1/runs/{runId}/artifact and the signed URLs of GET
// /v2/getSignedUrl.
func (s *Server) serveRunArtifact(w http.ResponseWriter, r *http.Request, orgID, runID string) error {
	svc := s.cfg.Artifacts
	if svc == nil {
		return errNoArtifacts
	}
	art, obj, err := svc.Open(r.Context(), orgID, runID)
	var exp *artifacts.ExpiredError
	switch {
	case errors.As(err, &exp):
		e := labelhub.Errorf(labelhub.ECodeNotFound, "expired: %s; run the plugin again for a new one", exp.Error())
		writeJSON(w, http.StatusGone, map[string]*labelhub.Error{"error": e})
		return nil
	case labelhub.ErrorCode(err) == labelhub.ECodeNotFound:
		return labelhub.Errorf(labelhub.ECodeNotFound, "run %s has no result file", runID)
	case err != nil:
		return err
	}
	defer obj.Close()
	h := w.Header()
	h.Set("Content-Type", art.ContentType)
	h.Set("Content-Disposition", ContentDisposition(art.Name))
	h.Set("ETag", `"`+art.Key[strings.LastIndexByte(art.Key, '/')+1:]+`"`)
	http.ServeContent(w, r, "", art.CreatedAt, obj)
	return nil
}

// ContentDisposition is an attachment header for name (RFC 6266): an
// ASCII fallback in filename and, when name is not plain ASCII, the exact
// name in filename* (RFC 8187, UTF-8, percent-encoded).
func ContentDisposition(name string) string {
	var fb strings.Builder
	plain := true
	for _, c := range name {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '%' {
			fb.WriteByte('_')
			plain = false
			continue
		}
		fb.WriteRune(c)
	}
	v := `attachment; filename="` + fb.String() + `"`
	if !plain {
		v += "; filename*=UTF-8''" + encodeExtValue(name)
	}
	return v
}

// encodeExtValue percent-encodes all but RFC 8187's attr-char.
func encodeExtValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
