package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, storageCommand)
}

// Environment variables that carry storage secrets, so that they need not
// be typed on the command line (where shell history and the process list
// would keep them).
const (
	envStorageSecret       = "LABELHUB_STORAGE_SECRET"        // S3 secret access key, or Azure account key
	envStorageSessionToken = "LABELHUB_STORAGE_SESSION_TOKEN" // S3 session token of temporary credentials
)

func storageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "storage",
		Aliases: []string{"storages"},
		Short:   "Connect the organisation's buckets: create, list, validate, browse, delete",
		Long: `Storage integrations give the hub access to the organisation's own buckets:
AWS S3 (s3), MinIO and other S3 APIs (s3-compatible), Google Cloud Storage
(gcs) and Azure Blob Storage (azure). Assets stay in the buckets; the hub keeps
the credentials, encrypted, and never shows them again.`,
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(storageCreateCommand(o), storageListCommand(o), storageShowCommand(o),
		storageValidateCommand(o), storageDeleteCommand(o), storageLsCommand(o))
	return cmd
}

type storageCreateFlags struct {
	name, provider, bucket, region, endpoint string
	pathStyle                                bool
	delivery                                 string
	signedURLTTL                             time.Duration
	accessKeyID                              string
	secretStdin                              bool
	serviceAccountFile                       string
	accountName                              string
	accountKeyStdin                          bool
	sasTokenStdin                            bool
	connectionStringStdin                    bool
}

func storageCreateCommand(o *clientOptions) *cobra.Command {
	var f storageCreateFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME --provider PROVIDER --bucket BUCKET [flags]",
		Short: "Create a storage integration (admins and project managers)",
		Long: `Create a storage integration. The hub checks the input's shape; run
"labelhub storage validate ID" afterwards to test access to the bucket.

Secrets are never flags (shell history and the process list would keep them).
They come from stdin, the environment or a file:

  s3, s3-compatible  --access-key-id ID, and the secret access key from stdin
                     with --secret-access-key-stdin, or from $` + envStorageSecret + `
                     (a session token, if any, from $` + envStorageSessionToken + `)
  gcs                --service-account-file FILE (the JSON key file; "-" for stdin)
  azure              --account-name NAME with the account key from stdin
                     (--account-key-stdin) or $` + envStorageSecret + `, or
                     --account-name NAME --sas-token-stdin, or
                     --connection-string-stdin

Endpoints on loopback, private or link-local addresses (a MinIO on the LAN)
are refused unless the hub runs with --allow-private-endpoints.`,
		Example: `  printf '%s' "$AWS_SECRET_ACCESS_KEY" | labelhub storage create --name "Street scenes" \
      --provider s3 --bucket acme-street-scenes --region eu-west-1 \
      --access-key-id AKIAIOSFODNN7EXAMPLE --secret-access-key-stdin
  LABELHUB_STORAGE_SECRET=… labelhub storage create --name MinIO --provider s3-compatible \
      --endpoint https://minio.example.com:9000 --bucket datasets --access-key-id labelhub
  labelhub storage create --name GCS --provider gcs --bucket acme-images --service-account-file key.json
  az storage account keys list … | labelhub storage create --name Azure --provider azure \
      --bucket scans --account-name acmevision --account-key-stdin`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "a name for people (required)")
	fl.StringVar(&f.provider, "provider", "", "s3, s3-compatible, gcs or azure (required)")
	fl.StringVar(&f.bucket, "bucket", "", "the bucket (Azure: the container) (required)")
	fl.StringVar(&f.region, "region", "", "s3: the bucket's AWS region, like eu-west-1")
	fl.StringVar(&f.endpoint, "endpoint", "", "the provider's base `URL` (required for s3-compatible, e.g. https://minio.example.com:9000)")
	fl.BoolVar(&f.pathStyle, "path-style", false, "s3: path-style URLs (s3-compatible always uses them)")
	fl.StringVar(&f.delivery, "delivery", "", "how browsers get assets: signed (redirect to signed URLs; needs CORS) or proxy (the hub streams them); default signed")
	fl.DurationVar(&f.signedURLTTL, "signed-url-ttl", 0, "how long signed URLs stay valid, 1m to 168h (default 15m)")
	fl.StringVar(&f.accessKeyID, "access-key-id", "", "s3, s3-compatible: the access key `ID`")
	fl.BoolVar(&f.secretStdin, "secret-access-key-stdin", false, "s3, s3-compatible: read the secret access key from stdin (else $"+envStorageSecret+")")
	fl.StringVar(&f.serviceAccountFile, "service-account-file", "", "gcs: the service account's JSON key `FILE` (\"-\" for stdin)")
	fl.StringVar(&f.accountName, "account-name", "", "azure: the storage account `NAME`")
	fl.BoolVar(&f.accountKeyStdin, "account-key-stdin", false, "azure: read the account key from stdin (else $"+envStorageSecret+")")
	fl.BoolVar(&f.sasTokenStdin, "sas-token-stdin", false, "azure: read a SAS token from stdin")
	fl.BoolVar(&f.connectionStringStdin, "connection-string-stdin", false, "azure: read a connection string from stdin")
	for _, name := range []string{"name", "provider", "bucket"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.MarkFlagsMutuallyExclusive("secret-access-key-stdin", "account-key-stdin", "sas-token-stdin", "connection-string-stdin")
	_ = cmd.MarkFlagFilename("service-account-file", "json")
	_ = cmd.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions(
		[]string{"s3", "s3-compatible", "gcs", "azure"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("delivery", cobra.FixedCompletions([]string{"signed", "proxy"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in, err := f.input(cmd.InOrStdin())
		if err != nil {
			return err
		}
		st, err := c.CreateStorage(cmd.Context(), in)
		if err != nil {
			return err
		}
		if err := printStorage(cmd, o, st); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Created storage integration %s. Test it with: labelhub storage validate %s\n", st.ID, st.ID)
		return nil
	})
	return cmd
}

// input builds the API input from the flags, reading the secrets.
func (f *storageCreateFlags) input(stdin io.Reader) (labelhub.StorageInput, error) {
	in := labelhub.StorageInput{
		Name: f.name, Provider: labelhub.StorageProvider(f.provider), Bucket: f.bucket, Region: f.region,
		Endpoint: f.endpoint, PathStyle: f.pathStyle, Delivery: labelhub.Delivery(f.delivery),
	}
	if f.signedURLTTL != 0 {
		if f.signedURLTTL%time.Second != 0 {
			return in, fmt.Errorf("--signed-url-ttl %s: give whole seconds", f.signedURLTTL)
		}
		in.SignedURLTTL = int(f.signedURLTTL / time.Second)
	}
	// The other provider's secret flags are refused, not ignored.
	used := map[string]bool{
		"--secret-access-key-stdin": f.secretStdin, "--service-account-file": f.serviceAccountFile != "",
		"--account-key-stdin": f.accountKeyStdin, "--sas-token-stdin": f.sasTokenStdin, "--connection-string-stdin": f.connectionStringStdin,
	}
	allowed := map[labelhub.StorageProvider][]string{
		labelhub.ProviderS3:           {"--secret-access-key-stdin"},
		labelhub.ProviderS3Compatible: {"--secret-access-key-stdin"},
		labelhub.ProviderGCS:          {"--service-account-file"},
		labelhub.ProviderAzure:        {"--account-key-stdin", "--sas-token-stdin", "--connection-string-stdin"},
	}
	if ok, known := allowed[in.Provider]; known {
		for _, flag := range []string{"--secret-access-key-stdin", "--service-account-file", "--account-key-stdin", "--sas-token-stdin", "--connection-string-stdin"} {
			if used[flag] && !slices.Contains(ok, flag) {
				return in, fmt.Errorf("%s is not for provider %s (use %s)", flag, in.Provider, strings.Join(ok, ", "))
			}
		}
	}
	cr := &in.Credentials
	cr.AccessKeyID = f.accessKeyID
	cr.AccountName = f.accountName
	stdinSecret := func(what string) (string, error) { return readSecret(stdin, what) }
	envSecret := strings.TrimRight(os.Getenv(envStorageSecret), "\r\n")
	var err error
	switch in.Provider {
	case labelhub.ProviderS3, labelhub.ProviderS3Compatible:
		switch {
		case f.secretStdin:
			cr.SecretAccessKey, err = stdinSecret("the secret access key")
		case envSecret != "":
			cr.SecretAccessKey = envSecret
		default:
			return in, fmt.Errorf("%s needs the secret access key: pipe it in with --secret-access-key-stdin, or set %s", in.Provider, envStorageSecret)
		}
		cr.SessionToken = strings.TrimRight(os.Getenv(envStorageSessionToken), "\r\n")
	case labelhub.ProviderGCS:
		if f.serviceAccountFile == "" {
			return in, errors.New("gcs needs --service-account-file FILE: the JSON key file of a service account (\"-\" reads it from stdin)")
		}
		var b []byte
		if f.serviceAccountFile == "-" {
			b, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
		} else {
			b, err = os.ReadFile(f.serviceAccountFile)
		}
		if err != nil {
			return in, fmt.Errorf("--service-account-file: %w", err)
		}
		cr.ServiceAccountJSON = strings.TrimSpace(string(b))
	case labelhub.ProviderAzure:
		switch {
		case f.connectionStringStdin:
			cr.ConnectionString, err = stdinSecret("the connection string")
		case f.sasTokenStdin:
			cr.SASToken, err = stdinSecret("the SAS token")
		case f.accountKeyStdin:
			cr.AccountKey, err = stdinSecret("the account key")
		case envSecret != "":
			cr.AccountKey = envSecret
		default:
			return in, fmt.Errorf("azure needs --account-name NAME with the account key (--account-key-stdin, or set %s) or --sas-token-stdin, or --connection-string-stdin", envStorageSecret)
		}
	}
	return in, err
}

// storageWhere is where a bucket is: its endpoint, else its region.
func storageWhere(st labelhub.Storage) string {
	switch {
	case st.Endpoint != "":
		return st.Endpoint
	case st.AccountName != "":
		return st.AccountName
	}
	return st.Region
}

func storageListCommand(o *clientOptions) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the organisation's storage integrations",
		Args:  cobra.NoArgs,
	}
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		items, err := collect(cmd.Context(), limit, c.ListStorages)
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "NAME", "PROVIDER", "BUCKET", "WHERE", "DELIVERY", "CREDENTIALS"}, func(st labelhub.Storage) []string {
			return []string{st.ID, st.Name, string(st.Provider), st.Bucket, storageWhere(st), string(st.Delivery), strings.Join(st.CredentialFields, ",")}
		})
	})
	return cmd
}

func completeStorages(o *clientOptions) cobra.CompletionFunc {
	return completeIDs(o, func(c *client.Client) func(context.Context, labelhub.PageRequest) (labelhub.Page[labelhub.Storage], error) {
		return c.ListStorages
	}, func(st labelhub.Storage) (string, string) {
		return st.ID, st.Name + " (" + string(st.Provider) + " " + st.Bucket + ")"
	})
}

func storageShowCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "show ID",
		Aliases:           []string{"get"},
		Short:             "Show a storage integration (never its secrets)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completeStorages(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		st, err := c.GetStorage(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return printStorage(cmd, o, st)
	})
	return cmd
}

func printStorage(cmd *cobra.Command, o *clientOptions, st labelhub.Storage) error {
	fields := [][2]string{
		{"ID", st.ID},
		{"Name", st.Name},
		{"Provider", string(st.Provider)},
		{"Bucket", st.Bucket},
	}
	if st.Region != "" {
		fields = append(fields, [2]string{"Region", st.Region})
	}
	if st.Endpoint != "" {
		fields = append(fields, [2]string{"Endpoint", st.Endpoint})
	}
	if st.Provider == labelhub.ProviderS3 || st.Provider == labelhub.ProviderS3Compatible {
		fields = append(fields, [2]string{"Path style", yesNo(st.PathStyle)})
	}
	if st.AccountName != "" {
		fields = append(fields, [2]string{"Account", st.AccountName})
	}
	credentials := strings.Join(st.CredentialFields, ", ")
	if credentials == "" {
		credentials = "-"
	}
	fields = append(fields,
		[2]string{"Delivery", string(st.Delivery)},
		[2]string{"Signed URLs", "valid " + shortDuration(time.Duration(st.SignedURLTTL)*time.Second)},
		[2]string{"Credentials", credentials + " (set; never shown)"},
		[2]string{"Created", when(st.CreatedAt)},
		[2]string{"Created by", st.CreatedBy},
	)
	return printFields(cmd, o, st, fields)
}

// shortDuration prints 15m rather than 15m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// errChecksFailed is returned by storage validate when a check failed, so
// that the command exits with status 1.
type errChecksFailed struct {
	failed  []string // the checks that failed
	skipped int      // the checks that could not run because of those
}

func (e *errChecksFailed) Error() string {
	msg := "validation failed: " + strings.Join(e.failed, ", ")
	if e.skipped > 0 {
		msg += fmt.Sprintf(" (%d more skipped)", e.skipped)
	}
	return msg
}

func storageValidateCommand(o *clientOptions) *cobra.Command {
	var origin string
	cmd := &cobra.Command{
		Use:   "validate ID",
		Short: "Test a storage integration against its bucket",
		Long: `Have the hub test a storage integration: the credentials are accepted, the
bucket exists, listing and reading are allowed, and the bucket's CORS lets
browsers on the hub's origin fetch signed URLs. Each check is shown with ✓ or
✗ and what to change. The exit status is 1 when a check failed.`,
		Example:           `  labelhub storage validate 01jq3v7c8m5x9t2b4n6r8w0yza --origin https://hub.example.com`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completeStorages(o)),
	}
	cmd.Flags().StringVar(&origin, "origin", "", "the hub's public origin the CORS check uses, like https://hub.example.com (default: --server)")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		v, err := c.ValidateStorage(cmd.Context(), args[0], origin)
		if err != nil {
			return err
		}
		if o.jsonOut() {
			if err := writeJSON(cmd.OutOrStdout(), v); err != nil {
				return err
			}
		} else {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, ch := range v.Checks {
				mark := "✗"
				if ch.OK {
					mark = "✓"
				}
				fmt.Fprintf(tw, "%s %s\t%s\n", mark, ch.Name, oneLine(ch.Message))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if !v.OK {
			e := &errChecksFailed{}
			for _, ch := range v.Checks {
				switch {
				case ch.OK:
				case strings.HasPrefix(ch.Message, "skipped"):
					e.skipped++
				default:
					e.failed = append(e.failed, ch.Name)
				}
			}
			if len(e.failed) == 0 { // only skipped checks: name them
				e.failed, e.skipped = nil, 0
				for _, ch := range v.Checks {
					if !ch.OK {
						e.failed = append(e.failed, ch.Name)
					}
				}
			}
			return e
		}
		return nil
	})
	return cmd
}

func storageDeleteCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "delete ID",
		Aliases:           []string{"rm"},
		Short:             "Delete a storage integration (the bucket is not touched)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completeStorages(o)),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeleteStorage(cmd.Context(), args[0]); err != nil {
			return err
		}
		if !o.jsonOut() {
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted storage integration %s.\n", args[0])
		}
		return nil
	})
	return cmd
}

// objectsPageSize is the page size storage ls asks for when it walks a
// folder; the most the hub gives (tests lower it).
var objectsPageSize = labelhub.MaxPageLimit

func storageLsCommand(o *clientOptions) *cobra.Command {
	var limit int
	var cursor string
	cmd := &cobra.Command{
		Use:   "ls ID [PREFIX]",
		Short: "List one folder level of a storage integration's bucket",
		Long: `List the folders and files directly under PREFIX (the top level without one):
folders first, then files with their size and whether they are assets the hub
can import. All pages are listed unless --limit is given; then the command
says how to continue (--cursor).`,
		Example: `  labelhub storage ls 01jq3v7c8m5x9t2b4n6r8w0yza images/2024/
  labelhub storage ls 01jq3v7c8m5x9t2b4n6r8w0yza --limit 50 -o json`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: firstArg(completeStorages(o)),
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many entries (default: all, walking every page)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue a listing cut by --limit where it stopped")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if limit < 0 {
			return fmt.Errorf("--limit must be positive, not %d", limit)
		}
		prefix := ""
		if len(args) == 2 {
			prefix = args[1]
		}
		items := []client.Object{}
		next := cursor
		for {
			size := objectsPageSize
			if limit > 0 && limit-len(items) < size {
				size = limit - len(items)
			}
			page, err := c.ListObjects(cmd.Context(), args[0], prefix, next, size)
			if err != nil {
				return err
			}
			items = append(items, page.Items...)
			if page.NextCursor != "" && page.NextCursor == next {
				return fmt.Errorf("the hub answered the same cursor twice; stopping")
			}
			next = page.NextCursor
			if next == "" || (limit > 0 && len(items) >= limit) {
				break
			}
		}
		// Folders first, then files, each in the bucket's order.
		sorted := make([]client.Object, 0, len(items))
		for _, it := range items {
			if it.IsFolder() {
				sorted = append(sorted, it)
			}
		}
		for _, it := range items {
			if !it.IsFolder() {
				sorted = append(sorted, it)
			}
		}
		if err := printObjects(cmd, o, sorted); err != nil {
			return err
		}
		if next != "" {
			more := fmt.Sprintf("labelhub storage ls %s", args[0])
			if prefix != "" {
				more += " " + shellQuote(prefix)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "More entries follow: %s --limit %d --cursor %s\n", more, limit, next)
		}
		return nil
	})
	return cmd
}

func printObjects(cmd *cobra.Command, o *clientOptions, items []client.Object) error {
	if o.jsonOut() {
		return writeJSON(cmd.OutOrStdout(), items)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSIZE\tMODIFIED\tASSET")
	for _, it := range items {
		if it.IsFolder() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(it.Key), "-", "-", "folder")
			continue
		}
		asset := "no"
		if it.ValidAsset {
			asset = "yes (" + string(it.AssetType) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(it.Key), humanBytes(it.Size), whenPtr(it.ModTime), asset)
	}
	return tw.Flush()
}

// humanBytes prints a size the way ls -h does, in binary units.
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
		}
	}
	return ""
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
