// Command minimal-file-explorer is a File Explorer plugin that lists a
// folder on the machine it runs on: the folder named by "root" in its
// Config JSON. The hub's file browser shows the run's folders and files
// and pages through big folders with scrollToken (formats.md §4).
//
// Register it and start it:
//
//	labelhub plugin create --name "Local files" --type file-explorer --default-config '{"root":"/srv/images","pageSize":200}'
//	LABELHUB_SERVER=http://127.0.0.1:8080 LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… go run ./examples/minimal-file-explorer
//
// Then list a folder: labelhub plugin run PLUGIN_ID --project PROJECT_ID --param folder=cats/ --wait.
// It only lists; importing (upload=true) is refused.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/labelhub/labelhub/plugin"
)

// config is the plugin's Config JSON.
type config struct {
	// Root is the folder whose contents the plugin shows; nothing outside
	// it is reachable (symbolic links that leave it are refused too).
	Root string `json:"root"`
	// PageSize is how many entries one listing answers [100].
	PageSize int `json:"pageSize"`
}

const maxPageSize = 1000

func list(ctx context.Context, r *plugin.FileExplorerRequest) (plugin.FileExplorerResult, error) {
	cfg := config{PageSize: 100}
	if err := r.DecodeConfig(&cfg); err != nil {
		return plugin.FileExplorerResult{}, err
	}
	if cfg.Root == "" {
		return plugin.FileExplorerResult{}, errors.New(`the Config JSON needs "root": the folder to list`)
	}
	if cfg.PageSize < 1 || cfg.PageSize > maxPageSize {
		return plugin.FileExplorerResult{}, fmt.Errorf(`"pageSize" must be between 1 and %d`, maxPageSize)
	}
	if r.Upload {
		return plugin.FileExplorerResult{}, errors.New("this plugin only lists folders; importing is not supported")
	}
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return plugin.FileExplorerResult{}, fmt.Errorf("the root folder: %w", err)
	}
	defer root.Close()
	r.Log.Info("listing", "folder", r.Folder, "scrollToken", r.ScrollToken != "")
	return listPage(root.FS(), r.Folder, r.ScrollToken, cfg.PageSize)
}

// cleanFolder checks a folder parameter: "" for the root, else a relative
// path of plain names ending with "/" (a missing "/" is added).
func cleanFolder(folder string) (string, error) {
	if folder == "" || folder == "/" {
		return "", nil
	}
	if !utf8.ValidString(folder) || len(folder) > 4096 || strings.ContainsAny(folder, "\\\x00") {
		return "", fmt.Errorf("folder %q is not a folder path", folder)
	}
	folder = strings.TrimSuffix(folder, "/")
	if !fs.ValidPath(folder) || folder == "." {
		return "", fmt.Errorf("folder %q must be a relative path like cats/2024/, without '.' or '..'", folder)
	}
	return folder + "/", nil
}

// The scroll token is the last name of the previous page, base64url: the
// next page starts after it, so entries added meanwhile are not skipped
// twice and none repeats.
func encodeToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || strings.ContainsAny(string(b), "/\x00") {
		return "", fmt.Errorf("scrollToken %q was not made by this plugin", tok)
	}
	return string(b), nil
}

// listPage lists one page of folder in fsys: names after the token's, in
// byte order, folders as "folder/name/" and files as "folder/name".
func listPage(fsys fs.FS, folder, token string, pageSize int) (plugin.FileExplorerResult, error) {
	res := plugin.FileExplorerResult{Folders: []string{}, Files: []string{}}
	folder, err := cleanFolder(folder)
	if err != nil {
		return res, err
	}
	after, err := decodeToken(token)
	if err != nil {
		return res, err
	}
	dir := strings.TrimSuffix(folder, "/")
	if dir == "" {
		dir = "."
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return res, fmt.Errorf("folder %q: %w", folder, errors.Unwrap(err))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	n := 0
	for i, e := range entries {
		if e.Name() <= after {
			continue
		}
		if n == pageSize {
			tok := encodeToken(entries[i-1].Name())
			res.ScrollToken = &tok
			break
		}
		n++
		if e.IsDir() {
			res.Folders = append(res.Folders, folder+e.Name()+"/")
		} else {
			res.Files = append(res.Files, folder+e.Name())
		}
	}
	return res, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Host, ID and Secret come from LABELHUB_SERVER, LABELHUB_PLUGIN_ID and
	// LABELHUB_PLUGIN_SECRET.
	if err := plugin.Run(ctx, plugin.Config{Concurrency: 4}, plugin.FileExplorerFunc(list)); err != nil {
		slog.Error("plugin stopped", "err", err)
		os.Exit(1)
	}
}
