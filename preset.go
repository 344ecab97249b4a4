package labelhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// PresetInput is the writable part of a preset (a named Config JSON of one
// plugin in one project); on update nil fields stay.
type PresetInput struct {
	Name       *string `json:"name"`
	ConfigJSON *string `json:"configJSON"`
}

// Validate checks the input; creating requires both fields. A preset's
// Config JSON is one JSON value (a blank preset would be no preset).
func (in *PresetInput) Validate(creating bool) error {
	var p Problems
	if in.Name != nil || creating {
		validName(&p, "name", in.Name)
	}
	switch {
	case in.ConfigJSON == nil && creating:
		p.Add("configJSON", "is required: a JSON text")
	case in.ConfigJSON != nil:
		if msg := ConfigJSONProblem(*in.ConfigJSON, false); msg != "" {
			p.Add("configJSON", "%s", msg)
		}
	}
	return p.Err("invalid preset")
}

// ConfigJSONProblem checks a Config JSON text: one JSON value (or, with
// blankOK, blank) within MaxConfigJSONBytes. It returns "" when the text is
// fine, else what is wrong and where: the byte offset and the line and
// column, so that an editor can point at it.
func ConfigJSONProblem(text string, blankOK bool) string {
	if len(text) > MaxConfigJSONBytes {
		return fmt.Sprintf("is longer than %d bytes", MaxConfigJSONBytes)
	}
	if strings.TrimSpace(text) == "" {
		if blankOK {
			return ""
		}
		return "is required: a JSON text"
	}
	valid := utf8.ValidString(text)
	if valid && json.Valid([]byte(text)) {
		return "" // the common case; the decoder below only locates errors
	}
	if !valid {
		i := 0
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return "is not valid JSON: " + atOffset(text, int64(i), "invalid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	var v json.RawMessage
	err := dec.Decode(&v)
	if err == nil {
		end := dec.InputOffset()
		if _, err2 := dec.Token(); err2 != io.EOF {
			return "is not valid JSON: " + atOffset(text, int64(skipSpace([]byte(text), int(end))), "there is more text after the first JSON value")
		}
		return ""
	}
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		off := syntax.Offset
		// encoding/json reports the offset after the offending byte.
		if off > 0 && strings.HasPrefix(syntax.Error(), "invalid character") {
			off--
		}
		return "is not valid JSON: " + atOffset(text, off, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "is not valid JSON: " + atOffset(text, int64(len(text)), "the JSON ends too early (a missing } or ] or \"?)")
	}
	return "is not valid JSON: " + atOffset(text, dec.InputOffset(), strings.TrimPrefix(err.Error(), "json: "))
}

// at formats a message with the offset and its line and column (1-based,
// the column counted in characters).
func atOffset(text string, off int64, msg string) string {
	off = min(max(off, 0), int64(len(text)))
	before := text[:off]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("%s at offset %d (line %d, column %d)", msg, off, line, col)
}

// PresetStore keeps presets beyond what PluginStore offers (SavePreset,
// ListPresets, DeletePreset): creating under a name that must be new,
// reading one, and changing one.
type PresetStore interface {
	// CreatePreset stores a new preset; a name the project and plugin
	// have already is a conflict. The project and the plugin must be the
	// organisation's.
	CreatePreset(ctx context.Context, orgID, userID, projectID, pluginID string, in PresetInput) (Preset, error)
	GetPreset(ctx context.Context, orgID, id string) (Preset, error)
	// UpdatePreset renames or changes a preset; renaming onto another
	// preset's name is a conflict.
	UpdatePreset(ctx context.Context, orgID, id string, in PresetInput) (Preset, error)
}
