package assetmeta

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/probe"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
)

// Store is what the worker needs of the store.
type Store interface {
	ClaimProbes(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]sqlstore.ProbeTask, error)
	FinishProbe(ctx context.Context, pt sqlstore.ProbeTask, o sqlstore.ProbeOutcome) (bool, error)
	ReleaseProbes(ctx context.Context, list []sqlstore.ProbeTask) error
	NextProbeDue(ctx context.Context) (time.Time, bool, error)
}

// Config configures a Worker.
type Config struct {
	Store Store
	// Storage opens the buckets of storage integrations; nil fails the
	// probes of assets imported with one.
	Storage *storage.Service
	// Probe configures the prober (AllowPrivate is the operator's
	// --allow-private-endpoints; Timeout the per-asset --probe-timeout).
	Probe probe.Options
	// Workers is how many probes run at once (default 4).
	Workers int
	// Lease is how long a claim keeps other workers off an asset (default
	// the probe timeout plus a minute).
	Lease time.Duration
	// PollInterval is how often an idle worker looks for due assets
	// (default 5 s); Notify wakes it sooner.
	PollInterval time.Duration
	// MaxAttempts is how many times an asset is probed when the failures
	// are transient before it fails (default 4).
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled for each next
	// one up to MaxBackoff (defaults 30 s and 30 min).
	Backoff, MaxBackoff time.Duration
	Logger              *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultWorkers      = 4
	DefaultPollInterval = 5 * time.Second
	DefaultMaxAttempts  = 4
	DefaultBackoff      = 30 * time.Second
	DefaultMaxBackoff   = 30 * time.Minute
)

// Worker probes pending assets in the background. Start it once; Close
// stops it.
type Worker struct {
	cfg     Config
	prober  *probe.Prober
	timeout time.Duration
	wake    chan struct{}
	slots   chan struct{} // one token per running probe
	done    chan struct{} // a probe ended
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// New returns a Worker.
func New(cfg Config) *Worker {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Probe.Timeout <= 0 {
		cfg.Probe.Timeout = probe.DefaultTimeout
	}
	if cfg.Lease <= 0 {
		cfg.Lease = cfg.Probe.Timeout + time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Worker{cfg: cfg, prober: probe.New(cfg.Probe), timeout: cfg.Probe.Timeout,
		wake: make(chan struct{}, 1), slots: make(chan struct{}, cfg.Workers), done: make(chan struct{}, cfg.Workers),
		ctx: ctx, cancel: cancel}
}

// Start runs the worker's loop until Close.
func (w *Worker) Start() {
	w.once.Do(func() {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.loop()
		}()
	})
}

// Notify wakes the worker: assets may have become pending. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Close stops the worker: running probes are canceled and their assets
// given back, due at once for the next worker. It waits for them.
func (w *Worker) Close() {
	w.cancel()
	w.wg.Wait()
}

func (w *Worker) loop() {
	log := w.cfg.Logger
	for w.ctx.Err() == nil {
		free := w.cfg.Workers - len(w.slots)
		if free == 0 {
			select {
			case <-w.done:
			case <-w.ctx.Done():
			}
			continue
		}
		now := w.cfg.Now()
		due, ok, err := w.cfg.Store.NextProbeDue(w.ctx)
		if err != nil {
			if w.ctx.Err() == nil {
				log.Warn("metadata probe: reading the queue", "err", err)
			}
			w.sleep(w.cfg.PollInterval)
			continue
		}
		if !ok || due.After(now) {
			wait := w.cfg.PollInterval
			if ok {
				wait = min(wait, due.Sub(now))
			}
			w.sleep(wait)
			continue
		}
		tasks, err := w.cfg.Store.ClaimProbes(w.ctx, now, w.cfg.Lease, free)
		if err != nil {
			if w.ctx.Err() == nil {
				log.Warn("metadata probe: claiming assets", "err", err)
			}
			w.sleep(w.cfg.PollInterval)
			continue
		}
		for _, t := range tasks {
			w.slots <- struct{}{}
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.run(t)
				<-w.slots
				select {
				case w.done <- struct{}{}:
				default:
				}
			}()
		}
		if len(tasks) < free {
			// Another worker took the rest: wait for news.
			w.sleep(w.cfg.PollInterval)
		}
	}
}

// ProbeDue claims the assets due now (at most Config.Workers), probes
// them and writes the outcomes; it returns how many it claimed. The loop
// started by Start does the same continuously; ProbeDue is for a caller
// that drives the worker itself (tests, tools).
func (w *Worker) ProbeDue(ctx context.Context) (int, error) {
	tasks, err := w.cfg.Store.ClaimProbes(ctx, w.cfg.Now(), w.cfg.Lease, w.cfg.Workers)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Go(func() { w.run(t) })
	}
	wg.Wait()
	return len(tasks), nil
}

// sleep waits d, or until Notify, a probe's end or Close.
func (w *Worker) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.wake:
	case <-w.done:
	case <-w.ctx.Done():
	}
}

// run probes one claimed asset and writes the outcome.
func (w *Worker) run(t sqlstore.ProbeTask) {
	res, err := w.probe(w.ctx, t)
	bg, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	if w.ctx.Err() != nil {
		// Shutting down: the asset is due again at once, for anyone.
		if rerr := w.cfg.Store.ReleaseProbes(bg, []sqlstore.ProbeTask{t}); rerr != nil {
			w.cfg.Logger.Warn("metadata probe: giving an asset back", "asset", t.AssetID, "err", rerr)
		}
		return
	}
	o := w.outcome(t, res, err)
	applied, ferr := w.cfg.Store.FinishProbe(bg, t, o)
	switch {
	case ferr != nil:
		w.cfg.Logger.Warn("metadata probe: saving the result", "asset", t.AssetID, "err", ferr)
	case !applied:
		w.cfg.Logger.Debug("metadata probe: the asset changed while it was probed; result dropped", "asset", t.AssetID)
	default:
		w.cfg.Logger.Debug("metadata probe", "asset", t.AssetID, "state", o.State, "error", o.Error)
	}
}

// failure is an error of the probe with what to do about it.
type failure struct {
	msg       string
	transient bool
}

func (f *failure) Error() string { return f.msg }

// probe reads the asset's file.
func (w *Worker) probe(ctx context.Context, t sqlstore.ProbeTask) (probe.Result, error) {
	src, err := storage.ResolveAsset(ctx, w.cfg.Storage, t.OrgID, t.StorageID, t.URL)
	if err != nil {
		return probe.Result{}, storageFailure(err)
	}
	if src.Text {
		return probe.Result{}, &failure{msg: "the asset has no URL the hub can read"}
	}
	// The signed URL must outlive the probe.
	u, err := src.FetchURL(ctx, max(2*w.timeout, time.Minute))
	if err != nil {
		return probe.Result{}, storageFailure(err)
	}
	switch t.Type {
	case labelhub.AssetImage:
		return w.prober.Image(ctx, u)
	case labelhub.AssetVideo:
		return w.prober.Video(ctx, u)
	}
	return probe.Result{}, &failure{msg: "assets of type " + string(t.Type) + " are not probed"}
}

// storageFailure words an error of the storage integration.
func storageFailure(err error) *failure {
	var le *labelhub.Error
	if errors.As(err, &le) {
		switch le.Code {
		case labelhub.ECodeNotFound:
			return &failure{msg: "the asset's storage integration no longer exists"}
		case labelhub.ECodeConflict, labelhub.ECodeInvalid:
			return &failure{msg: le.Error()}
		case labelhub.ECodeUnavailable:
			return &failure{msg: le.Error(), transient: true}
		}
		return &failure{msg: "the storage integration could not be used: " + le.Error()}
	}
	return &failure{msg: "the storage integration could not be used: " + err.Error(), transient: true}
}

// wanted are the metadata keys a probe fills, by asset type.
var wanted = map[labelhub.AssetType][]string{
	labelhub.AssetImage: {"width", "height"},
	labelhub.AssetVideo: {"width", "height", "frameRate", "frameCount"},
}

// outcome turns a probe's result into what the store writes.
func (w *Worker) outcome(t sqlstore.ProbeTask, res probe.Result, err error) sqlstore.ProbeOutcome {
	if err != nil {
		var f *failure
		transient := probe.Temporary(err)
		if errors.As(err, &f) {
			transient = f.transient
		}
		if transient && t.Attempts+1 < w.cfg.MaxAttempts {
			delay := w.cfg.Backoff << t.Attempts
			if delay <= 0 || delay > w.cfg.MaxBackoff {
				delay = w.cfg.MaxBackoff
			}
			return sqlstore.ProbeOutcome{State: sqlstore.ProbePending, RetryAt: w.cfg.Now().Add(delay),
				Error: err.Error() + " (attempt " + strconv.Itoa(t.Attempts+1) + " of " + strconv.Itoa(w.cfg.MaxAttempts) + "; tried again later)"}
		}
		msg := err.Error()
		if transient {
			msg += " (gave up after " + strconv.Itoa(w.cfg.MaxAttempts) + " attempts)"
		}
		return sqlstore.ProbeOutcome{State: sqlstore.ProbeFailed, Error: msg}
	}
	found := map[string]json.RawMessage{}
	if res.Width > 0 && res.Height > 0 {
		found["width"] = json.RawMessage(strconv.Itoa(res.Width))
		found["height"] = json.RawMessage(strconv.Itoa(res.Height))
	}
	if res.FrameRate > 0 {
		found["frameRate"] = json.RawMessage(strconv.FormatFloat(res.FrameRate, 'f', -1, 64))
	}
	if res.FrameCount > 0 {
		found["frameCount"] = json.RawMessage(strconv.Itoa(res.FrameCount))
	}
	given := givenKeys(t.Metadata)
	var o sqlstore.ProbeOutcome
	var missing []string
	for _, k := range wanted[t.Type] {
		if v, ok := found[k]; ok {
			o.Fill = append(o.Fill, sqlstore.ProbeValue{Key: k, Value: v})
		} else if !given[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		o.State, o.Error = sqlstore.ProbeFailed, "the file does not tell its "+strings.Join(missing, ", ")+"; give it in the asset's metadata"
		return o
	}
	o.State = sqlstore.ProbeDone
	return o
}

// givenKeys are the keys the metadata has with a value other than null.
func givenKeys(meta json.RawMessage) map[string]bool {
	out := map[string]bool{}
	var m map[string]json.RawMessage
	if json.Unmarshal(meta, &m) == nil {
		for k, v := range m {
			if string(v) != "null" {
				out[k] = true
			}
		}
	}
	return out
}
