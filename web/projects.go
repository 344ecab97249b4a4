package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labelhub/labelhub"
)

// pageSize is the length of the lists' pages; "load more" fetches the next.
const pageSize = 50

// formErr is a problem to show next to a form.
type formErr struct {
	Message string
	Details []labelhub.FieldError
}

// asFormErr turns the errors a person can fix by editing the form
// (invalid input, a conflict, a limit) into a formErr; other errors are
// for the error page.
func asFormErr(err error) (*formErr, bool) {
	var e *labelhub.Error
	if !errors.As(err, &e) {
		return nil, false
	}
	switch e.Code {
	case labelhub.ECodeInvalid, labelhub.ECodeConflict, labelhub.ECodeTooLarge:
		return &formErr{Message: e.Message, Details: e.Details}, true
	}
	return nil, false
}

type projectForm struct {
	Name, Description string
	Err               *formErr
}

type projectsView struct {
	Projects   []labelhub.Project
	NextCursor string
	Paged      bool // this is not the first page
	Form       projectForm
}

func (s *server) projectsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.showProjects(w, r, c, http.StatusOK, projectForm{})
}

func (s *server) showProjects(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, form projectForm) error {
	cursor := r.URL.Query().Get("cursor")
	page, err := s.cfg.Store.ListProjects(r.Context(), c.actor.Org.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	s.render(w, r, status, "projects", c, "Projects", "projects", projectsView{
		Projects: page.Items, NextCursor: page.NextCursor, Paged: cursor != "", Form: form,
	})
	return nil
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.can(labelhub.PermManageProjects) {
		return forbidden(c, "create projects")
	}
	form := projectForm{Name: strings.TrimSpace(r.PostForm.Get("name")), Description: r.PostForm.Get("description")}
	p, err := s.cfg.Store.CreateProject(r.Context(), c.actor.Org.ID, c.actor.User.ID,
		labelhub.ProjectInput{Name: &form.Name, Description: &form.Description})
	if err != nil {
		fe, ok := asFormErr(err)
		if !ok {
			return err
		}
		form.Err = fe
		return s.showProjects(w, r, c, http.StatusUnprocessableEntity, form)
	}
	s.redirectWithFlash(w, r, "/projects/"+p.ID, "project-created")
	return nil
}

// loadProject reads the project named in the path; an id of another
// organisation, or no id at all, is not found.
func (s *server) loadProject(r *http.Request, c *reqCtx) (labelhub.Project, error) {
	id := r.PathValue("projectId")
	if !labelhub.ValidID(id) {
		return labelhub.Project{}, labelhub.NotFound("project")
	}
	return s.cfg.Store.GetProject(r.Context(), c.actor.Org.ID, id)
}

type editForm struct {
	Name, Description, Schema string
	Err                       *formErr
}

type batchForm struct {
	Name string
	Err  *formErr
}

type projectView struct {
	Project         labelhub.Project
	Tab             string
	Batches         []labelhub.Batch
	BatchNextCursor string
	BatchesPaged    bool
	Edit            editForm
	Batch           batchForm
}

func (s *server) projectPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	return s.showProject(w, r, c, http.StatusOK, p, projectEditForm(p), batchForm{})
}

func projectEditForm(p labelhub.Project) editForm {
	return editForm{Name: p.Name, Description: p.Description, Schema: prettySchema(p.CategorySchema)}
}

func (s *server) showProject(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, p labelhub.Project, edit editForm, batch batchForm) error {
	cursor := r.URL.Query().Get("batchCursor")
	page, err := s.cfg.Store.ListBatches(r.Context(), c.actor.Org.ID, p.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	s.render(w, r, status, "project", c, p.Name, "projects", projectView{
		Project: p, Tab: "overview", Batches: page.Items, BatchNextCursor: page.NextCursor, BatchesPaged: cursor != "",
		Edit: edit, Batch: batch,
	})
	return nil
}

func (s *server) updateProject(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	// Existence first, so another organisation's id is 404 whatever the role.
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageProjects) {
		return forbidden(c, "edit projects")
	}
	edit := editForm{
		Name:        strings.TrimSpace(r.PostForm.Get("name")),
		Description: r.PostForm.Get("description"),
		Schema:      r.PostForm.Get("categorySchema"),
	}
	in := labelhub.ProjectInput{Name: &edit.Name, Description: &edit.Description}
	schema, err := parseSchema(edit.Schema)
	if err == nil {
		in.CategorySchema = &schema
		var updated labelhub.Project
		if updated, err = s.cfg.Store.UpdateProject(r.Context(), c.actor.Org.ID, p.ID, in); err == nil {
			s.redirectWithFlash(w, r, "/projects/"+updated.ID, "project-saved")
			return nil
		}
	}
	fe, ok := asFormErr(err)
	if !ok {
		return err
	}
	edit.Err = fe
	return s.showProject(w, r, c, http.StatusUnprocessableEntity, p, edit, batchForm{})
}

// prettySchema is the schema as the edit textarea shows it.
func prettySchema(cs labelhub.CategorySchema) string {
	if cs.Tools == nil {
		cs.Tools = []labelhub.SchemaTool{}
	}
	if cs.Classifications == nil {
		cs.Classifications = []labelhub.SchemaClassification{}
	}
	if cs.Relations == nil {
		cs.Relations = []labelhub.SchemaRelation{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(cs)
	return strings.TrimSuffix(buf.String(), "\n")
}

// parseSchema reads the schema textarea: one JSON object, unknown fields
// refused; blank means an empty schema. Errors say where (line and
// column) and, for wrong types, which field.
func parseSchema(text string) (labelhub.CategorySchema, error) {
	var cs labelhub.CategorySchema
	if strings.TrimSpace(text) == "" {
		return labelhub.CategorySchema{Tools: []labelhub.SchemaTool{}, Classifications: []labelhub.SchemaClassification{}, Relations: []labelhub.SchemaRelation{}}, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	fail := func(path string, offset int64, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if offset >= 0 {
			line, col := lineCol(text, offset)
			msg = fmt.Sprintf("line %d, column %d: %s", line, col, msg)
		}
		return labelhub.Invalid("the category schema is not valid JSON for a schema", labelhub.FieldError{Path: path, Message: msg})
	}
	if err := dec.Decode(&cs); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return cs, fail("categorySchema", syntax.Offset, "%s", strings.TrimPrefix(syntax.Error(), "json: "))
		case errors.As(err, &typ):
			path := "categorySchema"
			if typ.Field != "" {
				path += "." + typ.Field
			}
			return cs, fail(path, typ.Offset, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return cs, fail("categorySchema", int64(len(text)), "the JSON ends too early (a missing } or ]?)")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return cs, fail("categorySchema", -1, "%s is not a field of any schema entry", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return cs, fail("categorySchema", dec.InputOffset(), "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return cs, fail("categorySchema", dec.InputOffset(), "there is more text after the schema's closing }")
	}
	return cs, nil
}

// lineCol converts a byte offset of text into a 1-based line and column.
func lineCol(text string, offset int64) (int, int) {
	if offset > int64(len(text)) {
		offset = int64(len(text))
	}
	if offset < 0 {
		offset = 0
	}
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := len([]rune(before[strings.LastIndexByte(before, '\n')+1:])) + 1
	return line, col
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a " + kind
}

// schemaEntries counts a schema's entries as its limit does: tools,
// classifications, relations and options at every depth.
func schemaEntries(cs labelhub.CategorySchema) int {
	n := len(cs.Relations)
	for _, t := range cs.Tools {
		n += 1 + classificationEntries(t.Classifications)
	}
	return n + classificationEntries(cs.Classifications)
}

func classificationEntries(list []labelhub.SchemaClassification) int {
	n := 0
	for _, c := range list {
		n += 1 + optionEntries(c.Options) + classificationEntries(c.Classifications)
	}
	return n
}

func optionEntries(list []labelhub.SchemaOption) int {
	n := 0
	for _, o := range list {
		n += 1 + optionEntries(o.Children) + classificationEntries(o.Classifications)
	}
	return n
}

func (s *server) createBatch(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageProjects) {
		return forbidden(c, "create batches")
	}
	form := batchForm{Name: strings.TrimSpace(r.PostForm.Get("name"))}
	if _, err := s.cfg.Store.CreateBatch(r.Context(), c.actor.Org.ID, p.ID, form.Name); err != nil {
		fe, ok := asFormErr(err)
		if !ok {
			return err
		}
		form.Err = fe
		return s.showProject(w, r, c, http.StatusUnprocessableEntity, p, projectEditForm(p), form)
	}
	s.redirectWithFlash(w, r, "/projects/"+p.ID+"#batches", "batch-created")
	return nil
}

func (s *server) deleteProjectPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageProjects) {
		return forbidden(c, "delete projects")
	}
	s.render(w, r, http.StatusOK, "project_delete", c, "Delete "+p.Name, "projects", p)
	return nil
}

func (s *server) deleteProject(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManageProjects) {
		return forbidden(c, "delete projects")
	}
	if err := s.cfg.Store.DeleteProject(r.Context(), c.actor.Org.ID, p.ID); err != nil {
		return err
	}
	s.redirectWithFlash(w, r, "/projects", "project-deleted")
	return nil
}
