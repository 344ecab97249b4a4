package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, taskCommand)
}

func taskCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task",
		Short: "List and show tasks, write answers, submit and reject",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(taskListCommand(o), taskShowCommand(o), taskAnswerCommand(o), taskMoveCommand(o, "submit"), taskMoveCommand(o, "reject"))
	return cmd
}

func taskListCommand(o *clientOptions) *cobra.Command {
	var projectID, stage, batch, updatedBy string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:     "list --project ID",
		Aliases: []string{"ls"},
		Short:   "List a project's tasks",
		Example: `  labelhub task list --project 06h… --stage review
  labelhub task list --project 06h… --batch batch-1 --all -o json`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&projectID, "project", "", "the project's `ID` (required)")
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	cmd.Flags().StringVar(&stage, "stage", "", "only tasks in the stage with this `stageId`")
	cmd.Flags().StringVar(&batch, "batch", "", "only tasks of assets in this batch (`ID or name`)")
	cmd.Flags().StringVar(&updatedBy, "updated-by", "", "only tasks last changed by this user (`ID`)")
	cmd.Flags().IntVar(&limit, "limit", labelhub.DefaultPageLimit, "show at most this many tasks")
	cmd.Flags().BoolVar(&all, "all", false, "show every matching task, walking all pages (--limit is ignored)")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if !all && limit < 1 {
			return fmt.Errorf("--limit must be at least 1, not %d (or pass --all)", limit)
		}
		if all {
			limit = 0
		}
		q := client.TaskQuery{Stage: stage, Batch: batch, UpdatedBy: updatedBy}
		items, err := collect(cmd.Context(), limit, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Task], error) {
			return c.ListTasks(ctx, projectID, q, p)
		})
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "ASSET", "STAGE", "VERSION", "OBJECTS", "UPDATED", "UPDATED BY"}, func(t labelhub.Task) []string {
			return []string{t.ID, t.Asset.ExternalID, t.StageName, strconv.FormatInt(t.Version, 10), strconv.Itoa(len(t.Answer.Tools)), when(t.UpdatedAt), t.UpdatedBy}
		})
	})
	return cmd
}

func taskShowCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show ID",
		Aliases: []string{"get"},
		Short:   "Show a task with its history",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		t, err := c.GetTask(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return printTask(cmd, o, t)
	})
	return cmd
}

func taskAnswerCommand(o *clientOptions) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "answer ID --file answer.json",
		Short: "Replace a task's answer",
		Long: `Replace a task's answer with the JSON of a file ({"tools", "classifications",
"relations"}; formats.md §2/§3), or of stdin with "-". The command reads the
task's version first and sends it as If-Match, so an answer written by someone
else in between is not overwritten: the hub answers with a conflict instead.`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().StringVar(&file, "file", "", "answer JSON `FILE` (\"-\" for stdin; required)")
	_ = cmd.MarkFlagRequired("file")
	_ = cmd.MarkFlagFilename("file", "json")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var b []byte
		var err error
		if file == "-" {
			b, err = io.ReadAll(cmd.InOrStdin())
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		t, err := c.GetTask(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		t, err = c.PutAnswerJSON(cmd.Context(), args[0], t.Version, b)
		if err != nil {
			return err
		}
		return printTask(cmd, o, t)
	})
	return cmd
}

func taskMoveCommand(o *clientOptions, action string) *cobra.Command {
	var version, duration int64
	short := "Move a task to the next stage of its workflow"
	if action == "reject" {
		short = "Send a task in a review stage back to the previous stage"
	}
	cmd := &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
	}
	cmd.Flags().Int64Var(&version, "version", 0, "fail if the task is no longer at this version")
	cmd.Flags().Int64Var(&duration, "duration-ms", 0, "time spent in the stage in ms (default: since the task entered it)")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		m := client.MoveOptions{Version: version}
		if cmd.Flags().Changed("duration-ms") {
			m.DurationMs = &duration
		}
		move := c.SubmitTask
		if action == "reject" {
			move = c.RejectTask
		}
		t, err := move(cmd.Context(), args[0], m)
		if err != nil {
			return err
		}
		return printTask(cmd, o, t)
	})
	return cmd
}

func printTask(cmd *cobra.Command, o *clientOptions, t labelhub.Task) error {
	err := printFields(cmd, o, t, [][2]string{
		{"ID", t.ID},
		{"Project", t.ProjectID},
		{"Asset", t.Asset.ID + " (" + t.Asset.ExternalID + ")"},
		{"Stage", t.StageName + " (" + t.StageID + ")"},
		{"Version", strconv.FormatInt(t.Version, 10)},
		{"Answer", fmt.Sprintf("%d objects, %d classifications, %d relations", len(t.Answer.Tools), len(t.Answer.Classifications), len(t.Answer.Relations))},
		{"Updated", when(t.UpdatedAt)},
		{"Updated by", t.UpdatedBy},
		{"Total duration", strconv.FormatInt(t.TotalDurationMs, 10) + " ms"},
	})
	if err != nil || o.jsonOut() || len(t.History) == 0 {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, "\nHistory:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tACTION\tFROM\tTO\tDURATION\tAT\tBY")
	for _, h := range t.History {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d ms\t%s\t%s\n", h.Seq, h.Action, cell(h.StageName), cell(h.ToStageID), h.DurationMs, when(h.CompletedAt), cell(h.CompletedBy))
	}
	return tw.Flush()
}
