package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/storage"
)

// Store is what the UI needs of the store.
type Store interface {
	labelhub.OrgStore
	labelhub.ProjectStore
	Login(ctx context.Context, email, password string) (labelhub.User, error)
}

// Config configures the UI handler.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// SecureCookies sets Secure on every cookie; it is also set on
	// requests that arrive over TLS.
	SecureCookies bool
	// SessionTTL is how long a web session lasts; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// LoginLimit is the number of failed sign-in attempts allowed per
	// LoginWindow, per client IP and per email; 0 means DefaultLoginLimit.
	LoginLimit int
	// Storage manages the organisations' storage integrations; nil hides
	// the Storage pages.
	Storage *storage.Service
	// Imports runs asset imports (the "Add data" panel of a project's
	// Assets tab); nil hides the panel.
	Imports Importer
	// Plugins is the plugin hub (the Plugins and Sessions pages); nil
	// answers those pages as not found.
	Plugins *pluginhub.Hub
}

// Defaults of Config.
const (
	DefaultSessionTTL = 12 * time.Hour
	DefaultLoginLimit = 10
	// LoginWindow is the window of the sign-in rate limit.
	LoginWindow = 5 * time.Minute
)

// Cookie names.
const (
	SessionCookie   = "labelhub_session" // same name the API accepts
	LoginCSRFCookie = "labelhub_login_csrf"
	flashCookie     = "labelhub_flash"
)

// maxFormBytes bounds a form body (the schema textarea is the largest field).
const maxFormBytes = 4 << 20

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

type server struct {
	cfg     Config
	log     *slog.Logger
	pages   map[string]*template.Template
	static  *staticFiles
	limiter *limiter
	mux     *http.ServeMux
}

// New builds the UI handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("web: Config.Store is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.LoginLimit <= 0 {
		cfg.LoginLimit = DefaultLoginLimit
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	s := &server{
		cfg:     cfg,
		log:     cfg.Logger,
		static:  newStaticFiles(sub),
		limiter: newLimiter(cfg.LoginLimit, LoginWindow, time.Now),
		mux:     http.NewServeMux(),
	}
	if s.pages, err = parseTemplates(s.static); err != nil {
		return nil, err
	}
	s.routes()

	// Defence in depth next to the CSRF tokens: refuse unsafe requests
	// that the browser marks as cross-origin (Sec-Fetch-Site, Origin).
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, http.StatusForbidden, "Cross-origin request refused",
			"This form was sent from another site. Open the page in labelhub and try again.", nil)
	}))
	return securityHeaders(cop.Handler(s.mux)), nil
}

func (s *server) routes() {
	m := s.mux
	m.Handle("GET /static/", s.static)
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.static.url("favicon.svg"), http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /login", s.loginForm)
	m.HandleFunc("POST /login", s.loginSubmit)
	m.HandleFunc("POST /logout", s.page(s.logout))

	m.HandleFunc("GET /{$}", s.page(func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		http.Redirect(w, r, "/projects", http.StatusSeeOther)
		return nil
	}))
	m.HandleFunc("GET /projects", s.page(s.projectsPage))
	m.HandleFunc("POST /projects", s.page(s.createProject))
	m.HandleFunc("GET /projects/{projectId}", s.page(s.projectPage))
	m.HandleFunc("POST /projects/{projectId}", s.page(s.updateProject))
	m.HandleFunc("POST /projects/{projectId}/batches", s.page(s.createBatch))
	m.HandleFunc("GET /projects/{projectId}/delete", s.page(s.deleteProjectPage))
	m.HandleFunc("POST /projects/{projectId}/delete", s.page(s.deleteProject))

	m.HandleFunc("GET /storages", s.page(s.storagesPage))
	m.HandleFunc("POST /storages", s.page(s.createStorage))
	m.HandleFunc("GET /storages/{storageId}", s.page(s.storagePage))
	m.HandleFunc("POST /storages/{storageId}/validate", s.page(s.validateStorage))
	m.HandleFunc("GET /storages/{storageId}/browse", s.page(s.browseStorage))
	m.HandleFunc("GET /storages/{storageId}/delete", s.page(s.deleteStoragePage))
	m.HandleFunc("POST /storages/{storageId}/delete", s.page(s.deleteStorage))

	s.routesAssets()
	s.routesPlugins()
	s.routesFileExplorer()
	s.routesTasks()
	s.routesExport()
	s.routesNotifications()

	m.HandleFunc("GET /users", s.page(s.usersPage))
	m.HandleFunc("POST /users", s.page(s.createUser))
	m.HandleFunc("GET /api-keys", s.page(s.apiKeysPage))
	m.HandleFunc("POST /api-keys", s.page(s.createAPIKey))
	m.HandleFunc("POST /api-keys/{apiKeyId}/revoke", s.page(s.revokeAPIKey))

	m.HandleFunc("/", s.page(func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		return labelhub.Errorf(labelhub.ECodeNotFound, "There is no page at %s.", r.URL.Path)
	}))
}

// contentSecurityPolicy allows only this origin's scripts, styles and
// images; no inline script or style, no framing, forms post only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}
