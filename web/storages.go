package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
)

// maxServiceAccountBytes bounds an uploaded GCS key file (they are ~2 KiB).
const maxServiceAccountBytes = 64 << 10

// providerOption is an entry of the provider select.
type providerOption struct {
	Value labelhub.StorageProvider
	Label string
}

var providerOptions = []providerOption{
	{labelhub.ProviderS3, "AWS S3"},
	{labelhub.ProviderS3Compatible, "S3-compatible (MinIO, Ceph, …)"},
	{labelhub.ProviderGCS, "Google Cloud Storage"},
	{labelhub.ProviderAzure, "Azure Blob Storage"},
}

// storageForm is the create form as typed. Secrets are never kept here:
// a form shown again after an error asks for them again.
type storageForm struct {
	Name, Provider, Bucket, Region, Endpoint string
	PathStyle                                bool
	Delivery, SignedURLTTL                   string
	AccessKeyID, AccountName                 string
	Err                                      *formErr
}

// invalid reports whether the form's error names field.
func (f storageForm) Invalid(field string) bool {
	if f.Err == nil {
		return false
	}
	for _, d := range f.Err.Details {
		if d.Path == field || strings.HasPrefix(d.Path, field+".") {
			return true
		}
	}
	return false
}

type storagesView struct {
	Storages   []labelhub.Storage
	NextCursor string
	Paged      bool
	Form       storageForm
	Providers  []providerOption
}

// errNoStorage answers the storage pages of a hub without a storage service.
var errNoStorage = labelhub.Errorf(labelhub.ECodeNotFound, "Storage integrations are not available on this hub.")

func (s *server) storagesPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.showStorages(w, r, c, http.StatusOK, storageForm{Provider: string(labelhub.ProviderS3), Delivery: string(labelhub.DeliverySigned)})
}

func (s *server) showStorages(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, form storageForm) error {
	if s.cfg.Storage == nil {
		return errNoStorage
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := s.cfg.Storage.List(r.Context(), c.actor.Org.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	s.render(w, r, status, "storages", c, "Storage", "storages", storagesView{
		Storages: page.Items, NextCursor: page.NextCursor, Paged: cursor != "", Form: form, Providers: providerOptions,
	})
	return nil
}

func (s *server) createStorage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if s.cfg.Storage == nil {
		return errNoStorage
	}
	if !c.can(labelhub.PermManageStorage) {
		return forbidden(c, "create storage integrations")
	}
	pf := r.PostForm
	form := storageForm{
		Name:         strings.TrimSpace(pf.Get("name")),
		Provider:     pf.Get("provider"),
		Bucket:       strings.TrimSpace(pf.Get("bucket")),
		Region:       strings.TrimSpace(pf.Get("region")),
		Endpoint:     strings.TrimSpace(pf.Get("endpoint")),
		PathStyle:    pf.Get("pathStyle") != "",
		Delivery:     pf.Get("delivery"),
		SignedURLTTL: strings.TrimSpace(pf.Get("signedUrlTtlSeconds")),
		AccessKeyID:  strings.TrimSpace(pf.Get("credentials.accessKeyId")),
		AccountName:  strings.TrimSpace(pf.Get("credentials.accountName")),
	}
	in, err := storageInput(r, form)
	if err == nil {
		var st labelhub.Storage
		if st, err = s.cfg.Storage.Create(r.Context(), c.actor.Org.ID, c.actor.User.ID, in); err == nil {
			s.redirectWithFlash(w, r, "/storages/"+st.ID, "storage-created")
			return nil
		}
	}
	fe, ok := asFormErr(err)
	if !ok {
		return err
	}
	form.Err = fe
	return s.showStorages(w, r, c, http.StatusUnprocessableEntity, form)
}

// storageInput reads the fields of the chosen provider; the other
// providers' fields (left in the form when scripts are off) are ignored.
func storageInput(r *http.Request, form storageForm) (labelhub.StorageInput, error) {
	pf := r.PostForm
	in := labelhub.StorageInput{
		Name: form.Name, Provider: labelhub.StorageProvider(form.Provider), Bucket: form.Bucket,
		Endpoint: form.Endpoint, Delivery: labelhub.Delivery(form.Delivery),
	}
	if form.SignedURLTTL != "" {
		n, err := strconv.Atoi(form.SignedURLTTL)
		if err != nil {
			return in, labelhub.Invalid("invalid storage integration", labelhub.FieldError{Path: "signedUrlTtlSeconds", Message: "must be a whole number of seconds"})
		}
		in.SignedURLTTL = n
	}
	cr := &in.Credentials
	switch in.Provider {
	case labelhub.ProviderS3, labelhub.ProviderS3Compatible:
		in.Region, in.PathStyle = form.Region, form.PathStyle
		cr.AccessKeyID = form.AccessKeyID
		cr.SecretAccessKey = strings.TrimSpace(pf.Get("credentials.secretAccessKey"))
		cr.SessionToken = strings.TrimSpace(pf.Get("credentials.sessionToken"))
	case labelhub.ProviderGCS:
		text, err := serviceAccountUpload(r)
		if err != nil {
			return in, err
		}
		if text == "" {
			text = pf.Get("credentials.serviceAccountJSON")
		}
		cr.ServiceAccountJSON = strings.TrimSpace(text)
	case labelhub.ProviderAzure:
		cr.AccountName = form.AccountName
		cr.AccountKey = strings.TrimSpace(pf.Get("credentials.accountKey"))
		cr.SASToken = strings.TrimSpace(pf.Get("credentials.sasToken"))
		cr.ConnectionString = strings.TrimSpace(pf.Get("credentials.connectionString"))
	}
	return in, nil
}

// serviceAccountUpload reads the uploaded GCS key file, if any.
func serviceAccountUpload(r *http.Request) (string, error) {
	if r.MultipartForm == nil {
		return "", nil
	}
	f, _, err := r.FormFile("serviceAccountFile")
	if errors.Is(err, http.ErrMissingFile) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxServiceAccountBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxServiceAccountBytes {
		return "", labelhub.Invalid("invalid storage integration", labelhub.FieldError{Path: "credentials.serviceAccountJSON",
			Message: "the uploaded file is larger than 64 KiB: is it a service account's JSON key file?"})
	}
	return string(b), nil
}

// loadStorage reads the integration named in the path; an id of another
// organisation, or no id at all, is not found.
func (s *server) loadStorage(r *http.Request, c *reqCtx) (labelhub.Storage, error) {
	if s.cfg.Storage == nil {
		return labelhub.Storage{}, errNoStorage
	}
	id := r.PathValue("storageId")
	if !labelhub.ValidID(id) {
		return labelhub.Storage{}, labelhub.NotFound("storage integration")
	}
	return s.cfg.Storage.Get(r.Context(), c.actor.Org.ID, id)
}

type storageView struct {
	Storage labelhub.Storage
	// Validation is set after the Validate button.
	Validation *storage.Validation
	Origin     string
	Failed     int
}

func (s *server) storagePage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.loadStorage(r, c)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "storage", c, st.Name, "storages", storageView{Storage: st})
	return nil
}

func (s *server) validateStorage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.loadStorage(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageStorage) {
		return forbidden(c, "validate storage integrations")
	}
	origin := pageOrigin(r)
	v, err := s.cfg.Storage.Validate(r.Context(), c.actor.Org.ID, st.ID, origin)
	if err != nil {
		return err
	}
	view := storageView{Storage: st, Validation: &v, Origin: origin}
	for _, ch := range v.Checks {
		if !ch.OK {
			view.Failed++
		}
	}
	s.render(w, r, http.StatusOK, "storage", c, st.Name, "storages", view)
	return nil
}

// pageOrigin is the origin the hub's pages are served from, as the
// browser sees it: the origin it sent with the form, else the request's
// scheme and host.
func pageOrigin(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// crumb is one step of a folder path (the browse page, the File Explorer
// dialog): its name, the folder's prefix, and the link that opens it;
// Current marks the folder shown.
type crumb struct {
	Name, Prefix, URL string
	Current           bool
}

// folderCrumbs are the steps from the bucket's root to the folder prefix
// ("" or ending in "/"); link makes the URL of a folder.
func folderCrumbs(bucket, prefix string, link func(prefix string) string) []crumb {
	cs := []crumb{{Name: bucket, Prefix: "", URL: link(""), Current: prefix == ""}}
	acc := ""
	for _, part := range strings.SplitAfter(strings.TrimSuffix(prefix, "/"), "/") {
		if part == "" {
			continue
		}
		if !strings.HasSuffix(part, "/") {
			part += "/"
		}
		acc += part
		cs = append(cs, crumb{Name: strings.TrimSuffix(part, "/"), Prefix: acc, URL: link(acc), Current: acc == prefix})
	}
	return cs
}

type browseView struct {
	Storage    labelhub.Storage
	Prefix     string
	Crumbs     []crumb // the folders above and including Prefix
	Items      []objectRow
	NextCursor string
	MoreBase   string // the URL of the next page, without the cursor's value
	Paged      bool
	Err        string // the provider's failure, shown on the page
}

// objectRow is one entry of the browse table.
type objectRow struct {
	Folder     bool
	Key, Name  string // Name is the key without the folder's prefix
	Size       string
	ModTime    time.Time
	AssetType  labelhub.AssetType
	ValidAsset bool
	// Described is false for a file a File Explorer plugin named without
	// its size and type.
	Described bool
}

func (s *server) browseStorage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.loadStorage(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	prefix := q.Get("prefix")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	cursor := q.Get("cursor")
	v := browseView{Storage: st, Prefix: prefix, Paged: cursor != "",
		MoreBase: "/storages/" + st.ID + "/browse?prefix=" + url.QueryEscape(prefix) + "&cursor="}
	v.Crumbs = folderCrumbs(st.Bucket, prefix, func(p string) string {
		return "/storages/" + st.ID + "/browse?prefix=" + url.QueryEscape(p)
	})
	b, err := s.cfg.Storage.Bucket(r.Context(), c.actor.Org.ID, st.ID)
	var folder storage.Folder
	if err == nil {
		folder, err = b.ListFolder(r.Context(), prefix, cursor, pageSize)
	}
	if err != nil {
		var e *labelhub.Error
		if !errors.As(err, &e) || e.Code != labelhub.ECodeUnavailable {
			return err
		}
		// The provider's failure says what to change: show it in place.
		v.Err = e.Message
		s.render(w, r, http.StatusServiceUnavailable, "storage_browse", c, "Browse "+st.Name, "storages", v)
		return nil
	}
	for _, f := range folder.Folders {
		v.Items = append(v.Items, objectRow{Folder: true, Key: f, Name: strings.TrimPrefix(f, prefix)})
	}
	for _, f := range folder.Files {
		t := labelhub.AssetTypeOf(f.Key, f.ContentType)
		v.Items = append(v.Items, objectRow{Key: f.Key, Name: strings.TrimPrefix(f.Key, prefix), Size: humanBytes(f.Size),
			ModTime: f.ModTime, AssetType: t, ValidAsset: t != "", Described: true})
	}
	v.NextCursor = folder.NextPageToken
	s.render(w, r, http.StatusOK, "storage_browse", c, "Browse "+st.Name, "storages", v)
	return nil
}

// humanBytes prints a size in binary units, as ls -h does.
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 || unit == "TiB" {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + unit
		}
	}
	return ""
}

func (s *server) deleteStoragePage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.loadStorage(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageStorage) {
		return forbidden(c, "delete storage integrations")
	}
	s.render(w, r, http.StatusOK, "storage_delete", c, "Delete "+st.Name, "storages", st)
	return nil
}

func (s *server) deleteStorage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.loadStorage(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageStorage) {
		return forbidden(c, "delete storage integrations")
	}
	if err := s.cfg.Storage.Delete(r.Context(), c.actor.Org.ID, st.ID); err != nil {
		return err
	}
	s.redirectWithFlash(w, r, "/storages", "storage-deleted")
	return nil
}

// parsePostForm reads a form body: URL-encoded, or multipart (the storage
// form, which can upload a key file). Files stay in memory up to 1 MiB.
func parsePostForm(r *http.Request) (cleanup func(), err error) {
	cleanup = func() {}
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(strings.ToLower(ct), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return cleanup, err
		}
		return func() {
			if r.MultipartForm != nil {
				_ = r.MultipartForm.RemoveAll()
			}
		}, nil
	}
	return cleanup, r.ParseForm()
}
