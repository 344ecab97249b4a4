// Command s3-file-explorer is a custom File Explorer plugin: it lists a
// bucket of its own (named by a bucket URL, with credentials from its own
// environment) and imports the bucket's asset files into the run's
// project with the SDK's SubmitAssets, skipping those already there.
//
// The bucket URL comes from "bucketURL" in the Config JSON, else from
// LABELHUB_BUCKET_URL: s3://bucket/prefix, with
// ?endpoint=http://127.0.0.1:9000&region=us-east-1 for MinIO and other
// S3-compatible stores, gs://bucket/prefix or azblob://container/prefix
// (package plugin/bucketlist). Folders and file names are relative to the
// prefix. For the hub to read the files, the organisation needs a storage
// integration of the same bucket, named by the run's integrationId (the
// run token may import through that integration only).
//
//	labelhub plugin create --name "Our bucket" --type file-explorer --default-config '{"bucketURL":"s3://photos/2024?region=eu-west-1"}'
//	AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… LABELHUB_SERVER=http://127.0.0.1:8080 \
//	  LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… go run ./examples/s3-file-explorer
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/plugin/bucketlist"
)

// config is the plugin's Config JSON.
type config struct {
	BucketURL string `json:"bucketURL"` // [LABELHUB_BUCKET_URL]
	PageSize  int    `json:"pageSize"`  // entries per listing [100]
}

// summary is an import run's result summary.
type summary struct {
	ImportID     string                 `json:"importId"`
	Listed       int64                  `json:"listed"`
	NotAssets    int64                  `json:"notAssets"`
	Imported     int64                  `json:"imported"`
	AlreadyThere int64                  `json:"alreadyThere"`
	Invalid      int64                  `json:"invalid"`
	Errors       []plugin.ImportProblem `json:"errors"`
}

func explore(ctx context.Context, r *plugin.FileExplorerRequest) (plugin.FileExplorerResult, error) {
	cfg := config{PageSize: bucketlist.DefaultPageSize, BucketURL: os.Getenv("LABELHUB_BUCKET_URL")}
	if err := r.DecodeConfig(&cfg); err != nil {
		return plugin.FileExplorerResult{}, err
	}
	if cfg.BucketURL == "" {
		return plugin.FileExplorerResult{}, errors.New(`no bucket: set "bucketURL" in the Config JSON or LABELHUB_BUCKET_URL`)
	}
	b, err := bucketlist.Open(ctx, cfg.BucketURL)
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	defer b.Close()
	if !r.Upload {
		return list(ctx, b, r, cfg.PageSize)
	}
	if r.IntegrationID == "" {
		return plugin.FileExplorerResult{}, errors.New("params.integrationId is required to import: the storage integration through which the hub reads this bucket")
	}
	var sum summary
	items := assetItems(ctx, b, r, &sum)
	res, err := r.SubmitAssets(ctx, plugin.SubmitOptions{StorageID: r.IntegrationID, CreateBatches: len(r.Batches) > 0}, items)
	sum.ImportID, sum.Imported, sum.AlreadyThere, sum.Invalid, sum.Errors = res.ImportID, res.Counts.Imported, res.Counts.Skipped, res.Counts.Invalid, res.Errors
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	r.Log.Info(fmt.Sprintf("imported %d new assets; %d were there already, %d files are not assets", sum.Imported, sum.AlreadyThere, sum.NotAssets))
	b2, err := json.Marshal(sum)
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	return plugin.FileExplorerResult{Summary: b2}, nil
}

// list answers a listing run: one page of one folder level.
func list(ctx context.Context, b *bucketlist.Bucket, r *plugin.FileExplorerRequest, pageSize int) (plugin.FileExplorerResult, error) {
	f, err := b.List(ctx, r.Folder, r.ScrollToken, pageSize)
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	res := plugin.FileExplorerResult{Folders: f.Folders}
	for _, o := range f.Files {
		res.Files = append(res.Files, o.Name)
		res.Items = append(res.Items, plugin.FileItem{Key: o.Name, Size: o.Size, LastModified: o.ModTime,
			AssetType: string(labelhub.AssetTypeOf(o.Key, ""))})
	}
	if f.NextPageToken != "" {
		res.ScrollToken = &f.NextPageToken
	}
	return res, nil
}

// assetItems yields the import's items: the selected files, or the asset
// files of the folder (with recursive, of its sub-folders too), each with
// its URL as data and its key as externalId. It counts what it lists.
func assetItems(ctx context.Context, b *bucketlist.Bucket, r *plugin.FileExplorerRequest, sum *summary) iter.Seq2[plugin.ImportItem, error] {
	return func(yield func(plugin.ImportItem, error) bool) {
		emit := func(key string) bool {
			sum.Listed++
			if labelhub.AssetTypeOf(key, "") == "" {
				sum.NotAssets++
				return true
			}
			if sum.Listed%1000 == 0 {
				r.Log.Info("listing", "listed", sum.Listed)
			}
			return yield(plugin.ImportItem{Data: b.URL(key), ExternalID: key}, nil)
		}
		switch {
		case len(r.Files) > 0:
			for _, name := range r.Files {
				if !emit(b.Prefix() + name) {
					return
				}
			}
		case r.Recursive:
			for o, err := range b.Walk(ctx, r.Folder) {
				if err != nil {
					yield(plugin.ImportItem{}, err)
					return
				}
				if !emit(o.Key) {
					return
				}
			}
		default:
			tok := ""
			for {
				f, err := b.List(ctx, r.Folder, tok, bucketlist.MaxPageSize)
				if err != nil {
					yield(plugin.ImportItem{}, err)
					return
				}
				for _, o := range f.Files {
					if !emit(o.Key) {
						return
					}
				}
				if tok = f.NextPageToken; tok == "" {
					return
				}
			}
		}
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := plugin.Run(ctx, plugin.Config{}, plugin.FileExplorerFunc(explore)); err != nil {
		slog.Error("s3-file-explorer stopped", "err", err)
		os.Exit(1)
	}
}
