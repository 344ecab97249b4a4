package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, runCommand)
}

func runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "run",
		Aliases: []string{"runs"},
		Short:   "Look at plugin runs: show, logs, cancel, download",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(runShowCommand(o), runLogsCommand(o), runCancelCommand(o))
	cmd.AddCommand(runDownloadCommand(o))
	return cmd
}

func runShowCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "show RUN_ID",
		Short:             "Show a run: state, progress, result or error",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		r, err := c.GetRun(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return printRun(cmd, o, r)
	})
	return cmd
}

func runLogsCommand(o *clientOptions) *cobra.Command {
	var follow bool
	var after int64
	cmd := &cobra.Command{
		Use:   "logs RUN_ID [--follow]",
		Short: "Print a run's log; --follow keeps printing until the run ends",
		Long: `Print a run's log, one record a line: time, level, message and attributes
(-o json: one JSON object a line). With --follow the log is streamed live,
with the run's progress, until the run ends; the exit status is then 1 when
the run did not succeed.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the log until the run ends")
	cmd.Flags().Int64Var(&after, "after", 0, "start after this sequence number")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		id := args[0]
		out := cmd.OutOrStdout()
		print := func(l labelhub.RunLog) error {
			if o.jsonOut() {
				return writeJSONLine(out, l)
			}
			_, err := fmt.Fprintln(out, logLine(l))
			return err
		}
		if follow {
			if o.jsonOut() {
				run, err := c.FollowRunLogs(cmd.Context(), id, after, print)
				if err != nil {
					return err
				}
				return runOutcome(run)
			}
			run, err := followRun(cmd, c, id, after, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Run %s %s.\n", run.ID, run.State)
			return runOutcome(run)
		}
		for {
			page, err := c.RunLogs(cmd.Context(), id, after, labelhub.MaxPageLimit)
			if err != nil {
				return err
			}
			for _, l := range page.Items {
				if err := print(l); err != nil {
					return err
				}
			}
			if len(page.Items) < labelhub.MaxPageLimit || page.Next <= after {
				return nil
			}
			after = page.Next
		}
	})
	return cmd
}

// runOutcome is nil for a run that succeeded, else an error naming its state.
func runOutcome(r labelhub.Run) error {
	if r.State == labelhub.RunSucceeded {
		return nil
	}
	if r.Error != "" {
		return fmt.Errorf("run %s %s: %s", r.ID, r.State, r.Error)
	}
	return fmt.Errorf("run %s %s", r.ID, r.State)
}

func runCancelCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "cancel RUN_ID",
		Short:             "Ask a run to stop: a queued run ends at once, a running one is told to stop",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		r, err := c.CancelRun(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if err := printRun(cmd, o, r); err != nil {
			return err
		}
		if !r.State.Final() {
			fmt.Fprintf(cmd.ErrOrStderr(), "Cancel requested; follow the end with: labelhub run logs %s --follow\n", r.ID)
		}
		return nil
	})
	return cmd
}

// writeJSONLine prints v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func runDownloadCommand(o *clientOptions) *cobra.Command {
	var file string
	var force bool
	cmd := &cobra.Command{
		Use:   "download RUN_ID [-o FILE]",
		Short: "Download a run's result file (an export's zip)",
		Long: `Download the file a run's plugin uploaded (an export's zip). It is saved
under the name the hub gives it in the current folder (an existing file is
kept unless --force), or as -o FILE; "-o -" writes it to standard output.
The file appears only once complete. Result files are kept for the hub's
--artifact-ttl (7 days by default); an expired one is an error saying so.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	// -o here is the file, shadowing the run command's output format.
	cmd.Flags().StringVarP(&file, "output", "o", "", "file to write (default: the name the hub gives; - for standard output)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file of the hub's name")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		// The download may take longer than --timeout: that bounds the wait
		// for the answer's headers only.
		dl := client.New(c.BaseURL, c.APIKey, client.WithUserAgent("labelhub-cli/"+version),
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: o.timeout}}))
		id := args[0]
		if file == "-" {
			_, err := dl.DownloadRunArtifact(cmd.Context(), id, cmd.OutOrStdout())
			return err
		}
		dir := "."
		if file != "" {
			dir = filepath.Dir(file)
		}
		tmp, err := os.CreateTemp(dir, ".labelhub-download-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name()) // fails once renamed
		info, err := dl.DownloadRunArtifact(cmd.Context(), id, tmp)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		target := file
		if target == "" {
			target = info.Name
			if target == "" {
				target = "run-" + id + ".bin"
			}
			if _, err := os.Stat(target); err == nil && !force {
				return fmt.Errorf("%s exists; pass --force to replace it or -o FILE to choose another name", target)
			}
		}
		if err := os.Rename(tmp.Name(), target); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Saved %s (%d bytes).\n", target, info.Written)
		return nil
	})
	return cmd
}
