package main

// labelhub export: stream a project's export (formats.md §3) to a file or
// stdout, with a progress bar on a terminal.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, exportCommand)
}

type exportFlags struct {
	project, format, stage, out   string
	updatedAfter, updatedBefore   string
	batches                       []string
	history, metadata, noProgress bool
	urlTTL                        time.Duration
}

func exportCommand() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export --project ID [flags]",
		Short: "Export a project's assets with their tasks as JSON or NDJSON (formats.md §3)",
		Long: `Export a project: one object per asset with its URL (signed for private
buckets), metadata, batches and task (stage, answer, stage history). The hub
streams it and the command writes it as it comes, so any size fits in little
memory. -o FILE writes a file (replaced only when the export is complete);
without it the export goes to stdout.

On a terminal, a progress bar on stderr counts the objects against the
total the hub announces. If the hub cannot finish the export, the command
fails and writes no file.`,
		Example: `  labelhub export --project 06h… -o export.json
  labelhub export --project 06h… --format ndjson --stage complete --batch week-1 -o done.ndjson
  labelhub export --project 06h… --updated-after 2026-11-01T00:00:00Z --history=false --metadata | jq .`,
		Args: cobra.NoArgs,
	}
	o := addClientFlags(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&f.project, "project", "", "the project `ID` (required)")
	fl.StringVar(&f.format, "format", labelhub.ExportJSON, "json (one array) or ndjson (one object a line)")
	fl.StringVar(&f.stage, "stage", "", "only tasks in the stage with this `stageId`")
	fl.StringArrayVar(&f.batches, "batch", nil, "only assets in this batch (`ID or name`; repeatable: any of them)")
	fl.StringVar(&f.updatedAfter, "updated-after", "", "only tasks changed after this RFC 3339 `time`")
	fl.StringVar(&f.updatedBefore, "updated-before", "", "only tasks changed before this RFC 3339 `time`")
	fl.BoolVar(&f.history, "history", true, "include each task's stage history")
	fl.BoolVar(&f.metadata, "metadata", false, "include the items' createdAt/updatedAt/createdBy/updatedBy")
	fl.DurationVar(&f.urlTTL, "url-ttl", 0, "lifetime of signed asset URLs (default 1h, at most 168h)")
	fl.StringVarP(&f.out, "output", "o", "", "write the export to `FILE` (default stdout)")
	fl.BoolVar(&f.noProgress, "no-progress", false, "show no progress on stderr")
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"json", "ndjson"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("output")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		return runExport(cmd, c, f)
	})
	return cmd
}

func runExport(cmd *cobra.Command, c *client.Client, f exportFlags) error {
	opts := client.ExportOptions{Format: f.format, Batches: f.batches, Stage: f.stage, Metadata: f.metadata, URLTTL: f.urlTTL}
	if f.format != labelhub.ExportJSON && f.format != labelhub.ExportNDJSON {
		return fmt.Errorf("--format must be json or ndjson, not %q", f.format)
	}
	for _, tf := range []struct {
		flag, v string
		to      *time.Time
	}{{"--updated-after", f.updatedAfter, &opts.UpdatedAfter}, {"--updated-before", f.updatedBefore, &opts.UpdatedBefore}} {
		if tf.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, tf.v)
		if err != nil {
			return fmt.Errorf("%s must be an RFC 3339 time such as 2026-11-22T12:00:00Z, not %q", tf.flag, tf.v)
		}
		*tf.to = t
	}
	if f.urlTTL != 0 && (f.urlTTL < time.Second || f.urlTTL > labelhub.MaxSignedURLTTL*time.Second) {
		return fmt.Errorf("--url-ttl must be between 1s and 168h, not %s", f.urlTTL)
	}
	if !f.history {
		opts.History = &f.history
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	// The export may take longer than --timeout allows one request.
	ec := *c
	hc := *c.HTTPClient
	hc.Timeout = 0
	ec.HTTPClient = &hc

	var dst io.Writer = cmd.OutOrStdout()
	var tmp *os.File
	if f.out != "" && f.out != "-" {
		var err error
		if tmp, err = os.CreateTemp(filepath.Dir(f.out), "."+filepath.Base(f.out)+".*.part"); err != nil {
			return err
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		dst = tmp
	}
	bw := bufio.NewWriterSize(dst, 256<<10)
	bar := newExportBar(cmd, f.noProgress)
	opts.Progress = bar.set
	start := time.Now()
	bar.start()
	total, err := ec.Export(ctx, f.project, opts, bw)
	bar.stop()
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), f.out); err != nil {
			return err
		}
		tmp = nil
		fmt.Fprintf(cmd.ErrOrStderr(), "exported %d assets to %s in %s\n", total, f.out, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// exportBar is the progress bar of an export on a terminal's stderr (the
// terminal check of the import progress); elsewhere it shows nothing.
type exportBar struct {
	w     io.Writer
	on    bool
	began time.Time

	mu          sync.Mutex
	done, total int64
	stopc, exit chan struct{}
}

func newExportBar(cmd *cobra.Command, off bool) *exportBar {
	p := newProgress(cmd, off, 0)
	return &exportBar{w: p.w, on: p.tty && !off, total: -1, stopc: make(chan struct{}), exit: make(chan struct{})}
}

func (b *exportBar) set(done, total int64) {
	b.mu.Lock()
	b.done, b.total = done, total
	b.mu.Unlock()
}

func (b *exportBar) start() {
	b.began = time.Now()
	if !b.on {
		close(b.exit)
		return
	}
	go func() {
		defer close(b.exit)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stopc:
				fmt.Fprintf(b.w, "\r\033[K%s\n", b.line())
				return
			case <-t.C:
				fmt.Fprintf(b.w, "\r\033[K%s", b.line())
			}
		}
	}()
}

func (b *exportBar) stop() {
	close(b.stopc)
	<-b.exit
}

func (b *exportBar) line() string {
	b.mu.Lock()
	done, total := b.done, b.total
	b.mu.Unlock()
	var s strings.Builder
	if total > 0 {
		const width = 24
		pct := float64(done) / float64(total) * 100
		fill := min(width, int(pct/100*width))
		fmt.Fprintf(&s, "[%s%s] %3.0f%% %d / %d assets", strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, done, total)
	} else {
		fmt.Fprintf(&s, "%d assets", done)
	}
	if secs := time.Since(b.began).Seconds(); secs > 0 {
		fmt.Fprintf(&s, " · %.0f assets/s", float64(done)/secs)
	}
	return s.String()
}
