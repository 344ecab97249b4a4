package plugin_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/labelhub/labelhub/plugin"
)

// The SDK must stay light: a plugin author's build pulls the standard
// library, coder/websocket, pluginproto and the domain types of the root
// package (itself standard library only), nothing else.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"github.com/labelhub/labelhub/plugin", "github.com/labelhub/labelhub/pluginproto", "github.com/coder/websocket"}
	for _, dep := range strings.Fields(string(out)) {
		ok := dep == "github.com/labelhub/labelhub"
		for _, a := range allowed {
			if dep == a || strings.HasPrefix(dep, a+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("the SDK depends on %s", dep)
		}
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("LABELHUB_SERVER", "")
	t.Setenv("LABELHUB_PLUGIN_ID", "")
	t.Setenv("LABELHUB_PLUGIN_SECRET", "")
	err := plugin.Run(context.Background(), plugin.Config{}, plugin.HandlerFunc(nil))
	if err == nil || !strings.Contains(err.Error(), "LABELHUB_SERVER") || !strings.Contains(err.Error(), "LABELHUB_PLUGIN_SECRET") {
		t.Fatalf("Run without config = %v", err)
	}
	t.Setenv("LABELHUB_SERVER", "ftp://x")
	t.Setenv("LABELHUB_PLUGIN_ID", "id")
	t.Setenv("LABELHUB_PLUGIN_SECRET", "s")
	if err := plugin.Run(context.Background(), plugin.Config{}, plugin.HandlerFunc(nil)); err == nil || !strings.Contains(err.Error(), "ftp://x") {
		t.Fatalf("Run with a bad host from the environment = %v", err)
	}
}
