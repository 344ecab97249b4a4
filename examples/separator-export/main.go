// Command separator-export is a custom export plugin: it streams the run's
// export (r.Assets: the project's tasks with the run's filters, one asset
// at a time, never the whole export in memory) into a zip holding one JSON
// file per asset, named from the asset's externalId with every "/"
// replaced by a separator, and a manifest.json. The separator is the key
// "separator" of the Config JSON (default "_"): with {"separator": "--"}
// the asset "street/cam1.jpg" becomes "street--cam1.jpg.json".
//
// Register it and start it:
//
//	labelhub plugin create --name "Separator export" --type export --default-config '{"separator":"_"}'
//	LABELHUB_SERVER=http://127.0.0.1:8080 LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… go run ./examples/separator-export
//
// Run it from a project's Plugins tab in the web UI (with the export's
// filters) or with labelhub plugin run PLUGIN_ID --project PROJECT_ID, and
// fetch the zip from the session page or with labelhub run download RUN_ID.
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
	"strings"
	"syscall"
	"unicode"

	"github.com/labelhub/labelhub/plugin"
)

// config is the plugin's Config JSON.
type config struct {
	Separator string `json:"separator"`
}

// manifest is manifest.json: what the zip holds.
type manifest struct {
	ProjectID string   `json:"projectId"`
	Project   string   `json:"project"`
	Session   string   `json:"session"`
	NumTasks  int64    `json:"numTasks"`
	Separator string   `json:"separator"`
	Files     []string `json:"files"`
}

func export(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
	cfg := config{Separator: "_"}
	if err := r.DecodeConfig(&cfg); err != nil {
		return plugin.ExportResult{}, err
	}
	if cfg.Separator == "" || strings.ContainsAny(cfg.Separator, `/\`) {
		return plugin.ExportResult{}, fmt.Errorf("Config JSON: separator must be a non-empty string without / or \\, not %q", cfg.Separator)
	}
	proj, err := r.Project(ctx)
	if err != nil {
		return plugin.ExportResult{}, err
	}
	r.Log.Info("export started", "separator", cfg.Separator, "numTasks", r.NumTasks)
	// The zip is written into a pipe while the SDK uploads the other end.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeZip(ctx, pw, r, proj.Name, cfg.Separator)) }()
	return plugin.ExportResult{FileName: zipName(proj.Name), Reader: pr}, nil
}

// zipName is the zip's name: the project's name with anything but
// letters, digits, spaces, '-' and '_' turned into '-', then "-export.zip".
func zipName(project string) string {
	name := strings.Map(func(c rune) rune {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == ' ' || c == '-' || c == '_' {
			return c
		}
		return '-'
	}, strings.TrimSpace(project))
	if name == "" {
		name = "project"
	}
	return name + "-export.zip"
}

// FileName maps an externalId to the name of its file in the zip.
func FileName(externalID, sep string) string {
	return strings.ReplaceAll(externalID, "/", sep) + ".json"
}

func writeZip(ctx context.Context, w io.Writer, r *plugin.ExportRequest, project, sep string) error {
	zw := zip.NewWriter(w)
	m := manifest{ProjectID: r.ProjectID, Project: project, Session: r.Session, NumTasks: r.NumTasks, Separator: sep, Files: []string{}}
	seen := map[string]bool{}
	for a, err := range r.Assets(ctx) {
		if err != nil {
			return err
		}
		name := FileName(a.ExternalID, sep)
		if seen[name] {
			// Two externalIds that differ only by "/" and the separator.
			name = FileName(a.ExternalID+sep+a.AssetID, sep)
		}
		seen[name] = true
		f, err := zw.Create(name)
		if err != nil {
			return err
		}
		if err := json.NewEncoder(f).Encode(a); err != nil {
			return err
		}
		m.Files = append(m.Files, name)
		if n := int64(len(m.Files)); n%100 == 0 || n == r.NumTasks {
			r.Progress(n, max(r.NumTasks, n), fmt.Sprintf("%d assets written", n))
		}
	}
	f, err := zw.Create("manifest.json")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	r.Log.Info("export finished", "files", len(m.Files))
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
