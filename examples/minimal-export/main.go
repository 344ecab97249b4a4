// Command minimal-export is the smallest useful labelhub plugin: an export
// plugin that reads the key "prefix" from its Config JSON, logs, reports
// progress and returns the name of the file it would have made.
//
// Register it and start it:
//
//	labelhub plugin create --name "Minimal export" --type export
//	LABELHUB_SERVER=http://127.0.0.1:8080 LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… go run ./examples/minimal-export
//
// Then run it: labelhub plugin run PLUGIN_ID --project PROJECT_ID.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/labelhub/labelhub/plugin"
)

// config is the plugin's Config JSON.
type config struct {
	Prefix string `json:"prefix"`
}

func export(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
	cfg := config{Prefix: "export"}
	if err := r.DecodeConfig(&cfg); err != nil {
		return plugin.ExportResult{}, err
	}
	r.Log.Info("export started", "prefix", cfg.Prefix, "project", r.ProjectID, "stage", r.Stage)
	const steps = 3
	for i := range steps {
		if err := ctx.Err(); err != nil { // cancelled
			return plugin.ExportResult{}, err
		}
		r.Progress(int64(i+1), steps, fmt.Sprintf("step %d of %d", i+1, steps))
	}
	name := cfg.Prefix + "-" + r.ProjectID + ".json"
	r.Log.Info("export finished", "file", name)
	return plugin.ExportResult{FileName: name, Info: map[string]any{"steps": steps}}, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Host, ID and Secret come from LABELHUB_SERVER, LABELHUB_PLUGIN_ID and
	// LABELHUB_PLUGIN_SECRET.
	if err := plugin.Run(ctx, plugin.Config{}, plugin.ExportFunc(export)); err != nil {
		slog.Error("plugin stopped", "err", err)
		os.Exit(1)
	}
}
