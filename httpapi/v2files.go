package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
)

// A run's result file over the /v2 calls. The SDK's export plugin asks
// for an upload URL (getUploadUrl), then for the download URL of what it
// will upload there (getSignedUrl), PUTs the bytes to the upload URL with
// no header, and ends the run with the download URL as its response. In
// labelhub the file is the run's artifact, as if uploaded with PUT
// /api/v1/runs/{runId}/artifact: same store, cap, zip check and
// atomicity (storeRunArtifact), downloadable from the run as usual.

// v2FileType checks the SDK's type= (StorageFileTypes): only exports
// (result files) have a place in labelhub.
func v2FileType(p *labelhub.Problems, t string) {
	switch t {
	case "", "exports", "export":
	default:
		p.Add("type", "labelhub keeps one result file per plugin run (type exports); %q files cannot be uploaded", t)
	}
}

// uploadURL answers GET /v2/getUploadUrl?name=<file>&project=<id>&type=exports
// (older SDKs: name=<projectId>/exports/<file> and nothing else) with
// {"data": {"uploadUrl": URL}}: a URL of this hub to PUT the run's result
// file to, with no header, while the run is running. Only a run token
// gets one, for its own run and project. storageId is accepted and has
// no effect: the file goes to the hub's artifact store.
func (v *v2) uploadURL(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if a.Scope == nil {
		return labelhub.Errorf(labelhub.ECodeForbidden, "upload URLs are for plugin runs: call with the run's apiKey (its run token); a user's API key cannot upload a run's result file")
	}
	q := r.URL.Query()
	name, project, typ := q.Get("name"), q.Get("project"), q.Get("type")
	if project == "" {
		// Older SDKs name the file <projectId>/exports/<file>.
		if pre, rest, ok := strings.Cut(name, "/"); ok {
			if sub, file, ok := strings.Cut(rest, "/"); ok && sub == "exports" {
				project, name = pre, file
			}
		}
	}
	var probs labelhub.Problems
	if project == "" {
		probs.Add("project", "is required: the id of the run's project")
	}
	v2FileType(&probs, typ)
	artifacts.ValidName(&probs, "name", name)
	if err := probs.Err("invalid request"); err != nil {
		return err
	}
	if project != a.Scope.ProjectID {
		return labelhub.NotFound("project")
	}
	_, st, err := v.s.plugins()
	if err != nil {
		return err
	}
	run, err := st.GetRun(r.Context(), a.Org.ID, a.Scope.RunID)
	if err != nil {
		return err
	}
	if run.State != labelhub.RunRunning {
		return labelhub.Errorf(labelhub.ECodeConflict, "the run is %s; a result file can be uploaded only while it is running", run.State)
	}
	base, err := v2Base(r)
	if err != nil {
		return err
	}
	now := v.signer.now()
	exp := now.Add(v2UploadURLTTL)
	if run.Deadline.After(exp) {
		exp = run.Deadline
	}
	if lim := now.Add(v2MaxURLTTL); exp.After(lim) {
		exp = lim
	}
	tok := v.signer.sign(urlClaims{Kind: urlUpload, Org: a.Org.ID, Project: run.ProjectID, Run: run.ID, Name: name, Exp: exp.Unix()})
	writeV2(w, http.StatusOK, map[string]string{"uploadUrl": base + "/v2/upload/" + tok})
	return nil
}

// upload answers PUT /v2/upload/{token}: the body becomes the result file
// of the token's run, as PUT /api/v1/runs/{runId}/artifact?name=<the
// token's name> would make it, and the answer is the same.
func (v *v2) upload(w http.ResponseWriter, r *http.Request) error {
	c, err := v.signer.parse(urlUpload, r.PathValue("token"))
	if err != nil {
		return err
	}
	_, st, err := v.s.plugins()
	if err != nil {
		return err
	}
	run, err := st.GetRun(r.Context(), c.Org, c.Run)
	if err != nil {
		return err
	}
	err = v.s.storeRunArtifact(w, r, run, c.Name)
	if err != nil && run.State == labelhub.RunRunning {
		// The SDK logs only the status and the URL of a refused PUT and
		// sends no response: the run fails here, with the hub's reason.
		msg := "the upload failed"
		var le *labelhub.Error
		if errors.As(err, &le) && le.Code != labelhub.ECodeInternal {
			msg = le.Error()
		}
		if h, _, perr := v.s.plugins(); perr == nil {
			h.FailRun(run.ID, "the hub refused the plugin's result file: "+msg)
		}
	}
	return err
}

// uploadToken finds the token in what the SDK sends as getSignedUrl's
// name: the upload URL (pasted unencoded into the query), its path, or
// the token alone.
func uploadToken(name string) string {
	const marker = "/v2/upload/"
	if i := strings.LastIndex(name, marker); i >= 0 {
		name = name[i+len(marker):]
	}
	if i := strings.IndexAny(name, "?#/"); i >= 0 {
		name = name[:i]
	}
	return name
}

// signedURL answers GET /v2/getSignedUrl?name=<uploadUrl>[&project=…&type=…]
// with {"data": {"signedUrl": URL}}: a URL of this hub that downloads the
// result file of the upload URL's run, with no header, for as long as
// result files are kept (--artifact-ttl). It may be asked for before the
// upload (the SDK does); it serves whatever the run's file is when it is
// fetched. A run token gets it for its own run; a user's key for any run
// it may see.
func (v *v2) signedURL(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	q := r.URL.Query()
	var probs labelhub.Problems
	name := q.Get("name")
	if name == "" {
		probs.Add("name", "is required: the uploadUrl that getUploadUrl answered")
	}
	v2FileType(&probs, q.Get("type"))
	if err := probs.Err("invalid request"); err != nil {
		return err
	}
	c, err := v.signer.parse(urlUpload, uploadToken(name))
	if err != nil {
		msg := "is not an upload URL of this hub (labelhub signs only the result files of plugin runs, from getUploadUrl)"
		if le, ok := err.(*labelhub.Error); ok && strings.HasPrefix(le.Message, "this link expired") {
			msg = "is an upload URL that has expired; ask getUploadUrl for a new one"
		}
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "name", Message: msg})
	}
	if c.Org != a.Org.ID || (a.Scope != nil && c.Run != a.Scope.RunID) {
		return labelhub.NotFound("run")
	}
	_, st, err := v.s.plugins()
	if err != nil {
		return err
	}
	run, err := st.GetRun(r.Context(), a.Org.ID, c.Run)
	if err != nil {
		return err
	}
	if !a.InProject(run.ProjectID) {
		return labelhub.NotFound("run")
	}
	if p := q.Get("project"); p != "" && p != run.ProjectID {
		return labelhub.NotFound("project")
	}
	base, err := v2Base(r)
	if err != nil {
		return err
	}
	ttl := artifacts.DefaultTTL
	if svc := v.s.cfg.Artifacts; svc != nil && svc.TTL > 0 {
		ttl = svc.TTL
	}
	// The link lives as long as a file does; the file's own expiry (its
	// TTL after the upload, a little later) answers 410 Gone.
	exp := v.signer.now().Add(min(ttl, v2MaxURLTTL))
	tok := v.signer.sign(urlClaims{Kind: urlDownload, Org: a.Org.ID, Project: run.ProjectID, Run: run.ID, Exp: exp.Unix()})
	writeV2(w, http.StatusOK, map[string]string{"signedUrl": base + "/v2/download/" + tok})
	return nil
}

// download answers GET /v2/download/{token}: the run's result file, as
// GET /api/v1/runs/{runId}/artifact answers it (attachment, ranges, 410
// once expired).
func (v *v2) download(w http.ResponseWriter, r *http.Request) error {
	c, err := v.signer.parse(urlDownload, r.PathValue("token"))
	if err != nil {
		return err
	}
	return v.s.serveRunArtifact(w, r, c.Org, c.Run)
}
