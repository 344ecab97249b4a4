// Package web is the hub's web UI: server-rendered pages (html/template)
// over the same store the REST API uses, with plain HTML forms
// (POST → redirect → GET) and a small vanilla script for conveniences.
// Templates and static files are embedded, so the binary needs no Node
// build step and no CDN.
//
// Security: every response carries a strict Content-Security-Policy (no
// inline script or style), X-Frame-Options DENY, Referrer-Policy
// same-origin and nosniff. Pages need a session cookie (labelhub_session,
// HttpOnly, SameSite=Lax); every POST carries the session's CSRF token in
// the form field csrf, and the login form is protected by a double-submit
// cookie. Login attempts are rate-limited per client IP and per email.
//
// The package talks to the store only through the Store interface; it must
// not import sqlstore or httpapi (httpapi mounts this handler as its
// fallback).
package web
