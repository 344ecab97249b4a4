package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// pageNames are the page templates; each defines "content" and is parsed
// together with the layout and the shared partials.
var pageNames = []string{"login", "error", "projects", "project", "project_delete", "users", "apikeys",
	"storages", "storage", "storage_browse", "storage_delete",
	"project_assets", "import", "asset"}

func parseTemplates(st *staticFiles) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"static":        st.url,
		"isoTime":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"shortTime":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" },
		"schemaEntries": schemaEntries,
		"roles":         func() []labelhub.Role { return labelhub.Roles },
		"toolKinds":     func() []string { return labelhub.ToolKinds },
		"classKinds":    func() []string { return labelhub.ClassificationKinds },
		"relationKinds": func() []string { return labelhub.RelationKinds },
		"more": func(base, cursor, target string) loadMore {
			return loadMore{URL: base + url.QueryEscape(cursor), Target: target}
		},
		"initial": func(s string) string {
			for _, r := range s {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// loadMore is a "load more" link: the next page's URL and the id of the
// element whose rows it adds to.
type loadMore struct{ URL, Target string }

// view is what every page template gets.
type view struct {
	Title string
	Nav   string // the active navigation entry
	Actor *labelhub.Actor
	CSRF  string
	Flash string
	// Permissions of the signed-in user, for showing or hiding forms.
	CanManageProjects, CanManageUsers, CanManageStorage bool
	// HasStorage is true when the hub manages storage integrations.
	HasStorage bool
	// Notifications is true when the hub keeps notifications; Unread is
	// the count of the user's unread ones (the header's badge).
	Notifications bool
	Unread        int64
	Data          any
}

// render executes page name into a buffer and writes it with status.
// With a request context the page gets the application frame (navigation,
// header); without one, the bare frame of the login page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, c *reqCtx, title, nav string, data any) {
	v := view{Title: title, Nav: nav, Data: data}
	frame := "bare"
	if c != nil {
		frame = "app"
		v.Actor, v.CSRF, v.Flash = &c.actor, c.csrf, c.flash
		v.CanManageProjects = c.can(labelhub.PermManageProjects)
		v.CanManageUsers = c.can(labelhub.PermManageUsers)
		v.CanManageStorage = c.can(labelhub.PermManageStorage)
		v.HasStorage = s.cfg.Storage != nil
		v.Unread, v.Notifications = s.unreadCount(r, c)
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, frame, v); err != nil {
		s.log.Error("web: template failed", "page", name, "err", err)
		http.Error(w, "internal error; the server log has the details", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

type errorView struct {
	Status  int
	Message string
	Details []labelhub.FieldError
	Ref     string
}

func (s *server) renderError(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, title, message string, details []labelhub.FieldError) {
	s.renderErrorRef(w, r, c, status, title, message, details, "")
}

func (s *server) renderErrorRef(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, title, message string, details []labelhub.FieldError, ref string) {
	s.render(w, r, status, "error", c, title, "", errorView{Status: status, Message: message, Details: details, Ref: ref})
}

// statusOf maps an error code to its HTTP status and a page title.
var statusOf = map[string]struct {
	status int
	title  string
}{
	labelhub.ECodeInvalid:      {http.StatusBadRequest, "Invalid input"},
	labelhub.ECodeNotFound:     {http.StatusNotFound, "Not found"},
	labelhub.ECodeConflict:     {http.StatusConflict, "Conflict"},
	labelhub.ECodeUnauthorized: {http.StatusUnauthorized, "Not signed in"},
	labelhub.ECodeForbidden:    {http.StatusForbidden, "Not allowed"},
	labelhub.ECodeTooLarge:     {http.StatusRequestEntityTooLarge, "Too large"},
	labelhub.ECodeRateLimited:  {http.StatusTooManyRequests, "Too many requests"},
	labelhub.ECodeUnavailable:  {http.StatusServiceUnavailable, "Unavailable"},
	labelhub.ECodeInternal:     {http.StatusInternalServerError, "Something went wrong"},
}

// fail shows err: a *labelhub.Error with its message, anything else as a
// generic 500 whose details go to the log under a reference.
func (s *server) fail(w http.ResponseWriter, r *http.Request, c *reqCtx, err error) {
	var e *labelhub.Error
	if errors.As(err, &e) && e.Code != labelhub.ECodeInternal {
		st, ok := statusOf[e.Code]
		if !ok {
			st = statusOf[labelhub.ECodeInvalid]
		}
		s.renderError(w, r, c, st.status, st.title, e.Message, e.Details)
		return
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	ref := hex.EncodeToString(b)
	s.log.Error("web request failed", "method", r.Method, "path", r.URL.Path, "ref", ref, "err", err)
	s.renderErrorRef(w, r, c, http.StatusInternalServerError, "Something went wrong",
		"The server could not complete this request. It has been logged; please try again.", nil, ref)
}

// forbidden is the error of an action the role does not allow.
func forbidden(c *reqCtx, action string) error {
	return labelhub.Errorf(labelhub.ECodeForbidden, "Your role (%s) may not %s.", c.actor.User.Role, action)
}

// Flash messages survive one redirect in a cookie that holds only a code,
// so nothing a third party puts there can show up as text.
var flashes = map[string]string{
	"project-created": "Project created.",
	"project-saved":   "Project saved.",
	"project-deleted": "Project deleted.",
	"batch-created":   "Batch created.",
	"user-created":    "User created.",
	"key-revoked":     "API key revoked.",
	"storage-created": "Storage integration created. Validate it to test access to the bucket.",
	"storage-deleted": "Storage integration deleted. The bucket and its objects are untouched.",
}

func (s *server) redirectWithFlash(w http.ResponseWriter, r *http.Request, to, code string) {
	s.setCookie(w, r, flashCookie, code, "/", time.Minute)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	s.setCookie(w, r, flashCookie, "", "/", -1)
	return flashes[ck.Value]
}

// staticFiles serves the embedded static folder. URLs made by url carry
// a content hash, so those responses may be cached for good.
type staticFiles struct {
	files map[string]staticFile
}

type staticFile struct {
	data  []byte
	hash  string
	ctype string
}

func newStaticFiles(fsys fs.FS) *staticFiles {
	st := &staticFiles{files: map[string]staticFile{}}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		st.files[p] = staticFile{data: data, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	return st
}

func (st *staticFiles) url(name string) string {
	f, ok := st.files[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + f.hash
}

func (st *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := st.files[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}
