package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, projectCommand, batchCommand)
}

func projectCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project",
		Short: "Create, list, show and delete projects",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(projectCreateCommand(o), projectListCommand(o), projectShowCommand(o), projectDeleteCommand(o))
	return cmd
}

func projectCreateCommand(o *clientOptions) *cobra.Command {
	var description, schemaFile string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a project",
		Long: `Create a project. --schema reads its category schema (tools, classifications,
relations; formats.md §0) from a JSON file, or from stdin with "-".`,
		Example: `  labelhub project create "Street scenes" --schema schema.json
  labelhub project create Cars -o json | jq -r .id`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().StringVar(&description, "description", "", "what the project is about")
	cmd.Flags().StringVar(&schemaFile, "schema", "", "category schema JSON `FILE` (\"-\" for stdin)")
	_ = cmd.MarkFlagFilename("schema", "json")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in := labelhub.ProjectInput{Name: &args[0]}
		if cmd.Flags().Changed("description") {
			in.Description = &description
		}
		if schemaFile != "" {
			s, err := readSchema(cmd.InOrStdin(), schemaFile)
			if err != nil {
				return err
			}
			in.CategorySchema = s
		}
		p, err := c.CreateProject(cmd.Context(), in)
		if err != nil {
			return err
		}
		return printProject(cmd, o, p)
	})
	return cmd
}

// readSchema reads a category schema from a file, refusing fields that are
// not part of it (a misspelt key would otherwise vanish silently).
func readSchema(stdin io.Reader, path string) (*labelhub.CategorySchema, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--schema: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s labelhub.CategorySchema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("--schema %s is not a category schema: %s", path, strings.TrimPrefix(err.Error(), "json: "))
	}
	return &s, nil
}

func projectListCommand(o *clientOptions) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the organisation's projects",
		Args:    cobra.NoArgs,
	}
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		items, err := collect(cmd.Context(), limit, c.ListProjects)
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "NAME", "DESCRIPTION", "CREATED"}, func(p labelhub.Project) []string {
			return []string{p.ID, p.Name, p.Description, when(p.CreatedAt)}
		})
	})
	return cmd
}

func projectShowCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "show ID",
		Aliases:           []string{"get"},
		Short:             "Show a project",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completeProjects(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		p, err := c.GetProject(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return printProject(cmd, o, p)
	})
	return cmd
}

func projectDeleteCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "delete ID",
		Aliases:           []string{"rm"},
		Short:             "Delete a project with its batches",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completeProjects(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeleteProject(cmd.Context(), args[0]); err != nil {
			return err
		}
		if !o.jsonOut() {
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted project %s.\n", args[0])
		}
		return nil
	})
	return cmd
}

func printProject(cmd *cobra.Command, o *clientOptions, p labelhub.Project) error {
	s := p.CategorySchema
	titles := func(n int, title func(int) string) string {
		if n == 0 {
			return "0"
		}
		t := make([]string, n)
		for i := range t {
			t[i] = title(i)
		}
		return strconv.Itoa(n) + " (" + strings.Join(t, ", ") + ")"
	}
	return printFields(cmd, o, p, [][2]string{
		{"ID", p.ID},
		{"Name", p.Name},
		{"Description", p.Description},
		{"Tools", titles(len(s.Tools), func(i int) string { return s.Tools[i].Title })},
		{"Classifications", titles(len(s.Classifications), func(i int) string { return s.Classifications[i].Title })},
		{"Relations", titles(len(s.Relations), func(i int) string { return s.Relations[i].Title })},
		{"Created", when(p.CreatedAt)},
		{"Updated", when(p.UpdatedAt)},
		{"Created by", p.CreatedBy},
	})
}

func batchCommand() *cobra.Command {
	var projectID string
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Create and list a project's batches",
	}
	o := addClientFlags(cmd, true)
	cmd.PersistentFlags().StringVar(&projectID, "project", "", "the project's `ID` (required)")
	_ = cmd.MarkPersistentFlagRequired("project")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))

	create := &cobra.Command{
		Use:               "create --project ID NAME",
		Short:             "Create a batch in a project",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	create.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		b, err := c.CreateBatch(cmd.Context(), projectID, args[0])
		if err != nil {
			return err
		}
		return printFields(cmd, o, b, [][2]string{
			{"ID", b.ID}, {"Name", b.Name}, {"Project", b.ProjectID}, {"Created", when(b.CreatedAt)},
		})
	})

	var limit int
	list := &cobra.Command{
		Use:     "list --project ID",
		Aliases: []string{"ls"},
		Short:   "List a project's batches",
		Args:    cobra.NoArgs,
	}
	addLimitFlag(list, &limit)
	list.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		// The list of an unknown project is empty; say "not found" instead.
		if _, err := c.GetProject(cmd.Context(), projectID); err != nil {
			return err
		}
		items, err := collect(cmd.Context(), limit, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Batch], error) {
			return c.ListBatches(ctx, projectID, p)
		})
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "NAME", "CREATED"}, func(b labelhub.Batch) []string {
			return []string{b.ID, b.Name, when(b.CreatedAt)}
		})
	})
	cmd.AddCommand(create, list)
	return cmd
}
