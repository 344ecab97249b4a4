package imports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
)

// Store is what the runner needs of the store.
type Store interface {
	labelhub.ImportStore
	labelhub.AssetStore
	labelhub.ProjectStore
	// CommitLabelBatch sets the answers of a label import's entries,
	// keeps the answers they replace for a rollback, and commits the
	// batch, in one transaction; it returns the indexes of ups whose
	// externalId names no asset of the project (counted invalid, with an
	// error).
	CommitLabelBatch(ctx context.Context, b labelhub.ImportBatch, userID string, ups []labelhub.LabelUpdate) ([]int, labelhub.ImportCounts, error)
	// CreateImportLimited is CreateImport refused with
	// labelhub.TooManyImports, nothing created, when the organisation has
	// maxActive imports queued or running already (maxActive <= 0: no
	// limit); the count and the insert must be race-free across
	// processes sharing the database.
	CreateImportLimited(ctx context.Context, im labelhub.Import, maxActive int) error
}

// DefaultMaxConcurrentPerOrg is the default of Config.MaxConcurrentPerOrg.
const DefaultMaxConcurrentPerOrg = 8

// Config configures a Runner.
type Config struct {
	Store Store
	// SpoolDir keeps the bodies of imports (<id>.body) until they finish.
	SpoolDir string
	// Integrations returns the organisation's storage integrations by id,
	// for the URLs of items; nil means none.
	Integrations func(ctx context.Context, orgID string) (map[string]assetref.Integration, error)
	// Buckets opens an organisation's bucket by storage integration id,
	// for folder imports (storage.Service.Bucket); nil refuses them.
	Buckets func(ctx context.Context, orgID, storageID string) (*storage.Bucket, error)
	Logger  *slog.Logger
	// BatchSize is the number of items per transaction (default 2000).
	BatchSize int
	// Heartbeat is how often a running job says it is alive (default 3 s);
	// StaleAfter is how old a heartbeat must be for another runner to take
	// the job over (default 15 s).
	Heartbeat, StaleAfter time.Duration
	Limits                importer.Limits
	// ID names this runner in imports.runner (default: host, pid, time).
	ID string
	// MaxConcurrentPerOrg bounds the imports of one organisation queued
	// or running at once, on all processes sharing the database; one more
	// is refused with ECodeRateLimited (--import-max-concurrent-per-org).
	// 0 means DefaultMaxConcurrentPerOrg, a negative value no limit.
	MaxConcurrentPerOrg int
}

// Runner runs import jobs. It is safe for concurrent use.
type Runner struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	jobs   map[string]*job
	closed bool
}

type job struct {
	id     string
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a runner; call Close to stop its jobs.
func New(cfg Config) *Runner {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 2000
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 15 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = min(3*time.Second, cfg.StaleAfter/4)
	}
	if cfg.MaxConcurrentPerOrg == 0 {
		cfg.MaxConcurrentPerOrg = DefaultMaxConcurrentPerOrg
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), labelhub.NewID())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{cfg: cfg, ctx: ctx, cancel: cancel, jobs: map[string]*job{}}
}

// ID is the runner's name in imports.runner.
func (r *Runner) ID() string { return r.cfg.ID }

// Close stops the running jobs at a batch boundary and leaves them
// resumable at once by the next runner (heartbeat 0); it waits for them.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// create stores a new import; every import (file, folder, labels) is
// created here, so the organisation's limit of imports at once is checked
// in one place, by the store in the insert's transaction.
func (r *Runner) create(ctx context.Context, im labelhub.Import) error {
	return r.cfg.Store.CreateImportLimited(ctx, im, max(r.cfg.MaxConcurrentPerOrg, 0))
}

func (r *Runner) spoolPath(id string) string { return filepath.Join(r.cfg.SpoolDir, id+".body") }

// Wait blocks until the job of import id (if this runner runs it) ends.
func (r *Runner) Wait(ctx context.Context, id string) error {
	r.mu.Lock()
	j := r.jobs[id]
	r.mu.Unlock()
	if j == nil {
		return nil
	}
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func validOnDuplicate(s string) bool {
	switch s {
	case labelhub.DuplicateAllow, labelhub.DuplicateSkip, labelhub.DuplicateUpdate, labelhub.DuplicateError:
		return true
	}
	return false
}

// Start creates an import of body into the project and starts its job.
// It returns once the body is spooled whole (the job goes on), or with an
// error when the request is wrong (nothing is created) or the upload was
// cut (the import is then failed and says so).
func (r *Runner) Start(ctx context.Context, orgID, userID, projectID string, opts labelhub.ImportOptions, body io.Reader) (labelhub.Import, error) {
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = labelhub.DuplicateAllow
	}
	var p labelhub.Problems
	if !validOnDuplicate(opts.OnDuplicate) {
		p.Add("onDuplicate", "must be allow, skip, update or error, not %q", opts.OnDuplicate)
	}
	if err := p.Err("invalid import options"); err != nil {
		return labelhub.Import{}, err
	}
	if _, err := r.cfg.Store.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Import{}, err
	}
	// The options are checked as the job will use them, before anything is created.
	if _, err := r.decodeOptions(ctx, orgID, projectID, opts); err != nil {
		return labelhub.Import{}, err
	}
	if err := r.checkBatches(ctx, orgID, projectID, opts); err != nil {
		return labelhub.Import{}, err
	}
	if err := os.MkdirAll(r.cfg.SpoolDir, 0o700); err != nil {
		return labelhub.Import{}, err
	}
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: orgID, ProjectID: projectID, Kind: labelhub.ImportKindAssets,
		State: labelhub.ImportRunning, Options: opts, CreatedBy: userID, Runner: r.cfg.ID}
	if opts.Atomic && !opts.DryRun {
		im.Phase = "validate"
	}
	im.Spool = r.spoolPath(im.ID)
	f, err := os.OpenFile(im.Spool, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return labelhub.Import{}, err
	}
	if err := r.create(ctx, im); err != nil {
		f.Close()
		os.Remove(im.Spool)
		return labelhub.Import{}, err
	}
	rf, err := os.Open(im.Spool)
	if err != nil {
		f.Close()
		return labelhub.Import{}, err
	}
	sp := newSpool()
	if !r.launch(im, func(jctx context.Context) io.Reader { return &tail{ctx: jctx, f: rf, s: sp} }, func() { rf.Close() }, sp) {
		f.Close()
		rf.Close()
		return labelhub.Import{}, labelhub.Errorf(labelhub.ECodeUnavailable, "the hub is shutting down")
	}

	// Spool the body; the job reads behind.
	buf := make([]byte, 256<<10)
	var n int64
	var upErr error
	for {
		m, rerr := body.Read(buf)
		if m > 0 {
			if _, werr := f.Write(buf[:m]); werr != nil {
				upErr = werr
				break
			}
			n += int64(m)
			sp.grow(int64(m))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			upErr = rerr
			break
		}
	}
	if upErr == nil {
		upErr = f.Sync()
	}
	f.Close()
	if upErr == nil {
		upErr = r.cfg.Store.SetImportUploaded(context.WithoutCancel(ctx), im.ID, r.cfg.ID, n)
	}
	if upErr != nil {
		sp.finish(&uploadError{bytes: n, err: upErr})
		var le *labelhub.Error
		if errors.As(upErr, &le) && le.Code == labelhub.ECodeTooLarge {
			return im, upErr
		}
	} else {
		sp.finish(nil)
	}
	im.Bytes, im.Uploaded = n, upErr == nil
	return im, nil
}

// checkBatches refuses request batches the project does not have, unless
// the import creates them.
func (r *Runner) checkBatches(ctx context.Context, orgID, projectID string, opts labelhub.ImportOptions) error {
	if opts.CreateBatches || len(opts.Batches) == 0 {
		return nil
	}
	known, err := r.cfg.Store.ResolveBatches(ctx, orgID, projectID, opts.Batches)
	if err != nil {
		return err
	}
	for i, b := range opts.Batches {
		if _, ok := known[b]; !ok {
			return labelhub.Invalid("invalid import options", labelhub.FieldError{Path: fmt.Sprintf("batches[%d]", i),
				Message: fmt.Sprintf("no batch %q in this project; create it first or import with createBatches=true", b)})
		}
	}
	return nil
}

type uploadError struct {
	bytes int64
	err   error
}

func (e *uploadError) Error() string {
	return fmt.Sprintf("the upload was interrupted after %d bytes (%v); resume is not possible — roll back or import again", e.bytes, e.err)
}

func (e *uploadError) Unwrap() error { return e.err }

// launch starts the job of im reading its body from src.
func (r *Runner) launch(im labelhub.Import, src func(context.Context) io.Reader, cleanup func(), sp *spool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if _, running := r.jobs[im.ID]; running {
		return true
	}
	ctx, cancel := context.WithCancel(r.ctx)
	j := &job{id: im.ID, cancel: cancel, done: make(chan struct{})}
	r.jobs[im.ID] = j
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(j.done)
		defer cancel()
		defer func() {
			r.mu.Lock()
			delete(r.jobs, im.ID)
			r.mu.Unlock()
		}()
		if cleanup != nil {
			defer cleanup()
		}
		if sp != nil {
			defer sp.watch(ctx)()
		}
		r.run(ctx, im, src(ctx))
	}()
	return true
}

// heartbeat keeps the job's heartbeat fresh until stop is closed; losing
// the import to another runner cancels the job. A heartbeat is never cut
// off half-way by the job's end: a write that the database still applied
// after the release of a stopping job (heartbeat 0) would make the import
// look alive, and another runner would wait StaleAfter to resume it.
func (r *Runner) heartbeat(stop <-chan struct{}, cancel context.CancelFunc, id string) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, done := context.WithTimeout(context.Background(), r.cfg.StaleAfter)
			err := r.cfg.Store.HeartbeatImport(ctx, id, r.cfg.ID, time.Now())
			done()
			if err != nil && labelhub.ErrorCode(err) == labelhub.ECodeConflict {
				cancel()
				return
			}
		}
	}
}

// run does the job and records its end.
func (r *Runner) run(ctx context.Context, im labelhub.Import, src io.Reader) {
	log := r.cfg.Logger.With("import", im.ID)
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	stop, beating := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(beating)
		r.heartbeat(stop, hcancel, im.ID)
	}()

	err := r.work(hctx, im, src)
	// The last heartbeat is written before the job's end is.
	close(stop)
	<-beating
	bg := context.WithoutCancel(ctx)
	switch {
	case errors.Is(err, errRolledBack):
		log.Info("import rolled back")
	case err == nil:
		if err := r.cfg.Store.FinishImport(bg, im.ID, r.cfg.ID, labelhub.ImportSucceeded, ""); err != nil {
			log.Error("finish import", "err", err)
		}
		os.Remove(r.spoolPath(im.ID))
		log.Info("import finished")
	case ctx.Err() != nil && !r.isLost(bg, im):
		// Shutdown: leave it running and resumable at once.
		if err := r.cfg.Store.ReleaseImport(bg, im.ID, r.cfg.ID); err != nil {
			log.Warn("release import", "err", err)
		}
		log.Info("import stopped; it resumes at the next start")
	case r.isLost(bg, im):
		log.Warn("import taken over by another runner, or cancelled")
	default:
		msg := err.Error()
		var le *labelhub.Error
		var ie *importer.Error
		var ue *uploadError
		switch {
		case errors.As(err, &ue):
			msg = ue.Error()
		case errors.As(err, &ie):
			msg = ie.Error()
		case errors.As(err, &le):
			msg = le.Error()
		default:
			log.Error("import failed", "err", err)
			msg = "internal error: " + msg
		}
		if err := r.cfg.Store.FinishImport(bg, im.ID, r.cfg.ID, labelhub.ImportFailed, msg); err != nil {
			log.Error("finish import", "err", err)
		}
	}
}

func (r *Runner) isLost(ctx context.Context, im labelhub.Import) bool {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return false
	}
	cur, err := r.cfg.Store.GetImport(ctx, im.OrgID, im.ID)
	return err == nil && (cur.Runner != r.cfg.ID || cur.State != labelhub.ImportRunning)
}
