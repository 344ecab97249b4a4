package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labelhub/labelhub"
)

// Importer starts asset imports; *imports.Runner is one. The "Add data"
// form posts to the UI when the browser runs no script; the UI streams the
// file part into Start.
type Importer interface {
	Start(ctx context.Context, orgID, userID, projectID string, opts labelhub.ImportOptions, body io.Reader) (labelhub.Import, error)
}

// assetStore is what the Assets tab needs of the store (sqlstore.Store has
// it); a store without it shows no Assets tab.
type assetStore interface {
	ListAssets(ctx context.Context, orgID, projectID string, f labelhub.AssetFilter, p labelhub.PageRequest) (labelhub.Page[labelhub.Asset], error)
	GetAsset(ctx context.Context, orgID, id string) (labelhub.Asset, error)
	GetImport(ctx context.Context, orgID, id string) (labelhub.Import, error)
	ListImportErrors(ctx context.Context, orgID, id string, p labelhub.PageRequest) (labelhub.Page[labelhub.ImportError], error)
}

func (s *server) assets() (assetStore, error) {
	as, ok := s.cfg.Store.(assetStore)
	if !ok {
		return nil, labelhub.Errorf(labelhub.ECodeNotFound, "This hub keeps no assets.")
	}
	return as, nil
}

func (s *server) routesAssets() {
	m := s.mux
	m.HandleFunc("GET /projects/{projectId}/assets", s.page(s.projectAssetsPage))
	m.HandleFunc("POST /projects/{projectId}/imports", s.uploadImport)
	m.HandleFunc("GET /projects/{projectId}/imports/{importId}", s.page(s.importPage))
	m.HandleFunc("GET /assets/{assetId}", s.page(s.assetPage))
}

type assetsView struct {
	Project    labelhub.Project
	Tab        string
	Assets     []labelhub.Asset
	NextCursor string
	MoreURL    string
	Filter     struct{ Batch, ExternalID, Type string }
	Filtered   bool
	Batches    []labelhub.Batch
	Types      []labelhub.AssetType
	Storages   []labelhub.Storage
	CanImport  bool
	ZeroCounts labelhub.ImportCounts
}

var assetTypes = []labelhub.AssetType{labelhub.AssetImage, labelhub.AssetVideo, labelhub.AssetAudio, labelhub.AssetPDF,
	labelhub.AssetText, labelhub.AssetDICOM, labelhub.AssetPointCloud}

func (s *server) projectAssetsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	as, err := s.assets()
	if err != nil {
		return err
	}
	ctx := r.Context()
	v := assetsView{Project: p, Tab: "assets", Types: assetTypes}
	q := r.URL.Query()
	v.Filter.Batch, v.Filter.ExternalID, v.Filter.Type = q.Get("batch"), strings.TrimSpace(q.Get("externalId")), q.Get("type")
	v.Filtered = v.Filter.Batch != "" || v.Filter.ExternalID != "" || v.Filter.Type != ""
	batches, err := s.cfg.Store.ListBatches(ctx, c.actor.Org.ID, p.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		return err
	}
	v.Batches = batches.Items
	f := labelhub.AssetFilter{ExternalID: v.Filter.ExternalID, Type: labelhub.AssetType(v.Filter.Type), BatchID: v.Filter.Batch}
	page, err := as.ListAssets(ctx, c.actor.Org.ID, p.ID, f, labelhub.PageRequest{Limit: pageSize, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	v.Assets, v.NextCursor = page.Items, page.NextCursor
	more := url.Values{}
	for k, val := range map[string]string{"batch": v.Filter.Batch, "externalId": v.Filter.ExternalID, "type": v.Filter.Type} {
		if val != "" {
			more.Set(k, val)
		}
	}
	v.MoreURL = "/projects/" + p.ID + "/assets?" + more.Encode()
	if len(more) > 0 {
		v.MoreURL += "&"
	}
	v.MoreURL += "cursor="
	v.CanImport = c.can(labelhub.PermManageProjects) && s.cfg.Imports != nil
	if v.CanImport && s.cfg.Storage != nil {
		st, err := s.cfg.Storage.List(ctx, c.actor.Org.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
		if err != nil {
			return err
		}
		v.Storages = st.Items
	}
	s.render(w, r, http.StatusOK, "project_assets", c, p.Name+" · Assets", "projects", v)
	return nil
}

// uploadImport is the "Add data" form without script: a multipart body
// whose fields come before the file; the file part is streamed into the
// import (never held in memory), then the browser goes to the import's page.
func (s *server) uploadImport(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c, err := s.session(r)
	if err != nil {
		s.toLogin(w, r)
		return
	}
	if err := s.streamImport(w, r, c); err != nil {
		s.fail(w, r, c, err)
	}
}

func (s *server) streamImport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageProjects) {
		return forbidden(c, "import assets")
	}
	if s.cfg.Imports == nil {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "Imports are not configured on this hub.")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return labelhub.Invalid("The form must be sent as multipart/form-data.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return labelhub.Invalid("The form could not be read.")
	}
	fields := url.Values{}
	csrfOK := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return labelhub.Invalid("Choose a JSON or NDJSON file to import.", labelhub.FieldError{Path: "file", Message: "no file was sent"})
		}
		if err != nil {
			return labelhub.Invalid("The form could not be read.")
		}
		name := part.FormName()
		if name != "file" {
			b, err := io.ReadAll(io.LimitReader(part, 64<<10))
			if err != nil {
				return labelhub.Invalid("The form could not be read.")
			}
			fields.Add(name, string(b))
			if name == "csrf" {
				csrfOK = tokensEqual(string(b), c.csrf)
			}
			continue
		}
		if !csrfOK {
			s.csrfFailed(w, r, c)
			return nil
		}
		opts := labelhub.ImportOptions{StorageID: fields.Get("storageId"), OnDuplicate: fields.Get("onDuplicate"),
			Atomic: fields.Get("atomic") != "", DryRun: fields.Get("dryRun") != ""}
		for _, b := range fields["batches"] {
			if b != "" {
				opts.Batches = append(opts.Batches, b)
			}
		}
		for _, b := range strings.Split(fields.Get("newBatches"), ",") {
			if b = strings.TrimSpace(b); b != "" {
				opts.Batches = append(opts.Batches, b)
				opts.CreateBatches = true
			}
		}
		im, err := s.cfg.Imports.Start(r.Context(), c.actor.Org.ID, c.actor.User.ID, p.ID, opts, part)
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/projects/"+p.ID+"/imports/"+im.ID, http.StatusSeeOther)
		return nil
	}
}

type importView struct {
	Project      labelhub.Project
	Tab          string
	Import       labelhub.Import
	Errors       []labelhub.ImportError
	ErrorsCursor string
	Running      bool
}

func (s *server) importPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	as, err := s.assets()
	if err != nil {
		return err
	}
	id := r.PathValue("importId")
	if !labelhub.ValidID(id) {
		return labelhub.NotFound("import")
	}
	im, err := as.GetImport(r.Context(), c.actor.Org.ID, id)
	if err != nil {
		return err
	}
	if im.ProjectID != p.ID {
		return labelhub.NotFound("import")
	}
	errs, err := as.ListImportErrors(r.Context(), c.actor.Org.ID, id, labelhub.PageRequest{Limit: pageSize, Cursor: r.URL.Query().Get("errorsCursor")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "import", c, "Import "+im.ID, "projects", importView{Project: p, Tab: "assets", Import: im,
		Errors: errs.Items, ErrorsCursor: errs.NextCursor, Running: im.State == labelhub.ImportRunning || im.State == labelhub.ImportQueued})
	return nil
}

type assetView struct {
	Project                          labelhub.Project
	Tab                              string
	Asset                            labelhub.Asset
	Metadata, ContextData            string
	Attachments                      []attachment
	ContentURL                       string
	Pages                            []string
	IsImage, IsVideo, IsAudio, IsURL bool
}

type attachment struct{ Type, Value string }

// assetCSP lets the asset page show the preview: /content answers a
// redirect to the bucket's signed URL or the asset's public URL, so images
// and media may come from elsewhere (never scripts).
const assetCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; media-src 'self' http: https:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *server) assetPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	as, err := s.assets()
	if err != nil {
		return err
	}
	id := r.PathValue("assetId")
	if !labelhub.ValidID(id) {
		return labelhub.NotFound("asset")
	}
	a, err := as.GetAsset(r.Context(), c.actor.Org.ID, id)
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.GetProject(r.Context(), c.actor.Org.ID, a.ProjectID)
	if err != nil {
		return err
	}
	v := assetView{Project: p, Tab: "assets", Asset: a, Metadata: prettyJSON(a.Metadata), ContextData: prettyJSON(a.ContextData),
		ContentURL: "/api/v1/assets/" + a.ID + "/content"}
	var atts []attachment
	if len(a.Attachments) > 0 && json.Unmarshal(a.Attachments, &atts) == nil {
		v.Attachments = atts
	}
	for i := range a.Dataset {
		if i > 0 {
			v.Pages = append(v.Pages, v.ContentURL+"?page="+strconv.Itoa(i))
		}
	}
	switch a.Type {
	case labelhub.AssetImage:
		v.IsImage = true
	case labelhub.AssetVideo:
		v.IsVideo = true
	case labelhub.AssetAudio:
		v.IsAudio = true
	}
	w.Header().Set("Content-Security-Policy", assetCSP)
	s.render(w, r, http.StatusOK, "asset", c, a.ExternalID+" · "+p.Name, "projects", v)
	return nil
}

// prettyJSON indents raw JSON as it came, keys in their order.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
