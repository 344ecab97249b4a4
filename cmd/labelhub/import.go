package main

// labelhub import, labels import and asset: send import files, follow the
// import with a progress display, and look at the assets.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, importCommand, labelsCommand, assetCommand)
}

// Timing of the progress display; tests shorten them.
var (
	importPollEvery   = 250 * time.Millisecond // GET /imports/{id} while it runs
	progressLineEvery = 3 * time.Second        // a progress line when stderr is not a terminal
)

// shownErrors is how many errors the summary lists.
const shownErrors = 20

type importFlags struct {
	project, storage, onDuplicate, errorsOut string
	batches                                  []string
	createBatches, atomic, dryRun            bool
	noProgress                               bool
}

func importCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import FILE --project ID [flags]",
		Short: "Import assets from a JSON or NDJSON file (formats.md §1); status, resume, rollback",
		Long: `Import the assets a file describes into a project. FILE is a JSON array of
items, NDJSON (one item a line) or {"assets": [...]}; "-" reads stdin. The
file is streamed to the hub, never held in memory, and the hub imports it as
a job that survives restarts.

On a terminal, a progress bar on stderr shows the bytes uploaded and the items
imported; otherwise a progress line is printed every few seconds (--no-progress
turns both off). At the end come the counts and the first 20 errors, like

  item 12 (line 13) [12].metadata.frameRate: must be a number

--errors-out FILE writes all of them as NDJSON. The exit status is 1 when any
item was invalid or the import failed.`,
		Example: `  labelhub import assets.ndjson --project prj_… --storage sto_… --batch week-1 --create-batches
  labelhub import assets.json --project prj_… --on-duplicate skip --errors-out errors.ndjson
  generate-items | labelhub import - --project prj_… --dry-run
  labelhub import status imp_…`,
		Args: cobra.ExactArgs(1),
	}
	o := addClientFlags(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&f.project, "project", "", "the project `ID` (required)")
	fl.StringVar(&f.storage, "storage", "", "the storage integration `ID` whose bucket the item URLs point into")
	fl.StringArrayVar(&f.batches, "batch", nil, "add every item to this batch (`NAME` or id; repeatable)")
	fl.BoolVar(&f.createBatches, "create-batches", false, "create batches that do not exist yet (else such items are invalid)")
	fl.StringVar(&f.onDuplicate, "on-duplicate", "", "an item whose externalId the project has: allow (default), skip, update or error")
	fl.BoolVar(&f.atomic, "atomic", false, "write nothing when any item is invalid")
	fl.BoolVar(&f.dryRun, "dry-run", false, "check and count the items; write nothing")
	fl.StringVar(&f.errorsOut, "errors-out", "", "write all errors to `FILE` as NDJSON")
	fl.BoolVar(&f.noProgress, "no-progress", false, "show no progress on stderr")
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	_ = cmd.RegisterFlagCompletionFunc("on-duplicate", cobra.FixedCompletions([]string{"allow", "skip", "update", "error"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("errors-out")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		return runImport(cmd, o, c, args[0], f)
	})
	cmd.AddCommand(importStatusCommand(o), importResumeCommand(o), importRollbackCommand(o))
	return cmd
}

// openInput opens FILE, or stdin for "-", and says its size when known.
func openInput(cmd *cobra.Command, name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(cmd.InOrStdin()), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, nil
}

func runImport(cmd *cobra.Command, o *clientOptions, c *client.Client, file string, f importFlags) error {
	switch f.onDuplicate {
	case "", labelhub.DuplicateAllow, labelhub.DuplicateSkip, labelhub.DuplicateUpdate, labelhub.DuplicateError:
	default:
		return fmt.Errorf("--on-duplicate must be allow, skip, update or error, not %q", f.onDuplicate)
	}
	in, size, err := openInput(cmd, file)
	if err != nil {
		return err
	}
	defer in.Close()
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	// The upload may take longer than --timeout allows one request.
	uc := *c
	hc := *c.HTTPClient
	hc.Timeout = 0
	uc.HTTPClient = &hc

	pr := newProgress(cmd, f.noProgress, size)
	start := time.Now()
	pr.start()
	st, err := uc.Import(ctx, f.project, &countingReader{r: in, n: &pr.bytes}, client.ImportOptions{
		StorageID: f.storage, Batches: f.batches, CreateBatches: f.createBatches, OnDuplicate: f.onDuplicate,
		Atomic: f.atomic, DryRun: f.dryRun, Size: size,
	})
	if err != nil {
		pr.stop()
		return err
	}
	pr.uploaded(st)
	st, err = follow(ctx, c, st, pr)
	pr.stop()
	if err != nil {
		return err
	}
	return finishImport(cmd, o, c, st, time.Since(start), f.errorsOut)
}

// follow polls an import until it is done, feeding the progress display.
func follow(ctx context.Context, c *client.Client, st client.ImportStatus, pr *progress) (client.ImportStatus, error) {
	for !st.Done() {
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("stopped following import %s (it goes on; see labelhub import status %s): %w", st.ID, st.ID, ctx.Err())
		case <-time.After(importPollEvery):
		}
		next, err := c.GetImport(ctx, st.ID)
		if err != nil {
			return st, err
		}
		st = next
		pr.update(st)
	}
	return st, nil
}

// finishImport prints the summary and the first errors, writes
// --errors-out, and fails when an item was invalid or the import failed.
func finishImport(cmd *cobra.Command, o *clientOptions, c *client.Client, st client.ImportStatus, took time.Duration, errorsOut string) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	first, err := c.ImportErrors(ctx, st.ID, labelhub.PageRequest{Limit: shownErrors})
	if err != nil {
		return err
	}
	if errorsOut != "" {
		if err := writeImportErrors(ctx, c, st.ID, errorsOut); err != nil {
			return err
		}
	}
	w := cmd.OutOrStdout()
	if o.jsonOut() {
		if err := writeJSON(w, st); err != nil {
			return err
		}
	} else {
		printImportSummary(w, st, took, first.Items)
	}
	return importOutcome(st)
}

func importOutcome(st client.ImportStatus) error {
	switch {
	case st.State == labelhub.ImportFailed:
		return fmt.Errorf("import %s failed: %s", st.ID, st.Error)
	case st.State != labelhub.ImportSucceeded:
		return fmt.Errorf("import %s is %s", st.ID, st.State)
	case st.Counts.Invalid > 0:
		return fmt.Errorf("%s invalid", plural(st.Counts.Invalid, "item was", "items were"))
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

func printImportSummary(w io.Writer, st client.ImportStatus, took time.Duration, first []labelhub.ImportError) {
	what := "Import"
	if st.Kind == labelhub.ImportKindLabels {
		what = "Label import"
	}
	fmt.Fprintf(w, "%s %s %s", what, st.ID, st.State)
	if took > 0 {
		fmt.Fprintf(w, " in %s", took.Round(time.Millisecond))
	}
	if st.Options.DryRun {
		fmt.Fprint(w, " (dry run: nothing was written)")
	}
	fmt.Fprintln(w)
	if st.Error != "" {
		fmt.Fprintf(w, "  error:     %s\n", st.Error)
	}
	cn := st.Counts
	fmt.Fprintf(w, "  received:  %d\n", cn.Received)
	if st.Options.DryRun {
		fmt.Fprintf(w, "  valid:     %d\n", cn.Valid)
	} else {
		fmt.Fprintf(w, "  imported:  %d\n", cn.Imported)
		if cn.Updated > 0 || st.Options.OnDuplicate == labelhub.DuplicateUpdate {
			fmt.Fprintf(w, "  updated:   %d\n", cn.Updated)
		}
		fmt.Fprintf(w, "  skipped:   %d\n", cn.Skipped)
	}
	fmt.Fprintf(w, "  invalid:   %d\n", cn.Invalid)
	if st.Options.Folder != nil {
		printFolderCounts(w, st)
	} else if st.Kind != labelhub.ImportKindLabels {
		fmt.Fprintf(w, "  bytes:     %s\n", humanBytes(st.Bytes))
	}
	if took > 0 {
		fmt.Fprintf(w, "  duration:  %s\n", took.Round(time.Millisecond))
		fmt.Fprintf(w, "  rate:      %.0f assets/s\n", float64(cn.Received)/took.Seconds())
	}
	if len(first) == 0 {
		return
	}
	fmt.Fprintf(w, "Errors (%d):\n", cn.Invalid)
	for _, e := range first {
		fmt.Fprintf(w, "  %s\n", errorLine(e))
	}
	if st.ErrorsStored > int64(len(first)) {
		fmt.Fprintf(w, "  … and %d more (--errors-out FILE writes them all)\n", st.ErrorsStored-int64(len(first)))
	}
}

// errorLine is one error as a person reads it:
// "item 12 (line 13) [12].metadata.frameRate: must be a number".
func errorLine(e labelhub.ImportError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "item %d", e.Index)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// writeImportErrors writes every error of an import to path as NDJSON.
func writeImportErrors(ctx context.Context, c *client.Client, id, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for e, err := range client.All(ctx, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.ImportError], error) {
		p.Limit = listPageSize
		return c.ImportErrors(ctx, id, p)
	}) {
		if err != nil {
			f.Close()
			return err
		}
		if err := enc.Encode(e); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--errors-out: %w", err)
	}
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress shows an import's progress on stderr: a bar redrawn in place on
// a terminal, a line every progressLineEvery otherwise.
type progress struct {
	w        io.Writer
	off, tty bool
	folder   bool // a folder import: no upload, objects listed
	total    int64
	bytes    atomic.Int64
	began    time.Time

	mu     sync.Mutex
	st     client.ImportStatus
	upDone bool
	stopc  chan struct{}
	done   chan struct{}
	drawn  bool
}

func newProgress(cmd *cobra.Command, off bool, total int64) *progress {
	w := cmd.ErrOrStderr()
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, off: off, tty: tty, total: total, stopc: make(chan struct{}), done: make(chan struct{})}
}

func (p *progress) start() {
	p.began = time.Now()
	if p.off {
		close(p.done)
		return
	}
	every := progressLineEvery
	if p.tty {
		every = 200 * time.Millisecond
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stopc:
				p.draw(true)
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
}

func (p *progress) uploaded(st client.ImportStatus) {
	p.mu.Lock()
	p.upDone = true
	p.st = st
	p.mu.Unlock()
}

func (p *progress) update(st client.ImportStatus) {
	p.mu.Lock()
	p.st = st
	p.mu.Unlock()
}

func (p *progress) stop() {
	select {
	case <-p.stopc:
	default:
		close(p.stopc)
	}
	<-p.done
}

func (p *progress) line() string {
	p.mu.Lock()
	st, upDone := p.st, p.upDone
	p.mu.Unlock()
	if p.folder {
		return folderLine(st, time.Since(p.began), p.tty)
	}
	n := p.bytes.Load()
	var b strings.Builder
	if p.total > 0 {
		pct := float64(n) / float64(p.total) * 100
		if p.tty {
			const width = 24
			fill := int(pct / 100 * width)
			b.WriteString("[" + strings.Repeat("#", fill) + strings.Repeat(".", width-fill) + "] ")
		}
		fmt.Fprintf(&b, "%3.0f%% %s / %s", pct, humanBytes(n), humanBytes(p.total))
	} else {
		fmt.Fprintf(&b, "%s uploaded", humanBytes(n))
	}
	if !upDone {
		b.WriteString(", uploading")
	}
	cn := st.Counts
	fmt.Fprintf(&b, " · %d items, %d imported, %d invalid", cn.Received, cn.Imported, cn.Invalid)
	if secs := time.Since(p.began).Seconds(); secs > 0 {
		fmt.Fprintf(&b, " · %.0f assets/s", float64(cn.Received)/secs)
	}
	return b.String()
}

func (p *progress) draw(final bool) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", p.line())
		if final {
			fmt.Fprintln(p.w)
		}
		return
	}
	// Without a terminal a line is printed per tick; a job done before
	// the first tick still gets one line, its final state.
	if !final || !p.drawn {
		fmt.Fprintln(p.w, p.line())
		p.drawn = true
	}
}

func importStatusCommand(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status ID",
		Short: "Show an import: its state, counts and first errors",
		Args:  cobra.ExactArgs(1),
		RunE: o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
			st, err := c.GetImport(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.jsonOut() {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			first := st.Errors
			if len(first) > shownErrors {
				first = first[:shownErrors]
			}
			printImportSummary(cmd.OutOrStdout(), st, 0, first)
			return nil
		}),
	}
}

func importResumeCommand(o *clientOptions) *cobra.Command {
	var noProgress bool
	var errorsOut string
	cmd := &cobra.Command{
		Use:   "resume ID",
		Short: "Resume a failed import from where it stopped, and follow it",
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "show no progress on stderr")
	cmd.Flags().StringVar(&errorsOut, "errors-out", "", "write all errors to `FILE` as NDJSON")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		start := time.Now()
		st, err := c.ResumeImport(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		pr := newProgress(cmd, noProgress, 0)
		pr.bytes.Store(st.Bytes)
		pr.uploaded(st)
		pr.start()
		st, err = follow(cmd.Context(), c, st, pr)
		pr.stop()
		if err != nil {
			return err
		}
		return finishImport(cmd, o, c, st, time.Since(start), errorsOut)
	})
	return cmd
}

func importRollbackCommand(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback ID",
		Short: "Remove the assets an import added (batches it created stay)",
		Args:  cobra.ExactArgs(1),
		RunE: o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
			uc := *c
			hc := *c.HTTPClient
			hc.Timeout = 0
			uc.HTTPClient = &hc
			st, err := uc.RollbackImport(cmd.Context(), args[0], true)
			if err != nil {
				return err
			}
			if o.jsonOut() {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Import %s %s\n", st.ID, st.State)
			if st.State != labelhub.ImportRolledBack {
				return fmt.Errorf("import %s is %s, not rolled back: %s", st.ID, st.State, st.Error)
			}
			return nil
		}),
	}
}

func labelsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labels",
		Short: "Import labels (pre-labels) for a project's assets",
	}
	o := addClientFlags(cmd, true)
	var project, errorsOut string
	imp := &cobra.Command{
		Use:   "import FILE --project ID",
		Short: "Import labels from a JSON array naming assets by externalId (formats.md §2)",
		Long: `Set the answers of the tasks of the assets each entry names by externalId.
FILE is a JSON array (formats.md §2); "-" reads stdin. Entries that are invalid
or name no asset are listed; the exit status is then 1.`,
		Example: `  labelhub labels import prelabels.json --project prj_…`,
		Args:    cobra.ExactArgs(1),
	}
	imp.Flags().StringVar(&project, "project", "", "the project `ID` (required)")
	imp.Flags().StringVar(&errorsOut, "errors-out", "", "write all errors to `FILE` as NDJSON")
	_ = imp.MarkFlagRequired("project")
	_ = imp.RegisterFlagCompletionFunc("project", completeProjects(o))
	imp.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in, _, err := openInput(cmd, args[0])
		if err != nil {
			return err
		}
		defer in.Close()
		uc := *c
		hc := *c.HTTPClient
		hc.Timeout = 0
		uc.HTTPClient = &hc
		start := time.Now()
		st, err := uc.ImportLabels(cmd.Context(), project, in)
		if err != nil {
			return err
		}
		return finishImport(cmd, o, c, st, time.Since(start), errorsOut)
	})
	cmd.AddCommand(imp)
	return cmd
}

func assetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "asset",
		Aliases: []string{"assets"},
		Short:   "List and show a project's assets",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(assetListCommand(o), assetShowCommand(o))
	return cmd
}

func assetListCommand(o *clientOptions) *cobra.Command {
	var project string
	var f client.AssetFilter
	var typ string
	var limit int
	cmd := &cobra.Command{
		Use:   "list --project ID [--batch NAME] [--external-id ID] [--type TYPE]",
		Short: "List a project's assets, oldest first",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().StringVar(&project, "project", "", "the project `ID` (required)")
	cmd.Flags().StringVar(&f.Batch, "batch", "", "only assets of this batch (`NAME` or id)")
	cmd.Flags().StringVar(&f.ExternalID, "external-id", "", "only assets with this externalId")
	cmd.Flags().StringVar(&typ, "type", "", "only assets of this type: image, video, audio, pdf, text, dicom, point-cloud")
	addLimitFlag(cmd, &limit)
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"image", "video", "audio", "pdf", "text", "dicom", "point-cloud"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		f.Type = labelhub.AssetType(typ)
		items, err := collect(cmd.Context(), limit, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Asset], error) {
			return c.ListAssets(ctx, project, f, p)
		})
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "EXTERNAL ID", "TYPE", "BATCHES", "CREATED"}, func(a labelhub.Asset) []string {
			return []string{a.ID, a.ExternalID, string(a.Type), strings.Join(a.Batches, ", "), when(a.CreatedAt)}
		})
	})
	return cmd
}

func assetShowCommand(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an asset with its metadata, contextData and attachments",
		Args:  cobra.ExactArgs(1),
		RunE: o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
			a, err := c.GetAsset(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.jsonOut() {
				return writeJSON(cmd.OutOrStdout(), a)
			}
			data := a.Data
			if len(a.Dataset) > 0 {
				data = fmt.Sprintf("%d pages, first %s", len(a.Dataset), a.Dataset[0])
			}
			probe := a.Probe.State
			if a.Probe.Error != "" {
				probe += ": " + a.Probe.Error
			}
			if err := printFields(cmd, o, a, [][2]string{
				{"ID", a.ID}, {"External ID", a.ExternalID}, {"Type", string(a.Type)}, {"Data", data},
				{"Batches", strings.Join(a.Batches, ", ")}, {"Storage", a.StorageID}, {"Import", a.ImportID},
				{"Task", a.TaskID}, {"Probe", probe}, {"Created", when(a.CreatedAt)},
				{"Content", c.AssetContentURL(a.ID, 0)},
			}); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, part := range []struct {
				name string
				raw  json.RawMessage
			}{{"Metadata", a.Metadata}, {"Context data", a.ContextData}, {"Attachments", a.Attachments}} {
				if len(part.raw) == 0 {
					continue
				}
				// Indented as it was imported: keys keep their order.
				var b bytes.Buffer
				if err := json.Indent(&b, part.raw, "  ", "  "); err != nil {
					return err
				}
				fmt.Fprintf(w, "%s:\n  %s\n", part.name, b.String())
			}
			return nil
		}),
	}
}
