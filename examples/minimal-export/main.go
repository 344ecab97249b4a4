// Command minimal-export is the smallest useful labelhub plugin: an export
// plugin that reads the key "prefix" from its Config JSON, logs, reports
// progress and makes a small zip, which the SDK uploads to the hub over
// HTTP (streamed, never through the socket) before the run is done.
//
// Register it and start it:
//
//	labelhub plugin create --name "Minimal export" --type export
//	LABELHUB_SERVER=http://127.0.0.1:8080 LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… go run ./examples/minimal-export
//
// Then run it: labelhub plugin run PLUGIN_ID --project PROJECT_ID, and
// fetch the zip: labelhub run download RUN_ID.
package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	name := cfg.Prefix + "-" + r.ProjectID + ".zip"
	r.Log.Info("export finished", "file", name)
	// The zip is written into a pipe while the SDK uploads the other end:
	// however big an export gets, it is never held in memory.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeZip(pw, r)) }()
	return plugin.ExportResult{FileName: name, Reader: pr, Info: map[string]any{"steps": steps}}, nil
}

// writeZip writes the export: export.json describing the run, and a README.
func writeZip(w io.Writer, r *plugin.ExportRequest) error {
	zw := zip.NewWriter(w)
	f, err := zw.Create("export.json")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"projectId": r.ProjectID, "session": r.Session, "stage": r.Stage, "assets": []any{}}); err != nil {
		return err
	}
	f, err = zw.Create("README.txt")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, "Made by the minimal-export example plugin.\n"); err != nil {
		return err
	}
	return zw.Close()
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
