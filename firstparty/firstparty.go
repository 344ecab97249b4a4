package firstparty

import (
	"slices"
	"strings"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/plugin"
)

// Plugin is one first-party plugin.
type Plugin struct {
	// Name is its short name: `labelhub plugin serve NAME`, and the key
	// of its row in the hub (labelhub.Plugin.Builtin).
	Name string
	// Title is the plugin's name as organisations see it ("COCO").
	Title         string
	Description   string
	DefaultConfig string // Config JSON text, may be ""
	Type          labelhub.PluginType
	// Handler makes the handler of one process.
	Handler func() plugin.Handler
}

// All returns the first-party plugins, sorted by name.
func All() []Plugin {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b Plugin) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup finds a first-party plugin by name.
func Lookup(name string) (Plugin, bool) {
	for _, p := range list {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}
