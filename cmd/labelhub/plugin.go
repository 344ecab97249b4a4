package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, pluginCommand)
}

func pluginCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "plugin",
		Aliases: []string{"plugins"},
		Short:   "Register plugins, see which are online, run them",
		Long: `Plugins are small programs built with the Go SDK (package plugin) that dial out
to the hub over a WebSocket. Register one with "labelhub plugin create", then
start the program with LABELHUB_SERVER, LABELHUB_PLUGIN_ID and
LABELHUB_PLUGIN_SECRET set; "labelhub plugin list" shows it online, and
"labelhub plugin run" runs it on a project.`,
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(pluginCreateCommand(o), pluginListCommand(o), pluginShowCommand(o),
		pluginRotateSecretCommand(o), pluginDeleteCommand(o), pluginRunCommand(o))
	cmd.AddCommand(presetCommand(o))
	cmd.AddCommand(pluginServeCommand(o))
	return cmd
}

func completePlugins(o *clientOptions) cobra.CompletionFunc {
	return completeIDs(o, func(c *client.Client) func(context.Context, labelhub.PageRequest) (labelhub.Page[labelhub.Plugin], error) {
		return c.ListPlugins
	}, func(p labelhub.Plugin) (string, string) { return p.ID, p.Name + " (" + string(p.Type) + ")" })
}

// readConfig reads a Config JSON text from a file, or from stdin for "-".
func readConfig(path string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, labelhub.MaxConfigJSONBytes+1))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--config: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s != "" && !json.Valid([]byte(s)) {
		return "", fmt.Errorf("--config: %s is not valid JSON", nameOf(path))
	}
	return s, nil
}

func nameOf(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

// secretNote tells, on stderr, how to start the plugin with its secret.
func secretNote(cmd *cobra.Command, o *clientOptions, id string) {
	fmt.Fprintf(cmd.ErrOrStderr(), "Keep the secret now: the hub shows it only this once (rotate it to get a new one).\n"+
		"Start the plugin with:\n  LABELHUB_SERVER=%s LABELHUB_PLUGIN_ID=%s LABELHUB_PLUGIN_SECRET=<secret> ./your-plugin\n", o.server, id)
}

func pluginCreateCommand(o *clientOptions) *cobra.Command {
	var in client.NewPlugin
	var typ, configFile string
	cmd := &cobra.Command{
		Use:   "create --name NAME --type export|file-explorer [--description TEXT] [--config FILE]",
		Short: "Register a plugin (admins); prints its id and its secret, once",
		Example: `  labelhub plugin create --name "COCO export" --type export --config coco.json
  LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… LABELHUB_SERVER=http://127.0.0.1:8080 ./coco-export`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	f := cmd.Flags()
	f.StringVar(&in.Name, "name", "", "a name for people (required)")
	f.StringVar(&typ, "type", "", "export, file-explorer, model, batch-model or markdown (required)")
	f.StringVar(&in.Description, "description", "", "what the plugin does")
	f.StringVar(&configFile, "config", "", "`FILE` holding the default Config JSON of its runs (\"-\" for stdin)")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.MarkFlagFilename("config", "json")
	types := make([]string, len(labelhub.PluginTypes))
	for i, t := range labelhub.PluginTypes {
		types[i] = string(t)
	}
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(types, cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in.Type = labelhub.PluginType(typ)
		if configFile != "" {
			cfg, err := readConfig(configFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			in.DefaultConfig = cfg
		}
		p, err := c.CreatePlugin(cmd.Context(), in)
		if err != nil {
			return err
		}
		if err := printFields(cmd, o, p, [][2]string{{"ID", p.ID}, {"Name", p.Name}, {"Type", string(p.Type)}, {"Secret", p.Secret}}); err != nil {
			return err
		}
		secretNote(cmd, o, p.ID)
		return nil
	})
	return cmd
}

// pluginRow is a plugin with whether it is online, for plugin list.
type pluginRow struct {
	labelhub.Plugin
	Online    bool `json:"online"`
	Instances int  `json:"instances"`
}

func pluginListCommand(o *clientOptions) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:               "list",
		Aliases:           []string{"ls"},
		Short:             "List the organisation's plugins and whether they are online",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		ps, err := collect(cmd.Context(), limit, c.ListPlugins)
		if err != nil {
			return err
		}
		rows := make([]pluginRow, len(ps))
		for i, p := range ps {
			st, err := c.GetPlugin(cmd.Context(), p.ID)
			if err != nil && labelhub.ErrorCode(err) != labelhub.ECodeNotFound { // deleted meanwhile: offline
				return err
			}
			rows[i] = pluginRow{Plugin: p, Online: st.Online, Instances: len(st.Instances)}
		}
		return printList(cmd, o, rows, []string{"ID", "NAME", "TYPE", "ONLINE", "INSTANCES", "CREATED"}, func(r pluginRow) []string {
			return []string{r.ID, r.Name, string(r.Type), yesNo(r.Online), fmt.Sprint(r.Instances), when(r.CreatedAt)}
		})
	})
	return cmd
}

func pluginShowCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "show PLUGIN_ID",
		Short:             "Show a plugin and its connected instances",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completePlugins(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		p, err := c.GetPlugin(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if o.jsonOut() {
			return writeJSON(cmd.OutOrStdout(), p)
		}
		cfg := p.DefaultConfig
		if cfg == "" {
			cfg = "-"
		}
		if err := printFields(cmd, o, p, [][2]string{{"ID", p.ID}, {"Name", p.Name}, {"Type", string(p.Type)}, {"Description", p.Description},
			{"Default config", cfg}, {"Online", yesNo(p.Online)}, {"Created", when(p.CreatedAt)}}); err != nil {
			return err
		}
		if len(p.Instances) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "\nNo instance is connected.")
			return nil
		}
		fmt.Fprintln(cmd.OutOrStdout(), "\nInstances:")
		return printList(cmd, o, p.Instances, []string{"ID", "HOST", "SDK", "CONCURRENCY", "CONNECTED", "LAST SEEN"}, func(in labelhub.PluginInstance) []string {
			return []string{in.ID, in.Host, in.SDKVersion, fmt.Sprint(in.Concurrency), when(in.ConnectedAt), in.LastSeen.Local().Format("15:04:05")}
		})
	})
	return cmd
}

func pluginRotateSecretCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "rotate-secret PLUGIN_ID",
		Short:             "Replace a plugin's secret; its running processes are disconnected",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completePlugins(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		s, err := c.RotatePluginSecret(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if err := printFields(cmd, o, s, [][2]string{{"ID", s.ID}, {"Secret", s.Secret}}); err != nil {
			return err
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "The old secret no longer works; processes that used it were disconnected.")
		secretNote(cmd, o, s.ID)
		return nil
	})
	return cmd
}

func pluginDeleteCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "delete PLUGIN_ID",
		Aliases:           []string{"rm"},
		Short:             "Delete a plugin; its processes are disconnected",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completePlugins(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeletePlugin(cmd.Context(), args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Deleted plugin %s.\n", args[0])
		return nil
	})
	return cmd
}

// parseParams turns k=v flags into a params object; a value that is JSON
// (a number, true, an object…) is taken as such, anything else as a string.
func parseParams(kvs []string) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want KEY=VALUE", kv)
		}
		var j any
		if err := json.Unmarshal([]byte(v), &j); err == nil {
			out[k] = j
		} else {
			out[k] = v
		}
	}
	return out, nil
}

func pluginRunCommand(o *clientOptions) *cobra.Command {
	var project, configFile string
	var params []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "run PLUGIN_ID --project PROJECT_ID [--config FILE|-] [--param KEY=VALUE]... [--wait]",
		Short: "Run a plugin on a project, following its log until it ends",
		Long: `Run a plugin on a project. The run's log and progress are followed live on
stderr until the run ends; the run (with its result) is then printed on
stdout. The exit status is 1 when the run did not succeed.

With --wait, nothing is followed: the hub answers when the run has ended.
--param values are JSON when they parse as JSON (42, true, {"a":1}), else
strings.`,
		Example: `  labelhub plugin run 01J… --project 01J… --param stage=review --param numTasks=100
  echo '{"prefix":"x"}' | labelhub plugin run 01J… --project 01J… --config - --wait -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completePlugins(o)),
	}
	f := cmd.Flags()
	f.StringVar(&project, "project", "", "the project to run on (required)")
	f.StringVar(&configFile, "config", "", "`FILE` with the run's Config JSON (\"-\" for stdin); default: the plugin's")
	f.StringArrayVar(&params, "param", nil, "a run parameter `KEY=VALUE` (repeatable)")
	f.BoolVar(&wait, "wait", false, "do not follow the log; wait for the run to end")
	_ = cmd.MarkFlagRequired("project")
	_ = cmd.MarkFlagFilename("config", "json")
	_ = cmd.RegisterFlagCompletionFunc("project", completeProjects(o))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in := client.RunInput{ProjectID: project}
		if configFile != "" {
			cfg, err := readConfig(configFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			in.ConfigJSON = &cfg
		}
		var err error
		if in.Params, err = parseParams(params); err != nil {
			return err
		}
		ctx := cmd.Context()
		run, err := c.RunPlugin(ctx, args[0], in, wait)
		if err != nil {
			return err
		}
		if wait {
			if !run.State.Final() { // the hub's own wait limit passed
				run, err = c.FollowRunLogs(ctx, run.ID, 0, func(labelhub.RunLog) error { return nil })
				if err != nil {
					return err
				}
			}
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "Run %s %s; following its log.\n", run.ID, run.State)
			if run, err = followRun(cmd, c, run.ID, 0, cmd.ErrOrStderr()); err != nil {
				return err
			}
		}
		return finishRun(cmd, o, run)
	})
	return cmd
}

// followRun prints a run's log from after on and its progress to w until
// the run ends, and returns it.
func followRun(cmd *cobra.Command, c *client.Client, id string, after int64, w io.Writer) (labelhub.Run, error) {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	var mu sync.Mutex // orders the lines of the log and of the progress
	var last labelhub.RunProgress
	printProgress := func(p labelhub.RunProgress) {
		if p == last || (p.Total == 0 && p.Done == 0 && p.Message == "") {
			return
		}
		last = p
		fmt.Fprintln(w, progressLine(p))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the log stream carries no progress: poll the run for it
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r, err := c.GetRun(ctx, id)
			if err != nil {
				continue
			}
			mu.Lock()
			printProgress(r.Progress)
			mu.Unlock()
		}
	}()
	run, err := c.FollowRunLogs(ctx, id, after, func(l labelhub.RunLog) error {
		mu.Lock()
		defer mu.Unlock()
		_, err := fmt.Fprintln(w, logLine(l))
		return err
	})
	cancel()
	wg.Wait()
	if err == nil {
		printProgress(run.Progress)
	}
	return run, err
}

func progressLine(p labelhub.RunProgress) string {
	s := "progress"
	if p.Total > 0 {
		s += fmt.Sprintf(" %d/%d (%d%%)", p.Done, p.Total, p.Done*100/p.Total)
	} else if p.Done > 0 {
		s += fmt.Sprintf(" %d", p.Done)
	}
	if p.Message != "" {
		s += ": " + oneLine(p.Message)
	}
	return s
}

// logLine is one log record as one line: time, level, message, attributes.
func logLine(l labelhub.RunLog) string {
	s := l.Time.Local().Format("15:04:05.000") + " " + strings.ToUpper(l.Level) + " " + oneLine(l.Message)
	if len(l.Attrs) > 0 && string(l.Attrs) != "{}" && string(l.Attrs) != "null" {
		s += " " + string(l.Attrs)
	}
	return s
}

// finishRun prints an ended run and fails unless it succeeded.
func finishRun(cmd *cobra.Command, o *clientOptions, run labelhub.Run) error {
	if err := printRun(cmd, o, run); err != nil {
		return err
	}
	return runOutcome(run)
}

func printRun(cmd *cobra.Command, o *clientOptions, r labelhub.Run) error {
	if o.jsonOut() {
		return writeJSON(cmd.OutOrStdout(), r)
	}
	fields := [][2]string{{"ID", r.ID}, {"Plugin", r.PluginID}, {"Project", r.ProjectID}, {"State", string(r.State)},
		{"Attempts", fmt.Sprint(r.Attempts)}, {"Progress", strings.TrimPrefix(strings.TrimPrefix(progressLine(r.Progress), "progress"), " ")},
		{"Created", when(r.CreatedAt)}, {"Started", whenPtr(r.StartedAt)}, {"Finished", whenPtr(r.FinishedAt)}}
	if r.Error != "" {
		fields = append(fields, [2]string{"Error", r.Error})
	}
	if r.CancelRequested {
		fields = append(fields, [2]string{"Cancel requested", "yes"})
	}
	if len(r.Result) > 0 && string(r.Result) != "null" {
		fields = append(fields, [2]string{"Result", string(r.Result)})
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, f := range fields {
		v := f[1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], oneLine(v))
	}
	return tw.Flush()
}
