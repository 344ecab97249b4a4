package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/labelhub/labelhub"
)

// Imports over the /v2 calls: the SDK wraps the list it sends in an object
// ({"assets": [...], "uploadLocal": …, "priority": …} or {"project": id,
// "jsonContent": [...]}). The list is copied, one element at a time, into
// a temporary file as the JSON array labelhub's imports read (the memory
// used stays that of one element however long the list), checked on the
// way, and only then handed to the import runner, so that a refused body
// starts nothing.

// v2MaxItemBytes bounds one element of the list, as the importer bounds
// one asset (importer.Limits.MaxItemBytes).
const v2MaxItemBytes = 1 << 20

var errItemTooLarge = errors.New("item too large")

// boundedReader fails once more than limit bytes were read since mark:
// the JSON decoder then never buffers much more than one element.
type boundedReader struct {
	r        io.Reader
	n, limit int64
}

func (b *boundedReader) mark() { b.n = 0 }

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		return 0, errItemTooLarge
	}
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// spooledList is the list of a /v2 import body in a temporary file.
type spooledList struct {
	f     *os.File
	items int
	other map[string]json.RawMessage // the body's other top-level fields
}

func (s *spooledList) Close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// spoolList reads body, a JSON object, and copies the elements of the list
// at key field into a temporary file as a JSON array (one compacted
// element a line, so that the importer's index of an item is its index in
// the list). check sees every element first and may refuse the body.
func spoolList(body io.Reader, field string, check func(i int, raw json.RawMessage) error) (*spooledList, error) {
	br := &boundedReader{r: body, limit: v2MaxItemBytes + 64<<10}
	dec := json.NewDecoder(br)
	bad := func(err error, what string) error {
		switch {
		case errors.Is(err, errItemTooLarge):
			return labelhub.Errorf(labelhub.ECodeTooLarge, "%s is larger than %d bytes", what, v2MaxItemBytes)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return labelhub.Errorf(labelhub.ECodeInvalid, "the body ends before %s is complete", what)
		case err != nil:
			return labelhub.Errorf(labelhub.ECodeInvalid, "malformed JSON in %s near byte %d: %v", what, dec.InputOffset(), err)
		}
		return labelhub.Errorf(labelhub.ECodeInvalid, "%s is not what was expected", what)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err == nil {
			return nil, labelhub.Errorf(labelhub.ECodeInvalid, "the body must be a JSON object with the list in %q", field)
		}
		return nil, bad(err, "the body")
	}
	f, err := os.CreateTemp("", "labelhub-v2-import-*.json")
	if err != nil {
		return nil, err
	}
	out := &spooledList{f: f, other: map[string]json.RawMessage{}}
	ok := false
	defer func() {
		if !ok {
			out.Close()
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	found := false
	for dec.More() {
		br.mark()
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err, "the body")
		}
		key, _ := tok.(string)
		if key != field {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, bad(err, fmt.Sprintf("%q", key))
			}
			if _, dup := out.other[key]; dup {
				return nil, labelhub.Invalid("invalid request", labelhub.FieldError{Path: key, Message: "is given twice"})
			}
			out.other[key] = raw
			continue
		}
		if found {
			return nil, labelhub.Invalid("invalid request", labelhub.FieldError{Path: field, Message: "is given twice"})
		}
		found = true
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			if err == nil {
				return nil, labelhub.Invalid("invalid request", labelhub.FieldError{Path: field, Message: "must be a list"})
			}
			return nil, bad(err, field)
		}
		_, _ = w.WriteString("[\n")
		var buf bytes.Buffer
		for dec.More() {
			br.mark()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, bad(err, fmt.Sprintf("%s[%d]", field, out.items))
			}
			if err := check(out.items, raw); err != nil {
				return nil, err
			}
			buf.Reset()
			if err := json.Compact(&buf, raw); err != nil {
				return nil, bad(err, fmt.Sprintf("%s[%d]", field, out.items))
			}
			if out.items > 0 {
				_, _ = w.WriteString(",\n")
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return nil, err
			}
			out.items++
		}
		if _, err := dec.Token(); err != nil {
			return nil, bad(err, field)
		}
		_, _ = w.WriteString("\n]\n")
	}
	br.mark()
	if _, err := dec.Token(); err != nil {
		return nil, bad(err, "the body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, labelhub.Errorf(labelhub.ECodeInvalid, "the body has data after its JSON object")
	}
	if !found {
		return nil, labelhub.Invalid("invalid request", labelhub.FieldError{Path: field, Message: "is required: the list to import"})
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	ok = true
	return out, nil
}

// cloud answers POST /v2/project/{projectId}/cloud[?batches=["id",…]]
// {"assets": [...]} (upload_files_cloud): an import of the assets, as POST
// /api/v1/projects/{projectId}/imports with the same items (formats.md
// §1; each asset's storage is its storage integration) and batches (ids
// or names the project has). uploadLocal and priority are accepted and
// have no effect. It waits up to a minute for the import and answers its
// status, as GET /api/v1/imports/{id} does (state running if it is not
// done yet). A file-explorer run token may name only its run's storage
// integration.
func (v *v2) cloud(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := v.s.importTarget(r, a, "import assets")
	if err != nil {
		return err
	}
	batches, ok := jsonList(r.URL.Query().Get("batches"))
	if !ok {
		return labelhub.Invalid("invalid import options", labelhub.FieldError{Path: "batches", Message: `must be a JSON list of batch ids or names, such as ["week-1"]`})
	}
	list, err := spoolList(r.Body, "assets", func(i int, raw json.RawMessage) error {
		if a.Scope == nil {
			return nil
		}
		var it struct {
			Storage string `json:"storage"`
		}
		if json.Unmarshal(raw, &it) == nil && it.Storage != "" && it.Storage != a.Scope.IntegrationID {
			return labelhub.NotFound("storage integration") // only its run's integration, as on /api/v1
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer list.Close()
	im, err := v.s.cfg.Imports.Start(r.Context(), a.Org.ID, a.User.ID, p.ID, labelhub.ImportOptions{Batches: batches}, list.f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), v2ImportWait)
	_ = v.s.cfg.Imports.Wait(ctx, im.ID) // not done in time: the state says so
	cancel()
	st, err := v.s.status(context.WithoutCancel(r.Context()), a.Org.ID, im.ID, labelhub.DefaultPageLimit)
	if err != nil {
		return err
	}
	writeV2(w, http.StatusOK, st)
	return nil
}

// importLabels answers POST /v2/import/labels {"project": id,
// "jsonContent": [...]} (import_labels): the label import of POST
// /api/v1/projects/{projectId}/labels with the entries of jsonContent
// (formats.md §2), answered with its status once done. Run tokens may not
// import labels, as on /api/v1.
func (v *v2) importLabels(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if err := require(a, labelhub.PermManageProjects, "import labels"); err != nil {
		return err
	}
	if err := v.s.importsReady(); err != nil {
		return err
	}
	list, err := spoolList(r.Body, "jsonContent", func(int, json.RawMessage) error { return nil })
	if err != nil {
		return err
	}
	defer list.Close()
	var project string
	if raw, ok := list.other["project"]; ok && json.Unmarshal(raw, &project) != nil {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "project", Message: "must be a string: the project's id"})
	}
	p, err := v.inProject(r.Context(), a, "project", project)
	if err != nil {
		return err
	}
	im, err := v.s.cfg.Imports.ImportLabels(r.Context(), a.Org.ID, a.User.ID, p.ID, list.f)
	if err != nil {
		return err
	}
	st, err := v.s.status(context.WithoutCancel(r.Context()), a.Org.ID, im.ID, labelhub.DefaultPageLimit)
	if err != nil {
		return err
	}
	writeV2(w, http.StatusOK, st)
	return nil
}
