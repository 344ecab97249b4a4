package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// reqCtx is what a signed-in page handler gets.
type reqCtx struct {
	actor labelhub.Actor
	csrf  string
	flash string
}

func (c *reqCtx) can(p labelhub.Permission) bool { return c.actor.User.Role.Can(p) }

// pageFunc is a signed-in page; a returned error is shown as an error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, c *reqCtx) error

// page wraps a handler that needs a session: without one a GET goes to the
// login form (and comes back after it); a POST must carry the session's
// CSRF token in the form field csrf.
func (s *server) page(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := s.session(r)
		if err != nil {
			// No, an expired, or a dangling session (its user is gone).
			if code := labelhub.ErrorCode(err); code == labelhub.ECodeUnauthorized || code == labelhub.ECodeNotFound {
				s.toLogin(w, r)
				return
			}
			s.fail(w, r, nil, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			cleanup, err := parsePostForm(r)
			defer cleanup()
			if err != nil {
				s.renderError(w, r, c, http.StatusBadRequest, "Bad request", "The form could not be read (is it larger than 4 MiB?).", nil)
				return
			}
			if !tokensEqual(r.PostForm.Get("csrf"), c.csrf) {
				s.csrfFailed(w, r, c)
				return
			}
		} else {
			c.flash = s.takeFlash(w, r)
		}
		if err := h(w, r, c); err != nil {
			s.fail(w, r, c, err)
		}
	}
}

func (s *server) session(r *http.Request) (*reqCtx, error) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 200 {
		return nil, labelhub.Errorf(labelhub.ECodeUnauthorized, "not signed in")
	}
	a, csrf, err := s.cfg.Store.SessionActor(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	return &reqCtx{actor: a, csrf: csrf}, nil
}

func (s *server) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := r.URL.RequestURI(); next != "/" && safeNext(next) {
			target += "?next=" + url.QueryEscape(next)
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *server) csrfFailed(w http.ResponseWriter, r *http.Request, c *reqCtx) {
	s.renderError(w, r, c, http.StatusForbidden, "Form expired or forged",
		"The form's security token is missing or wrong, so nothing was changed. Go back, reload the page and try again.", nil)
}

// tokensEqual compares secrets in constant time; an empty token never matches.
func tokensEqual(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) secure(r *http.Request) bool { return s.cfg.SecureCookies || r.TLS != nil }

func (s *server) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)}
	if maxAge < 0 {
		c.MaxAge = -1
		c.Expires = time.Unix(1, 0)
	} else {
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = time.Now().Add(maxAge)
	}
	http.SetCookie(w, c)
}

// safeNext reports whether next is a path on this site: it must start
// with one slash, and name no scheme or host ("//evil", "/\evil",
// "https://evil" are refused).
func safeNext(next string) bool {
	if next == "" || len(next) > 2000 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
}

func nextOr(next string) string {
	if safeNext(next) && !strings.HasPrefix(next, "/login") {
		return next
	}
	return "/projects"
}

// loginCSRFTTL is the life of the login form's double-submit cookie.
const loginCSRFTTL = time.Hour

type loginView struct {
	Email, Next, Error string
	RetryAt            string
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := r.URL.Query().Get("next")
	if _, err := s.session(r); err == nil {
		http.Redirect(w, r, nextOr(next), http.StatusSeeOther)
		return
	}
	if !safeNext(next) {
		next = ""
	}
	s.renderLogin(w, r, http.StatusOK, loginView{Next: next})
}

// renderLogin shows the form with a fresh double-submit token (reusing
// the cookie's when it has one).
func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	token := ""
	if ck, err := r.Cookie(LoginCSRFCookie); err == nil && len(ck.Value) == 43 {
		token = ck.Value
	} else {
		token = randomToken()
	}
	s.setCookie(w, r, LoginCSRFCookie, token, "/login", loginCSRFTTL)
	s.render(w, r, status, "login", nil, "Sign in", "", map[string]any{"Form": v, "CSRF": token})
}

func (s *server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, nil, http.StatusBadRequest, "Bad request", "The form could not be read.", nil)
		return
	}
	ck, err := r.Cookie(LoginCSRFCookie)
	if err != nil || !tokensEqual(r.PostForm.Get("csrf"), ck.Value) {
		s.renderError(w, r, nil, http.StatusForbidden, "Sign-in form expired",
			"The sign-in form's security token is missing or wrong (it lasts an hour, and cookies must be enabled). Open the sign-in page again.",
			nil)
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	next := r.PostForm.Get("next")
	if !safeNext(next) {
		next = ""
	}
	v := loginView{Email: email, Next: next}
	if email == "" || password == "" {
		v.Error = "Enter your email and password."
		s.renderLogin(w, r, http.StatusBadRequest, v)
		return
	}
	if len(email) > 254 || len(password) > 1024 {
		v.Error = "Wrong email or password."
		s.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	keys := []string{"ip:" + clientIP(r), "email:" + strings.ToLower(email)}
	if ok, retry := s.limiter.reserve(keys...); !ok {
		s.tooManyAttempts(w, r, v, retry)
		return
	}
	user, err := s.cfg.Store.Login(r.Context(), email, password)
	if err != nil {
		if labelhub.ErrorCode(err) == labelhub.ECodeUnauthorized {
			// The attempt stays counted. One message for an unknown
			// email and a wrong password: no user enumeration.
			v.Error = "Wrong email or password."
			s.renderLogin(w, r, http.StatusUnauthorized, v)
			return
		}
		s.limiter.refund(keys...)
		s.fail(w, r, nil, err)
		return
	}
	s.limiter.refund(keys...)
	if old, err := r.Cookie(SessionCookie); err == nil && old.Value != "" {
		_ = s.cfg.Store.DeleteSession(r.Context(), old.Value)
	}
	token, _, err := s.cfg.Store.CreateSession(r.Context(), user.ID, s.cfg.SessionTTL)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.setCookie(w, r, SessionCookie, token, "/", s.cfg.SessionTTL)
	s.setCookie(w, r, LoginCSRFCookie, "", "/login", -1)
	s.log.Info("web sign-in", "user", user.ID, "org", user.OrgID)
	http.Redirect(w, r, nextOr(next), http.StatusSeeOther)
}

func (s *server) tooManyAttempts(w http.ResponseWriter, r *http.Request, v loginView, retry time.Duration) {
	secs := int((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	v.Error = fmt.Sprintf("Too many sign-in attempts. Try again in %s.", humanDuration(retry))
	v.RetryAt = time.Now().Add(retry).UTC().Format(time.RFC3339)
	s.renderLogin(w, r, http.StatusTooManyRequests, v)
}

func humanDuration(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	switch {
	case secs <= 1:
		return "1 second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	}
	mins := (secs + 59) / 60
	if mins == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", mins)
}

// clientIP is the address the connection comes from (proxy headers are
// not trusted: anyone can send them). IPv6 clients are grouped by /64, the
// block one host usually controls.
func clientIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	var a netip.Addr
	if err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(r.RemoteAddr); err != nil {
		return r.RemoteAddr
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		if err := s.cfg.Store.DeleteSession(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	s.setCookie(w, r, SessionCookie, "", "/", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
