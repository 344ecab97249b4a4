package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labelhub/labelhub"
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "labelhub-go-client"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// Client calls one hub's API with one API key. It is safe for concurrent
// use; its fields must not change while requests are running.
type Client struct {
	// BaseURL is the hub's address, e.g. "http://127.0.0.1:8080" (a path
	// prefix, for a hub behind a reverse proxy, is kept).
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>"; empty sends none.
	APIKey string
	// HTTPClient makes the requests; nil uses http.DefaultClient.
	HTTPClient *http.Client

	userAgent string
}

// Option configures a Client made by New.
type Option func(*Client)

// WithHTTPClient makes the client use hc (for timeouts, proxies, TLS).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.HTTPClient = hc } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the hub at baseURL that authenticates with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{BaseURL: baseURL, APIKey: apiKey, HTTPClient: http.DefaultClient, userAgent: DefaultUserAgent}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Me is the caller, as GET /api/v1/me answers.
type Me struct {
	User         labelhub.User         `json:"user"`
	Organization labelhub.Organization `json:"organization"`
	Role         labelhub.Role         `json:"role"`
	// ServerAdmin is true for admins of the first organisation, who manage
	// organisations.
	ServerAdmin bool `json:"serverAdmin"`
}

// OrgCreated is a new organisation with its first admin and the admin's
// API key, which the hub shows this once.
type OrgCreated struct {
	labelhub.Organization
	Admin  labelhub.User `json:"admin"`
	APIKey string        `json:"apiKey"`
}

// APIKeyCreated is a new API key with its secret text, which the hub shows
// this once.
type APIKeyCreated struct {
	labelhub.APIKey
	Key string `json:"apiKey"`
}

// Me returns the caller: user, organisation and role.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var m Me
	err := c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil, &m)
	return m, err
}

// CreateOrganization creates an organisation with its first admin (server
// admins only). The answer carries the admin's API key.
func (c *Client) CreateOrganization(ctx context.Context, o labelhub.NewOrg) (OrgCreated, error) {
	var out OrgCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/organizations", nil, o, &out)
	return out, err
}

// ListOrganizations returns one page of organisations (server admins only).
func (c *Client) ListOrganizations(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Organization], error) {
	return list[labelhub.Organization](ctx, c, "/api/v1/organizations", p, nil)
}

// CreateUser creates a user in the caller's organisation.
func (c *Client) CreateUser(ctx context.Context, u labelhub.NewUser) (labelhub.User, error) {
	var out labelhub.User
	err := c.do(ctx, http.MethodPost, "/api/v1/users", nil, u, &out)
	return out, err
}

// ListUsers returns one page of the organisation's users.
func (c *Client) ListUsers(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.User], error) {
	return list[labelhub.User](ctx, c, "/api/v1/users", p, nil)
}

// GetUser returns one user of the organisation.
func (c *Client) GetUser(ctx context.Context, id string) (labelhub.User, error) {
	var out labelhub.User
	err := c.do(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// CreateAPIKey creates an API key named name for the user userID, or for the
// caller when userID is empty (keys for others need an admin). The answer's
// Key is the secret, shown this once.
func (c *Client) CreateAPIKey(ctx context.Context, name, userID string) (APIKeyCreated, error) {
	var out APIKeyCreated
	in := struct {
		Name   string `json:"name"`
		UserID string `json:"userId,omitempty"`
	}{name, userID}
	err := c.do(ctx, http.MethodPost, "/api/v1/api-keys", nil, in, &out)
	return out, err
}

// ListAPIKeys returns one page of API keys: the caller's own, or every key
// of the organisation for admins.
func (c *Client) ListAPIKeys(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
	return list[labelhub.APIKey](ctx, c, "/api/v1/api-keys", p, nil)
}

// ListUserAPIKeys returns one page of one user's API keys (admins; for
// others the hub lists the caller's own keys whatever userID says).
func (c *Client) ListUserAPIKeys(ctx context.Context, userID string, p labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
	return list[labelhub.APIKey](ctx, c, "/api/v1/api-keys", p, url.Values{"userId": {userID}})
}

// GetAPIKey returns one API key (never its secret).
func (c *Client) GetAPIKey(ctx context.Context, id string) (labelhub.APIKey, error) {
	var out labelhub.APIKey
	err := c.do(ctx, http.MethodGet, "/api/v1/api-keys/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// RevokeAPIKey revokes an API key; revoking twice is harmless.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/api-keys/"+url.PathEscape(id), nil, nil, nil)
}

// CreateProject creates a project; Name is required.
func (c *Client) CreateProject(ctx context.Context, in labelhub.ProjectInput) (labelhub.Project, error) {
	var out labelhub.Project
	err := c.do(ctx, http.MethodPost, "/api/v1/projects", nil, in, &out)
	return out, err
}

// ListProjects returns one page of the organisation's projects.
func (c *Client) ListProjects(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Project], error) {
	return list[labelhub.Project](ctx, c, "/api/v1/projects", p, nil)
}

// GetProject returns one project.
func (c *Client) GetProject(ctx context.Context, id string) (labelhub.Project, error) {
	var out labelhub.Project
	err := c.do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// UpdateProject changes the fields of in that are not nil and returns the
// project as it is now.
func (c *Client) UpdateProject(ctx context.Context, id string, in labelhub.ProjectInput) (labelhub.Project, error) {
	// Only the set fields are sent, so that a newer hub that distinguishes
	// null from absent sees no accidental change.
	body := map[string]any{}
	if in.Name != nil {
		body["name"] = *in.Name
	}
	if in.Description != nil {
		body["description"] = *in.Description
	}
	if in.CategorySchema != nil {
		body["categorySchema"] = in.CategorySchema
	}
	var out labelhub.Project
	err := c.do(ctx, http.MethodPatch, "/api/v1/projects/"+url.PathEscape(id), nil, body, &out)
	return out, err
}

// DeleteProject deletes a project with its batches.
func (c *Client) DeleteProject(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/projects/"+url.PathEscape(id), nil, nil, nil)
}

// CreateBatch creates a batch named name in a project.
func (c *Client) CreateBatch(ctx context.Context, projectID, name string) (labelhub.Batch, error) {
	var out labelhub.Batch
	in := struct {
		Name string `json:"name"`
	}{name}
	err := c.do(ctx, http.MethodPost, "/api/v1/projects/"+url.PathEscape(projectID)+"/batches", nil, in, &out)
	return out, err
}

// ListBatches returns one page of a project's batches. To walk them all:
//
//	client.All(ctx, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Batch], error) {
//		return c.ListBatches(ctx, projectID, p)
//	})
func (c *Client) ListBatches(ctx context.Context, projectID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Batch], error) {
	return list[labelhub.Batch](ctx, c, "/api/v1/projects/"+url.PathEscape(projectID)+"/batches", p, nil)
}

// GetBatch returns one batch.
func (c *Client) GetBatch(ctx context.Context, id string) (labelhub.Batch, error) {
	var out labelhub.Batch
	err := c.do(ctx, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// DeleteBatch deletes a batch.
func (c *Client) DeleteBatch(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/batches/"+url.PathEscape(id), nil, nil, nil)
}

// All walks every page of a list, from the first, and yields its items in
// order. An error (of a page, or of the context) is yielded once with the
// zero T, and ends the walk. The page size is the hub's default; to choose
// it, wrap the list:
//
//	client.All(ctx, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[T], error) {
//		p.Limit = 1000
//		return c.ListX(ctx, p)
//	})
func All[T any](ctx context.Context, list func(context.Context, labelhub.PageRequest) (labelhub.Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var p labelhub.PageRequest
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			page, err := list(ctx, p)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range page.Items {
				if !yield(item, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			if page.NextCursor == p.Cursor {
				yield(zero, fmt.Errorf("labelhub client: the hub answered the same cursor %q twice; stopping to avoid a loop", p.Cursor))
				return
			}
			p.Cursor = page.NextCursor
		}
	}
}

func list[T any](ctx context.Context, c *Client, path string, p labelhub.PageRequest, q url.Values) (labelhub.Page[T], error) {
	if q == nil {
		q = url.Values{}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	var out labelhub.Page[T]
	err := c.do(ctx, http.MethodGet, path, q, nil, &out)
	return out, err
}

// do sends one request with in (if not nil) as its JSON body and decodes
// a 2xx answer into out (if not nil). Other answers become *labelhub.Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("labelhub client: encode the %s %s body: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	return c.send(ctx, method, u, path, body, -1, out)
}

// setIdentity adds the client's API key and user agent to req.
func (c *Client) setIdentity(req *http.Request) {
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
}

// roundTrip sends req, with the client's API key and user agent, over
// HTTPClient (http.DefaultClient when nil).
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	c.setIdentity(req)
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(req)
}

// send sends one request with body (nil for none; JSON unless it is a
// stream) and decodes a 2xx answer into out. size > 0 is sent as the
// Content-Length of a streamed body; -1 marks body as encoded JSON.
func (c *Client) send(ctx context.Context, method, u, path string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("labelhub client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if size > 0 {
			// A stream of known length (else it is sent chunked).
			req.ContentLength = size
		}
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return err // a *url.Error naming the request; wraps the context's error
	}
	defer func() {
		// Drain a little so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("labelhub client: decode the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// decodeError turns a non-2xx answer into an *labelhub.Error: the API's
// error shape when the body has it, else one made from the status.
func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var shape struct {
		Error *labelhub.Error `json:"error"`
	}
	if json.Unmarshal(b, &shape) == nil && shape.Error != nil && shape.Error.Code != "" {
		if shape.Error.Message == "" {
			shape.Error.Message = statusText(resp)
		}
		return shape.Error
	}
	return &labelhub.Error{Code: codeOf(resp.StatusCode), Message: statusText(resp)}
}

func statusText(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return strconv.Itoa(resp.StatusCode) + " " + t
	}
	if resp.Status != "" {
		return resp.Status
	}
	return "HTTP status " + strconv.Itoa(resp.StatusCode)
}

// codeOf maps an HTTP status to the error code the API uses for it.
func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return labelhub.ECodeInvalid
	case http.StatusUnauthorized:
		return labelhub.ECodeUnauthorized
	case http.StatusForbidden:
		return labelhub.ECodeForbidden
	case http.StatusNotFound, http.StatusGone:
		return labelhub.ECodeNotFound
	case http.StatusConflict, http.StatusPreconditionFailed:
		return labelhub.ECodeConflict
	case http.StatusRequestEntityTooLarge:
		return labelhub.ECodeTooLarge
	case http.StatusTooManyRequests:
		return labelhub.ECodeRateLimited
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return labelhub.ECodeUnavailable
	}
	if status >= 400 && status < 500 {
		return labelhub.ECodeInvalid
	}
	return labelhub.ECodeInternal
}
