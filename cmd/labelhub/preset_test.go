package main

import (
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// labelhub plugin preset save|list|delete against a hub in-process: save
// twice under a name replaces, invalid JSON is refused before sending.
func TestPresetCommands(t *testing.T) {
	h := newPluginTestHub(t)
	out, _ := h.ok(t, "project", "create", "P", "-o", "json")
	proj := decodeJSON[labelhub.Project](t, out)
	out, _ = h.ok(t, "plugin", "create", "--name", "COCO", "--type", "export", "-o", "json")
	plug := decodeJSON[client.PluginCreated](t, out)
	scope := []string{"--project", proj.ID, "--plugin", plug.ID}

	out, errOut, err := h.run(t, `{"q": 1}`, append([]string{"plugin", "preset", "save", "--name", "fast", "--config", "-", "-o", "json"}, scope...)...)
	if err != nil {
		t.Fatalf("save: %v %s", err, errOut)
	}
	first := decodeJSON[labelhub.Preset](t, out)
	if first.Name != "fast" || first.ConfigJSON != `{"q": 1}` || !strings.Contains(errOut, `Saved preset "fast"`) {
		t.Fatalf("save: %+v %s", first, errOut)
	}
	out, errOut, err = h.run(t, `{"q": 2}`, append([]string{"plugin", "preset", "save", "--name", "fast", "--config", "-", "-o", "json"}, scope...)...)
	if err != nil {
		t.Fatalf("save again: %v %s", err, errOut)
	}
	if again := decodeJSON[labelhub.Preset](t, out); again.ID != first.ID || again.ConfigJSON != `{"q": 2}` || !strings.Contains(errOut, "Replaced") {
		t.Fatalf("save again: %+v %s", again, errOut)
	}
	if _, errOut, err = h.run(t, `{"q":`, append([]string{"plugin", "preset", "save", "--name", "bad", "--config", "-"}, scope...)...); err == nil || !strings.Contains(errOut+err.Error(), "not valid JSON") {
		t.Fatalf("invalid JSON: %v %s", err, errOut)
	}
	out, _ = h.ok(t, append([]string{"plugin", "preset", "list"}, scope...)...)
	if !strings.Contains(out, first.ID) || !strings.Contains(out, "fast") || !strings.Contains(out, `{"q": 2}`) || strings.Contains(out, "bad") {
		t.Fatalf("list:\n%s", out)
	}
	h.ok(t, "plugin", "preset", "delete", first.ID)
	out, _ = h.ok(t, append([]string{"plugin", "preset", "list", "-o", "json"}, scope...)...)
	if got := decodeJSON[[]labelhub.Preset](t, out); len(got) != 0 {
		t.Fatalf("after delete: %s", out)
	}
}
