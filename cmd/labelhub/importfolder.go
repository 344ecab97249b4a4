package main

// labelhub import-folder: import the assets of a bucket folder, follow the
// import with a progress display, and say how many were there already.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, importFolderCommand)
}

type importFolderFlags struct {
	project, storage, folder, onDuplicate, errorsOut string
	files, batches                                   []string
	recursive, createBatches, noWait, noProgress     bool
}

func importFolderCommand() *cobra.Command {
	var f importFolderFlags
	cmd := &cobra.Command{
		Use:   "import-folder --project ID --storage ID [--folder PREFIX] [flags]",
		Short: "Import every asset of a bucket folder into a project; again, only the new ones",
		Long: `Have the hub list a folder of a storage integration's bucket and import every
object of an asset type (by extension: jpg, png, mp4, pdf, txt, dcm, pcd, …)
as an asset: its URL in the provider's form as data, its object key as
externalId. Other objects are counted, not errors. --folder is a key prefix
("" or no flag: the bucket's root); --recursive includes its sub-folders.
--file KEY (repeatable) imports those objects only.

Imports are incremental: an object whose key the project has already is
skipped (--on-duplicate skip, the default), so importing the same folder
again adds only the new objects; the summary says how many were already
there.

A progress bar on stderr (a line every few seconds when stderr is not a
terminal) shows the objects listed and imported. --no-wait prints the import
id and returns at once (follow it with labelhub import status ID); Ctrl-C
stops following, not the import (POST /api/v1/imports/ID/cancel does).`,
		Example: `  labelhub import-folder --project prj_… --storage sto_… --folder images/2024/ --recursive
  labelhub import-folder --project prj_… --storage sto_… --folder scans --batch week-1 --create-batches
  labelhub import-folder --project prj_… --storage sto_… --file a/1.jpg --file a/2.jpg`,
		Args: cobra.NoArgs,
	}
	o := addClientFlags(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&f.project, "project", "", "the project `ID` (required)")
	fl.StringVar(&f.storage, "storage", "", "the storage integration `ID` whose bucket to list (required)")
	fl.StringVar(&f.folder, "folder", "", "the folder: a key `PREFIX` such as images/2024/ (default: the bucket's root)")
	fl.BoolVar(&f.recursive, "recursive", false, "include the objects of the sub-folders, at any depth")
	fl.StringArrayVar(&f.files, "file", nil, "import this object `KEY` only (repeatable; instead of listing the folder)")
	fl.StringArrayVar(&f.batches, "batch", nil, "add every asset to this batch (`NAME` or id; repeatable)")
	fl.BoolVar(&f.createBatches, "create-batches", false, "create batches that do not exist yet")
	fl.StringVar(&f.onDuplicate, "on-duplicate", "", "an object whose key the project has: skip (default), update, allow or error")
	fl.BoolVar(&f.noWait, "no-wait", false, "print the import id and return; do not follow it")
	fl.StringVar(&f.errorsOut, "errors-out", "", "write all errors to `FILE` as NDJSON")
	fl.BoolVar(&f.noProgress, "no-progress", false, "show no progress on stderr")
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.MarkFlagRequired("storage")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	_ = cmd.RegisterFlagCompletionFunc("on-duplicate", cobra.FixedCompletions([]string{"skip", "update", "allow", "error"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("errors-out")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		return runImportFolder(cmd, o, c, f)
	})
	return cmd
}

func runImportFolder(cmd *cobra.Command, o *clientOptions, c *client.Client, f importFolderFlags) error {
	switch f.onDuplicate {
	case "", labelhub.DuplicateAllow, labelhub.DuplicateSkip, labelhub.DuplicateUpdate, labelhub.DuplicateError:
	default:
		return fmt.Errorf("--on-duplicate must be skip, update, allow or error, not %q", f.onDuplicate)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	st, err := c.ImportFolder(ctx, f.project, client.FolderImport{StorageID: f.storage, Folder: f.folder, Recursive: f.recursive,
		Files: f.files, Batches: f.batches, CreateBatches: f.createBatches, OnDuplicate: f.onDuplicate}, false)
	if err != nil {
		return err
	}
	if f.noWait {
		if o.jsonOut() {
			return writeJSON(cmd.OutOrStdout(), st)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Folder import %s started; follow it with: labelhub import status %s\n", st.ID, st.ID)
		return nil
	}
	pr := newProgress(cmd, f.noProgress, 0)
	pr.folder = true
	pr.start()
	pr.uploaded(st)
	st, err = follow(ctx, c, st, pr)
	pr.stop()
	if err != nil {
		return err
	}
	err = finishImport(cmd, o, c, st, time.Since(start), f.errorsOut)
	if !o.jsonOut() && st.State == labelhub.ImportSucceeded {
		fmt.Fprintf(cmd.OutOrStdout(), "%s imported, %s already there.\n", plural(st.Counts.Imported, "new asset", "new assets"),
			plural(st.Counts.Skipped, "was", "were"))
	}
	return err
}

// folderLine is the progress of a folder import.
func folderLine(st client.ImportStatus, took time.Duration, tty bool) string {
	cn := st.Counts
	var b strings.Builder
	if tty && cn.Listed > 0 {
		const width = 24
		done := cn.Imported + cn.Skipped + cn.Invalid + cn.SkippedNotAsset
		fill := min(width, int(float64(done)/float64(cn.Listed)*width))
		b.WriteString("[" + strings.Repeat("#", fill) + strings.Repeat(".", width-fill) + "] ")
	}
	fmt.Fprintf(&b, "%d listed · %d imported, %d already there, %d not assets, %d invalid", cn.Listed, cn.Imported, cn.Skipped, cn.SkippedNotAsset, cn.Invalid)
	if secs := took.Seconds(); secs > 0 {
		fmt.Fprintf(&b, " · %.0f objects/s", float64(cn.Listed)/secs)
	}
	return b.String()
}

// printFolderCounts adds a folder import's own lines to its summary.
func printFolderCounts(w io.Writer, st client.ImportStatus) {
	src := st.Options.Folder
	what := fmt.Sprintf("%q", src.Folder)
	switch {
	case len(src.Files) > 0:
		what = fmt.Sprintf("%d selected files", len(src.Files))
	case src.Folder == "":
		what = "the bucket's root"
	}
	if src.Recursive {
		what += " and its sub-folders"
	}
	cn := st.Counts
	fmt.Fprintf(w, "  folder:    %s\n", what)
	fmt.Fprintf(w, "  listed:    %d (%d not an asset type)\n", cn.Listed, cn.SkippedNotAsset)
	fmt.Fprintf(w, "  already:   %d (in the project before)\n", cn.Skipped)
}
