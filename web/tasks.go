package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

// The Tasks pages: a project's tasks (GET /projects/{projectId}/tasks),
// filtered by stage and batch, and one task (GET /tasks/{taskId}): its
// asset with the answer's shapes drawn over it as SVG, its classifications,
// relations, stage and stage history.

func init() {
	pageNames = append(pageNames, "tasks", "task")
}

// taskStore is what the Tasks pages need of the store (sqlstore.Store has
// it); a store without it answers those pages as not found.
type taskStore interface {
	ListTasks(ctx context.Context, orgID, projectID string, f labelhub.TaskFilter) ([]labelhub.Task, error)
	GetTask(ctx context.Context, orgID, taskID string) (labelhub.Task, error)
	Workflow(ctx context.Context, orgID, projectID string) ([]labelhub.Stage, error)
}

func (s *server) tasks() (taskStore, error) {
	ts, ok := s.cfg.Store.(taskStore)
	if !ok {
		return nil, labelhub.Errorf(labelhub.ECodeNotFound, "This hub keeps no tasks.")
	}
	return ts, nil
}

func (s *server) routesTasks() {
	s.mux.HandleFunc("GET /projects/{projectId}/tasks", s.page(s.projectTasksPage))
	s.mux.HandleFunc("GET /tasks/{taskId}", s.page(s.taskPage))
}

// userNames resolves user ids to display names within one request.
type userNames struct {
	s     *server
	ctx   context.Context
	orgID string
	names map[string]string
}

func (s *server) userNames(ctx context.Context, orgID string) *userNames {
	return &userNames{s: s, ctx: ctx, orgID: orgID, names: map[string]string{}}
}

// name is the user's name, else the email; an id that names no user of
// the organisation (a deleted one) is shown as it is.
func (u *userNames) name(id string) string {
	if id == "" {
		return ""
	}
	if n, ok := u.names[id]; ok {
		return n
	}
	n := id
	if labelhub.ValidID(id) {
		if usr, err := u.s.cfg.Store.GetUser(u.ctx, u.orgID, id); err == nil {
			n = usr.Email
			if usr.Name != "" {
				n = usr.Name + " <" + usr.Email + ">"
			}
		}
	}
	u.names[id] = n
	return n
}

type taskRow struct {
	ID, ExternalID, Stage, UpdatedBy string
	Type                             labelhub.AssetType
	Batches                          []string
	UpdatedAt                        time.Time
	Changed                          bool // someone changed the task (UpdatedBy set)
}

type tasksView struct {
	Project    labelhub.Project
	Tab        string
	Tasks      []taskRow
	NextCursor string
	MoreURL    string
	Filter     struct{ Stage, Batch string }
	Filtered   bool
	Stages     []labelhub.Stage
	Batches    []labelhub.Batch
}

func (s *server) projectTasksPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	ts, err := s.tasks()
	if err != nil {
		return err
	}
	ctx, org := r.Context(), c.actor.Org.ID
	q := r.URL.Query()
	v := tasksView{Project: p, Tab: "tasks"}
	v.Filter.Stage, v.Filter.Batch = q.Get("stage"), q.Get("batch")
	v.Filtered = v.Filter.Stage != "" || v.Filter.Batch != ""
	if v.Stages, err = ts.Workflow(ctx, org, p.ID); err != nil {
		return err
	}
	batches, err := s.cfg.Store.ListBatches(ctx, org, p.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		return err
	}
	v.Batches = batches.Items
	after, err := labelhub.DecodeCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	// One more than a page tells whether there is a next page.
	list, err := ts.ListTasks(ctx, org, p.ID, labelhub.TaskFilter{StageID: v.Filter.Stage, BatchID: v.Filter.Batch, After: after, Limit: pageSize + 1})
	if err != nil {
		return err
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		v.NextCursor = labelhub.EncodeCursor(list[len(list)-1].ID)
	}
	names := s.userNames(ctx, org)
	for _, t := range list {
		v.Tasks = append(v.Tasks, taskRow{ID: t.ID, ExternalID: t.Asset.ExternalID, Type: t.Asset.Type, Stage: t.StageName,
			Batches: t.Asset.Batches, UpdatedAt: t.UpdatedAt, UpdatedBy: names.name(t.UpdatedBy), Changed: t.UpdatedBy != ""})
	}
	more := url.Values{}
	if v.Filter.Stage != "" {
		more.Set("stage", v.Filter.Stage)
	}
	if v.Filter.Batch != "" {
		more.Set("batch", v.Filter.Batch)
	}
	v.MoreURL = "/projects/" + p.ID + "/tasks?" + more.Encode()
	if len(more) > 0 {
		v.MoreURL += "&"
	}
	v.MoreURL += "cursor="
	s.render(w, r, http.StatusOK, "tasks", c, p.Name+" · Tasks", "projects", v)
	return nil
}

// taskCSP lets the task page show the asset: /content answers a redirect
// to the bucket's signed URL or the asset's public URL, so images, media,
// PDFs (in an <object>) and text (fetched by tasks.js) may come from
// elsewhere. Scripts and styles stay this origin's.
const taskCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; media-src 'self' http: https:; " +
	"object-src 'self' http: https:; connect-src 'self' http: https:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type pageLink struct {
	N       int
	URL     string
	Current bool
}

// classView is a classification answer for the page: its answer as text
// and its nested answers.
type classView struct {
	Title, Kind, Answer, ObjectID string
	Children                      []classView
}

type objectView struct {
	ObjectID, Title, Kind, Color string
	Page                         int
	Shown                        bool // drawn on the shown page
	Classes                      []classView
}

type relationView struct {
	ObjectID, Title, Kind, Direction, Arrow string
	From, To                                string
	Group                                   []string
}

type historyView struct {
	Seq                 int64
	Stage, Action, By   string
	Duration            string
	CompletedAt         time.Time
	Objects, Classified int
}

// spanView is a ner span; Text is its text when the page has the asset's
// text.
type spanView struct {
	ObjectID, Title, Color, Text string
	Start, End                   int
}

// textPiece is a run of an inline text asset, highlighted when it lies in
// a span.
type textPiece struct {
	Text, Color, ObjectID, Title string
}

type taskView struct {
	Project   labelhub.Project
	Tab       string
	Task      labelhub.Task
	UpdatedBy string
	Duration  string

	ContentURL  string // of the shown page
	Page, Pages int
	PageLinks   []pageLink
	// ViewBox is "0 0 W H" from the asset's metadata width and height;
	// empty when they are not known, and tasks.js sets it from the image.
	ViewBox                                  string
	Width, Height                            float64
	IsImage, IsVideo, IsAudio, IsPDF, IsText bool
	InlineText                               string // the text of a text asset kept in the hub
	TextPieces                               []textPiece

	Shapes    []svgShape
	Legend    []legendEntry
	Objects   []objectView
	Classes   []classView
	Relations []relationView
	Spans     []spanView
	History   []historyView
}

func (s *server) taskPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ts, err := s.tasks()
	if err != nil {
		return err
	}
	id := r.PathValue("taskId")
	if !labelhub.ValidID(id) {
		return labelhub.NotFound("task")
	}
	ctx, org := r.Context(), c.actor.Org.ID
	t, err := ts.GetTask(ctx, org, id)
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.GetProject(ctx, org, t.ProjectID)
	if err != nil {
		return err
	}
	names := s.userNames(ctx, org)
	v := taskView{Project: p, Tab: "tasks", Task: t, UpdatedBy: names.name(t.UpdatedBy), Duration: duration(t.TotalDurationMs)}

	// The page: ?page=N of a multi-page asset.
	v.Pages = max(t.Asset.Pages, 1)
	if raw := r.URL.Query().Get("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n >= v.Pages {
			return labelhub.Invalid("invalid page", labelhub.FieldError{Path: "page", Message: fmt.Sprintf("must be a page number from 0 to %d", v.Pages-1)})
		}
		v.Page = n
	}
	v.ContentURL = t.Asset.ContentURL
	if v.ContentURL == "" {
		v.ContentURL = "/api/v1/assets/" + t.AssetID + "/content"
	}
	if t.Asset.Pages > 0 {
		base := v.ContentURL
		v.ContentURL = base + "?page=" + strconv.Itoa(v.Page)
		for i := 0; i < t.Asset.Pages; i++ {
			v.PageLinks = append(v.PageLinks, pageLink{N: i, URL: "/tasks/" + t.ID + "?page=" + strconv.Itoa(i), Current: i == v.Page})
		}
	}

	// The image's size from the asset's metadata.
	if as, ok := s.cfg.Store.(assetStore); ok {
		if a, err := as.GetAsset(ctx, org, t.AssetID); err == nil {
			v.Width, v.Height = metadataSize(a.Metadata)
		}
	}
	if v.Width > 0 && v.Height > 0 {
		v.ViewBox = "0 0 " + num(v.Width) + " " + num(v.Height)
	}
	switch t.Asset.Type {
	case labelhub.AssetImage:
		v.IsImage = true
	case labelhub.AssetVideo:
		v.IsVideo = true
	case labelhub.AssetAudio:
		v.IsAudio = true
	case labelhub.AssetPDF:
		v.IsPDF = true
	case labelhub.AssetText:
		v.IsText = true
		v.InlineText = inlineText(t.Asset)
	}

	idx := p.CategorySchema.Index()
	v.Shapes = shapesSVG(&t.Answer, idx, v.Page)
	v.Legend = legend(p.CategorySchema, v.Shapes)
	titles := map[string]string{}
	for i := range t.Answer.Tools {
		o := &t.Answer.Tools[i]
		ov := objectView{ObjectID: o.ObjectID, Title: o.Title, Page: objectPage(o)}
		if e, ok := toolEntry(idx, o); ok {
			ov.Title, ov.Kind, ov.Color = e.Title, e.Kind, toolColor(e.SchemaID, e.Tool.Color)
		} else {
			ov.Color = toolColor(o.SchemaID+"\x00"+o.Title, "")
		}
		if ov.Title == "" {
			ov.Title = o.SchemaID
		}
		ov.Shown = ov.Page == v.Page && o.NER == nil && o.PDF == nil && o.Brush == nil
		ov.Classes = classViews(idx, o.Classifications)
		v.Objects = append(v.Objects, ov)
		if o.ObjectID != "" {
			titles[o.ObjectID] = ov.Title
		}
		if o.NER != nil {
			v.Spans = append(v.Spans, spanView{ObjectID: o.ObjectID, Title: ov.Title, Color: ov.Color, Start: o.NER.Start, End: o.NER.End})
		}
	}
	if v.InlineText != "" {
		v.TextPieces = textPieces(v.InlineText, v.Spans)
		for i := range v.Spans {
			v.Spans[i].Text = runeSlice(v.InlineText, v.Spans[i].Start, v.Spans[i].End)
		}
	}
	v.Classes = classViews(idx, t.Answer.Classifications)
	label := func(objectID string) string {
		if title, ok := titles[objectID]; ok {
			return title + " (" + objectID + ")"
		}
		return objectID
	}
	for _, rel := range t.Answer.Relations {
		rv := relationView{ObjectID: rel.ObjectID, Title: rel.Title, Kind: "single", Direction: rel.Direction}
		if e, err := idx.Resolve(labelhub.SchemaPartRelation, rel.SchemaID, rel.Title); err == nil {
			rv.Title, rv.Kind = e.Title, e.Kind
		}
		if rv.Title == "" {
			rv.Title = rel.SchemaID
		}
		if len(rel.Group) > 0 {
			rv.Kind = "group"
			for _, g := range rel.Group {
				rv.Group = append(rv.Group, label(g))
			}
		} else {
			rv.From, rv.To = label(rel.From), label(rel.To)
			rv.Arrow = directionArrow(rel.Direction)
		}
		v.Relations = append(v.Relations, rv)
	}
	for _, h := range t.History {
		v.History = append(v.History, historyView{Seq: h.Seq, Stage: h.StageName, Action: h.Action, By: names.name(h.CompletedBy),
			Duration: duration(h.DurationMs), CompletedAt: h.CompletedAt, Objects: len(h.Tools), Classified: len(h.Classifications)})
	}
	w.Header().Set("Content-Security-Policy", taskCSP)
	s.render(w, r, http.StatusOK, "task", c, t.Asset.ExternalID+" · Task", "projects", v)
	return nil
}

// metadataSize reads width and height from an asset's metadata: positive
// finite numbers, else 0.
func metadataSize(raw json.RawMessage) (w, h float64) {
	var m struct {
		Width, Height *float64
	}
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil || m.Width == nil || m.Height == nil {
		return 0, 0
	}
	w, h = *m.Width, *m.Height
	if !finite(w, h) || w <= 0 || h <= 0 {
		return 0, 0
	}
	return w, h
}

// inlineText is the text of a text asset kept in the hub (its data is not
// a URL), as the content route answers it; "" for a text at a URL, which
// tasks.js fetches.
func inlineText(a labelhub.TaskAsset) string {
	if a.StorageID != "" || a.Pages > 0 {
		return ""
	}
	if ref, err := assetref.Resolve(a.Data, nil); err == nil && ref.Public {
		return ""
	}
	return a.Data
}

// classViews turns classification answers into their page form, titles
// and kinds from the schema when it has them.
func classViews(idx labelhub.SchemaIndex, list []labelhub.ClassificationAnswer) []classView {
	var out []classView
	for _, a := range list {
		cv := classView{Title: a.Title, Kind: a.Tool, ObjectID: a.ObjectID, Answer: answerText(a.Answer)}
		if e, ok := idx.ByID(a.SchemaID); ok {
			cv.Title, cv.Kind = e.Title, e.Kind
		}
		if cv.Title == "" {
			cv.Title = a.SchemaID
		}
		cv.Children = classViews(idx, a.Classifications)
		out = append(out, cv)
	}
	return out
}

// answerText shows a classification answer: a string as it is, a list of
// strings joined by commas, anything else as its JSON.
func answerText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		if len(list) == 0 {
			return "(none)"
		}
		return strings.Join(list, ", ")
	}
	return string(raw)
}

func directionArrow(d string) string {
	switch d {
	case labelhub.DirectionReverse:
		return "←"
	case labelhub.DirectionBidirectional:
		return "↔"
	case labelhub.DirectionNone:
		return "—"
	}
	return "→"
}

// duration shows milliseconds as "1h 02m", "3m 05s" or "4.2s".
func duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case ms <= 0:
		return "0s"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh %02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// runeSlice is the characters [start, end) of s, clipped to s.
func runeSlice(s string, start, end int) string {
	if start < 0 {
		start = 0
	}
	n := 0
	from, to := len(s), len(s)
	for i := range s {
		if n == start {
			from = i
		}
		if n == end {
			to = i
			break
		}
		n++
	}
	if from > to {
		return ""
	}
	return s[from:to]
}

// textPieces cuts an inline text at the span boundaries (in characters);
// each piece covered by a span carries the colour of the first span that
// covers it, so overlapping spans still show.
func textPieces(text string, spans []spanView) []textPiece {
	if text == "" {
		return nil
	}
	n := utf8.RuneCountInString(text)
	cuts := map[int]bool{0: true, n: true}
	for _, sp := range spans {
		for _, c := range []int{sp.Start, sp.End} {
			if c > 0 && c < n {
				cuts[c] = true
			}
		}
	}
	var out []textPiece
	start := 0
	runes := []rune(text)
	for i := 1; i <= n; i++ {
		if !cuts[i] {
			continue
		}
		p := textPiece{Text: string(runes[start:i])}
		for _, sp := range spans {
			if sp.Start <= start && i <= sp.End {
				p.Color, p.ObjectID, p.Title = sp.Color, sp.ObjectID, sp.Title
				break
			}
		}
		out = append(out, p)
		start = i
	}
	return out
}
