package main

import (
	"encoding/json"
	"fmt"
	"io"

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
		Short:   "Look at plugin runs: show, logs, cancel",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(runShowCommand(o), runLogsCommand(o), runCancelCommand(o))
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
