package main

// The plumbing of the commands that talk to a running hub: connection and
// output flags, the API client, error messages, tables and completion.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// defaultServer is the hub's address unless --server or LABELHUB_SERVER say otherwise.
const defaultServer = "http://127.0.0.1:8080"

// clientOptions are the flags every client command group shares.
type clientOptions struct {
	server     string
	apiKey     string
	apiKeyFile string
	output     string
	timeout    time.Duration
}

// addClientFlags adds the connection flags (--server, --api-key,
// --api-key-file, --timeout) and, with withOutput, -o/--output to cmd as
// persistent flags, so that cmd and all its subcommands accept them.
func addClientFlags(cmd *cobra.Command, withOutput bool) *clientOptions {
	o := &clientOptions{output: "table"}
	f := cmd.PersistentFlags()
	f.StringVar(&o.server, "server", envDefault("LABELHUB_SERVER", defaultServer), "the hub's URL (env LABELHUB_SERVER)")
	// The key's default is not the environment's value: it would show in --help.
	f.StringVar(&o.apiKey, "api-key", "", "API key (env LABELHUB_API_KEY); prefer --api-key-file, which keeps it out of the process list")
	f.StringVar(&o.apiKeyFile, "api-key-file", "", "file holding the API key, e.g. DATA/initial-admin-key (env LABELHUB_API_KEY_FILE)")
	f.DurationVar(&o.timeout, "timeout", time.Minute, "time limit of each request to the hub")
	if withOutput {
		f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
		_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	}
	_ = cmd.MarkPersistentFlagFilename("api-key-file")
	return o
}

// errNoAPIKey is what a client command says when it has no key to send.
var errNoAPIKey = errors.New("no API key: pass --api-key KEY or --api-key-file FILE, or set LABELHUB_API_KEY " +
	"(a new hub writes its first admin's key to DATA/initial-admin-key)")

// key finds the API key: --api-key, --api-key-file, LABELHUB_API_KEY,
// LABELHUB_API_KEY_FILE, in that order.
func (o *clientOptions) key() (string, error) {
	if o.apiKey != "" && o.apiKeyFile != "" {
		return "", errors.New("give --api-key or --api-key-file, not both")
	}
	switch {
	case o.apiKey != "":
		return strings.TrimSpace(o.apiKey), nil
	case o.apiKeyFile != "":
		return readKeyFile(o.apiKeyFile, "--api-key-file")
	case os.Getenv("LABELHUB_API_KEY") != "":
		return strings.TrimSpace(os.Getenv("LABELHUB_API_KEY")), nil
	case os.Getenv("LABELHUB_API_KEY_FILE") != "":
		return readKeyFile(os.Getenv("LABELHUB_API_KEY_FILE"), "LABELHUB_API_KEY_FILE")
	}
	return "", errNoAPIKey
}

func readKeyFile(path, from string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("%s: %s is empty", from, path)
	}
	return key, nil
}

// client makes the API client from the flags.
func (o *clientOptions) client() (*client.Client, error) {
	server := strings.TrimSpace(o.server)
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not a hub URL like %s", o.server, defaultServer)
	}
	key, err := o.key()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: o.timeout}
	return client.New(server, key, client.WithHTTPClient(hc), client.WithUserAgent("labelhub-cli/"+version)), nil
}

func (o *clientOptions) jsonOut() bool { return o.output == "json" }

func (o *clientOptions) checkOutput() error {
	switch o.output {
	case "table", "json":
		return nil
	}
	return fmt.Errorf("-o/--output must be table or json, not %q", o.output)
}

// run adapts a command body that needs the API client to cobra: it checks
// the flags, makes the client and explains the errors.
func (o *clientOptions) run(fn func(cmd *cobra.Command, args []string, c *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.checkOutput(); err != nil {
			return err
		}
		c, err := o.client()
		if err != nil {
			return err
		}
		return o.explain(fn(cmd, args, c))
	}
}

// apiError prints an API error with its message first and then each
// field detail on its own line as "path: message".
type apiError struct {
	err  *labelhub.Error
	hint string
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Message)
	for _, d := range e.err.Details {
		b.WriteString("\n  ")
		b.WriteString(d.Path)
		b.WriteString(": ")
		b.WriteString(d.Message)
	}
	if e.hint != "" {
		b.WriteString("\n  (")
		b.WriteString(e.hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *apiError) Unwrap() error { return e.err }

// explain makes errors from the hub or the network readable on a terminal.
func (o *clientOptions) explain(err error) error {
	if err == nil {
		return nil
	}
	var e *labelhub.Error
	if errors.As(err, &e) {
		hint := ""
		switch e.Code {
		case labelhub.ECodeUnauthorized:
			hint = "check --api-key, --api-key-file or LABELHUB_API_KEY"
		case labelhub.ECodeForbidden:
			hint = "the API key's user lacks the role for this"
		}
		return &apiError{err: e, hint: hint}
	}
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) {
		if ue.Timeout() {
			return fmt.Errorf("the hub at %s did not answer in time (--timeout %s): %w", o.server, o.timeout, err)
		}
		return fmt.Errorf("cannot reach the hub at %s (set --server or LABELHUB_SERVER): %w", o.server, err)
	}
	return err
}

// listPageSize is the page size of the lists the commands walk; the
// largest the hub allows, for the fewest round trips (tests lower it).
var listPageSize = labelhub.MaxPageLimit

// collect returns a list's items: all of them, walking every page, or the
// first limit when limit > 0.
func collect[T any](ctx context.Context, limit int, list func(context.Context, labelhub.PageRequest) (labelhub.Page[T], error)) ([]T, error) {
	if limit < 0 {
		return nil, fmt.Errorf("--limit must be positive, not %d", limit)
	}
	pageSize := listPageSize
	if limit > 0 && limit < pageSize {
		pageSize = limit
	}
	sized := func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[T], error) {
		p.Limit = pageSize
		return list(ctx, p)
	}
	items := []T{} // an empty list prints as [], not null
	for item, err := range client.All(ctx, sized) {
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if limit > 0 && len(items) >= limit {
			break
		}
	}
	return items, nil
}

// addLimitFlag adds --limit to a list command.
func addLimitFlag(cmd *cobra.Command, limit *int) {
	cmd.Flags().IntVar(limit, "limit", 0, "show at most this many items (default: all, walking every page)")
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList prints items as a table with a header, or as a JSON array.
func printList[T any](cmd *cobra.Command, o *clientOptions, items []T, header []string, row func(T) []string) error {
	if o.jsonOut() {
		return writeJSON(cmd.OutOrStdout(), items)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, it := range items {
		cells := row(it)
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printFields prints one object as aligned "Key: value" lines, or v as JSON.
func printFields(cmd *cobra.Command, o *clientOptions, v any, fields [][2]string) error {
	if o.jsonOut() {
		return writeJSON(cmd.OutOrStdout(), v)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], oneLine(f[1]))
	}
	return tw.Flush()
}

// cell makes a value fit a table cell: one line, at most 60 characters.
func cell(s string) string {
	s = oneLine(s)
	const max = 60
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }), " ")
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// completeIDs completes the ids of a list, described by their names, by
// asking the hub; when that fails (no key, hub down) it offers nothing.
func completeIDs[T any](o *clientOptions, list func(c *client.Client) func(context.Context, labelhub.PageRequest) (labelhub.Page[T], error), describe func(T) (id, desc string)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := o.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		items, err := collect(ctx, labelhub.MaxPageLimit, list(c))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, it := range items {
			id, desc := describe(it)
			if strings.HasPrefix(id, toComplete) {
				out = append(out, cobra.CompletionWithDesc(id, oneLine(desc)))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArg restricts a completion to the first positional argument.
func firstArg(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(cmd, args, toComplete)
	}
}

func completeProjects(o *clientOptions) cobra.CompletionFunc {
	return completeIDs(o, func(c *client.Client) func(context.Context, labelhub.PageRequest) (labelhub.Page[labelhub.Project], error) {
		return c.ListProjects
	}, func(p labelhub.Project) (string, string) { return p.ID, p.Name })
}

func completeUsers(o *clientOptions) cobra.CompletionFunc {
	return completeIDs(o, func(c *client.Client) func(context.Context, labelhub.PageRequest) (labelhub.Page[labelhub.User], error) {
		return c.ListUsers
	}, func(u labelhub.User) (string, string) { return u.ID, u.Email })
}

// readSecret reads a password from r: its first line, without the newline.
func readSecret(r io.Reader, what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	s, _, _ := strings.Cut(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return "", fmt.Errorf("%s on stdin is empty", what)
	}
	return s, nil
}
