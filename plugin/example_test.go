package plugin_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/labelhub/labelhub/plugin"
)

// A File Explorer plugin that lists a fixed folder. Host, ID and Secret
// come from LABELHUB_SERVER, LABELHUB_PLUGIN_ID and LABELHUB_PLUGIN_SECRET.
func ExampleFileExplorerFunc() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	list := func(ctx context.Context, r *plugin.FileExplorerRequest) (plugin.FileExplorerResult, error) {
		r.Log.Info("listing", "bucket", r.Bucket, "folder", r.Folder)
		return plugin.FileExplorerResult{Folders: []string{r.Folder + "2024/"}, Files: []string{r.Folder + "cat.jpg"}}, nil
	}
	if err := plugin.Run(ctx, plugin.Config{Concurrency: 4}, plugin.FileExplorerFunc(list)); err != nil {
		log.Fatal(err)
	}
}

// A generic handler reads its Config JSON with DecodeConfig and reports
// progress.
func ExampleHandlerFunc() {
	h := plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		var cfg struct {
			Threshold float64 `json:"threshold"`
		}
		if err := r.DecodeConfig(&cfg); err != nil {
			return nil, err
		}
		for i := range 10 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.Progress(int64(i+1), 10, "working")
		}
		return map[string]any{"threshold": cfg.Threshold}, nil
	})
	_ = plugin.Run(context.Background(), plugin.Config{}, h)
}
