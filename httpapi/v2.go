package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// The /v2 calls: the REST API that plugins written with the Python SDK of
// the commercial hub labelhub is modelled on (package imerit-ango) call,
// with that SDK's paths, parameters and answer shapes, mapped onto
// labelhub's stores and checks. They authenticate with the apikey header
// like the rest of the API (a run token, or a user's API key); run tokens
// are limited as on /api/v1 (v2ScopeAllows). docs/python-plugins.md,
// "REST calls", describes each call.
//
// Answers are {"status": "success", "data": {…}}; errors are labelhub's
// error shape with a status the SDK raises on. These routes are not in
// Routes() nor in openapi.json, which describe labelhub's own API.

// v2 holds what the /v2 handlers share.
type v2 struct {
	s      *Server
	signer *urlSigner
}

// Lifetimes of the signed URLs.
const (
	// v2ExportURLTTL: the SDK fetches the export right after asking.
	v2ExportURLTTL = time.Hour
	// v2UploadURLTTL is the least an upload URL lives; it lives until the
	// run's deadline when that is later.
	v2UploadURLTTL = time.Hour
	// v2MaxURLTTL caps every signed URL, like a signed URL of S3 or GCS.
	v2MaxURLTTL = 7 * 24 * time.Hour
	// v2ImportWait is how long POST /v2/project/{id}/cloud waits for its
	// import before it answers with the import's state so far.
	v2ImportWait = 60 * time.Second
)

func (s *Server) routesV2() {
	v := &v2{s: s, signer: newURLSigner(s.cfg.URLKey)}
	v.handle("GET", "/v2/export", v.export)
	v.handle("GET", "/v2/exportV3", v.export)
	v.public("GET", "/v2/exports/{token}", v.fetchExport)
	v.handle("GET", "/v2/getUploadUrl", v.uploadURL)
	v.public("PUT", "/v2/upload/{token}", v.upload)
	v.handle("GET", "/v2/getSignedUrl", v.signedURL)
	v.public("GET", "/v2/download/{token}", v.download)
	v.handle("POST", "/v2/pluginLog", v.pluginLog)
	v.handle("POST", "/v2/pluginResponse", v.pluginResponse)
	v.handle("GET", "/v2/project/{projectId}", v.project)
	v.handle("GET", "/v2/project/{projectId}/assets", v.assets)
	v.handle("POST", "/v2/project/{projectId}/cloud", v.cloud)
	v.handle("POST", "/v2/batches/{projectId}", v.batches)
	v.handle("POST", "/v2/import/labels", v.importLabels)
	v.handle("GET", "/v2/storages", v.storages)
	s.mux.Handle("/v2/", s.instrument("/v2/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.cfg.Logger, labelhub.Errorf(labelhub.ECodeNotFound,
			"labelhub does not serve %s %s; docs/python-plugins.md lists the /v2 calls it answers", r.Method, r.URL.Path))
	}))
}

// handle registers an authenticated /v2 route: the caller's key from the
// apikey (or Authorization) header, run tokens limited by scopeAllows.
func (v *v2) handle(method, pattern string, h handlerFunc) { v.s.handleUnlisted(method, pattern, h) }

// public registers a route authorised by the signed token in its path.
func (v *v2) public(method, pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	v.s.mux.Handle(method+" "+pattern, v.s.instrument(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, v.s.cfg.Logger, err)
		}
	}))
}

// writeV2 answers data in the SDK's envelope.
func writeV2(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, map[string]any{"status": "success", "data": data})
}

// v2ScopeAllows is scopeAllows for the /v2 routes, with the same meaning
// as on /api/v1: a run token reaches its run's project only (another is
// 404), reads for every plugin type, imports and batches for
// file-explorer plugins, and its own run (log, response, result file).
// Routes that name the project in the query or the body check it in the
// handler (inProject).
func v2ScopeAllows(r *http.Request, sc *labelhub.RunScope, method, pattern string) error {
	if strings.Contains(pattern, "{projectId}") && r.PathValue("projectId") != sc.ProjectID {
		return labelhub.NotFound("project")
	}
	switch method + " " + pattern {
	case "GET /v2/project/{projectId}", "GET /v2/project/{projectId}/assets", "GET /v2/export", "GET /v2/exportV3",
		"GET /v2/getUploadUrl", "GET /v2/getSignedUrl", "POST /v2/pluginLog", "POST /v2/pluginResponse":
		return nil
	case "GET /v2/storages", "POST /v2/project/{projectId}/cloud", "POST /v2/batches/{projectId}":
		if sc.PluginType == labelhub.PluginFileExplorer {
			return nil
		}
	}
	return labelhub.Errorf(labelhub.ECodeForbidden, "the run token of a %s plugin may not call %s %s; it is limited to what its plugin type needs in its run's project",
		sc.PluginType, method, pattern)
}

// inProject returns the project id named in a query or a body, when it is
// one of the caller's organisation that the caller may reach.
func (v *v2) inProject(ctx context.Context, a labelhub.Actor, field, id string) (labelhub.Project, error) {
	if id == "" {
		return labelhub.Project{}, labelhub.Invalid("invalid request", labelhub.FieldError{Path: field, Message: "is required: the project's id"})
	}
	if !labelhub.ValidID(id) || !a.InProject(id) {
		return labelhub.Project{}, labelhub.NotFound("project")
	}
	return v.s.cfg.Store.GetProject(ctx, a.Org.ID, id)
}

// v2Base is the origin the request came to, for the absolute URLs the
// SDK fetches: the scheme of the connection and its Host header, or
// X-Forwarded-Proto (http or https) and X-Forwarded-Host when a proxy in
// front of the hub sets them. They only change the URLs sent back to the
// same caller.
func v2Base(r *http.Request) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(firstHeaderValue(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := firstHeaderValue(r.Header.Get("X-Forwarded-Host")); h != "" {
		host = h
	}
	if !validURLHost(host) {
		return "", labelhub.Errorf(labelhub.ECodeInvalid, "the request's Host header (%.80q) is not a host name; the hub builds the URLs it answers from it", host)
	}
	return scheme + "://" + host, nil
}

func firstHeaderValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// validURLHost accepts host[:port] with a name, an IPv4 or a bracketed
// IPv6 address.
func validURLHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// decodeLoose reads a JSON object body of at most the body limit into a
// map: the SDK sends fields of its own besides those labelhub reads.
func (v *v2) decodeLoose(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, []byte, error) {
	max := v.s.cfg.MaxBodyBytes
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return nil, nil, decodeError(err, max, nil, nil)
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, decodeError(err, max, body, &m)
	}
	if m == nil {
		return nil, nil, labelhub.Errorf(labelhub.ECodeInvalid, "the body must be a JSON object, not null")
	}
	return m, body, nil
}

// v2Batch is a batch as the SDK reads it (get_batches).
type v2Batch struct {
	ID        string    `json:"_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// v2Stage is a stage of the project's workflow.
type v2Stage struct {
	ID      string   `json:"id"`
	StageID string   `json:"stageId"`
	Name    string   `json:"name"`
	Type    string   `json:"type"` // Start, Label, Review or Complete
	Next    []string `json:"next"` // the id of the stage a submitted task goes to
}

// v2Project is GET /v2/project/{id}'s data.project.
type v2Project struct {
	ID             string                  `json:"_id"`
	Name           string                  `json:"name"`
	Description    string                  `json:"description"`
	Organization   string                  `json:"organization"`
	CategorySchema labelhub.CategorySchema `json:"categorySchema"`
	Batches        []v2Batch               `json:"batches"`
	Stages         []v2Stage               `json:"stages"`
	CreatedBy      string                  `json:"createdBy"`
	CreatedAt      time.Time               `json:"createdAt"`
	UpdatedAt      time.Time               `json:"updatedAt"`
}

var v2StageTypes = map[labelhub.StageKind]string{labelhub.StageStart: "Start", labelhub.StageLabel: "Label",
	labelhub.StageReview: "Review", labelhub.StageDone: "Complete"}

// allBatches lists every batch of a project, oldest first.
func (v *v2) allBatches(ctx context.Context, orgID, projectID string) ([]labelhub.Batch, error) {
	var out []labelhub.Batch
	p := labelhub.PageRequest{Limit: labelhub.MaxPageLimit}
	for {
		page, err := v.s.cfg.Store.ListBatches(ctx, orgID, projectID, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out, nil
		}
		p.Cursor = page.NextCursor
	}
}

func (v *v2) projectView(ctx context.Context, p labelhub.Project) (v2Project, error) {
	out := v2Project{ID: p.ID, Name: p.Name, Description: p.Description, Organization: p.OrgID, CategorySchema: p.CategorySchema,
		Batches: []v2Batch{}, Stages: []v2Stage{}, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	bs, err := v.allBatches(ctx, p.OrgID, p.ID)
	if err != nil {
		return out, err
	}
	for _, b := range bs {
		out.Batches = append(out.Batches, v2Batch{ID: b.ID, Name: b.Name, CreatedAt: b.CreatedAt})
	}
	wf, err := v.s.cfg.Store.ProjectWorkflow(ctx, p.OrgID, p.ID)
	if err != nil {
		return out, err
	}
	for i, st := range wf.Stages {
		next := []string{}
		if i+1 < len(wf.Stages) {
			next = append(next, wf.Stages[i+1].StageID)
		}
		out.Stages = append(out.Stages, v2Stage{ID: st.StageID, StageID: st.StageID, Name: st.Name, Type: v2StageTypes[st.Kind], Next: next})
	}
	return out, nil
}

// project answers GET /v2/project/{projectId} (get_project, get_batches).
func (v *v2) project(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := v.s.projectFor(r, a)
	if err != nil {
		return err
	}
	view, err := v.projectView(r.Context(), p)
	if err != nil {
		return err
	}
	writeV2(w, http.StatusOK, map[string]any{"project": view})
	return nil
}

// v2Storage is a storage integration as the SDK reads it: never a secret.
type v2Storage struct {
	ID               string    `json:"_id"`
	Name             string    `json:"name"`
	Provider         string    `json:"provider"` // AWS, GCP or AZURE
	LabelhubProvider string    `json:"labelhubProvider"`
	Bucket           string    `json:"bucket"`
	Region           string    `json:"region,omitempty"`
	Endpoint         string    `json:"endpoint,omitempty"`
	AccountName      string    `json:"accountName,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
}

var v2Providers = map[labelhub.StorageProvider]string{labelhub.ProviderS3: "AWS", labelhub.ProviderS3Compatible: "AWS",
	labelhub.ProviderGCS: "GCP", labelhub.ProviderAzure: "AZURE"}

func storageView(st labelhub.Storage) v2Storage {
	return v2Storage{ID: st.ID, Name: st.Name, Provider: v2Providers[st.Provider], LabelhubProvider: string(st.Provider),
		Bucket: st.Bucket, Region: st.Region, Endpoint: st.Endpoint, AccountName: st.AccountName, CreatedAt: st.CreatedAt}
}

// storages answers GET /v2/storages[?_id=] (get_storages): the
// organisation's integrations, or for a file-explorer run token only its
// run's one.
func (v *v2) storages(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	svc := v.s.cfg.Storage
	if svc == nil {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "storage integrations are not configured on this server")
	}
	out := []v2Storage{}
	only := r.URL.Query().Get("_id")
	if a.Scope != nil {
		if a.Scope.IntegrationID != "" && (only == "" || only == a.Scope.IntegrationID) {
			st, err := svc.Get(r.Context(), a.Org.ID, a.Scope.IntegrationID)
			if err != nil && labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
				return err
			}
			if err == nil {
				out = append(out, storageView(st))
			}
		}
		writeV2(w, http.StatusOK, map[string]any{"storages": out})
		return nil
	}
	p := labelhub.PageRequest{Limit: labelhub.MaxPageLimit}
	for {
		page, err := svc.List(r.Context(), a.Org.ID, p)
		if err != nil {
			return err
		}
		for _, st := range page.Items {
			if only == "" || st.ID == only {
				out = append(out, storageView(st))
			}
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	writeV2(w, http.StatusOK, map[string]any{"storages": out})
	return nil
}

// v2Asset is an asset as get_assets answers it.
type v2Asset struct {
	ID          string             `json:"_id"`
	ExternalID  string             `json:"externalId"`
	Project     string             `json:"project"`
	Type        labelhub.AssetType `json:"type"`
	Data        string             `json:"data,omitempty"`
	Dataset     []string           `json:"dataset,omitempty"`
	Metadata    json.RawMessage    `json:"metadata,omitempty"`
	ContextData json.RawMessage    `json:"contextData,omitempty"`
	Attachments json.RawMessage    `json:"attachments,omitempty"`
	Batches     []string           `json:"batches"`    // batch ids
	BatchNames  []string           `json:"batchNames"` // the same batches by name
	Storage     string             `json:"storage,omitempty"`
	TaskID      string             `json:"taskId"`
	CreatedAt   time.Time          `json:"createdAt"`
}

// Bounds of GET /v2/project/{id}/assets: pages are counted from the
// start of the list, so deep pages cost their depth.
const (
	v2DefaultAssetLimit = 10
	v2MaxAssetSkip      = 100_000
)

// assets answers GET /v2/project/{projectId}/assets?page=&limit=&filters=
// (get_assets). filters is a JSON object: _id, externalId, batches (ids
// or names; an asset must be in all of them), and type (labelhub's asset
// types); other keys are refused by name.
func (v *v2) assets(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := v.s.projectFor(r, a)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var probs labelhub.Problems
	page, limit := 1, v2DefaultAssetLimit
	if s := q.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			probs.Add("page", "must be a page number from 1")
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > labelhub.MaxPageLimit {
			probs.Add("limit", "must be a whole number from 1 to %d", labelhub.MaxPageLimit)
		}
	}
	var filters struct {
		ID         *string  `json:"_id"`
		ExternalID *string  `json:"externalId"`
		Batches    []string `json:"batches"`
		Type       *string  `json:"type"`
	}
	if s := q.Get("filters"); s != "" {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			probs.Add("filters", "must be a JSON object such as {\"externalId\": \"cam-1.jpg\"}: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
		for k, val := range raw {
			var err error
			switch k {
			case "_id":
				err = json.Unmarshal(val, &filters.ID)
			case "externalId":
				err = json.Unmarshal(val, &filters.ExternalID)
			case "batches":
				err = json.Unmarshal(val, &filters.Batches)
			case "type":
				err = json.Unmarshal(val, &filters.Type)
			case "isPreLabeled":
				probs.Add("filters.isPreLabeled", "labelhub cannot filter assets by pre-labels; leave it out")
			default:
				probs.Add("filters."+k, "is not a filter labelhub knows: use _id, externalId, batches or type")
			}
			if err != nil {
				probs.Add("filters."+k, "has the wrong type: _id, externalId and type are strings, batches a list of batch ids or names")
			}
		}
	}
	if err := probs.Err("invalid request"); err != nil {
		return err
	}
	skip := (page - 1) * limit
	if skip > v2MaxAssetSkip {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "page",
			Message: fmt.Sprintf("reaches past the first %d assets; narrow the list with filters instead", v2MaxAssetSkip)})
	}
	bs, err := v.allBatches(r.Context(), a.Org.ID, p.ID)
	if err != nil {
		return err
	}
	idOf, nameOf := map[string]string{}, map[string]string{}
	for _, b := range bs {
		idOf[b.Name], nameOf[b.ID] = b.ID, b.Name
	}
	var f labelhub.AssetFilter
	var mustNames []string // batches an asset must be in besides f.BatchID
	for i, ref := range filters.Batches {
		id := ref
		if _, ok := nameOf[ref]; !ok {
			id = idOf[ref]
		}
		if id == "" {
			return labelhub.Invalid("invalid request", labelhub.FieldError{Path: fmt.Sprintf("filters.batches[%d]", i),
				Message: fmt.Sprintf("%q names no batch (by id or name) of this project", ref)})
		}
		if f.BatchID == "" {
			f.BatchID = id
		} else {
			mustNames = append(mustNames, nameOf[id])
		}
	}
	if filters.ExternalID != nil {
		f.ExternalID = *filters.ExternalID
	}
	if filters.Type != nil {
		f.Type = labelhub.AssetType(*filters.Type)
	}
	view := func(as labelhub.Asset) v2Asset {
		out := v2Asset{ID: as.ID, ExternalID: as.ExternalID, Project: as.ProjectID, Type: as.Type, Data: as.Data, Dataset: as.Dataset,
			Metadata: as.Metadata, ContextData: as.ContextData, Attachments: as.Attachments, Batches: []string{}, BatchNames: []string{},
			Storage: as.StorageID, TaskID: as.TaskID, CreatedAt: as.CreatedAt}
		for _, n := range as.Batches {
			out.Batches = append(out.Batches, idOf[n])
			out.BatchNames = append(out.BatchNames, n)
		}
		return out
	}
	match := func(as labelhub.Asset) bool {
		if filters.ID != nil && as.ID != *filters.ID {
			return false
		}
		for _, n := range mustNames {
			found := false
			for _, m := range as.Batches {
				found = found || m == n
			}
			if !found {
				return false
			}
		}
		return true
	}
	out := []v2Asset{}
	more := false
	if filters.ID != nil {
		// One asset at most: read it rather than the list.
		as, err := v.s.cfg.Store.GetAsset(r.Context(), a.Org.ID, *filters.ID)
		switch {
		case labelhub.ErrorCode(err) == labelhub.ECodeNotFound:
		case err != nil:
			return err
		case as.ProjectID == p.ID && (f.ExternalID == "" || as.ExternalID == f.ExternalID) && (f.Type == "" || as.Type == f.Type) &&
			(f.BatchID == "" || slices.Contains(as.Batches, nameOf[f.BatchID])) && match(as) && skip == 0:
			out = append(out, view(as))
		}
	} else {
		pr := labelhub.PageRequest{Limit: labelhub.MaxPageLimit}
	scan:
		for {
			pg, err := v.s.cfg.Store.ListAssets(r.Context(), a.Org.ID, p.ID, f, pr)
			if err != nil {
				return err
			}
			for _, as := range pg.Items {
				if !match(as) {
					continue
				}
				if skip > 0 {
					skip--
					continue
				}
				if len(out) == limit {
					more = true
					break scan
				}
				out = append(out, view(as))
			}
			if pg.NextCursor == "" {
				break
			}
			pr.Cursor = pg.NextCursor
		}
	}
	writeV2(w, http.StatusOK, map[string]any{"assets": out, "page": page, "limit": limit, "hasMore": more})
	return nil
}

// batches answers POST /v2/batches/{projectId} {"batches": [{"_id"?,
// "name"}, …]} (create_batch, create_batches): every batch of the list
// that the project does not have yet (by _id, else by name) is created;
// batches missing from the list stay. The answer is the project, with its
// batches, as GET /v2/project/{id} answers it. Calling it again with the
// same list changes nothing.
func (v *v2) batches(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := v.s.projectFor(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, "create batches"); err != nil {
		return err
	}
	m, _, err := v.decodeLoose(w, r)
	if err != nil {
		return err
	}
	raw, ok := m["batches"]
	if !ok {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "batches", Message: `is required: a list of batches such as [{"name": "week-1"}]`})
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "batches", Message: `must be a list of objects such as {"name": "week-1"}`})
	}
	if len(items) > labelhub.MaxPageLimit {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "batches", Message: fmt.Sprintf("at most %d batches in one call", labelhub.MaxPageLimit)})
	}
	bs, err := v.allBatches(r.Context(), a.Org.ID, p.ID)
	if err != nil {
		return err
	}
	haveID, haveName := map[string]bool{}, map[string]bool{}
	for _, b := range bs {
		haveID[b.ID], haveName[b.Name] = true, true
	}
	// Everything is checked before the first batch is created.
	var probs labelhub.Problems
	var create []string
	for i, it := range items {
		str := func(k string) string {
			var s string
			if x, ok := it[k]; ok && string(x) != "null" && json.Unmarshal(x, &s) != nil {
				probs.Add(fmt.Sprintf("batches[%d].%s", i, k), "must be a string")
			}
			return s
		}
		id, name := str("_id"), str("name")
		switch {
		case id != "" && haveID[id]:
		case name == "" && id != "":
			probs.Add(fmt.Sprintf("batches[%d]._id", i), "%q names no batch of this project; give a name to create one", id)
		case name == "":
			probs.Add(fmt.Sprintf("batches[%d].name", i), "is required: the batch's name")
		case haveName[name]:
		default:
			if err := labelhub.ValidateBatchName(name); err != nil {
				var e *labelhub.Error
				msg := err.Error()
				if errors.As(err, &e) && len(e.Details) > 0 {
					msg = e.Details[0].Message
				}
				probs.Add(fmt.Sprintf("batches[%d].name", i), "%s", msg)
				continue
			}
			haveName[name] = true
			create = append(create, name)
		}
	}
	if err := probs.Err("invalid batches"); err != nil {
		return err
	}
	for _, name := range create {
		if _, err := v.s.cfg.Store.CreateBatch(r.Context(), a.Org.ID, p.ID, name); err != nil && labelhub.ErrorCode(err) != labelhub.ECodeConflict {
			return err // a conflict: created meanwhile by another call
		}
	}
	view, err := v.projectView(r.Context(), p)
	if err != nil {
		return err
	}
	writeV2(w, http.StatusOK, map[string]any{"project": view})
	return nil
}
