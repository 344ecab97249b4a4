package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/labelhub/labelhub/firstparty"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/sqlstore"
)

// First-party plugins (package firstparty): `serve` runs each in-process,
// as one plugin every organisation sees; `labelhub plugin serve NAME` runs
// one as a separate process for a plugin an organisation registered.

// firstPartyPlugins lists the first-party plugins serve and plugin serve
// know (tests swap it for their own entries).
var firstPartyPlugins = firstparty.All

// firstPartyNames lists their names, for messages.
func firstPartyNames() string {
	var names []string
	for _, p := range firstPartyPlugins() {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "(none in this build)"
	}
	return strings.Join(names, ", ")
}

// firstPartyFlags adds --first-party-plugins and --first-party-concurrency
// to serve.
func firstPartyFlags(f *pflag.FlagSet, enabled *bool, concurrency *int) {
	f.BoolVar(enabled, "first-party-plugins", envDefault("LABELHUB_FIRST_PARTY_PLUGINS", "true") != "false",
		"serve the first-party plugins (converters, File Explorer) in-process, ready in every organisation (LABELHUB_FIRST_PARTY_PLUGINS)")
	n, err := strconv.Atoi(envDefault("LABELHUB_FIRST_PARTY_CONCURRENCY", "4"))
	if err != nil {
		n = 4
	}
	f.IntVar(concurrency, "first-party-concurrency", n, "runs each first-party plugin takes at once on this replica (LABELHUB_FIRST_PARTY_CONCURRENCY)")
}

// firstPartyStopWait bounds how long stopping waits for a plugin's SDK
// loop to return (its handlers are cancelled, not waited for).
const firstPartyStopWait = 10 * time.Second

// startFirstParty makes the rows of the entries exist (their secrets
// derived from key) and runs each entry in-process with the SDK against
// the hub at hubURL. stop ends them and returns when they have let go of
// the hub; call it before the HTTP server shuts down.
func startFirstParty(ctx context.Context, store *sqlstore.Store, key []byte, hubURL string, entries []firstparty.Plugin,
	concurrency int, log *slog.Logger) (stop func(), err error) {
	if len(entries) == 0 {
		return func() {}, nil
	}
	if concurrency < 1 {
		return nil, fmt.Errorf("--first-party-concurrency must be at least 1, not %d", concurrency)
	}
	rows := make([]sqlstore.FirstPartyPlugin, len(entries))
	for i, e := range entries {
		rows[i] = sqlstore.FirstPartyPlugin{Builtin: e.Name, Name: e.Title, Type: e.Type, Description: e.Description,
			DefaultConfig: e.DefaultConfig, Secret: sqlstore.FirstPartySecret(key, e.Name)}
	}
	ps, err := store.EnsureFirstPartyPlugins(ctx, rows)
	if err != nil {
		return nil, fmt.Errorf("first-party plugins: %w", err)
	}
	host, _ := os.Hostname()
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for i, e := range entries {
		plog := log.With("firstParty", e.Name)
		cfg := plugin.Config{Host: hubURL, ID: ps[i].ID, Secret: rows[i].Secret, Concurrency: concurrency, Logger: plog,
			HostName: host + " (in-process)"}
		h := e.Handler()
		wg.Go(func() {
			if err := plugin.Run(ctx, cfg, h); err != nil {
				plog.Error("first-party plugin stopped", "err", err)
			}
		})
	}
	log.Info("first-party plugins started", "plugins", len(entries), "concurrency", concurrency)
	return func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(firstPartyStopWait):
			log.Warn("first-party plugins did not stop in time")
		}
	}, nil
}

// loopbackURL is the URL in-process plugins dial: the listener's address,
// with 127.0.0.1 when it listens on all addresses.
func loopbackURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// firstPartyInfo is one line of `plugin serve --list -o json`.
type firstPartyInfo struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

func pluginServeCommand(o *clientOptions) *cobra.Command {
	var list bool
	var id, secretFile string
	var concurrency int
	cmd := &cobra.Command{
		Use:   "serve NAME",
		Short: "Run a first-party plugin (a converter, the File Explorer) as a separate process",
		Long: `Run one first-party plugin as a separate process, for a plugin you registered
yourself: the hub serves every first-party plugin in-process already, ready in
every organisation; registering your own copy lets you give it your own default
Config JSON, presets and processes (more concurrency, another machine).

  labelhub plugin create --name "COCO (ours)" --type export
  LABELHUB_PLUGIN_ID=… LABELHUB_PLUGIN_SECRET=… labelhub plugin serve coco --server http://127.0.0.1:8080

The plugin's id comes from --id or LABELHUB_PLUGIN_ID, its secret from
--secret-file or LABELHUB_PLUGIN_SECRET. "labelhub plugin serve --list" lists
the names. Interrupt or SIGTERM stops it.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			if len(args) != 1 {
				return fmt.Errorf("give the name of a first-party plugin: %s (or --list)", firstPartyNames())
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, p := range firstPartyPlugins() {
				out = append(out, p.Name+"\t"+p.Title)
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
	f := cmd.Flags()
	f.BoolVar(&list, "list", false, "list the first-party plugins")
	f.StringVar(&id, "id", envDefault("LABELHUB_PLUGIN_ID", ""), "the id of the plugin you registered (LABELHUB_PLUGIN_ID)")
	f.StringVar(&secretFile, "secret-file", "", "file holding the plugin's secret (else LABELHUB_PLUGIN_SECRET)")
	f.IntVar(&concurrency, "concurrency", 1, "runs this process takes at once")
	_ = cmd.MarkFlagFilename("secret-file")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.checkOutput(); err != nil {
			return err
		}
		if list {
			var items []firstPartyInfo
			for _, p := range firstPartyPlugins() {
				items = append(items, firstPartyInfo{Name: p.Name, Title: p.Title, Type: string(p.Type), Description: p.Description})
			}
			return printList(cmd, o, items, []string{"NAME", "TITLE", "TYPE", "DESCRIPTION"}, func(p firstPartyInfo) []string {
				return []string{p.Name, p.Title, p.Type, p.Description}
			})
		}
		i := slices.IndexFunc(firstPartyPlugins(), func(p firstparty.Plugin) bool { return p.Name == args[0] })
		if i < 0 {
			return fmt.Errorf("no first-party plugin is named %q; the names are: %s", args[0], firstPartyNames())
		}
		e := firstPartyPlugins()[i]
		secret := os.Getenv("LABELHUB_PLUGIN_SECRET")
		if secretFile != "" {
			var err error
			if secret, err = readKeyFile(secretFile, "--secret-file"); err != nil {
				return err
			}
		}
		if id == "" || secret == "" {
			return errors.New("plugin serve needs the id and the secret of a plugin you registered (labelhub plugin create --type " +
				string(e.Type) + "): --id or LABELHUB_PLUGIN_ID, and --secret-file or LABELHUB_PLUGIN_SECRET")
		}
		if concurrency < 1 {
			return fmt.Errorf("--concurrency must be at least 1, not %d", concurrency)
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("plugin", e.Name)
		return plugin.Run(ctx, plugin.Config{Host: o.server, ID: id, Secret: secret, Concurrency: concurrency, Logger: log}, e.Handler())
	}
	return cmd
}
