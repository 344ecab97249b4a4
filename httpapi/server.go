package httpapi

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/storage"
)

// Store is what the API needs of the store.
type Store interface {
	labelhub.OrgStore
	labelhub.ProjectStore
	labelhub.AssetStore
	labelhub.ImportStore
	labelhub.TaskStore
	Ping(ctx context.Context) error
}

// SessionCookie is the name of the web session cookie; the API accepts it
// too, with the CSRF token in the X-CSRF-Token header on unsafe methods.
const SessionCookie = "labelhub_session"

// DefaultMaxBodyBytes bounds JSON request bodies unless configured.
const DefaultMaxBodyBytes = 1 << 20

// Config configures a Server.
type Config struct {
	Store        Store
	Logger       *slog.Logger
	MaxBodyBytes int64  // JSON bodies larger than this are refused with 413
	Version      string // reported by /healthz
	// Storage manages storage integrations and opens their buckets.
	Storage *storage.Service
	// Imports runs import jobs; nil answers the import routes with 503.
	Imports *imports.Runner
	// Plugins is the plugin hub; nil answers the plugin routes with 503.
	Plugins *pluginhub.Hub
	// RunTokens authenticates plugin run tokens (lhr_…); nil refuses them.
	RunTokens TokenAuthenticator
	// Fallback serves every path outside the API (the web UI); nil answers 404.
	Fallback http.Handler
	// Artifacts keeps runs' result files; nil answers the artifact routes
	// with 503.
	Artifacts *artifacts.Service
	// URLKey signs the URLs the /v2 calls hand out (URLKeyFrom derives it
	// from the server's secret key); replicas must share it. Empty is a
	// random key for this process.
	URLKey []byte
}

// Route describes one registered API route; the OpenAPI test and the
// organisation-isolation test walk this list.
type Route struct {
	Method  string
	Pattern string // net/http pattern path, e.g. /api/v1/projects/{projectId}
	Public  bool   // served without authentication
}

// Server is the API's http.Handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	routes   []Route
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// handlerFunc is an authenticated handler; a returned error is written in
// the error shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error

// New builds the API server with every route registered.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), registry: prometheus.NewRegistry()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "labelhub_http_requests_total", Help: "API requests by route and status."}, []string{"route", "status"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "labelhub_http_request_seconds", Help: "API request duration by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	s.registry.MustRegister(s.requests, s.duration, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	s.routesFoundation()
	s.routesStorages()
	s.routesImports()
	s.routesImportFolder()
	s.routesAssets()
	s.routesPlugins()
	s.routesPresets()
	s.routesTasks()
	s.routesArtifacts()
	s.routesExport()
	s.routesNotifications()
	s.routesV2()
	if cfg.Fallback != nil {
		s.mux.Handle("/", cfg.Fallback)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.cfg.Logger, labelhub.Errorf(labelhub.ECodeNotFound, "no API route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// Routes lists the registered routes.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Registry is the Prometheus registry behind /metrics, for other parts of
// the hub to add their metrics to.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handle registers an authenticated route; other packages that add API
// routes call it so that their routes are documented and isolation-tested
// like these.
func (s *Server) handle(method, pattern string, h handlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern})
	s.handleUnlisted(method, pattern, h)
}

// handleUnlisted registers an authenticated route that Routes does not
// list (the /v2 calls of the model hub's SDK, which are not labelhub's
// API): the same authentication, run-token scope and error answers.
func (s *Server) handleUnlisted(method, pattern string, h handlerFunc) {
	s.mux.Handle(method+" "+pattern, s.instrument(pattern, func(w http.ResponseWriter, r *http.Request) {
		a, err := s.authenticate(r)
		if err == nil && a.Scope != nil {
			err = scopeAllows(r, a, method, pattern) // a plugin run token
		}
		if err == nil {
			err = h(w, r, a)
		}
		if err != nil {
			writeError(w, r, s.cfg.Logger, err)
		}
	}))
}

// handlePublic registers a route served without authentication.
func (s *Server) handlePublic(method, pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern, Public: true})
	s.mux.Handle(method+" "+pattern, s.instrument(pattern, h))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		h(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

var errNoCredentials = labelhub.Errorf(labelhub.ECodeUnauthorized, "no credentials: send Authorization: Bearer <API key>")

// authenticate finds the caller from an API key header or a session cookie.
func (s *Server) authenticate(r *http.Request) (labelhub.Actor, error) {
	key := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return labelhub.Actor{}, labelhub.Errorf(labelhub.ECodeUnauthorized, "the Authorization header must be \"Bearer <API key>\"")
		}
		key = strings.TrimSpace(token)
	} else if h := r.Header.Get("apikey"); h != "" {
		key = strings.TrimSpace(h)
	}
	if key != "" {
		if strings.HasPrefix(key, RunTokenPrefix) {
			if s.cfg.RunTokens == nil {
				return labelhub.Actor{}, labelhub.Errorf(labelhub.ECodeUnauthorized, "run tokens are not accepted by this hub")
			}
			return s.cfg.RunTokens.AuthenticateRunToken(r.Context(), key)
		}
		return s.cfg.Store.Authenticate(r.Context(), key)
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return labelhub.Actor{}, errNoCredentials
	}
	a, csrf, err := s.cfg.Store.SessionActor(r.Context(), c.Value)
	if err != nil {
		return labelhub.Actor{}, err
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(csrf)) != 1 {
			return labelhub.Actor{}, labelhub.Errorf(labelhub.ECodeForbidden, "missing or wrong X-CSRF-Token header for a cookie session")
		}
	}
	return a, nil
}

// require answers forbidden unless the actor's role grants p.
func require(a labelhub.Actor, p labelhub.Permission, action string) error {
	if a.User.Role.Can(p) {
		return nil
	}
	return labelhub.Errorf(labelhub.ECodeForbidden, "your role (%s) may not %s", a.User.Role, action)
}

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document served at /api/v1/openapi.json.
func OpenAPI() []byte { return openAPI }

func (s *Server) routesFoundation() {
	s.handlePublic("GET", "/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
	})
	s.handlePublic("GET", "/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Store.Ping(ctx); err != nil {
			s.cfg.Logger.Warn("readiness check failed", "err", err)
			writeError(w, r, s.cfg.Logger, labelhub.Errorf(labelhub.ECodeUnavailable, "the database does not answer"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	metrics := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	s.handlePublic("GET", "/metrics", metrics.ServeHTTP)
	s.handlePublic("GET", "/api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})

	s.handle("GET", "/api/v1/me", s.me)
	s.handle("POST", "/api/v1/organizations", s.createOrg)
	s.handle("GET", "/api/v1/organizations", s.listOrgs)
	s.handle("POST", "/api/v1/users", s.createUser)
	s.handle("GET", "/api/v1/users", s.listUsers)
	s.handle("GET", "/api/v1/users/{userId}", s.getUser)
	s.handle("POST", "/api/v1/api-keys", s.createAPIKey)
	s.handle("GET", "/api/v1/api-keys", s.listAPIKeys)
	s.handle("GET", "/api/v1/api-keys/{apiKeyId}", s.getAPIKey)
	s.handle("DELETE", "/api/v1/api-keys/{apiKeyId}", s.revokeAPIKey)
	s.handle("POST", "/api/v1/projects", s.createProject)
	s.handle("GET", "/api/v1/projects", s.listProjects)
	s.handle("GET", "/api/v1/projects/{projectId}", s.getProject)
	s.handle("PATCH", "/api/v1/projects/{projectId}", s.updateProject)
	s.handle("DELETE", "/api/v1/projects/{projectId}", s.deleteProject)
	s.handle("POST", "/api/v1/projects/{projectId}/batches", s.createBatch)
	s.handle("GET", "/api/v1/projects/{projectId}/batches", s.listBatches)
	s.handle("GET", "/api/v1/batches/{batchId}", s.getBatch)
	s.handle("DELETE", "/api/v1/batches/{batchId}", s.deleteBatch)
}

// pathID returns a path parameter that must be an id; anything else is
// answered as not found, like an id of another organisation.
func pathID(r *http.Request, name, kind string) (string, error) {
	id := r.PathValue(name)
	if !labelhub.ValidID(id) {
		return "", labelhub.NotFound(kind)
	}
	return id, nil
}
