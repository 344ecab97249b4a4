package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
	"github.com/labelhub/labelhub/assetmeta"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/probe"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/web"
)

type serveOptions struct {
	addr, data, db, artifacts string
	adminEmail                string
	secureCookies             bool
	allowPrivateEndpoints     bool
	maxBody                   int64
	logLevel, logFormat       string
	importStaleAfter          time.Duration
	importBatchSize           int
	importLimits              importer.Limits
	probeWorkers              int
	probeTimeout              time.Duration
	pluginQueueTimeout        time.Duration
	pluginRunTimeout          time.Duration
	socketIOConcurrency       int
	artifactMaxBytes          int64
	artifactTTL               time.Duration
	firstParty                bool
	firstPartyConcurrency     int
	importMaxPerOrg           int
	pluginMaxQueuedRuns       int
	debugAddr                 string
}

func serveCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hub (SQLite and a local folder by default)",
		Long: `Run the hub. With no settings it keeps its metadata in SQLite at DATA/labelhub.db
and runs' result files under DATA/artifacts. On first start with an empty database it
creates an organisation and an admin user, and writes the admin's API key to
DATA/initial-admin-key and the admin's password to DATA/initial-admin-password
(both mode 0600).

Every flag has an environment variable: LABELHUB_ADDR, LABELHUB_DATA,
LABELHUB_DB, LABELHUB_ARTIFACTS, LABELHUB_ADMIN_EMAIL, LABELHUB_MAX_BODY,
LABELHUB_SECURE_COOKIES (true), LABELHUB_ALLOW_PRIVATE_ENDPOINTS (true),
LABELHUB_LOG_LEVEL, LABELHUB_LOG_FORMAT, LABELHUB_PROBE_WORKERS, LABELHUB_PROBE_TIMEOUT.

The first-party plugins (converters, File Explorer) run inside the hub,
ready in every organisation; --first-party-plugins=false turns them off.

Storage credentials are encrypted with the key in LABELHUB_SECRET_KEY (base64
of 32 bytes), or else DATA/secret-key, generated on first start. Several
replicas must share one key: set LABELHUB_SECRET_KEY on each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", envDefault("LABELHUB_ADDR", "127.0.0.1:8080"), "address to listen on")
	f.StringVar(&o.data, "data", envDefault("LABELHUB_DATA", "./labelhub-data"), "data folder (SQLite file, artifacts, initial credentials)")
	f.StringVar(&o.db, "db", envDefault("LABELHUB_DB", ""), "database: postgres://… for PostgreSQL; empty for SQLite in the data folder")
	f.StringVar(&o.artifacts, "artifacts", envDefault("LABELHUB_ARTIFACTS", ""),
		"where runs' result files are kept: a folder, or s3://bucket/prefix?endpoint=…&region=… (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); empty for DATA/artifacts")
	artMax, err := strconv.ParseInt(envDefault("LABELHUB_ARTIFACT_MAX_BYTES", strconv.Itoa(artifacts.DefaultMaxBytes)), 10, 64)
	if err != nil {
		artMax = artifacts.DefaultMaxBytes
	}
	f.Int64Var(&o.artifactMaxBytes, "artifact-max-bytes", artMax, "largest result file a plugin run may upload, in bytes (LABELHUB_ARTIFACT_MAX_BYTES; 10 GiB)")
	artTTL, err := time.ParseDuration(envDefault("LABELHUB_ARTIFACT_TTL", artifacts.DefaultTTL.String()))
	if err != nil {
		artTTL = artifacts.DefaultTTL
	}
	f.DurationVar(&o.artifactTTL, "artifact-ttl", artTTL, "how long result files are kept after their upload; then they are deleted and downloads answer 410 (LABELHUB_ARTIFACT_TTL)")
	f.StringVar(&o.adminEmail, "admin-email", envDefault("LABELHUB_ADMIN_EMAIL", "admin@example.com"), "email of the admin created on first start")
	f.BoolVar(&o.secureCookies, "secure-cookies", envDefault("LABELHUB_SECURE_COOKIES", "") == "true", "mark cookies Secure (set when a TLS proxy fronts the hub)")
	f.BoolVar(&o.allowPrivateEndpoints, "allow-private-endpoints", envDefault("LABELHUB_ALLOW_PRIVATE_ENDPOINTS", "") == "true",
		"let storage endpoints and server-side fetches reach loopback, private and link-local addresses (a MinIO on the LAN)")
	maxBody, _ := strconv.ParseInt(envDefault("LABELHUB_MAX_BODY", strconv.Itoa(httpapi.DefaultMaxBodyBytes)), 10, 64)
	f.Int64Var(&o.maxBody, "max-body", maxBody, "largest JSON request body in bytes")
	stale, _ := time.ParseDuration(envDefault("LABELHUB_IMPORT_STALE_AFTER", "15s"))
	f.DurationVar(&o.importStaleAfter, "import-stale-after", stale,
		"a running import whose process has not sent a heartbeat for this long is taken over and resumed (several replicas share one database)")
	batch, _ := strconv.Atoi(envDefault("LABELHUB_IMPORT_BATCH_SIZE", "2000"))
	f.IntVar(&o.importBatchSize, "import-batch-size", batch, "items per import transaction")
	importLimitFlags(f, &o.importLimits)
	intFlag := func(v *int, name, env string, def int, help string) {
		n, err := strconv.Atoi(envDefault(env, strconv.Itoa(def)))
		if err != nil {
			n = def
		}
		f.IntVar(v, name, n, help+" ("+env+")")
	}
	intFlag(&o.importMaxPerOrg, "import-max-concurrent-per-org", "LABELHUB_IMPORT_MAX_CONCURRENT_PER_ORG", imports.DefaultMaxConcurrentPerOrg,
		"imports of one organisation queued or running at once, on all replicas; one more is refused with 429 (0: no limit)")
	intFlag(&o.pluginMaxQueuedRuns, "plugin-max-queued-runs", "LABELHUB_PLUGIN_MAX_QUEUED_RUNS", pluginhub.DefaultMaxQueuedRuns,
		"queued runs of one plugin in one organisation, on all replicas; one more is refused with 429 (0: no limit)")
	probeWorkers, err := strconv.Atoi(envDefault("LABELHUB_PROBE_WORKERS", strconv.Itoa(assetmeta.DefaultWorkers)))
	if err != nil {
		probeWorkers = assetmeta.DefaultWorkers
	}
	f.IntVar(&o.probeWorkers, "probe-workers", probeWorkers,
		"how many imported assets have their missing width/height/frame timing read at once, in the background (0 disables the metadata probe)")
	probeTimeout, err := time.ParseDuration(envDefault("LABELHUB_PROBE_TIMEOUT", probe.DefaultTimeout.String()))
	if err != nil {
		probeTimeout = probe.DefaultTimeout
	}
	f.DurationVar(&o.probeTimeout, "probe-timeout", probeTimeout, "time limit of the metadata probe of one asset")
	firstPartyFlags(f, &o.firstParty, &o.firstPartyConcurrency)
	durationFlag := func(v *time.Duration, name, env string, def time.Duration, help string) {
		d, err := time.ParseDuration(envDefault(env, def.String()))
		if err != nil {
			d = def
		}
		f.DurationVar(v, name, d, help+" ("+env+")")
	}
	durationFlag(&o.pluginQueueTimeout, "plugin-queue-timeout", "LABELHUB_PLUGIN_QUEUE_TIMEOUT", 5*time.Minute,
		"how long a run waits for a plugin process with room; then it is timed_out")
	durationFlag(&o.pluginRunTimeout, "plugin-run-timeout", "LABELHUB_PLUGIN_RUN_TIMEOUT", time.Hour,
		"how long a plugin run may run; then it is timed_out")
	sioConc, err := strconv.Atoi(envDefault("LABELHUB_PYTHON_PLUGIN_CONCURRENCY", strconv.Itoa(pluginhub.DefaultSocketIOConcurrency)))
	if err != nil {
		sioConc = pluginhub.DefaultSocketIOConcurrency
	}
	f.IntVar(&o.socketIOConcurrency, "python-plugin-concurrency", sioConc,
		"runs given at once to one process of a Python plugin of the model hub's SDK (LABELHUB_PYTHON_PLUGIN_CONCURRENCY)")
	f.StringVar(&o.debugAddr, "debug-addr", envDefault("LABELHUB_DEBUG_ADDR", ""),
		"serve Go's profiles (/debug/pprof/) on this address, to loopback clients only; empty: off (LABELHUB_DEBUG_ADDR)")
	f.StringVar(&o.logLevel, "log-level", envDefault("LABELHUB_LOG_LEVEL", "info"), "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", envDefault("LABELHUB_LOG_FORMAT", "text"), "text or json")
	return cmd
}

func serve(ctx context.Context, o serveOptions) error {
	log, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	if o.debugAddr != "" {
		if err := serveDebug(ctx, o.debugAddr, log); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(o.data, "blobs"), 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	dsn := o.db
	if dsn == "" {
		dsn = filepath.Join(o.data, "labelhub.db")
	}
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("database ready", "dialect", store.Dialect())
	if err := bootstrap(ctx, store, o, log); err != nil {
		return err
	}

	key, created, err := seal.LoadKey(o.data)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated the key that encrypts storage credentials; back it up", "file", filepath.Join(o.data, seal.KeyFileName))
	}
	box, err := seal.New(key)
	if err != nil {
		return err
	}
	storages := storage.NewService(store, storage.Options{Box: box, AllowPrivateEndpoints: o.allowPrivateEndpoints})
	defer storages.Close()

	// Import jobs spool their bodies under DATA/imports; imports left
	// running by a process that died are resumed (now and whenever their
	// heartbeat goes stale); a shutdown stops them at a batch boundary,
	// resumable at the next start.
	// The metadata probe reads what imported assets lack (width, height,
	// frame rate, frame count) from their files; every committed import
	// batch wakes it. Claims it holds at shutdown are given back.
	var importStore imports.Store = store
	if o.probeWorkers > 0 {
		if o.probeTimeout <= 0 {
			return fmt.Errorf("--probe-timeout must be positive, not %s", o.probeTimeout)
		}
		probes := assetmeta.New(assetmeta.Config{Store: store, Storage: storages, Workers: o.probeWorkers, Logger: log,
			Probe: probe.Options{AllowPrivate: o.allowPrivateEndpoints, Timeout: o.probeTimeout}})
		probes.Start()
		defer probes.Close()
		importStore = assetmeta.WakeOnImport(store, probes)
	}
	runner := imports.New(imports.Config{Store: importStore, SpoolDir: filepath.Join(o.data, "imports"), Logger: log,
		Integrations: httpapi.StorageIntegrations(storages), StaleAfter: o.importStaleAfter, BatchSize: o.importBatchSize,
		Limits: o.importLimits, Buckets: storages.Bucket, MaxConcurrentPerOrg: unlimitedIfZero(o.importMaxPerOrg)})
	defer runner.Close()
	go runner.Watch(ctx)
	plugins := pluginhub.New(pluginhub.Config{Store: store, Logger: log, NewToken: sqlstore.NewRunToken,
		QueueTimeout: o.pluginQueueTimeout, RunTimeout: o.pluginRunTimeout, SocketIOConcurrency: o.socketIOConcurrency,
		MaxQueuedRuns: unlimitedIfZero(o.pluginMaxQueuedRuns)})
	defer plugins.Close()
	ui, err := web.New(web.Config{Store: store, Logger: log, SecureCookies: o.secureCookies, Storage: storages, Imports: runner, Plugins: plugins})
	if err != nil {
		return err
	}
	// Runs' result files: a local folder or an S3 bucket; the sweeper
	// deletes them after --artifact-ttl.
	if o.artifactMaxBytes <= 0 || o.artifactTTL <= 0 {
		return fmt.Errorf("--artifact-max-bytes and --artifact-ttl must be positive")
	}
	artLoc, err := artifacts.ParseLocation(o.artifacts, o.data)
	if err != nil {
		return err
	}
	artBlobs, err := artifacts.Open(ctx, artLoc)
	if err != nil {
		return err
	}
	defer artBlobs.Close()
	arts := &artifacts.Service{Blobs: artBlobs, Records: store, MaxBytes: o.artifactMaxBytes, TTL: o.artifactTTL, Logger: log}
	go arts.Watch(ctx, min(10*time.Minute, o.artifactTTL/4+time.Second))
	handler := httpapi.New(httpapi.Config{Store: store, Logger: log, MaxBodyBytes: o.maxBody, Version: version, Storage: storages, Fallback: ui, Imports: runner,
		Plugins: plugins, RunTokens: store, Artifacts: arts, URLKey: httpapi.URLKeyFrom(key)})

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("labelhub serving", "url", "http://"+ln.Addr().String(), "version", version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The first-party plugins dial this very listener; they stop first.
	stopFirstParty := func() {}
	if o.firstParty {
		if stopFirstParty, err = startFirstParty(ctx, store, key, loopbackURL(ln.Addr()), firstPartyPlugins(), o.firstPartyConcurrency, log); err != nil {
			srv.Close()
			return err
		}
	}
	select {
	case err := <-errc:
		stopFirstParty()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopFirstParty()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bootstrap creates the first organisation and its admin on an empty
// database and writes the admin's credentials into the data folder.
func bootstrap(ctx context.Context, store *sqlstore.Store, o serveOptions, log *slog.Logger) error {
	n, err := store.CountOrgs(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := make([]byte, 18)
	_, _ = rand.Read(pw)
	password := base64.RawURLEncoding.EncodeToString(pw)
	_, admin, key, err := store.CreateOrg(ctx, labelhub.NewOrg{Name: "Default organization", AdminEmail: o.adminEmail, AdminName: "Admin", AdminPassword: password}, true)
	if err != nil {
		return fmt.Errorf("create the first organisation: %w", err)
	}
	keyPath := filepath.Join(o.data, "initial-admin-key")
	pwPath := filepath.Join(o.data, "initial-admin-password")
	if err := os.WriteFile(keyPath, []byte(key+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pwPath, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	log.Info("created the first organisation and its admin", "email", admin.Email, "apiKeyFile", keyPath, "passwordFile", pwPath)
	return nil
}

// unlimitedIfZero maps a limit flag, where 0 means no limit, to the
// packages' configs, where 0 means the default and a negative value no
// limit.
func unlimitedIfZero(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// importLimitFlags adds a flag (and LABELHUB_ env variable) for each limit
// of import files; the decoder's messages name these flags. Zero keeps the
// default.
func importLimitFlags(f *pflag.FlagSet, l *importer.Limits) {
	d := importer.DefaultLimits()
	for _, x := range []struct {
		name, env, help string
		v               *int
		def             int
	}{
		{"import-max-items", "LABELHUB_IMPORT_MAX_ITEMS", "assets in one import file", &l.MaxItems, d.MaxItems},
		{"import-max-item-bytes", "LABELHUB_IMPORT_MAX_ITEM_BYTES", "bytes of one asset object in an import file", &l.MaxItemBytes, d.MaxItemBytes},
		{"import-max-string-bytes", "LABELHUB_IMPORT_MAX_STRING_BYTES", "bytes of one string (data, externalId, …) in an import file", &l.MaxStringBytes, d.MaxStringBytes},
		{"import-max-depth", "LABELHUB_IMPORT_MAX_DEPTH", "nesting depth of one asset object", &l.MaxDepth, d.MaxDepth},
		{"import-max-dataset-pages", "LABELHUB_IMPORT_MAX_DATASET_PAGES", "pages of a multi-page asset", &l.MaxDatasetPages, d.MaxDatasetPages},
		{"import-max-attachments", "LABELHUB_IMPORT_MAX_ATTACHMENTS", "attachments of one asset", &l.MaxAttachments, d.MaxAttachments},
		{"import-max-batches-per-item", "LABELHUB_IMPORT_MAX_BATCHES_PER_ITEM", "batches named by one asset", &l.MaxBatchesPerItem, d.MaxBatchesPerItem},
	} {
		def, err := strconv.Atoi(envDefault(x.env, strconv.Itoa(x.def)))
		if err != nil {
			def = x.def
		}
		f.IntVar(x.v, x.name, def, x.help+" ("+x.env+")")
	}
}
