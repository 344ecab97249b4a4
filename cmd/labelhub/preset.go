package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// presetCommand is "labelhub plugin preset": named Config JSONs of a
// plugin in a project.
func presetCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "preset",
		Aliases: []string{"presets"},
		Short:   "Save, list and delete named Config JSONs of a plugin in a project",
		Long: `A preset is a named Config JSON of one plugin in one project; the run dialog
of the web UI offers them. Admins and project managers save and delete them;
everyone who sees the project lists them.`,
	}
	cmd.AddCommand(presetListCommand(o), presetSaveCommand(o), presetDeleteCommand(o))
	return cmd
}

// presetFlags are the --project and --plugin flags the preset commands share.
func presetFlags(cmd *cobra.Command, o *clientOptions, project, plugin *string) {
	f := cmd.Flags()
	f.StringVar(project, "project", "", "the project (required)")
	f.StringVar(plugin, "plugin", "", "the plugin (required)")
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.MarkFlagRequired("plugin")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	_ = cmd.RegisterFlagCompletionFunc("plugin", completePlugins(o))
}

func presetListCommand(o *clientOptions) *cobra.Command {
	var project, plugin string
	var limit int
	cmd := &cobra.Command{
		Use:               "list --project PROJECT_ID --plugin PLUGIN_ID",
		Aliases:           []string{"ls"},
		Short:             "List a plugin's presets in a project",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	presetFlags(cmd, o, &project, &plugin)
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		ps, err := collect(cmd.Context(), limit, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Preset], error) {
			return c.ListPresets(ctx, project, plugin, p)
		})
		if err != nil {
			return err
		}
		return printList(cmd, o, ps, []string{"ID", "NAME", "CONFIG", "UPDATED"}, func(p labelhub.Preset) []string {
			return []string{p.ID, p.Name, shortConfig(p.ConfigJSON, 60), when(p.UpdatedAt)}
		})
	})
	return cmd
}

// shortConfig shortens a Config JSON for a table cell.
func shortConfig(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func presetSaveCommand(o *clientOptions) *cobra.Command {
	var project, plugin, name, configFile string
	cmd := &cobra.Command{
		Use:   "save --project PROJECT_ID --plugin PLUGIN_ID --name NAME --config FILE|-",
		Short: "Save a Config JSON under a name; an existing preset of that name is replaced",
		Example: `  labelhub plugin preset save --project 01J… --plugin 01J… --name "only cars" --config cars.json
  echo '{"classes":["car"]}' | labelhub plugin preset save --project 01J… --plugin 01J… --name cars --config -`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	presetFlags(cmd, o, &project, &plugin)
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the preset's name (required)")
	f.StringVar(&configFile, "config", "", "`FILE` with the Config JSON (\"-\" for stdin; required)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagFilename("config", "json")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		cfg, err := readConfig(configFile, cmd.InOrStdin())
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		in := client.PresetInput{Name: &name, ConfigJSON: &cfg}
		p, err := c.CreatePreset(ctx, project, plugin, in)
		verb := "Saved"
		if labelhub.ErrorCode(err) == labelhub.ECodeConflict {
			// The name exists: replace that preset's Config JSON.
			var old labelhub.Preset
			if old, err = findPreset(ctx, c, project, plugin, name); err == nil {
				p, err = c.UpdatePreset(ctx, old.ID, client.PresetInput{ConfigJSON: &cfg})
				verb = "Replaced"
			}
		}
		if err != nil {
			return err
		}
		if err := printFields(cmd, o, p, [][2]string{{"ID", p.ID}, {"Name", p.Name}, {"Config", p.ConfigJSON}}); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s preset %q.\n", verb, p.Name)
		return nil
	})
	return cmd
}

// findPreset looks a preset up by name.
func findPreset(ctx context.Context, c *client.Client, project, plugin, name string) (labelhub.Preset, error) {
	for p, err := range client.All(ctx, func(ctx context.Context, pr labelhub.PageRequest) (labelhub.Page[labelhub.Preset], error) {
		return c.ListPresets(ctx, project, plugin, pr)
	}) {
		if err != nil {
			return labelhub.Preset{}, err
		}
		if p.Name == name {
			return p, nil
		}
	}
	return labelhub.Preset{}, labelhub.NotFound("preset")
}

func presetDeleteCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "delete PRESET_ID",
		Aliases:           []string{"rm"},
		Short:             "Delete a preset",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeletePreset(cmd.Context(), args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted preset %s.\n", args[0])
		return nil
	})
	return cmd
}
